"""The ``bocd`` console script: runs the daemon binary shipped in this package,
with this package's interpreter as its workers' default (``$BOCD_PYTHON``)."""
from __future__ import annotations

import os
import sys

from ._daemon import binary


def main() -> None:
    try:
        path = binary()
    except FileNotFoundError as e:
        sys.exit(f"bocd: {e}")
    os.environ.setdefault("BOCD_PYTHON", sys.executable)
    os.execv(path, [path, *sys.argv[1:]])

"""The ``bocd`` console script: runs the daemon binary shipped in this package."""
from __future__ import annotations

import os
import sys

from ._daemon import binary


def main() -> None:
    path = binary()
    os.execv(path, [path, *sys.argv[1:]])

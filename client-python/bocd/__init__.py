"""bocd: Behavior-Oriented Concurrency for Python, served by the bocd daemon.

The API of bocpy (``@when``, ``Cown``, ``wait``, ``quiesce``, ...), with
behaviors run by the daemon's worker processes, so Python code uses every
core on any CPython >= 3.10. Change ``import bocpy`` to ``import bocd``.
See docs/python.md for the contract, and its table "Compatibility with
bocpy 0.14" for where bocd differs from bocpy.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._behaviors import Behaviors
from ._cown import Cown, CownCapsule, PinnedCown
from ._lifecycle import WaitResult, quiesce, wait
from ._messaging import TIMEOUT, drain, receive, send, set_tags
from ._noticeboard import (REMOVED, notice_delete, notice_read, notice_seed,
                           notice_update, notice_write, noticeboard)
from ._pump import PumpResult, pump, set_pump_watchdog, set_wait_pump_poll
from ._runtime import WORKER_COUNT, start
from ._stats import STAT_KEYS, runtime_stats
from ._when import when, whencall

if TYPE_CHECKING:
    from ._matrix import Matrix
    from ._matrix_view import MatrixView


def __getattr__(name: str) -> Any:
    # Matrix needs numpy; importing it on first use keeps `import bocd`
    # (and every worker's start) free of numpy's import time.
    if name in ("Matrix", "MatrixView"):
        from . import _matrix
        return getattr(_matrix, name)
    raise AttributeError(f"module 'bocd' has no attribute '{name}'")


try:
    from importlib.metadata import PackageNotFoundError, version as _version
    __version__ = _version("bocd")
except Exception:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "Behaviors", "Cown", "CownCapsule", "Matrix", "MatrixView", "PinnedCown",
    "PumpResult", "REMOVED", "TIMEOUT",
    "WORKER_COUNT", "WaitResult", "__version__", "drain", "notice_delete",
    "notice_read", "notice_seed", "notice_update", "notice_write",
    "noticeboard", "pump", "quiesce", "receive", "runtime_stats", "send",
    "set_pump_watchdog", "set_tags", "set_wait_pump_poll", "start", "wait",
    "when", "whencall",
]

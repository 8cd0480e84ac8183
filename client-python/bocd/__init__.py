"""bocd: Behavior-Oriented Concurrency for Python, served by the bocd daemon.

The API of bocpy (``@when``, ``Cown``, ``wait``, ``quiesce``, ...), with
behaviors run by the daemon's worker processes, so Python code uses every
core on any CPython >= 3.10. Change ``import bocpy`` to ``import bocd``.
See docs/python.md for the contract, and its table "Compatibility with
bocpy 0.14" for where bocd differs from bocpy.
"""
from __future__ import annotations

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

try:
    from importlib.metadata import PackageNotFoundError, version as _version
    __version__ = _version("bocd")
except Exception:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "Behaviors", "Cown", "CownCapsule", "PinnedCown", "PumpResult", "REMOVED", "TIMEOUT",
    "WORKER_COUNT", "WaitResult", "__version__", "drain", "notice_delete",
    "notice_read", "notice_seed", "notice_update", "notice_write",
    "noticeboard", "pump", "quiesce", "receive", "runtime_stats", "send",
    "set_pump_watchdog", "set_tags", "set_wait_pump_poll", "start", "wait",
    "when", "whencall",
]

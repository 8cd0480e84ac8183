"""``Behaviors``: bocpy's runtime object, kept for its tests.

bocd's runtime is the program's session with the daemon, one per process,
so a ``Behaviors`` is a thin handle on it: ``start`` is ``bocd.start``,
``stop`` is ``bocd.wait`` and ``quiesce`` answers with a bool. Unlike
bocpy's, creating one does not make a second runtime.
"""
from __future__ import annotations

from typing import Any

from . import _lifecycle, _runtime


class Behaviors:
    """A handle on this process's runtime (``bocd.start``/``bocd.wait``)."""

    def __init__(self, num_workers: int | None = None) -> None:
        self.num_workers = (_runtime.WORKER_COUNT if num_workers is None
                            else num_workers)

    def start(self, module: Any = None) -> None:
        """Starts the runtime with ``num_workers`` (``module`` is bocpy's
        and has no use here: code travels with each behavior)."""
        _runtime.start(self.num_workers, module)

    def stop(self, timeout: float | None = None) -> None:
        """The teardown ``wait`` uses: returns once quiescent."""
        _lifecycle.wait(timeout)

    def quiesce(self, timeout: float | None = None) -> bool:
        """True once quiescent, False when ``timeout`` passes first."""
        try:
            _lifecycle.quiesce(timeout)
        except TimeoutError:
            return False
        return True

    def __enter__(self) -> "Behaviors":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

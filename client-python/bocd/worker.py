"""A bocd worker process: ``python -m bocd.worker``.

The daemon starts N of these (docs/service.md "Workers") with
$BOCD_SOCKET and $BOCD_WORKER_INDEX set. Each connects with role worker
and runs the behaviors the daemon dispatches to it, one at a time, on the
client's IO thread: ``_body.run`` is called there with the GIL held. What
a body writes to stdout or stderr goes to its program (``_Forward``),
flushed before the behavior's completion.
"""
from __future__ import annotations

import ctypes
import io
import logging
import os
import signal
import sys
from typing import Any

from . import _body, _core, _runtime, _serial


class _Forward(io.TextIOBase):
    """sys.stdout/sys.stderr of a worker: what a behavior writes goes to its
    program (an Output message, line by line); anything else to the
    worker's own stream."""

    def __init__(self, stream: int, original: Any) -> None:
        self._stream = stream
        self._original = original
        self._parts: list[str] = []
        self._size = 0

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return int(self._original.fileno())

    def write(self, s: str) -> int:
        if _runtime.current_behavior() is None:
            return int(self._original.write(s))
        self._parts.append(s)
        self._size += len(s)
        if "\n" in s or self._size >= 8192:
            self.flush()
        return len(s)

    def flush(self) -> None:
        running = _runtime.current_behavior()
        if not self._parts or running is None or _session is None:
            self._original.flush()
            return
        data = "".join(self._parts).encode("utf-8", "replace")
        self._parts.clear()
        self._size = 0
        _session.output(running[1], self._stream, data)


_session: Any = None


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _flush_if_written() -> None:
    """After each body, before its completion: what it wrote goes out."""
    out, err = sys.stdout, sys.stderr
    if (type(out) is not _Forward or type(err) is not _Forward
            or out._parts or err._parts):
        _flush_output()


def _die_with_the_daemon() -> None:
    """A worker's session notices the daemon's death only between bodies:
    with this, a body that runs on (or blocks) ends with the daemon too."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:  # pragma: no cover - not Linux
        return
    parent = os.environ.get("BOCD_PARENT_PID", "")
    if parent.isdigit() and os.getppid() != int(parent):
        os._exit(1)  # it died before we asked


def main() -> None:
    global _session
    _die_with_the_daemon()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon stops us
    sys.stdout = _Forward(1, sys.stdout)
    sys.stderr = _Forward(2, sys.stderr)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(name)s[%(process)d] %(levelname)s %(message)s")
    socket = os.environ.get("BOCD_SOCKET") or _core.default_socket_path()
    index = os.environ.get("BOCD_WORKER_INDEX", "0")
    stall_ms = int(os.environ.get("BOCD_STALL_MS", "1"))
    # Cown values this worker keeps decoded between behaviors, in bytes of
    # their stored form (docs/python.md "Workers"); 0 keeps none.
    keep = int(os.environ.get("BOCD_VALUE_CACHE_BYTES", str(64 << 20)))
    # The daemon pipelines behaviors only to a worker that keeps values.
    _body.handoff = keep > 0
    session = _core.Session(socket, f"bocd.worker[{index}]", _body.run,
                            stall_ms, keep_values=keep,
                            body_one=_body.run_one)
    _session = session
    _runtime.bind_worker(session)
    _runtime.at_behavior_end(_flush_if_written)
    _serial.keep_own_classes = False  # a worker has no classes of its own
    session.serve()


if __name__ == "__main__":
    main()

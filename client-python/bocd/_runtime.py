"""The process's connection to bocd: one session, started on demand.

A program's session is made by ``start()`` or, implicitly, by the first
``Cown`` or ``@when``: it connects to ``$BOCD_SOCKET`` or the default
socket and, when no daemon answers there, starts a private daemon
(``_daemon.Daemon``) that is stopped when the program exits. A worker
process (``bocd.worker``) has its own session, set by ``bind_worker``.

"Up" is bocpy's notion of a running runtime: set by start(), cleared by
wait(). The session itself stays connected across wait() so that cowns
keep their values (docs/python.md, "Compatibility with bocpy 0.14": cowns
across wait()).
"""
from __future__ import annotations

import atexit
import os
import re
import sys
import threading
from typing import Any, Callable

from . import _core, _serial
from ._daemon import Daemon

_lock = threading.RLock()
_session: Any = None          # _core.Session of this process
_daemon: Daemon | None = None  # the private daemon, when we started one
_socket = ""                   # the socket _session is connected to
_worker_count: int | None = None
_up = False
_is_worker = False
_scheduled = 0                 # behaviors scheduled from outside behaviors
_tls = threading.local()       # .behavior: (id, program session) in a body

# Work that modules above this one register instead of being imported
# from here (which would make import cycles): run after each behavior body,
# in registration order, and at exit before the session closes.
behavior_end_hooks: list[Callable[[], None]] = []
_shutdown_hooks: list[Callable[[], None]] = []
_start_hooks: list[Callable[[], None]] = []
# Runs a batch of this program's pinned work (set by _pump): for calls
# that wait on the main thread for a cown queued behind it.
pump_pinned: Callable[[], None] = lambda: None
# Reports a result cown freed holding an exception nobody took (set by
# _cown), called on the session's IO thread: (cown id, (data, flag, error)).
report_unhandled: Callable[[int, tuple[bytes, bool, int]], None] = \
    lambda ident, value: None


def _on_unhandled(ident: int, value: tuple[bytes, bool, int]) -> None:
    report_unhandled(ident, value)


def at_behavior_end(hook: Callable[[], None]) -> None:
    """Runs `hook` after every behavior body this process runs (a worker's
    or a pinned one), before its completion is sent; it must not raise."""
    behavior_end_hooks.append(hook)


def at_shutdown(hook: Callable[[], None]) -> None:
    """Runs `hook` at exit, before this process's session is closed."""
    _shutdown_hooks.append(hook)


def at_start(hook: Callable[[], None]) -> None:
    """Runs `hook` each time a runtime starts (the first @when after
    wait(), or start()), before anything is scheduled on it."""
    _start_hooks.append(hook)


def _physical_cores() -> int:
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(base + "physical_package_id") as f:
                pkg = f.read().strip()
            with open(base + "core_id") as f:
                core = f.read().strip()
            cores.add((pkg, core))
        except OSError:
            cores.add(("cpu", str(cpu)))
    return max(1, len(cores))


def default_worker_count() -> int:
    """BOCD_WORKERS if it is an int >= 1, else physical cores - 1, >= 1."""
    env = os.environ.get("BOCD_WORKERS", "")
    try:
        n = int(env)
        if n >= 1:
            return n
    except ValueError:
        pass
    return max(1, _physical_cores() - 1)


WORKER_COUNT = default_worker_count()


def current_behavior() -> tuple[int, int] | None:
    """(behavior id, program session) of the body running on this thread."""
    # In a worker, or a pinned body in pump() here.
    return getattr(_tls, "behavior", None)


def in_worker() -> bool:
    return _is_worker


_waiting: Any = None  # a worker's second session (waiting_session)


# How long a blocking call inside a body waits before it says so (a round
# trip answers what is there at once).
FIRST_WAIT_S = 0.001


def about_to_wait() -> None:
    """Called by a blocking call before it waits: in a worker's body, the
    daemon gives the behaviors it pipelined behind this one to other
    workers, so none waits behind a body that waits (maybe for it)."""
    if _is_worker and _session is not None:
        running = current_behavior()
        if running is not None:
            _session.blocking(running[0])


def settle_mail() -> None:
    """A worker's body ended: before its completion goes out, messages
    the daemon lent its messaging session that the body did not receive go
    back to their queues, and every send it made without an answer has
    been queued; whoever sees it complete finds them all."""
    w = _waiting
    if w is not None and isinstance(w, _core.Session):
        try:
            w.mail_settle()
        except Exception:
            pass  # the session is gone: the daemon gave them back itself


def waiting_session() -> Any:
    """The session a call that waits for the daemon speaks over. A worker's
    bodies run on its session's IO thread, where waiting for a reply would
    block the thread that reads it: a worker waits (messaging, acquire)
    over a second session of its own, opened on first need. Elsewhere it
    is this process's session."""
    global _waiting
    if not _is_worker:
        return session()
    if _waiting is None:
        with _lock:
            if _waiting is None:
                _waiting = _core.Session(_core.default_socket_path(),
                                         "bocd.worker/wait")
    return _waiting


def bind_worker(session: Any) -> None:
    global _session, _is_worker
    _session = session
    _is_worker = True


def _program_name() -> str:
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "python"
    return f"{os.path.basename(argv0)}[{os.getpid()}]"


def _environment() -> dict[str, Any]:
    """What this program's workers must run (proto Environment): this
    interpreter, its bytecode mark, this search path and working
    directory, and this bocd. The daemon starts workers for this program
    alone."""
    cwd = os.getcwd()
    # '' means the working directory; a worker starts elsewhere.
    path = []
    for p in sys.path:
        p = os.path.abspath(p or cwd)
        if p not in path:
            path.append(p)
    here = os.path.dirname(os.path.abspath(__file__))  # .../bocd
    return {"python": sys.executable,
            "version": "%d.%d.%d" % sys.version_info[:3],
            "code_mark": _serial.CODE_MARK,
            "sys_path": path, "cwd": cwd,
            "bocd_path": os.path.dirname(here)}


def _private_forced() -> bool:
    return os.environ.get("BOCD_PRIVATE", "") not in ("", "0")


def _connect(worker_count: int) -> None:
    """Connects this program to $BOCD_SOCKET or the default socket.

    A private daemon is started when $BOCD_PRIVATE is set (not "0"), or
    when nothing listens on the default socket and $BOCD_SOCKET is unset.
    Any other failure is an error naming the socket and the reason: a
    daemon that refuses this program (permissions, another user, another
    protocol version) never becomes a silent private one."""
    global _session, _daemon, _socket
    if not _private_forced():
        socket = _core.default_socket_path()
        try:
            _session = _core.Session(socket, _program_name(),
                                     on_unhandled=_on_unhandled,
                                     environment=_environment())
            _socket = socket
            atexit.register(_shutdown)
            return
        except _core.NoDaemonError as e:
            if os.environ.get("BOCD_SOCKET"):
                raise _core.NoDaemonError(
                    f"{e}. $BOCD_SOCKET names a daemon that is not running: "
                    "start it (bocd serve --socket ...), or unset "
                    "BOCD_SOCKET (or set BOCD_PRIVATE=1) for a daemon of "
                    "this program's own") from None
    daemon = Daemon(workers=worker_count).start()
    try:
        _session = _core.Session(daemon.socket, _program_name(),
                                 on_unhandled=_on_unhandled,
                                 environment=_environment())
    except BaseException:
        daemon.stop()
        raise
    _daemon = daemon
    _socket = daemon.socket
    atexit.register(_shutdown)


def _shutdown() -> None:
    """At exit: close the session, stop a private daemon."""
    global _session, _daemon
    with _lock:
        if _session is not None:
            try:
                for hook in _shutdown_hooks:
                    hook()
                _session.close()
            except Exception:
                pass
        if _daemon is not None:
            _daemon.stop()
            _daemon = None


def daemon_status(timeout: float = 10.0) -> dict[str, Any]:
    """The status of the daemon this program is connected to."""
    session()
    return _core.daemon_status(_socket, timeout)


def session() -> Any:
    """This process's session, connecting (without starting) if needed."""
    if _session is not None:
        return _session
    with _lock:
        if _session is None:
            _connect(_worker_count or WORKER_COUNT)
        return _session


def ensure_started() -> Any:
    """The implicit start() of the first @when."""
    if _up:
        return _session
    if _is_worker:
        return _session
    start()
    return _session


_MODULE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def start(worker_count: int | None = None,
          module: tuple[str, str | None] | None = None) -> None:
    """Starts the runtime: connects to bocd, or starts a private daemon.

    Idempotent: a bare ``start()`` while up does nothing; a different
    ``worker_count`` than the running one raises RuntimeError. With
    ``worker_count=None`` a private daemon runs ``WORKER_COUNT`` workers.
    ``module`` is accepted for bocpy compatibility and validated; bocd
    ships behavior code with each behavior, so it needs no bindings module.
    """
    global _up, _worker_count, _scheduled
    if _is_worker or current_behavior() is not None:
        raise RuntimeError("start() can only be called from the main interpreter")
    if worker_count is not None:
        if isinstance(worker_count, bool) or not isinstance(worker_count, int):
            raise TypeError(
                f"worker_count must be an int or None, got {type(worker_count).__name__}")
        if worker_count < 0:
            raise ValueError("scheduler_runtime_start: worker_count must be >= 0")
        if worker_count == 0:
            raise RuntimeError("Error starting worker pool")
    if module is not None:
        name = module[0] if isinstance(module, tuple) and module else module
        if not isinstance(name, str) or not _MODULE_PATH.match(name):
            raise ValueError(
                f"start(module=...): {name!r} must be a dotted Python module path")
    with _lock:
        if _up:
            if worker_count is not None and worker_count != _worker_count:
                raise RuntimeError(
                    f"bocd.start(worker_count={worker_count}) was called but "
                    f"the runtime is already up with worker_count={_worker_count}. "
                    "Call wait() first to stop it, then start again.")
            return
        count = worker_count or _worker_count or WORKER_COUNT
        if _session is None:
            _connect(count)
        for hook in _start_hooks:
            hook()
        _worker_count = count
        _scheduled = 0
        global _accepted_base
        _accepted_base = _session.behaviors_accepted
        _up = True


def is_up() -> bool:
    return _up



def worker_count() -> int:
    return _worker_count or WORKER_COUNT


def count_scheduled() -> None:
    global _scheduled
    _scheduled += 1


def scheduled() -> int:
    return _scheduled


_accepted_base = 0


def nested() -> int:
    """Behaviors scheduled from inside this runtime's behaviors, as the
    daemon counted them at the last quiesce."""
    total = _session.behaviors_accepted - _accepted_base if _session else 0
    return max(0, total - _scheduled)


def mark_down() -> None:
    global _up
    _up = False



def private_daemon() -> Daemon | None:
    """The daemon this program started for itself, if any."""
    return _daemon


def daemon_info() -> dict[str, Any]:
    """Which daemon this process uses: its socket, and whether it is the
    program's own private one (empty before the first connection)."""
    if _session is None:
        return {}
    return {"socket": _socket, "private": _daemon is not None}


# Blobs are named for the session that makes them (docs/protocol.md,
# Shared-memory blobs): encoding a value may be what first connects.
_serial.blob_prefix = lambda: session().blob_prefix

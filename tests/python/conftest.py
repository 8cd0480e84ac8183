"""Fixtures and helpers shared by the bocd pytest suite.

One bocd daemon (2 workers) serves the whole session: the autouse fixture
`bocd_daemon` starts it and points $BOCD_SOCKET at it before any test
schedules work. On a failing test, the part of the daemon log written while
that test ran (at most the last lines) is attached to the report.

Tests never sleep to wait for events. To hold a behavior in place they use
named FIFOs (`fifo` fixture): a behavior blocks in `open(gate).read()` until
the test calls `fifo_write(gate)`, and a behavior announces that it runs by
writing to a FIFO the test reads with `fifo_read`. Every blocking helper has a
generous guard so a broken daemon fails the test instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

# WORKER_COUNT is computed when bocd is imported: make it match the daemon.
os.environ["BOCD_WORKERS"] = "2"

import bocd  # noqa: E402

# Upper bound for any blocking step of a test; only a broken runtime hits it.
GUARD = 30.0
LOG_TAIL_LINES = 80

_daemon = None  # the session's bocd._daemon.Daemon


# ---------------------------------------------------------------- shared memory


def shm_names() -> set[str]:
    """The POSIX shared-memory objects on this machine."""
    try:
        return set(os.listdir("/dev/shm"))
    except OSError:
        return set()


def _instance_alive(name: str) -> bool:
    """Whether `name` (bocd-<instance>-...) belongs to a daemon still
    running: its instance lock object is flock-held for the daemon's life
    and dropped by the kernel when it dies, however it dies."""
    import fcntl

    parts = name.split("-")
    if len(parts) < 3 or parts[0] != "bocd":
        return False
    try:
        fd = os.open(f"/dev/shm/bocd-{parts[1]}-lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the lock just taken
    return False


def shm_left(before: set[str]) -> set[str]:
    """Objects made since `before` whose daemon is gone: what a stopped
    daemon left behind. Those of daemons still running (another test's,
    the machine's own service) are theirs to remove."""
    return {n for n in shm_names() - before if not _instance_alive(n)}


# ---------------------------------------------------------------- daemon


@pytest.fixture(scope="session", autouse=True)
def bocd_daemon(tmp_path_factory):
    """The session's daemon, with $BOCD_SOCKET naming its socket."""
    global _daemon
    from bocd._daemon import Daemon

    logdir = tmp_path_factory.mktemp("bocd-daemon")
    d = Daemon(socket_path=None, workers=2, log_file=str(logdir / "bocd.log"))
    d.start()
    previous = os.environ.get("BOCD_SOCKET")
    os.environ["BOCD_SOCKET"] = d.socket
    _daemon = d
    try:
        yield d
    finally:
        try:
            bocd.wait(timeout=GUARD)
        finally:
            _daemon = None
            d.stop()
            if previous is None:
                os.environ.pop("BOCD_SOCKET", None)
            else:
                os.environ["BOCD_SOCKET"] = previous


def _log_size(path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


@pytest.fixture(autouse=True)
def _daemon_log_mark(request, bocd_daemon):
    """Remembers where the daemon log stood when the test started; at the
    end, waits until the test's behaviors are done, so that anything they
    left pending (or an error the daemon reports late) is charged to this
    test, as an error at teardown, rather than to the next one."""
    request.node._bocd_log_offset = _log_size(bocd_daemon.log_file)
    yield
    # A late error surfaces on the next call, one per call: drain them all.
    late = []
    for _ in range(50):
        try:
            bocd.quiesce(timeout=GUARD)
            break
        except TimeoutError:
            raise
        except Exception as e:  # noqa: BLE001 - reported below
            late.append(e)
    if late:
        raise AssertionError(
            f"{len(late)} error(s) reported after the test body: {late!r}"
        ) from late[0]


def daemon_log_since(offset: int = 0) -> str:
    if _daemon is None or not _daemon.log_file:
        return ""
    try:
        with open(_daemon.log_file, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"<cannot read {_daemon.log_file}: {e}>"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _daemon is not None:
        offset = getattr(item, "_bocd_log_offset", 0)
        lines = daemon_log_since(offset).splitlines()[-LOG_TAIL_LINES:]
        rep.sections.append(
            (f"bocd daemon log ({_daemon.log_file}, tail)", "\n".join(lines))
        )


# ---------------------------------------------------------------- helpers


def settle(timeout: float = GUARD) -> None:
    """quiesce() with a guard, so a stuck behavior fails instead of hanging."""
    bocd.quiesce(timeout=timeout)


def bocd_exe() -> str:
    exe = Path(sys.executable).parent / "bocd"
    if exe.exists():
        return str(exe)
    found = shutil.which("bocd")
    assert found, "the bocd command is not installed next to this interpreter"
    return found


def bocd_cli(*args, timeout: float = GUARD) -> subprocess.CompletedProcess:
    return subprocess.run(
        [bocd_exe(), *args], capture_output=True, text=True, timeout=timeout
    )


def daemon_status(socket: str) -> dict:
    p = bocd_cli("status", "--json", "--socket", socket)
    assert p.returncode == 0, f"bocd status failed: {p.stdout}\n{p.stderr}"
    return json.loads(p.stdout)


def _child_env(env_extra=None) -> dict:
    env = dict(os.environ)
    for k, v in (env_extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run_python(
    code: str | None,
    env_extra=None,
    timeout: float = 60,
    *,
    args=None,
    input: str | None = None,
    cwd=None,
) -> subprocess.CompletedProcess:
    """Runs `python -c code` (or `python *args`) in a fresh process.

    The child inherits $BOCD_SOCKET (the session's daemon) unless env_extra
    overrides it; a value of None in env_extra removes that variable.
    """
    argv = [sys.executable, *(args if args is not None else ["-c", code])]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_child_env(env_extra),
        input=input,
        cwd=cwd,
    )


def private_env(tmp_path: Path) -> dict:
    """env_extra for a child that must auto-start its own private daemon:
    no $BOCD_SOCKET and a default socket location where nothing listens."""
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "BOCD_SOCKET": None,
        "XDG_RUNTIME_DIR": str(runtime),
        "TMPDIR": str(tmp),
    }


def explain(p: subprocess.CompletedProcess) -> str:
    return f"exit {p.returncode}\n--- stdout\n{p.stdout}\n--- stderr\n{p.stderr}"


def process_gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie waiting to be reaped counts
    as gone: it executes nothing and holds no resources but its pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X")
    except OSError:
        return True


def wait_exit(pid: int, timeout: float = GUARD) -> None:
    """Waits, on an event and not by polling, until process `pid` (not
    necessarily our child) has exited."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"process {pid} still runs after {timeout} s"
    finally:
        os.close(fd)


# ---------------------------------------------------------------- FIFOs


def _guarded(action, unblock, what: str, timeout: float):
    result, error, done = [], [], threading.Event()

    def run():
        try:
            result.append(action())
        except BaseException as e:  # noqa: BLE001 - reported below
            error.append(e)
        finally:
            done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    if not done.wait(timeout):
        unblock()
        t.join(5)
        raise AssertionError(f"{what}: nothing happened within {timeout} s")
    if error:
        raise error[0]
    return result[0]


def _unblock_writer(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.read(fd, 1 << 16)
    except OSError:
        pass
    os.close(fd)


def _unblock_reader(path: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: no reader waiting
        return
    os.close(fd)


def fifo_read(path: str, timeout: float = GUARD) -> str:
    """Blocks until a behavior opened `path` for writing and closed it."""

    def action():
        with open(path) as f:
            return f.read()

    return _guarded(action, lambda: _unblock_writer(path), f"reading {path}", timeout)


def fifo_write(path: str, data: str = "go", timeout: float = GUARD) -> None:
    """Blocks until a behavior opened `path` for reading, then writes."""

    def action():
        with open(path, "w") as f:
            f.write(data)

    _guarded(action, lambda: _unblock_reader(path), f"writing {path}", timeout)


class FifoWriter:
    """fifo_write on a thread, for tests that block on something else while
    the behavior reaches its gate. join() re-raises its failure."""

    def __init__(self, path: str, data: str = "go", timeout: float = GUARD):
        self._error = []
        self._thread = threading.Thread(target=self._run, args=(path, data, timeout))
        self._thread.daemon = True
        self._thread.start()

    def _run(self, path, data, timeout):
        try:
            fifo_write(path, data, timeout)
        except BaseException as e:  # noqa: BLE001
            self._error.append(e)

    def join(self, timeout: float = GUARD + 5) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "FIFO writer still blocked"
        if self._error:
            raise self._error[0]


class Fifos:
    """Makes named FIFOs in tmp_path; at teardown frees any behavior still
    blocked on one so a failing test does not starve the next ones."""

    def __init__(self, base: Path):
        self._base = base
        self._paths: list[str] = []

    def __call__(self, name: str) -> str:
        path = str(self._base / name)
        os.mkfifo(path)
        self._paths.append(path)
        return path

    def release_all(self) -> None:
        """Frees behaviors blocked on a FIFO now, and removes the FIFOs so
        that one reaching its open() later fails fast instead of blocking."""
        for path in self._paths:
            _unblock_reader(path)
            _unblock_writer(path)
            try:
                os.unlink(path)
            except OSError:
                pass


@pytest.fixture
def fifo(tmp_path):
    fifos = Fifos(tmp_path)
    yield fifos
    fifos.release_all()


# ---------------------------------------------------------------- gated behaviors


def announce_and_wait(started: str, gate: str, note: str | None = None) -> None:
    """Called inside a behavior: writes `note` (by default the worker's pid)
    to the FIFO `started`, so the test's fifo_read knows the behavior runs,
    then blocks until the test opens `gate` with fifo_write."""
    with open(started, "w") as f:
        f.write(str(os.getpid()) if note is None else note)
    open(gate).read()


@contextlib.contextmanager
def held_at_gate(started: str, gate: str):
    """The with-block runs while a behavior that called announce_and_wait
    sits at `gate`: waits for its note on `started` and yields it; opens
    `gate` on the way out, also when the block fails."""
    note = fifo_read(started)
    try:
        yield note
    finally:
        fifo_write(gate)


def hold_until_open(c, gate: str):
    """Schedules a behavior that keeps the cown `c` until the test opens
    `gate`; returns its result cown."""

    @bocd.when(c)
    def hold(c, gate=gate):
        open(gate).read()

    return hold


def churn() -> None:
    """Behaviors and a quiesce: handle drops are flushed in batches, so a
    premature free of a cown only a value, a message or the board names
    would happen here."""
    for i in range(300):

        @bocd.when(bocd.Cown(i))
        def bump(c):
            c.value += 1

    gc.collect()
    settle()


def increment(c, times: int) -> None:
    """Schedules `times` behaviors that each add 1 to the value of `c`."""
    for _ in range(times):

        @bocd.when(c)
        def inc(c):
            c.value += 1


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


# The 14 per-worker stats keys of bocpy's wait(stats=True), spelled out here
# (not taken from the package) so the tests check the contract.
STAT_KEYS = {
    "worker_index",
    "pushed_local",
    "dispatched_to_pending",
    "pushed_remote",
    "popped_local",
    "popped_via_steal",
    "enqueue_cas_retries",
    "dequeue_cas_retries",
    "batch_resets",
    "steal_attempts",
    "steal_failures",
    "parked",
    "last_steal_attempt_ns",
    "fairness_arm_fires",
}


# ---------------------------------------------------------------- messaging


@pytest.fixture
def clean_tags():
    """Starts and ends a test with the default tag layout (16 auto-assigned
    queues) and nothing queued: tags belong to the program, which is this
    whole session. The messaging test modules use it for every test."""
    bocd.set_tags([])
    yield
    bocd.set_tags([])


@pytest.fixture
def tag(request):
    """tag(name) -> a tag name no other test uses."""
    prefix = request.node.name
    return lambda name="t": f"{prefix}:{name}"

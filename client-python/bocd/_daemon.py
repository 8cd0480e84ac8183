"""Running a bocd daemon from Python: the embedded default and test fixtures.

`Daemon` starts ``bocd serve --foreground`` as a child of this process
(``--python`` this interpreter), and stops it on request or when this
process dies (the child gets SIGTERM through PR_SET_PDEATHSIG). Like any
daemon, it starts each program's workers from a template of that
program's interpreter; ``print`` in a behavior reaches the program's
stdout through the daemon. The daemon's own log goes to a file; what it
writes to stderr (before it has a log, or if it crashes) is copied to this
process's stderr, and a daemon that fails to start is reported with it.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from typing import IO

__all__ = ["Daemon", "binary"]


def binary() -> str:
    """The path of the ``bocd`` executable installed with this package.

    ``$BOCD_BINARY`` overrides it (a development build, say).
    """
    override = os.environ.get("BOCD_BINARY")
    if override:
        return override
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "bocd")
    if os.path.exists(here):
        return here
    # A daemon binary installed on its own, on PATH; never this package's
    # console script of the same name, which would run itself again.
    found = shutil.which("bocd")
    if found and _is_executable_binary(found):
        return found
    raise FileNotFoundError(
        "bocd daemon binary not found: expected " + here + " (reinstall the "
        "package) or set BOCD_BINARY"
    )


def _is_executable_binary(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _search_path() -> str:
    # '' on sys.path means the current directory; a worker starts elsewhere.
    parts = []
    for p in sys.path:
        p = os.path.abspath(p or os.getcwd())
        if p not in parts:
            parts.append(p)
    return os.pathsep.join(parts)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # pragma: no cover - non-Linux
        pass


def _unread(fd: int) -> bytes:
    """What is left in the pipe `fd`, without waiting for more."""
    os.set_blocking(fd, False)
    chunks = []
    try:
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(chunks)


class _StderrCopy:
    """The daemon's stderr, read from a pipe by a thread: copied to this
    process's stderr (fd 2) as it comes, as an inherited stderr would be,
    with its last bytes kept.

    Not inherited because a daemon that refuses its options or cannot
    open its log says why on stderr, before it has a log, and whoever
    called `Daemon.start()` may never see that stderr (a test runner or a
    parent process capturing it): the failure's exception must say it.
    A thread because the pipe must be drained for the daemon's whole
    life; a daemon writing into a full pipe would stop.
    """

    KEEP = 8192  # bytes: a start-up message, or the end of a crash report

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self._tail = b""
        self._thread = threading.Thread(target=self._copy, daemon=True,
                                        name="bocd daemon stderr")
        self._thread.start()

    def _copy(self) -> None:
        fd = self._pipe.fileno()
        try:
            while chunk := os.read(fd, 65536):
                self._tail = (self._tail + chunk)[-self.KEEP:]
                try:
                    while chunk:
                        chunk = chunk[os.write(2, chunk):]
                except OSError:
                    pass  # no stderr here: still drained, still kept
        finally:
            self._pipe.close()

    def tail(self, timeout: float = 5.0) -> str:
        """What the daemon wrote last, once it has exited. The pipe ends
        when the daemon does (its children do not inherit its stderr);
        `timeout` only bounds the wait should anything else hold it."""
        self._thread.join(timeout)
        return self._tail.decode(errors="replace")


class Daemon:
    """A private daemon, owned by this process.

    ``socket_path=None`` puts the socket in a fresh 0700 temp directory;
    ``log_file=None`` logs beside it. ``start()`` returns once the daemon
    serves; ``stop()`` stops it gracefully and waits for it to exit.
    """

    def __init__(self, socket_path: str | None = None, workers: int = 2,
                 log_file: str | None = None, python: str | None = None,
                 extra_args: tuple[str, ...] = ()) -> None:
        self.workers = workers
        self.python = python or sys.executable
        self.extra_args = tuple(extra_args)
        self._dir: str | None = None
        if socket_path is None:
            self._dir = tempfile.mkdtemp(prefix="bocd-")
            socket_path = os.path.join(self._dir, "bocd.sock")
        self.socket = socket_path
        self.log_file = log_file or os.path.join(
            os.path.dirname(os.path.abspath(socket_path)), "bocd.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: _StderrCopy | None = None

    @property
    def pid(self) -> int | None:
        """The daemon's process id once started."""
        return self.proc.pid if self.proc else None

    def start(self) -> "Daemon":
        """Starts the daemon; returns once it serves. If it fails to
        start: RuntimeError with its exit status and why (what it said on
        its ready pipe and stderr, else its log's tail)."""
        program = binary()  # before the pipe: it may raise
        read_fd, write_fd = os.pipe()
        cmd = [program, "serve", "--foreground", "--socket", self.socket,
               "--workers", str(self.workers), "--python", self.python,
               "--log-file", self.log_file, "--ready-fd", str(write_fd),
               *self.extra_args]
        if self._dir is not None:
            # Ours alone: the daemon removes it as it exits, also when this
            # program is killed (it dies with us, PR_SET_PDEATHSIG).
            cmd += ["--owned-dir", self._dir]
        env = dict(os.environ)
        env.pop("BOCD_SOCKET", None)
        # A program run as a systemd service passes these to its children;
        # they are for the program, and its daemon must not report ready
        # or stopping (or send keep-alives) on its behalf.
        for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                     "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
            env.pop(name, None)
        env["PYTHONPATH"] = _search_path()
        try:
            self.proc = subprocess.Popen(
                cmd, env=env, pass_fds=(write_fd,), stdin=subprocess.DEVNULL,
                stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        except BaseException:
            os.close(read_fd)  # nothing will ever write to it
            raise
        finally:
            os.close(write_fd)
        assert self.proc.stderr is not None
        self._stderr = _StderrCopy(self.proc.stderr)
        try:
            # "ok", else "failed:<why>" or "running:<why>", or EOF when it
            # failed before it could say.
            said = os.read(read_fd, 2)
            if said.startswith(b"ok"):
                return self
            code = self.proc.wait()
            said += _unread(read_fd)
        finally:
            os.close(read_fd)
        reported = said.decode(errors="replace").partition(":")[2]
        why = "\n".join(t for t in (reported.strip(),
                                    self._stderr.tail().strip()) if t)
        raise RuntimeError(
            f"bocd daemon failed to start (exit status {code}) on "
            f"{self.socket}: {why or self.log_tail().strip()}")

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of the daemon's log."""
        try:
            with open(self.log_file, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stops the daemon (SIGTERM: a graceful stop) and reaps it."""
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
        elif self.proc is not None:
            code = self.proc.returncode
        if self._stderr is not None and code is not None:
            self._stderr.tail()  # the copy has ended: its pipe is closed
            self._stderr = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        return code

    def __enter__(self) -> "Daemon":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""A worker template: ``python -m bocd.template``, started by the daemon.

One runs per Python environment the daemon serves (an interpreter and the
bocd it imports; docs/architecture.md "App"). It imports bocd once, then
forks a worker each time the daemon asks, so a program's first behavior
waits for a fork, not for an interpreter to start. A forked worker takes
the program's ``sys.path`` and working directory, and serves that program
alone (its token says which).

It speaks JSON lines with the daemon over file descriptor 3:

    template -> daemon  {"ready": pid, "version": "3.12.1"}
    daemon -> template  {"fork": token, "sys_path": [...], "cwd": "...",
                         "env": {"NAME": "value", ...}}
    template -> daemon  {"forked": token, "pid": pid}
                        {"output": token, "line": "..."}  (the worker's
                         stdout and stderr, line by line)
                        {"exited": token, "status": "exit status 1"}

It stays single-threaded, so forking it is safe, and exits when the
daemon goes (its end of the socket closes); its workers die with it.
"""
from __future__ import annotations

import ctypes
import json
import os
import selectors
import signal
import socket
import sys
from typing import Any

# What every worker needs, loaded once here, before any fork.
from . import _body, _core, _serial, worker  # noqa: F401  (warm imports)

CONTROL_FD = 3


def _die_with_parent(expected: int) -> None:
    """Dies when its parent (the daemon, or this template) dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except Exception:  # pragma: no cover - not Linux
        return
    if os.getppid() != expected:
        os._exit(1)  # it died before we asked


def _describe(status: int) -> str:
    """As the daemon says it of the processes it starts itself."""
    if os.WIFEXITED(status):
        return f"exited with status {os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return f"was killed by signal {sig} ({signal.strsignal(sig)})"
    return f"ended with status {status}"


class Template:
    def __init__(self) -> None:
        self.control = socket.socket(fileno=CONTROL_FD)
        self.control.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.control, selectors.EVENT_READ, "control")
        self.inbox = b""
        # Worker pid -> (token, its output pipe, partial line).
        self.children: dict[int, list[Any]] = {}
        self.pipes: dict[int, int] = {}  # output fd -> pid
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.wake = wake_r
        self.selector.register(wake_r, selectors.EVENT_READ, "sigchld")

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        self.control.setblocking(True)
        try:
            self.control.sendall(data)
        finally:
            self.control.setblocking(False)

    def run(self) -> None:
        self.send({"ready": os.getpid(),
                   "version": "%d.%d.%d" % sys.version_info[:3]})
        while True:
            for key, _ in self.selector.select():
                if key.data == "control":
                    if not self.read_control():
                        return  # the daemon has gone
                elif key.data == "sigchld":
                    os.read(self.wake, 512)
                    self.reap()
                else:
                    self.read_output(key.fd)

    def read_control(self) -> bool:
        try:
            data = self.control.recv(65536)
        except BlockingIOError:
            return True
        if not data:
            return False
        self.inbox += data
        while b"\n" in self.inbox:
            line, self.inbox = self.inbox.split(b"\n", 1)
            request = json.loads(line)
            if "fork" in request:
                self.fork(request)
        return True

    def fork(self, request: dict[str, Any]) -> None:
        token = request["fork"]
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                self.become_worker(request, out_w)
            finally:
                os._exit(1)
        os.close(out_w)
        os.set_blocking(out_r, False)
        self.children[pid] = [token, out_r, b""]
        self.pipes[out_r] = pid
        self.selector.register(out_r, selectors.EVENT_READ, "output")
        self.send({"forked": token, "pid": pid})

    def become_worker(self, request: dict[str, Any], out: int) -> None:
        parent = os.getppid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.selector.close()
        self.control.close()
        for fd in list(self.pipes) + [self.wake]:
            os.close(fd)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        _die_with_parent(parent)
        for name, value in request.get("env", {}).items():
            os.environ[name] = value
        os.environ["BOCD_PARENT_PID"] = str(parent)  # it dies with us
        os.chdir(request.get("cwd") or "/")
        sys.path[:] = request.get("sys_path") or sys.path
        if os.environ.get("BOCD_EXECUTOR") == "ray":  # an executor bridge
            from . import ray_bridge
            ray_bridge.main()
            os._exit(0)
        worker.main()
        os._exit(0)

    def read_output(self, fd: int) -> None:
        pid = self.pipes.get(fd)
        if pid is None:
            # reap() read this pipe to its end and closed it earlier in the
            # same select() batch (a worker killed: SIGCHLD and EOF at once).
            return
        entry = self.children.get(pid)
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not data:
            self.selector.unregister(fd)
            os.close(fd)
            del self.pipes[fd]
            if entry is not None and entry[2]:
                self.send({"output": entry[0],
                           "line": entry[2].decode("utf-8", "replace")})
                entry[2] = b""
            return
        if entry is None:
            return
        entry[2] += data
        while b"\n" in entry[2]:
            line, entry[2] = entry[2].split(b"\n", 1)
            self.send({"output": entry[0],
                       "line": line.decode("utf-8", "replace")})

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            entry = self.children.get(pid)
            if entry is None:
                continue
            # What it wrote, to its end, goes first (a process it started
            # may hold the pipe: then what is there now).
            fd = entry[1]
            while fd in self.pipes:
                before = entry[2]
                self.read_output(fd)
                if fd in self.pipes and entry[2] == before:
                    break
            del self.children[pid]
            self.send({"exited": entry[0], "status": _describe(status)})


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon stops us
    parent = os.environ.get("BOCD_PARENT_PID", "")
    if parent.isdigit():
        _die_with_parent(int(parent))
    Template().run()


if __name__ == "__main__":
    main()

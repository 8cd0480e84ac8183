"""A daemon that goes away: pending and future calls raise ConnectionError
naming the socket, never hang."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import GUARD, _child_env, _guarded, explain, shm_left, shm_names, wait_exit

CHILD = textwrap.dedent(
    """\
    import os, sys
    import bocd
    from bocd import Cown, when

    STARTED, GATE, MODE = sys.argv[1], sys.argv[2], sys.argv[3]

    c = Cown(0)

    @when(c)
    def warm(c):
        c.value = 1
        return "warm"

    bocd.quiesce()
    assert warm.unwrap() == "warm"

    if MODE == "pending":
        @when(c)
        def stuck(c, started=STARTED, gate=GATE):
            with open(started, "w") as f:
                f.write(str(os.getpid()))
            open(gate).read()

        with open(STARTED) as f:
            print("READY", f.read(), flush=True)
    else:
        print("READY", 0, flush=True)
        sys.stdin.readline()  # the test stops the daemon, then says go


    def attempt(name, fn):
        try:
            fn()
        except ConnectionError as e:
            print(name, "ConnectionError", str(e).replace("\\n", " "), flush=True)
        except BaseException as e:
            print(name, "OTHER", type(e).__name__, e, flush=True)
        else:
            print(name, "returned", flush=True)


    def schedule():
        @when(c)
        def later(c):
            return 2

    attempt("quiesce", lambda: bocd.quiesce())
    attempt("when", schedule)
    attempt("quiesce-again", lambda: bocd.quiesce())
    attempt("cown", lambda: Cown(5).unwrap())
    print("EXITING", flush=True)
    """
)


@pytest.fixture
def doomed_daemon(tmp_path):
    from bocd._daemon import Daemon

    before = shm_names()
    d = Daemon(
        socket_path=str(tmp_path / "gone.sock"),
        workers=1,
        log_file=str(tmp_path / "gone.log"),
    )
    d.start()
    yield d
    try:
        d.stop()
    except Exception:
        pass
    # A SIGKILLed daemon cannot remove its shared memory: do it for it.
    for name in shm_left(before):
        try:
            os.unlink(os.path.join("/dev/shm", name))
        except OSError:
            pass


def run_child(tmp_path, daemon, mode, fifo):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    started, gate = fifo("started"), fifo("gate")
    proc = subprocess.Popen(
        [sys.executable, str(script), started, gate, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_child_env({"BOCD_SOCKET": daemon.socket}),
    )
    try:
        ready = _guarded(proc.stdout.readline, proc.kill, "child READY", GUARD)
        assert ready.startswith("READY"), ready + proc.stderr.read()
        proc.readline_ready = ready  # type: ignore[attr-defined]
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def check_output(proc, socket):
    out, err = proc.communicate(timeout=GUARD)
    p = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    lines = {l.split(" ", 1)[0]: l for l in out.splitlines() if l}
    for name in ("quiesce", "when", "quiesce-again", "cown"):
        assert name in lines, explain(p)
        assert lines[name].startswith(f"{name} ConnectionError"), explain(p)
        assert socket in lines[name], explain(p)
    assert "EXITING" in lines, explain(p)


def test_daemon_killed_while_quiesce_is_pending(tmp_path, fifo, doomed_daemon):
    gen = run_child(tmp_path, doomed_daemon, "pending", fifo)
    proc = next(gen)
    try:
        # The child is in (or about to enter) quiesce() with a behavior
        # parked on its gate: the daemon dies under it.
        worker = int(proc.readline_ready.split()[1])
        os.kill(doomed_daemon.pid, signal.SIGKILL)
        check_output(proc, doomed_daemon.socket)
        # The worker stuck in that behavior dies with its daemon.
        wait_exit(worker)
    finally:
        gen.close()


def test_daemon_stopped_then_calls_fail(tmp_path, fifo, doomed_daemon):
    gen = run_child(tmp_path, doomed_daemon, "idle", fifo)
    proc = next(gen)
    try:
        doomed_daemon.stop()
        assert not Path(doomed_daemon.socket).exists()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        check_output(proc, doomed_daemon.socket)
    finally:
        gen.close()

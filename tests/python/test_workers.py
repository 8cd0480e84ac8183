"""The daemon's worker pool: N `python -m bocd.worker` processes forked by the
daemon, restarted when they die, and a worker SIGKILLed mid-behavior
(docs/service.md "Workers")."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import bocd
from bocd import Cown, when
from bocd._daemon import Daemon
from conftest import (
    GUARD,
    _child_env,
    _guarded,
    announce_and_wait,
    daemon_status,
    explain,
    fifo_read,
    fifo_write,
    settle,
)


def cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0") if a]


def children(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(x) for x in f.read().split()}


def test_workers_are_forked_for_the_program_from_a_template(bocd_daemon):
    ran = []
    for _ in range(20):

        @when(Cown(None))
        def where(c):
            return os.getpid()

        ran.append(where)
    settle()
    # The daemon runs a template of this interpreter (and one of each other
    # interpreter it has served), which forks the program's workers: at
    # most --workers of them run bodies at once.
    templates = set()
    for pid in children(bocd_daemon.pid):
        argv = cmdline(pid)
        assert "-m" in argv and argv[argv.index("-m") + 1] == "bocd.template", argv
        exe = os.readlink(f"/proc/{pid}/exe")
        if os.path.realpath(exe) == os.path.realpath(sys.executable):
            templates.add(pid)
    assert len(templates) == 1, "one template for this interpreter"
    workers = set().union(*(children(t) for t in templates))
    used = {r.unwrap() for r in ran}
    assert used <= workers, "behaviors ran in the template's workers"
    assert 1 <= len(used) <= 2
    status = daemon_status(bocd_daemon.socket)
    assert status["workers"] == 2
    mine = {s["pid"] for s in status["sessions"] if s["role"] == "worker"}
    assert used <= mine


def test_ready_behaviors_do_not_wait_behind_a_busy_worker(fifo):
    """Both workers busy; four ready behaviors are queued. Once one worker is
    free, all four run there, even though the other stays blocked: none may
    wait behind the blocked body while a worker idles."""
    starts = [fifo("started-a"), fifo("started-b")]
    gates = [fifo("gate-a"), fifo("gate-b")]
    for s, g in zip(starts, gates):

        @when(Cown(None))
        def hold(c, started=s, gate=g):
            announce_and_wait(started, gate)  # writes its pid

    try:
        pids = [int(fifo_read(s)) for s in starts]
        assert len(set(pids)) == 2
        quick = []
        for i in range(4):

            @when(Cown(i))
            def q(c):
                return c.value, os.getpid()

            quick.append(q)
        fifo_write(gates[1])  # frees the second worker only
        got = _guarded(  # each unwrap waits for its behavior to finish
            lambda: [r.unwrap() for r in quick],
            lambda: None,  # the finally below frees them all
            "quick behaviors while one worker stays blocked",
            GUARD,
        )
        assert [v for v, _ in got] == [0, 1, 2, 3]
        assert {p for _, p in got} == {pids[1]}
    finally:
        fifo_write(gates[0])
    settle()


def test_worker_killed_mid_behavior(fifo):
    started, gate = fifo("started"), fifo("gate")
    c = Cown("committed")

    @when(c)
    def doomed(c, started=started, gate=gate):
        c.value = "uncommitted"
        announce_and_wait(started, gate)  # writes its pid
        return "never"

    @when(doomed)
    def downstream(r):
        return r.exception

    @when(c)
    def after(c):
        value = c.value
        c.value = "after ran"
        return value

    pid = int(fifo_read(started))
    os.kill(pid, signal.SIGKILL)
    settle()

    # The cown kept its last committed value and was released.
    assert after.unwrap() == "committed"
    with c as v:
        assert v == "after ran"
    assert downstream.unwrap() is True

    # The result cown holds an exception that names the crash.
    with doomed as v:
        assert doomed.exception is True
        err = v
    assert isinstance(err, BaseException)
    assert str(pid) in str(err), str(err)
    with pytest.raises(type(err)):
        doomed.unwrap()


CRASH_CHILD = textwrap.dedent(
    """\
    import os, sys
    from bocd import Cown, when, quiesce

    started, gate = sys.argv[1], sys.argv[2]
    c = Cown("committed")

    @when(c)
    def doomed(c, started=started, gate=gate):
        c.value = "uncommitted"
        with open(started, "w") as f:
            f.write(str(os.getpid()))
        open(gate).read()

    @when(c)
    def after(c):
        return c.value, os.getpid()

    quiesce()
    value, pid = after.unwrap()
    print("AFTER", value, pid)
    try:
        doomed.unwrap()
    except BaseException as e:
        print("DOOMED", type(e).__name__, str(e).splitlines()[0])
    """
)


def test_crashed_worker_is_replaced(tmp_path, fifo):
    """With one worker, the behavior after the crash can only run on a
    replacement; the pool logs the death (pid, signal) and the new start."""
    started, gate = fifo("started"), fifo("gate")
    log = tmp_path / "one.log"
    d = Daemon(socket_path=str(tmp_path / "one.sock"), workers=1, log_file=str(log))
    d.start()
    try:
        script = tmp_path / "crash.py"
        script.write_text(CRASH_CHILD)
        proc = subprocess.Popen(
            [sys.executable, str(script), started, gate],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_child_env({"BOCD_SOCKET": d.socket}),
        )
        try:
            pid = int(fifo_read(started))
            os.kill(pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=GUARD)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        p = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert p.returncode == 0, explain(p)
        lines = {l.split(" ", 1)[0]: l.split(" ", 1)[1] for l in out.splitlines()}
        value, new_pid = lines["AFTER"].rsplit(" ", 1)
        assert value == "committed", explain(p)
        assert int(new_pid) != pid
        assert str(pid) in lines["DOOMED"], explain(p)
        text = log.read_text()
        death = f"worker pid {pid} (session "
        assert death in text and f"killed by signal {int(signal.SIGKILL)}" \
            in text, text
        assert f"worker pid {new_pid} started for session" in text, text
    finally:
        d.stop()


def test_behaviors_keep_running_after_a_crash(fifo):
    started = fifo("started")
    c = Cown(1)

    @when(c)
    def doomed(c, started=started):
        with open(started, "w") as f:
            f.write(str(os.getpid()))
        open(started).read()  # never satisfied: the test kills us first

    @when(c)
    def bump(c):
        c.value += 1
        return c.value

    os.kill(int(fifo_read(started)), signal.SIGKILL)
    settle()
    assert bump.unwrap() == 2
    with pytest.raises(BaseException):
        doomed.unwrap()


def test_a_workers_code_cache_is_bounded_by_bytes():
    from bocd._body import CodeCache

    def fn():
        pass

    cache = CodeCache(budget=100)
    for i in range(10):
        cache.put(b"k%d" % i, fn, 30)
        assert cache.size <= 100
    assert len(cache) == 3, "the least recently used went"
    assert cache.get(b"k9") is fn and cache.get(b"k0") is None
    cache.get(b"k7")  # used now: kept over k8
    cache.put(b"new", fn, 30)
    assert cache.get(b"k7") is fn and cache.get(b"k8") is None


def test_the_cache_in_a_worker_counts_the_code_it_keeps():
    # Every distinct code object a program sends is cached in its worker,
    # up to the budget, counted by its blob's bytes.
    results = []
    for i in range(5):
        ns = {}
        exec(f"def body{i}(c):\n"
             f"    from bocd import _body\n"
             f"    return _body._code.size, len(_body._code), "
             f"_body._code.budget\n", ns)
        results.append(bocd.whencall(ns[f"body{i}"], [Cown(i)], []))
    settle()
    sizes = [r.unwrap() for r in results]
    for size, count, budget in sizes:
        assert 0 < size <= budget
        assert count >= 1

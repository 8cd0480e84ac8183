"""PinnedCown, pump() and the watchdogs (docs/python.md "Pinned cowns"),
against the real daemon: pinned behaviors run on this program's main
thread, their regular cowns are loaded here and committed back."""
import gc
import os
import re
import select
import subprocess
import sys
import threading

import pytest

import bocd
from bocd import Cown, PinnedCown, PumpResult, pump, when, whencall
from bocd import _runtime

from conftest import GUARD, explain, run_python, settle

MAIN = threading.get_ident()
PID = os.getpid()
# Pinned bodies run here, against this module's real globals: events they
# set live here (captures would have to be pickled).
EVENTS: dict = {}


def where() -> tuple[int, int]:
    return os.getpid(), threading.get_ident()


def wait_queued(n: int = 1) -> None:
    """Returns once `n` pinned behaviors wait for this program (woken by
    the client when they arrive, not by a sleep)."""
    s = _runtime.session()
    while s.pinned_depth() < n:
        assert s.wait_or_pinned(GUARD) != 0, "pinned work never arrived"


@pytest.mark.parametrize("shape", ["p,u", "u,p", "p,p,u", "u,u"])
def test_routing_by_request_set(shape):
    p1, p2 = PinnedCown("a"), PinnedCown("b")
    u1, u2 = Cown(1), Cown(2)
    pick = {"p": [p1, p2], "u": [u1, u2]}
    used = {"p": 0, "u": 0}
    cowns = []
    for k in shape.split(","):
        cowns.append(pick[k][used[k]])
        used[k] += 1
    r = whencall(lambda *cs: where(), cowns, [])
    settle()
    ran = r.unwrap()
    if "p" in shape:
        assert ran == (PID, MAIN)
    else:
        assert ran[0] != PID, "u,u must run on a worker"


def test_identity_kept_and_unpicklable_value_fine():
    lock = threading.Lock()
    p = PinnedCown({"lock": lock, "n": 0})
    ident = id(p.value)
    u = Cown(5)
    results = []
    for _ in range(3):
        @when(p, u)
        def step(p, u, lid=id(lock)):
            p.value["n"] += u.value
            u.value += 1
            return id(p.value), id(p.value["lock"]) == lid
        results.append(step)
    settle()
    assert [r.unwrap() for r in results] == [(ident, True)] * 3
    assert id(p.value) == ident and p.value["n"] == 5 + 6 + 7
    with u as v:
        assert v == 8, "the regular cown was committed back each time"


def test_handle_travels_through_capture_and_cown_value():
    p = PinnedCown([])
    box = Cown(p)

    @when(box)
    def on_worker(box, p=p):
        inner = box.value

        @when(inner)
        def back_home(q):
            q.value.append(os.getpid())
            return q.value is not None

        @when(p)
        def via_capture(q):
            q.value.append(threading.get_ident())
        return os.getpid()

    settle()
    assert on_worker.unwrap() != PID
    assert len(p.value) == 2
    assert PID in p.value and MAIN in p.value


def test_handle_travels_through_a_noticeboard_entry():
    """A PinnedCown in a board entry: a worker behavior reads it from its
    snapshot and schedules on it, and that behavior runs here."""
    import bocd

    p = PinnedCown([])
    bocd.notice_seed("pinned-handle", p)

    @when(Cown(0))
    def on_worker(c):
        q = bocd.notice_read("pinned-handle")

        @when(q)
        def back_home(q):
            q.value.append((os.getpid(), threading.get_ident()))

        return os.getpid()

    settle()
    assert on_worker.unwrap() != PID
    assert p.value == [(PID, MAIN)]
    bocd.notice_delete("pinned-handle")
    settle()


def test_value_unreachable_on_worker_and_construction_refused():
    p = PinnedCown(1)

    @when(Cown(0))
    def touch(c, p=p):
        try:
            p.value
        except RuntimeError as e:
            read = str(e)
        try:
            PinnedCown(2)
        except RuntimeError as e:
            return read, str(e)

    settle()
    read, made = touch.unwrap()
    assert read.startswith("cannot acquire pinned cown 0x")
    assert "acquired only by the main pump" in read
    assert made == "PinnedCown must be constructed on the main interpreter"


def test_pump_bounds_and_result():
    bocd.start()
    assert pump() == PumpResult(0, False, 0)
    ps = [PinnedCown(i) for i in range(3)]
    rs = [whencall(lambda c: c.value * 10, [p], []) for p in ps]
    wait_queued(3)
    assert pump(max_behaviors=1) == PumpResult(1, False, 0)
    assert _runtime.session().pinned_depth() == 2, "the rest stay queued"
    assert pump(max_behaviors=5) == PumpResult(2, False, 0)
    settle()
    assert [r.unwrap() for r in rs] == [0, 10, 20]


class FakeClock:
    """Time for the pump, moved only by the test (and its bodies)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_pump_deadline_gates_the_next_behavior(monkeypatch):
    bocd.start()
    EVENTS["clock"] = clock = FakeClock()
    monkeypatch.setattr(bocd._pump, "_now", clock)
    ps = [PinnedCown(i) for i in range(2)]

    def slow(c):
        EVENTS["clock"].t += 0.005  # the body outlasts the deadline

    for p in ps:
        whencall(slow, [p], [])
    wait_queued(2)
    assert pump(deadline_ms=5) == PumpResult(1, True, 0), "never interrupted"
    assert pump(deadline_ms=6) == PumpResult(1, False, 0)


def test_body_exceptions_counted_or_raised():
    bocd.start()
    ps = [PinnedCown(i) for i in range(3)]

    def boom(c):
        raise ValueError(f"boom {c.value}")

    rs = [whencall(boom, [p], []) for p in ps]
    wait_queued(3)
    assert pump(max_behaviors=1) == PumpResult(1, False, 1)
    with pytest.raises(ValueError, match="boom"):
        pump(raise_on_error=True)
    assert _runtime.session().pinned_depth() == 1, "stopped at once"
    assert pump() == PumpResult(1, False, 1)
    settle()
    for r in rs:
        with pytest.raises(ValueError):
            r.unwrap()


def test_base_exception_propagates_after_cleanup():
    bocd.start()
    p = PinnedCown(0)

    @when(p)
    def stop(c):
        raise KeyboardInterrupt("stop")

    wait_queued()
    with pytest.raises(KeyboardInterrupt):
        pump()
    settle()  # the behavior completed: nothing is left in flight
    with pytest.raises(KeyboardInterrupt):
        stop.unwrap()


def test_pump_not_reentrant_and_wait_refused_in_pinned_body():
    p = PinnedCown(0)

    @when(p)
    def inner(c):
        out = []
        for call in (pump, bocd.quiesce):
            try:
                call()
            except RuntimeError as e:
                out.append(str(e))
        return out

    settle()
    msgs = inner.unwrap()
    assert msgs[0].startswith("pump() is not reentrant")
    assert "cannot be called from inside a behavior" in msgs[1]


@pytest.mark.parametrize("bad,text", [
    (0, "deadline_ms must be None or a positive int, got 0"),
    (1.5, "deadline_ms must be None or a positive int, got float"),
    (True, "deadline_ms must be None or a positive int, got bool"),
    ("1", "deadline_ms must be None or a positive int, got str"),
])
def test_pump_validation(bad, text):
    with pytest.raises(TypeError) as e:
        pump(deadline_ms=bad)
    assert str(e.value) == text
    with pytest.raises(TypeError) as e:
        pump(max_behaviors=bad)
    assert str(e.value) == text.replace("deadline_ms", "max_behaviors")
    with pytest.raises(OverflowError):
        pump(deadline_ms=9223372036854)


def test_watchdog_settings_validated():
    with pytest.raises(TypeError) as e:
        bocd.set_pump_watchdog(warn_ms=0)
    assert str(e.value) == ("warn_ms must be a positive int or None to "
                            "disable, got 0")
    with pytest.raises(TypeError):
        bocd.set_pump_watchdog(on_starve=42)
    with pytest.raises(TypeError) as e:
        bocd.set_wait_pump_poll(0)
    assert str(e.value) == "ms must be a positive int, got 0"


def queue_aged(monkeypatch, seconds: float) -> None:
    """The pinned queue's current wait, as the watchdog sees it, lasts
    `seconds` (the episode is the client's own)."""
    real = bocd._pump._queue_age

    def aged(session):
        age, episode = real(session)
        return (seconds if age > 0 else 0.0), episode

    monkeypatch.setattr(bocd._pump, "_queue_age", aged)


def test_client_watchdog_warns_once_per_episode(monkeypatch):
    bocd.start()
    p, q = PinnedCown(0), PinnedCown(1)
    seen = []
    whencall(lambda c: None, [p], [])
    whencall(lambda c: None, [q], [])
    wait_queued(2)
    queue_aged(monkeypatch, 0.002)
    bocd.set_pump_watchdog(warn_ms=2, on_starve=lambda *a: seen.append(a))
    try:
        assert pump(max_behaviors=1) == PumpResult(1, False, 0)
        assert seen == [(0, "pinned-cown queue non-empty for 2 ms with no "
                            "pump() progress (depth=2)")]
        assert pump() == PumpResult(1, False, 0)
        assert len(seen) == 1, "once per non-empty episode"
        whencall(lambda c: None, [p], [])
        wait_queued()
        pump()
        assert len(seen) == 2, "a new episode warns again"
    finally:
        bocd.set_pump_watchdog(warn_ms=None)


def test_client_watchdog_logs_without_a_hook(monkeypatch, caplog):
    bocd.start()
    p = PinnedCown(0)
    whencall(lambda c: None, [p], [])
    wait_queued()
    queue_aged(monkeypatch, 1.0)
    bocd.set_pump_watchdog(warn_ms=1000)
    try:
        with caplog.at_level("WARNING", logger="bocd.pump"):
            assert pump().executed == 1
    finally:
        bocd.set_pump_watchdog(warn_ms=None)
    assert "pinned-cown queue non-empty for 1000 ms" in caplog.text


def test_client_watchdog_raises_once_then_lets_the_queue_drain(monkeypatch):
    bocd.start()
    p = PinnedCown(0)
    EVENTS["ran"] = ran = threading.Event()
    whencall(lambda c: EVENTS["ran"].set(), [p], [])
    wait_queued()
    queue_aged(monkeypatch, 0.005)
    bocd.set_pump_watchdog(warn_ms=None, raise_ms=5)
    try:
        with pytest.raises(RuntimeError, match="pinned-cown queue non-empty"):
            pump()
        assert not ran.is_set(), "raised before running anything"
        assert pump() == PumpResult(1, False, 0), "not raised again"
    finally:
        bocd.set_pump_watchdog(warn_ms=None, raise_ms=None)
    assert ran.is_set()


def test_another_thread_pump_waits_for_the_running_one():
    bocd.start()
    ps = [PinnedCown(i) for i in range(2)]
    EVENTS["inside"] = inside = threading.Event()
    EVENTS["go"] = go = threading.Event()

    def first(c):
        EVENTS["inside"].set()
        EVENTS["go"].wait(GUARD)

    whencall(first, [ps[0]], [])
    wait_queued()
    results = []
    main_pump = threading.Thread(target=lambda: results.append(pump()))
    main_pump.start()
    assert inside.wait(GUARD)
    whencall(lambda c: None, [ps[1]], [])
    other = threading.Thread(target=lambda: results.append(pump()))
    other.start()
    go.set()
    main_pump.join(GUARD)
    other.join(GUARD)
    assert sum(r.executed for r in results) == 2
    assert all(r.raised == 0 for r in results)


def test_unpinned_program_never_warned():
    seen = []
    bocd.set_pump_watchdog(warn_ms=1, on_starve=lambda *a: seen.append(a))
    try:
        rs = [whencall(lambda c: c.value, [Cown(i)], []) for i in range(50)]
        settle()
        assert [r.unwrap() for r in rs] == list(range(50))
        pump()
    finally:
        bocd.set_pump_watchdog(warn_ms=None)
    assert seen == []


DAEMON_WATCHDOG_CHILD = r"""
import sys
import bocd
from bocd import PinnedCown, when, _runtime
p = PinnedCown(0)
@when(p)
def later(c):
    c.value = 1
s = _runtime.session()
while s.pinned_depth() == 0:
    s.wait_or_pinned(30.0)
print("queued", flush=True)
sys.stdin.readline()   # the test has seen the daemon's warning
bocd.quiesce()         # pumps
print("done", p.value, flush=True)
"""


def test_daemon_logs_a_program_that_leaves_pinned_work(tmp_path):
    from bocd._daemon import Daemon
    log = tmp_path / "bocd.log"
    d = Daemon(socket_path=None, workers=1, log_file=str(log),
               extra_args=("--pump-warn-ms", "20")).start()
    child = tail = None
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", DAEMON_WATCHDOG_CHILD],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "BOCD_SOCKET": d.socket})
        assert child.stdout.readline().strip() == "queued"
        tail = subprocess.Popen(["tail", "-n", "+1", "-F", str(log)],
                                stdout=subprocess.PIPE, text=True)
        line = ""
        while "left pinned work waiting" not in line:
            ready, _, _ = select.select([tail.stdout], [], [], GUARD)
            assert ready, "no watchdog warning in the daemon log"
            line = tail.stdout.readline()
        assert f"(pid {child.pid}, program" in line
        assert "depth=1" in line
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done 1"
        assert child.wait(GUARD) == 0
    finally:
        for proc in (child, tail):
            if proc is not None and proc.poll() is None:
                proc.kill()
        d.stop()
    assert log.read_text().count("left pinned work waiting") == 1


OWNER_CHILD = r"""
import sys
from bocd import PinnedCown, Cown, _runtime
p = PinnedCown(0)
box = Cown(p)
_runtime.session().quiesce(30.0)   # the daemon has both cowns
print(box._id, p._id, flush=True)
sys.stdin.readline()
"""


def test_another_program_cannot_reach_a_pinned_cown_or_its_box():
    # Pinned work comes only from the owner and its own behaviors: a
    # program that learnt the ids can schedule nothing on them, and the
    # daemon serves it on as before.
    from bocd._cown import Cown as C
    child = subprocess.Popen([sys.executable, "-c", OWNER_CHILD],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        for ident in map(int, child.stdout.readline().split()):
            theirs = C._from_id(ident)
            # Taking a handle on it is refused, and so is the behavior;
            # whichever this call reports first names it.
            with pytest.raises(RuntimeError, match="another program's"):
                whencall(lambda c: "reached", [theirs], []).unwrap()
        # The rest of those refusals (and of dropping the handles it never
        # got) come on later calls.
        del theirs
        gc.collect()
        for _ in range(50):
            try:
                bocd.quiesce(timeout=GUARD)
                break
            except RuntimeError as e:
                assert re.search("another program's|does not exist|no handle",
                                 str(e)), e
        r = whencall(lambda c: c.value + 1, [Cown(1)], [])
        assert r.unwrap() == 2, "others continue"
    finally:
        child.stdin.write("\n")
        child.stdin.close()
        assert child.wait(GUARD) == 0


def test_value_outlives_its_last_handle_while_work_is_queued():
    import gc
    p = PinnedCown(["kept"])
    ident = p._id
    r = whencall(lambda c: c.value[0], [p], [])
    wait_queued()
    del p
    gc.collect()  # the program's last handle is gone; the behavior is not
    settle()
    assert r.unwrap() == "kept"
    assert ident not in bocd._cown._pinned, "forgotten once the daemon freed it"


def test_value_kept_while_another_cown_names_it():
    import gc
    p = PinnedCown(["home"])
    ident = p._id
    box = Cown(p)
    del p
    gc.collect()
    settle()  # the program's handle is dropped; box's value still names it
    assert ident in bocd._cown._pinned

    @when(box)
    def via_worker(b):
        @when(b.value)
        def at_home(q):
            return q.value[0], os.getpid()
        return at_home

    settle()
    assert via_worker.unwrap().unwrap() == ("home", PID)


def test_pinned_body_reads_a_copy_of_shared_memory():
    np = pytest.importorskip("numpy")
    p = PinnedCown(None)
    u = Cown(np.zeros(100_000, dtype=np.int64))  # big: in a shared blob

    @when(p, u)
    def keep(p, u):
        p.value = u.value  # kept here after u moves on

    @when(u)
    def bump(u):
        u.value += 1  # in place, in the blob, on a worker

    settle()
    assert int(p.value.sum()) == 0, "the kept array did not change under us"


def test_pinned_body_from_a_worker_uses_the_real_globals(tmp_path):
    """A pinned body a worker scheduled is shipped back by value, with
    copies of the globals it uses; in its program it runs over the real
    ones, and the script's class keeps its attributes (cloudpickle would
    set the worker's snapshot on it again)."""
    code = (
        "import bocd\n"
        "class State:\n"
        "    hits = 0\n"
        "LOG = []\n"
        "p = bocd.PinnedCown(None)\n"
        "State.hits = 10\n"
        "for i in range(5):\n"
        "    @bocd.when(bocd.Cown(i))\n"
        "    def w(c, p=p):\n"
        "        State.hits += 1000  # the worker's copy: stays there\n"
        "        @bocd.when(p)\n"
        "        def back(p, v=c.value):\n"
        "            State.hits += 1\n"
        "            LOG.append(v)\n"
        "bocd.quiesce()\n"
        "print(State.hits, sorted(LOG))\n")
    p = run_python(code, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert p.stdout.strip() == "15 [0, 1, 2, 3, 4]", explain(p)


def test_pinned_body_from_main_uses_the_real_globals(tmp_path):
    """A pinned behavior runs in its program: its code is not shipped, so
    it sees the script's own globals, unpicklable ones too."""
    code = (
        "import threading, bocd\n"
        "from bocd import PinnedCown, when\n"
        "LOCK = threading.Lock()\n"
        "COUNTER = [0]\n"
        "p = PinnedCown(0)\n"
        "for _ in range(3):\n"
        "    @when(p)\n"
        "    def body(p):\n"
        "        with LOCK:\n"
        "            COUNTER[0] += 1\n"
        "        return COUNTER is globals()['COUNTER']\n"
        "bocd.quiesce()\n"
        "print(body.unwrap(), COUNTER[0])\n")
    p = run_python(code, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert p.stdout.split() == ["True", "3"], explain(p)


def test_watchdog_takes_bocpys_positional_order():
    # bocpy 0.14: set_pump_watchdog(warn_ms, on_starve); raise_ms is
    # bocd's, by keyword only.
    try:
        bocd.set_pump_watchdog(1000, lambda severity, message: None)
        with pytest.raises(TypeError):
            bocd.set_pump_watchdog(1000, None, 5)  # type: ignore[misc]
    finally:
        bocd.set_pump_watchdog(None)

"""Reading and holding cowns as a bocpy program does (docs/python.md
"Holding cowns"): wait() leaves the caller's cowns readable, acquire() is
an ordered request from the program or from inside a behavior, and every
wait for a cown can be interrupted."""

from __future__ import annotations

import os
import textwrap

import pytest

import bocd
from bocd import Cown, PinnedCown, when
from conftest import GUARD, explain, run_python, settle


class MyError(Exception):
    pass


def test_wait_leaves_the_callers_cowns_readable():
    # bocpy's own test style: wait(), then read the result cowns directly.
    c = Cown(1)

    @when(c)
    def add(c):
        c.value += 41
        return "added"

    @when(c)
    def fails(c):
        raise MyError("no")

    bocd.wait()
    assert c.acquired and c.value == 42
    assert add.value == "added" and add.exception is False
    assert fails.exception is True
    assert isinstance(fails.value, MyError)


# Made by the test, not at import: collection runs before the session's
# daemon is up, and a cown made then would start a private one.
GLOBAL: Cown[str] | None = None


def test_wait_holds_a_global_and_the_next_runtime_lets_it_go():
    global GLOBAL
    GLOBAL = Cown("global")

    @when(GLOBAL)
    def grow(g):
        g.value += "!"

    bocd.wait()
    assert GLOBAL.value == "global!"
    GLOBAL.value = "written after wait"

    @when(GLOBAL)  # a new runtime: the hold goes back, with the write
    def read(g):
        return g.value

    settle()
    assert read.unwrap() == "written after wait"
    assert GLOBAL.acquired is False


def test_cowns_only_in_containers_stay_usable_after_wait():
    box = [Cown(5)]

    @when(box[0])
    def double(c):
        c.value *= 2

    bocd.wait()
    assert box[0].acquired is False, "only direct references are held"
    with box[0] as v:
        assert v == 10
    assert box[0].unwrap() == 10


def test_a_held_cown_whose_handles_died_does_not_block_the_next_runtime():
    keep = []

    def part():
        c = Cown(1)
        keep.append(Cown(c))  # another cown's value names it
        bocd.start()  # wait() of a runtime that is down holds nothing
        bocd.wait()  # holds `c` (a local here)
        assert c.value == 1
        # `c` dies here while held

    part()

    @when(keep[0])
    def inner(box):
        @when(box.value)
        def bump(c):
            c.value += 1
            return c.value

        return bump

    settle()
    assert inner.unwrap().unwrap() == 2


def test_a_program_reads_after_wait_as_a_script_does(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        from bocd import Cown, wait, when

        counter = Cown(0)
        for _ in range(10):
            @when(counter)
            def inc(c):
                c.value += 1

        wait()
        print(counter.value)
    """))
    p = run_python(None, args=[str(script)])
    assert p.returncode == 0, explain(p)
    assert p.stdout.strip() == "10", explain(p)


def test_acquire_inside_a_behavior_is_ordered_and_sees_earlier_writes():
    a, b = Cown(1), Cown(10)

    @when(b)
    def first(b):
        b.value += 5

    @when(a)
    def reads_b(a, b=b):
        with b as v:  # b is not in this behavior's request set
            return a.value + v

    settle()
    assert reads_b.unwrap() == 16


def test_a_cown_a_body_acquires_and_keeps_is_released_when_it_ends():
    a, b = Cown(0), Cown(0)

    @when(a)
    def keeps(a, b=b):
        b.acquire()
        b.value = 7  # never released by the body

    settle()

    @when(b)
    def after(b):
        return b.value

    settle()
    assert after.unwrap() == 7


def test_acquire_inside_a_pinned_body():
    pc, c = PinnedCown("p"), Cown(3)

    @when(pc)
    def pinned(pc, c=c):
        with c as v:
            return pc.value * v

    settle()
    assert pinned.unwrap() == "ppp"


def test_unwrap_and_with_on_main_run_the_pinned_work_they_wait_behind():
    # The cown is queued behind this program's own pinned behavior: only
    # its main thread can run that, so the waiting call pumps. (A child
    # program: without the pumping it would hang, not fail.)
    p = run_python(textwrap.dedent("""
        from bocd import Cown, PinnedCown, when

        pc, c = PinnedCown(0), Cown(0)

        @when(pc, c)
        def pinned(pc, c):
            c.value = 1

        with c as v:
            print(v)

        @when(pc, c)
        def again(pc, c):
            c.value += 1
            return c.value

        print(again.unwrap())
    """), timeout=GUARD)
    assert p.returncode == 0, explain(p)
    assert p.stdout.split() == ["1", "2"], explain(p)


def _interrupted(call: str, tmp_path) -> None:
    """Runs a program whose `call` waits for a cown a gated behavior
    holds; an alarm stands in for Ctrl-C. The call must raise
    KeyboardInterrupt and leave nothing held."""
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    code = textwrap.dedent(f"""
        import signal
        from bocd import Cown, quiesce, when

        def ctrl_c(*_):
            raise KeyboardInterrupt
        signal.signal(signal.SIGALRM, ctrl_c)

        c = Cown(1)
        @when(c)
        def hold(c):
            open({str(gate)!r}).read()
            c.value = 2

        signal.setitimer(signal.ITIMER_REAL, 0.3)
        try:
            {call}
        except KeyboardInterrupt:
            print("interrupted")
        with open({str(gate)!r}, "w") as f:
            f.write("go")
        quiesce()
        with c as v:
            print(v)
    """)
    p = run_python(code, timeout=GUARD)
    assert p.returncode == 0, explain(p)
    assert p.stdout.split() == ["interrupted", "2"], explain(p)


@pytest.mark.parametrize("call", ["c.acquire()", "c.unwrap()",
                                  "with c as v: pass"])
def test_ctrl_c_interrupts_a_wait_for_a_cown(call, tmp_path):
    _interrupted(call, tmp_path)


@pytest.mark.parametrize("bad", ["\ud800", ["ok", "\udfff"]])
def test_tags_that_cannot_be_encoded_raise_and_leave_the_queues_usable(bad):
    with pytest.raises(UnicodeEncodeError):
        bocd.send(bad if isinstance(bad, str) else bad[1], 1)
    with pytest.raises(UnicodeEncodeError):
        bocd.receive(bad, 0)
    with pytest.raises(UnicodeEncodeError):
        bocd.set_tags([bad] if isinstance(bad, str) else bad)
    bocd.send("after", 5)
    assert bocd.receive("after", GUARD) == ("after", 5)

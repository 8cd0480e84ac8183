"""pump() runs what is ready when it is called, as a bocpy program calls
it: schedule pinned work, then pump() at once, with no wait for the
dispatches to travel back from the daemon (docs/python.md "Pinned cowns")."""

from __future__ import annotations

import textwrap

import pytest

import bocd
from bocd import PinnedCown, PumpResult, pump, when, whencall
from conftest import explain, fifo_write, run_python, settle


SEEN: list[int] = []  # pinned bodies run over this module's globals


def test_pump_right_after_scheduling_runs_it_all():
    # The bocpy documentation's pattern, and the first report.
    SEEN.clear()
    pcs = [PinnedCown(i) for i in range(10)]
    for pc in pcs:

        @when(pc)
        def body(pc):
            SEEN.append(pc.value)

    assert pump(max_behaviors=3) == PumpResult(3, False, 0)
    assert sorted(SEEN) == [0, 1, 2]
    assert pump() == PumpResult(7, False, 0)
    assert sorted(SEEN) == list(range(10))
    assert pump() == PumpResult(0, False, 0)


def test_pump_runs_a_chain_on_one_pinned_cown_to_its_end():
    # Each completion lets the next behavior on the cown in, as bocpy's
    # pump() runs them all in one call.
    pc = PinnedCown([])
    for i in range(10):

        @when(pc)
        def step(pc, i=i):
            pc.value.append(i)

    assert pump() == PumpResult(10, False, 0)
    assert pc.value == list(range(10))


def test_pump_bounds_count_work_that_is_still_travelling():
    pcs = [PinnedCown(i) for i in range(5)]
    for pc in pcs:
        whencall(lambda c: None, [pc], [])
    assert pump(max_behaviors=2) == PumpResult(2, False, 0)
    assert pump(max_behaviors=2) == PumpResult(2, False, 0)
    assert pump(max_behaviors=2) == PumpResult(1, False, 0)


def test_raise_on_error_stops_at_the_first_and_keeps_the_rest():
    pcs = [PinnedCown(i) for i in range(3)]

    def boom(c):
        raise ValueError(f"boom {c.value}")

    rs = [whencall(boom, [p], []) for p in pcs]
    with pytest.raises(ValueError, match="boom 0"):
        pump(raise_on_error=True)
    assert pump() == PumpResult(2, False, 2), "the rest stayed queued"
    settle()
    for r in rs:
        with pytest.raises(ValueError):
            r.unwrap()


def test_base_exception_propagates_once_and_the_rest_stay_queued():
    pc = PinnedCown(0)

    @when(pc)
    def interrupt(c):
        raise KeyboardInterrupt("from the body")

    @when(pc)
    def after(c):
        c.value += 1

    with pytest.raises(KeyboardInterrupt, match="from the body"):
        pump()
    assert pump() == PumpResult(1, False, 0), "the next one ran later"
    assert pc.value == 1
    settle()  # not raised again by a later wait or quiesce
    bocd.wait()
    with pytest.raises(KeyboardInterrupt):
        interrupt.unwrap()  # where the result cown keeps it, as bocpy


def test_base_exception_is_not_raised_again_at_exit():
    # A program that handles the interrupt from pump() and ends normally.
    p = run_python(textwrap.dedent("""
        from bocd import PinnedCown, pump, wait, when
        pc = PinnedCown(0)

        @when(pc)
        def stop(c):
            raise SystemExit(7)

        @when(pc)
        def later(c):
            print("later ran")

        try:
            pump()
        except SystemExit as e:
            print("pump raised", e.code)
        wait()
        print("done")
    """))
    assert p.returncode == 0, explain(p)
    assert p.stdout.split() == ["pump", "raised", "7", "later", "ran",
                                "done"], explain(p)
    assert "Traceback" not in p.stderr, explain(p)


def test_runtime_stats_count_what_pump_would_run_now():
    pcs = [PinnedCown(i) for i in range(4)]
    for pc in pcs:
        whencall(lambda c: None, [pc], [])
    assert bocd.runtime_stats()["main"]["pinned_depth"] == 4
    assert pump() == PumpResult(4, False, 0)
    assert bocd.runtime_stats()["main"]["pinned_depth"] == 0


def test_work_of_one_part_is_not_counted_by_the_next():
    # Each part pumps what it scheduled: none of it arrives late and is
    # counted by the next part's pump().
    for n in (3, 2, 4):
        pcs = [PinnedCown(i) for i in range(n)]
        for pc in pcs:
            whencall(lambda c: None, [pc], [])
        assert pump() == PumpResult(n, False, 0)


def test_a_program_with_nothing_on_its_way_asks_the_daemon_nothing(
        monkeypatch):
    asked = []
    real = bocd._pump._sync
    monkeypatch.setattr(bocd._pump, "_sync",
                        lambda s: (asked.append(1), real(s)))
    pc = PinnedCown(0)
    whencall(lambda c: None, [pc], [])
    assert pump() == PumpResult(1, False, 0)
    assert asked, "what was scheduled had to be asked for"
    asked.clear()
    for _ in range(3):
        assert pump() == PumpResult(0, False, 0)
    assert asked == [], "nothing pinned on its way: no round trip"


def test_pinned_work_waiting_for_a_worker_is_not_waited_for(fifo):
    # pump() never blocks: a pinned behavior queued behind a running
    # worker behavior is not ready, so pump() returns without it.
    gate = fifo("gate")
    c = bocd.Cown(0)

    @when(c)
    def hold(c, gate=gate):
        open(gate).read()
        c.value = 1

    pc = PinnedCown(None)

    @when(pc, c)
    def copy(pc, c):
        pc.value = c.value

    assert pump() == PumpResult(0, False, 0)
    fifo_write(gate)
    settle()  # pumps it once the worker is done
    assert pc.value == 1

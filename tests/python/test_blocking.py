"""A body that waits never holds up behaviors pipelined behind it on its
worker: the worker gives them back to the daemon, which runs them on
another worker (proto Blocked/Recalled). Each scene keeps one of the two
workers busy at a gate, so the other gets the waiting body and, pipelined
behind it, the behavior that ends its wait; without the hand-back the two
would wait for each other for ever."""

from __future__ import annotations

import bocd
from bocd import Cown, _runtime, when
from conftest import (GUARD, announce_and_wait, fifo_write, held_at_gate,
                      settle)


def _warm() -> None:
    """Short behaviors until the daemon pipelines to both workers (their
    bodies' mean run time under its 200 us threshold): the scenes below
    test nothing otherwise."""
    for _ in range(100):
        workers = bocd.runtime_stats()["workers"]
        if len(workers) == 2 and all(
                w["mean_run_s"] is not None and w["mean_run_s"] < 100e-6
                for w in workers):
            return
        # Two at a time, so that both workers get some.
        for i in range(20):
            a, b = Cown(i), Cown(i)

            @when(a)
            def left(c):
                c.value += 1

            @when(b)
            def right(c):
                c.value += 1

        settle()
    raise AssertionError(f"workers never ran short: {workers}")


def _busy(fifo):
    """Holds one worker at a gate; the with-block runs while it does."""
    started, gate = fifo("started"), fifo("gate")

    @when(Cown(None))
    def busy(c, started=started, gate=gate):
        announce_and_wait(started, gate)

    return held_at_gate(started, gate)


def test_a_body_in_receive_gets_what_a_behavior_pipelined_behind_it_sends(
        fifo):
    _warm()
    with _busy(fifo):

        @when(Cown(0))
        def receiver(c):
            return bocd.receive("blocking", GUARD)

        @when(Cown(0))
        def sender(c):
            bocd.send("blocking", "hello")

    settle()
    assert receiver.unwrap() == ("blocking", "hello")


def test_a_body_acquiring_a_cown_is_not_held_up_by_its_next_writer(fifo):
    _warm()
    x = Cown(0)
    go = fifo("go")
    with _busy(fifo):

        @when(Cown(0))
        def reader(c, x=x, go=go):
            open(go).read()  # until `writer` is surely queued on x
            with x as v:  # so this waits for it
                return v

        @when(x)
        def writer(x):
            x.value = 5

        # The daemon has read both submits once this program's Sync is
        # answered (it answers in order).
        _runtime.session().sync_pinned(GUARD)
        fifo_write(go)

    settle()
    assert reader.unwrap() == 5


def test_a_body_stuck_outside_bocd_is_seen_by_the_watchdog(fifo):
    # The body waits on a FIFO, which bocd cannot see: the worker's
    # watchdog reports it once it has run a millisecond or two.
    _warm()
    pipe = fifo("pipe")
    with _busy(fifo):

        @when(Cown(0))
        def stuck(c, pipe=pipe):
            with open(pipe) as f:
                return f.read()

        @when(Cown(0))
        def unsticks(c, pipe=pipe):
            with open(pipe, "w") as f:
                f.write("unstuck")

    settle()
    assert stuck.unwrap() == "unstuck"

"""Cown lifetime (docs/python.md "Lifetime"): cowns nothing refers to are
freed, so many short-lived cowns keep the daemon's cown table bounded;
cowns still referred to by a value or a queued behavior stay alive."""

import gc

from bocd import Cown, when
from conftest import daemon_status, fifo_write, hold_until_open, settle

BATCH = 1000
BATCHES = 5


def cown_count(daemon) -> int:
    return int(daemon_status(daemon.socket)["cowns"])


def test_short_lived_cowns_are_freed(bocd_daemon):
    gc.collect()
    settle()
    base = cown_count(bocd_daemon)
    counts = []
    for _ in range(BATCHES):
        for i in range(BATCH):
            c = Cown(i)

            @when(c)
            def bump(c):
                c.value += 1

        del c, bump
        settle()
        counts.append(cown_count(bocd_daemon))
    gc.collect()
    settle()
    final = cown_count(bocd_daemon)
    created = 2 * BATCH * BATCHES  # each round makes a cown and a result cown
    # The table never held more than about one batch, and ends near the start.
    assert max(counts) - base < 2 * BATCH + 200, (base, counts, created)
    assert final - base <= 200, (base, counts, final)


def test_cown_kept_alive_by_a_value():
    inner = Cown("inner value")
    outer = Cown({"ref": inner})
    del inner
    gc.collect()
    settle()

    @when(outer)
    def reach(outer):
        @when(outer.value["ref"])
        def read(i):
            return i.value

        return read

    settle()
    assert reach.unwrap().unwrap() == "inner value"


def test_cown_kept_alive_by_a_queued_behavior(fifo):
    gate = fifo("gate")
    hold = Cown(None)
    hold_until_open(hold, gate)

    # The only handle to the new cown is the queued behavior's.
    @when(hold, Cown([1, 2, 3]))
    def use(hold, c):
        return sum(c.value)

    gc.collect()
    fifo_write(gate)
    settle()
    assert use.unwrap() == 6

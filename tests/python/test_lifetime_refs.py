"""Cown lifetime across values (docs/python.md "Lifetime"): a cown named only
by another cown's value stays alive and readable; cowns nothing names are
freed, so the daemon's cown table does not grow with the number of
short-lived cowns a program makes."""

import gc

from bocd import Cown, quiesce, when
from conftest import churn, daemon_status, settle


def cown_count(daemon) -> int:
    return int(daemon_status(daemon.socket)["cowns"])


def test_inner_cown_alive_after_its_handle_is_deleted():
    inner = Cown([1, 2, 3])
    outer = Cown(inner)
    del inner
    gc.collect()
    churn()

    # Read from a behavior: the outer body schedules one on the inner cown.
    @when(outer)
    def reach(o):
        @when(o.value)
        def read(i):
            i.value.append(4)
            return list(i.value)

        return read

    settle()
    assert reach.unwrap().unwrap() == [1, 2, 3, 4]

    # And from the main side, through a fresh handle read out of the value.
    with outer as v:
        again = v
    assert again.unwrap() == [1, 2, 3, 4]


def test_cowns_nested_in_containers_stay_alive():
    outer = Cown({"xs": [Cown(i) for i in range(5)], "t": (Cown("t"),)})
    gc.collect()
    churn()

    @when(outer)
    def fan(o):
        xs = o.value["xs"]

        @when(xs)
        def total(xs):
            return sum(x.value for x in xs)

        @when(o.value["t"][0])
        def text(t):
            return t.value

        return total, text

    settle()
    total, text = fan.unwrap()
    assert total.unwrap() == 10
    assert text.unwrap() == "t"


def test_cown_created_in_a_behavior_lives_in_a_value():
    holder = Cown(None)

    @when(holder)
    def make(h):
        h.value = [Cown("made inside")]

    gc.collect()
    churn()

    @when(holder)
    def read(h):
        @when(h.value[0])
        def get(c):
            return c.value

        return get

    settle()
    assert read.unwrap().unwrap() == "made inside"


def test_cown_moved_between_values_stays_alive():
    a = Cown([Cown("moved")])
    b = Cown(None)

    @when(a, b)
    def move(a, b):
        b.value = a.value
        a.value = None

    settle()
    churn()
    with b as v:
        inner = v[0]
    assert inner.unwrap() == "moved"


def test_cown_table_does_not_grow_with_batches(bocd_daemon):
    """20,000 short-lived cowns in batches of 1,000 (plain ones, ones nested
    in values, and result cowns): after each batch and quiesce() the table is
    back near where it was, whatever the number of batches."""
    gc.collect()
    settle()
    base = cown_count(bocd_daemon)
    counts = []
    for b in range(20):
        for i in range(250):
            outer = Cown([Cown(i)])  # 2 cowns, the inner named by a value
            plain = Cown(i)  # + 1, and a result cown: 2 more

            @when(plain, outer)
            def use(p, o):
                p.value += 1
                return p.value

        del outer, plain, use
        gc.collect()
        settle()
        counts.append(cown_count(bocd_daemon))
    gc.collect()
    settle()
    final = cown_count(bocd_daemon)
    # Not growing with batches: batch 20 holds no more than batch 2 did.
    assert counts[19] <= counts[1] + 50, (base, counts)
    assert max(counts) - base < 1000, (base, counts)
    assert final - base <= 50, (base, counts, final)


def test_handle_regained_before_its_drop_is_sent_keeps_the_cown():
    """A handle's last object dies (its drop is batched, not yet sent), then
    the program gets a handle to the same cown again from a value: the cown
    must stay alive for the new handle after the batched drop goes out."""
    inner = Cown(41)
    box = Cown([inner])
    del inner
    gc.collect()  # the drop of `inner` is now pending in this process
    with box as v:
        again = v[0]  # the same cown, regained from box's value

    @when(box)
    def empty(b):
        b.value = None  # box no longer keeps inner alive

    quiesce()  # sends the pending drops

    @when(again)
    def read(c):
        return c.value + 1

    assert read.unwrap() == 42


def test_cown_stored_by_a_body_survives_its_drops():
    """A body that lets many handles die and stores a new cown in its cown's
    value: no drop may reach the daemon before the completion that stores
    it (the drop batch must not be flushed while the body runs)."""
    box = Cown(None)

    @when(box)
    def fill(b):
        for i in range(255):
            Cown(i)  # each dies at once: a batched drop
        b.value = Cown(7)

    @when(box)
    def read(b):
        @when(b.value)
        def inner(c):
            return c.value

        return inner

    quiesce()
    assert read.unwrap().unwrap() == 7

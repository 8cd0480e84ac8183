"""Cown: construction, ownership, acquire/release/with, unwrap, identity, repr
(docs/python.md "Values", "Lifetime" and "Holding cowns")."""

import os
import threading

import pytest

import bocd
from bocd import Cown, when
from conftest import (GUARD, FifoWriter, announce_and_wait, held_at_gate,
                      settle)

NOT_OWNER = "The current interpreter does not own this cown"


def flag(x):
    """`acquired` is a property on Cown, a method on bocpy's capsule."""
    return x() if callable(x) else x


def test_value_without_owning_raises():
    c = Cown(1)
    with pytest.raises(RuntimeError, match=NOT_OWNER):
        c.value
    with pytest.raises(RuntimeError, match=NOT_OWNER):
        c.value = 2
    with pytest.raises(RuntimeError, match=NOT_OWNER):
        c.exception


def test_fresh_cown_is_not_acquired_but_parameter_is():
    c = Cown(1)
    assert c.acquired is False

    @when(c)
    def inside(c):
        return flag(c.acquired)

    settle()
    assert inside.unwrap() is True
    assert c.acquired is False


def test_constructor_snapshots_the_value():
    lst = [1, 2]
    c = Cown(lst)
    lst.append(3)
    with c as v:
        assert v == [1, 2]


def test_with_binds_value_and_keeps_mutations():
    c = Cown([1])
    with c as v:
        assert v == [1]
        assert c.acquired is True
        v.append(2)
    assert c.acquired is False
    with c as v:
        assert v == [1, 2]

    @when(c)
    def seen(c):
        return list(c.value)

    settle()
    assert seen.unwrap() == [1, 2]


def test_acquire_set_release():
    c = Cown("a")
    c.release()  # releasing a cown nobody owns is a no-op
    c.acquire()
    assert c.acquired is True
    assert c.value == "a"
    c.value = "b"
    c.release()
    assert c.acquired is False
    with pytest.raises(RuntimeError, match=NOT_OWNER):
        c.value

    @when(c)
    def read(c):
        return c.value

    settle()
    assert read.unwrap() == "b"


def test_acquire_waits_for_a_behavior_scheduled_earlier(fifo):
    """Row 3: acquire on main is a request ordered in the cown's queue."""
    gate = fifo("gate")
    c = Cown(["start"])

    @when(c)
    def first(c, gate=gate):
        open(gate).read()
        c.value = c.value + ["behavior"]

    writer = FifoWriter(gate)  # opens the gate once the behavior waits on it
    with c as v:  # must not get the cown before `first` committed
        seen = list(v)
        v.append("main")
    writer.join()
    assert seen == ["start", "behavior"]
    settle()
    assert first.unwrap() is None
    with c as v:
        assert v == ["start", "behavior", "main"]


def test_behavior_scheduled_while_main_holds_runs_after_release():
    c = Cown(["start"])
    c.acquire()

    @when(c)
    def later(c):
        c.value = c.value + ["behavior"]
        return "ran"

    c.value = c.value + ["main"]
    c.release()
    settle()
    assert later.unwrap() == "ran"
    with c as v:
        assert v == ["start", "main", "behavior"]


def test_unwrap_takes_the_value():
    c = Cown(5)
    assert c.unwrap() == 5
    assert c.unwrap() is None  # the payload was taken

    @when(c)
    def refill(c):
        c.value = 6

    settle()
    assert c.unwrap() == 6


def test_unwrap_of_every_kind_of_value_leaves_none():
    """unwrap takes a plain value out in one step; a value that embeds
    cowns, lives in shared memory or is a raised exception is held and
    released as before. Each comes out whole and leaves None."""
    import numpy as np

    inner = Cown("inner")
    kinds = {
        "plain": [1, "two", 3.0],
        "embeds a cown": {"c": inner},
        "big array": np.arange(200_000, dtype=np.int64),
    }
    for name, value in kinds.items():
        c = Cown(value)
        got = c.unwrap()
        if name == "big array":
            assert np.array_equal(got, value), name
        elif name == "embeds a cown":
            assert got["c"] == inner
            assert got["c"].unwrap() == "inner", "the embedded cown lives"
        else:
            assert got == value, name
        assert c.unwrap() is None, name

    boom = Cown(0)

    @when(boom)
    def fails(boom):
        raise ValueError("from the body")

    settle()
    with pytest.raises(ValueError, match="from the body"):
        fails.unwrap()
    assert fails.unwrap() is None


def test_a_take_takes_only_what_starts_with_the_prefix_it_is_given():
    """unwrap's one-step take (acquire_begin with (empty, plain_prefix)):
    a value whose bytes start with the prefix comes back taken (no lease:
    the cown is released already, left holding `empty`); any other value
    is held, as acquire holds it. The prefix is the caller's."""
    from bocd import _runtime, _serial

    session = _runtime.session()
    empty = _serial.encode(None).data
    plain, other = Cown([1, "two"]), Cown("held")
    assert _serial.encode([1, "two"]).data.startswith(_serial.PLAIN_PREFIX)

    got = session.acquire_wait(session.acquire_begin(
        plain._id, (empty, _serial.PLAIN_PREFIX)), GUARD, False)
    assert isinstance(got, tuple)
    lease, (data, exc, error) = got
    assert lease is None, "taken, not held"
    assert _serial.loads(data) == [1, "two"] and not exc and not error
    assert plain.unwrap() is None, "the take left None"

    # A prefix the value does not start with: held until released.
    got = session.acquire_wait(session.acquire_begin(
        other._id, (empty, b"B")), GUARD, False)
    assert isinstance(got, tuple)
    lease, (data, _, _) = got
    assert lease is not None, "held, not taken"
    assert _serial.loads(data) == "held"
    session.release(lease, other._id, None, False, [], [])
    assert other.unwrap() == "held", "released unchanged"

    with pytest.raises(ValueError, match="plain prefix is empty"):
        session.acquire_begin(other._id, (empty, b""))
    # The refused request queued nothing: the next one is granted.
    got = session.acquire_wait(session.acquire_begin(
        other._id, (empty, _serial.PLAIN_PREFIX)), GUARD, False)
    assert isinstance(got, tuple) and got[0] is None


def test_unwrap_needs_only_that_cown(fifo):
    """Row 12: unwrap waits for its own cown, not for global quiescence."""
    gate, started = fifo("gate"), fifo("started")
    busy = Cown(0)

    @when(busy)
    def blocked(busy, gate=gate, started=started):
        announce_and_wait(started, gate, "running")
        return "done"

    got = []
    t = threading.Thread(target=lambda: got.append(blocked.unwrap()), daemon=True)
    with held_at_gate(started, gate) as note:
        assert note == "running"
        # A behavior is in flight, yet an unrelated cown unwraps.
        assert Cown("free").unwrap() == "free"
        # unwrap of the in-flight behavior's result waits for it.
        t.start()
    t.join(60)
    assert not t.is_alive()
    assert got == ["done"]
    settle()


def test_identity_equality_hashing_and_order():
    a, b = Cown(1), Cown(1)
    assert a == a
    assert a != b  # same value, different cowns
    assert hash(a) == hash(a)
    holder = Cown([a, b])
    with holder as v:
        a2, b2 = v
    assert a2 == a and b2 == b and a2 != b
    assert hash(a2) == hash(a) and hash(b2) == hash(b)
    assert {a, a2, b, b2} == {a, b}
    assert (a < b) != (b < a)
    cs = [Cown(i) for i in range(20)]
    once = sorted(cs)
    assert sorted(reversed(cs)) == once
    assert all(x < y for x, y in zip(once, once[1:]))


def test_handle_returned_from_behavior_equals_original():
    c = Cown(3)

    @when(c)
    def give(c):
        return c

    settle()
    h = give.unwrap()
    assert h == c
    assert hash(h) == hash(c)


def test_repr_shows_value_only_to_owner():
    c = Cown("sentinel-4711")
    assert "<not owner>" in repr(c)
    assert "sentinel-4711" not in repr(c)
    with c as v:
        assert "sentinel-4711" in repr(c)
        assert v == "sentinel-4711"
    assert "<not owner>" in str(c)


def test_cown_inside_cown():
    outer = Cown(Cown(3))

    @when(outer)
    def schedule_inner(o):
        inner = o.value
        assert flag(inner.acquired) is False  # nested handle is not acquired

        @when(inner)
        def double(i):
            i.value *= 2
            return i.value

        return double

    settle()
    assert schedule_inner.unwrap().unwrap() == 6
    with outer as inner:
        with inner as v:
            assert v == 6


def test_list_of_cowns_inside_a_value():
    parts = [Cown(i) for i in range(5)]
    box = Cown({"parts": parts})

    @when(box)
    def fan_out(box):
        for p in box.value["parts"]:

            @when(p)
            def bump(p):
                p.value += 10

    settle()
    assert fan_out.unwrap() is None
    assert [p.unwrap() for p in parts] == [10, 11, 12, 13, 14]


def test_cown_created_inside_a_behavior():
    @when()
    def make():
        return Cown({"made": os.getpid()})

    settle()
    h = make.unwrap()
    with h as v:
        assert v["made"] != os.getpid()


def test_cown_created_before_start_and_after_wait():
    c = Cown(1)  # the session may or may not be up: either way this works
    bocd.wait(timeout=60)
    d = Cown(2)

    @when(c, d)
    def add(c, d):
        return c.value + d.value

    settle()
    assert add.unwrap() == 3

"""Kept values (docs/protocol.md "Kept values"): a worker keeps the values
of the cowns it ran, so a dispatch leaves out bytes it holds, a body that
only reads sends nothing back, and a value that moved on is never used
stale. The daemon's per-worker counters (value_bytes_sent, values_held,
value_bytes_back) show what travelled."""

import os
import pickle
import threading

import pytest

from bocd import Cown, when
from conftest import (
    announce_and_wait,
    daemon_status,
    explain,
    fifo_read,
    fifo_write,
    private_env,
    run_python,
    settle,
)

COUNTERS = ("value_bytes_sent", "values_held", "value_bytes_back",
            "codes_held")


def _counters(socket: str) -> dict[str, int]:
    """The counters summed over the daemon's workers."""
    sessions = daemon_status(socket)["sessions"]
    return {k: sum(s[k] for s in sessions if s["role"] == "worker")
            for k in COUNTERS}


def _since(socket: str, before: dict[str, int]) -> dict[str, int]:
    now = _counters(socket)
    return {k: now[k] - before[k] for k in COUNTERS}


def test_a_chain_of_100_on_a_1mb_value_sends_it_once(bocd_daemon):
    settle()
    data = b"x" * 1_000_000
    c = Cown(data)
    before = _counters(bocd_daemon.socket)
    seen = []
    for _ in range(100):

        @when(c)
        def read(c):
            return len(c.value), os.getpid()

        seen.append(read)
    got = [r.unwrap() for r in seen]
    settle()
    assert {n for n, _ in got} == {1_000_000}
    assert len({pid for _, pid in got}) == 1, "the chain stays on one worker"
    moved = _since(bocd_daemon.socket, before)
    assert moved["value_bytes_sent"] == len(pickle.dumps(data, 5)), (
        "the value's bytes go to a worker once", moved)
    assert moved["values_held"] == 99, moved
    assert moved["value_bytes_back"] == 0, ("a read-only body returns no "
                                            "bytes", moved)
    assert moved["codes_held"] == 99, ("the body's code goes once", moved)


def test_a_body_that_changes_the_value_sends_it_back(bocd_daemon):
    settle()
    c = Cown(list(range(1000)))
    before = _counters(bocd_daemon.socket)

    @when(c)
    def grow(c):
        c.value.append(4)

    @when(c)
    def read(c):
        return list(c.value)

    assert read.unwrap() == [*range(1000), 4]
    settle()
    moved = _since(bocd_daemon.socket, before)
    assert moved["value_bytes_back"] > 0, moved
    assert moved["values_held"] == 1, "read runs over the object grow kept"


def test_a_body_that_raises_leaves_the_committed_value(bocd_daemon):
    settle()
    c = Cown(list(range(1000)))  # big enough to be kept

    @when(c)
    def warm(c):
        return sum(c.value)  # the worker keeps it

    @when(c)
    def raises(c):
        c.value.sort()  # read, unchanged, then
        raise ValueError("boom")

    @when(c)
    def spoils(c):
        # Changes the kept object in place to what cannot be pickled: the
        # cown keeps its committed value, and the worker must not run the
        # next body over this object.
        c.value.append(threading.Lock())

    @when(c)
    def after(c):
        return list(c.value)

    assert warm.unwrap() == sum(range(1000))
    with pytest.raises(ValueError):
        raises.unwrap()
    with pytest.raises(TypeError):  # a lock cannot be pickled
        spoils.unwrap()
    assert after.unwrap() == list(range(1000))


def test_a_body_that_raises_drops_its_kept_value_between_dispatches(
        bocd_daemon):
    """As above, but each behavior is scheduled once the one before has
    finished, so none is pipelined behind it: what drops the spoiled
    object is the keep rule (the completion names it dropped), not the
    hand-on to a successor."""
    settle()
    c = Cown(list(range(1000)))  # big enough to be kept

    @when(c)
    def warm(c):
        return sum(c.value)  # the worker keeps it

    assert warm.unwrap() == sum(range(1000))

    @when(c)
    def spoils(c):
        c.value.append(threading.Lock())  # in place, and unpicklable

    with pytest.raises(TypeError):  # a lock cannot be pickled
        spoils.unwrap()

    @when(c)
    def after(c):
        return list(c.value)

    assert after.unwrap() == list(range(1000))


def test_two_workers_alternating_on_a_cown_see_its_latest_value(
        bocd_daemon, fifo):
    """Each round the worker that last ran on `c` is kept busy, so the next
    behavior on `c` runs on the other one, which kept `c` two rounds ago:
    it must be sent the new value, not run over its old object."""
    settle()
    c = Cown(list(range(1000)))
    expected = list(range(1000))
    last = None
    ran_on = []
    for i in range(6):
        d = Cown(None)

        @when(c, d)
        def touch(c, d):
            return os.getpid()

        here = touch.unwrap()  # c and d last ran here
        if last is not None:
            assert here == last, "the next behavior on c goes where c is kept"
        started, gate = fifo(f"started-{i}"), fifo(f"gate-{i}")

        @when(d)
        def hold(d, started=started, gate=gate):
            announce_and_wait(started, gate)

        assert int(fifo_read(started)) == here  # d's worker, now busy
        try:

            @when(c)
            def step(c, i=i):
                seen = list(c.value)
                c.value.append(1000 + i)
                return seen, os.getpid()

            seen, pid = step.unwrap()
        finally:
            fifo_write(gate)
        hold.unwrap()
        assert pid != here, "the busy worker is not waited for"
        assert seen == expected, f"round {i}: a stale value"
        expected.append(1000 + i)
        ran_on.append(pid)
        last = pid
    assert len(set(ran_on)) == 2, "both workers ran on c"

    @when(c)
    def final(c):
        return list(c.value)

    assert final.unwrap() == expected


def test_a_replaced_immutable_value_is_sent_back(bocd_daemon):
    """An immutable value that is still the object decoded is unchanged
    without pickling it again; any other object is written back, even an
    equal one's replacement by None before it was ever read."""
    c = Cown(b"a" * 2000)

    @when(c)
    def keep(c):
        return len(c.value)  # the object decoded: unchanged

    @when(c)
    def replace(c):
        c.value = c.value + b"b"  # a new object

    @when(c)
    def blind(c):
        c.value = None  # never read first

    @when(c)
    def after(c):
        return c.value

    assert keep.unwrap() == 2000
    replace.unwrap()
    blind.unwrap()
    assert after.unwrap() is None


EVICTING = """
import bocd
from bocd import Cown, when

cowns = [Cown(list(range(400 * k))) for k in range(1, 9)]
expected = [list(range(400 * k)) for k in range(1, 9)]
steps = []
for r in range(40):
    k = (r * 5) % 8
    # A new code object every few steps, so codes are evicted too.
    src = f"def step(c, r={r}):\\n    c.value.append(r % {3 + r % 4})\\n"
    scope = {}
    exec(src, scope)
    steps.append(when(cowns[k])(scope["step"]))
    expected[k].append(r % (3 + r % 4))
    @when(cowns[k])
    def look(c, k=k):
        return list(c.value)
    steps.append(look)
    assert look.unwrap() == expected[k], (r, k)
ws = [w["session"] for w in bocd.runtime_stats()["workers"]]
held = sum(w["values_held"] for w in ws)
sent = sum(w["value_bytes_sent"] for w in ws)
codes = sum(w["codes_held"] for w in ws)
# Some values and codes were held, and evicted ones were sent again.
assert held > 0 and codes > 0 and sent > 2 * sum(
    len(__import__("pickle").dumps(list(range(400 * k)), 5)) for k in range(1, 9)
) / 8, (held, codes, sent)
print("ok")
"""


def test_values_and_codes_evicted_all_the_time_are_never_stale(tmp_path):
    """Workers whose budget holds a few values: the daemon evicts values
    and codes at nearly every dispatch, and every behavior still sees its
    cown's latest value and runs its own code."""
    env = {**private_env(tmp_path), "BOCD_VALUE_CACHE_BYTES": "12000",
           "BOCD_WORKERS": "2"}
    p = run_python(EVICTING, env, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "ok", explain(p)

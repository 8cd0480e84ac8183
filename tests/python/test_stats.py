"""wait(stats=True) (API.md 4.5): one dict per worker (WORKER_COUNT, which
conftest sets to 2 through BOCD_WORKERS), exactly the 14 documented keys,
int values, and pushed_* counters covering every behavior scheduled."""

import threading

import bocd
from bocd import Cown, quiesce, wait, when
from conftest import STAT_KEYS, GUARD, increment

PUSHED = ("pushed_local", "dispatched_to_pending", "pushed_remote")


def pushed(stats) -> int:
    return sum(d[k] for d in stats for k in PUSHED)


def check_shape(stats):
    assert isinstance(stats, list)
    assert bocd.WORKER_COUNT == 2
    assert len(stats) == bocd.WORKER_COUNT
    for d in stats:
        assert isinstance(d, dict)
        assert set(d) == STAT_KEYS, set(d) ^ STAT_KEYS
        assert len(d) == 14
        assert all(type(v) is int and v >= 0 for v in d.values()), d
    assert sorted(d["worker_index"] for d in stats) == [0, 1]


def test_wait_stats_shape_and_pushed_counts():
    wait(timeout=GUARD)  # end whatever runtime earlier tests left up
    cs = [Cown(i) for i in range(25)]
    n = 0
    for c in cs:

        @when(c)
        def inc(c):
            c.value += 1

        n += 1

    @when(cs)
    def total(cs):
        return sum(c.value for c in cs)

    n += 1

    @when()
    def free():
        return "free"

    n += 1
    stats = wait(timeout=GUARD, stats=True)
    check_shape(stats)
    assert pushed(stats) >= n, (n, stats)
    # Scheduled from the main thread: counted under pushed_remote.
    assert sum(d["pushed_remote"] for d in stats) >= n, (n, stats)
    assert total.unwrap() == sum(range(1, 26))


def test_wait_stats_count_behaviors_from_other_threads():
    wait(timeout=GUARD)
    c = Cown(0)
    per_thread, threads = 20, 3

    ts = [
        threading.Thread(target=increment, args=(c, per_thread))
        for _ in range(threads)
    ]
    for t in ts:
        t.start()
    for t in ts:
        t.join(GUARD)
        assert not t.is_alive()
    stats = wait(timeout=GUARD, stats=True)
    check_shape(stats)
    assert pushed(stats) >= per_thread * threads, stats
    assert c.unwrap() == per_thread * threads


def test_quiesce_stats_are_monotonic_within_a_runtime():
    wait(timeout=GUARD)
    c = Cown(0)
    increment(c, 10)
    first = quiesce(timeout=GUARD, stats=True)
    check_shape(first)
    assert pushed(first) >= 10
    increment(c, 15)
    second = wait(timeout=GUARD, stats=True)
    check_shape(second)
    assert pushed(second) >= pushed(first) + 15, (first, second)
    by_index = {d["worker_index"]: d for d in first}
    for d in second:
        before = by_index[d["worker_index"]]
        for k in STAT_KEYS - {"worker_index", "last_steal_attempt_ns"}:
            assert d[k] >= before[k], (k, before, d)
    assert c.unwrap() == 25


def test_wait_stats_count_nested_behaviors():
    """API.md 4.5: the pushed_* sum is at least the number of behaviors
    scheduled, and behaviors scheduled inside a behavior count too (under
    dispatched_to_pending or pushed_local)."""
    wait(timeout=GUARD)
    c = Cown(0)
    for _ in range(10):

        @when(c)
        def outer(c):
            @when(c)
            def inner(c):
                c.value += 1

    stats = wait(timeout=GUARD, stats=True)
    check_shape(stats)
    assert c.unwrap() == 10
    assert pushed(stats) >= 20, stats

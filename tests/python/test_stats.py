"""wait(stats=True): one dict per worker (WORKER_COUNT, which conftest
sets to 2 through BOCD_WORKERS), exactly the 14 keys bocpy has (the stats
row of the table "Compatibility with bocpy 0.14" in docs/python.md), int
values, and pushed_* counters covering every behavior scheduled."""

import json
import os
import pathlib
import re
import threading

import bocd
from bocd import Cown, quiesce, wait, when
from conftest import STAT_KEYS, GUARD, bocd_cli, increment

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
    """The pushed_* sum is at least the number of behaviors scheduled, and
    behaviors scheduled inside a behavior count too (under
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


NOTED: list[int] = []  # pinned bodies run here, on the main thread


def worker_runs(s) -> int:
    return sum(w["behaviors_run"] for w in s["workers"])


def worker_busy(s) -> float:
    return sum(w["busy_s"] for w in s["workers"])


def test_runtime_stats_count_worker_runs_and_pinned_dispatches():
    wait(timeout=GUARD)
    # Workers start with a program's first pool behavior: none yet when
    # this test runs first.
    before = bocd.runtime_stats()
    assert before["main"]["pinned_depth"] == 0
    cs = [Cown(i) for i in range(30)]
    for c in cs:

        @when(c)
        def bump(c):
            c.value += 1

    p = bocd.PinnedCown(None)
    for i in range(5):

        @when(p)
        def note(p, i=i):
            NOTED.append(i)

    # Wait until the daemon has routed the first pinned behavior here,
    # without running it: the main thread is its only executor.
    assert bocd._runtime.session().wait_or_pinned(GUARD) != 0
    queued = bocd.runtime_stats()
    assert queued["main"]["pinned_depth"] == 1, queued["main"]
    assert queued["main"]["pinned_dispatched"] == (
        before["main"]["pinned_dispatched"] + 1)
    quiesce(timeout=GUARD)
    after = bocd.runtime_stats()
    # The pool's workers (2 in these tests), as many as had work at once.
    assert 1 <= len(after["workers"]) <= 2, after
    assert worker_runs(after) - worker_runs(before) == 30, (before, after)
    assert worker_busy(after) > worker_busy(before)
    assert all(w["running"] == 0 for w in after["workers"]), after
    for w in after["workers"]:  # a worker that has run one has a mean
        if w["behaviors_run"] > 0:
            assert w["mean_run_s"] is not None and w["mean_run_s"] >= 0, w
    assert after["main"]["pinned_dispatched"] - (
        before["main"]["pinned_dispatched"]) == 5
    assert after["main"]["behaviors_run"] - before["main"]["behaviors_run"] == 5
    assert after["main"]["pinned_depth"] == 0
    assert after["queued"] == 0
    assert NOTED == [0, 1, 2, 3, 4]
    assert [c.unwrap() for c in cs] == list(range(1, 31))


def test_quiesce_stats_popped_local_counts_each_workers_runs():
    wait(timeout=GUARD)
    c = Cown(0)
    increment(c, 1)
    first = quiesce(timeout=GUARD, stats=True)
    increment(c, 12)
    second = quiesce(timeout=GUARD, stats=True)
    check_shape(second)
    ran = sum(d["popped_local"] for d in second) - sum(
        d["popped_local"] for d in first)
    assert ran == 12, (first, second)
    assert c.unwrap() == 13


def test_cli_quiesce_stats_json_reports_each_worker(bocd_daemon):
    c = Cown(0)
    increment(c, 7)
    quiesce(timeout=GUARD)
    p = bocd_cli("quiesce", "--stats", "--json", "--socket", bocd_daemon.socket)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["quiesced"] is True
    status = out["status"]
    assert status["queued"] == 0 and status["in_flight"] == 0
    workers = [s for s in status["sessions"] if s["role"] == "worker"]
    assert len(workers) == 2
    for w in workers:
        assert set(w) >= {"ran", "running", "busy_ms", "pinned_dispatched",
                          "pinned_depth", "mean_run_us"}, w
        assert w["running"] == 0 and w["pinned_depth"] == 0
        assert (w["mean_run_us"] >= 0) == (w["ran"] > 0), w
    assert sum(w["ran"] for w in workers) >= 7
    assert sum(w["busy_ms"] for w in workers) > 0
    assert c.unwrap() == 7


def schema_session_fields() -> list[str]:
    """The fields of the schema's SessionInfo, read from the schema."""
    schema = (pathlib.Path(__file__).resolve().parents[2]
              / "proto" / "schema" / "bocd.fbs").read_text()
    body = schema.split("table SessionInfo {", 1)[1].split("}", 1)[0]
    body = re.sub(r"//[^\n]*", "", body)
    return re.findall(r"([a-z_0-9]+)\s*:", body)


def test_runtime_stats_carry_every_field_of_the_schemas_session_record():
    fields = schema_session_fields()
    assert len(fields) >= 12
    assert set(bocd._core.SESSION_FIELDS) == set(fields)
    c = Cown(0)
    increment(c, 3)
    quiesce(timeout=GUARD)
    stats = bocd.runtime_stats()
    assert stats["workers"], stats
    for record in [stats["main"]["session"]] + [
            w["session"] for w in stats["workers"]]:
        assert set(record) >= set(fields), record
    assert stats["main"]["session"]["pid"] == os.getpid()
    assert c.unwrap() == 3

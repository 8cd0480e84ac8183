"""Shared-memory blobs (docs/python.md "Values"): pickle-5 out-of-band
buffers >= 64 KiB and pickle streams >= 1 MiB live in POSIX shared-memory
objects /dev/shm/bocd-<daemon instance>-<session>-<random>, reused in place
by the cown they were read for, and unlinked by the daemon once no value names
them.

Listings of /dev/shm are compared before and after each step. Only blobs of
the daemon this process uses count (the name embeds its instance), so blobs
of unrelated programs on the machine do not matter.
"""

import gc
import os
import pickle
import textwrap
import threading

import numpy as np
import pytest

from bocd import Cown, when
from conftest import explain, increment, private_env, run_python, settle

SHM = "/dev/shm"
BIG_N = 10_000_000  # int64: 80 MB, above the daemon's 64 MiB frame limit


def shm_bocd() -> set[str]:
    try:
        return {n for n in os.listdir(SHM) if n.startswith("bocd-")}
    except OSError:
        return set()


def instance_prefix() -> str:
    """"bocd-<instance>-" of the daemon this process is connected to."""
    from bocd import _serial
    return _serial.blob_prefix()[:len("bocd-") + 16 + 1]


def new_blobs(before: set[str], daemon) -> set[str]:
    """Blobs of this process's daemon made since `before` (by this process
    or the daemon's workers; not the daemon's lock)."""
    prefix = instance_prefix()
    return {n for n in shm_bocd() - before
            if n.startswith(prefix) and not n.endswith("-lock")}


def make_up():
    """Makes sure the runtime is up, so quiesce() really synchronises."""

    @when()
    def noop():
        return None


# ---------------------------------------------------------------- big arrays


def test_80mb_array_round_trips_and_updates_in_place(bocd_daemon):
    arr = np.arange(BIG_N, dtype=np.int64)
    assert arr.nbytes > 64 * 1024 * 1024
    c = Cown(arr)
    settle()
    with c as v:
        assert isinstance(v, np.ndarray) and v.dtype == np.int64
        assert v.shape == (BIG_N,)
        assert np.array_equal(v, arr)

    increment(c, 3)

    @when(c)
    def check(c):
        v = c.value
        return int(v[0]), int(v[-1]), int(v.sum()), v.shape

    settle()
    n = BIG_N
    assert check.unwrap() == (3, n + 2, n * (n - 1) // 2 + 3 * n, (n,))
    out = c.unwrap()
    assert np.array_equal(out, arr + 3)
    # The test's own array was snapshotted, not shared.
    assert arr[0] == 0 and arr[-1] == n - 1


def test_in_place_updates_keep_one_blob(bocd_daemon):
    make_up()
    settle()
    before = shm_bocd()
    c = Cown(np.zeros(1_000_000, dtype=np.float64))  # 8 MB
    settle()
    first = new_blobs(before, bocd_daemon)
    assert len(first) == 1, first

    for i in range(5):

        @when(c)
        def inc(c):
            c.value += 1.0

        settle()
        now = new_blobs(before, bocd_daemon)
        assert now == first, f"after in-place behavior {i + 1}: {now} != {first}"

    # The program side reads a private copy (it may keep the value after
    # release), so writing it back makes one new blob in place of the old.
    with c as v:
        assert float(v[0]) == 5.0 and float(v[-1]) == 5.0
        v *= 2
    settle()
    after_main = new_blobs(before, bocd_daemon)
    assert len(after_main) == 1 and after_main != first, after_main

    @when(c)
    def total(c):
        return float(c.value.sum())

    settle()
    assert total.unwrap() == 10.0 * 1_000_000
    assert new_blobs(before, bocd_daemon) == after_main


# ---------------------------------------------------------------- reclaim


def test_overwritten_blob_is_unlinked(bocd_daemon):
    make_up()
    settle()
    before = shm_bocd()
    c = Cown(np.arange(100_000, dtype=np.int64))  # 800 KB, out of band
    settle()
    names = new_blobs(before, bocd_daemon)
    assert len(names) == 1, names

    @when(c)
    def shrink(c):
        c.value = 0

    settle()
    assert not (names & shm_bocd()), f"{names} still in {SHM}"
    assert new_blobs(before, bocd_daemon) == set()
    assert c.unwrap() == 0


def test_blob_unlinked_when_overwritten_on_main(bocd_daemon):
    make_up()
    settle()
    before = shm_bocd()
    c = Cown(np.ones(50_000))  # 400 KB
    settle()
    names = new_blobs(before, bocd_daemon)
    assert len(names) == 1, names
    c.acquire()
    assert float(c.value.sum()) == 50_000.0
    c.value = "small"
    c.release()
    settle()
    assert not (names & shm_bocd())
    assert c.unwrap() == "small"


def test_blob_unlinked_when_its_cown_is_freed(bocd_daemon):
    make_up()
    settle()
    before = shm_bocd()
    c = Cown(np.ones(50_000))
    settle()
    names = new_blobs(before, bocd_daemon)
    assert len(names) == 1, names
    del c
    gc.collect()
    make_up()
    settle()
    assert not (names & shm_bocd()), f"{names} outlived their cown"


def test_result_blob_unlinked_after_unwrap(bocd_daemon):
    make_up()
    settle()
    c = Cown(np.arange(200_000, dtype=np.int64))
    settle()
    before = shm_bocd()

    @when(c)
    def doubled(c):
        return c.value * 2

    settle()
    made = new_blobs(before, bocd_daemon)
    assert len(made) == 1, made  # the result's own copy
    out = doubled.unwrap()
    assert np.array_equal(out, np.arange(200_000, dtype=np.int64) * 2)
    settle()
    assert not (made & shm_bocd())
    # The source cown is untouched by the result's lifetime.
    assert np.array_equal(c.unwrap(), np.arange(200_000, dtype=np.int64))


# ---------------------------------------------------------------- isolation


def test_copied_value_is_isolated_from_in_place_update():
    base = np.arange(300_000, dtype=np.int64)
    a = Cown(base)
    b = Cown(None)

    @when(a, b)
    def copy(a, b):
        b.value = a.value

    for _ in range(2):

        @when(a)
        def inc(a):
            a.value += 1

    settle()
    assert np.array_equal(a.unwrap(), base + 2)
    assert np.array_equal(b.unwrap(), base)


def test_swapped_values_are_isolated():
    x0 = np.full(100_000, 7, dtype=np.int32)
    y0 = np.full(100_000, 9, dtype=np.int32)
    a, b = Cown(x0), Cown(y0)

    @when(a, b)
    def swap(a, b):
        a.value, b.value = b.value, a.value

    @when(a)
    def inc_a(a):
        a.value += 100

    @when(b)
    def inc_b(b):
        b.value += 1000

    settle()
    assert np.array_equal(a.unwrap(), y0 + 100)
    assert np.array_equal(b.unwrap(), x0 + 1000)


def test_value_kept_after_release_is_not_changed_by_later_behaviors():
    """A value read on the main side is the program's own object once the
    cown is released (as in bocpy): later in-place updates by behaviors must
    not change it under the program's feet."""
    c = Cown(np.zeros(200_000, dtype=np.int64))
    with c as v:
        kept = v
    assert int(kept.sum()) == 0

    @when(c)
    def inc(c):
        c.value += 1

    settle()
    assert int(kept.sum()) == 0, "a released value changed after release"
    assert int(c.unwrap().sum()) == 200_000


def test_failed_write_back_keeps_previous_array():
    """A value that cannot be pickled becomes the result's exception and
    the cown keeps its previous value (the array, not the unpicklable
    tuple). An update the body made in place to a shared-memory buffer is
    not copied, so it cannot be rolled back and stays, as writes before a
    raise do (docs/python.md "Values")."""
    c = Cown(np.zeros(100_000, dtype=np.int64))

    @when(c)
    def bad(c):
        v = c.value
        v += 1
        c.value = (v, threading.Lock())

    settle()
    with pytest.raises(TypeError):
        bad.unwrap()
    kept = c.unwrap()
    assert isinstance(kept, np.ndarray)  # not the tuple
    assert int(kept.sum()) == 100_000    # the in-place += 1 stayed


# ---------------------------------------------------------------- big streams


def test_large_bytes_round_trip(bocd_daemon):
    make_up()
    settle()
    before = shm_bocd()
    data = os.urandom(2_000_000)
    c = Cown(data)
    settle()
    assert len(new_blobs(before, bocd_daemon)) == 1  # travelled in a blob
    with c as v:
        assert v == data

    @when(c)
    def rev(c):
        c.value = c.value[::-1]
        return len(c.value)

    settle()
    assert rev.unwrap() == 2_000_000
    assert c.unwrap() == data[::-1]
    settle()
    assert new_blobs(before, bocd_daemon) == set()


def test_large_list_round_trip(bocd_daemon):
    items = [f"item-{i}" for i in range(150_000)]
    assert len(pickle.dumps(items, protocol=5)) > 1 << 20
    make_up()
    settle()
    before = shm_bocd()
    c = Cown(items)
    settle()
    assert len(new_blobs(before, bocd_daemon)) == 1

    @when(c)
    def grow(c):
        c.value.append("last")
        return len(c.value), c.value[0], c.value[-2]

    settle()
    assert grow.unwrap() == (150_001, "item-0", "item-149999")
    assert c.unwrap() == items + ["last"]
    settle()
    assert new_blobs(before, bocd_daemon) == set()


# ---------------------------------------------------------------- private daemon


CHILD = textwrap.dedent(
    """\
    import os, sys
    import numpy as np
    import bocd
    from bocd import Cown, when
    from bocd import _runtime, _serial

    a = Cown(np.arange(4_000_000, dtype=np.int64))   # 32 MB
    b = Cown(None)
    for _ in range(3):
        @when(a)
        def inc(a):
            a.value += 1

    @when(a, b)
    def copy(a, b):
        b.value = a.value
        return os.getpid()

    @when(a)
    def big_result(a):
        return a.value * 2

    text = Cown(b"x" * 3_000_000)
    bocd.quiesce()
    with b as v:
        assert int(v[0]) == 3, v[0]
    # "bocd-<instance>-": the private daemon's blobs and its lock.
    instance = _serial.blob_prefix()[:len("bocd-") + 16 + 1]
    live = [n for n in os.listdir("/dev/shm") if n.startswith(instance)]
    print("DAEMON", _runtime.private_daemon().pid, flush=True)
    print("INSTANCE", instance, flush=True)
    print("LIVE", *live, flush=True)
    """
)


@pytest.mark.parametrize("ending", ["wait", "exit", "raise"])
def test_private_daemon_leaves_no_blob(tmp_path, bocd_daemon, ending):
    tail = {
        "wait": "bocd.wait()\n",
        "exit": "",
        "raise": "raise RuntimeError('boom at exit')\n",
    }[ending]
    p = run_python(CHILD + tail, private_env(tmp_path), cwd=tmp_path)
    assert p.returncode == (1 if ending == "raise" else 0), explain(p)
    lines = {l.split(" ", 1)[0]: l.split()[1:] for l in p.stdout.splitlines()}
    assert {"DAEMON", "INSTANCE", "LIVE"} <= lines.keys(), explain(p)
    instance = lines["INSTANCE"][0]
    live = set(lines["LIVE"])
    assert int(lines["DAEMON"][0]) != bocd_daemon.pid
    # a, b, big_result and text each hold one blob while the program runs
    # (and the daemon's instance lock is there too).
    assert len(live) >= 5, explain(p)
    left = shm_bocd()
    assert not (live & left), f"left behind: {live & left}"
    assert {n for n in left if n.startswith(instance)} == set(), \
        "the daemon's blobs and lock go with it"

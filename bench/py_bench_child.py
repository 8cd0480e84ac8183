"""Workloads W1-W6 of the Python benchmark, for one peer, in this process.

Run by bench/py_bench.py, one process per (peer, worker count); not meant to
be run by hand, though it can be:

    python bench/py_bench_child.py bocd --workloads W1,W3 --n 0.1 --workers 2

It prints one line per workload, ``RESULT {json}``. Setup (creating cowns,
pools, clusters, warming workers up) and checks are outside the timed part.

The top level imports the standard library only: bocpy's workers re-import
this script's top-level definitions, and the bocpy peer runs in a separate
virtual environment that has no bocd, dask or pytest.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
import traceback

ACCOUNTS = 100
OPENING_BALANCE = 1000
W6_BYTES = int(os.environ.get("PY_BENCH_W6_MB", "100")) * 1000 * 1000
SEED = 20240601


# ---------------------------------------------------------------- helpers

def spin(iters: int) -> int:
    """Pure-Python CPU work; the driver calibrates ``iters`` to about 5 ms."""
    x = 0
    for i in range(iters):
        x += i & 7
    return x


def make_transfers(count: int) -> list:
    """The same random (src, dst, amount) list for every peer."""
    rng = random.Random(SEED)
    out = []
    for _ in range(count):
        src, dst = rng.sample(range(ACCOUNTS), 2)
        out.append((src, dst, rng.randint(1, 50)))
    return out


def result(workload, n, seconds, ok, check, **extra) -> dict:
    """One workload's outcome, as the driver reads it."""
    return dict(workload=workload, n=n, seconds=seconds, ok=bool(ok),
                check=check, **extra)


def latency_result(n, lat, ok, check) -> dict:
    """W4's outcome: median and p99 of per-call latencies, in microseconds."""
    lat = sorted(lat)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    return result("W4", n, sum(lat), ok, check,
                  median_us=statistics.median(lat) * 1e6, p99_us=p99 * 1e6,
                  samples_us=[round(x * 1e6, 2) for x in lat])


# ------------------------------------------------- bocd and bocpy (one API)

def boc_sum(boc, cowns, chunk=500) -> int:
    """Sum the int values of ``cowns`` with a few group behaviors (untimed)."""
    parts = []
    for i in range(0, len(cowns), chunk):
        @boc.when(cowns[i:i + chunk])
        def part(group):
            return sum(c.value for c in group)
        parts.append(part)
    boc.quiesce()
    return sum(p.unwrap() for p in parts)


def boc_warmup(boc, workers):
    """Run a few behaviors on every worker so none is cold when timed."""
    cowns = [boc.Cown(0) for _ in range(8 * workers)]
    for c in cowns:
        @boc.when(c)
        def warm(c):
            c.value = spin(20000)
    boc.quiesce()


def boc_w1(boc, n, args):
    """W1: n independent behaviors, each incrementing its own counter."""
    counters = [boc.Cown(0) for _ in range(n)]
    t0 = time.perf_counter()
    for c in counters:
        @boc.when(c)
        def inc(c):
            c.value += 1
    boc.quiesce()
    seconds = time.perf_counter() - t0
    total = boc_sum(boc, counters)
    return result("W1", n, seconds, total == n, f"sum {total} of {n}")


def boc_w2(boc, n, args):
    """W2: n behaviors on one cown; each checks it runs after its predecessor."""
    state = boc.Cown({"next": 0, "out_of_order": 0})
    t0 = time.perf_counter()
    for i in range(n):
        @boc.when(state)
        def step(s, i=i):
            v = s.value
            if v["next"] != i:
                v["out_of_order"] += 1
            v["next"] = i + 1
    boc.quiesce()
    seconds = time.perf_counter() - t0
    with state as v:
        ok = v["next"] == n and v["out_of_order"] == 0
        check = f"in order ({v['out_of_order']} out of order)"
    return result("W2", n, seconds, ok, check)


def boc_w3(boc, n, args):
    """W3: n transfers between random pairs of accounts, atomic on both."""
    accounts = [boc.Cown(OPENING_BALANCE) for _ in range(ACCOUNTS)]
    transfers = make_transfers(n)
    t0 = time.perf_counter()
    for src, dst, amount in transfers:
        @boc.when(accounts[src], accounts[dst])
        def transfer(a, b, amount=amount):
            if a.value >= amount:
                a.value -= amount
                b.value += amount
    boc.quiesce()
    seconds = time.perf_counter() - t0
    total = boc_sum(boc, accounts)
    expected = ACCOUNTS * OPENING_BALANCE
    return result("W3", n, seconds, total == expected,
                  f"total {total} conserved" if total == expected
                  else f"total {total} != {expected}")


def boc_w4(boc, n, args):
    """W4: schedule one behavior and read its result, n times in sequence."""
    c = boc.Cown(0)
    lat = []
    value = None
    for _ in range(n):
        t0 = time.perf_counter()

        @boc.when(c)
        def bump(c):
            c.value += 1
            return c.value
        boc.quiesce()
        value = bump.unwrap()
        lat.append(time.perf_counter() - t0)
    return latency_result(n, lat, value == n, f"last result {value} of {n}")


def boc_w5(boc, n, args):
    """W5: n behaviors of about 5 ms of pure-Python CPU each."""
    cowns = [boc.Cown(0) for _ in range(n)]
    t0 = time.perf_counter()
    for c in cowns:
        @boc.when(c)
        def work(c, iters=args.spin_iters):
            c.value = spin(iters)
    boc.quiesce()
    seconds = time.perf_counter() - t0
    done = boc_sum(boc, cowns) == n * spin(args.spin_iters)
    return result("W5", n, seconds, done, "all results right" if done
                  else "wrong results")


def w6_array(boc):
    """100 MB of float64 zeros: numpy, or bocpy.Matrix for bocpy.

    numpy cannot be imported in sub-interpreters, so bocpy gets its own
    native array type, which moves between interpreters without a copy.
    """
    if boc.__name__ == "bocpy":
        return boc.Matrix.zeros((W6_BYTES // 8 // 1000, 1000))
    import numpy as np
    return np.zeros(W6_BYTES // 8)


def boc_w6(boc, n, args):
    """W6: a 100 MB array in a cown, += 1 in place by n behaviors."""
    c = boc.Cown(w6_array(boc))
    t0 = time.perf_counter()
    for _ in range(n):
        @boc.when(c)
        def add(c):
            c.value += 1.0
    boc.quiesce()
    seconds = time.perf_counter() - t0
    with c as arr:
        ok = float(arr.min()) == n and float(arr.max()) == n
        check = f"every element {n}" if ok else f"min {arr.min()} max {arr.max()}"
    return result("W6", n, seconds, ok, check,
                  gbps=n * W6_BYTES / seconds / 1e9)


BOC_WORKLOADS = dict(W1=boc_w1, W2=boc_w2, W3=boc_w3, W4=boc_w4, W5=boc_w5,
                     W6=boc_w6)


def open_bocd(workers):
    """Start a private bocd daemon with ``workers`` workers and attach to it.

    Returns the module, a function that stops the daemon and one that returns
    the tail of its log.
    """
    from bocd._daemon import Daemon
    extra = tuple(os.environ.get("PY_BENCH_BOCD_ARGS", "").split())
    daemon = Daemon(socket_path=None, workers=workers, log_file=None,
                    extra_args=extra)
    daemon.start()
    os.environ["BOCD_SOCKET"] = str(daemon.socket)
    import bocd
    return bocd, daemon.stop, daemon.log_tail


def open_bocpy(workers):
    """Start bocpy's runtime with ``workers`` sub-interpreters."""
    import bocpy
    bocpy.start(worker_count=workers)
    return bocpy, lambda: None, lambda: ""


def run_boc(peer, args, emit):
    """Run the chosen workloads on bocd or bocpy."""
    boc, close, log_tail = (open_bocd if peer == "bocd" else open_bocpy)(
        args.workers)
    failed = False
    try:
        boc_warmup(boc, args.workers)
        for name in args.workloads:
            out = emit(name, lambda: BOC_WORKLOADS[name](
                boc, args.sizes[name], args))
            failed = failed or "error" in out
        boc.wait()
    except Exception:
        failed = True
        raise
    finally:
        if failed:
            sys.stderr.write(f"--- {peer} log tail:\n{log_tail()}\n")
        close()


# ------------------------------- multiprocessing.Pool and ProcessPoolExecutor

_G = {}  # per-worker-process state set by _init (shared memory, locks)


def _init(kind, *shared):
    """Pool initializer: keep the shared objects a workload needs."""
    _G.clear()
    _G["kind"] = kind
    if kind == "bank":
        _G["balances"], _G["locks"] = shared
    elif kind == "array":
        import numpy as np
        from multiprocessing import shared_memory
        shm = shared_memory.SharedMemory(name=shared[0])
        _G["shm"] = shm
        _G["array"] = np.ndarray((W6_BYTES // 8,), dtype=np.float64,
                                 buffer=shm.buf)


def _inc(x):
    return x + 1


def _step(state, i):
    nxt, bad = state
    return (i + 1, bad + (nxt != i))


def _transfer(src, dst, amount):
    balances, locks = _G["balances"], _G["locks"]
    first, second = sorted((src, dst))
    with locks[first], locks[second]:
        if balances[src] >= amount:
            balances[src] -= amount
            balances[dst] += amount


def _add_one():
    _G["array"] += 1.0


def _warm(_):
    return spin(20000)


class PoolAdapter:
    """multiprocessing.Pool with the submit/result/call surface used here."""

    def __init__(self, workers, initializer=None, initargs=()):
        import multiprocessing
        self.pool = multiprocessing.Pool(workers, initializer, initargs)

    def submit(self, fn, *a):
        return self.pool.apply_async(fn, a)

    @staticmethod
    def result(fut):
        return fut.get()

    def call(self, fn, *a):
        return self.pool.apply(fn, a)

    def close(self):
        self.pool.close()
        self.pool.join()


class PPEAdapter:
    """concurrent.futures.ProcessPoolExecutor with the same surface."""

    def __init__(self, workers, initializer=None, initargs=()):
        from concurrent.futures import ProcessPoolExecutor
        self.ex = ProcessPoolExecutor(workers, initializer=initializer,
                                      initargs=initargs)

    def submit(self, fn, *a):
        return self.ex.submit(fn, *a)

    @staticmethod
    def result(fut):
        return fut.result()

    def call(self, fn, *a):
        return self.ex.submit(fn, *a).result()

    def close(self):
        self.ex.shutdown()


def warmed(adapter_cls, workers, initializer=None, initargs=()):
    """An adapter whose worker processes have all started and run a task."""
    ex = adapter_cls(workers, initializer, initargs)
    for f in [ex.submit(_warm, i) for i in range(8 * workers)]:
        ex.result(f)
    return ex


def pool_w1(ex, n, args):
    """W1: n independent tasks, each returning its counter plus one."""
    t0 = time.perf_counter()
    futs = [ex.submit(_inc, 0) for _ in range(n)]
    total = sum(ex.result(f) for f in futs)
    seconds = time.perf_counter() - t0
    return result("W1", n, seconds, total == n, f"sum {total} of {n}")


def pool_w2(ex, n, args):
    """W2: n steps on one state, in order: each waits for the previous one."""
    state = (0, 0)
    t0 = time.perf_counter()
    for i in range(n):
        state = ex.call(_step, state, i)
    seconds = time.perf_counter() - t0
    ok = state == (n, 0)
    return result("W2", n, seconds, ok, f"in order ({state[1]} out of order)")


def pool_w4(ex, n, args):
    """W4: submit one task and wait for its result, n times in sequence."""
    lat = []
    value = 0
    for _ in range(n):
        t0 = time.perf_counter()
        value = ex.call(_inc, value)
        lat.append(time.perf_counter() - t0)
    return latency_result(n, lat, value == n, f"last result {value} of {n}")


def pool_w5(ex, n, args):
    """W5: n tasks of about 5 ms of pure-Python CPU each."""
    t0 = time.perf_counter()
    futs = [ex.submit(spin, args.spin_iters) for _ in range(n)]
    done = sum(ex.result(f) for f in futs) == n * spin(args.spin_iters)
    seconds = time.perf_counter() - t0
    return result("W5", n, seconds, done, "all results right" if done
                  else "wrong results")


def pool_w3(adapter_cls, n, args):
    """W3: shared-memory balances, one lock per account, taken in order."""
    import multiprocessing
    balances = multiprocessing.RawArray("q", [OPENING_BALANCE] * ACCOUNTS)
    locks = [multiprocessing.Lock() for _ in range(ACCOUNTS)]
    ex = warmed(adapter_cls, args.workers, _init, ("bank", balances, locks))
    try:
        t0 = time.perf_counter()
        futs = [ex.submit(_transfer, *t) for t in make_transfers(n)]
        for f in futs:
            ex.result(f)
        seconds = time.perf_counter() - t0
    finally:
        ex.close()
    total = sum(balances)
    expected = ACCOUNTS * OPENING_BALANCE
    return result("W3", n, seconds, total == expected,
                  f"total {total} conserved" if total == expected
                  else f"total {total} != {expected}")


def pool_w6(adapter_cls, n, args):
    """W6: the array in shared memory; n tasks add 1 in place, in sequence."""
    import numpy as np
    from multiprocessing import shared_memory
    shm = shared_memory.SharedMemory(create=True, size=W6_BYTES)
    try:
        arr = np.ndarray((W6_BYTES // 8,), dtype=np.float64, buffer=shm.buf)
        arr[:] = 0.0
        ex = warmed(adapter_cls, args.workers, _init, ("array", shm.name))
        try:
            t0 = time.perf_counter()
            for _ in range(n):
                ex.call(_add_one)
            seconds = time.perf_counter() - t0
        finally:
            ex.close()
        ok = float(arr.min()) == n and float(arr.max()) == n
        check = f"every element {n}" if ok else f"min {arr.min()} max {arr.max()}"
        del arr
    finally:
        shm.close()
        shm.unlink()
    return result("W6", n, seconds, ok, check,
                  gbps=n * W6_BYTES / seconds / 1e9)


def run_pool(peer, args, emit):
    """Run the chosen workloads on multiprocessing.Pool or the executor."""
    adapter_cls = PoolAdapter if peer == "pool" else PPEAdapter
    shared = [w for w in args.workloads if w in ("W1", "W2", "W4", "W5")]
    if shared:
        ex = warmed(adapter_cls, args.workers)
        try:
            simple = dict(W1=pool_w1, W2=pool_w2, W4=pool_w4, W5=pool_w5)
            for name in shared:
                emit(name, lambda: simple[name](ex, args.sizes[name], args))
        finally:
            ex.close()
    own = dict(W3=pool_w3, W6=pool_w6)
    for name in args.workloads:
        if name in own:
            emit(name, lambda: own[name](adapter_cls, args.sizes[name], args))


# ------------------------------------------------------------ Dask distributed

class DaskAdapter:
    """A distributed.Client with the submit/result/call surface used here."""

    def __init__(self, client):
        self.client = client

    def submit(self, fn, *a):
        return self.client.submit(fn, *a, pure=False)

    @staticmethod
    def result(fut):
        return fut.result()

    def call(self, fn, *a):
        return self.client.submit(fn, *a, pure=False).result()


def _dask_account(balance):
    return (balance,)


def _dask_transfer(src_state, src_slot, dst_state, dst_slot, amount):
    """One transfer as a task over the latest state of both accounts."""
    a, b = src_state[src_slot], dst_state[dst_slot]
    if a >= amount:
        a, b = a - amount, b + amount
    return (a, b)


def _dask_add(arr):
    arr += 1.0
    return arr


def _dask_step(state, i):
    return _step(state, i)


def dask_w2(client, n, args):
    """W2: a chain of n tasks, each depending on the previous one's state."""
    t0 = time.perf_counter()
    fut = client.submit(_dask_step, (0, 0), 0, pure=False)
    for i in range(1, n):
        fut = client.submit(_dask_step, fut, i, pure=False)
    state = fut.result()
    seconds = time.perf_counter() - t0
    return result("W2", n, seconds, state == (n, 0),
                  f"in order ({state[1]} out of order)")


def dask_w3(client, n, args):
    """W3: transfers as a dataflow graph; each account is its latest future."""
    latest = [(client.submit(_dask_account, OPENING_BALANCE, pure=False), 0)
              for _ in range(ACCOUNTS)]
    transfers = make_transfers(n)
    client.gather([f for f, _ in latest])
    t0 = time.perf_counter()
    for src, dst, amount in transfers:
        (sf, ss), (df, ds) = latest[src], latest[dst]
        fut = client.submit(_dask_transfer, sf, ss, df, ds, amount, pure=False)
        latest[src], latest[dst] = (fut, 0), (fut, 1)
    states = client.gather([f for f, _ in latest])
    seconds = time.perf_counter() - t0
    total = sum(state[slot] for state, (_, slot) in zip(states, latest))
    expected = ACCOUNTS * OPENING_BALANCE
    return result("W3", n, seconds, total == expected,
                  f"total {total} conserved" if total == expected
                  else f"total {total} != {expected}")


def dask_w6(client, n, args):
    """W6: the array lives on a worker; a chain of n tasks adds 1 in place."""
    import numpy as np
    fut = client.scatter(np.zeros(W6_BYTES // 8))
    t0 = time.perf_counter()
    for _ in range(n):
        fut = client.submit(_dask_add, fut, pure=False)
    fut.result()  # the last task has run; the array stays on the worker
    seconds = time.perf_counter() - t0
    lo, hi = client.submit(lambda a: (float(a.min()), float(a.max())), fut,
                           pure=False).result()
    ok = lo == n and hi == n
    return result("W6", n, seconds, ok,
                  f"every element {n}" if ok else f"min {lo} max {hi}",
                  gbps=n * W6_BYTES / seconds / 1e9)


def run_dask(peer, args, emit):
    """Run the chosen workloads on a Dask LocalCluster of worker processes."""
    import logging
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                           processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        ex = DaskAdapter(client)
        for f in [ex.submit(_warm, i) for i in range(8 * args.workers)]:
            ex.result(f)
        table = dict(W1=lambda n: pool_w1(ex, n, args),
                     W2=lambda n: dask_w2(client, n, args),
                     W3=lambda n: dask_w3(client, n, args),
                     W4=lambda n: pool_w4(ex, n, args),
                     W5=lambda n: pool_w5(ex, n, args),
                     W6=lambda n: dask_w6(client, n, args))
        for name in args.workloads:
            emit(name, lambda: table[name](args.sizes[name]))
    finally:
        client.close()
        cluster.close()


# ----------------------------------------------------------------- entry point

RUNNERS = dict(bocd=run_boc, bocpy=run_boc, pool=run_pool, ppe=run_pool,
               dask=run_dask)


def make_emitter(peer, workers):
    """Run one workload, print its RESULT line; an exception becomes an
    error. `emit.reported` holds the workloads it printed; `emit.fail(name,
    exc)` prints one as failed by `exc` without running it."""
    def report(name, out):
        out.update(peer=peer, workers=workers)
        print("RESULT " + json.dumps(out), flush=True)
        emit.reported.add(name)
        return out

    def failed(name, exc):
        return dict(workload=name, error=f"{type(exc).__name__}: {exc}")

    def emit(name, fn):
        try:
            out = fn()
        except Exception as exc:  # reported, and the other workloads go on
            traceback.print_exc()
            out = failed(name, exc)
        return report(name, out)

    emit.reported = set()
    emit.fail = lambda name, exc: report(name, failed(name, exc))
    return emit


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("peer", choices=sorted(RUNNERS))
    p.add_argument("--workloads", default="W1,W2,W3,W4,W5,W6")
    p.add_argument("--sizes", default="",
                   help="W1=20000,W2=5000,... (the driver's scaled counts)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--spin-iters", type=int, default=100000)
    args = p.parse_args(argv)
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.sizes = {k: int(v) for k, v in
                  (kv.split("=") for kv in args.sizes.split(",") if kv)}
    for w in args.workloads:
        args.sizes.setdefault(w, 100)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    emit = make_emitter(args.peer, args.workers)
    try:
        RUNNERS[args.peer](args.peer, args, emit)
    except Exception as exc:
        # The peer could not start (a daemon refusing its options, say) or
        # broke off: each workload not reported yet carries the whole
        # reason to the driver, which prints it.
        for name in args.workloads:
            if name not in emit.reported:
                emit.fail(name, exc)
        raise


if __name__ == "__main__":
    main()

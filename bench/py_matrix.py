"""Matrix benchmark: bocd.Matrix against bocpy 0.14's Matrix, one run.

    python bench/py_matrix.py                       # both peers, all sizes
    python bench/py_matrix.py --repeat 5            # medians of 5 rounds
    python bench/py_matrix.py --sizes 100 --ops add,matmul --min-time 0.5
    python bench/py_matrix.py --bocd-python .venv/bin/python

Operations, each on n x n matrices of float64 for n in --sizes (4, 100,
1000 by default), inputs made from the same seeded random.Random on both
sides:
  add        a + b
  multiply   a * b
  matmul     a @ b
  sum0       a.sum(axis=0)
  normalize  a.normalize(axis=1)      (every row to unit length)
  take       a.take(rows)             (n//2 + 1 random rows, repeats allowed)
  put        a.put(rows, v)           (the same rows, v of their shape)
  boids      one step of n*n boids: positions and velocities are (n*n) x 2;
             each boid steers towards the mean position of 4 neighbours
             (take, +, *), the steering is normalized and added to the
             velocity (scaled_add), the velocity clipped (clip) and the
             position advanced (scaled_add), all in place.

Each peer runs in its own child process (this script with --child):
  bocd   --bocd-python (default: .venv-3.13/bin/python in the checkout if it
         exists, else this interpreter), importing bocd.Matrix. Until bocd
         has a Matrix its side is reported unavailable.
  bocpy  --bocpy-python (default: bench/.venv-bocpy, made as py_bench.py
         makes it: bocpy 0.14 from PyPI on CPython >= 3.10, 3.13 preferred).
A child times each operation by calling it in a loop until --min-time
seconds pass and reports seconds per call. With --repeat N the peers run N
rounds, interleaved (a slow spell of the shared machine falls on both), and
each figure is the median. Before timing, a child computes a checksum of one
call's result (of three boids steps) from fresh inputs; the table's check
column says whether both peers agree (to 1e-9 relative).

bocd/bocpy is bocd's time per call over bocpy's: below 1 bocd is faster.
"""

import argparse
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
OPS = ["add", "multiply", "matmul", "sum0", "normalize", "take", "put", "boids"]
PEERS = ["bocd", "bocpy"]
NEIGHBOURS = 4


# ------------------------------------------------------------------- child

def flat(rng, count):
    return [rng.uniform(-1.0, 1.0) for _ in range(count)]


def make_case(Matrix, op, n):  # noqa: N803 - the class under test
    """(call, checksum) for one operation at size n; `call()` runs it once,
    `checksum()` sums the result of fresh inputs (the same on both peers)."""
    def inputs():
        rng = random.Random(n * 1000 + OPS.index(op))
        a = Matrix(n, n, flat(rng, n * n))
        b = Matrix(n, n, flat(rng, n * n))
        rows = [rng.randrange(n) for _ in range(n // 2 + 1)]
        v = Matrix(len(rows), n, flat(rng, len(rows) * n))
        return a, b, rows, v

    if op == "boids":
        return boids_case(Matrix, n)
    a, b, rows, v = inputs()
    calls = {
        "add": lambda a, b, rows, v: a + b,
        "multiply": lambda a, b, rows, v: a * b,
        "matmul": lambda a, b, rows, v: a @ b,
        "sum0": lambda a, b, rows, v: a.sum(0),
        "normalize": lambda a, b, rows, v: a.normalize(1),
        "take": lambda a, b, rows, v: a.take(rows),
        "put": lambda a, b, rows, v: a.put(rows, v),
    }
    fn = calls[op]
    return (lambda: fn(a, b, rows, v)), (lambda: fn(*inputs()).sum())


def boids_case(Matrix, n):  # noqa: N803
    count = n * n

    def state():
        rng = random.Random(7 + n)
        pos = Matrix(count, 2, flat(rng, count * 2))
        vel = Matrix(count, 2, flat(rng, count * 2))
        near = [[rng.randrange(count) for _ in range(count)]
                for _ in range(NEIGHBOURS)]
        return pos, vel, near

    def step(pos, vel, near):
        centre = pos.take(near[0])
        for idx in near[1:]:
            centre += pos.take(idx)
        centre *= 1.0 / NEIGHBOURS
        steer = (centre - pos).normalize(1)
        vel.scaled_add(0.05, steer, in_place=True)
        vel.clip(-1.0, 1.0, in_place=True)
        pos.scaled_add(0.1, vel, in_place=True)

    def checksum():
        pos, vel, near = state()
        for _ in range(3):
            step(pos, vel, near)
        return pos.sum() + vel.sum()

    pos, vel, near = state()
    return (lambda: step(pos, vel, near)), checksum


def time_per_call(call, min_time):
    """Seconds per call: doubles the number of calls until a loop takes
    at least min_time, then reports that loop."""
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time:
            return elapsed / calls, calls
        calls *= 2 if elapsed < min_time / 8 else max(2, int(min_time / elapsed) + 1)


def child(peer, ops, sizes, min_time):
    try:
        if peer == "bocpy":
            from bocpy import Matrix
        else:
            from bocd import Matrix
    except ImportError as e:
        print("RESULT " + json.dumps({"error": f"no Matrix in {peer}: {e}"}), flush=True)
        return
    for n in sizes:
        for op in ops:
            res = {"op": op, "n": n}
            try:
                call, checksum = make_case(Matrix, op, n)
                res["checksum"] = float(checksum())
                res["seconds"], res["calls"] = time_per_call(call, min_time)
            except Exception as e:  # noqa: BLE001 - reported in the table
                res["error"] = f"{type(e).__name__}: {e}"
            print("RESULT " + json.dumps(res), flush=True)


# ------------------------------------------------------------------ parent

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def bocd_python(args):
    if args.bocd_python:
        return args.bocd_python
    venv = ROOT / ".venv-3.13" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def bocpy_python(args):
    if args.bocpy_python:
        return args.bocpy_python, None
    sys.path.insert(0, str(HERE))
    from py_bench import setup_bocpy
    return setup_bocpy()


def run_child(python, peer, args):
    """One child run: {(op, n): result}, or {"error": why} for the peer."""
    cmd = [python, str(pathlib.Path(__file__).resolve()), "--child", peer,
           "--ops", ",".join(args.ops), "--sizes", ",".join(map(str, args.sizes)),
           "--min-time", str(args.min_time)]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # each side imports its own package
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout}s"}
    found = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
            if "op" not in res:
                return {"error": res["error"]}
            found[(res["op"], res["n"])] = res
    if proc.returncode != 0 or not found:
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        return {"error": f"child exited {proc.returncode}: {tail}"}
    return found


def median_of(runs, key):
    ok = [r[key] for r in runs if key in r and "error" not in r[key]]
    if not ok:
        errors = [r[key]["error"] for r in runs if key in r]
        return {"error": errors[0] if errors else "not run"}
    times = sorted(r["seconds"] for r in ok)
    return {"seconds": statistics.median(times), "range": (times[0], times[-1]),
            "runs": len(ok), "checksum": ok[0]["checksum"]}


def fmt_time(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def same(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def report(results, unavailable, args):
    print(f"\nbocd Matrix benchmark: sizes {args.sizes}, --min-time {args.min_time}, "
          f"--repeat {args.repeat}; time per call (median), bocd/bocpy < 1: bocd faster")
    for peer, why in unavailable.items():
        print(f"  {peer} unavailable: {why}")
    sys.path.insert(0, str(HERE))
    from py_bench import print_table
    rows, slower = [], []
    for n in args.sizes:
        for op in args.ops:
            cells = {p: results[p][(op, n)] for p in results}
            row = [op, f"{n}x{n}"]
            for p in PEERS:
                r = cells.get(p)
                if r is None:
                    row.append("-")
                elif "error" in r:
                    row.append("error: " + r["error"][:60])
                else:
                    spread = "" if r["runs"] < 2 else \
                        f" [{fmt_time(r['range'][0])}-{fmt_time(r['range'][1])}]"
                    row.append(fmt_time(r["seconds"]) + spread)
            b, o = cells.get("bocd"), cells.get("bocpy")
            if b and o and "error" not in b and "error" not in o:
                ratio = b["seconds"] / o["seconds"]
                row.append(f"{ratio:.2f}")
                row.append("ok" if same(b["checksum"], o["checksum"]) else
                           f"DIFFERS {b['checksum']:.6g} vs {o['checksum']:.6g}")
                if n >= 100 and ratio > 1.0:
                    slower.append(f"{op} {n}x{n}: {ratio:.2f}")
            else:
                row += ["", ""]
            rows.append(row)
    print_table(["op", "size", "bocd", "bocpy", "bocd/bocpy", "check"], rows)
    if "bocd" in results and "bocpy" in results:
        print("\ntarget: at 100x100 and up bocd is no slower than bocpy (bocd/bocpy <= 1)")
        print("  " + ("met" if not slower else "missed: " + ", ".join(slower)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Time Matrix operations on bocd and bocpy 0.14; print ratios.",
        epilog="See the module docstring for what each operation does.")
    p.add_argument("--ops", default=",".join(OPS), help=f"default: {','.join(OPS)}")
    p.add_argument("--sizes", default="4,100,1000", help="n of the n x n matrices")
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds of every peer, interleaved; report medians")
    p.add_argument("--min-time", type=float, default=0.2,
                   help="seconds each operation is timed for, per round")
    p.add_argument("--bocd-python", help="interpreter with bocd installed")
    p.add_argument("--bocpy-python", help="interpreter with bocpy 0.14 installed")
    p.add_argument("--timeout", type=float, default=1800,
                   help="seconds before a child is abandoned")
    p.add_argument("--child", choices=PEERS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.peers = [x.strip() for x in args.peers.split(",") if x.strip()]
    bad = [o for o in args.ops if o not in OPS] + [x for x in args.peers if x not in PEERS]
    if bad:
        p.error(f"unknown operation or peer: {', '.join(bad)}")
    if any(n < 1 for n in args.sizes):
        p.error("sizes must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        child(args.child, args.ops, args.sizes, args.min_time)
        return
    pythons, unavailable = {}, {}
    if "bocd" in args.peers:
        pythons["bocd"] = bocd_python(args)
    if "bocpy" in args.peers:
        python, why = bocpy_python(args)
        if why:
            unavailable["bocpy"] = why
        else:
            pythons["bocpy"] = python
    runs = {p: [] for p in pythons}
    for r in range(max(1, args.repeat)):
        for peer, python in list(pythons.items()):
            log(f"{peer} ({python}), round {r + 1} of {args.repeat}")
            out = run_child(python, peer, args)
            if "error" in out:
                log(f"  {peer} unavailable: {out['error']}")
                unavailable[peer] = out["error"]
                del pythons[peer]
                runs.pop(peer)
                continue
            runs[peer].append(out)
    results = {p: {(op, n): median_of(rs, (op, n)) for op in args.ops for n in args.sizes}
               for p, rs in runs.items() if rs}
    report(results, unavailable, args)


if __name__ == "__main__":
    main()

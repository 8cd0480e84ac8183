"""Benchmarks of bocd as a service: many programs on one daemon.

Run it with the interpreter that has bocd installed:

    .venv/bin/python bench/py_service.py                 # everything
    .venv/bin/python bench/py_service.py --only cold --repeat 10

Figures (each the median of --repeat runs, with their range):
  cold   a new program's first behavior, from its first @when to having
         read the result: on a warm service (its interpreter's worker
         template is running), on a private daemon the program starts
         (what `python script.py` with no service pays), and bocpy's
         first @when (it starts its runtime then) on the same machine
  fair   a light program's round trip (schedule one behavior, read its
         result) alone on the service, then while a heavy program floods
         the service with tiny behaviors: median and p99
  w1w4   W1 (20,000 tiny behaviors) and W4 (round trip) of one program on
         the service, against the same on a private daemon

Each program is its own process, started fresh, as users run them. bocpy
comes from PyPI (bocpy==0.14.0) in bench/.venv-bocpy (py_bench.py's
set-up). Numbers are wall-clock on this machine; compare them within one
run only.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import textwrap

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import py_bench  # noqa: E402  (its bocpy set-up)

from bocd._daemon import Daemon  # noqa: E402

FIRST = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import {module} as boc
    from {module} import Cown, when

    def main():
        t1 = time.perf_counter()
        @when(Cown(20))
        def first(c):
            return c.value + 1
        {wait}
        t2 = time.perf_counter()
        assert value == 21, value
        print(json.dumps({{"first_us": (t2 - t1) * 1e6,
                          "import_us": (t1 - t0) * 1e6}}), flush=True)
        boc.wait()  # bocpy's runtime keeps the process until torn down

    if __name__ == "__main__":
        main()
""")

ROUND_TRIPS = textwrap.dedent("""
    import json, sys, time
    from bocd import Cown, when

    n = int(sys.argv[1])
    c = Cown(0)
    times = []
    for i in range(n):
        t = time.perf_counter()
        @when(c)
        def one(c):
            c.value += 1
            return c.value
        assert one.unwrap() == i + 1
        times.append((time.perf_counter() - t) * 1e6)
    warm = sorted(times[n // 10:])  # after the program's workers started
    print(json.dumps({"median_us": warm[len(warm) // 2],
                      "p99_us": warm[int(len(warm) * 0.99)]}))
""")

FLOOD = textwrap.dedent("""
    import sys
    import bocd
    from bocd import Cown, when

    counters = [Cown(0) for _ in range(100)]
    print("flooding", flush=True)
    for i in range(int(sys.argv[1])):
        @when(counters[i % 100])
        def inc(c):
            c.value += 1
    bocd.quiesce()
""")

W1 = textwrap.dedent("""
    import json, sys, time
    import bocd
    from bocd import Cown, when

    n = int(sys.argv[1])
    warm = Cown(0)
    @when(warm)
    def start(c):
        return 1
    start.unwrap()  # the program's first worker is up
    cs = [Cown(0) for _ in range(n)]
    t = time.perf_counter()
    for c in cs:
        @when(c)
        def inc(c):
            c.value += 1
    bocd.quiesce()
    print(json.dumps({"rate": n / (time.perf_counter() - t)}))
""")


def run(python, code, env, args=(), timeout=600):
    # A script file, not -c: bocpy's workers import the program's module.
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "program.py")
        with open(script, "w") as f:
            f.write(code)
        p = subprocess.run([python, script, *map(str, args)],
                           capture_output=True, text=True, env=env,
                           timeout=timeout, cwd=tmp)
    if p.returncode != 0:
        raise RuntimeError(f"program failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def env_for(socket=None):
    env = dict(os.environ)
    env.pop("BOCD_SOCKET", None)
    env.pop("BOCD_PRIVATE", None)
    if socket is None:
        env["BOCD_PRIVATE"] = "1"
    else:
        env["BOCD_SOCKET"] = socket
    return env


def summary(values, key):
    xs = sorted(v[key] for v in values)
    mid = xs[(len(xs) - 1) // 2]
    return mid, xs[0], xs[-1]


def show(label, values, key, unit):
    mid, lo, hi = summary(values, key)
    print(f"  {label:<34} {mid:>10,.0f} {unit}  [range {lo:,.0f}-{hi:,.0f}, "
          f"{len(values)} runs]")
    return mid


def cold(args, service):
    print("cold: a new program's first behavior (first @when to result)")
    first_service = FIRST.format(module="bocd", wait="value = first.unwrap()")
    runs = {"service": [], "private": [], "bocpy": []}
    bocpy, why = py_bench.setup_bocpy()
    first_bocpy = FIRST.format(
        module="bocpy", wait="boc.quiesce()\n    value = first.unwrap()")
    run(sys.executable, first_service, env_for(service.socket))  # warm it
    for _ in range(args.repeat):
        runs["service"].append(run(sys.executable, first_service,
                                   env_for(service.socket)))
        runs["private"].append(run(sys.executable, first_service, env_for()))
        if bocpy:
            runs["bocpy"].append(run(bocpy, first_bocpy, env_for()))
    mine = show("bocd, a warm service", runs["service"], "first_us", "us")
    private = show("bocd, a private daemon", runs["private"], "first_us",
                   "us")
    if bocpy:
        other = show("bocpy 0.14 (starts its runtime)", runs["bocpy"],
                     "first_us", "us")
        print(f"  service / bocpy = {mine / other:.2f}x the time")
    else:
        print(f"  bocpy skipped: {why}")
    print(f"  service / private = {mine / private:.2f}x the time")


def fair(args, service):
    print("fair: a light program's round trip, alone and during a flood")
    n = max(200, int(1000 * args.n))
    alone, during = [], []
    for _ in range(args.repeat):
        alone.append(run(sys.executable, ROUND_TRIPS, env_for(service.socket),
                         [n]))
        heavy = subprocess.Popen(
            [sys.executable, "-c", FLOOD, str(int(1_000_000 * args.n))],
            stdout=subprocess.PIPE, text=True, env=env_for(service.socket),
            cwd=tempfile.gettempdir())
        heavy.stdout.readline()  # it floods now
        during.append(run(sys.executable, ROUND_TRIPS,
                          env_for(service.socket), [n]))
        heavy.kill()
        heavy.wait()
    a = show("alone: median", alone, "median_us", "us")
    ap = show("alone: p99", alone, "p99_us", "us")
    d = show("during a flood: median", during, "median_us", "us")
    dp = show("during a flood: p99", during, "p99_us", "us")
    print(f"  p99 during / alone = {dp / ap:.1f}x (must be <= 10x); "
          f"median {d / a:.1f}x")


def w1w4(args, service):
    print("w1w4: one program on the service against a private daemon")
    n = int(20_000 * args.n)
    out = {"service": ([], []), "private": ([], [])}
    for _ in range(args.repeat):
        for name, env in (("service", env_for(service.socket)),
                          ("private", env_for())):
            out[name][0].append(run(sys.executable, W1, env, [n]))
            out[name][1].append(run(sys.executable, ROUND_TRIPS, env,
                                    [max(200, int(1000 * args.n))]))
    s1 = show("W1 on the service", out["service"][0], "rate", "/s")
    p1 = show("W1 on a private daemon", out["private"][0], "rate", "/s")
    s4 = show("W4 on the service: median", out["service"][1], "median_us",
              "us")
    p4 = show("W4 on a private daemon: median", out["private"][1],
              "median_us", "us")
    print(f"  W1 service / private = {s1 / p1:.2f}x; "
          f"W4 service / private = {s4 / p4:.2f}x the time")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="cold,fair,w1w4")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=float, default=1.0,
                    help="scale the counts (0.1: a quick run)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--daemon-args", default="",
                    help="more arguments for the service's bocd serve, in "
                         "one string (--spin-us 0, say)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = Daemon(socket_path=os.path.join(tmp, "bocd.sock"),
                         workers=args.workers,
                         extra_args=tuple(args.daemon_args.split())).start()
        try:
            print(f"bocd service benchmark: --workers {args.workers}, "
                  f"--daemon-args '{args.daemon_args}', "
                  f"--repeat {args.repeat}, --n {args.n}, Python "
                  f"{sys.version.split()[0]}, {os.cpu_count()} CPUs")
            for name in args.only.split(","):
                {"cold": cold, "fair": fair, "w1w4": w1w4}[name](args, service)
        finally:
            service.stop()


if __name__ == "__main__":
    main()

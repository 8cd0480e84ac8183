"""Where the CPU goes: per-process CPU time per behavior for W1-like work.

Runs N tiny behaviors (each increments one of 1,000 counters) through a
private daemon and prints, per process (the program, the daemon, each
worker), CPU time (user + system, from /proc) divided by N.

    .venv/bin/python bench/py_cpu_split.py [--n 20000] [--workers 2]
"""
import argparse
import os
import subprocess
import sys
import time


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--pipeline", type=int, default=8)
    args = p.parse_args()

    from bocd._daemon import Daemon
    daemon = Daemon(workers=args.workers, extra_args=(
        "--worker-pipeline", str(args.pipeline))).start()
    os.environ["BOCD_SOCKET"] = daemon.socket
    from bocd import Cown, quiesce, when

    counters = [Cown(0) for _ in range(1000)]
    # Workers start (import, connect) while the program goes on: run some
    # behaviors first so their start-up is not counted as behaviors' cost.
    for c in counters:
        @when(c)
        def warm(c):
            c.value += 0
    quiesce()
    workers = [int(x) for x in subprocess.run(
        ["pgrep", "-P", str(daemon.pid)], capture_output=True, text=True
    ).stdout.split()]
    procs = {"program": os.getpid(), "daemon": daemon.pid}
    procs.update({f"worker {i}": pid for i, pid in enumerate(workers)})
    before = {name: cpu_seconds(pid) for name, pid in procs.items()}
    t0 = time.perf_counter()
    for i in range(args.n):
        @when(counters[i % 1000])
        def inc(c):
            c.value += 1
    quiesce()
    wall = time.perf_counter() - t0
    after = {name: cpu_seconds(pid) for name, pid in procs.items()}
    print(f"{args.n} behaviors in {wall:.2f} s = {args.n / wall:,.0f}/s "
          f"(--worker-pipeline {args.pipeline})")
    total = 0.0
    for name in procs:
        us = (after[name] - before[name]) / args.n * 1e6
        total += us
        print(f"  {name:<9} {us:6.1f} us CPU per behavior")
    print(f"  {'all':<9} {total:6.1f} us CPU per behavior")
    daemon.stop()


if __name__ == "__main__":
    sys.exit(main())

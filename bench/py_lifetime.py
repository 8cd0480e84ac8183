"""Daemon memory while a program makes a million short-lived cowns.

Runs N behaviors (each with its result cown, and a fresh cown per
behavior) in batches with quiesce() between, and prints the daemon's
resident set size and cown count after each tenth of the run. Flat
figures show that cowns nobody refers to are freed (docs/python.md
"Lifetime").

    .venv/bin/python bench/py_lifetime.py [--n 1000000] [--batch 10000]
"""
import argparse
import json
import os
import subprocess
import sys
import time


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cown_count(socket: str) -> int:
    from bocd._daemon import binary
    out = subprocess.run([binary(), "status", "--json", "--socket", socket],
                         capture_output=True, text=True, check=True).stdout
    return int(json.loads(out)["cowns"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()

    from bocd._daemon import Daemon
    daemon = Daemon(workers=args.workers).start()
    os.environ["BOCD_SOCKET"] = daemon.socket
    from bocd import Cown, quiesce, when

    print(f"{args.n} behaviors, each on a fresh cown with a result cown, "
          f"batches of {args.batch}")
    print(f"{'behaviors':>10} {'daemon RSS MiB':>15} {'cowns':>7} {'rate/s':>8}")
    done, t0 = 0, time.perf_counter()
    step = max(args.n // 10, args.batch)
    while done < args.n:
        for i in range(args.batch):
            @when(Cown(i))
            def bump(c):
                c.value += 1
                return c.value
        quiesce()
        done += args.batch
        if done % step == 0 or done >= args.n:
            rate = done / (time.perf_counter() - t0)
            print(f"{done:>10} {rss_kib(daemon.pid) / 1024:>15.1f} "
                  f"{cown_count(daemon.socket):>7} {rate:>8.0f}", flush=True)
    daemon.stop()


if __name__ == "__main__":
    sys.exit(main())

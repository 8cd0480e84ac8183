"""Pinned cowns: what a pinned spinner costs the workers, and the round trip.

    .venv/bin/python bench/py_pinned.py [--n 20000] [--rounds 3] [--trips 1000]

Two measurements against one private daemon (--workers, default 2):

1. W1 with and without a pinned spinner. W1 is --n independent tiny
   behaviors (each increments its own counter). Completion is detected the
   same way in all variants: one group behavior per 1,000 counters runs
   after their increments and schedules a pinned behavior that counts it
   done on the main thread. Three variants, alternating for --rounds
   rounds:
     idle     the main thread waits in quiesce() (which pumps)
     loop     the main thread pumps with max_behaviors=1 in a loop, as a
              GUI frame loop would, until W1 is done
     spinner  as loop, and one pinned behavior reschedules itself
   The drop the goal is about is spinner against loop: what the spinner's
   round trips cost the workers, with the main thread equally busy. Loop
   against idle is what a busy main thread costs on its own (on 2 cores it
   takes CPU the workers would use).

2. Round trip, --trips times each, median and p99: schedule one behavior
   on a pinned cown from the main thread, pump until it ran, read its
   result; against the same on a regular cown, run by a worker.

Not a test: figures go in the closing note with the command line.
"""
import argparse
import os
import statistics
import time

CHUNK = 1000
VARIANTS = ("idle", "loop", "spinner")


class Main:
    """State the pinned bodies change: they run on this thread."""
    chunks_done = 0
    spins = 0
    stop = False


def w1(bocd, n: int, variant: str) -> tuple[float, int]:
    spinner = variant == "spinner"
    counters = [bocd.Cown(0) for _ in range(n)]
    done = bocd.PinnedCown(None)
    spin = bocd.PinnedCown(None)
    chunks = (n + CHUNK - 1) // CHUNK
    Main.chunks_done, Main.spins, Main.stop = 0, 0, False
    bocd.quiesce()

    def again():
        @bocd.when(spin)
        def step(s):
            Main.spins += 1
            if not Main.stop:
                again()

    t0 = time.perf_counter()
    if spinner:
        again()
    for c in counters:
        @bocd.when(c)
        def inc(c):
            c.value += 1
    for i in range(0, n, CHUNK):
        @bocd.when(counters[i:i + CHUNK])
        def chunk(group, done=done):
            @bocd.when(done)
            def count(d):
                Main.chunks_done += 1
    if variant == "idle":
        bocd.quiesce()
    else:
        while Main.chunks_done < chunks:
            bocd.pump(max_behaviors=1)
    seconds = time.perf_counter() - t0
    Main.stop = True
    bocd.quiesce()
    if Main.chunks_done != chunks:
        raise SystemExit(f"W1: {Main.chunks_done} chunks of {chunks} done")
    return n / seconds, Main.spins


def round_trips(bocd, trips: int, pinned: bool) -> list[float]:
    c = bocd.PinnedCown(0) if pinned else bocd.Cown(0)
    out = []
    for i in range(trips):
        t0 = time.perf_counter()

        @bocd.when(c)
        def bump(c):
            c.value += 1
            return c.value
        bocd.quiesce()  # pumps: the pinned one runs here
        got = bump.unwrap()
        out.append(time.perf_counter() - t0)
        if got != i + 1:
            raise SystemExit(f"round trip {i}: got {got}")
    return out


def describe(lat: list[float]) -> str:
    lat = sorted(lat)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    return f"median {statistics.median(lat) * 1e6:6.0f} us, p99 {p99 * 1e6:6.0f} us"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--trips", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()

    from bocd._daemon import Daemon
    daemon = Daemon(workers=args.workers).start()
    os.environ["BOCD_SOCKET"] = daemon.socket
    import bocd
    try:
        w1(bocd, 2000, "idle")  # warm the workers
        rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for r in range(args.rounds):
            line = []
            for v in VARIANTS:
                rate, spins = w1(bocd, args.n, v)
                rates[v].append(rate)
                line.append(f"{v} {rate:8,.0f}/s" +
                            (f" ({spins:,} spins)" if v == "spinner" else ""))
            print(f"round {r + 1}: W1 " + ", ".join(line))
        m = {v: statistics.median(rates[v]) for v in VARIANTS}
        print("W1 median: " + ", ".join(f"{v} {m[v]:,.0f}/s" for v in VARIANTS))
        print(f"spinner vs loop: {100 * (m['loop'] - m['spinner']) / m['loop']:+.1f}%"
              f" drop (goal <= 2%); loop vs idle: "
              f"{100 * (m['idle'] - m['loop']) / m['idle']:+.1f}%")
        worker = round_trips(bocd, args.trips, False)
        pinned = round_trips(bocd, args.trips, True)
        print(f"round trip, worker: {describe(worker)}")
        print(f"round trip, pinned: {describe(pinned)}")
        print(f"pinned / worker median: "
              f"{statistics.median(pinned) / statistics.median(worker):.2f}x")
    finally:
        bocd.wait()
        daemon.stop()


if __name__ == "__main__":
    main()

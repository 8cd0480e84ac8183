"""Messaging: bocd send/receive against multiprocessing.Queue and Pipe.

    .venv/bin/python bench/py_messaging.py [--n 20000] [--trips 2000] [--repeat 7]

In one run, against one private daemon (1 worker) and the stdlib peers:

* one-way: the main thread sends --n small messages; one consumer in
  another process (a bocd behavior on a worker; a multiprocessing.Process)
  receives them all. Rate from the first send to the consumer's last
  receive, as the main thread sees it. Also the other way for bocd: a
  behavior sends (at most 16,000, the default queue's size), main
  receives.
* ping-pong: the main thread sends one message and waits for the reply
  from the consumer, --trips times: median and p99 round trip.

Not a test: figures go in the closing note with the command line.
"""
import argparse
import multiprocessing as mp
import os
import statistics
import time


def describe(lat: list[float]) -> str:
    lat = sorted(lat)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    return (f"median {statistics.median(lat) * 1e6:7.1f} us, "
            f"p99 {p99 * 1e6:7.1f} us")


# ------------------------------------------------------------------ bocd

def bocd_one_way(bocd, n: int) -> float:
    @bocd.when()
    def consumer(n=n):
        got = 0
        for _ in range(n):
            bocd.receive("data")
            got += 1
        bocd.send("done", got)

    t0 = time.perf_counter()
    for i in range(n):
        bocd.send("data", i)
    tag, got = bocd.receive("done")
    seconds = time.perf_counter() - t0
    bocd.quiesce()
    if got != n:
        raise SystemExit(f"bocd one-way: {got} of {n}")
    return n / seconds


def bocd_one_way_back(bocd, n: int) -> float:
    """The other way: a behavior sends, main receives."""
    @bocd.when()
    def producer(n=n):
        for i in range(n):
            bocd.send("back", i)

    t0 = time.perf_counter()
    for i in range(n):
        _, x = bocd.receive("back")
        if x != i:
            raise SystemExit(f"bocd one-way back: got {x} for {i}")
    seconds = time.perf_counter() - t0
    bocd.quiesce()
    return n / seconds


def bocd_ping_pong(bocd, trips: int) -> list[float]:
    @bocd.when()
    def echo(trips=trips):
        for _ in range(trips):
            _, x = bocd.receive("ping")
            bocd.send("pong", x)

    lat = []
    for i in range(trips):
        t0 = time.perf_counter()
        bocd.send("ping", i)
        _, x = bocd.receive("pong")
        lat.append(time.perf_counter() - t0)
        if x != i:
            raise SystemExit(f"bocd ping-pong: got {x} for {i}")
    bocd.quiesce()
    return lat


# ------------------------------------------------------------ stdlib peers

def queue_consumer(q, done, n):
    for _ in range(n):
        q.get()
    done.put(n)


def queue_echo(a, b, trips):
    for _ in range(trips):
        b.put(a.get())


def pipe_consumer(conn, n):
    for _ in range(n):
        conn.recv()
    conn.send(n)


def pipe_echo(conn, trips):
    for _ in range(trips):
        conn.send(conn.recv())


def queue_one_way(n: int) -> float:
    q, done = mp.Queue(), mp.Queue()
    p = mp.Process(target=queue_consumer, args=(q, done, n))
    p.start()
    t0 = time.perf_counter()
    for i in range(n):
        q.put(i)
    got = done.get()
    seconds = time.perf_counter() - t0
    p.join()
    assert got == n
    return n / seconds


def queue_ping_pong(trips: int) -> list[float]:
    a, b = mp.Queue(), mp.Queue()
    p = mp.Process(target=queue_echo, args=(a, b, trips))
    p.start()
    lat = []
    for i in range(trips):
        t0 = time.perf_counter()
        a.put(i)
        x = b.get()
        lat.append(time.perf_counter() - t0)
        assert x == i
    p.join()
    return lat


def pipe_one_way(n: int) -> float:
    here, there = mp.Pipe()
    p = mp.Process(target=pipe_consumer, args=(there, n))
    p.start()
    t0 = time.perf_counter()
    for i in range(n):
        here.send(i)
    got = here.recv()
    seconds = time.perf_counter() - t0
    p.join()
    assert got == n
    return n / seconds


def pipe_ping_pong(trips: int) -> list[float]:
    here, there = mp.Pipe()
    p = mp.Process(target=pipe_echo, args=(there, trips))
    p.start()
    lat = []
    for i in range(trips):
        t0 = time.perf_counter()
        here.send(i)
        x = here.recv()
        lat.append(time.perf_counter() - t0)
        assert x == i
    p.join()
    return lat


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--trips", type=int, default=2_000)
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds of every peer; figures are their medians")
    p.add_argument("--daemon-args", default="",
                   help="more arguments for bocd serve, in one string "
                        "(--spin-us 0, say)")
    args = p.parse_args()

    from bocd._daemon import Daemon
    daemon = Daemon(workers=1,
                    extra_args=tuple(args.daemon_args.split())).start()
    os.environ["BOCD_SOCKET"] = daemon.socket
    import bocd
    one_way = {"bocd": lambda: bocd_one_way(bocd, args.n),
               "bocd, behavior -> main": lambda: bocd_one_way_back(
                   bocd, min(args.n, 16_000)),
               "multiprocessing.Queue": lambda: queue_one_way(args.n),
               "multiprocessing.Pipe": lambda: pipe_one_way(args.n)}
    ping_pong = {"bocd": lambda: bocd_ping_pong(bocd, args.trips),
                 "multiprocessing.Queue": lambda: queue_ping_pong(args.trips),
                 "multiprocessing.Pipe": lambda: pipe_ping_pong(args.trips)}
    rates: dict[str, list[float]] = {k: [] for k in one_way}
    trips: dict[str, list[list[float]]] = {k: [] for k in ping_pong}
    try:
        bocd_ping_pong(bocd, 50)  # warm the worker and the mail session
        for _ in range(args.repeat):  # interleaved: each round sees the
            for name, run in one_way.items():  # same machine state
                rates[name].append(run())
            for name, run in ping_pong.items():
                trips[name].append(run())
        rate = {k: statistics.median(v) for k, v in rates.items()}
        # The round whose median is the median of the rounds' medians.
        lat = {k: sorted(v, key=statistics.median)[len(v) // 2]
               for k, v in trips.items()}
        print(f"one-way, {args.n:,} messages main -> another process "
              f"(median of {args.repeat}):")
        queue = rate["multiprocessing.Queue"]
        for name, r in rate.items():
            print(f"  {name:<24} {r:10,.0f} msg/s   it / Queue = "
                  f"{r / queue:.2f}x")
        print(f"ping-pong round trip, {args.trips:,} trips:")
        for name, l in lat.items():
            ratio = statistics.median(l) / statistics.median(lat["bocd"])
            print(f"  {name:<22} {describe(l)}   it / bocd = {ratio:.2f}x")
    finally:
        bocd.wait()
        daemon.stop()


if __name__ == "__main__":
    main()

"""Where the CPU goes: per-process CPU time per behavior for W1-like work.

Runs N tiny behaviors (each increments one of 1,000 counters) through a
private daemon and prints, per process (the program, the daemon, each
worker), CPU time (user + system, from /proc) divided by N. Then, with
--idle S, the CPU each process uses while the program sits idle for S
seconds; with --strace, the daemon's system calls per behavior by kind
(strace -c on the daemon during the run). Extra daemon arguments follow
--daemon-args; BOCD_TRANSPORT=socket runs it over the socket.

    .venv/bin/python bench/py_cpu_split.py [--n 20000] [--workers 2]
    .venv/bin/python bench/py_cpu_split.py --idle 5 --strace
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--pipeline", type=int, default=32)
    p.add_argument("--idle", type=float, default=0,
                   help="then measure CPU while idle for this many seconds")
    p.add_argument("--strace", action="store_true",
                   help="count the daemon's system calls during the run")
    p.add_argument("--daemon-args", default="",
                   help="more arguments for bocd serve, in one string")
    args = p.parse_args()

    from bocd._daemon import Daemon
    daemon = Daemon(workers=args.workers, extra_args=(
        "--worker-pipeline", str(args.pipeline),
        *args.daemon_args.split())).start()
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
    workers = workers_of(daemon)
    procs = {"program": os.getpid(), "daemon": daemon.pid}
    procs.update({f"worker {i}": pid for i, pid in enumerate(workers)})
    tracer = start_strace(daemon.pid) if args.strace else None
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
    if tracer is not None:
        report_strace(tracer, args.n)
    if args.idle > 0:
        before = {name: cpu_seconds(pid) for name, pid in procs.items()}
        time.sleep(args.idle)  # the idle spell being measured
        after = {name: cpu_seconds(pid) for name, pid in procs.items()}
        print(f"idle for {args.idle:.0f} s:")
        for name in procs:
            pct = (after[name] - before[name]) / args.idle * 100
            print(f"  {name:<9} {pct:5.2f} % CPU")
    daemon.stop()


def workers_of(daemon) -> list[int]:
    """The daemon's worker processes (and its template, which forks them):
    Python processes of bocd.template or bocd.worker whose BOCD_SOCKET is
    the daemon's."""
    mark = f"BOCD_SOCKET={daemon.socket}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if (b"bocd.template" in cmd or b"bocd.worker" in cmd) and mark in env:
            found.append(int(entry))
    return sorted(found)


def start_strace(pid: int):
    if shutil.which("strace") is None:
        sys.exit("--strace needs strace")
    out = tempfile.NamedTemporaryFile(suffix=".strace", delete=False)
    proc = subprocess.Popen(["strace", "-c", "-f", "-o", out.name, "-p",
                             str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # strace attaches asynchronously; nothing to wait on
    return proc, out.name


def report_strace(tracer, n: int) -> None:
    proc, path = tracer
    proc.send_signal(signal.SIGINT)
    proc.wait()
    print("daemon system calls per behavior (strace -c):")
    total = 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[-1].isidentifier() and \
                    parts[3].isdigit() and parts[-1] != "total":
                calls = int(parts[3])
                total += calls
                print(f"  {parts[-1]:<14} {calls / n:7.3f}")
    print(f"  {'all':<14} {total / n:7.3f}")
    os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())

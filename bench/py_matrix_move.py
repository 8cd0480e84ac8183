"""A 100 MB Matrix in a cown, updated in place (+= 1) by 100 behaviors in
sequence: how fast, and how many bytes go through the daemon's sockets.

The matrix lives in one shared-memory blob; each behavior's worker maps it
and updates it there, and the commit names the same blob again, so only
names and ids cross the socket. Pass 1 times the run; pass 2 repeats it
with strace on the daemon (every thread) and sums what its read, write,
sendmsg and recvmsg calls (and their relatives) moved: the whole traffic
of the program and the workers, which all goes through the daemon. Then,
if bocpy 0.14 is installed (bench/.venv-bocpy, Python 3.13), the same run
on bocpy's Matrix in-process.

    .venv/bin/python bench/py_matrix_move.py [--behaviors 100] [--mb 100]
        [--bocpy-python /work/main/bench/.venv-bocpy/bin/python]
"""
import argparse
import os
import re
import signal
import subprocess
import tempfile
import time

BOCPY_RUN = """
import sys, time
from bocpy import Cown, Matrix, quiesce, wait, when

def main():
    rows, columns, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    c = Cown(Matrix(rows, columns))
    @when(c)
    def warm(c):
        c.value += 1.0
    quiesce()
    t0 = time.perf_counter()
    for _ in range(n):
        @when(c)
        def inc(c):
            c.value += 1.0
    quiesce()
    wall = time.perf_counter() - t0
    m = c.unwrap()
    ok = m[0, 0] == n + 1 and m[rows - 1, columns - 1] == n + 1
    print(wall, ok)
    wait()

if __name__ == "__main__":
    main()
"""

SOCKET_CALLS = "read,write,readv,writev,sendmsg,recvmsg,sendto,recvfrom"
RESULT = re.compile(r"\b(\w+)\(.*\)\s+=\s+(-?\d+)")


def run(c, n: int) -> float:
    from bocd import quiesce, when
    t0 = time.perf_counter()
    for _ in range(n):
        @when(c)
        def inc(c):
            v = c.value
            v += 1.0
    quiesce()
    return time.perf_counter() - t0


def traced(pid: int, out: str) -> subprocess.Popen:
    """strace on every thread of `pid`, once it is attached."""
    import bocd
    p = subprocess.Popen(["strace", "-f", "-qq", "-p", str(pid),
                          "-e", f"trace={SOCKET_CALLS}", "-o", out])
    deadline = time.monotonic() + 30
    while not (os.path.exists(out) and os.path.getsize(out) > 0):
        if time.monotonic() > deadline or p.poll() is not None:
            raise SystemExit("strace did not attach")
        bocd.runtime_stats()  # an admin round trip the daemon reads
    return p


def counted(pid: int, c, n: int) -> tuple[int, int]:
    """(calls, bytes) through the daemon's sockets while run(c, n) runs,
    with the probes that wait for strace to attach."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "strace.txt")
        tracer = traced(pid, trace)
        run(c, n)
        tracer.send_signal(signal.SIGINT)
        tracer.wait()
        return socket_bytes(trace)


def socket_bytes(path: str) -> tuple[int, int]:
    """(calls, bytes) of the successful calls strace logged."""
    calls = total = 0
    with open(path) as f:
        for line in f:
            m = RESULT.search(line)
            if m and int(m.group(2)) > 0:
                calls += 1
                total += int(m.group(2))
    return calls, total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--behaviors", type=int, default=100)
    p.add_argument("--mb", type=int, default=100)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--bocpy-python",
                   default="/work/main/bench/.venv-bocpy/bin/python")
    args = p.parse_args()
    columns = 5000
    rows = args.mb * 1_000_000 // 8 // columns
    size = rows * columns * 8
    n = args.behaviors

    from bocd._daemon import Daemon
    daemon = Daemon(workers=args.workers).start()
    os.environ["BOCD_SOCKET"] = daemon.socket
    from bocd import Cown, quiesce, when
    from bocd._matrix import Matrix

    print(f"Matrix {rows}x{columns} ({size / 1e6:.0f} MB), {n} behaviors "
          f"updating it in place, {args.workers} worker(s)")
    c = Cown(Matrix(rows, columns))

    @when(c)
    def warm(c):  # the worker maps the blob and faults its pages in
        v = c.value
        v += 1.0

    quiesce()
    wall = run(c, n)
    print(f"bocd:  {wall:.3f} s, {n / wall:.1f} behaviors/s, "
          f"{n * size / wall / 1e9:.2f} GB/s updated")

    calls, total = counted(daemon.pid, c, n)
    print(f"bocd:  daemon socket traffic for {n} more behaviors: "
          f"{total} bytes in {calls} calls ({total / n:.0f} bytes per "
          f"behavior; the matrix is {size} bytes)")
    tiny = Cown(Matrix(1, 1))
    tcalls, ttotal = counted(daemon.pid, tiny, n)
    print(f"bocd:  the same on a 1x1 Matrix: {ttotal} bytes in {tcalls} "
          f"calls ({ttotal / n:.0f} bytes per behavior)")
    if total >= size:
        print("       value bytes went through the socket!")

    with c as m:
        expect = 2 * n + 1
        ok = m[0, 0] == expect and m[rows - 1, columns - 1] == expect
    print(f"bocd:  values {'correct' if ok else 'WRONG'}")

    if os.path.exists(args.bocpy_python):
        out = subprocess.run(
            [args.bocpy_python, "-c", BOCPY_RUN, str(rows), str(columns),
             str(n)], capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print(f"bocpy: failed: {out.stderr.strip()[-500:]}")
        else:
            bwall, bok = out.stdout.split()[-2:]
            bwall_s = float(bwall)
            print(f"bocpy: {bwall_s:.3f} s, {n / bwall_s:.1f} behaviors/s, "
                  f"{n * size / bwall_s / 1e9:.2f} GB/s updated "
                  f"(values {'correct' if bok == 'True' else 'WRONG'})")
    daemon.stop()


if __name__ == "__main__":
    main()

"""Python benchmark of the Ray executor (docs/cluster.md): W1, W3 and W5 of
bench/py_bench.py, in one run, on

  local      bocd with local workers (--workers K)
  bocd-ray   bocd --executor ray --workers 0 in front of a local Ray cluster
             of K CPUs (--executor-slots K)
  ray        plain Ray tasks doing the same work, on the same cluster

for K = 1 and 2. Plain Ray's W3 submits each transfer as an independent
task that computes the two new balances from the ones known when it was
submitted: nothing orders or isolates the transfers, so the total is not
conserved and is not checked (bocd's is). Each figure is the median of
--repeat runs, interleaved so that a slow spell of the machine falls on
every peer. The bridge's overhead per behavior is bocd-ray's W1 time per
behavior less plain Ray's time per task.

    .venv/bin/python bench/py_ray.py                  # --n 0.1: 2,000 / 20
    .venv/bin/python bench/py_ray.py --n 0.05 --repeat 3

Needs Ray in this environment (pip install bocd[ray]). Starts its own
clusters (ray start --head --block on 127.0.0.1, its own temp dir) and
stops them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import py_bench_child as child  # noqa: E402  (stdlib-only top level)

WORKLOADS = {"W1": 20_000, "W3": 20_000, "W5": 200}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """`ray start --head --block`: its process group is the cluster."""

    def __init__(self, cpus: int) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = tempfile.mkdtemp(prefix="bocd-ray-", dir="/tmp")
        ray_cli = str(Path(sys.executable).with_name("ray"))
        self.proc = subprocess.Popen(
            [ray_cli, "start", "--head", "--block", "--node-ip-address",
             "127.0.0.1", "--port", str(self.port), "--num-cpus", str(cpus),
             "--temp-dir", self.temp, "--include-dashboard", "false",
             "--disable-usage-stats"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
            # A cluster on this machine only: no token to hand to drivers.
            env=dict(os.environ, RAY_AUTH_MODE="disabled",
                     RAY_USAGE_STATS_ENABLED="0"))
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "Ray runtime started" in line:
                return
        raise RuntimeError("ray start failed")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.temp, ignore_errors=True)  # its logs and sockets


# ------------------------------------------------------------- child side

def run_bocd_ray(args: argparse.Namespace) -> None:
    from bocd._daemon import Daemon
    d = Daemon(socket_path=None, workers=0, log_file=None,
               extra_args=("--executor", "ray", "--ray-address", args.address,
                           "--executor-slots", str(args.workers)))
    d.start()
    os.environ["BOCD_SOCKET"] = str(d.socket)
    import bocd
    emit = child.make_emitter("bocd-ray", args.workers)
    try:
        child.boc_warmup(bocd, args.workers)
        for name in args.workloads:
            emit(name, lambda: child.BOC_WORKLOADS[name](
                bocd, args.sizes[name], args))
        bocd.wait()
    finally:
        d.stop()


def _ray_inc(c: int) -> int:
    return c + 1


def _ray_transfer(a: int, b: int, amount: int) -> tuple[int, int]:
    return (a - amount, b + amount) if a >= amount else (a, b)


def run_plain_ray(args: argparse.Namespace) -> None:
    import ray
    ray.init(address=args.address, logging_level="ERROR",
             configure_logging=False)
    inc = ray.remote(_ray_inc)
    transfer = ray.remote(num_returns=2)(_ray_transfer)
    spin = ray.remote(child.spin)
    emit = child.make_emitter("ray", args.workers)
    ray.get([spin.remote(20000) for _ in range(8 * args.workers)])  # warm

    def w1(n: int) -> dict:
        t0 = time.perf_counter()
        out = ray.get([inc.remote(0) for _ in range(n)])
        s = time.perf_counter() - t0
        return child.result("W1", n, s, sum(out) == n, f"sum {sum(out)} of {n}")

    def w3(n: int) -> dict:
        balances = [child.OPENING_BALANCE] * child.ACCOUNTS
        t0 = time.perf_counter()
        refs = [transfer.remote(balances[a], balances[b], amount)
                for a, b, amount in child.make_transfers(n)]
        ray.get([r for pair in refs for r in pair])
        s = time.perf_counter() - t0
        return child.result("W3", n, s, True,
                            "no atomicity: independent tasks, total not "
                            "conserved (not checked)")

    def w5(n: int) -> dict:
        t0 = time.perf_counter()
        out = ray.get([spin.remote(args.spin_iters) for _ in range(n)])
        s = time.perf_counter() - t0
        ok = sum(out) == n * child.spin(args.spin_iters)
        return child.result("W5", n, s, ok, "all results right" if ok
                            else "wrong results")

    table = {"W1": w1, "W3": w3, "W5": w5}
    for name in args.workloads:
        emit(name, lambda: table[name](args.sizes[name]))
    ray.shutdown()


# ------------------------------------------------------------ driver side

def run_child(peer: str, workers: int, address: str, sizes: dict,
              spin_iters: int) -> list[dict]:
    size_arg = ",".join(f"{k}={v}" for k, v in sizes.items())
    common = ["--workloads", ",".join(sizes), "--sizes", size_arg,
              "--workers", str(workers), "--spin-iters", str(spin_iters)]
    if peer == "local":
        cmd = [sys.executable, str(HERE / "py_bench_child.py"), "bocd", *common]
    else:
        cmd = [sys.executable, __file__, "--child", peer, "--address", address,
               *common]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    out = [json.loads(line[7:]) for line in p.stdout.splitlines()
           if line.startswith("RESULT ")]
    if p.returncode != 0 or not out:
        sys.stderr.write(f"{peer} x{workers} failed:\n{p.stderr[-3000:]}\n")
    for r in out:
        r["peer"] = "local" if peer == "local" else peer
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=float, default=0.1,
                   help="scale of the workload counts (W1/W3 20,000, W5 200)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--child", choices=["bocd-ray", "ray"])
    p.add_argument("--address", default="")
    p.add_argument("--workloads", default="W1,W3,W5")
    p.add_argument("--sizes", default="")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--spin-iters", type=int, default=0)
    args = p.parse_args()
    if args.child:
        args.workloads = args.workloads.split(",")
        args.sizes = {k: int(v) for k, v in
                      (kv.split("=") for kv in args.sizes.split(","))}
        (run_bocd_ray if args.child == "bocd-ray" else run_plain_ray)(args)
        return
    sizes = {w: max(1, int(n * args.n)) for w, n in WORKLOADS.items()}
    sizes["W5"] = max(4, int(WORKLOADS["W5"] * max(args.n, 0.1)))
    spin_iters = child_spin_iters()
    print(f"sizes {sizes}, W5 spin {spin_iters} iterations (~5 ms), "
          f"repeat {args.repeat}", flush=True)
    results: dict[tuple[str, int, str], list[float]] = {}
    checks: dict[tuple[str, int, str], str] = {}
    for cpus in (1, 2):
        cluster = Cluster(cpus)
        try:
            for _ in range(args.repeat):
                for peer in ("local", "bocd-ray", "ray"):
                    for r in run_child(peer, cpus, cluster.address, sizes,
                                       spin_iters):
                        key = (r["peer"], cpus, r["workload"])
                        if "error" in r:
                            checks[key] = r["error"]
                            continue
                        results.setdefault(key, []).append(r["seconds"])
                        checks[key] = ("ok " if r["ok"] else "FAILED ") + \
                            r["check"]
        finally:
            cluster.stop()
    report(results, checks, sizes)


def child_spin_iters() -> int:
    iters = 100_000
    t0 = time.perf_counter()
    child.spin(iters)
    return max(1000, int(iters * 0.005 / (time.perf_counter() - t0)))


def report(results: dict, checks: dict, sizes: dict) -> None:
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"\n{'peer':9} {'cpus':>4} {'work':4} {'seconds':>9} "
          f"{'per item':>11}  check")
    for key in sorted(checks):
        peer, cpus, w = key
        if key in med:
            per = med[key] / sizes[w] * 1e6
            print(f"{peer:9} {cpus:>4} {w:4} {med[key]:9.3f} {per:9.0f} us"
                  f"  {checks[key]}")
        else:
            print(f"{peer:9} {cpus:>4} {w:4} {'-':>9} {'-':>11}  {checks[key]}")
    for cpus in (1, 2):
        a, b = med.get(("bocd-ray", cpus, "W1")), med.get(("ray", cpus, "W1"))
        if a is not None and b is not None:
            print(f"bridge overhead per behavior ({cpus} CPU): "
                  f"{(a - b) / sizes['W1'] * 1e6:.0f} us "
                  f"(bocd-ray W1 less plain Ray W1, per item)")
    for peer in ("local", "bocd-ray", "ray"):
        one, two = med.get((peer, 1, "W5")), med.get((peer, 2, "W5"))
        if one and two:
            print(f"W5 speed-up 1 -> 2 CPUs, {peer}: {one / two:.2f}x")


if __name__ == "__main__":
    main()

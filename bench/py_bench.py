"""Python benchmark: bocd against process pools, Dask and bocpy.

Run it with the interpreter that has bocd installed:

    .venv/bin/python bench/py_bench.py                  # everything, full size
    .venv/bin/python bench/py_bench.py --n 0.05         # a quick, small run
    .venv/bin/python bench/py_bench.py --only W1,W4 --peers bocd,pool
    .venv/bin/python bench/py_bench.py --only W1 --peers bocd,pool --repeat 5

Workloads (counts are multiplied by --n):
  W1  20,000 independent tiny behaviors (each increments its own counter)
  W2  5,000 behaviors on one cown, checked to run in submission order
  W3  20,000 transfers between random pairs of 100 accounts; total conserved
  W4  schedule one behavior and read its result, 1,000 times: median, p99
  W5  200 behaviors of ~5 ms of pure-Python CPU, 1 and 2 workers: speedup
  W6  a 100 MB numpy array in a cown, += 1 in place by 100 behaviors: GB/s

Peers, each in its own process per worker count (bench/py_bench_child.py):
  bocd   a private daemon (bocd._daemon.Daemon) with --workers workers
  pool   multiprocessing.Pool: one apply_async per behavior; W2/W4/W6 wait
         for each result before the next call (a pool has no ordering); W3
         uses shared memory and one lock per account; W6 shared memory
  ppe    concurrent.futures.ProcessPoolExecutor, same as pool
  dask   distributed.LocalCluster of worker processes; W2, W3 and W6 as
         chains of futures (dataflow), the rest as independent tasks.
         Installed into this environment with pip when missing.
  bocpy  bocpy from PyPI on Python >= 3.10 (3.13 preferred), in its own
         virtual environment bench/.venv-bocpy, created on first use. W6
         uses bocpy.Matrix: numpy cannot be imported in sub-interpreters.
Variants (not in the default set; name them with --peers):
  bocd-socket  bocd with BOCD_TRANSPORT=socket: every frame through the
               UNIX socket, no shared-memory rings (the transport before
               rings, for before/after figures in one run)
  bocd-3.13    bocd on Python 3.13, from the virtual environment given by
               --bocd-313 (default .venv-3.13 in the repository)
  bocpy-3.11   bocpy on Python 3.11 (one GIL: its workers take turns), in
               bench/.venv-bocpy-3.11, created on first use
  bocd-spin-N  bocd whose daemon runs with --spin-us N (the default is the
               daemon's own, 200), to choose the spin budget
  bocd-chain-N bocd whose daemon runs with --chain-depth N (0: no pipelined
               dispatch, for before/after figures in one run)
A peer that cannot be set up is skipped with the reason; one that fails
to start or run (a daemon refusing its options, say) has its errors
printed in full after the tables. Every workload checks its result (W2
order, W3 conservation, ...) and prints the check.
The "bocd vs" column is how many times better bocd is than that peer
(rate ratio; for W4 latency ratio; for W5 speedup ratio). With --repeat N
every peer runs N times, in interleaved rounds (so a slow spell of the
machine falls on all of them), and each figure is the median run, with
the range of the N shown: one run on a shared VM can swing by a third.
"""

import argparse
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
CHILD = HERE / "py_bench_child.py"
BOCPY_VENV = HERE / ".venv-bocpy"
PEERS = ["bocd", "pool", "ppe", "dask", "bocpy"]
VARIANTS = ["bocd-socket", "bocd-3.13", "bocpy-3.11"]
# What each peer name runs in the child: its kind and extra environment.
KIND = {"bocd-socket": "bocd", "bocd-3.13": "bocd", "bocpy-3.11": "bocpy"}
EXTRA_ENV = {"bocd-socket": {"BOCD_TRANSPORT": "socket"}}
WORKLOADS = {
    "W1": (20_000, "independent tiny behaviors, wait for all"),
    "W2": (5_000, "behaviors on one cown, in submission order"),
    "W3": (20_000, "transfers between random pairs of 100 accounts"),
    "W4": (1_000, "schedule one behavior and read its result"),
    "W5": (200, "behaviors of ~5 ms pure-Python CPU, 1 vs 2 workers"),
    "W6": (100, "in-place += 1 of a {mb} MB array in a cown, in sequence"),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------- peer set-up

def run_quiet(cmd, **kw):
    """Run ``cmd``; return (ok, the last line of its output)."""
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:]
    return proc.returncode == 0, "".join(tail)


def setup_bocd():
    ok, out = run_quiet([sys.executable, "-c", "import bocd._daemon, bocd"])
    return (sys.executable, None) if ok else (None, f"import bocd failed: {out}")


def setup_stdlib():
    return sys.executable, None


def setup_dask():
    probe = [sys.executable, "-c", "import distributed"]
    if run_quiet(probe)[0]:
        return sys.executable, None
    if sys.prefix == sys.base_prefix:
        return None, 'not installed (pip install "dask[distributed]")'
    log('installing "dask[distributed]" into this environment ...')
    ok, out = run_quiet([sys.executable, "-m", "pip", "install", "-q",
                         "dask[distributed]"])
    if not ok or not run_quiet(probe)[0]:
        return None, f"pip install dask[distributed] failed: {out}"
    return sys.executable, None


def bocpy_base_python():
    """The newest CPython >= 3.10 found, 3.13 first (bocpy runs best there)."""
    candidates = [os.environ.get("BOCPY_PYTHON")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True,
                              text=True).stdout.strip()
        for minor in ("13", "12", "11", "10"):
            found = sorted(pathlib.Path(root, "versions").glob(f"3.{minor}.*"))
            candidates += [str(p / "bin" / f"python3.{minor}") for p in found]
    candidates += [shutil.which(f"python3.{m}") for m in ("13", "12", "11", "10")]
    if sys.version_info >= (3, 10):
        candidates.append(sys.executable)
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def setup_bocpy(venv=BOCPY_VENV, base=None):
    py = venv / "bin" / "python"
    probe = [str(py), "-c", "import bocpy"]
    if py.exists() and run_quiet(probe)[0]:
        return str(py), None
    base = base or bocpy_base_python()
    if base is None:
        return None, "no CPython >= 3.10 found (set BOCPY_PYTHON)"
    log(f"creating {venv} with {base} and pip install bocpy ...")
    ok, out = run_quiet([base, "-m", "venv", "--clear", str(venv)])
    if ok:
        ok, out = run_quiet([str(py), "-m", "pip", "install", "-q", "bocpy==0.14.0"])
    if not ok or not run_quiet(probe)[0]:
        return None, f"bocpy not installable: {out}"
    return str(py), None


def setup_bocpy_311():
    base = shutil.which("python3.11")
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True,
                              text=True).stdout.strip()
        found = sorted(pathlib.Path(root, "versions").glob("3.11.*"))
        base = str(found[-1] / "bin" / "python3.11") if found else base
    if base is None:
        return None, "no CPython 3.11 found"
    return setup_bocpy(HERE / ".venv-bocpy-3.11", base)


def setup_bocd_313(args):
    py = pathlib.Path(args.bocd_313) / "bin" / "python"
    ok, out = run_quiet([str(py), "-c", "import bocd._daemon, bocd"])
    return (str(py), None) if ok else (None, f"{py}: import bocd failed: {out}")


SETUP = {"bocd": setup_bocd, "pool": setup_stdlib, "ppe": setup_stdlib,
         "dask": setup_dask, "bocpy": setup_bocpy,
         "bocd-socket": setup_bocd, "bocpy-3.11": setup_bocpy_311}


# ------------------------------------------------------------ running peers

def calibrate_spin(target_s=0.005):
    """Iterations of py_bench_child.spin that take about ``target_s`` here."""
    sys.path.insert(0, str(HERE))
    from py_bench_child import spin
    best = min(timed(spin, 200_000) for _ in range(5))
    return max(1000, int(200_000 * target_s / best))


def timed(fn, *a):
    t0 = time.perf_counter()
    fn(*a)
    return time.perf_counter() - t0


def run_child(python, peer, workloads, workers, args):
    """Run one child process; return its results keyed by workload."""
    sizes = ",".join(f"{w}={args.sizes[w]}" for w in workloads)
    kind = "bocd" if daemon_args(peer) is not None else KIND.get(peer, peer)
    cmd = [python, str(CHILD), kind,
           "--workloads", ",".join(workloads),
           "--sizes", sizes, "--workers", str(workers),
           "--spin-iters", str(args.spin_iters)]
    log(f"  {peer} x{workers}: {','.join(workloads)}")
    # Own process group, so a hung child is killed with its pool or cluster.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env(peer, args),
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=args.timeout)
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        sys.stderr.write(tail_of(stderr))
        return {w: {"error": f"timed out after {args.timeout}s"}
                for w in workloads}
    found = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
            found[res["workload"]] = res
    if proc.returncode != 0 or len(found) < len(workloads) or args.verbose:
        sys.stderr.write(tail_of(stderr))
    err = f"child exited {proc.returncode}: {tail_of(stderr, 1).strip()}"
    return {w: found.get(w, {"error": err}) for w in workloads}


def tail_of(text, lines=15):
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join((text or "").splitlines()[-lines:]) + "\n"


def daemon_args(peer):
    """The daemon arguments of a bocd-spin-N or bocd-chain-N peer, else
    None."""
    for prefix, option in (("bocd-spin-", "--spin-us"),
                           ("bocd-chain-", "--chain-depth")):
        rest = peer[len(prefix):] if peer.startswith(prefix) else ""
        if rest.isdigit():
            return f"{option} {int(rest)}"
    return None


def child_env(peer, args):
    env = dict(os.environ)
    if daemon_args(peer) is not None:
        env["PY_BENCH_BOCD_ARGS"] = daemon_args(peer)
    env.pop("BOCD_SOCKET", None)  # the bocd child starts a private daemon
    env["PY_BENCH_W6_MB"] = str(args.w6_mb)
    env.update(EXTRA_ENV.get(peer, {}))
    if KIND.get(peer, peer) == "bocpy":
        env.pop("PYTHONPATH", None)
    return env


def run_peer(python, peer, args):
    """All workloads of one peer: W5 twice (1 and 2 workers), the rest once."""
    rest = [w for w in args.only if w != "W5"]
    out = run_child(python, peer, rest, args.workers, args) if rest else {}
    if "W5" in args.only:
        one = run_child(python, peer, ["W5"], 1, args)["W5"]
        two = run_child(python, peer, ["W5"], 2, args)["W5"]
        out["W5"] = combine_w5(one, two)
    return out


def combine_w5(one, two):
    if "error" in one or "error" in two:
        return {"error": one.get("error") or two.get("error")}
    return dict(seconds_1=one["seconds"], seconds_2=two["seconds"],
                speedup=one["seconds"] / two["seconds"],
                ok=one["ok"] and two["ok"], check=two["check"])


# ------------------------------------------------------------- reporting

def value_of(workload, res):
    """The number compared across peers, and whether higher is better."""
    if workload == "W4":
        return res["median_us"], False
    if workload == "W5":
        return res["speedup"], True
    if workload == "W6":
        return res["gbps"], True
    return res["n"] / res["seconds"], True


def describe(workload, res):
    if workload == "W4":
        return (f"median {res['median_us']:.1f} us, p99 {res['p99_us']:.1f} "
                f"us" + spread_of(workload, res))
    if workload == "W5":
        return (f"{res['speedup']:.2f}x  ({res['seconds_1']:.2f} s -> "
                f"{res['seconds_2']:.2f} s)" + spread_of(workload, res))
    if workload == "W6":
        text = f"{res['gbps']:.2f} GB/s  ({res['seconds']:.2f} s)"
    else:
        text = f"{res['n'] / res['seconds']:,.0f} /s  ({res['seconds']:.2f} s)"
    return text + spread_of(workload, res)


def spread_of(workload, res):
    """For a median of several runs: how many, and the range they gave."""
    if res.get("runs", 1) < 2:
        return ""
    lo, hi = res["range"]
    if workload == "W4":
        return f"  [median of {res['runs']}: {lo:.0f}-{hi:.0f} us]"
    if workload in ("W5", "W6"):
        return f"  [median of {res['runs']}: {lo:.2f}-{hi:.2f}]"
    return f"  [median of {res['runs']}: {lo:,.0f}-{hi:,.0f}]"


def median_result(runs, workload):
    """The median of one peer's runs of a workload (by the compared value;
    of an even number, the worse middle one), noting how many there were
    and their range; an error when none succeeded."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    higher = value_of(workload, ok[0])[1]
    ok.sort(key=lambda r: value_of(workload, r)[0], reverse=not higher)
    mid = dict(ok[(len(ok) - 1) // 2])  # worst first: the worse middle
    values = [value_of(workload, r)[0] for r in ok]
    mid["runs"], mid["range"] = len(ok), (min(values), max(values))
    return mid


def print_table(headers, rows):
    widths = [max(len(str(r[i])) for r in [headers] + rows)
              for i in range(len(headers))]
    for r in [headers] + rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


def report(results, skipped, args):
    print(f"\nbocd Python benchmark: --n {args.n}, --workers {args.workers}, "
          f"W5 spin {args.spin_iters} iterations (~5 ms)")
    for peer, reason in skipped.items():
        print(f"  skipped {peer}: {reason}")
    for w in args.only:
        print(f"\n{w}  {args.sizes[w]:,} {WORKLOADS[w][1].format(mb=args.w6_mb)}")
        bocd = results.get("bocd", {}).get(w)
        base = value_of(w, bocd) if bocd and "error" not in bocd else None
        rows = []
        for peer in [p for p in args.peers if p in results]:
            res = results[peer][w]
            if "error" in res:
                rows.append([peer, "error", "",
                             res["error"].splitlines()[0][:100]])
                continue
            val, higher = value_of(w, res)
            ratio = "" if base is None else \
                f"{(base[0] / val) if higher else (val / base[0]):.2f}x"
            check = ("ok  " if res["ok"] else "FAIL  ") + res["check"]
            rows.append([peer, describe(w, res), ratio, check])
        print_table(["peer", "result", "bocd vs", "check"], rows)
    report_errors(results)
    report_targets(results)


def report_errors(results):
    """Each peer's errors in full (a table shows the start of one line):
    why a peer could not run, e.g. its daemon refused its options."""
    seen = {}
    for peer, res in results.items():
        for w, r in res.items():
            if "error" in r:
                seen.setdefault((peer, r["error"].strip()), []).append(w)
    if seen:
        print("\nerrors:")
    for (peer, error), workloads in seen.items():
        text = error.replace("\n", "\n    ")
        print(f"  {peer} ({','.join(workloads)}): {text}")


def report_targets(results):
    """The figures our speed goals name, where both sides ran: "must" is
    what bocd has to reach, "target" what it aims for."""
    b = results.get("bocd", {})
    lines = []

    def ratio(w, peer):
        """How many times better bocd is than `peer` on `w`, or None."""
        mine, other = b.get(w), results.get(peer, {}).get(w)
        if not mine or not other or "error" in mine or "error" in other:
            return None
        (m, higher), (o, _) = value_of(w, mine), value_of(w, other)
        return m / o if higher else o / m

    def goal(w, peer, text):
        r = ratio(w, peer)
        if r is not None:
            lines.append(f"{w} bocd vs {peer} = {r:.2f}x ({text})")

    if b.get("W4") and "error" not in b["W4"]:
        lines.append(f"W4 bocd median = {b['W4']['median_us']:.1f} us")
    goal("W4", "pool", "must be >= 3.33, i.e. <= 0.3x Pool's latency")
    goal("W4", "bocpy", "target >= 1")
    goal("W1", "pool", "must be >= 6")
    goal("W1", "bocpy", "target >= 1")
    for w in ("W2", "W3"):
        goal(w, "bocpy-3.11", "must be >= 1")
        goal(w, "bocpy", "target >= 1")
    for w in ("W1", "W2", "W3", "W4"):
        goal(w, "bocd-socket", "rings against the socket transport")
    if b.get("W5") and "error" not in b["W5"]:
        lines.append(f"W5 bocd speedup = {b['W5']['speedup']:.2f}x (must be >= 1.8)")
    if lines:
        print("\ntargets")
        for line in lines:
            print("  " + line)


# ------------------------------------------------------------------ main

def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Run W1-W6 on bocd and its peers; print rates and ratios.",
        epilog="See the module docstring for what each workload and peer does.")
    p.add_argument("--only", default=",".join(WORKLOADS),
                   help="workloads to run, e.g. W1,W3 (default: all)")
    p.add_argument("--peers", default=",".join(PEERS),
                   help=f"peers to run (default: {','.join(PEERS)})")
    p.add_argument("--n", type=float, default=1.0,
                   help="scale factor for every workload's count")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                   help="worker processes per peer (W5 always uses 1 and 2)")
    p.add_argument("--w6-mb", type=int, default=100,
                   help="size of W6's array in MB (default 100)")
    p.add_argument("--timeout", type=float, default=900,
                   help="seconds before a peer's child process is abandoned")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs of every peer, interleaved; report medians")
    p.add_argument("--verbose", action="store_true",
                   help="show every child's stderr")
    p.add_argument("--bocd-313", default=str(HERE.parent / ".venv-3.13"),
                   help="virtual environment with bocd on Python 3.13, for "
                        "the bocd-3.13 peer")
    p.add_argument("--samples", metavar="FILE",
                   help="write every W4 latency of each peer's median run "
                        "to FILE (JSON), for bench/plot_w4.py")
    args = p.parse_args(argv)
    args.only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    args.peers = [x.strip() for x in args.peers.split(",") if x.strip()]
    bad = [w for w in args.only if w not in WORKLOADS] + \
          [x for x in args.peers
           if x not in PEERS + VARIANTS and daemon_args(x) is None]
    if bad:
        p.error(f"unknown workload or peer: {', '.join(bad)}")
    args.sizes = {w: max(1, round(WORKLOADS[w][0] * args.n)) for w in WORKLOADS}
    return args


def main(argv=None):
    args = parse_args(argv)
    args.spin_iters = calibrate_spin()
    pythons, skipped = {}, {}
    for peer in args.peers:
        setup = SETUP.get("bocd" if daemon_args(peer) is not None else peer)
        python, reason = setup() if setup else setup_bocd_313(args)
        if reason:
            log(f"skipping {peer}: {reason}")
            skipped[peer] = reason
            continue
        pythons[peer] = python
    runs = {peer: [] for peer in pythons}
    for r in range(max(1, args.repeat)):
        for peer, python in pythons.items():
            log(f"{peer} ({python})" + (f", run {r + 1} of {args.repeat}"
                                        if args.repeat > 1 else ""))
            runs[peer].append(run_peer(python, peer, args))
    results = {peer: {w: median_result([run[w] for run in peer_runs], w)
                      for w in args.only}
               for peer, peer_runs in runs.items()}
    report(results, skipped, args)
    if args.samples:
        samples = {peer: res["W4"].get("samples_us")
                   for peer, res in results.items() if "W4" in res}
        pathlib.Path(args.samples).write_text(json.dumps(
            {p: s for p, s in samples.items() if s}))
        log(f"W4 latencies written to {args.samples}")


if __name__ == "__main__":
    main()

"""The Ray executor (docs/cluster.md): a daemon started with `--executor ray
--workers 0` in front of a real local Ray cluster this module starts (one
head node, 2 CPUs, on 127.0.0.1 with its own temp dir) and stops.

Programs run as subprocesses against that daemon (this test process is a
program of the session's daemon). They check their own results and print
them; the tests check what they printed and the daemon's log.

Ray is heavy for these machines: one cluster and one daemon serve the whole
module. The module skips, saying why, only where Ray is not installed
(tools/test.sh installs it into .venv; `pip install bocd[ray]`).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from bocd._daemon import Daemon
from conftest import _child_env, explain, fifo_read
from test_examples import EXPECTED, ROOT, WITHOUT_GUI, args_and_pattern

ray = pytest.importorskip(
    "ray", reason="Ray is not installed in this interpreter's environment "
    "(tools/test.sh installs it into .venv only; pip install bocd[ray])")

# Starting a cluster and a program's bridge (ray.init) takes seconds on a
# loaded 2-core machine; this only guards against a hang.
RAY_GUARD = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray cluster: `ray start --head --block`, whose process group
    holds every process of the cluster, ended with it."""
    port = _free_port()
    # Ray's socket paths must stay short: a temp dir of its own under /tmp.
    temp = tempfile.mkdtemp(prefix="bocd-ray-", dir="/tmp")
    ray_cli = str(Path(sys.executable).with_name("ray"))
    # A test cluster on this machine only: no token to hand to its drivers.
    env = _child_env({"RAY_USAGE_STATS_ENABLED": "0",
                      "RAY_AUTH_MODE": "disabled"})
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", "--node-ip-address",
         "127.0.0.1", "--port", str(port), "--num-cpus", "2",
         "--temp-dir", temp, "--include-dashboard", "false",
         "--disable-usage-stats"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True)
    seen = []
    try:
        assert head.stdout is not None
        for line in head.stdout:  # ends when the head exits
            seen.append(line)
            if "Ray runtime started" in line:
                break
        else:
            pytest.fail("ray start failed:\n" + "".join(seen[-40:]))
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)  # its logs and sockets


@pytest.fixture(scope="module")
def ray_daemon(ray_address, tmp_path_factory):
    """A daemon that runs Python programs' behaviors on the cluster only."""
    logdir = tmp_path_factory.mktemp("bocd-ray-daemon")
    d = Daemon(socket_path=None, workers=0, log_file=str(logdir / "bocd.log"),
               extra_args=("--executor", "ray", "--ray-address", ray_address,
                           "--executor-slots", "2"))
    d.start()
    try:
        yield d
    finally:
        d.stop()


def _log(d: Daemon) -> str:
    return Path(d.log_file).read_text(errors="replace")


def _run(d: Daemon, script: Path, *args: str,
         cwd: Path | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True,
        timeout=RAY_GUARD, cwd=cwd or script.parent,
        env=_child_env({"BOCD_SOCKET": d.socket}))
    assert p.returncode == 0, explain(p) + "\n--- daemon log:\n" + _log(d)[-6000:]
    return p


def _script(where: Path, code: str) -> Path:
    where.mkdir(exist_ok=True)
    path = where / "program.py"
    path.write_text(textwrap.dedent(code))
    return path


BANK = """\
    import random, sys
    from bocd import Cown, wait, when

    def on_ray():
        import ray  # inside a Ray task, the worker's Ray is initialized
        return ray.is_initialized()

    random.seed(7)
    accounts = [Cown(100) for _ in range(8)]
    for _ in range(200):
        a, b = random.sample(accounts, 2)
        amount = random.randint(1, 30)

        @when(a, b)
        def transfer(a, b, amount=amount):
            if a.value >= amount:  # never overdrawn
                a.value -= amount
                b.value += amount

    log = Cown([])
    for i in range(40):
        @when(log)
        def append(log, i=i):
            log.value.append(i)

    @when(accounts)
    def total(accounts):
        return sum(x.value for x in accounts), on_ray()

    @when(log)
    def chain(log):
        return log.value

    wait()
    money, ray_ran = total.unwrap()
    print("total", money, "order kept", chain.unwrap() == list(range(40)),
          "on ray", ray_ran)
"""


def test_bank_transfers_conserve_the_total_and_keep_a_chains_order(
        ray_daemon, tmp_path):
    p = _run(ray_daemon, _script(tmp_path / "program", BANK))
    assert p.stdout.strip().splitlines()[-1] == \
        "total 800 order kept True on ray True", explain(p)
    log = _log(ray_daemon)
    assert re.search(r"executor bridge pid \d+ started for session", log), log
    assert not re.search(r"\bworker pid \d+ started", log), \
        "--workers 0: no local worker ran"


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_examples_run_on_the_ray_executor(ray_daemon, script):
    args, pattern = args_and_pattern(script)
    cmd = [sys.executable, "-c", WITHOUT_GUI, str(ROOT / "examples" / script),
           *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=RAY_GUARD,
                       cwd=ROOT, env=_child_env({"BOCD_SOCKET": ray_daemon.socket}))
    assert p.returncode == 0, explain(p) + "\n" + _log(ray_daemon)[-4000:]
    last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    assert re.fullmatch(pattern, last), explain(p)


KILLED = """\
    import os, sys
    from bocd import Cown, wait, when

    started, gate = sys.argv[1], sys.argv[2]
    c = Cown("committed")

    @when(c)
    def doomed(c, started=started, gate=gate):
        c.value = "uncommitted"
        with open(started, "w") as f:
            f.write(str(os.getpid()))
        open(gate).read()  # never opened: the test kills this process
        return "never"

    @when(c)
    def after(c):
        value = c.value
        c.value = "after ran"
        return value

    wait()
    print("after saw", after.unwrap())
    with doomed as v:
        print("doomed exception", doomed.exception)
        print("error", v)
"""


def test_a_ray_worker_killed_mid_behavior_fails_it_and_keeps_the_cowns(
        ray_daemon, tmp_path):
    # Not beside the script: Ray packs the script's directory (working_dir)
    # for the nodes, and would block opening a FIFO there.
    gates = tmp_path / "gates"
    gates.mkdir()
    started, gate = str(gates / "started"), str(gates / "gate")
    os.mkfifo(started)
    os.mkfifo(gate)
    script = _script(tmp_path / "program", KILLED)
    with subprocess.Popen(
            [sys.executable, str(script), started, gate], text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=script.parent,
            env=_child_env({"BOCD_SOCKET": ray_daemon.socket})) as child:
        pid = int(fifo_read(started, timeout=RAY_GUARD))
        os.kill(pid, signal.SIGKILL)  # the Ray worker running the body
        out, err = child.communicate(timeout=RAY_GUARD)
    assert child.returncode == 0, out + err + _log(ray_daemon)[-4000:]
    lines = out.strip().splitlines()
    assert lines[0] == "after saw committed", out + err
    assert lines[1] == "doomed exception True", out + err
    error = lines[2]
    assert "behavior lost" in error, error
    assert re.search(r"on Ray node [0-9a-f]{16,} \([0-9.]+\), worker "
                     rf"pid {pid}\b", error), f"names no node: {error}"


NUMPY_CHAIN = """\
    import numpy as np
    from bocd import Cown, wait, when

    big = Cown(np.zeros(1 << 20))  # 8 MiB
    for i in range(10):
        @when(big)
        def step(big):
            big.value += 1  # in place: the new value comes back to commit

    @when(big)
    def check(big):
        return float(big.value.min()), float(big.value.max())

    wait()
    print("values", check.unwrap())
"""


class _DaemonReads:
    """strace on the daemon: the bytes it reads (sockets and pipes) while
    the with-block runs."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid, self.out = pid, out

    def __enter__(self) -> "_DaemonReads":
        self.tracer = subprocess.Popen(
            ["strace", "-f", "-e", "trace=read,readv,recvmsg,recvfrom",
             "-e", "signal=none", "-o", str(self.out), "-p", str(self.pid)],
            stderr=subprocess.PIPE, text=True)
        assert self.tracer.stderr is not None
        said = self.tracer.stderr.readline()  # "... Process N attached ..."
        assert "attached" in said, said
        return self

    def __exit__(self, *exc: object) -> None:
        self.tracer.send_signal(signal.SIGINT)  # detaches
        self.tracer.wait(timeout=60)

    def total(self) -> int:
        sizes = re.findall(r"^\d+\s+\w+\(.*\)\s+=\s+(\d+)",
                           self.out.read_text(errors="replace"), re.M)
        return sum(int(n) for n in sizes)


def test_a_large_numpy_value_goes_into_the_object_store_once(
        ray_daemon, tmp_path):
    if shutil.which("strace") is None:
        pytest.skip("strace is needed to count the bytes the daemon reads")
    before = _log(ray_daemon)
    with _DaemonReads(ray_daemon.pid, tmp_path / "reads") as reads:
        p = _run(ray_daemon, _script(tmp_path / "program", NUMPY_CHAIN))
    assert p.stdout.strip().splitlines()[-1] == "values (10.0, 10.0)", explain(p)
    log = _log(ray_daemon)[len(before):]
    puts = re.findall(r"put cown (\d+)'s value in the object store "
                      r"\((\d+) bytes\)", log)
    # 11 behaviors read the 8 MiB value, 10 of them changed it: the bridge
    # put it in the store once, and each later behavior took the object
    # the previous task returned.
    assert len(puts) == 1, log
    assert int(puts[0][1]) >= 8 << 20
    # Nor did any of its 11 versions cross the daemon's socket (new values
    # are committed in shared-memory blobs): all it read in that time is
    # far less than one copy.
    assert reads.total() < 1 << 20, reads.total()


def test_serve_says_the_cluster_is_unreachable_and_exits(tmp_path):
    from bocd._daemon import binary
    nobody = f"127.0.0.1:{_free_port()}"  # nothing listens there
    p = subprocess.run(
        [binary(), "serve", "--foreground", "--socket",
         str(tmp_path / "bocd.sock"), "--workers", "0", "--python",
         sys.executable, "--executor", "ray", "--ray-address", nobody],
        capture_output=True, text=True, timeout=RAY_GUARD,
        env=_child_env({"BOCD_SOCKET": None}))
    assert p.returncode != 0, explain(p)
    assert f"the Ray cluster at {nobody} is unreachable" in p.stderr, explain(p)
    assert not (tmp_path / "bocd.sock").exists()


BRIDGE_KILLED = """\
    import sys
    from bocd import Cown, wait, when

    started, gate = sys.argv[1], sys.argv[2]
    c = Cown("committed")

    @when(c)
    def doomed(c, started=started, gate=gate):
        c.value = "uncommitted"
        with open(started, "w") as f:
            f.write("running")
        open(gate).read()  # never opened: the test kills the bridge
        return "never"

    @when(c)
    def after(c):
        return c.value

    wait()
    print("after saw", after.unwrap())
    with doomed as v:
        print("doomed exception", doomed.exception)
        print("error", v)
"""


def test_a_bridge_killed_mid_behavior_fails_it_and_another_bridge_serves(
        ray_daemon, tmp_path):
    gates = tmp_path / "gates"  # not in the directory Ray packs (see above)
    gates.mkdir()
    started, gate = str(gates / "started"), str(gates / "gate")
    os.mkfifo(started)
    os.mkfifo(gate)
    script = _script(tmp_path / "program", BRIDGE_KILLED)
    before = len(_log(ray_daemon))
    with subprocess.Popen(
            [sys.executable, str(script), started, gate], text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=script.parent,
            env=_child_env({"BOCD_SOCKET": ray_daemon.socket})) as child:
        fifo_read(started, timeout=RAY_GUARD)  # the body runs on the cluster
        bridges = re.findall(r"executor bridge pid (\d+) started",
                             _log(ray_daemon)[before:])
        assert len(bridges) == 1, _log(ray_daemon)[before:]
        os.kill(int(bridges[0]), signal.SIGKILL)
        out, err = child.communicate(timeout=RAY_GUARD)
    log = _log(ray_daemon)[before:]
    assert child.returncode == 0, out + err + log
    lines = out.strip().splitlines()
    assert lines[0] == "after saw committed", out + err
    assert lines[1] == "doomed exception True", out + err
    assert f"(pid {bridges[0]}, bocd.ray_bridge" in lines[2], lines[2]
    assert re.search(rf"executor bridge pid {bridges[0]} \(session \d+'s\) "
                     r"was killed by signal 9", log), log
    again = re.findall(r"executor bridge pid (\d+) started", log)
    assert len(again) == 2 and again[1] != bridges[0], log

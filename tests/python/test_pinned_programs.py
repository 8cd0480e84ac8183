"""Two programs with pinned cowns on one daemon (docs/python.md
"Pinned cowns"): each program's pinned behaviors run in that program, on
its main thread, also when a worker behavior schedules them, and only that
program pumps them.

Each child makes its own PinnedCowns and schedules worker behaviors that
schedule back onto them. The test holds both children in the middle of a
pinned body at once (FIFOs, no sleeps), so both sessions are open and both
have pinned work in flight at the same time, which the daemon's status
shows; then lets both finish and compares what each recorded.

A second pair tries to share a PinnedCown: program B learns the id of A's
cown holding it, and is refused (a program may name only its own cowns).
"""
from __future__ import annotations

import json
import re
import select
import subprocess
import sys

from conftest import GUARD, daemon_status, explain, fifo_read, fifo_write

ROUNDS = 12
HOMES = 2

CHILD = r"""
import json, os, sys, threading
import bocd
from bocd import Cown, PinnedCown, when

TAG, STARTED, GATE, ROUNDS, HOMES, FINISH = sys.argv[1:7]
ROUNDS, HOMES, HALF = int(ROUNDS), int(HOMES), int(ROUNDS) // 2
PID, MAIN = os.getpid(), threading.get_ident()

homes = [PinnedCown([]) for _ in range(HOMES)]
ids = [id(h.value) for h in homes]
counter = Cown(0)                       # regular, held with a home
chains = [Cown(None) for _ in range(HOMES)]
hops = []
for i in range(ROUNDS):
    for k in range(HOMES):
        # On a worker: schedules the way back home while it holds its
        # chain, so the behaviors on one home are scheduled in round order.
        @when(chains[k])
        def out(chain, home=homes[k], counter=counter, tag=TAG, i=i, k=k,
                half=HALF, started=STARTED, gate=GATE):
            wpid = os.getpid()

            @when(home, counter)
            def back(h, n, tag=tag, i=i, k=k, wpid=wpid, half=half,
                     started=started, gate=gate):
                h.value.append([tag, k, i, os.getpid(),
                                threading.get_ident(), wpid])
                n.value += 1
                if k == 0 and i == half:
                    # Held here (on this program's main thread, inside the
                    # pump) until the test has seen both programs held.
                    with open(started, "w") as f:
                        f.write(str(os.getpid()))
                    open(gate).read()
                return os.getpid()
            return wpid, back
        hops.append(out)

if FINISH == "wait":
    bocd.wait()
else:
    bocd.quiesce()
outs = [h.unwrap() for h in hops]
backs = [b.unwrap() for _, b in outs]
with counter as n:
    count = n
print(json.dumps({
    "pid": PID, "main": MAIN, "logs": [h.value for h in homes],
    "same_lists": [id(h.value) for h in homes] == ids,
    "worker_pids": [w for w, _ in outs], "back_pids": backs, "count": count,
}), flush=True)
"""


def start_child(tag: str, started: str, gate: str, finish: str):
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, tag, started, gate, str(ROUNDS),
         str(HOMES), finish],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_programs_each_pump_only_their_own_pinned_work(fifo, bocd_daemon):
    tags = {"A": "quiesce", "B": "wait"}
    started = {t: fifo(f"started-{t}") for t in tags}
    gate = {t: fifo(f"gate-{t}") for t in tags}
    children = {t: start_child(t, started[t], gate[t], finish)
                for t, finish in tags.items()}
    try:
        # Both programs sit inside a pinned body of their own, each in its
        # own pump: their pids say so.
        held = {t: int(fifo_read(started[t])) for t in tags}
        assert held == {t: c.pid for t, c in children.items()}

        status = daemon_status(bocd_daemon.socket)
        sessions = {s["pid"]: s for s in status["sessions"]}
        for t, c in children.items():
            assert c.pid in sessions, f"{t}'s session is not open: {status}"
            s = sessions[c.pid]
            assert s["role"] == "client"
            assert s["in_flight"] > 0, f"{t} has nothing in flight: {s}"

        for t in tags:
            fifo_write(gate[t])
        out = {}
        for t, c in children.items():
            stdout, stderr = c.communicate(timeout=GUARD)
            assert c.returncode == 0, f"{t}: exit {c.returncode}\n{stderr}"
            out[t] = json.loads(stdout)
    finally:
        for c in children.values():
            if c.poll() is None:
                c.kill()
                c.wait()

    # Every worker the daemon served, from its log: a snapshot of its status
    # misses one started after it (a later hop may start another).
    with open(bocd_daemon.log_file) as log:
        workers = {int(p) for p in
                   re.findall(r"connected: worker pid (\d+)", log.read())}
    pids = {t: o["pid"] for t, o in out.items()}
    assert pids == {t: c.pid for t, c in children.items()}
    for t, o in out.items():
        pid, main = o["pid"], o["main"]
        assert o["count"] == ROUNDS * HOMES, f"{t} ran {o['count']} pinned"
        assert o["same_lists"], f"{t}'s pinned values were replaced"
        assert set(o["back_pids"]) == {pid}, (
            f"{t}'s pinned behaviors ran in {set(o['back_pids'])}, "
            f"not in {t} (pid {pid}); pids: {pids}")
        assert pid not in o["worker_pids"]
        assert not set(o["worker_pids"]) & set(pids.values()), (
            "a worker behavior ran in a program")
        assert set(o["worker_pids"]) <= workers, (
            f"worker behaviors ran outside the daemon's workers {workers}")
        for k, log in enumerate(o["logs"]):
            # Each home holds exactly this program's entries for it, in
            # round order, each written in this program's main thread.
            assert [(e[0], e[1], e[2]) for e in log] == \
                [(t, k, i) for i in range(ROUNDS)], f"{t} home {k}: {log}"
            assert {(e[3], e[4]) for e in log} == {(pid, main)}, (
                f"{t} home {k} written elsewhere: {log}")
            assert [e[5] for e in log] == \
                o["worker_pids"][k::HOMES], "each hop names its worker"


OWNER = r"""
import json, os, sys, threading
import bocd
from bocd import Cown, PinnedCown, when

GATE = sys.argv[1]
p = PinnedCown([])
ident = id(p.value)
box = Cown(p)


@when(Cown(None))
def hold(c, gate=GATE):  # keeps this program busy, so quiesce() pumps on
    open(gate).read()


print(box._id, flush=True)
bocd.quiesce()
print(json.dumps({"pid": os.getpid(), "main": threading.get_ident(),
                  "log": p.value, "same_list": id(p.value) == ident}),
      flush=True)
"""

VISITOR = r"""
import sys
from bocd._cown import Cown as Handle
try:
    with Handle._from_id(int(sys.argv[1])) as theirs:  # the owner's box
        print("reached", theirs, flush=True)
except RuntimeError as e:
    print("refused:", e, flush=True)
"""


def test_another_program_cannot_reach_a_programs_pinned_cown(fifo):
    """Program B learnt the id of A's cown holding A's PinnedCown: it can
    neither open it nor so reach the PinnedCown, and A runs on unharmed,
    its pinned value untouched."""
    gate = fifo("owner-gate")
    owner = subprocess.Popen([sys.executable, "-c", OWNER, gate],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        ready, _, _ = select.select([owner.stdout], [], [], GUARD)
        assert ready, "the owner never reported its cown"
        box_id = owner.stdout.readline().strip()
        assert box_id, f"owner: {owner.stderr.read()}"
        visitor = subprocess.run([sys.executable, "-c", VISITOR, box_id],
                                 capture_output=True, text=True,
                                 timeout=GUARD)
        assert visitor.stdout.startswith("refused:"), explain(visitor)
        assert "another program's" in visitor.stdout, explain(visitor)
        fifo_write(gate)
        o_out, o_err = owner.communicate(timeout=GUARD)
        assert owner.returncode == 0, f"owner: {o_err}"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
    a = json.loads(o_out)
    assert a["pid"] == owner.pid
    assert a["log"] == [] and a["same_list"], a

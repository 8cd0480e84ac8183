"""Pipelined dispatch (docs/protocol.md "Pipelined dispatch"): behaviors
queued on a cown behind one running on a worker are sent to that worker
before it completes, and run over the value their predecessor left there.
Each sees its predecessor's write, a raising body's successor sees what the
daemon committed, and behaviors on two cowns inherit both.

To make a chain deterministic the program holds its cown (`with c as v`)
while it schedules: everything waits, and on release the daemon sends the
head and the rest behind it in one step. Those scenarios run in a child
with a private daemon whose bodies never count as long: on a loaded
machine a worker's first bodies may run over a millisecond, and the daemon
pipelines only behind short bodies."""

import json
import os

from bocd import Cown, when
from conftest import GUARD, explain, private_env, run_python, settle

HERE = os.path.dirname(os.path.abspath(__file__))


class Tally:
    """Pickles only `n`: `live` survives only in the object itself, so a
    body sees it grow only over the very object its predecessor left (a
    pipelined one), never over a copy that went through the daemon."""

    def __init__(self) -> None:
        self.n = 0
        self.live = 0

    def __getstate__(self) -> dict:
        return {"n": self.n}

    def __setstate__(self, state: dict) -> None:
        self.n = state["n"]
        self.live = 0


def tally_chain() -> dict:
    c = Cown(Tally())
    seen = []
    with c as v:
        for _ in range(5):

            @when(c)
            def step(c):
                t = c.value
                t.n += 1
                t.live += 1
                return t.n, t.live

            seen.append(step)
    got = [r.unwrap() for r in seen]
    with c as v:
        stored = (v.n, v.live)
    return {"got": got, "stored": stored}


def raise_in_chain() -> dict:
    c = Cown(Tally())
    with c as v:
        assert v.n == 0

        @when(c)
        def one(c):
            c.value.n += 1
            c.value.live += 1
            return c.value.n, c.value.live

        @when(c)
        def ten(c):
            c.value.n += 10
            c.value.live += 1
            raise ValueError("after writing")

        @when(c)
        def hundred(c):
            c.value.n += 100
            c.value.live += 1
            return c.value.n, c.value.live

        @when(c)
        def last(c):
            c.value.live += 1
            return c.value.n, c.value.live

    try:
        ten.unwrap()
        raised = ""
    except ValueError as e:
        raised = str(e)
    return {"one": one.unwrap(), "raised": raised,
            "hundred": hundred.unwrap(), "last": last.unwrap()}


def two_cowns() -> dict:
    x = Cown(Tally())
    y = Cown(Tally())
    with x as v:
        assert v.n == 0

        @when(x, y)
        def both(x, y):
            x.value.n += 1
            y.value.n += 1
            x.value.live += 1
            y.value.live += 1

        @when(x)
        def on_x(x):
            x.value.n += 1
            x.value.live += 1

        @when(y)
        def on_y(y):
            y.value.n += 1
            y.value.live += 1

        @when(x, y)
        def last(x, y):
            x.value.live += 1
            y.value.live += 1
            return ((x.value.n, x.value.live), (y.value.n, y.value.live))

    return {"last": last.unwrap()}


def worker_dies_in_chain() -> dict:
    c = Cown(0)
    with c as v:
        assert v == 0

        @when(c)
        def dies(c):
            c.value += 1
            os._exit(3)  # the worker goes, with what was pipelined behind

        lost = []
        for _ in range(3):

            @when(c)
            def behind(c):
                c.value += 10
                return c.value

            lost.append(behind)

    errors = []
    for r in [dies, *lost]:
        try:
            r.unwrap()
            errors.append("")
        except Exception as e:  # noqa: BLE001 - the error is the result
            errors.append(f"{type(e).__name__}: {e}")

    @when(c)
    def after(c):
        c.value += 100
        return c.value

    return {"errors": errors, "after": after.unwrap()}


CHILD = """
import json, os, sys
sys.path.insert(0, {here!r})
from bocd._daemon import Daemon
d = Daemon(socket_path=None, workers=1, log_file=None,
           extra_args=("--pipeline-below-us", "-1", "--stall-ms", "0"))
d.start()
os.environ["BOCD_SOCKET"] = str(d.socket)
try:
    import test_chain
    print(json.dumps(test_chain.{scenario}()))
finally:
    d.stop()
"""


def run_scenario(tmp_path, scenario: str) -> dict:
    p = run_python(CHILD.format(here=HERE, scenario=scenario),
                   private_env(tmp_path), timeout=GUARD)
    assert p.returncode == 0, explain(p)
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_a_chain_runs_over_the_object_its_predecessor_left(tmp_path):
    out = run_scenario(tmp_path, "tally_chain")
    assert [n for n, _ in out["got"]] == [1, 2, 3, 4, 5]
    # The head was sent the stored value; the four behind it inherited the
    # object it left, `live` and all.
    assert [live for _, live in out["got"]] == [1, 2, 3, 4, 5], out
    assert out["stored"] == [5, 0], "the daemon stored every write"


def test_the_successor_of_a_raising_body_sees_the_committed_value(tmp_path):
    out = run_scenario(tmp_path, "raise_in_chain")
    assert out["one"] == [1, 1]
    assert out["raised"] == "after writing"
    # A raising body's writes are committed (as in bocpy), but the object
    # it left may be half-changed: what follows it runs over the committed
    # value (a fresh object: `live` restarts), and then inherits again.
    assert out["hundred"] == [111, 1], out
    assert out["last"] == [111, 2], out


def test_a_behavior_on_two_cowns_inherits_both(tmp_path):
    out = run_scenario(tmp_path, "two_cowns")
    # Each cown went through `both`, its own behavior and `last`, all on
    # the objects left by the one before.
    assert out["last"] == [[2, 3], [2, 3]], out


def test_a_dead_worker_loses_its_chain_as_it_loses_one_behavior(tmp_path):
    out = run_scenario(tmp_path, "worker_dies_in_chain")
    # The body that killed its worker and the three sent behind it end as
    # a lost behavior does; the cown keeps its committed value, and the
    # next behavior runs on a new worker.
    assert len(out["errors"]) == 4
    for e in out["errors"]:
        assert "disconnected" in e, out
    assert out["after"] == 100, out


def test_each_of_1250_sees_its_predecessors_small_write():
    settle()
    state = Cown({"next": 0, "out_of_order": 0})
    n = 1250
    for i in range(n):

        @when(state)
        def step(s, i=i):
            v = s.value
            if v["next"] != i:
                v["out_of_order"] += 1
            v["next"] = i + 1

    with state as v:
        assert v == {"next": n, "out_of_order": 0}

"""start / wait / quiesce / WaitResult / WORKER_COUNT / stats
(docs/python.md "Processes" and "Compatibility with bocpy 0.14")."""

import json
import os
from pathlib import Path

import pytest

import bocd
from bocd import Cown, WaitResult, quiesce, start, wait, when
from conftest import (
    STAT_KEYS,
    GUARD,
    announce_and_wait,
    explain,
    held_at_gate,
    run_python,
    settle,
)



def test_public_names_have_docstrings():
    for name in ("Cown", "when", "whencall", "start", "wait", "quiesce", "WaitResult"):
        obj = getattr(bocd, name)
        assert obj.__doc__ and obj.__doc__.strip(), name
    assert isinstance(bocd.WORKER_COUNT, int)
    pkg = Path(bocd.__file__).parent
    assert (pkg / "py.typed").exists()


def test_worker_count_from_environment():
    code = "import bocd; print(bocd.WORKER_COUNT)"
    p = run_python(code, {"BOCD_WORKERS": "3"})
    assert p.returncode == 0, explain(p)
    assert p.stdout.strip() == "3"
    for bad in ("0", "-2", "many", None):
        p = run_python(code, {"BOCD_WORKERS": bad})
        assert p.returncode == 0, explain(p)
        assert int(p.stdout.strip()) >= 1, bad


def test_in_process_worker_count_matches_env():
    assert bocd.WORKER_COUNT == 2


def test_wait_with_nothing_started_returns_empty_forms():
    p = run_python(
        "import bocd\n"
        "print(repr(bocd.wait()))\n"
        "print(repr(bocd.wait(stats=True)))\n"
        "print(repr(bocd.wait(noticeboard=True)))\n"
        "r = bocd.wait(stats=True, noticeboard=True)\n"
        "print(type(r).__name__, r == bocd.WaitResult([], {}), r.stats, r.noticeboard)\n"
        "print(repr(bocd.quiesce()), repr(bocd.quiesce(stats=True)),"
        " repr(bocd.quiesce(noticeboard=True)))\n"
    )
    assert p.returncode == 0, explain(p)
    assert p.stdout.splitlines() == [
        "None",
        "[]",
        "{}",
        "WaitResult True [] {}",
        "None [] {}",
    ], explain(p)


def test_wait_after_wait_returns_empty_forms():
    @when()
    def something():
        return 1

    assert wait(timeout=GUARD) is None
    assert something.unwrap() == 1
    assert wait() is None
    assert wait(stats=True) == []
    assert wait(noticeboard=True) == {}
    assert wait(stats=True, noticeboard=True) == WaitResult([], {})


def test_wait_result_is_a_named_tuple():
    r = WaitResult([{"a": 1}], {"k": 2})
    stats, nb = r
    assert stats == [{"a": 1}] and nb == {"k": 2}
    assert r.stats is stats and r.noticeboard is nb
    assert WaitResult._fields == ("stats", "noticeboard")


def test_start_is_idempotent_and_rejects_a_different_worker_count():
    p = run_python(
        "import bocd\n"
        "bocd.start(worker_count=2)\n"
        "bocd.start()\n"
        "bocd.start(worker_count=2)\n"
        "try:\n"
        "    bocd.start(worker_count=3)\n"
        "except RuntimeError as e:\n"
        "    print('RuntimeError:', e)\n"
        "c = bocd.Cown(1)\n"
        "@bocd.when(c)\n"
        "def f(c):\n"
        "    return c.value + 1\n"
        "bocd.quiesce()\n"
        "print('result', f.unwrap())\n"
        "bocd.wait()\n"
    )
    assert p.returncode == 0, explain(p)
    assert (
        "was called but the runtime is already up with worker_count=2" in p.stdout
    ), explain(p)
    assert "start(worker_count=3)" in p.stdout
    assert "result 2" in p.stdout, explain(p)


def test_start_rejects_zero_and_negative_worker_counts():
    p = run_python(
        "import bocd\n"
        "for n in (0, -1):\n"
        "    try:\n"
        "        bocd.start(worker_count=n)\n"
        "    except Exception as e:\n"
        "        print(n, type(e).__name__, e)\n"
        "    else:\n"
        "        print(n, 'accepted')\n"
    )
    assert p.returncode == 0, explain(p)
    lines = p.stdout.splitlines()
    assert lines[0].startswith("0 RuntimeError Error starting worker pool"), explain(p)
    assert lines[1].startswith(
        "-1 ValueError scheduler_runtime_start: worker_count must be >= 0"
    ), explain(p)


def test_start_inside_a_behavior_raises():
    @when()
    def nested_start():
        bocd.start()

    settle()
    with pytest.raises(RuntimeError, match="main interpreter"):
        nested_start.unwrap()


@pytest.mark.parametrize("fn", ["wait", "quiesce"])
def test_wait_and_quiesce_inside_a_behavior_raise(fn):
    """Row 11."""

    @when()
    def inside(fn=fn):
        getattr(bocd, fn)()

    settle()
    with pytest.raises(RuntimeError) as e:
        inside.unwrap()
    assert fn in str(e.value)


def test_quiesce_timeout_raises_and_runtime_stays_usable(fifo):
    gate, started = fifo("gate"), fifo("started")
    c = Cown(0)

    @when(c)
    def slow(c, gate=gate, started=started):
        announce_and_wait(started, gate, "in")
        c.value = 1
        return "slow done"

    with held_at_gate(started, gate) as note:
        assert note == "in"
        with pytest.raises(TimeoutError) as e:
            quiesce(0.1)
        assert (
            "quiesce(): runtime did not reach quiescence within timeout=0.1"
            in str(e.value)
        )
    settle()
    assert slow.unwrap() == "slow done"

    @when(c)
    def after(c):
        return c.value + 1

    settle()
    assert after.unwrap() == 2


def test_zero_timeout_answers_whether_quiescent_now(fifo):
    """quiesce(0) on an idle program succeeds (it raised TimeoutError: the
    daemon's answer takes a round trip); on a busy one it raises."""
    p = run_python("import bocd\nbocd.start()\nprint(bocd.quiesce(0), "
                   "bocd.wait(0))\n")
    assert p.returncode == 0, explain(p)
    assert p.stdout.split() == ["None", "None"], explain(p)
    gate, started = fifo("gate"), fifo("started")

    @when(Cown(0))
    def slow(c, gate=gate, started=started):
        announce_and_wait(started, gate, "in")

    with held_at_gate(started, gate):
        with pytest.raises(TimeoutError):
            quiesce(0)
    settle()
    assert quiesce(0) is None
    assert wait(0) is None


def test_wait_timeout_raises_and_tears_nothing_down(fifo):
    """Row 1."""
    gate, started = fifo("gate"), fifo("started")
    c = Cown(0)

    @when(c)
    def slow(c, gate=gate, started=started):
        announce_and_wait(started, gate, "in")
        c.value = 5

    @when(c)
    def queued(c):
        return c.value * 2

    with held_at_gate(started, gate) as note:
        assert note == "in"
        with pytest.raises(TimeoutError):
            wait(timeout=0.1)
    settle()
    assert queued.unwrap() == 10  # the queued behavior was not dropped

    @when(c)
    def more(c):
        return c.value

    settle()
    assert more.unwrap() == 5


def test_quiesce_keeps_the_runtime_and_wait_restarts_it():
    c = Cown(0)

    @when(c)
    def one(c):
        c.value += 1

    assert quiesce(timeout=GUARD) is None

    @when(c)
    def two(c):
        c.value += 1
        return c.value

    settle()
    assert two.unwrap() == 2
    assert wait(timeout=GUARD) is None

    # Row 2: cowns keep their values; one a local names comes out of
    # wait() held by the program, as in bocpy.
    assert c.acquired is True
    assert c.value == 2
    with c as v:
        assert v == 2
    assert c.acquired is False, "leaving with released it"

    @when(c)  # auto-starts a fresh runtime
    def three(c):
        c.value += 1
        return c.value

    settle()
    assert three.unwrap() == 3


def test_quiesce_waits_for_everything_scheduled():
    cs = [Cown(0) for _ in range(20)]
    for c in cs:
        for _ in range(5):

            @when(c)
            def inc(c):
                c.value += 1

    settle()
    assert [c.unwrap() for c in cs] == [5] * 20


def test_quiesce_stats_have_the_documented_keys():
    for _ in range(10):

        @when(Cown(0))
        def f(c):
            return 1

    stats = quiesce(timeout=GUARD, stats=True)
    assert isinstance(stats, list)
    assert len(stats) == 2
    for d in stats:
        assert set(d) == STAT_KEYS
        assert all(isinstance(v, int) for v in d.values())
    assert sorted(d["worker_index"] for d in stats) == [0, 1]


def test_quiesce_with_both_flags_returns_wait_result():
    @when()
    def f():
        return 1

    r = quiesce(timeout=GUARD, stats=True, noticeboard=True)
    assert isinstance(r, WaitResult)
    stats, nb = r
    assert isinstance(stats, list) and len(stats) == 2
    assert isinstance(nb, dict)
    assert isinstance(quiesce(noticeboard=True), dict)


def test_wait_stats_after_a_two_worker_session():
    p = run_python(
        "import json, bocd\n"
        "cs = [bocd.Cown(i) for i in range(30)]\n"
        "for c in cs:\n"
        "    @bocd.when(c)\n"
        "    def f(c):\n"
        "        c.value += 1\n"
        "stats = bocd.wait(stats=True)\n"
        "print(json.dumps(stats))\n"
    )
    assert p.returncode == 0, explain(p)
    stats = json.loads(p.stdout.strip().splitlines()[-1])
    assert len(stats) == 2
    for d in stats:
        assert set(d) == STAT_KEYS
    pushed = sum(
        d["pushed_local"] + d["dispatched_to_pending"] + d["pushed_remote"]
        for d in stats
    )
    assert pushed >= 30


def test_behaviors_object_starts_quiesces_and_stops():
    """bocpy's Behaviors, a handle on this process's runtime."""
    wait(timeout=GUARD)
    b = bocd.Behaviors(2)
    assert b.num_workers == 2
    assert bocd.Behaviors().num_workers == bocd.WORKER_COUNT
    with b as same:
        assert same is b
        c = Cown(1)

        @when(c)
        def double(c):
            return c.value * 2

        assert b.quiesce(GUARD) is True
        assert double.unwrap() == 2
    # __exit__ stopped it: a new @when starts a fresh runtime.
    assert bocd.wait() is None


def test_a_clean_stop_of_a_service_logs_no_warning(tmp_path):
    """Stopping a service that forked workers from a program's template
    ends the template on purpose: the log says so at info, not as a
    warning an operator would chase."""
    from bocd._daemon import Daemon

    log = tmp_path / "bocd.log"
    d = Daemon(socket_path=str(tmp_path / "s.sock"), workers=1,
               log_file=str(log))
    d.start()
    try:
        p = run_python(
            "from bocd import Cown, when\n"
            "c = Cown(1)\n"
            "@when(c)\n"
            "def double(c):\n"
            "    return c.value * 2\n"
            "print(double.unwrap())\n",
            {"BOCD_SOCKET": str(d.socket)})
        assert p.stdout.strip() == "2", explain(p)
    finally:
        d.stop()
    text = log.read_text()
    assert "worker template" in text, text
    assert "the template for" in text and "stopped" in text, text
    warnings = [l for l in text.splitlines() if " warning " in l]
    assert warnings == [], text

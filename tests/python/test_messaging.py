"""Messaging: send, receive, drain, set_tags and TIMEOUT (docs/python.md
"Messaging", and the message rows of "Compatibility with bocpy 0.14").

bocd's decisions differ from bocpy: no tags are reserved for the runtime (16
user tags, also while a runtime is up), and queued messages and tag layouts
survive start() and wait(). Queues live in the daemon, one set per program:
this test process is one program for the whole pytest session, and its
behaviors (on the daemon's workers) share its queues. So every test uses
tag names of its own (`tag` fixture), and `clean_tags` resets the layout and
drops every queued message around each test.

Blocking receives are bounded by `hang_guard`: if one still waits after
GUARD seconds (a broken runtime), the guard sends UNBLOCK on its tag so the
test fails instead of hanging. No test sleeps to wait for an event.
"""

import collections
import contextlib
import gc
import os
import select
import subprocess
import sys
import threading
import time

import pytest

import bocd
from bocd import Cown, when
from conftest import (
    churn,
    GUARD,
    FifoWriter,
    explain,
    fifo_read,
    run_python,
    settle,
)

PID = os.getpid()
UNBLOCK = "__hang_guard__"  # what hang_guard sends; never a real message


def timed_out():
    return (bocd.TIMEOUT, None)


# Every test here starts and ends with the default tag layout (conftest).
pytestmark = pytest.mark.usefixtures("clean_tags")


@contextlib.contextmanager
def hang_guard(tag: str, n: int = 1):
    """Bounds the blocking receives on `tag` inside the block: if the block
    is still running after GUARD seconds, sends UNBLOCK there `n` times, so
    a receiver that was never woken returns (and the test fails on it)."""

    def fire():
        for _ in range(n):
            bocd.send(tag, UNBLOCK)

    timer = threading.Timer(GUARD, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


# ---------------------------------------------------------------- basics


def test_exported_names():
    for name in ("send", "receive", "drain", "set_tags"):
        assert name in bocd.__all__, name
        fn = getattr(bocd, name)
        assert callable(fn), name
        assert fn.__doc__ and fn.__doc__.strip(), name
    assert "TIMEOUT" in bocd.__all__
    assert bocd.TIMEOUT == "__timeout__"


def test_send_then_receive_returns_a_tuple(tag):
    t = tag()
    big = bytes(range(256)) * (3 * 4096)  # 3 MiB: more than an inline value
    assert bocd.send(t, 1) is None
    bocd.send(t, {"k": [1, 2.5, "s", None, (3, 4)]})
    bocd.send(t, big)
    got = bocd.receive(t, 0)
    assert type(got) is tuple
    assert got == (t, 1)
    assert bocd.receive(t, 0) == (t, {"k": [1, 2.5, "s", None, (3, 4)]})
    name, value = bocd.receive(t, 0)
    assert name == t and value == big
    assert bocd.receive(t, 0) == timed_out()


def test_fifo_per_tag_for_a_burst(tag):
    t = tag()
    for i in range(5000):
        bocd.send(t, i)
    got = [bocd.receive(t, 0) for _ in range(5000)]
    assert got == [(t, i) for i in range(5000)]
    assert bocd.receive(t, 0) == timed_out()


def test_tags_are_independent(tag):
    a, b, c = tag("a"), tag("b"), tag("c")
    for i in range(100):
        bocd.send(a, ("a", i))
        bocd.send(b, ("b", i))
        if i % 3 == 0:
            bocd.send(c, ("c", i))
    # Drain b first, then c, then a: each tag keeps its own order.
    assert [bocd.receive(b, 0) for _ in range(100)] == [(b, ("b", i)) for i in range(100)]
    assert bocd.receive(b, 0) == timed_out()
    assert [bocd.receive(c, 0) for _ in range(34)] == [
        (c, ("c", i)) for i in range(0, 100, 3)
    ]
    assert [bocd.receive(a, 0) for _ in range(100)] == [(a, ("a", i)) for i in range(100)]
    assert bocd.receive(a, 0) == bocd.receive(c, 0) == timed_out()


# ---------------------------------------------------------------- timeouts and after


def test_poll_on_an_empty_tag_returns_timeout(tag):
    t = tag()
    got = bocd.receive(t, 0)
    assert type(got) is tuple
    assert got == ("__timeout__", None)
    assert bocd.receive(t, 0.0) == timed_out()
    assert bocd.receive([t, tag("other")], 0) == timed_out()


def test_after_value_is_returned_unchanged_on_timeout(tag):
    t, fb = tag(), tag("fallback")
    calls = []
    marker = object()

    def after():
        calls.append(1)
        return marker

    assert bocd.receive(t, 0, after) is marker
    assert calls == [1]
    assert bocd.receive(t, 0, lambda: ("x", 1)) == ("x", 1)
    assert bocd.receive(t, 0, lambda: (fb, 99)) == (fb, 99)
    # after's pair is only returned: nothing is queued anywhere.
    assert bocd.receive(fb, 0) == timed_out()
    assert bocd.receive(t, 0) == timed_out()


def test_after_is_not_called_when_a_message_is_waiting(tag):
    t, other = tag(), tag("other")
    calls = []

    def after():
        calls.append(1)
        return ("x", 1)

    bocd.send(t, "here")
    assert bocd.receive(t, 0, after) == (t, "here")
    bocd.send(t, "again")
    assert bocd.receive([other, t], 0, after) == (t, "again")
    bocd.send(t, "timed")
    assert bocd.receive(t, GUARD, after) == (t, "timed")
    assert calls == []


@pytest.mark.parametrize("shape", ["one tag", "two tags", "after"])
def test_timed_receive_waits_at_least_the_timeout(tag, shape):
    timeout = 0.2
    tags = [tag("a"), tag("b")] if shape == "two tags" else tag("a")
    t0 = time.monotonic()
    if shape == "after":
        got = bocd.receive(tags, timeout, lambda: ("fallback", 7))
    else:
        got = bocd.receive(tags, timeout)
    elapsed = time.monotonic() - t0
    assert got == (("fallback", 7) if shape == "after" else timed_out())
    assert elapsed >= timeout, f"returned after {elapsed:.4f} s"


# ---------------------------------------------------------------- validation


def test_send_rejects_a_non_str_tag(tag):
    for bad in (123, b"bytes", None, (tag(),)):
        with pytest.raises(TypeError) as e:
            bocd.send(bad, 1)
        assert str(e.value) == "tag must be a str", repr(bad)


def test_receive_validates_tags_and_timeout(tag):
    t = tag()
    with hang_guard(t, n=10):  # a check that blocks instead of raising
        for empty in ([], ()):
            with pytest.raises(RuntimeError) as e:
                bocd.receive(empty, 0)
            assert str(e.value) == "tags must contain at least one value"
        for bad in ([123], [t, 123], (t, None)):
            with pytest.raises(TypeError) as e:
                bocd.receive(bad, 0)
            assert str(e.value) == "tags must contain only str objects", repr(bad)
        for bad in (123, {t}, b"bytes", None):
            with pytest.raises(TypeError) as e:
                bocd.receive(bad, 0)
            assert (
                str(e.value) == "tags must either be a single str or a list/tuple"
            ), repr(bad)
        with pytest.raises(TypeError) as e:
            bocd.receive(t, None)
        assert "must be real number, not NoneType" in str(e.value)
    assert bocd.receive(t, 0) == timed_out()


# ---------------------------------------------------------------- across processes


def test_worker_sends_and_main_receives_blocking(tag, fifo):
    t, gate = tag(), fifo("gate")

    @when()
    def producer(t=t, gate=gate):
        open(gate).read()
        for i in range(10):
            bocd.send(t, ("w", i))
        return os.getpid()

    with hang_guard(t, n=10):
        assert bocd.receive(t, 0) == timed_out()  # held at its gate
        opener = FifoWriter(gate)
        got = [bocd.receive(t) for _ in range(5)]
        got += [bocd.receive(t, -1) for _ in range(5)]
        opener.join()
    assert got == [(t, ("w", i)) for i in range(10)]
    settle()
    assert producer.unwrap() != PID
    assert bocd.receive(t, 0) == timed_out()


def test_main_sends_and_a_behavior_receives_blocking(tag, fifo):
    t, started = tag(), fifo("started")

    @when()
    def consumer(t=t, started=started):
        before = bocd.receive(t, 0)
        with open(started, "w") as f:
            f.write(str(os.getpid()))
        first = bocd.receive(t)
        second = bocd.receive(t)
        return before, first, second

    with hang_guard(t, n=2):
        pid = int(fifo_read(started))  # it polled: the tag was empty
        assert pid != PID
        bocd.send(t, "hello")
        bocd.send(t, ["world"])
        settle(2 * GUARD)
    before, first, second = consumer.unwrap()
    assert before == timed_out()
    assert (first, second) == ((t, "hello"), (t, ["world"]))


@pytest.mark.parametrize("form", ["timed, one tag", "blocking, two tags"])
def test_waiting_receive_woken_by_a_behavior(tag, fifo, form):
    a, b, gate = tag("a"), tag("b"), fifo("gate")

    @when()
    def late(b=b, gate=gate):
        open(gate).read()
        bocd.send(b, "late on b")

    assert bocd.receive(b, 0) == timed_out()  # held at its gate
    with hang_guard(a):
        opener = FifoWriter(gate)
        # GUARD only bounds a broken runtime.
        got = bocd.receive(b, GUARD) if form.startswith("timed") else bocd.receive([a, b])
        opener.join()
    assert got == (b, "late on b")
    settle()


def fifo_per_producer(got) -> bool:
    """FIFO per tag means any one consumer sees each producer's messages
    in the order they were sent."""
    last = {}
    for kind, p, i in got:
        if i <= last.get((kind, p), -1):
            return False
        last[(kind, p)] = i
    return True


def test_many_producers_and_consumers_lose_and_duplicate_nothing(tag):
    t = tag()
    n_beh, per_beh, n_thr, per_thr, n_cons, per_cons = 20, 50, 2, 250, 3, 100
    total = n_beh * per_beh + n_thr * per_thr
    expected = [("b", p, i) for p in range(n_beh) for i in range(per_beh)]
    expected += [("t", k, i) for k in range(n_thr) for i in range(per_thr)]

    # The consumer behaviors share one cown: at most one of them holds a
    # worker in receive at a time, so producers always have a worker.
    turn = Cown(None)
    consumers, producers = [], []
    for _ in range(n_cons):

        @when(turn)
        def consume(turn, t=t, n=per_cons, guard=GUARD):
            got = []
            for _ in range(n):
                name, m = bocd.receive(t, guard)  # guard: a broken runtime
                if name != t:
                    break
                got.append(m)
            return got

        consumers.append(consume)
    for p in range(n_beh):

        @when()
        def produce(t=t, p=p, n=per_beh):
            for i in range(n):
                bocd.send(t, ("b", p, i))
            return os.getpid()

        producers.append(produce)
    errors = []

    def thread_producer(k):
        try:
            for i in range(per_thr):
                bocd.send(t, ("t", k, i))
        except BaseException as e:  # noqa: BLE001 - checked below
            errors.append(e)

    threads = [threading.Thread(target=thread_producer, args=(k,)) for k in range(n_thr)]
    for th in threads:
        th.start()
    main_got = []
    with hang_guard(t, n=total):
        for _ in range(total - n_cons * per_cons):
            name, m = bocd.receive(t)
            assert name == t
            assert m != UNBLOCK, f"stuck after {len(main_got)} messages"
            main_got.append(m)
        for th in threads:
            th.join(GUARD)
        settle(2 * GUARD)
    assert not any(th.is_alive() for th in threads)
    assert errors == []
    assert all(r.unwrap() != PID for r in producers)
    per_consumer = [[tuple(m) for m in r.unwrap()] for r in consumers]
    main_got = [tuple(m) for m in main_got]
    for got in per_consumer:
        assert len(got) == per_cons
    received = main_got + [m for got in per_consumer for m in got]
    assert collections.Counter(received) == collections.Counter(expected)
    for got in [main_got, *per_consumer]:
        assert fifo_per_producer(got)
    assert bocd.receive(t, 0) == timed_out()


# ---------------------------------------------------------------- several tags


def test_multi_tag_receive_returns_the_tag_that_has_a_message(tag):
    a, b, c = tag("a"), tag("b"), tag("c")
    bocd.send(b, "on b")
    assert bocd.receive([a, b, c], GUARD) == (b, "on b")
    bocd.send(c, "on c")
    assert bocd.receive((a, b, c), GUARD) == (c, "on c")
    assert bocd.receive([a, b, c], 0) == timed_out()
    bocd.send(a, 1)
    bocd.send(c, 2)
    got = {bocd.receive([a, c], GUARD), bocd.receive([a, c], GUARD)}
    assert got == {(a, 1), (c, 2)}
    for i in range(3):
        bocd.send(a, i)
    assert [bocd.receive([b, a], GUARD) for _ in range(3)] == [(a, i) for i in range(3)]
    assert bocd.receive([a, b, c], 0) == timed_out()


# ---------------------------------------------------------------- cowns in messages


def test_cown_sent_from_main_stays_alive_in_flight(tag):
    t = tag()

    def send_new_cowns():
        c = Cown([1, 2, 3])
        bocd.send(t, c)
        bocd.send(t, {"nested": [Cown("inner")]})
        bocd.send(t, Cown(10))
        del c

    send_new_cowns()  # no handle left in this process: only messages name them
    gc.collect()
    churn()
    name, h = bocd.receive(t, 0)
    assert name == t and isinstance(h, Cown)

    @when(h)
    def grow(c):
        c.value.append(4)
        return list(c.value)

    settle()
    assert grow.unwrap() == [1, 2, 3, 4]
    with h as v:
        assert v == [1, 2, 3, 4]
    _, box = bocd.receive(t, 0)
    with box["nested"][0] as v:
        assert v == "inner"

    # The third one is received by a behavior, which schedules on it.
    @when()
    def take(t=t):
        name, handle = bocd.receive(t, 0)
        if name != t:
            raise AssertionError(f"no cown queued: {name!r}")

        @when(handle)
        def double(c):
            return c.value * 2

        return double

    settle()
    assert take.unwrap().unwrap() == 20


def test_cown_sent_from_a_behavior_can_be_scheduled_on(tag):
    t = tag()

    @when()
    def make(t=t):
        bocd.send(t, Cown("made in a behavior"))
        bocd.send(t, [Cown(i) for i in range(3)])
        return os.getpid()

    settle()
    assert make.unwrap() != PID
    gc.collect()
    churn()
    name, h = bocd.receive(t, GUARD)
    assert name == t and isinstance(h, Cown)

    @when(h)
    def read(c):
        return c.value

    _, group = bocd.receive(t, GUARD)

    @when(group)
    def total(cs):
        return sum(c.value for c in cs)

    settle()
    assert read.unwrap() == "made in a behavior"
    assert total.unwrap() == 3


# ---------------------------------------------------------------- drain and set_tags


def test_drain_discards_queued_messages(tag):
    a, b = tag("a"), tag("b")
    for i in range(3):
        bocd.send(a, i)
        bocd.send(b, i)
    assert bocd.drain(a) is None
    assert bocd.receive(a, 0) == timed_out()
    assert bocd.receive(b, 0) == (b, 0), "other tags are intact"
    bocd.drain([])
    assert bocd.receive(b, 0) == (b, 1), "drain([]) does nothing"
    bocd.send(a, "x")
    bocd.drain([a, b])
    assert bocd.receive(a, 0) == bocd.receive(b, 0) == timed_out()
    bocd.send(a, "y")
    bocd.drain((a,))
    assert bocd.receive(a, 0) == timed_out()
    bocd.drain(tag("never used"))
    bocd.send(a, "after")
    assert bocd.receive(a, 0) == (a, "after"), "the tag stays usable"
    for bad in ([1], [a, 2]):
        with pytest.raises(TypeError):
            bocd.drain(bad)


def test_set_tags_drops_every_queued_message(tag):
    a, b = tag("a"), tag("b")
    bocd.send(a, 1)
    bocd.send(b, 2)
    assert bocd.set_tags([a]) is None
    assert bocd.receive(a, 0) == bocd.receive(b, 0) == timed_out()
    bocd.send(a, 3)
    bocd.send(b, 4)
    bocd.set_tags([])
    assert bocd.receive(a, 0) == bocd.receive(b, 0) == timed_out()


def test_set_tags_binds_tags_and_frees_the_rest(tag):
    bound = [tag(f"bound{i}") for i in range(4)]
    bocd.set_tags(bound)
    for t in bound:
        bocd.send(t, t)
    for i in range(12):  # the other 12 queues auto-assign
        bocd.send(tag(f"auto{i}"), i)
    extra = tag("auto12")
    with pytest.raises(KeyError) as e:
        bocd.send(extra, 0)
    assert e.value.args[0] == f"No queue available for tag '{extra}': tag capacity exceeded"
    assert [bocd.receive(t, 0) for t in bound] == [(t, t) for t in bound]

    every = [tag(f"all{i}") for i in range(16)]
    bocd.set_tags(every)  # every queue bound: the old tags have none
    with pytest.raises(KeyError) as e:
        bocd.receive(bound[0], 0)
    assert e.value.args[0] == f"No message queue found for tag: '{bound[0]}'"
    for t in every:
        bocd.send(t, t)
    assert [bocd.receive(t, 0) for t in every] == [(t, t) for t in every]

    bocd.set_tags([])  # back to 16 auto-assigned queues
    for i in range(16):
        bocd.send(tag(f"again{i}"), i)


def test_set_tags_errors(tag):
    with pytest.raises(IndexError) as e:
        bocd.set_tags([tag(f"n{i}") for i in range(17)])
    assert str(e.value) == "Only 16 or fewer tags supported"
    with pytest.raises(TypeError) as e:
        bocd.set_tags([tag(), 1])
    assert str(e.value) == "Tags must contain only str objects"
    with pytest.raises(TypeError) as e:
        bocd.set_tags(t for t in [tag()])
    assert str(e.value) == "Tags must provide __len__"
    bocd.set_tags([tag(f"n{i}") for i in range(16)])  # 16 is fine
    bocd.set_tags(())


def test_set_tags_in_a_behavior_raises(tag):
    t = tag()
    bocd.send(t, "kept")

    @when()
    def reset():
        bocd.set_tags([])

    settle()
    with pytest.raises(RuntimeError):
        reset.unwrap()
    assert bocd.receive(t, 0) == (t, "kept")


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize("runtime", ["down", "up"])
def test_sixteen_tags_fit_and_the_seventeenth_raises(tag, runtime):
    """No tag is reserved for the runtime (decision 13): 16 also while it runs."""
    if runtime == "up":
        bocd.start()
    else:
        bocd.wait(timeout=GUARD)
    names = [tag(f"u{i}") for i in range(16)]
    for i, t in enumerate(names):
        bocd.send(t, i)
    extra = tag("u16")
    with pytest.raises(KeyError) as e:
        bocd.send(extra, 16)
    assert e.value.args[0] == f"No queue available for tag '{extra}': tag capacity exceeded"
    new = tag("x")
    with pytest.raises(KeyError) as e:
        bocd.receive(new, 0)
    assert e.value.args[0] == f"No message queue found for tag: '{new}'"
    # The 16 bound tags still work and kept their messages.
    assert [bocd.receive(t, 0) for t in names] == [(t, i) for i, t in enumerate(names)]


def test_default_queue_holds_16384_messages(tag):
    t, other = tag(), tag("other")
    for i in range(16384):
        bocd.send(t, i)
    with pytest.raises(RuntimeError) as e:
        bocd.send(t, "one too many")
    assert str(e.value) == "Message queue is full"
    bocd.send(other, "other tags are not full")
    assert bocd.receive(other, 0) == (other, "other tags are not full")
    assert bocd.receive(t, 0) == (t, 0)
    bocd.send(t, 16384)  # receiving one made room for one
    with pytest.raises(RuntimeError):
        bocd.send(t, "full again")
    assert bocd.receive(t, 0) == (t, 1)


LIMITS_CHILD = r"""
import bocd

def attempt(fn, *args):
    try:
        fn(*args)
    except Exception as e:
        return f"{type(e).__name__}: {e.args[0]}"
    return "ok"

for i in range(8):
    bocd.send("q", i)
print(attempt(bocd.send, "q", 8))
print(bocd.receive("q", 0))
print(attempt(bocd.send, "q", 8))
print(attempt(bocd.send, "q", 9))
print([bocd.receive("q", 0)[1] for _ in range(8)], bocd.receive("q", 0))
for t in ("r", "s", "u"):
    print(t, attempt(bocd.send, t, 0))
print(attempt(bocd.send, "v", 0))
print(attempt(bocd.receive, "w", 0))

@bocd.when()
def fill():
    sent = 0
    try:
        while sent < 100:
            bocd.send("r", sent)
            sent += 1
    except RuntimeError as e:
        return sent, str(e)
    return sent, "never full"

bocd.wait()
print(fill.unwrap())
"""


def test_daemon_limits_are_configurable(tmp_path):
    """bocd serve --max-messages 8 --max-tags 4, seen by the main program
    and by its behaviors."""
    from bocd._daemon import Daemon

    d = Daemon(workers=1, log_file=str(tmp_path / "bocd.log"),
               extra_args=("--max-messages", "8", "--max-tags", "4")).start()
    try:
        p = run_python(LIMITS_CHILD, env_extra={"BOCD_SOCKET": d.socket})
    finally:
        d.stop()
    assert p.returncode == 0, explain(p) + "\n--- daemon log\n" + d.log_tail()
    assert p.stdout.splitlines() == [
        "RuntimeError: Message queue is full",
        "('q', 0)",
        "ok",
        "RuntimeError: Message queue is full",
        "[1, 2, 3, 4, 5, 6, 7, 8] ('__timeout__', None)",
        "r ok",
        "s ok",
        "u ok",
        "KeyError: No queue available for tag 'v': tag capacity exceeded",
        "KeyError: No message queue found for tag: 'w'",
        "(7, 'Message queue is full')",  # 'r' already held one
    ], explain(p)


# ---------------------------------------------------------------- lifecycle


def test_messages_survive_wait_and_start(tag):
    t, w = tag("main"), tag("worker")
    bocd.send(t, "before wait")

    @when()
    def produce(w=w):
        bocd.send(w, "from a behavior")

    assert bocd.wait(timeout=GUARD) is None
    assert bocd.receive(t, 0) == (t, "before wait")
    assert bocd.receive(w, GUARD) == (w, "from a behavior")
    bocd.send(t, "between runtimes")
    bocd.start()
    assert bocd.receive(t, 0) == (t, "between runtimes")
    bocd.send(t, "before the next wait")

    @when()
    def nothing():
        pass

    bocd.wait(timeout=GUARD)
    assert bocd.receive(t, 0) == (t, "before the next wait")


def test_tag_layout_survives_start_and_wait(tag):
    bound = [tag(f"b{i}") for i in range(16)]
    bocd.set_tags(bound)
    bocd.send(bound[0], "kept")
    bocd.start()

    @when()
    def nothing():
        pass

    bocd.wait(timeout=GUARD)
    bocd.start()
    new = tag("new")
    with pytest.raises(KeyError) as e:
        bocd.send(new, 0)  # all 16 queues are still bound to `bound`
    assert "tag capacity exceeded" in e.value.args[0]
    assert bocd.receive(bound[0], 0) == (bound[0], "kept")
    assert bocd.receive(bound[15], 0) == timed_out()


FRESH_CHILD = r"""
import sys
import bocd

exec(sys.argv[1])  # the program's first call into bocd
print(bocd.receive("a", 0))
bocd.send("a", 1)
bocd.send("a", 2)
print(bocd.receive("a", 0))
bocd.start()
print(bocd.receive("a", 0))  # sent before start(): kept

@bocd.when()
def relay():
    tag, value = bocd.receive("a", 30)
    bocd.send("b", value * 10)
    return tag, value

bocd.send("a", 3)
bocd.wait()
print(relay.unwrap())
print(bocd.receive("b", 30))  # a behavior's message, after wait()
for name in ["a", "b"] + [f"t{i}" for i in range(14)]:
    bocd.send(name, name)  # 16 tags, no runtime up
try:
    bocd.send("t14", 0)
except KeyError as e:
    print("KeyError", e.args[0])
"""


FIRST_CALLS = {
    "send": 'bocd.send("a", 0)',
    "receive": 'bocd.receive("a", 0)',
    "drain": 'bocd.drain("a")',
    "set_tags": 'bocd.set_tags(["a"])',
}


@pytest.mark.parametrize("first", list(FIRST_CALLS))
def test_fresh_program_uses_messaging_before_any_behavior(first):
    p = run_python(None, args=["-c", FRESH_CHILD, FIRST_CALLS[first]])
    assert p.returncode == 0, explain(p)
    head = "('a', 0)" if first == "send" else "('__timeout__', None)"
    assert p.stdout.splitlines() == [
        head,
        "('a', 1)",
        "('a', 2)",
        "('a', 3)",
        "('b', 30)",
        "KeyError No queue available for tag 't14': tag capacity exceeded",
    ], explain(p)


# ---------------------------------------------------------------- programs


SEPARATE_CHILD = r"""
import sys
import bocd

tag = sys.argv[1]
bocd.send(tag, "child-1")
bocd.send(tag, "child-2")

@bocd.when()
def from_worker(tag=tag):
    bocd.send(tag, "child-worker")

bocd.quiesce()
print(bocd.receive(tag, 0), flush=True)
print("sent", flush=True)
sys.stdin.readline()
print(bocd.receive(tag, 0))
print(bocd.receive(tag, 30))
print(bocd.receive(tag, 0))
"""


def read_line(proc) -> str:
    """One line of the child's stdout, read a byte at a time from the pipe
    (a buffered readline could swallow the next line, which select would
    then never report)."""
    fd = proc.stdout.fileno()
    out = b""
    while not out.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], GUARD)
        assert ready, "the child program said nothing"
        byte = os.read(fd, 1)
        assert byte, "the child program closed its output"
        out += byte
    return out.decode().strip()


def test_programs_have_separate_queues(tag):
    """Two programs on one daemon, even sharing its workers, use the same
    tag name without seeing each other's messages."""
    t = tag()
    bocd.send(t, "test-1")
    pipe = subprocess.PIPE
    child = subprocess.Popen([sys.executable, "-c", SEPARATE_CHILD, t],
                             stdin=pipe, stdout=pipe, stderr=pipe, text=True)
    try:
        assert read_line(child) == repr((t, "child-1"))
        assert read_line(child) == "sent"
        assert bocd.receive(t, 0) == (t, "test-1")
        assert bocd.receive(t, 0) == timed_out(), "the child's messages leaked"
        bocd.send(t, "test-2")
        child.stdin.write("go\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=GUARD)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, f"exit {child.returncode}\n{out}\n{err}"
    assert out.splitlines() == [
        repr((t, "child-2")),
        repr((t, "child-worker")),
        repr(("__timeout__", None)),
    ], err
    assert bocd.receive(t, 0) == (t, "test-2")


# ---------------------------------------------------------------- serialization


def test_unpicklable_contents_raise_in_the_sender(tag):
    t = tag()
    with pytest.raises(TypeError, match="pickle"):
        bocd.send(t, threading.Lock())
    with pytest.raises(TypeError, match="pickle"):
        bocd.send(t, [1, threading.Lock()])
    assert bocd.receive(t, 0) == timed_out(), "nothing was queued"

    @when()
    def in_worker(t=t):
        try:
            bocd.send(t, threading.Lock())
        except TypeError as e:
            return str(e)
        return "sent"

    settle()
    assert "pickle" in in_worker.unwrap()
    assert bocd.receive(t, 0) == timed_out()
    bocd.send(t, "fine")
    assert bocd.receive(t, 0) == (t, "fine")


# ---------------------------------------------------------------- review fixes


def test_an_interrupted_receive_puts_its_message_back_first(tag, monkeypatch):
    """A KeyboardInterrupt landing just after the message came (between
    the wait and its use) must not lose it: it goes back to the head."""
    from bocd import _messaging

    t = tag()
    bocd.send(t, "first")
    bocd.send(t, "second")
    real_wait = _messaging._wait

    def interrupted(session, request, seconds):
        reply = real_wait(session, request, seconds)
        assert reply is not None and reply[0]  # the message came ...
        raise KeyboardInterrupt  # ... and then Ctrl-C

    monkeypatch.setattr(_messaging, "_wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        bocd.receive(t, GUARD)
    monkeypatch.setattr(_messaging, "_wait", real_wait)
    assert bocd.receive(t, 0) == (t, "first")
    assert bocd.receive(t, 0) == (t, "second")


def test_timeout_takes_what_bocpy_takes(tag):
    """As bocpy's "d" argument format: bools, numpy scalars and anything
    with __float__ or __index__; not str or None."""
    import numpy as np

    t = tag()
    assert bocd.receive(t, False) == timed_out()
    assert bocd.receive(t, np.float32(0)) == timed_out()
    assert bocd.receive(t, np.int64(0)) == timed_out()
    bocd.send(t, 1)
    assert bocd.receive(t, np.float64(GUARD)) == (t, 1)
    with pytest.raises(TypeError, match="must be real number, not str"):
        bocd.receive(t, "1")
    with pytest.raises(TypeError, match="must be real number, not NoneType"):
        bocd.receive(t, None)

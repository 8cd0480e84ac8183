"""Streams of messages: what a program sees when many messages move under
one tag (docs/protocol.md "Pipelined sends and lent messages").

The daemon may let a program's own sends run ahead without an answer
(credit) and may lend a receiver the next messages of a tag, which it then
takes without asking. Neither may change what the program sees: one
receiver gets a tag's messages once each, in order; a message is never
lost; a refusal is raised by the send that caused it; and lent messages
go back to the head of their tag before anyone else could miss them (a
body ends, the holder drains, sets tags or receives under several tags,
another process receives there). Only a receiver that dies may have what
it was lent delivered again.

So these tests hold with and without those rules. Streams are longer than
a lent batch (64) and a credit (256), and stopping points are not
multiples of 64. Every blocking receive is bounded by GUARD, which only a
broken runtime reaches; no test sleeps to wait for an event.
"""

import collections
import gc
import os
import signal
import threading

import pytest

import bocd
from bocd import Cown, when
from conftest import (
    GUARD,
    churn,
    explain,
    fifo_read,
    fifo_write,
    run_python,
    settle,
)

N = 1000  # messages in a stream: several lent batches, several credits


def timed_out():
    return (bocd.TIMEOUT, None)


# Every test here starts and ends with the default tag layout (conftest).
pytestmark = pytest.mark.usefixtures("clean_tags")


def take(t, count):
    """The next `count` messages of `t`, each waited for (GUARD bounds a
    broken runtime: a timeout fails here instead of hanging)."""
    got = []
    for _ in range(count):
        name, value = bocd.receive(t, GUARD)
        assert name == t, f"timed out after {len(got)} messages"
        got.append(value)
    return got


def take_all(t):
    """Polls `t` until it is empty: what is queued there now."""
    got = []
    while True:
        name, value = bocd.receive(t, 0)
        if name != t:
            return got
        got.append(value)


def increasing(values) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))


# ---------------------------------------------------------------- one producer, one consumer


@pytest.mark.parametrize("start", ["queued first", "consumer first"])
def test_main_streams_to_a_behavior(tag, fifo, start):
    """Every message once, in order, whether the stream was queued before
    the consumer came (lending) or reached it while it waited."""
    t, started = tag(), fifo("started")

    @when()
    def consume(t=t, n=N, started=started, guard=GUARD):
        with open(started, "w") as f:
            f.write(str(os.getpid()))
        got = []
        for _ in range(n):
            name, value = bocd.receive(t, guard)
            if name != t:
                break
            got.append(value)
        return got

    if start == "queued first":
        for i in range(N):
            bocd.send(t, i)
        fifo_read(started)
    else:
        fifo_read(started)
        for i in range(N):
            bocd.send(t, i)
    settle(2 * GUARD)
    assert consume.unwrap() == list(range(N))
    assert bocd.receive(t, 0) == timed_out()


@pytest.mark.parametrize("start", ["concurrently", "after it ended"])
def test_a_behavior_streams_to_main(tag, start):
    t = tag()

    @when()
    def produce(t=t, n=N):
        for i in range(n):
            bocd.send(t, i)

    if start == "after it ended":
        settle()  # all queued: main's receives may be lent batches
    assert take(t, N) == list(range(N))
    assert bocd.receive(t, 0) == timed_out()
    settle()
    assert produce.unwrap() is None


# ---------------------------------------------------------------- a consumer that stops


@pytest.mark.parametrize("k", [1, 100, 999])
@pytest.mark.parametrize("end", ["wait", "quiesce"])
def test_rest_is_queued_when_a_consumer_body_ends(tag, k, end):
    """A body that took k of N and ended: whoever sees it complete finds
    the other N-k queued, in order. A holder that gave lent messages back
    only when asked would leave them out of reach here (the poll does not
    wait) or let the poll overtake them."""
    t = tag()
    for i in range(N):
        bocd.send(t, i)

    @when()
    def consume(t=t, k=k, guard=GUARD):
        return [bocd.receive(t, guard)[1] for _ in range(k)]

    if end == "wait":
        bocd.wait(timeout=GUARD)
    else:
        settle()
    assert consume.unwrap() == list(range(k))
    assert take_all(t) == list(range(k, N))


def test_consumer_bodies_and_main_take_turns(tag):
    """A body takes 100, ends, main takes 50, the next body takes 100, ...:
    each continues exactly where the previous one stopped, whichever
    worker the body ran on."""
    t = tag()
    for i in range(N):
        bocd.send(t, i)
    got = []
    while len(got) < N:

        @when()
        def consume(t=t, guard=GUARD):
            return [bocd.receive(t, guard)[1] for _ in range(100)]

        settle()
        got += consume.unwrap()
        got += [bocd.receive(t, 0)[1] for _ in range(min(50, N - len(got)))]
    assert got == list(range(N))
    assert bocd.receive(t, 0) == timed_out()


# ---------------------------------------------------------------- two consumers


def test_main_and_a_behavior_share_a_tag(tag, fifo):
    """The behavior receives first (it may hold a lent batch), then main
    receives 300 while the behavior waits at its gate, then the behavior
    takes the rest. Together: each message exactly once; each share in
    order. A batch lent to the behavior and also served to main would
    duplicate; one given back to the wrong place would be lost or
    reordered."""
    t, started, gate = tag(), fifo("started"), fifo("gate")
    for i in range(N):
        bocd.send(t, i)

    @when()
    def consume(t=t, started=started, gate=gate, guard=GUARD):
        got = [bocd.receive(t, guard)[1]]
        with open(started, "w") as f:
            f.write(str(os.getpid()))
        open(gate).read()
        while True:
            name, value = bocd.receive(t, 0)
            if name != t:
                return got
            got.append(value)

    fifo_read(started)
    main_share = take(t, 300)
    fifo_write(gate)
    settle()
    behavior_share = consume.unwrap()
    assert behavior_share[0] == 0
    assert increasing(main_share) and increasing(behavior_share)
    total = collections.Counter(main_share + behavior_share)
    assert total == collections.Counter(range(N))
    assert bocd.receive(t, 0) == timed_out()


def test_two_behaviors_on_two_workers_share_a_tag(tag, fifo):
    """As above with the second consumer a behavior on the other worker
    (the first one holds its worker at a gate)."""
    t, results = tag(), tag("results")
    started, gate = fifo("started"), fifo("gate")
    for i in range(N):
        bocd.send(t, i)

    @when()
    def first(t=t, started=started, gate=gate, guard=GUARD):
        got = [bocd.receive(t, guard)[1]]
        with open(started, "w") as f:
            f.write(str(os.getpid()))
        open(gate).read()
        while True:
            name, value = bocd.receive(t, 0)
            if name != t:
                return os.getpid(), got
            got.append(value)

    fifo_read(started)

    @when()
    def second(t=t, results=results, guard=GUARD):
        got = [bocd.receive(t, guard)[1] for _ in range(300)]
        bocd.send(results, (os.getpid(), got))

    # `first` holds its worker: `second` runs on the other one meanwhile.
    second_pid, second_share = take(results, 1)[0]
    fifo_write(gate)
    settle()
    first_pid, first_share = first.unwrap()
    assert first_pid != second_pid
    assert first_share[0] == 0 and len(second_share) == 300
    assert increasing(first_share) and increasing(second_share)
    total = collections.Counter(first_share + second_share)
    assert total == collections.Counter(range(N))
    assert bocd.receive(t, 0) == timed_out()


# ---------------------------------------------------------------- drain and set_tags


def test_drain_while_a_behavior_holds_part_of_the_stream(tag):
    """main drains while a behavior has received from the tag (and may
    hold a lent batch). What the spec allows: the drain drops what is
    queued; messages already lent (at most 64, the ones right after the
    behavior's first) may still reach the behavior instead. Never twice,
    never out of order, and nothing sent after the drain is lost."""
    t, ready, report = tag(), tag("ready"), tag("report")
    for i in range(N):
        bocd.send(t, i)

    @when()
    def consume(t=t, ready=ready, report=report, guard=GUARD):
        got = [bocd.receive(t, guard)[1]]
        bocd.send(ready, "holding")
        bocd.receive(report, guard)
        while True:
            name, value = bocd.receive(t, 0)
            if name != t:
                return got
            got.append(value)

    assert take(ready, 1) == ["holding"]
    bocd.drain(t)
    after = list(range(N, N + 10))
    for i in after:
        bocd.send(t, i)
    bocd.send(report, "go")
    settle()
    got = consume.unwrap()
    left = take_all(t)
    assert got[0] == 0 and increasing(got) and increasing(left)
    seen = got + left
    assert len(seen) == len(set(seen)), "a message came twice"
    assert [v for v in seen if v >= N] == after, "a message sent after the drain"
    survivors = [v for v in seen if 0 < v < N]
    assert survivors == list(range(1, 1 + len(survivors))), \
        "only messages lent before the drain may survive it"
    assert len(survivors) <= 64, "the drain dropped nothing"


@pytest.mark.parametrize("where,how", [("main", "drain"), ("behavior", "drain"),
                                       ("main", "set_tags")])
def test_a_receiver_that_drains_its_tag_sees_it_empty(tag, where, how):
    """After its own drain (or set_tags, which a worker may not call) the
    receiver must not go on taking messages it was lent before."""
    t = tag()
    for i in range(N):
        bocd.send(t, i)

    def drain_and_poll(t=t, how=how, guard=GUARD):
        first = bocd.receive(t, guard)
        if how == "drain":
            bocd.drain(t)
        else:
            bocd.set_tags([])
        return first, bocd.receive(t, 0)

    if where == "main":
        first, then = drain_and_poll()
    else:
        r = when()(drain_and_poll)
        settle()
        first, then = r.unwrap()
    assert first == (t, 0)
    assert then == timed_out()
    bocd.send(t, "after")
    assert bocd.receive(t, 0) == (t, "after")


@pytest.mark.parametrize("sender", ["behavior", "thread"])
def test_set_tags_while_a_stream_is_sent(tag, fifo, sender):
    """set_tags from main in the middle of a stream another process (or
    thread, with its own credit) sends: no error, no hang. The messages it
    drops are some of those sent before; everything sent after set_tags
    returned arrives, and what main receives is in order."""
    t = tag()
    after = list(range(N, N + 100))
    if sender == "behavior":
        started, gate = fifo("started"), fifo("gate")

        @when()
        def stream(t=t, n=N, started=started, gate=gate):
            for i in range(300):
                bocd.send(t, i)
            with open(started, "w") as f:
                f.write("streaming")
            for i in range(300, n):
                bocd.send(t, i)
            open(gate).read()  # set_tags has returned
            for i in range(n, n + 100):
                bocd.send(t, i)

        fifo_read(started)
        bocd.set_tags([])
        fifo_write(gate)
    else:
        streaming, reset, errors = threading.Event(), threading.Event(), []

        def stream():
            try:
                for i in range(N):
                    bocd.send(t, i)
                    if i == 300:
                        streaming.set()
                assert reset.wait(GUARD)
                for i in after:
                    bocd.send(t, i)
            except BaseException as e:  # noqa: BLE001 - checked below
                errors.append(e)
                streaming.set()

        thread = threading.Thread(target=stream, daemon=True)
        thread.start()
        assert streaming.wait(GUARD)
        bocd.set_tags([])
        reset.set()
    got = []
    while not got or got[-1] != after[-1]:
        got += take(t, 1)
    assert increasing(got)
    assert got[-len(after):] == after
    assert bocd.receive(t, 0) == timed_out()
    if sender == "behavior":
        settle()
        assert stream.unwrap() is None
    else:
        thread.join(GUARD)
        assert errors == []


# ---------------------------------------------------------------- several tags


@pytest.mark.parametrize("where", ["main", "behavior"])
def test_receive_of_several_tags_sees_messages_already_lent(tag, where):
    """After single-tag receives of a and b (each may leave the rest of
    its tag lent to this process, the daemon's queues then empty), a
    receive of [a, b] takes a's next message and one of [b, a] b's: the
    first tag that holds one, lent or not. The receiver sent them itself,
    so all are queued before it receives and a poll finds each (a broken
    runtime fails fast instead of waiting)."""
    a, b = tag("a"), tag("b")

    def interleave(a=a, b=b):
        for i in range(10):
            bocd.send(a, ("a", i))
            bocd.send(b, ("b", i))
        got = [bocd.receive(a, 0), bocd.receive(b, 0)]
        for _ in range(3):
            got.append(bocd.receive([a, b], 0))
            got.append(bocd.receive([b, a], 0))
        got.append(bocd.receive(a, 0))  # single-tag again
        got += [bocd.receive([b, a], 0) for _ in range(6)]
        got += [bocd.receive([a, b], 0) for _ in range(5)]
        got.append(bocd.receive([a, b], 0))
        return got

    if where == "main":
        got = interleave()
    else:
        r = when()(interleave)
        settle()
        got = r.unwrap()
    ga = [(a, ("a", i)) for i in range(10)]
    gb = [(b, ("b", i)) for i in range(10)]
    assert got == (
        [ga[0], gb[0], ga[1], gb[1], ga[2], gb[2], ga[3], gb[3], ga[4]]
        + gb[4:10] + ga[5:10] + [timed_out()]
    )


# ---------------------------------------------------------------- limits and refusals


LIMIT_CHILD = r"""
import sys
import bocd

limit = int(sys.argv[1])

def full(t, value):
    try:
        bocd.send(t, value)
    except RuntimeError as e:
        return str(e)
    return "sent"

def poll(t):
    got = []
    while True:
        name, value = bocd.receive(t, 0)
        if name != t:
            return got
        got.append(value)

for i in range(limit):
    bocd.send("q", i)  # raises, and the program fails, if refused early
print(full("q", limit))
print(full("other", "x"), bocd.receive("other", 0))
print(bocd.receive("q", 0))
print(full("q", limit))
print(full("q", limit + 1))
print(poll("q") == list(range(1, limit + 1)))
for i in range(limit):  # again, from empty
    bocd.send("q", i)
print(full("q", limit))
print(poll("q") == list(range(limit)))
"""


@pytest.mark.parametrize("limit", [100, 300])
def test_one_sender_meets_a_full_queue_at_exactly_the_limit(tmp_path, limit):
    """With --max-messages L, a lone sender's sends 1..L succeed and its
    send L+1 raises, from that call (an answer that came later would let
    it return); a receive frees one place for exactly one send. Limits
    below and above a credit (256)."""
    from bocd._daemon import Daemon

    d = Daemon(workers=1, log_file=str(tmp_path / "bocd.log"),
               extra_args=("--max-messages", str(limit))).start()
    try:
        p = run_python(None, env_extra={"BOCD_SOCKET": d.socket},
                       args=["-c", LIMIT_CHILD, str(limit)], timeout=GUARD)
    finally:
        d.stop()
    assert p.returncode == 0, explain(p) + "\n--- daemon log\n" + d.log_tail()
    assert p.stdout.splitlines() == [
        "Message queue is full",
        "sent ('other', 'x')",
        "('q', 0)",
        "sent",
        "Message queue is full",
        "True",
        "Message queue is full",
        "True",
    ], explain(p)


def test_an_unpicklable_send_in_a_stream_raises_there(tag):
    import threading as th

    t = tag()
    for i in range(300):
        bocd.send(t, i)
    with pytest.raises(TypeError, match="pickle"):
        bocd.send(t, th.Lock())
    for i in range(300, 600):
        bocd.send(t, i)
    assert take_all(t) == list(range(600))


def test_tag_capacity_in_a_stream_raises_there(tag):
    t = tag()
    others = [tag(f"o{i}") for i in range(15)]
    for i in range(300):
        bocd.send(t, i)
        if i < len(others):
            bocd.send(others[i], i)
    extra = tag("seventeenth")
    with pytest.raises(KeyError) as e:
        bocd.send(extra, "no room")
    assert e.value.args[0] == f"No queue available for tag '{extra}': tag capacity exceeded"
    for i in range(300, 400):
        bocd.send(t, i)
    assert take_all(t) == list(range(400))
    assert [take_all(o) for o in others] == [[i] for i in range(15)]


# ---------------------------------------------------------------- cowns in a stream


@pytest.mark.parametrize("sender,receiver", [("main", "main"),
                                             ("main", "behavior"),
                                             ("behavior", "main")])
def test_cowns_interleaved_with_plain_messages_keep_order(tag, sender, receiver):
    """Every 7th message names a cown no handle outside the message keeps
    alive: the order holds across them and each cown has its value."""
    t, results = tag(), tag("results")
    n = 300

    def send_stream(t=t, n=n):
        for i in range(n):
            bocd.send(t, ("cown", i, Cown(i * 10)) if i % 7 == 3 else ("plain", i))

    if sender == "main":
        send_stream()
    else:
        when()(send_stream)
    settle()
    gc.collect()
    churn()  # a cown freed too early would go here

    if receiver == "main":
        got = []
        for kind, i, *rest in take(t, n):
            if kind == "cown":
                with rest[0] as v:
                    got.append((kind, i, v))
            else:
                got.append((kind, i))
    else:

        @when()
        def consume(t=t, n=n, results=results, guard=GUARD):
            order = []
            for _ in range(n):
                kind, i, *rest = bocd.receive(t, guard)[1]
                order.append((kind, i))
                if kind == "cown":

                    @when(rest[0])
                    def read(c, i=i, results=results):
                        bocd.send(results, (i, c.value))

            return order

        settle()
        values = dict(take(results, len([i for i in range(n) if i % 7 == 3])))
        got = [(k, i, values[i]) if k == "cown" else (k, i)
               for k, i in consume.unwrap()]
    assert got == [("cown", i, i * 10) if i % 7 == 3 else ("plain", i)
                   for i in range(n)]
    assert bocd.receive(t, 0) == timed_out()


# ---------------------------------------------------------------- failures


def test_a_killed_consumer_loses_no_message(tag, fifo):
    """A worker SIGKILLed while its body has taken 10 messages (and may hold
    a lent batch): a later consumer gets every message from the 11th on,
    in order; per the spec, some of those the dead one had taken may come
    again, never fewer. The daemon replaces the worker and keeps serving."""
    t, started, gate = tag(), fifo("started"), fifo("gate")
    for i in range(N):
        bocd.send(t, i)

    @when()
    def doomed(t=t, started=started, gate=gate, guard=GUARD):
        got = [bocd.receive(t, guard)[1] for _ in range(10)]
        with open(started, "w") as f:
            f.write(str(os.getpid()))
        open(gate).read()  # never opened: the test kills us here
        return got

    pid = int(fifo_read(started))
    os.kill(pid, signal.SIGKILL)
    settle()
    with pytest.raises(BaseException):
        doomed.unwrap()

    @when()
    def later(t=t):
        got = []
        while True:
            name, value = bocd.receive(t, 0)
            if name != t:
                return os.getpid(), got
            got.append(value)

    settle()
    later_pid, got = later.unwrap()
    assert later_pid != pid
    assert increasing(got)
    assert set(range(10, N)) <= set(got) <= set(range(N))
    assert bocd.receive(t, 0) == timed_out()
    bocd.send(t, "still served")
    assert bocd.receive(t, 0) == (t, "still served")


CTRL_C_CHILD = r"""
import os
import signal
import sys
import bocd

t, u, gate, resume = sys.argv[1:5]
guard = 10  # a lost message shows as a timeout, well before the test's guard
rounds, per_round = 6, 150
bocd_dir = os.path.dirname(bocd.__file__)


@bocd.when()
def produce(t=t, gate=gate, resume=resume, main=os.getpid()):
    for r in range(rounds):
        for i in range(r * per_round, (r + 1) * per_round):
            bocd.send(t, i)
        open(gate).read()  # main is about to wait for more
        os.kill(main, signal.SIGINT)  # Ctrl-C
        open(resume).read()
    for i in range(rounds * per_round, (rounds + 1) * per_round):
        bocd.send(t, i)


def interrupted(call):
    '''Opens the gate, so the producer sends Ctrl-C, and makes `call`,
    which waits; says where the KeyboardInterrupt landed.'''
    try:
        with open(gate, "w") as f:
            f.write("go")
        return f"returned {call()!r}"
    except KeyboardInterrupt as e:
        tb = e.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_name == "receive" and code.co_filename.startswith(bocd_dir):
                return "in receive"
            tb = tb.tb_next
        return "elsewhere"


got, where = [], []
for r in range(rounds):
    got += [bocd.receive(t, guard)[1] for _ in range(per_round)]
    where.append(interrupted(lambda: bocd.receive(t, guard)))
    with open(resume, "w") as f:
        f.write("go")
got += [bocd.receive(t, guard)[1] for _ in range(per_round)]
bocd.wait()
print(got == list(range((rounds + 1) * per_round)), bocd.receive(t, 0))
print("in receive" in where, [w for w in where if w.startswith("returned")])

# Interrupted while waiting on another tag, with the stream's next
# messages possibly lent to this process.
for i in range(200):
    bocd.send(t, i)
first = bocd.receive(t, 0)


@bocd.when()
def ctrl_c(gate=gate, main=os.getpid()):
    open(gate).read()
    os.kill(main, signal.SIGINT)


w = interrupted(lambda: bocd.receive(u, guard))
bocd.wait()
rest = [bocd.receive(t, 0)[1] for _ in range(199)]
print(first, w, rest == list(range(1, 200)), bocd.receive(t, 0))
"""


def test_ctrl_c_in_a_receive_loses_nothing(tag, tmp_path):
    """Ctrl-C (SIGINT from a behavior) while a program waits in the middle
    of a stream: the next receive gets the next message; none is lost,
    none comes twice. The interrupt is sent when main is about to wait;
    over six rounds at least one must land inside receive."""
    gate, resume = tmp_path / "gate", tmp_path / "resume"
    os.mkfifo(gate)
    os.mkfifo(resume)
    p = run_python(None, args=["-c", CTRL_C_CHILD, tag(), tag("u"),
                               str(gate), str(resume)], timeout=2 * GUARD)
    assert p.returncode == 0, explain(p)
    lines = p.stdout.splitlines()
    assert lines[:2] == ["True ('__timeout__', None)", "True []"], explain(p)
    assert lines[2] in (
        f"('{tag()}', 0) in receive True ('__timeout__', None)",
        f"('{tag()}', 0) elsewhere True ('__timeout__', None)",
    ), explain(p)

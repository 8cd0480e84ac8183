"""The noticeboard: notice_write, notice_seed, notice_update, notice_delete,
notice_read, noticeboard and REMOVED (docs/python.md "Noticeboard").

The board is per program and lives in the daemon: this test process is one
program for the whole pytest session, and its behaviors (on the daemon's
workers) share its board. wait() clears the board, so the `board` fixture
calls wait() around each test that needs an empty one (and leaves none
behind for the next test).

Mutations are fire-and-forget; only notice_seed, quiesce(noticeboard=True)
and wait(noticeboard=True) guarantee visibility, so the tests read the board
after one of those barriers. To hold the board in place a test gates it with
`gate_board`: a notice_update whose fn blocks on a FIFO (by the public API,
since the board's cown is not exposed). No test sleeps to wait for an event.
"""

import functools
import gc
import operator
import os
import pathlib
import pickle
import textwrap
import threading
import types
from collections.abc import Mapping

import pytest

import bocd
from bocd import REMOVED, Cown, when
from conftest import (
    churn,
    GUARD,
    FifoWriter,
    announce_and_wait,
    explain,
    fifo_read,
    fifo_write,
    held_at_gate,
    run_python,
    settle,
)

PID = os.getpid()
NAMES = (
    "notice_write",
    "notice_seed",
    "notice_update",
    "notice_delete",
    "notice_read",
    "noticeboard",
)
KEY_TYPE = "noticeboard key must be a str"
KEY_NUL = "noticeboard key must not contain NUL characters"
KEY_LONG = "noticeboard key too long (max 63 UTF-8 bytes)"
SEED_IN_WORKER = "notice_seed may only be called from the primary interpreter"


@pytest.fixture
def board():
    """An empty board with the runtime up; emptied again at the end."""
    bocd.start()
    bocd.wait(timeout=GUARD)  # clears the board
    bocd.start()
    assert dict(bocd.noticeboard()) == {}
    yield
    bocd.wait(timeout=GUARD)


def committed() -> dict:
    """The board once every mutation scheduled so far has been applied."""
    nb = bocd.quiesce(timeout=GUARD, noticeboard=True)
    assert type(nb) is dict
    return nb


def gate_board(key: str, gate: str) -> None:
    """Holds the board: a notice_update whose fn blocks until the test
    writes "go" to the FIFO `gate`, then sets `key` to "go". Mutations
    scheduled after it wait behind it."""
    fn = functools.partial(pathlib.Path.read_text, pathlib.Path(gate))
    bocd.notice_update(key, fn, "utf-8")  # fn("utf-8"): read_text(encoding=)


# ---------------------------------------------------------------- names


def test_exported_names_have_docstrings():
    for name in (*NAMES, "REMOVED"):
        assert name in bocd.__all__, name
        assert getattr(bocd, name).__doc__.strip(), name
    for name in NAMES:
        assert callable(getattr(bocd, name)), name
    assert repr(REMOVED) == "REMOVED"
    assert pickle.loads(pickle.dumps(REMOVED)) is REMOVED


# ---------------------------------------------------------------- basics


def test_write_read_and_delete(board):
    bocd.notice_write("a", 1)
    bocd.notice_write("b", {"x": [1, 2.5, "s", None, (3, 4)]})
    bocd.notice_write("none", None)
    assert committed() == {"a": 1, "b": {"x": [1, 2.5, "s", None, (3, 4)]}, "none": None}
    assert bocd.notice_read("a") == 1
    assert bocd.notice_read("b") == {"x": [1, 2.5, "s", None, (3, 4)]}
    assert bocd.notice_read("missing") is None
    assert bocd.notice_read("missing", 7) == 7
    assert bocd.notice_read("none", 7) is None  # present, with value None
    view = bocd.noticeboard()
    assert isinstance(view, Mapping)
    assert dict(view) == committed()

    assert bocd.notice_delete("a") is None
    bocd.notice_delete("absent")  # nothing happens
    bocd.notice_delete("none")
    assert committed() == {"b": {"x": [1, 2.5, "s", None, (3, 4)]}}
    assert bocd.notice_read("a", "gone") == "gone"


def test_mutations_from_one_producer_apply_in_order(board):
    for i in range(50):
        bocd.notice_write("last", i)
    bocd.notice_write("k", 1)
    bocd.notice_update("k", functools.partial(operator.mul, 10))
    bocd.notice_write("k", 2)
    bocd.notice_update("k", functools.partial(operator.add, 1))
    for i in range(10):  # each fn puts i in front: the order shows
        bocd.notice_update("s", functools.partial(operator.add, str(i)), "")
    bocd.notice_write("d", 1)
    bocd.notice_delete("d")
    bocd.notice_write("d", 2)
    assert committed() == {"last": 49, "k": 3, "s": "9876543210", "d": 2}


def test_update_with_default_and_removed(board):
    bocd.notice_update("n", functools.partial(operator.add, 10), 5)  # fn(5)
    bocd.notice_update("n", functools.partial(operator.add, 10), 5)  # fn(15)
    bocd.notice_update("flag", functools.partial(operator.is_, None))  # fn(None)
    assert committed() == {"n": 25, "flag": True}

    remove_bye = functools.partial(dict.get, {"bye": REMOVED})  # "bye" -> REMOVED
    bocd.notice_write("r", "bye")
    bocd.notice_update("r", remove_bye)
    bocd.notice_update("absent", remove_bye, "bye")  # fn(default) -> REMOVED
    bocd.notice_update("n", remove_bye)  # fn(25) -> None: a value, not REMOVED
    assert committed() == {"n": None, "flag": True}

    # REMOVED itself comes back from a worker as the same object.
    @when()
    def removed():
        return bocd.REMOVED

    settle()
    assert removed.unwrap() is REMOVED


def test_update_fn_raising_keeps_the_old_value(board, capfd):
    capfd.readouterr()
    bocd.notice_write("z", 0)
    bocd.notice_write("other", 1)
    bocd.notice_update("z", functools.partial(operator.truediv, 1))  # 1/0
    bocd.notice_update("new", functools.partial(operator.truediv, 1), 0)
    bocd.notice_update("other", functools.partial(operator.add, 1))  # still applied
    assert committed() == {"z": 0, "other": 2}
    err = capfd.readouterr().err
    assert "noticeboard_update('z') failed" in err, err
    assert "noticeboard_update('new') failed" in err, err


# ---------------------------------------------------------------- seed


def test_seed_is_synchronous(board, fifo):
    gate = fifo("gate")
    bocd.notice_write("k", "written")
    bocd.notice_seed("k", "seeded")  # a plain overwrite, after the write
    assert bocd.notice_read("k") == "seeded"  # no barrier needed

    # With the board held, the seed can only return once the gate opens and
    # its write commits; a fire-and-forget seed would return at once and
    # the reads below would still see the old value.
    gate_board("held", gate)
    opener = FifoWriter(gate)
    bocd.notice_seed("s", "configured")
    assert bocd.notice_read("s") == "configured"
    assert bocd.notice_read("held") == "go"
    opener.join()

    @when()
    def reader():
        return bocd.notice_read("s"), dict(bocd.noticeboard())

    settle()
    assert reader.unwrap() == ("configured", {"k": "seeded", "s": "configured", "held": "go"})


def test_seed_starts_the_runtime_and_is_main_only(board):
    bocd.wait(timeout=GUARD)  # runtime down: write raises, seed starts it
    with pytest.raises(RuntimeError):
        bocd.notice_write("k", 1)
    bocd.notice_seed("k", 1)
    bocd.notice_write("k", 2)  # the runtime is up again
    assert committed() == {"k": 2}

    @when()
    def seed_in_worker():
        try:
            bocd.notice_seed("w", 1)
        except RuntimeError as e:
            return str(e)
        return "no error"

    settle()
    assert seed_in_worker.unwrap() == SEED_IN_WORKER
    assert committed() == {"k": 2}


# ---------------------------------------------------------------- barriers


def test_quiesce_and_wait_return_the_drained_board(board):
    bocd.notice_write("q", 1)
    assert bocd.quiesce(timeout=GUARD, noticeboard=True) == {"q": 1}
    bocd.notice_write("q2", [2])
    r = bocd.quiesce(timeout=GUARD, stats=True, noticeboard=True)
    assert isinstance(r, bocd.WaitResult)
    assert r.noticeboard == {"q": 1, "q2": [2]}
    assert isinstance(r.stats, list) and len(r.stats) == 2
    assert bocd.notice_read("q") == 1  # quiesce keeps the board

    bocd.notice_write("w", "last")
    assert bocd.wait(timeout=GUARD, noticeboard=True) == {"q": 1, "q2": [2], "w": "last"}
    assert dict(bocd.noticeboard()) == {}  # wait cleared it

    bocd.notice_seed("a", 1)
    bocd.notice_write("b", 2)
    r = bocd.wait(timeout=GUARD, stats=True, noticeboard=True)
    assert isinstance(r, bocd.WaitResult)
    assert r.noticeboard == {"a": 1, "b": 2}
    assert isinstance(r.stats, list) and len(r.stats) == 2
    assert dict(bocd.noticeboard()) == {}
    assert bocd.wait(noticeboard=True) == {}  # no runtime up


def test_board_is_cleared_at_wait_and_kept_at_quiesce(board):
    bocd.notice_seed("a", 1)
    bocd.notice_write("b", Cown("in the board"))
    settle()
    assert set(bocd.noticeboard()) == {"a", "b"}
    settle()
    assert bocd.notice_read("a") == 1

    @when()
    def after_quiesce():
        return sorted(bocd.noticeboard())

    settle()
    assert after_quiesce.unwrap() == ["a", "b"]

    bocd.wait(timeout=GUARD)
    assert dict(bocd.noticeboard()) == {}
    assert bocd.notice_read("a") is None

    @when()
    def new_runtime():
        return dict(bocd.noticeboard())

    settle()
    assert new_runtime.unwrap() == {}
    assert committed() == {}


# ---------------------------------------------------------------- snapshots


def test_self_write_invisible_within_behavior(board):
    bocd.notice_seed("k", "old")
    bocd.notice_seed("d", "keep")

    @when()
    def body():
        before = bocd.notice_read("k")
        bocd.notice_write("k", "new")
        bocd.notice_update("n", functools.partial(operator.add, 1), 0)
        bocd.notice_delete("d")
        bocd.notice_write("fresh", 1)
        return (
            before,
            bocd.notice_read("k"),
            bocd.notice_read("n", "absent"),
            bocd.notice_read("d"),
            dict(bocd.noticeboard()),
        )

    settle()
    before, after, n, d, view = body.unwrap()
    assert (before, after, n, d) == ("old", "old", "absent", "keep")
    assert view == {"k": "old", "d": "keep"}
    assert committed() == {"k": "new", "n": 1, "fresh": 1}


def test_snapshot_stays_fixed_within_a_behavior(board, fifo):
    started, gate = fifo("started"), fifo("gate")
    bocd.notice_seed("k", "v1")

    @when()
    def body(started=started, gate=gate):
        first = dict(bocd.noticeboard())  # takes the snapshot
        with open(started, "w") as f:
            f.write("reading")
        open(gate).read()
        return first, bocd.notice_read("k"), bocd.notice_read("k2"), dict(bocd.noticeboard())

    with held_at_gate(started, gate):
        bocd.notice_seed("k", "v2")  # committed while the body waits
        bocd.notice_seed("k2", "added")
    settle()
    first, k, k2, last = body.unwrap()
    assert first == last == {"k": "v1"}
    assert (k, k2) == ("v1", None)

    @when()
    def later():
        return bocd.notice_read("k"), bocd.notice_read("k2")

    settle()
    assert later.unwrap() == ("v2", "added")


def test_snapshot_is_reset_between_behaviors(board):
    bocd.notice_seed("k", 1)
    c = Cown(None)
    firsts = []
    for _ in range(4):  # several, so each worker has read the board

        @when(c)
        def read(c):
            return bocd.notice_read("k")

        firsts.append(read)
    settle()
    bocd.notice_seed("k", 2)
    seconds = []
    for _ in range(4):

        @when(c)
        def read(c):
            return bocd.notice_read("k"), dict(bocd.noticeboard())

        seconds.append(read)
    settle()
    assert [r.unwrap() for r in firsts] == [1] * 4
    assert [r.unwrap() for r in seconds] == [(2, {"k": 2})] * 4


def test_noticeboard_is_read_only_and_values_are_copies(board):
    bocd.notice_seed("lst", [1, 2])
    view = bocd.noticeboard()
    assert isinstance(view, types.MappingProxyType)
    with pytest.raises(TypeError):
        view["x"] = 1
    with pytest.raises(TypeError):
        del view["lst"]
    view["lst"].append(3)
    bocd.notice_read("lst").append(4)
    assert bocd.notice_read("lst") == [1, 2]
    assert committed() == {"lst": [1, 2]}

    @when()
    def in_a_behavior():
        view = bocd.noticeboard()
        errors = []
        for attempt in (lambda: operator.setitem(view, "x", 1),
                        lambda: operator.delitem(view, "lst")):
            try:
                attempt()
            except TypeError:
                errors.append("TypeError")
        view["lst"].append(5)
        return type(view).__name__, errors

    settle()
    assert in_a_behavior.unwrap() == ("mappingproxy", ["TypeError", "TypeError"])
    assert committed() == {"lst": [1, 2]}

    @when()
    def next_behavior():
        return bocd.notice_read("lst")

    settle()
    assert next_behavior.unwrap() == [1, 2]


def test_pinned_behaviors_take_their_own_snapshots():
    # Pinned bodies run on the main thread (in pump): each takes its own
    # snapshot, which is reset between them as on a worker.
    p = run_python(
        textwrap.dedent(
            """\
            import bocd
            from bocd import PinnedCown, when

            p = PinnedCown(0)
            bocd.notice_seed("k", 1)

            @when(p)
            def first(p):
                before = bocd.notice_read("k")
                bocd.notice_write("k", 2)
                return before, bocd.notice_read("k"), dict(bocd.noticeboard())

            print(bocd.quiesce(timeout=30, noticeboard=True), first.unwrap())

            @when(p)
            def second(p):
                return bocd.notice_read("k")

            bocd.quiesce(timeout=30)
            print(second.unwrap())
            bocd.wait(timeout=30)
            """
        )
    )
    assert p.returncode == 0, explain(p)
    assert p.stdout.splitlines() == ["{'k': 2} (1, 1, {'k': 1})", "2"], explain(p)


def test_seed_from_a_pinned_behavior():
    # A pinned body runs on the main thread, but inside a behavior, where
    # bocd refuses to wait (as acquire() and wait() do): notice_seed
    # raises there before writing anything (docs/python.md).
    p = run_python(
        textwrap.dedent(
            """\
            import bocd
            from bocd import PinnedCown, when

            p = PinnedCown(0)

            @when(p)
            def seed(p):
                try:
                    bocd.notice_seed("s", 1)
                except Exception as e:
                    return repr(e)
                return "seeded"

            print(bocd.quiesce(timeout=30, noticeboard=True), seed.unwrap())
            bocd.wait(timeout=30)
            """
        )
    )
    assert p.returncode == 0, explain(p)
    assert p.stdout.splitlines() == [
        "{} RuntimeError('notice_seed cannot be called inside a behavior: it "
        "waits for its write. Use notice_write, or seed before scheduling.')"
    ], explain(p)


# ---------------------------------------------------------------- concurrency


def test_concurrent_updates_never_lose_increments(board):
    for _ in range(1000):

        @when()
        def inc():
            bocd.notice_update("count", functools.partial(operator.add, 1), 0)

    assert committed() == {"count": 1000}


# ---------------------------------------------------------------- keys and errors


BAD_KEYS = [
    (1, TypeError, KEY_TYPE),
    (b"bytes", TypeError, KEY_TYPE),
    (None, TypeError, KEY_TYPE),
    ("a\0b", ValueError, KEY_NUL),
    ("a" * 64, ValueError, KEY_LONG),
    ("\u00e9" * 32, ValueError, KEY_LONG),  # 32 characters, 64 bytes
    ("\u20ac" * 21 + "a", ValueError, KEY_LONG),  # 22 characters, 64 bytes
]
GOOD_KEYS = ["a" * 63, "\u00e9" * 31 + "a", "\u20ac" * 21, "\U0001f600" * 15 + "abc"]


def all_calls(key):
    """Each API function called with `key` (and otherwise good arguments)."""
    return [
        lambda: bocd.notice_write(key, 1),
        lambda: bocd.notice_seed(key, 1),
        lambda: bocd.notice_update(key, functools.partial(operator.add, 1), 0),
        lambda: bocd.notice_delete(key),
        lambda: bocd.notice_read(key),
    ]


def test_key_rules_on_main(board):
    for key, exc, message in BAD_KEYS:
        for i, call in enumerate(all_calls(key)):
            with pytest.raises(exc) as e:
                call()
            assert str(e.value) == message, (key, i)
    assert committed() == {}
    for key in GOOD_KEYS:
        assert len(key.encode("utf-8")) == 63
        bocd.notice_write(key, key)
    assert committed() == {key: key for key in GOOD_KEYS}
    assert all(bocd.notice_read(key) == key for key in GOOD_KEYS)


def test_key_rules_in_a_behavior(board):
    @when()
    def in_worker(bad=[(k, m) for k, _, m in BAD_KEYS], good=GOOD_KEYS):
        got = []
        for key, _ in bad:
            for call in (
                lambda: bocd.notice_write(key, 1),
                lambda: bocd.notice_update(key, functools.partial(operator.add, 1), 0),
                lambda: bocd.notice_delete(key),
                lambda: bocd.notice_read(key),
            ):
                try:
                    call()
                    got.append(("no error", repr(key)))
                except (TypeError, ValueError) as e:
                    got.append((type(e).__name__, str(e)))
        for key in good:
            bocd.notice_write(key, len(key))
        return got

    settle()
    assert in_worker.unwrap() == [
        (exc.__name__, message) for _, exc, message in BAD_KEYS for _ in range(4)
    ]
    assert committed() == {key: len(key) for key in GOOD_KEYS}


def test_capacity_is_64_keys(board, capfd):
    for i in range(64):
        bocd.notice_write(f"k{i}", i)
    assert len(committed()) == 64
    capfd.readouterr()
    assert bocd.notice_write("extra", 1) is None  # dropped, not raised
    bocd.notice_update("extra2", functools.partial(operator.add, 1), 0)  # dropped too
    bocd.notice_write("k0", "overwrite")  # an existing key still takes writes
    bocd.notice_update("k1", functools.partial(operator.add, 100))
    nb = committed()
    assert len(nb) == 64
    assert "extra" not in nb and "extra2" not in nb
    assert (nb["k0"], nb["k1"]) == ("overwrite", 101)
    err = capfd.readouterr().err  # the drop is only logged
    assert "noticeboard" in err and "'extra'" in err and "'extra2'" in err, err

    bocd.notice_delete("k0")  # deleting frees a slot
    bocd.notice_write("extra", "fits")
    bocd.notice_write("extra2", "does not")
    nb = committed()
    assert len(nb) == 64
    assert nb["extra"] == "fits" and "k0" not in nb and "extra2" not in nb

    bocd.notice_update("k2", functools.partial(dict.get, {2: REMOVED}))  # REMOVED frees one
    bocd.notice_write("extra2", "fits now")
    nb = committed()
    assert len(nb) == 64
    assert nb["extra2"] == "fits now" and "k2" not in nb


def test_update_rejects_bad_fns_in_the_caller(board):
    def closure(v):
        return v

    with pytest.raises(TypeError) as e:
        bocd.notice_update("k", 5)
    assert str(e.value) == "notice_update fn must be callable"
    with pytest.raises(TypeError) as e:
        bocd.notice_update("k", None, 0)
    assert str(e.value) == "notice_update fn must be callable"
    for fn in (lambda v: v + 1, closure):
        with pytest.raises((AttributeError, pickle.PicklingError)) as e:
            bocd.notice_update("k", fn, 0)
        # pickle's own text: "Can't pickle local object" up to 3.12, "Can't
        # get local object" from 3.13.
        text = str(e.value).lower()
        assert "pickle" in text or "local object" in text, text
    with pytest.raises(TypeError) as e:
        bocd.notice_update("k", functools.partial(operator.add, 1), threading.Lock())
    assert "pickle" in str(e.value)
    assert committed() == {}


def test_unpicklable_value_raises_in_the_caller(board):
    for call in (bocd.notice_write, bocd.notice_seed):
        with pytest.raises(TypeError) as e:
            call("k", threading.Lock())
        assert "pickle" in str(e.value)
        with pytest.raises(TypeError):
            call("k", {"nested": [threading.Lock()]})

    @when()
    def in_worker():
        try:
            bocd.notice_write("k", threading.Lock())
        except TypeError as e:
            return str(e)
        return "no error"

    settle()
    assert "pickle" in in_worker.unwrap()
    assert committed() == {}


def test_mutations_before_start_raise_on_main():
    p = run_python(
        textwrap.dedent(
            """\
            import functools, operator
            import bocd

            def attempt(call):
                try:
                    call()
                except Exception as e:
                    return f"{type(e).__name__}: {e}"
                return "no error"

            def mutations(key):
                return [
                    attempt(lambda: bocd.notice_write(key, 1)),
                    attempt(lambda: bocd.notice_update(
                        key, functools.partial(operator.add, 1), 0)),
                    attempt(lambda: bocd.notice_delete(key)),
                ]

            for key in ("k", 1, "a\\0b", "a" * 64):
                print(mutations(key))
            print(attempt(lambda: bocd.notice_update("k", 5)))
            print(repr(bocd.notice_read("k")), dict(bocd.noticeboard()))
            print(attempt(lambda: bocd.notice_read(1)))
            bocd.notice_seed("k", "seeded")  # starts the runtime
            bocd.notice_write("w", 1)
            print(bocd.quiesce(noticeboard=True))
            print(bocd.wait(noticeboard=True))
            print(mutations("k"))  # down again after wait()
            """
        )
    )
    assert p.returncode == 0, explain(p)
    before = [
        "RuntimeError: cannot write to the noticeboard before the runtime is started",
        "RuntimeError: cannot update the noticeboard before the runtime is started",
        "RuntimeError: cannot delete from the noticeboard before the runtime is started",
    ]
    assert p.stdout.splitlines() == [
        repr(before),
        repr(before),
        repr(before),
        repr(before),
        "RuntimeError: cannot update the noticeboard before the runtime is started",
        "None {}",
        f"TypeError: {KEY_TYPE}",
        "{'k': 'seeded', 'w': 1}",
        "{'k': 'seeded', 'w': 1}",
        repr(before),
    ], explain(p)


# ---------------------------------------------------------------- cowns in entries


def test_cowns_in_entries_stay_alive(board):
    def write_new_cowns():
        c = Cown([1, 2, 3])
        bocd.notice_write("cown", c)
        bocd.notice_write("nested", {"l": [Cown("inner")]})
        bocd.notice_seed("seeded", Cown(10))
        del c

    write_new_cowns()  # no handle left in this process: only the board names them
    gc.collect()
    churn()
    h = bocd.notice_read("cown")
    assert isinstance(h, Cown)

    @when(h)
    def grow(c):
        c.value.append(4)
        return list(c.value)

    settle()
    assert grow.unwrap() == [1, 2, 3, 4]
    del h, grow
    gc.collect()
    churn()
    with bocd.notice_read("cown") as v:
        assert v == [1, 2, 3, 4]
    with bocd.notice_read("nested")["l"][0] as v:
        assert v == "inner"

    # A behavior reads a cown from the board and schedules on it.
    @when()
    def take():
        handle = bocd.notice_read("seeded")
        if not isinstance(handle, Cown):
            raise AssertionError(f"not a cown: {handle!r}")

        @when(handle)
        def double(c):
            return c.value * 2

        return double

    settle()
    assert take.unwrap().unwrap() == 20


def test_cown_made_in_a_behavior_is_readable_from_main(board):
    @when()
    def make():
        bocd.notice_write("made", Cown("made in a behavior"))
        bocd.notice_write("group", [Cown(i) for i in range(3)])
        return os.getpid()

    settle()
    assert make.unwrap() != PID
    gc.collect()
    churn()
    h = bocd.notice_read("made")
    assert isinstance(h, Cown)

    @when(h)
    def read(c):
        return c.value

    @when(bocd.notice_read("group"))
    def total(cs):
        return sum(c.value for c in cs)

    settle()
    assert read.unwrap() == "made in a behavior"
    assert total.unwrap() == 3
    with h as v:
        assert v == "made in a behavior"


# ---------------------------------------------------------------- programs


def test_two_programs_have_separate_boards(board, fifo):
    # Both workers first serve this program's noticeboard (two behaviors
    # held at once, each writing), so a worker that kept one program's
    # board for the next program's behaviors would show here.
    fifos = [(fifo(f"started{i}"), fifo(f"gate{i}")) for i in range(2)]
    for i, (started, gate) in enumerate(fifos):

        @when()
        def write_and_hold(i=i, started=started, gate=gate):
            bocd.notice_write(f"parent{i}", i)
            with open(started, "w") as f:
                f.write(str(os.getpid()))
            open(gate).read()

    pids = {fifo_read(started) for started, _ in fifos}  # both run at once
    for _, gate in fifos:
        fifo_write(gate)
    assert len(pids) == 2, pids
    bocd.notice_seed("parent_only", "p")
    assert committed() == {"parent0": 0, "parent1": 1, "parent_only": "p"}

    p = run_python(
        textwrap.dedent(
            """\
            import bocd
            from bocd import Cown, when

            bocd.start()
            for i in range(4):
                @when()
                def write(i=i):
                    bocd.notice_write("x", i)
                    bocd.notice_write(f"x{i}", Cown(i))
            bocd.quiesce()
            bocd.notice_write("y", "main")
            print(sorted(bocd.quiesce(noticeboard=True)))
            nb = bocd.wait(noticeboard=True)
            print(sorted(nb))
            print(sorted(bocd.wait(noticeboard=True)))
            """
        )
    )
    assert p.returncode == 0, explain(p)
    keys = ["x", "x0", "x1", "x2", "x3", "y"]
    child = p.stdout.splitlines()
    parent = committed()
    assert (child, parent) == (
        [repr(keys), repr(keys), "[]"],
        {"parent0": 0, "parent1": 1, "parent_only": "p"},
    ), f"this program's board: {parent}\n{explain(p)}"


def test_key_limit_is_the_daemons(tmp_path):
    """bocd serve --max-notice-keys 3: the fourth key is dropped, and a
    deleted one frees its slot (the limit is the daemon's, docs/python.md
    "Noticeboard")."""
    from bocd._daemon import Daemon

    child = textwrap.dedent(
        """\
        import bocd
        bocd.start()
        for k in ("a", "b", "c", "d"):
            bocd.notice_write(k, k)
        print(sorted(bocd.quiesce(noticeboard=True)))
        bocd.notice_delete("a")
        bocd.notice_write("d", "d")
        print(sorted(bocd.quiesce(noticeboard=True)))
        """
    )
    d = Daemon(workers=1, log_file=str(tmp_path / "bocd.log"),
               extra_args=("--max-notice-keys", "3")).start()
    try:
        p = run_python(child, env_extra={"BOCD_SOCKET": d.socket})
    finally:
        d.stop()
    assert p.returncode == 0, explain(p)
    assert p.stdout.splitlines() == ["['a', 'b', 'c']", "['b', 'c', 'd']"], explain(p)
    assert "noticeboard is full (3 keys): entry 'd' dropped" in p.stderr


def test_a_snapshots_cowns_outlive_a_later_delete(board, fifo):
    """A behavior's snapshot names a cown only the board kept; the entry is
    deleted (and committed) before the body uses its handle: the handle
    still works, because the snapshot kept what it names until the body
    ends (before, the cown was freed and scheduling on it failed)."""
    gate, started = fifo("gate"), fifo("started")
    x = Cown("entry value")
    bocd.notice_seed("k", x)
    del x
    gc.collect()
    bocd.quiesce(timeout=GUARD)  # main's drop is sent: only the board keeps it

    @when(Cown(0))
    def reader(c, gate=gate, started=started):
        h = bocd.notice_read("k")
        announce_and_wait(started, gate, "read")

        @when(h)
        def use(h):
            return h.value

        return use

    with held_at_gate(started, gate) as note:
        assert note == "read"
        bocd.notice_delete("k")
        bocd.notice_seed("after", 1)  # ordered after the delete: committed
        assert "k" not in bocd.noticeboard()
    settle()
    assert reader.unwrap().unwrap() == "entry value"

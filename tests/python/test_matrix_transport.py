"""A Matrix moves between processes (docs/python.md "Values"): storing it
in a cown, capturing it, returning it, sending it or writing it to the
noticeboard moves it, and the old handle raises RuntimeError("The current
interpreter does not own this matrix") on any use. A matrix of 64 KiB or
more travels in a shared-memory blob: a worker maps it, and an in-place
update is written back into the same blob.

Against the session's real daemon and its worker processes. Values are
checked against numpy computations made here.
"""

import copy
import os
import pickle
import textwrap
import threading

import numpy as np
import pytest

import bocd
from bocd import Cown, notice_write, quiesce, receive, send, when
from bocd._matrix import Matrix
from conftest import explain, run_python, settle

NOT_OWNED = "The current interpreter does not own this matrix"
ROWS, COLS = 300, 400  # 960 KB: out of band, in a blob
SHM = "/dev/shm"


def big(offset: float = 0.0) -> tuple[Matrix, np.ndarray]:
    """A big matrix and an independent numpy copy of its elements."""
    expect = np.arange(ROWS * COLS, dtype=np.float64).reshape(ROWS, COLS)
    expect += offset
    return Matrix._wrap(expect.copy()), expect


def assert_moved(m: Matrix) -> None:
    with pytest.raises(RuntimeError, match=NOT_OWNED):
        m.sum()
    with pytest.raises(RuntimeError, match=NOT_OWNED):
        m[0, 0]


def instance_blobs() -> set[str]:
    """The shared-memory blobs of the daemon this process uses."""
    from bocd import _serial
    prefix = _serial.blob_prefix()[:len("bocd-") + 16 + 1]
    return {n for n in os.listdir(SHM)
            if n.startswith(prefix) and not n.endswith("-lock")}


# ---------------------------------------------------------------- cowns


def test_cown_moves_the_matrix_and_a_worker_sees_its_values():
    m, expect = big()
    c = Cown(m)
    assert_moved(m)

    @when(c)
    def read(c):
        v = c.value
        return type(v).__name__, v.shape, np.asarray(v).copy()

    settle()
    name, shape, values = read.unwrap()
    assert name == "Matrix" and shape == (ROWS, COLS)
    assert np.array_equal(values, expect)


def test_small_matrix_moves_inline():
    m = Matrix(2, 2, [1.0, 2.0, 3.0, 4.0])
    c = Cown(m)
    assert_moved(m)

    @when(c)
    def total(c):
        return c.value.sum()

    settle()
    assert total.unwrap() == 10.0
    with c as v:
        assert np.array_equal(np.asarray(v), [[1.0, 2.0], [3.0, 4.0]])


def test_in_place_updates_by_behaviors_share_one_blob():
    @when()
    def up():
        return None

    settle()
    before = instance_blobs()
    m, expect = big()
    c = Cown(m)
    settle()
    first = instance_blobs() - before
    assert len(first) == 1, first

    for _ in range(5):

        @when(c)
        def inc(c):
            v = c.value
            v += 1.0  # in place: the blob the worker mapped

        settle()
        assert instance_blobs() - before == first

    @when(c)
    def read(c):
        return np.asarray(c.value).copy()

    settle()
    assert np.array_equal(read.unwrap(), expect + 5.0)
    # unwrap's release frees the result's own blob when the daemon handles
    # it: a quiesce after it is answered only once that is done.
    settle()
    assert instance_blobs() - before == first


def test_program_hold_moves_the_matrix_back_on_release():
    m, expect = big()
    c = Cown(m)
    with c as v:
        assert np.array_equal(np.asarray(v), expect)
        v += 2.0
    assert_moved(v)

    @when(c)
    def read(c):
        return float(c.value[ROWS - 1, COLS - 1])

    settle()
    assert read.unwrap() == expect[-1, -1] + 2.0


def test_unwrap_hands_the_matrix_to_the_caller():
    m, expect = big()
    c = Cown(m)

    @when(c)
    def inc(c):
        v = c.value
        v += 1.0

    settle()
    mine = c.unwrap()
    assert type(mine) is Matrix
    assert np.array_equal(np.asarray(mine), expect + 1.0)
    mine[0, 0] = -1.0  # owned here: usable and writable
    assert mine[0, 0] == -1.0
    assert c.unwrap() is None  # the cown no longer holds it

    again = Cown(mine)  # and it moves on from here
    assert_moved(mine)
    with again as v:
        assert v[0, 0] == -1.0


def test_moved_matrix_cannot_be_stored_again():
    m, _ = big()
    Cown(m)
    with pytest.raises(RuntimeError, match=NOT_OWNED):
        Cown(m)
    with pytest.raises(RuntimeError, match=NOT_OWNED):
        send("moved", m)


def test_matrices_inside_containers_move():
    a, ea = big()
    b = Matrix(1, 2, [5.0, 6.0])
    c = Cown({"list": [a, 1], "small": b})
    assert_moved(a)
    assert_moved(b)

    @when(c)
    def read(c):
        v = c.value
        return np.asarray(v["list"][0]).copy(), v["small"].sum(), v["list"][1]

    settle()
    got_a, got_b, one = read.unwrap()
    assert np.array_equal(got_a, ea) and got_b == 11.0 and one == 1


def test_same_matrix_twice_in_one_value_moves_once():
    a, ea = big()
    c = Cown([a, a])
    assert_moved(a)

    @when(c)
    def same(c):
        x, y = c.value
        x[0, 0] = 42.0
        return x is y, y[0, 0]

    settle()
    assert same.unwrap() == (True, 42.0)


def test_behavior_moves_a_matrix_from_one_cown_to_another():
    m, expect = big()
    a, b = Cown(m), Cown(None)

    @when(a, b)
    def move(a, b):
        b.value = a.value
        a.value = None

    @when(b)
    def read(b):
        return np.asarray(b.value).copy()

    settle()
    move.unwrap()
    assert np.array_equal(read.unwrap(), expect)
    assert a.unwrap() is None


# ---------------------------------------------------------------- failures


class MovesItAway:
    """Pickling it moves `m` into a cown of its own: the value holding
    both can no longer take `m` once its bytes are made."""

    def __init__(self, m):
        self.m = m

    def __reduce__(self):
        self.cown = Cown(self.m)
        return int, ()


def test_matrix_moved_meanwhile_fails_the_value_and_moves_nothing():
    @when()
    def up():
        return None

    settle()
    before = instance_blobs()
    other, expect = big()
    m, _ = big(1.0)
    sneaky = MovesItAway(m)
    with pytest.raises(RuntimeError, match=NOT_OWNED):
        Cown([other, m, sneaky])
    assert np.array_equal(np.asarray(other), expect)  # given back
    assert_moved(m)  # it went into the sneaky cown
    # Only that cown's blob is left: the failed value's were unlinked.
    assert len(instance_blobs() - before) == 1


def test_value_the_daemon_refuses_gives_the_matrix_back():
    # A full queue (a daemon of one message per tag) refuses the second
    # send: its matrix was never sent, so it stays the sender's.
    code = textwrap.dedent("""
        import os
        import numpy as np
        from bocd._daemon import Daemon
        with Daemon(workers=1, extra_args=("--max-messages", "1")) as d:
            os.environ["BOCD_SOCKET"] = d.socket
            import bocd
            from bocd._matrix import Matrix
            bocd.send("q", Matrix(1, 1, [1.0]))
            m = Matrix._wrap(np.ones((300, 400)))
            try:
                bocd.send("q", m)
            except RuntimeError as e:
                print("refused:", e)
            print("kept:", m.sum())
            print("first:", bocd.receive("q", 30)[1].sum())
    """)
    p = run_python(code, {"BOCD_SOCKET": None})
    assert p.returncode == 0, explain(p)
    assert "refused: Message queue is full" in p.stdout, explain(p)
    assert "kept: 120000.0" in p.stdout and "first: 1.0" in p.stdout, \
        explain(p)


def test_unpicklable_value_moves_nothing():
    m, expect = big()
    with pytest.raises(TypeError):
        Cown([m, threading.Lock()])
    assert np.array_equal(np.asarray(m), expect)  # still ours
    with pytest.raises(TypeError):
        send("t", [m, threading.Lock()])
    assert m.sum() == expect.sum()


def test_failing_behavior_leaves_the_committed_matrix():
    m, expect = big()
    c = Cown(m)

    @when(c)
    def fails(c):
        assert c.value.sum() > 0
        raise ValueError("boom")

    @when(c)
    def unstorable(c):
        # The cown cannot take this: the behavior fails, the cown keeps
        # the matrix it had.
        c.value = [c.value, threading.Lock()]

    @when(c)
    def read(c):
        v = c.value
        return type(v).__name__, np.asarray(v).copy()

    settle()
    with pytest.raises(ValueError, match="boom"):
        fails.unwrap()
    with pytest.raises(TypeError):
        unstorable.unwrap()
    name, values = read.unwrap()
    assert name == "Matrix" and np.array_equal(values, expect)


# ---------------------------------------------------------------- captures and results


def test_capture_moves_and_result_comes_back_owned():
    m, expect = big()
    c = Cown(0)

    @when(c)
    def scaled(c, m=m):
        m += 1.0  # the worker owns what it was given
        return m

    assert_moved(m)
    settle()
    got = scaled.unwrap()
    assert type(got) is Matrix
    assert np.array_equal(np.asarray(got), expect + 1.0)


def test_matrix_a_body_sent_away_cannot_also_be_stored():
    c = Cown(0)

    @when(c)
    def make(c):
        mine = Matrix(1, 3, [1.0, 2.0, 3.0])
        c.value = mine
        try:
            bocd.send("after-store", mine)
        except RuntimeError as e:
            return str(e)
        return "sent"

    settle()
    # Storing it in the cown happens when the body ends: the send inside
    # the body moved it first, so the cown cannot take it.
    with pytest.raises(RuntimeError, match=NOT_OWNED):
        make.unwrap()
    tag, got = receive("after-store", 30)
    assert tag == "after-store" and got.sum() == 6.0
    with c as v:
        assert v == 0  # the cown kept its previous value


def test_body_sends_its_cowns_matrix_away():
    m, expect = big()
    c = Cown(m)

    @when(c)
    def hand_over(c):
        bocd.send("handed", c.value)
        c.value = None

    settle()
    hand_over.unwrap()
    tag, got = receive("handed", 30)
    assert np.array_equal(np.asarray(got), expect)
    assert c.unwrap() is None


def test_returning_the_cowns_matrix_needs_the_cown_emptied():
    m, expect = big()
    c = Cown(m)

    @when(c)
    def both(c):
        return c.value  # the cown's commit takes it first

    @when(c)
    def handed(c):
        v = c.value
        c.value = None
        return v

    settle()
    with pytest.raises(RuntimeError, match=NOT_OWNED):
        both.unwrap()
    got = handed.unwrap()  # the cown still had it for this behavior
    assert np.array_equal(np.asarray(got), expect)
    assert c.unwrap() is None


# ---------------------------------------------------------------- messages


def test_send_moves_and_receive_owns():
    m, expect = big()
    send("mat", m)
    assert_moved(m)
    tag, got = receive("mat", 30)
    assert tag == "mat" and type(got) is Matrix
    assert np.array_equal(np.asarray(got), expect)
    got += 1.0  # the receiver owns it
    assert got[0, 0] == expect[0, 0] + 1.0


def test_send_from_a_behavior_moves():
    c = Cown(0)

    @when(c)
    def sender(c):
        m = Matrix(1, 2, [1.0, 2.0])
        bocd.send("from-worker", m)
        try:
            m.sum()
            return "still usable"
        except RuntimeError as e:
            return str(e)

    settle()
    assert sender.unwrap() == NOT_OWNED
    tag, got = receive("from-worker", 30)
    assert got.sum() == 3.0


# ---------------------------------------------------------------- noticeboard


def test_notice_write_moves_and_readers_get_copies():
    m, expect = big()
    notice_write("mat", m)
    assert_moved(m)
    board = quiesce(noticeboard=True)
    got = board["mat"]
    assert type(got) is Matrix and np.array_equal(np.asarray(got), expect)


# ---------------------------------------------------------------- plain pickling


def test_pickle_and_copies_are_snapshots_and_need_ownership():
    m, expect = big()
    for other in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m),
                  copy.copy(m)):
        assert type(other) is Matrix
        other[0, 0] = -5.0
        assert m[0, 0] == expect[0, 0]  # independent, and m is still ours
    Cown(m)
    for f in (pickle.dumps, copy.deepcopy, copy.copy):
        with pytest.raises(RuntimeError, match=NOT_OWNED):
            f(m)


def test_globals_of_a_script_body_are_copied_not_moved():
    code = textwrap.dedent("""
        import numpy as np
        from bocd import Cown, when, quiesce
        from bocd._matrix import Matrix

        TABLE = Matrix(2, 2, [1.0, 2.0, 3.0, 4.0])

        @when(Cown(0))
        def use(c):
            return TABLE.sum()

        quiesce()
        print(use.unwrap(), TABLE.sum())
    """)
    p = run_python(code)
    assert p.returncode == 0, explain(p)
    assert p.stdout.split() == ["10.0", "10.0"], explain(p)

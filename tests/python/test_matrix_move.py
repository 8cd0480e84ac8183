"""A Matrix is a move type, as in bocpy: storing it in a cown, sending it
or returning it from a behavior moves ownership of its buffer, and the old
handle raises RuntimeError("The current interpreter does not own this
matrix") when its elements are used. unwrap(), receive() and acquiring
hand ownership to the caller. Behaviors on the daemon's worker processes
update a Matrix in a cown in place, and the next behavior sees the update.

By default this runs against bocd (the session daemon of conftest.py).
With BOCD_MATRIX_REFERENCE=bocpy (see matrix_reference.py) the same tests
run on bocpy 0.14's runtime, which proves the ownership rules are bocpy's;
a test that needs something only bocd has (its daemon, its blobs) is
skipped there.
"""

from __future__ import annotations

import copy
import pickle

import pytest

from matrix_reference import REFERENCE, Matrix, bocd_only  # noqa: F401

if REFERENCE:
    from bocpy import Cown, quiesce, receive, send, wait, when
else:
    from bocd import Cown, quiesce, receive, send, when

NOT_OWNED = "The current interpreter does not own this matrix"
GUARD = 30.0  # seconds; only a broken runtime waits that long


def settle():
    quiesce(timeout=GUARD)


@pytest.fixture(scope="module", autouse=True)
def _reference_runtime_stopped():
    """bocpy's runtime keeps the process alive at exit until wait() stops
    it; bocd's session daemon is stopped by conftest.py."""
    yield
    if REFERENCE:
        wait(timeout=GUARD)


def _uses(m):
    """Every way of using a matrix's elements, each a zero-argument call."""

    def setitem():
        m[0, 0] = 1.0

    def iadd():
        n = m
        n += 1.0

    return {
        "sum": lambda: m.sum(),
        "getitem": lambda: m[0, 0],
        "row": lambda: m[0],
        "setitem": setitem,
        "add": lambda: m + 1.0,
        "radd": lambda: 1.0 + m,
        "iadd": iadd,
        "matmul": lambda: m @ m,
        "eq": lambda: m == m,
        "len": lambda: len(m),
        "iter": lambda: list(m),
        "values": lambda: list(m.values()),
        "copy": lambda: m.copy(),
        "T": lambda: m.T,
        "x": lambda: m.x,
        "take": lambda: m.take([0]),
        "row_view": lambda: m.row_view(0),
        "pickle": lambda: pickle.dumps(m),
        "deepcopy": lambda: copy.deepcopy(m),
    }


def assert_moved(m):
    assert m.acquired is False
    for name, use in _uses(m).items():
        with pytest.raises(RuntimeError, match=NOT_OWNED):
            use()
            pytest.fail(f"{name} worked on a moved matrix")  # pragma: no cover


def test_a_matrix_stored_in_a_cown_is_moved(Matrix):
    m = Matrix(2, 2, [1, 2, 3, 4])
    c = Cown(m)
    assert_moved(m)
    if not REFERENCE:  # bocpy has no numpy interop
        import numpy as np  # not at the top: bocpy's workers import this module

        with pytest.raises(RuntimeError, match=NOT_OWNED):
            np.asarray(m)
    settle()
    got = c.unwrap()
    assert isinstance(got, Matrix) and got.acquired is True
    assert got == Matrix(2, 2, [1, 2, 3, 4])
    assert got.sum() == 10.0


def test_unwrap_hands_ownership_to_the_caller(Matrix):
    c = Cown(Matrix(1, 3, [1, 2, 3]))
    settle()
    m = c.unwrap()
    m[0, 0] = 10.0  # the caller owns it now: it can change and use it
    assert m.sum() == 15.0
    c2 = Cown(m)  # and move it on
    assert_moved(m)
    settle()
    assert c2.unwrap() == [10, 2, 3]


def test_a_matrix_acquired_on_main_is_moved_back_on_release(Matrix):
    c = Cown(Matrix(1, 2, [5, 6]))
    with c as v:
        assert v.acquired is True
        assert v.sum() == 11.0
        v[0, 1] = 7.0
        kept = v
    assert_moved(kept)
    settle()
    assert c.unwrap() == [5, 7]


def test_a_sent_matrix_is_moved_and_the_receiver_owns_it(Matrix):
    m = Matrix(1, 2, [1, 2])
    send("matrix-move", m)
    assert_moved(m)
    tag, got = receive("matrix-move", GUARD)
    assert tag == "matrix-move"
    assert got.acquired is True and got == [1, 2]
    got += 1.0
    assert got == [2, 3]


def _add_one(c):
    c.value += 1.0


def test_behaviors_update_a_matrix_in_a_cown_in_place(Matrix):
    rows, columns = 50, 40
    c = Cown(Matrix(rows, columns, 0.0))
    for _ in range(10):
        when(c)(_add_one)

    @when(c)
    def mark(c):
        c.value[3, 4] = -1.0
        c.value.put([7], 5.0)

    @when(c)
    def seen(c):
        # the next behavior sees every update, and the value is still a
        # Matrix owned by the interpreter running this behavior
        return (c.value.acquired, c.value.shape, c.value[0, 0], c.value[3, 4],
                c.value[7].sum(), c.value.sum())

    settle()
    total = (rows * columns - 1 - columns) * 10.0 - 1.0 + columns * 5.0
    assert seen.unwrap() == (True, (rows, columns), 10.0, -1.0, columns * 5.0, total)
    m = c.unwrap()
    assert m.acquired is True and m[3, 4] == -1.0 and m.sum() == total


def test_two_matrices_swap_between_cowns(Matrix):
    a, b = Cown(Matrix(1, 3, 1.0)), Cown(Matrix(2, 2, 2.0))

    @when(a, b)
    def swap(a, b):
        a.value, b.value = b.value, a.value

    @when(a)
    def grow_a(a):
        a.value *= 10.0

    @when(b)
    def grow_b(b):
        b.value += 1.0

    settle()
    assert a.unwrap() == Matrix(2, 2, 20.0)
    assert b.unwrap() == Matrix(1, 3, 2.0)


def test_a_matrix_returned_from_a_behavior_is_moved_to_the_result(Matrix):
    c = Cown(Matrix(2, 3, [1, 2, 3, 4, 5, 6]))

    @when(c)
    def doubled(c):
        return c.value * 2.0

    @when(doubled)
    def total(doubled):
        m = doubled.value
        return (m.acquired, m.shape, m.sum())

    settle()
    assert total.unwrap() == (True, (2, 3), 42.0)
    r = doubled.unwrap()
    assert isinstance(r, Matrix) and r.acquired is True
    assert r == Matrix(2, 3, [2, 4, 6, 8, 10, 12])
    assert c.unwrap() == Matrix(2, 3, [1, 2, 3, 4, 5, 6])


def test_a_matrix_a_behavior_returns_from_its_cown_moves_out_of_it(Matrix):
    """Returning the cown's own matrix moves it into the result cown; the
    behavior then leaves a new value in the cown, so nothing is shared."""
    c = Cown(Matrix(1, 2, [1, 2]))

    @when(c)
    def take(c, Matrix=Matrix):
        m = c.value
        c.value = Matrix(1, 1, [0.0])
        return m

    settle()
    assert take.unwrap() == [1, 2]
    assert c.unwrap() == Matrix(1, 1, [0.0])


@bocd_only("checks bocd's shared-memory blobs")
def test_an_in_place_update_on_a_worker_keeps_the_same_blob(Matrix, bocd_daemon):
    """The matrix's buffer is one shared-memory blob that every behavior
    maps: in-place updates on workers neither copy it into a new blob nor
    send it through the socket."""
    import test_blobs as blobs  # bocd's blob listing helpers

    blobs.make_up()
    settle()
    before = blobs.shm_bocd()
    c = Cown(Matrix(1000, 1000, 0.0))  # 8 MB
    for _ in range(3):
        when(c)(_add_one)
    settle()
    first = blobs.new_blobs(before, bocd_daemon)
    assert len(first) == 1, first
    for i in range(5):
        when(c)(_add_one)
        settle()
        now = blobs.new_blobs(before, bocd_daemon)
        assert now == first, f"after in-place behavior {i + 1}: {now} != {first}"
    m = c.unwrap()
    assert m[999, 999] == 8.0 and m.sum() == 8.0 * 1_000_000


@bocd_only("checks bocd's shared-memory blobs")
@pytest.mark.parametrize("ending", ["overwritten", "freed"])
def test_a_matrix_blob_does_not_outlive_its_cown(Matrix, bocd_daemon, ending):
    import gc

    import test_blobs as blobs

    blobs.make_up()
    settle()
    before = blobs.shm_bocd()
    m = Matrix(500, 500, 1.0)  # 2 MB
    c = Cown(m)
    del m
    when(c)(_add_one)
    settle()
    names = blobs.new_blobs(before, bocd_daemon)
    assert names, "a 2 MB matrix in a cown is not in shared memory"
    if ending == "overwritten":

        @when(c)
        def shrink(c):
            c.value = 0

        settle()
        assert c.unwrap() == 0
    else:
        del c
        gc.collect()
        blobs.make_up()
        settle()
    assert not (names & blobs.shm_bocd()), f"{names} outlived the matrix"

"""MatrixView: row and column views that alias a Matrix's storage, the
m.view[...] accessor, row_views/column_views, read-only views, is_row, T,
arithmetic that materializes, copy and Matrix.from_view.

Runs against bocd's classes or, with BOCD_MATRIX_REFERENCE=bocpy, bocpy's
(see matrix_reference.py). Expected values are computed with plain numpy.
"""

from __future__ import annotations

import gc
import pickle

import numpy as np
import pytest

from matrix_reference import Matrix, MatrixView, check, mat  # noqa: F401

A = np.arange(1.0, 13.0).reshape(3, 4)  # [[1..4], [5..8], [9..12]]


@pytest.fixture
def m(Matrix):
    return mat(Matrix, A)


def test_row_view_reads_the_row(MatrixView, m):
    v = m.row_view(1)
    assert type(v) is MatrixView
    assert list(v) == A[1].tolist()
    assert list(v.values()) == A[1].tolist()
    assert (v.shape, v.rows, v.columns, v.size, len(v)) == ((1, 4), 1, 4, 4, 4)
    assert v.is_row is True and v.read_only is False


def test_column_view_reads_the_column(m):
    v = m.column_view(-1)
    assert list(v) == A[:, -1].tolist()
    assert (v.shape, v.rows, v.columns, v.size, len(v)) == ((3, 1), 3, 1, 3, 3)
    assert v.is_row is False


def test_views_take_a_sub_span(m):
    assert list(m.row_view(0, slice(None, None, -1))) == A[0, ::-1].tolist()
    assert list(m.row_view(-1, slice(0, 3, 2))) == A[-1, 0:3:2].tolist()
    one = m.row_view(0, 2)
    assert list(one) == [A[0, 2]] and one.shape == (1, 1)
    assert list(m.column_view(1, slice(1, 3))) == A[1:3, 1].tolist()


def test_view_index_errors(m):
    with pytest.raises(IndexError, match="row index out of range"):
        m.row_view(3)
    with pytest.raises(IndexError, match="column index out of range"):
        m.column_view(-5)
    with pytest.raises(IndexError):
        m.row_view(0, 4)
    with pytest.raises(IndexError):
        m.row_view(0, slice(2, 1))  # empty


def test_element_reads_and_slices_of_a_view(MatrixView, m):
    v = m.row_view(2)
    assert v[0] == A[2, 0] and v[-1] == A[2, -1]
    sub = v[1:3]
    assert type(sub) is MatrixView and list(sub) == A[2, 1:3].tolist()
    assert list(v[::-2]) == A[2, ::-2].tolist()
    with pytest.raises(IndexError, match="view index out of range"):
        v[4]
    with pytest.raises(TypeError, match="MatrixView is 1-D"):
        v[0, 0]


def test_writes_through_a_view_reach_the_matrix(Matrix, m):
    e = A.copy()
    v = m.row_view(1)
    v[0] = 10
    v[1:3] = [20, 30]
    e[1, 0:3] = [10, 20, 30]
    c = m.column_view(3)
    c[:] = 0
    e[:, 3] = 0
    m.column_view(0)[:] = Matrix(1, 3, [7, 8, 9])  # length-only match
    e[:, 0] = [7, 8, 9]
    m.row_view(2, slice(1, 3))[:] = m.row_view(0, slice(1, 3))
    e[2, 1:3] = e[0, 1:3]
    check(m, e, Matrix)


def test_a_view_sees_later_writes_to_the_matrix(m):
    v = m.column_view(2)
    m[0, 2] = -1.0
    m += 1.0
    expected = A[:, 2].copy()
    expected[0] = -1.0
    assert list(v) == (expected + 1.0).tolist()


def test_view_write_errors(Matrix, m):
    v = m.column_view(2)
    with pytest.raises(ValueError, match="cannot assign 2 values to a view of length 3"):
        v[:] = [1, 2]
    with pytest.raises(TypeError, match="cannot delete elements of a MatrixView"):
        del v[0]
    with pytest.raises(TypeError):
        v[0] = "a"
    with pytest.raises(IndexError):
        v[3] = 1.0
    with pytest.raises(TypeError):
        v[0, 0] = 1.0
    check(m, A, Matrix)


def test_xyzw_of_a_view(Matrix, m):
    v = m.column_view(1)
    assert (v.x, v.y, v.z) == tuple(A[:, 1])
    with pytest.raises(IndexError):
        v.w
    v.y = 0.0
    e = A.copy()
    e[1, 1] = 0.0
    check(m, e, Matrix)


def test_T_flips_orientation_and_keeps_aliasing(Matrix, MatrixView, m):
    r = m.row_view(0)
    t = r.T
    assert type(t) is MatrixView
    assert t.shape == (4, 1) and t.is_row is False
    assert m.column_view(0).T.is_row is True
    t[2] = 0.0
    e = A.copy()
    e[0, 2] = 0.0
    check(m, e, Matrix)


def test_read_only_views_reject_writes_and_so_do_their_derivatives(Matrix, m):
    v = m.row_view(0, read_only=True)
    assert v.read_only is True
    derived = [v, v.T, v[0:2], m.column_view(1, read_only=True)]
    for d in derived:
        assert d.read_only is True
        with pytest.raises(TypeError, match="cannot write to a read-only MatrixView"):
            d[0] = 5.0
        with pytest.raises(TypeError, match="read-only"):
            d[:] = 5.0
        with pytest.raises(TypeError, match="read-only"):
            d.x = 5.0
    check(m, A, Matrix)
    assert list(v) == A[0].tolist()  # reading is fine


def test_view_accessor(m):
    assert m.view[1].shape == (1, 4) and list(m.view[1]) == A[1].tolist()
    assert list(m.view[1, 0:2]) == A[1, 0:2].tolist()
    col = m.view[:, 2]
    assert col.is_row is False and list(col) == A[:, 2].tolist()
    assert list(m.view[0:2, 1]) == A[0:2, 1].tolist()
    assert m.view[1, 1].shape == (1, 1)
    m.view[:, 0][:] = 0.0
    assert [m[i, 0] for i in range(3)] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("key", [(slice(0, 2), slice(0, 2)), ([0, 1],)], ids=str)
def test_view_accessor_rejects_a_sub_matrix(m, key):
    with pytest.raises(TypeError, match="a view must be a single row or column; use m\\[...\\] to copy"):
        m.view[key if len(key) > 1 else key[0]]


def test_row_views_and_column_views(MatrixView, m):
    rows = list(m.row_views())
    assert [list(v) for v in rows] == A.tolist()
    assert all(type(v) is MatrixView and v.is_row and not v.read_only for v in rows)
    cols = list(m.column_views(read_only=True))
    assert [list(v) for v in cols] == A.T.tolist()
    assert all(not v.is_row and v.read_only for v in cols)
    rows[1][0] = -5.0
    assert m[1, 0] == -5.0


def test_view_arithmetic_returns_a_new_matrix(Matrix, m):
    r, c = m.row_view(0), m.column_view(0)
    a0, c0 = A[0:1], A[:, 0:1]
    check(r + 1, a0 + 1, Matrix)
    check(1 + r, 1 + a0, Matrix)
    check(r - [1, 1, 1, 1], a0 - 1, Matrix)
    check(r * m.row_view(1), a0 * A[1:2], Matrix)
    check(2 / r, 2 / a0, Matrix)
    check(r / 2, a0 / 2, Matrix)
    check(2 * r, 2 * a0, Matrix)
    check(1 - c, 1 - c0, Matrix)
    check(c - Matrix(3, 1, 1), c0 - 1, Matrix)
    check(-r, -a0, Matrix)
    check(abs(-r), a0, Matrix)
    check(r @ m.T, a0 @ A.T, Matrix, exact=False)
    check(m @ r.T, A @ a0.T, Matrix, exact=False)
    check(c @ r, c0 @ a0, Matrix)
    check(m + r, A + a0, Matrix)
    check(m, A, Matrix)


def test_augmented_assignment_on_a_view_rebinds_and_does_not_write(Matrix, MatrixView, m):
    v = m.row_view(0)
    keep = v
    v += 1
    assert type(v) is Matrix and type(keep) is MatrixView
    check(v, A[0:1] + 1, Matrix)
    check(m, A, Matrix)


def test_copy_and_from_view_detach(Matrix, m):
    for c in (m.column_view(1).copy(), Matrix.from_view(m.column_view(1))):
        assert type(c) is Matrix
        check(c, A[:, 1:2], Matrix)
        c[0, 0] = 99.0
    check(Matrix.from_view(m.row_view(2, slice(None, None, -1))), A[2:3, ::-1], Matrix)
    check(m, A, Matrix)


def test_from_view_needs_a_view(Matrix, m):
    with pytest.raises(TypeError, match="from_view expects a MatrixView"):
        Matrix.from_view(m)


def test_views_cannot_be_constructed_directly_or_pickled(MatrixView, m):
    with pytest.raises(TypeError, match="use Matrix.row_view\\(\\) / Matrix.column_view\\(\\)"):
        MatrixView()
    with pytest.raises(TypeError, match="cannot pickle or send a MatrixView"):
        pickle.dumps(m.row_view(0))


def test_a_view_keeps_its_matrix_alive(Matrix):
    v = Matrix(2, 2, [1, 2, 3, 4]).row_view(1)
    gc.collect()
    assert list(v) == [3.0, 4.0]

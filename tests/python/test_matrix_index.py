"""Matrix indexing: int, slice and fancy keys for reading and writing, take
and put (validated before any write), take_along_axis/put_along_axis,
Matrix.where and repeat_interleave, with bocpy 0.14's errors for NaN,
empty-selection, out-of-range and mixed fancy-index keys.

Runs against bocd.Matrix or, with BOCD_MATRIX_REFERENCE=bocpy, bocpy's
(see matrix_reference.py). Expected values are computed with plain numpy.
"""

from __future__ import annotations

import numpy as np
import pytest

from matrix_reference import Matrix, arr, check, mat, sample  # noqa: F401

NAN = float("nan")
A = np.arange(1.0, 13.0).reshape(3, 4)  # [[1..4], [5..8], [9..12]]


@pytest.fixture
def m(Matrix):
    return mat(Matrix, A)


# ------------------------------------------------------------------ reading


def test_an_int_index_gives_a_row_as_a_matrix(Matrix, m):
    check(m[0], A[0:1], Matrix)
    check(m[-1], A[2:3], Matrix)
    check(Matrix(1, 3, [1, 2, 3])[0], [[1, 2, 3]], Matrix)


def test_an_int_index_into_a_single_column_gives_a_float(Matrix):
    got = Matrix(3, 1, [1, 2, 3])[1]
    assert type(got) is float and got == 2.0


def test_a_pair_of_ints_gives_a_float(m):
    assert m[1, 2] == 7.0 and type(m[1, 2]) is float
    assert m[-1, -1] == 12.0


def test_slices_give_matrices_even_when_1x1(Matrix, m):
    check(m[0:2], A[0:2], Matrix)
    check(m[:, 1], A[:, 1:2], Matrix)
    check(m[1, :], A[1:2, :], Matrix)
    check(m[::2, ::-1], A[::2, ::-1], Matrix)
    check(m[::-1], A[::-1], Matrix)
    check(m[0:1, 0:1], A[0:1, 0:1], Matrix)
    check(m[1, 0:1], A[1:2, 0:1], Matrix)
    check(m[0:1, 3], A[0:1, 3:4], Matrix)


def test_reading_copies(Matrix, m):
    row = m[0]
    row[0, 0] = 100.0
    block = m[0:2, 0:2]
    block[0, 0] = 100.0
    check(m, A, Matrix)


@pytest.mark.parametrize("key", [3, -4, (0, 4), (3, 0), (-4, 0)])
def test_an_int_out_of_range_is_an_index_error(m, key):
    with pytest.raises(IndexError):
        m[key]


def test_a_slice_selecting_nothing_is_an_index_error(m):
    with pytest.raises(IndexError):
        m[5:7]


@pytest.mark.parametrize("key", [0.5, NAN, "a", None])
def test_a_non_int_key_is_a_type_error(m, key):
    with pytest.raises(TypeError, match="Key must be a long or a slice"):
        m[key]


def test_three_indices_are_a_key_error(m):
    with pytest.raises(KeyError, match="one dimension \\(row\\) or two dimensions"):
        m[0, 0, 0]


def test_a_huge_index_is_an_overflow_error(m):
    with pytest.raises(OverflowError):
        m[2**70]
    with pytest.raises(OverflowError):
        m[[2**70]]


def test_fancy_row_and_column_gathers(Matrix, m):
    check(m[[0, 2]], A[[0, 2]], Matrix)
    check(m[[2, 0], :], A[[2, 0]], Matrix)
    check(m[[0]], A[[0]], Matrix)
    check(m[[-1, -1]], A[[2, 2]], Matrix)  # duplicates repeat
    check(m[:, [3, 0, 0]], A[:, [3, 0, 0]], Matrix)
    check(m[[True, False]], A[[1, 0]], Matrix)  # a bool is 0 or 1


@pytest.mark.parametrize("key", [[3], [0, -4]])
def test_a_fancy_row_out_of_range(m, key):
    with pytest.raises(IndexError, match=f"row index {key[-1]} out of range for dimension of size 3"):
        m[key]


def test_a_fancy_column_out_of_range(m):
    with pytest.raises(IndexError, match="column index 4 out of range for dimension of size 4"):
        m[:, [4]]


def test_an_empty_fancy_key_is_an_index_error(m):
    with pytest.raises(IndexError, match="index sequence must not be empty"):
        m[[]]
    with pytest.raises(IndexError, match="index sequence must not be empty"):
        m[:, []]


@pytest.mark.parametrize("key", [[0.5], [NAN], ["a"], [[0]]])
def test_a_fancy_key_of_non_ints_is_a_type_error(m, key):
    with pytest.raises(TypeError, match="an integer is required"):
        m[key]


MIXED = [
    ([0], [0]),  # paired lists
    ([0], 0),  # list with int
    (0, [0]),
    (slice(0, 2), [0]),  # a list with a slice that is not the bare ':'
    (slice(0, 3), [0]),  # even a full range
    ([0], slice(0, 2)),
]


@pytest.mark.parametrize("key", MIXED, ids=str)
def test_mixed_fancy_keys_are_rejected(m, key):
    with pytest.raises(IndexError, match=r"fancy indexing supports only m\[\[rows\]\], "
                                         r"m\[\[rows\], :\], or m\[:, \[cols\]\]; use take\(\)"):
        m[key]


# ------------------------------------------------------------------ writing


def test_assign_an_element_a_row_and_a_block(Matrix, m):
    e = A.copy()
    m[0, 0] = 10
    e[0, 0] = 10
    m[1] = 7  # a scalar fills the row
    e[1] = 7
    m[2] = [1, 2, 3, 4]
    e[2] = [1, 2, 3, 4]
    m[0:2, 2:4] = Matrix(2, 2, [0, 0, 0, 0])
    e[0:2, 2:4] = 0
    m[:, 1] = Matrix(3, 1, [5, 6, 7])
    e[:, 1] = [5, 6, 7]
    check(m, e, Matrix)


def test_assign_nan_is_allowed(m):
    m[0, 0] = NAN
    assert m[0, 0] != m[0, 0]


def test_assign_a_string_is_a_type_error(Matrix, m):
    with pytest.raises(TypeError):
        m[0, 0] = "a"
    check(m, A, Matrix)


def test_assign_out_of_range(Matrix, m):
    with pytest.raises(IndexError):
        m[3, 0] = 1
    check(m, A, Matrix)


def test_fancy_assignment(Matrix, m):
    e = A.copy()
    m[[0, 2]] = Matrix(2, 4, 0)
    e[[0, 2]] = 0
    m[:, [1, 3]] = 9
    e[:, [1, 3]] = 9
    m[[1]] = Matrix(1, 1, [5])  # a 1x1 matrix is a scalar here
    e[1] = 5
    check(m, e, Matrix)


def test_fancy_assignment_duplicates_last_write_wins(Matrix, m):
    m[[0, 0]] = Matrix(2, 4, [1] * 4 + [2] * 4)
    e = A.copy()
    e[0] = 2
    check(m, e, Matrix)


def test_fancy_augmented_assignment_does_not_accumulate_duplicates(Matrix, m):
    m[[0, 0]] += 1
    e = A.copy()
    e[0] += 1
    check(m, e, Matrix)


def test_fancy_assignment_errors_leave_the_matrix_unchanged(Matrix, m):
    with pytest.raises(ValueError, match="cannot assign 1x4 matrix to a selection of shape 2x4"):
        m[[0, 1]] = Matrix(1, 4)
    with pytest.raises(IndexError, match="row index 5 out of range for dimension of size 3"):
        m[[0, 5]] = 0  # row 0 is valid but must not be written
    with pytest.raises(IndexError, match="index sequence must not be empty"):
        m[[]] = 0
    with pytest.raises(TypeError, match="value must be a Matrix or a real number"):
        m[[0]] = "a"
    with pytest.raises(IndexError, match=r"fancy assignment supports only m\[\[rows\]\] = v"):
        m[[0], [0]] = 1
    with pytest.raises(IndexError, match="fancy assignment supports only"):
        m[0:2, [0]] = 1
    check(m, A, Matrix)


# ---------------------------------------------------------------- take, put


def test_take_rows_and_columns(Matrix, m):
    check(m.take([2, 0]), A[[2, 0]], Matrix)
    check(m.take((-1,)), A[[2]], Matrix)
    check(m.take([0, 0], 1), A[:, [0, 0]], Matrix)
    check(m.take([3], -1), A[:, [3]], Matrix)  # -1 is the column axis
    check(m.take([True]), A[[1]], Matrix)
    check(m, A, Matrix)


def test_take_into_out(Matrix, m):
    out = Matrix(1, 4)
    assert m.take([1], out=out) is out
    check(out, A[[1]], Matrix)
    with pytest.raises(ValueError, match="out shape 1x3 does not match result 1x4"):
        m.take([0], out=Matrix(1, 3))
    with pytest.raises(ValueError, match="out must not alias the matrix being taken from"):
        m.take([0, 1, 2], out=m)
    with pytest.raises(IndexError):
        m.take([0, 9], out=out)
    check(out, A[[1]], Matrix)  # a rejected call leaves out untouched


def test_take_errors(m):
    with pytest.raises(IndexError, match="row index 3 out of range for dimension of size 3"):
        m.take([3])
    with pytest.raises(IndexError, match="column index -5 out of range for dimension of size 4"):
        m.take([-5], 1)
    with pytest.raises(IndexError, match="index sequence must not be empty"):
        m.take([])
    with pytest.raises(KeyError, match="Invalid axis \\(must be 0 or 1\\)"):
        m.take([0], 2)
    with pytest.raises(TypeError, match="an integer is required"):
        m.take([NAN])
    with pytest.raises(TypeError, match="an integer is required"):
        m.take([0.0])
    with pytest.raises(TypeError, match="list or a tuple of ints"):
        m.take(0)
    with pytest.raises(OverflowError):
        m.take([2**70])


def test_put_rows_and_columns(Matrix, m):
    e = A.copy()
    assert m.put([0, 2], 0) is m
    e[[0, 2]] = 0
    m.put([1], Matrix(1, 4, [7, 8, 9, 10]))
    e[1] = [7, 8, 9, 10]
    m.put([1], Matrix(3, 1, [-1, -2, -3]), 1)
    e[:, 1] = [-1, -2, -3]
    m.put([-1], Matrix(1, 1, [4]), 1)
    e[:, -1] = 4
    m.put([0], NAN)
    e[0] = NAN
    check(m, e, Matrix)


def test_put_duplicates_last_write_wins_or_accumulate(Matrix, m):
    m.put([0, 0], Matrix(2, 4, [1] * 4 + [2] * 4))
    e = A.copy()
    e[0] = 2
    check(m, e, Matrix)
    m.put([0, 0, 1], 1, accumulate=True)
    np.add.at(e, [0, 0, 1], 1)
    check(m, e, Matrix)
    v = sample(2, 3)
    n = Matrix(2, 3)
    n.put([1, 1], mat(Matrix, np.vstack([v[0], v[1]])), 0, True)
    check(n, [[0, 0, 0], v[0] + v[1]], Matrix)


BAD_PUTS = [
    (([0, 3], 0), IndexError, "row index 3 out of range for dimension of size 3"),
    (([0, -4], 0), IndexError, "row index -4 out of range"),
    (([0, 4], 0, 1), IndexError, "column index 4 out of range for dimension of size 4"),
    (([], 0), IndexError, "index sequence must not be empty"),
    (([0, "a"], 0), TypeError, "an integer is required"),
    (([0, NAN], 1), TypeError, "an integer is required"),
    (([0, 1.0], 1), TypeError, "an integer is required"),
    (([0, 2**70], 1), OverflowError, None),
    (([0, 1], "matrix 3x3"), ValueError, "cannot assign 3x3 matrix to a selection of shape 2x4"),
    (([0], "x"), TypeError, "value must be a Matrix or a real number"),
    (([0], [1, 2, 3, 4]), TypeError, "value must be a Matrix or a real number"),
    (([0], 0, 5), KeyError, "Invalid axis"),
]


@pytest.mark.parametrize("args,error,message", BAD_PUTS, ids=lambda x: str(x)[:40])
def test_put_validates_everything_before_writing_anything(Matrix, m, args, error, message):
    args = tuple(Matrix(3, 3, 1) if a == "matrix 3x3" else a for a in args)
    with pytest.raises(error, match=message):
        m.put(*args)
    check(m, A, Matrix)
    with pytest.raises(error):
        m.put(*args[:2], *(args[2:] or (0,)), True)  # accumulate=True
    check(m, A, Matrix)


def test_take_along_axis(Matrix, m):
    idx = [0, 3, -1]
    expected = np.take_along_axis(A, np.array([0, 3, 3])[:, None], axis=1)
    check(m.take_along_axis(idx, 1), expected, Matrix)
    idx = [2, 0, 1, 1]
    check(m.take_along_axis(idx, 0), np.take_along_axis(A, np.array(idx)[None, :], axis=0),
          Matrix)
    # it takes back what argmin found
    a = sample(4, 5)
    s = mat(Matrix, a)
    check(s.take_along_axis(s.argmin(1), 1), a.min(axis=1, keepdims=True), Matrix)
    out = Matrix(3, 1)
    assert m.take_along_axis([0, 1, 2], 1, out=out) is out
    check(out, [[1], [6], [11]], Matrix)


def test_take_along_axis_errors(Matrix, m):
    with pytest.raises(ValueError, match="take_along_axis on axis 1 expects 3 indices "
                                         "\\(one per row\\), got 2"):
        m.take_along_axis([0, 1], 1)
    with pytest.raises(IndexError, match="column index 4 out of range for dimension of size 4"):
        m.take_along_axis([0, 1, 4], 1)
    with pytest.raises(KeyError, match="Invalid axis"):
        m.take_along_axis([0, 1, 2], 2)
    with pytest.raises(TypeError):
        m.take_along_axis([0, 1, NAN], 1)
    out = Matrix(3, 1, [5, 5, 5])
    with pytest.raises(ValueError, match="out shape 1x3 does not match result 3x1"):
        m.take_along_axis([0, 1, 2], 1, out=Matrix(1, 3))
    with pytest.raises(IndexError):
        m.take_along_axis([0, 1, 9], 1, out=out)
    check(out, [[5], [5], [5]], Matrix)


def test_put_along_axis(Matrix, m):
    e = A.copy()
    assert m.put_along_axis([0, 3, 1], 0, 1) is m
    np.put_along_axis(e, np.array([0, 3, 1])[:, None], 0, axis=1)
    m.put_along_axis([2, 0, 1, 1], Matrix(1, 4, [7, 8, 9, 10]), 0)
    np.put_along_axis(e, np.array([2, 0, 1, 1])[None, :], np.array([[7, 8, 9, 10]]), axis=0)
    check(m, e, Matrix)
    n = Matrix(1, 3)
    n.put_along_axis([0, 0, 0], 1, 0, accumulate=True)
    check(n, [[1, 1, 1]], Matrix)
    c = Matrix(3, 1)
    c.put_along_axis([0, 0, 0], 2, 1, True)
    check(c, [[2], [2], [2]], Matrix)


def test_put_along_axis_validates_before_writing(Matrix, m):
    with pytest.raises(ValueError, match="put_along_axis on axis 0 expects 4 indices "
                                         "\\(one per column\\), got 2"):
        m.put_along_axis([0, 0], 1, 0)
    with pytest.raises(IndexError, match="row index 3 out of range for dimension of size 3"):
        m.put_along_axis([0, 0, 0, 3], 1, 0)
    with pytest.raises(ValueError, match="cannot assign 4x1 matrix to a selection of shape 1x4"):
        m.put_along_axis([0, 0, 0, 0], Matrix(4, 1), 0)
    with pytest.raises(KeyError, match="Invalid axis"):
        m.put_along_axis([0, 0, 0], 1, 2)
    with pytest.raises(TypeError):
        m.put_along_axis([0, 0, 0], "a", 1)
    check(m, A, Matrix)


# ------------------------------------------------------- where, repeat


def test_where_selects_elementwise(Matrix):
    mask = np.array([[1.0, 0.0, NAN], [0.0, -2.0, 0.0]])  # NaN selects a
    a, b = sample(2, 3, 1), sample(2, 3, 2)
    expected = np.where(mask != 0, a, b)
    check(Matrix.where(mat(Matrix, mask), mat(Matrix, a), mat(Matrix, b)), expected, Matrix)
    check(Matrix.where(mat(Matrix, mask), 1, -1), np.where(mask != 0, 1.0, -1.0), Matrix)
    check(Matrix.where(Matrix(1, 3, [1, 0, 1]), [1, 2, 3], (4, 5, 6)), [[1, 5, 3]], Matrix)
    out = Matrix(2, 3)
    assert Matrix.where(mat(Matrix, mask), 1, True, out=out) is out
    check(out, np.where(mask != 0, 1.0, 1.0), Matrix)


def test_where_errors(Matrix):
    mask = Matrix(1, 3, [1, 0, 1])
    with pytest.raises(ValueError, match="where\\(\\) matrix or list/tuple operands must match the mask shape"):
        Matrix.where(mask, Matrix(1, 1, [5]), 0)  # a 1x1 is not a scalar here
    with pytest.raises(ValueError, match="must match the mask shape"):
        Matrix.where(mask, Matrix(1, 2), 0)
    with pytest.raises(TypeError, match="where\\(\\) operands must each be a Matrix, a scalar, or a list/tuple of numbers"):
        Matrix.where(mask, "a", 0)
    with pytest.raises(TypeError):
        Matrix.where([1, 0], 1, 2)


def test_repeat_interleave(Matrix):
    a = sample(2, 3)
    m = mat(Matrix, a)
    check(m.repeat_interleave(2), np.repeat(a.ravel(), 2)[None, :], Matrix)
    check(m.repeat_interleave(3, 0), np.repeat(a, 3, axis=0), Matrix)
    check(m.repeat_interleave(2, 1), np.repeat(a, 2, axis=1), Matrix)
    check(m.repeat_interleave(2, -1), np.repeat(a, 2, axis=1), Matrix)
    check(m.repeat_interleave(2, -2), np.repeat(a, 2, axis=0), Matrix)
    check(m, a, Matrix)


def test_repeat_interleave_errors(Matrix):
    with pytest.raises(ValueError, match="repeats must be a positive integer"):
        Matrix(1, 2).repeat_interleave(0)
    with pytest.raises(ValueError, match="axis must be -2, -1, 0, or 1"):
        Matrix(1, 2).repeat_interleave(2, 2)
    with pytest.raises(TypeError):
        Matrix(1, 2).repeat_interleave(2.0)

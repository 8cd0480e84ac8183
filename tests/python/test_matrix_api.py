"""Matrix: construction, properties, arithmetic and broadcasting, fma,
comparisons, copying and numpy interop, as bocpy 0.14 defines them.

Each test runs against bocd.Matrix, or against bocpy's with
BOCD_MATRIX_REFERENCE=bocpy (see matrix_reference.py). Expected values are
computed with plain numpy.
"""

from __future__ import annotations

import copy
import math
import pickle
from fractions import Fraction

import numpy as np
import pytest

from matrix_reference import (  # noqa: F401 - fixtures
    Matrix,
    MatrixView,
    arr,
    bocd_only,
    bocpy_defect,
    check,
    mat,
    sample,
)

NAN = float("nan")
INF = float("inf")


# ------------------------------------------------------------ construction


def test_constructor_fills_row_major_from_a_flat_sequence(Matrix):
    m = Matrix(2, 3, [1, 2, 3, 4, 5, 6])
    check(m, [[1, 2, 3], [4, 5, 6]], Matrix)
    check(Matrix(1, 2, (1.5, -2)), [[1.5, -2]], Matrix)


def test_constructor_without_values_is_zeros_and_a_scalar_fills(Matrix):
    check(Matrix(2, 2), np.zeros((2, 2)), Matrix)
    check(Matrix(2, 3, 7), np.full((2, 3), 7.0), Matrix)
    check(Matrix(1, 1, 2.5), [[2.5]], Matrix)


@pytest.mark.parametrize("rows,columns", [(0, 3), (3, 0), (-1, 2)])
def test_constructor_needs_both_dimensions_at_least_one(Matrix, rows, columns):
    with pytest.raises(AssertionError, match="must both be > 0"):
        Matrix(rows, columns)


@pytest.mark.parametrize("values", [[1, 2, 3], [[1, 2], [3, 4]], [1, "a", 3, 4], "abcd"])
def test_constructor_rejects_values_of_the_wrong_length_or_type(Matrix, values):
    with pytest.raises(TypeError, match="list/tuple of MxN numbers"):
        Matrix(2, 2, values)


def test_constructor_dimensions_must_be_ints(Matrix):
    with pytest.raises(TypeError):
        Matrix(2.0, 2)


def test_zeros_ones_full(Matrix):
    check(Matrix.zeros((2, 3)), np.zeros((2, 3)), Matrix)
    check(Matrix.ones((3, 1)), np.ones((3, 1)), Matrix)
    check(Matrix.full((2, 2), -3.5), np.full((2, 2), -3.5), Matrix)


def test_zeros_needs_both_dimensions_at_least_one(Matrix):
    with pytest.raises(AssertionError, match=">= 1"):
        Matrix.zeros((0, 2))


def test_size_must_be_a_pair(Matrix):
    with pytest.raises(TypeError):
        Matrix.zeros((1, 2, 3))
    with pytest.raises(TypeError):
        Matrix.full((1, 2), "a")


@bocpy_defect("a size that is not a tuple raises SystemError")
@pytest.mark.parametrize("factory", ["zeros", "ones"])
def test_size_that_is_not_a_tuple_is_a_type_error(Matrix, factory):
    with pytest.raises(TypeError):
        getattr(Matrix, factory)(2)


def test_constructor_takes_bools_and_nan(Matrix):
    check(Matrix(1, 2, [True, False]), [[1, 0]], Matrix)
    check(Matrix(1, 2, NAN), [[NAN, NAN]], Matrix)


def test_vector_makes_a_row_or_with_as_column_a_column(Matrix):
    check(Matrix.vector([1, 2, 3]), [[1, 2, 3]], Matrix)
    check(Matrix.vector((1, 2, 3), True), [[1], [2], [3]], Matrix)


@bocpy_defect("vector() takes as_column only positionally")
def test_vector_takes_as_column_by_keyword(Matrix):
    check(Matrix.vector([1, 2], as_column=True), [[1], [2]], Matrix)


def test_vector_of_nothing_is_an_error(Matrix):
    with pytest.raises(ValueError, match="empty"):
        Matrix.vector([])


def test_concat_stacks_rows_or_columns(Matrix):
    a, b = sample(2, 3, 1), sample(1, 3, 2)
    check(Matrix.concat([mat(Matrix, a), mat(Matrix, b)]), np.vstack([a, b]), Matrix)
    c, d = sample(2, 1, 3), sample(2, 2, 4)
    check(Matrix.concat([mat(Matrix, c), mat(Matrix, d)], axis=1),
          np.hstack([c, d]), Matrix)
    check(Matrix.concat([[1, 2], [3, 4]]), [[1, 2], [3, 4]], Matrix)


def test_concat_rejects_mismatched_shapes_and_bad_axes(Matrix):
    with pytest.raises(AssertionError, match="same number of columns"):
        Matrix.concat([Matrix(1, 2), Matrix(1, 3)])
    with pytest.raises(AssertionError, match="same number of rows"):
        Matrix.concat([Matrix(1, 2), Matrix(2, 2)], axis=1)
    with pytest.raises(KeyError, match="Invalid axis"):
        Matrix.concat([Matrix(1, 2), Matrix(1, 2)], axis=2)


def test_normal_and_uniform_give_a_float_without_size(Matrix):
    assert type(Matrix.normal(0.0, 1.0)) is float
    u = Matrix.uniform(2.0, 3.0)
    assert type(u) is float and 2.0 <= u < 3.0


def test_uniform_with_size_stays_in_its_half_open_range(Matrix):
    m = Matrix.uniform(2.0, 3.0, (20, 30))
    a = arr(m)
    assert m.shape == (20, 30)
    assert (a >= 2.0).all() and (a < 3.0).all()
    assert len(np.unique(a)) > 500  # draws, not one value repeated


def test_normal_with_size_has_about_the_asked_mean_and_spread(Matrix):
    a = arr(Matrix.normal(5.0, 2.0, (200, 200)))
    # 40,000 draws: the mean is within 0.1 and the spread within 0.1
    # except with a probability far below 1e-9.
    assert abs(a.mean() - 5.0) < 0.1
    assert abs(a.std() - 2.0) < 0.1


@bocpy_defect("mean/stddev and minval/maxval are typed Optional with defaults "
              "0 and 1, but None raises TypeError")
def test_random_bounds_of_none_take_their_defaults(Matrix):
    a = arr(Matrix.uniform(None, None, (50, 50)))
    assert (a >= 0.0).all() and (a < 1.0).all()
    assert type(Matrix.normal(None, None)) is float


def test_seed_makes_the_draws_reproducible(Matrix):
    Matrix.seed(1234)
    a = Matrix.uniform(0.0, 1.0, (3, 3))
    n = Matrix.normal(0.0, 1.0)
    Matrix.seed(1234)
    assert Matrix.uniform(0.0, 1.0, (3, 3)) == a
    assert Matrix.normal(0.0, 1.0) == n
    Matrix.seed(4321)
    assert Matrix.uniform(0.0, 1.0, (3, 3)) != a


# ------------------------------------------------------------- properties


def test_shape_properties(Matrix):
    m = Matrix(2, 3)
    assert (m.rows, m.columns, m.shape, m.size, len(m)) == (2, 3, (2, 3), 6, 2)


def test_T_and_transpose_are_copies(Matrix):
    a = sample(2, 3)
    m = mat(Matrix, a)
    check(m.T, a.T, Matrix)
    t = m.transpose()
    check(t, a.T, Matrix)
    t[0, 0] = 99.0
    m.T[0, 1] = 99.0
    check(m, a, Matrix)


def test_transpose_in_place_changes_the_shape_of_the_same_object(Matrix):
    a = sample(2, 3)
    m = mat(Matrix, a)
    assert m.transpose(in_place=True) is m
    check(m, a.T, Matrix)


def test_length_is_the_frobenius_norm_not_the_count(Matrix):
    assert Matrix(1, 2, [3, 4]).length == 5.0
    a = sample(3, 4)
    assert math.isclose(mat(Matrix, a).length, np.linalg.norm(a), rel_tol=1e-12)


def test_xyzw_read_and_write_flat_elements_0_to_3(Matrix):
    m = Matrix(2, 2, [1, 2, 3, 4])
    assert (m.x, m.y, m.z, m.w) == (1.0, 2.0, 3.0, 4.0)
    m.x, m.y, m.z, m.w = 10, 20, 30, 40
    check(m, [[10, 20], [30, 40]], Matrix)
    c = Matrix(3, 1, [5, 6, 7])
    assert (c.x, c.y, c.z) == (5.0, 6.0, 7.0)


def test_xyzw_beyond_the_size_is_an_index_error(Matrix):
    with pytest.raises(IndexError):
        Matrix(1, 3).w
    with pytest.raises(IndexError):
        Matrix(1, 1).y = 1.0


def test_xyzw_setter_needs_a_number(Matrix):
    with pytest.raises(TypeError, match="real number"):
        Matrix(1, 2).x = "a"


def test_acquired_is_true_for_a_fresh_matrix(Matrix):
    assert Matrix(1, 1).acquired is True


def test_iteration_yields_rows(Matrix):
    a = sample(3, 2)
    rows = list(mat(Matrix, a))
    assert len(rows) == 3
    for row, expected in zip(rows, a):
        check(row, expected[None, :], Matrix)


def test_iteration_of_a_column_yields_floats(Matrix):
    assert list(Matrix(3, 1, [1, 2, 3])) == [1.0, 2.0, 3.0]


def test_values_yields_every_element_in_row_major_order(Matrix):
    vals = Matrix(2, 2, [1, 2, 3, 4]).values()
    assert iter(vals) is vals
    assert list(vals) == [1.0, 2.0, 3.0, 4.0]


# ------------------------------------------------- arithmetic, broadcasting


OPS = {
    "+": (lambda a, b: a + b, "add"),
    "-": (lambda a, b: a - b, "subtract"),
    "*": (lambda a, b: a * b, "multiply"),
    "/": (lambda a, b: a / b, "divide"),
}

# The forms bocpy broadcasts (right operand shape against a 3x4 left one).
BROADCAST = [(3, 4), (1, 1), (1, 4), (3, 1)]
# Shapes it rejects against 3x4, though numpy would take some of them.
NOT_BROADCAST = [(4, 3), (2, 4), (3, 2), (1, 3), (4, 1), (3, 5), (6, 4)]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", BROADCAST)
def test_elementwise_ops_broadcast_the_allowed_forms(Matrix, op, shape):
    fn, name = OPS[op]
    a = sample(3, 4, 1)
    b = sample(*shape, seed=2)
    m, n = mat(Matrix, a), mat(Matrix, b)
    check(fn(m, n), fn(a, b), Matrix)
    check(getattr(m, name)(n), fn(a, b), Matrix)
    check(fn(n, m), fn(b, a), Matrix)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", NOT_BROADCAST)
def test_elementwise_ops_reject_other_shapes(Matrix, op, shape):
    fn, name = OPS[op]
    m, n = Matrix(3, 4, 1), Matrix(*shape, 1)
    with pytest.raises(ValueError, match="Dimension mismatch"):
        fn(m, n)
    with pytest.raises(ValueError):
        getattr(m, name)(n)


def test_a_row_and_a_column_broadcast_to_their_outer_shape(Matrix):
    r, c = np.array([[1.0, 2.0, 3.0]]), np.array([[10.0], [20.0]])
    check(mat(Matrix, r) + mat(Matrix, c), r + c, Matrix)
    check(mat(Matrix, c) * mat(Matrix, r), c * r, Matrix)


@pytest.mark.parametrize("op", OPS)
def test_scalars_on_either_side(Matrix, op):
    fn, name = OPS[op]
    a = sample(2, 3)
    m = mat(Matrix, a)
    check(fn(m, 2.5), fn(a, 2.5), Matrix)
    check(fn(3, m), fn(3, a), Matrix)
    check(getattr(m, name)(-1), fn(a, -1), Matrix)


def test_a_list_operand_is_a_row_vector(Matrix):
    a = sample(2, 3)
    check(mat(Matrix, a) + [1, 2, 3], a + np.array([1, 2, 3]), Matrix)


@pytest.mark.parametrize("other", ["a", None, object()])
def test_non_numeric_operands_are_type_errors(Matrix, other):
    with pytest.raises(TypeError):
        Matrix(1, 2) + other
    with pytest.raises(TypeError):
        Matrix(1, 2).multiply(other)


def test_division_by_zero_gives_infinities_and_nan(Matrix):
    check(Matrix(1, 3, [1, -1, 0]) / 0, [[INF, -INF, NAN]], Matrix)
    check(Matrix(1, 3, [1, -1, 0]) / Matrix(1, 3), [[INF, -INF, NAN]], Matrix)


def test_unary_minus_and_abs(Matrix):
    a = sample(3, 3)
    m = mat(Matrix, a)
    check(-m, -a, Matrix)
    check(abs(m), np.abs(a), Matrix)


def test_matmul(Matrix):
    a, b = sample(3, 4, 1), sample(4, 2, 2)
    check(mat(Matrix, a) @ mat(Matrix, b), a @ b, Matrix, exact=False)
    check(mat(Matrix, b).T @ mat(Matrix, a).T, b.T @ a.T, Matrix, exact=False)


def test_matmul_with_a_list_on_the_left_is_a_row_vector(Matrix):
    a = sample(2, 3)
    check([1, 2] @ mat(Matrix, a), np.array([[1, 2]]) @ a, Matrix, exact=False)


def test_matmul_with_mismatched_inner_dimensions(Matrix):
    with pytest.raises(ValueError, match="N0 != M1"):
        Matrix(2, 3) @ Matrix(2, 3)


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
def test_augmented_assignment_updates_the_same_object(Matrix, op):
    a, b = sample(2, 3, 1), sample(1, 3, 2)
    m = mat(Matrix, a)
    alias = m
    ns = {"m": m, "n": mat(Matrix, b)}
    exec(f"m {op} n", ns)
    assert ns["m"] is alias
    expected = {"+=": a + b, "-=": a - b, "*=": a * b, "/=": a / b}[op]
    check(alias, expected, Matrix)


def test_augmented_assignment_with_a_scalar(Matrix):
    m = Matrix(1, 2, [1, 2])
    alias = m
    m += 1
    m *= 3
    assert m is alias
    check(m, [[6, 9]], Matrix)


def test_matmul_assignment_gives_the_product(Matrix):
    a, b = sample(2, 2, 1), sample(2, 2, 2)
    m = mat(Matrix, a)
    m @= mat(Matrix, b)
    check(m, a @ b, Matrix, exact=False)


# ------------------------------------------------------------- out=


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide"])
def test_named_ops_write_into_out_and_return_it(Matrix, name):
    fn = {"add": np.add, "subtract": np.subtract,
          "multiply": np.multiply, "divide": np.divide}[name]
    a, b = sample(2, 3, 1), sample(1, 3, 2)
    m, n = mat(Matrix, a), mat(Matrix, b)
    out = Matrix(2, 3)
    assert getattr(m, name)(n, out=out) is out
    check(out, fn(a, b), Matrix)
    check(m, a, Matrix)
    # out may alias an input
    assert getattr(m, name)(n, out=m) is m
    check(m, fn(a, b), Matrix)


def test_out_of_the_wrong_shape_or_type(Matrix):
    with pytest.raises(ValueError, match="out shape 3x2 does not match result 2x3"):
        Matrix(2, 3).add(1, out=Matrix(3, 2))
    with pytest.raises(TypeError, match="out must be a Matrix"):
        Matrix(2, 3).add(1, out=[1])


_NAMED = ["add", "subtract", "multiply", "divide", "less", "less_equal",
          "greater", "greater_equal", "equal", "not_equal"]
_OPERATORS = [f"__{p}{op}__" for op in ("add", "sub", "mul", "truediv")
              for p in ("", "r", "i")] + ["__lt__", "__le__", "__gt__",
                                          "__ge__"]


@bocd_only("Python's own messages and names for Matrix's methods")
@pytest.mark.parametrize("name", _NAMED)
def test_named_ops_take_out_only_by_keyword(Matrix, name):
    m = Matrix(1, 2, 1.0)
    with pytest.raises(TypeError,
                       match=rf"^Matrix\.{name}\(\) takes 2 positional"):
        getattr(m, name)(m, m)
    assert getattr(m, name)(m, out=None).shape == (1, 2)


@bocd_only("Python's own names for Matrix's methods")
def test_operator_and_named_methods_carry_their_own_names(Matrix):
    for name in _OPERATORS + _NAMED:
        method = getattr(Matrix, name)
        assert (method.__name__, method.__qualname__) == (
            name, f"Matrix.{name}")


# ------------------------------------------------------ fma, scaled_add


def _exact_fma(a: float, b: float, c: float) -> float:
    """a*b + c rounded once: exact rational arithmetic, then one rounding."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def test_fma_rounds_once(Matrix):
    # (1 + 2^-30)(1 - 2^-30) = 1 - 2^-60 exactly, which rounds to 1.0; so
    # the unfused product + (-1) is 0 while the fused result is -2^-60.
    a, b, c = 1 + 2.0**-30, 1 - 2.0**-30, -1.0
    assert a * b + c == 0.0
    assert _exact_fma(a, b, c) == -(2.0**-60)
    m = Matrix(1, 2, [a, 3.0])
    r = m.fma(Matrix(1, 2, [b, 0.1]), Matrix(1, 2, [c, 0.7]))
    assert r[0, 0] == -(2.0**-60)
    assert r[0, 1] == _exact_fma(3.0, 0.1, 0.7)


def test_fma_matches_exact_arithmetic_on_random_data(Matrix):
    a, b, c = sample(4, 5, 1), sample(4, 5, 2), sample(4, 5, 3)
    expected = np.vectorize(_exact_fma)(a, b, c)
    unfused = a * b + c
    assert (expected != unfused).any(), "the data must tell fused from unfused"
    check(mat(Matrix, a).fma(mat(Matrix, b), mat(Matrix, c)), expected, Matrix)


def test_fma_broadcasts_and_takes_scalars(Matrix):
    a, row, col = sample(3, 4, 1), sample(1, 4, 2), sample(3, 1, 3)
    m = mat(Matrix, a)
    expected = np.vectorize(_exact_fma)(a, np.broadcast_to(row, a.shape),
                                        np.broadcast_to(col, a.shape))
    check(m.fma(mat(Matrix, row), mat(Matrix, col)), expected, Matrix)
    expected = np.vectorize(_exact_fma)(a, 0.1, 0.3)
    check(m.fma(0.1, 0.3), expected, Matrix)
    check(m.fma(Matrix(1, 1, [0.1]), 0.3), expected, Matrix)


def test_fma_in_place(Matrix):
    a = sample(2, 2)
    m = mat(Matrix, a)
    assert m.fma(2.0, 1.0, in_place=True) is m
    check(m, np.vectorize(_exact_fma)(a, 2.0, 1.0), Matrix)


def test_fma_errors(Matrix):
    with pytest.raises(TypeError, match="b must be a Matrix or a real number"):
        Matrix(1, 2).fma("a", 1)
    with pytest.raises(ValueError, match="b shape 1x3 incompatible with self 1x2"):
        Matrix(1, 2).fma(Matrix(1, 3), 1)
    with pytest.raises(ValueError, match="incompatible"):
        Matrix(1, 2).fma(1, Matrix(2, 2))


def test_scaled_add_rounds_twice_like_the_plain_expression(Matrix):
    a, s, x = sample(4, 5, 1), sample(4, 5, 2), sample(4, 5, 3)
    expected = a + s * x
    assert (expected != np.vectorize(_exact_fma)(s, x, a)).any()
    m = mat(Matrix, a)
    check(m.scaled_add(mat(Matrix, s), mat(Matrix, x)), expected, Matrix)
    check(m.scaled_add(0.1, mat(Matrix, x)), a + 0.1 * x, Matrix)
    row = sample(1, 5, 4)
    check(m.scaled_add(mat(Matrix, row), mat(Matrix, x)), a + row * x, Matrix)


def test_scaled_add_in_place_and_errors(Matrix):
    a, x = sample(2, 2, 1), sample(2, 2, 2)
    m = mat(Matrix, a)
    assert m.scaled_add(2.0, mat(Matrix, x), in_place=True) is m
    check(m, a + 2.0 * x, Matrix)
    with pytest.raises(ValueError, match="x shape 1x2 does not match self 2x2"):
        m.scaled_add(2.0, Matrix(1, 2))
    with pytest.raises(TypeError):
        m.scaled_add("s", Matrix(2, 2))


# -------------------------------------------------------------- comparisons


def test_ordering_is_lexicographic_and_returns_one_bool(Matrix):
    a = Matrix(1, 3, [1, 9, 9])
    b = Matrix(1, 3, [2, 0, 0])
    assert (a < b) is True
    assert (a > b) is False
    assert (a <= b) is True
    assert (b >= a) is True
    assert (Matrix(1, 2, [1, 2]) < Matrix(1, 2, [1, 2])) is False
    assert (Matrix(1, 2, [1, 2]) <= Matrix(1, 2, [1, 2])) is True
    # row-major: the first row decides before the second
    assert Matrix(2, 2, [1, 5, 0, 0]) < Matrix(2, 2, [1, 6, -9, -9])


def test_ordering_against_a_scalar_or_a_list(Matrix):
    m = Matrix(1, 2, [1, 2])
    assert m < 3
    assert m < 2  # the first element already decides
    assert not (m > 2)
    assert m < [1, 3]
    assert not (m < (1, 2))


def test_ordering_skips_nan(Matrix):
    assert Matrix(1, 2, [NAN, 1]) < Matrix(1, 2, [0, 2])
    n = Matrix(1, 2, [NAN, NAN])
    assert not (n < Matrix(1, 2, [NAN, NAN]))
    assert not (n > Matrix(1, 2, [NAN, NAN]))
    assert n <= Matrix(1, 2, [NAN, NAN])


def test_ordering_errors(Matrix):
    with pytest.raises(ValueError, match="same shape"):
        Matrix(1, 2) < Matrix(2, 1)
    with pytest.raises(ValueError, match="same shape"):
        Matrix(1, 2) < Matrix(1, 1, [5])  # 1x1 is not a scalar here
    with pytest.raises(ValueError, match="empty"):
        Matrix(1, 2) < []
    with pytest.raises(TypeError, match="list/tuple of numbers"):
        Matrix(1, 2) < [1, "a"]
    with pytest.raises(TypeError):
        Matrix(1, 2) < "a"


def test_equality_is_total_and_returns_one_bool(Matrix):
    a = sample(2, 3)
    m = mat(Matrix, a)
    assert (m == mat(Matrix, a)) is True
    assert (m != mat(Matrix, a)) is False
    assert (m == mat(Matrix, a.T)) is False  # same elements, other shape
    assert (m == Matrix(1, 1)) is False
    for other in ("x", None, object(), [], [1, "a"], {1: 2}):
        assert (m == other) is False
        assert (m != other) is True
    assert m in [1, "a", mat(Matrix, a)]


def test_equality_with_scalars_and_lists(Matrix):
    assert Matrix(1, 2, [2, 2]) == 2
    assert not (Matrix(1, 2, [2, 3]) == 2)
    assert Matrix(1, 3, [1, 2, 3]) == [1, 2, 3]
    assert Matrix(1, 3, [1, 2, 3]) == (1, 2, 3)
    assert not (Matrix(3, 1, [1, 2, 3]) == [1, 2, 3])  # a list is a row


def test_equality_skips_nan(Matrix):
    assert Matrix(1, 2, [NAN, NAN]) == Matrix(1, 2, [NAN, NAN])
    assert Matrix(1, 2, [NAN, 1]) == Matrix(1, 2, [5, 1])
    assert not (Matrix(1, 2, [NAN, 1]) != Matrix(1, 2, [5, 1]))


def test_matrices_are_unhashable(Matrix):
    with pytest.raises(TypeError, match="unhashable"):
        hash(Matrix(1, 1))
    with pytest.raises(TypeError):
        {Matrix(1, 1)}


MASKS = {
    "less": np.less,
    "less_equal": np.less_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "equal": np.equal,
    "not_equal": np.not_equal,
}


@pytest.mark.parametrize("name", MASKS)
def test_mask_methods_are_elementwise(Matrix, name):
    fn = MASKS[name]
    a = np.array([[1.0, 2.0, NAN], [4.0, 2.0, 0.0]])
    m = mat(Matrix, a)
    with np.errstate(invalid="ignore"):
        check(getattr(m, name)(2), fn(a, 2).astype(float), Matrix)
        row = np.array([[2.0, 2.0, 2.0]])
        check(getattr(m, name)(mat(Matrix, row)), fn(a, row).astype(float), Matrix)
        check(getattr(m, name)([2, 2, 0]), fn(a, [2, 2, 0]).astype(float), Matrix)
        col = np.array([[1.0], [4.0]])
        check(getattr(m, name)(mat(Matrix, col)), fn(a, col).astype(float), Matrix)
        check(getattr(m, name)(True), fn(a, 1.0).astype(float), Matrix)
    out = Matrix(2, 3)
    assert getattr(m, name)(2, out=out) is out


@pytest.mark.parametrize("name", MASKS)
def test_mask_method_errors(Matrix, name):
    m = Matrix(2, 3)
    with pytest.raises(ValueError, match="Dimension mismatch"):
        getattr(m, name)(Matrix(2, 2))
    with pytest.raises(ValueError, match="empty"):
        getattr(m, name)([])
    with pytest.raises(TypeError, match="list/tuple of numbers"):
        getattr(m, name)(["a"])
    with pytest.raises(TypeError):
        getattr(m, name)("a")
    with pytest.raises(ValueError, match="out shape"):
        getattr(m, name)(1, out=Matrix(3, 2))


def test_allclose(Matrix):
    a = Matrix(1, 2, [1, 2])
    assert Matrix.allclose(a, Matrix(1, 2, [1, 2 + 1e-9]))
    assert not Matrix.allclose(a, Matrix(1, 2, [1, 2.1]))
    assert Matrix.allclose(a, Matrix(1, 2, [1, 2.1]), 0.1)
    assert Matrix.allclose(a, Matrix(1, 2, [1, 2.1]), 0, 0.2)
    assert Matrix.allclose(Matrix(1, 1, [INF]), Matrix(1, 1, [INF]))
    assert not Matrix.allclose(Matrix(1, 2), Matrix(2, 1))
    # |a - b| <= atol + rtol * |b|: the tolerance scales with the right side
    assert Matrix.allclose(Matrix(1, 1, [0]), Matrix(1, 1, [1]), 1.0, 0)
    assert not Matrix.allclose(Matrix(1, 1, [1]), Matrix(1, 1, [0]), 1.0, 0)


def test_allclose_equal_nan(Matrix):
    n = Matrix(1, 2, [NAN, 1])
    assert Matrix.allclose(n, Matrix(1, 2, [NAN, 1]), equal_nan=True)


@bocpy_defect("allclose counts NaN as close to anything even with equal_nan=False")
def test_allclose_nan_is_not_close_without_equal_nan(Matrix):
    assert not Matrix.allclose(Matrix(1, 1, [NAN]), Matrix(1, 1, [NAN]))
    assert not Matrix.allclose(Matrix(1, 1, [NAN]), Matrix(1, 1, [1]))
    assert not Matrix.allclose(Matrix(1, 2, [NAN, 1]), Matrix(1, 2, [1, NAN]),
                               equal_nan=True)


# --------------------------------------------------- copies, pickle, numpy


def test_copy_deepcopy_and_pickle_are_independent(Matrix):
    a = sample(3, 2)
    m = mat(Matrix, a)
    for c in (m.copy(), copy.copy(m), copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert type(c) is Matrix and c is not m
        check(c, a, Matrix)
        c[0, 0] = 1234.0
        check(m, a, Matrix)


@bocd_only("bocpy's Matrix has neither __array__ nor the buffer protocol")
def test_numpy_asarray_reads_without_a_copy(Matrix):
    a = sample(3, 4)
    m = mat(Matrix, a)
    view = np.asarray(m)
    assert view.dtype == np.float64 and view.shape == (3, 4)
    np.testing.assert_array_equal(view, a)
    # The same memory: a write through the Matrix shows in the array.
    m[1, 2] = 1234.5
    m += 1.0
    assert view[1, 2] == 1235.5
    np.testing.assert_array_equal(view, arr(m))
    assert np.shares_memory(np.asarray(m), view)

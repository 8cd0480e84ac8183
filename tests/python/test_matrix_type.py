"""bocd.Matrix: the rules that are easy to get wrong on top of numpy.

Expected values come from plain numpy or Python written here, independently
of bocd's implementation: exact rational arithmetic for fma, Python tuple
comparison for the lexicographic operators, simple loops for the NaN rules.
Breadth (every method and message) lives in the test_matrix_* files.
"""
from __future__ import annotations

import math
import operator
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest

from bocd import Matrix, MatrixView

NAN = float("nan")


def M(a) -> Matrix:
    """A Matrix holding a copy of the 2-D array-like `a`."""
    arr = np.array(a, dtype=np.float64, ndmin=2)
    return Matrix(arr.shape[0], arr.shape[1], arr.ravel().tolist())


def arr(m: Matrix) -> np.ndarray:
    return np.array(list(m.values())).reshape(m.shape)


def same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal including NaN positions and the sign of zero."""
    return x.shape == y.shape and bool(np.all(
        x.view(np.int64) == y.view(np.int64)) or np.all(
        (x == y) & (np.signbit(x) == np.signbit(y)) |
        (np.isnan(x) & np.isnan(y))))


# ---------------------------------------------------------------- fma


def exact_fma(a: float, b: float, c: float) -> float:
    """a*b + c rounded once, by exact rational arithmetic."""
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        return a * b + c
    try:
        return float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


def test_fma_rounds_once_where_multiply_then_add_rounds_twice():
    # 0.1*10 rounds to exactly 1.0, so the two-rounding form loses the
    # product's error; the fused form keeps it.
    m = Matrix(1, 1, [0.1])
    assert (m * 10 - 1).x == 0.0
    assert m.fma(10, -1).x == exact_fma(0.1, 10.0, -1.0) != 0.0


@pytest.mark.parametrize("scale", ["normal", "wide", "cancel"])
def test_fma_matches_exact_arithmetic_on_every_element(scale):
    rng = np.random.default_rng(12)
    n = 4000
    if scale == "normal":
        a, b, c = (rng.standard_normal(n) for _ in range(3))
    elif scale == "wide":  # exponents over the whole range, subnormals too
        a, b, c = (np.ldexp(rng.uniform(-2, 2, n),
                            rng.integers(-1074, 1022, n)) for _ in range(3))
    else:  # c cancels most of a*b: the product's low bits decide
        a, b = rng.standard_normal(n), rng.standard_normal(n)
        c = -(a * b) * (1 + rng.standard_normal(n) * 1e-15)
    got = arr(M(a.reshape(40, 100)).fma(M(b.reshape(40, 100)),
                                        M(c.reshape(40, 100)))).ravel()
    want = np.array([exact_fma(x, y, z) for x, y, z in
                     zip(a.tolist(), b.tolist(), c.tolist())])
    assert same_bits(got, want)
    if hasattr(math, "fma"):  # Python 3.13+: the C library's fma agrees
        finite = np.isfinite(want)
        libm = np.array([math.fma(x, y, z) for x, y, z in
                         zip(a[finite].tolist(), b[finite].tolist(),
                             c[finite].tolist())])
        assert same_bits(got[finite], libm)


def test_fma_special_values_follow_ieee():
    special = [0.0, -0.0, math.inf, -math.inf, NAN, 1e308, -1e308, 5e-324,
               1.0, -3.5, 2.0 ** -1022]
    a, b, c = (g.ravel() for g in np.meshgrid(special, special, special))
    got = arr(M(a).fma(M(b), M(c))).ravel()
    with np.errstate(all="ignore"):
        want = np.array([exact_fma(x, y, z) if all(map(math.isfinite, (
            x, y, z))) else x * y + z if not (math.isfinite(x) and
                                                math.isfinite(y)) else z
            for x, y, z in zip(a.tolist(), b.tolist(), c.tolist())])
    assert same_bits(got, want)


def test_fma_broadcasts_rows_columns_and_scalars_and_writes_in_place():
    a = np.arange(6.0).reshape(3, 2) / 7
    m = M(a)
    buffer = np.asarray(m)
    row, col = np.array([[0.3, 0.7]]), np.array([[1.0], [2.0], [3.0]])
    want = np.array([[exact_fma(x, y, z) for x, y, z in zip(ra, rb, rc)]
                     for ra, rb, rc in zip(a.tolist(),
                                           np.broadcast_to(row, a.shape).tolist(),
                                           np.broadcast_to(col, a.shape).tolist())])
    assert same_bits(arr(m.fma(M(row), M(col))), want)
    assert m.fma(M(row), M(col), in_place=True) is m
    assert same_bits(arr(m), want) and np.shares_memory(buffer, np.asarray(m))
    with pytest.raises(ValueError, match="fma: b shape 2x2 incompatible"):
        m.fma(Matrix(2, 2), 1)
    with pytest.raises(TypeError, match="fma: c must be a Matrix or a real"):
        m.fma(1, "x")


def test_scaled_add_is_bit_identical_to_the_expression():
    rng = np.random.default_rng(5)
    a, x = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    s = rng.standard_normal((1, 3))
    assert same_bits(arr(M(a).scaled_add(M(s), M(x))), a + s * x)
    assert same_bits(arr(M(a).scaled_add(0.1, M(x))), a + 0.1 * x)


# ------------------------------------------------------- comparisons


def lexicographic(a: list, b: list) -> int:
    """-1/0/1 for the first element pair that is ordered (NaN skipped)."""
    for x, y in zip(a, b):
        if x < y:
            return -1
        if x > y:
            return 1
    return 0


@pytest.mark.parametrize("seed", range(20))
def test_ordering_operators_are_lexicographic_and_skip_nan(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, (2, 3)).astype(float)
    b = a.copy()
    b.flat[rng.integers(0, 6)] = rng.integers(0, 3)
    a[rng.random(a.shape) < 0.2] = NAN
    sign = lexicographic(a.ravel().tolist(), b.ravel().tolist())
    ma, mb = M(a), M(b)
    assert (ma < mb, ma <= mb, ma > mb, ma >= mb) == (
        sign < 0, sign <= 0, sign > 0, sign >= 0)
    assert (ma == mb) is (sign == 0) and (ma != mb) is (sign != 0)


def test_equality_is_total_and_matrices_are_unhashable():
    m = M([[1.0, NAN, 3.0]])
    assert m == M([[1.0, 5.0, 3.0]])  # NaN never decides
    assert m == [1, 2, 3] and not (m == [1, 2])
    assert not (m == M([[1.0], [2.0], [3.0]])) and m != "text"
    assert not (m == None) and m != []  # noqa: E711
    assert m in [Matrix(2, 2), m]
    assert M([[4.0, 4.0]]) == 4 and not (M([[4.0, 5.0]]) == 4)
    with pytest.raises(TypeError, match="unhashable"):
        hash(m)
    with pytest.raises(ValueError, match="ordering comparison requires"):
        m < Matrix(1, 1, 9)  # 1x1 is not a scalar for ordering
    with pytest.raises(TypeError):
        m < "text"


def test_mask_methods_are_elementwise_with_broadcasting():
    a = np.array([[1.0, NAN, 3.0], [4.0, 5.0, 6.0]])
    row = np.array([[2.0, 2.0, 6.0]])
    for method, op in [("less", np.less), ("greater_equal", np.greater_equal),
                       ("equal", np.equal), ("not_equal", np.not_equal)]:
        got = getattr(M(a), method)(M(row))
        assert same_bits(arr(got), op(a, row).astype(float))
    assert same_bits(arr(M(a).less([2, 2, 6])), np.less(a, row).astype(float))
    with pytest.raises(ValueError, match="Dimension mismatch between operands"):
        M(a).less(Matrix(3, 3))


# -------------------------------------------------------- broadcasting


SHAPES_THAT_BROADCAST = [((2, 3), (2, 3)), ((2, 3), (1, 3)), ((2, 3), (2, 1)),
                         ((2, 3), (1, 1)), ((1, 3), (2, 1)), ((2, 1), (1, 3)),
                         ((600, 2), (1, 2)), ((600, 2), (600, 1)),
                         ((1, 2), (600, 2)), ((600, 1), (600, 3))]


@pytest.mark.parametrize("left,right", SHAPES_THAT_BROADCAST)
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul,
                                operator.truediv])
def test_arithmetic_broadcasts_exactly_like_numpy_2d(left, right, op):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(left), rng.standard_normal(right)
    assert same_bits(arr(op(M(a), M(b))), op(a, b))
    assert same_bits(arr(op(M(a), 0.5)), op(a, 0.5))
    assert same_bits(arr(op(0.5, M(a))), op(0.5, a))
    ma = M(a)
    result = op(ma, M(b))
    named = {operator.add: "add", operator.sub: "subtract",
             operator.mul: "multiply", operator.truediv: "divide"}[op]
    out = Matrix(*result.shape)
    assert getattr(ma, named)(M(b), out=out) is out
    assert same_bits(arr(out), op(a, b))


@pytest.mark.parametrize("left,right", [((2, 3), (3, 2)), ((2, 3), (2, 2)),
                                        ((2, 3), (1, 2)), ((3, 1), (2, 1))])
def test_arithmetic_rejects_other_shapes(left, right):
    with pytest.raises(ValueError, match="^Dimension mismatch between operands$"):
        Matrix(*left) + Matrix(*right)
    with pytest.raises(ValueError, match="out shape 2x2 does not match result"):
        Matrix(2, 3).add(1, out=Matrix(2, 2))


def test_in_place_operators_keep_the_buffer_unless_the_shape_grows():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((600, 2))
    m = M(a)
    buffer = np.asarray(m)
    m += M(a[:1])  # the narrow per-column path
    m *= 2
    m -= M(a[:, :1])
    m /= M(np.full((1, 1), 4.0))
    assert np.shares_memory(buffer, np.asarray(m))
    assert same_bits(arr(m), ((a + a[:1]) * 2 - a[:, :1]) / 4.0)
    row = M([[1.0, 2.0]])
    grown = row
    grown += Matrix(3, 2, 1.0)  # 1x2 += 3x2 gives a new 3x2
    assert grown is not row and grown.shape == (3, 2) and row.shape == (1, 2)


def test_numpy_operands_on_the_left_give_a_matrix():
    m = M([[1.0, 2.0]])
    for value in (np.float64(2.0) * m, np.int32(3) + m,
                  np.array([[1.0, 1.0]]) - m):
        assert isinstance(value, Matrix)


def test_division_by_zero_and_bad_sqrt_are_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = arr(M([[1.0, -1.0, 0.0]]) / 0)
        roots = arr(M([[-4.0, 4.0]]).sqrt())
    assert got[0, 0] == math.inf and got[0, 1] == -math.inf
    assert math.isnan(got[0, 2]) and math.isnan(roots[0, 0])


# ---------------------------------------------------------- reductions


def arg_reference(values: list, included: list, largest: bool) -> int:
    """bocpy's rule: NaN skipped unless the first included value is NaN."""
    positions = [i for i, keep in enumerate(included) if keep]
    if not positions:
        return -1
    if math.isnan(values[positions[0]]):
        return positions[0]
    best = positions[0]
    for i in positions[1:]:
        v = values[i]
        if not math.isnan(v) and (v > values[best] if largest
                                  else v < values[best]):
            best = i
    return best


@pytest.mark.parametrize("seed", range(25))
def test_argmin_argmax_nan_rule_with_masks_and_empty_groups(seed):
    rng = np.random.default_rng(seed)
    a = rng.choice([0.0, 1.0, 2.0, NAN, math.inf, -math.inf], (4, 5))
    keep = rng.random((4, 5)) < 0.7
    mask = M(np.where(keep, rng.choice([1.0, -2.0, NAN], (4, 5)), 0.0))
    for largest, name in [(False, "argmin"), (True, "argmax")]:
        method = getattr(M(a), name)
        assert method() == arg_reference(a.ravel().tolist(), [True] * 20,
                                          largest)
        assert method(where=mask) == arg_reference(
            a.ravel().tolist(), keep.ravel().tolist(), largest)
        assert method(axis=1, where=mask) == [
            arg_reference(r.tolist(), k.tolist(), largest)
            for r, k in zip(a, keep)]
        assert method(axis=0) == [
            arg_reference(r.tolist(), [True] * 4, largest) for r in a.T]
        as_matrix = method(axis=0, where=mask, as_matrix=True)
        assert as_matrix.shape == (1, 5) and arr(as_matrix).ravel().tolist() == [
            arg_reference(r.tolist(), k.tolist(), largest)
            for r, k in zip(a.T, keep.T)]


def test_min_max_is_the_value_at_argmin_argmax():
    a = np.array([[NAN, 3.0, 1.0], [2.0, NAN, 0.5], [1.0, 2.0, NAN]])
    m = M(a)
    assert m.min(axis=1) == M([[NAN], [0.5], [1.0]])
    assert math.isnan(m.min()) and m.max(axis=0) == M([[2.0, 3.0, 1.0]])
    empty = Matrix(3, 3)
    assert arr(m.min(axis=1, where=empty)).ravel().tolist().count(NAN) == 0
    assert np.isnan(arr(m.max(axis=1, where=empty))).all()


@pytest.mark.parametrize("shape", [(4, 4), (100, 100), (5000, 2), (3, 700),
                                   (600, 600)])
def test_sums_and_norms_along_axes_match_numpy(shape):
    rng = np.random.default_rng(4)
    a = rng.standard_normal(shape)
    m = M(a)
    for axis in (0, 1, -1, -2):
        np.testing.assert_allclose(arr(m.sum(axis=axis)),
                                   a.sum(axis=axis, keepdims=True), rtol=1e-12,
                                   atol=1e-12)
        np.testing.assert_allclose(arr(m.mean(axis=axis)),
                                   a.mean(axis=axis, keepdims=True),
                                   rtol=1e-12, atol=1e-12)
        norms = np.sqrt((a * a).sum(axis=axis, keepdims=True))
        np.testing.assert_allclose(arr(m.magnitude(axis=axis)), norms,
                                   rtol=1e-12)
        np.testing.assert_allclose(arr(m.normalize(axis=axis)), a / norms,
                                   rtol=1e-12, atol=1e-300)
    ints = np.floor(a * 100)
    assert same_bits(arr(M(ints).sum(axis=0)), ints.sum(axis=0, keepdims=True))
    in_row_order = a[0].copy()
    for row in a[1:]:
        in_row_order += row
    assert same_bits(arr(m.sum(axis=0)), in_row_order.reshape(1, -1))


def test_normalize_leaves_zero_magnitude_groups_unchanged():
    m = M([[3.0, 4.0], [0.0, 0.0], [1e-310, 0.0]])
    assert m.normalize(axis=1) == M([[0.6, 0.8], [0.0, 0.0], [1e-310, 0.0]])
    buffer = np.asarray(m)
    assert m.normalize(axis=1, in_place=True) is m
    assert np.shares_memory(buffer, np.asarray(m))


def test_topk_sorts_nan_last_keeps_first_ties_and_pads():
    a = np.array([[3.0, 1.0, 2.0, NAN, 5.0, 5.0]])
    values, index = M(a).topk(3)
    assert index == [4, 5, 0] and values == M([[5.0, 5.0, 3.0]])
    values, index = M(a).topk(4, largest=False)
    assert index == [1, 2, 0, 4]
    values, index = M(a).topk(2, where=M([[0, 0, 0, 1, 0, 0]]))
    assert index == [3, -1] and np.isnan(arr(values)).all()
    values, index = M(a.reshape(2, 3)).topk(2, axis=0, as_matrix=True)
    assert values == M([[3.0, 5.0, 5.0], [NAN, 1.0, 2.0]])
    assert index == M([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])


# ------------------------------------------------------------ indexing


def test_int_index_gives_a_row_matrix_or_a_float_for_one_column():
    m = M(np.arange(12.0).reshape(3, 4))
    assert m[1] == M([[4.0, 5.0, 6.0, 7.0]]) and m[-1] == M([[8, 9, 10, 11]])
    assert m[1, 2] == 6.0 and type(m[1, 2]) is float
    assert M([[1.0], [2.0]])[1] == 2.0 and list(M([[1.0], [2.0]])) == [1, 2]
    assert m[0:1, 0:1].shape == (1, 1) and m[:, 1].shape == (3, 1)
    assert m[np.int64(2)] == m[2] and m[True] == m[1]
    with pytest.raises(IndexError, match="row index 3 out of range"):
        m[3]
    with pytest.raises(TypeError, match="Key must be a long or a slice"):
        m[1.0]
    with pytest.raises(IndexError):
        m[2:2]


def test_fancy_indexing_forms_and_the_rejected_mixtures():
    a = np.arange(12.0).reshape(3, 4)
    m = M(a)
    assert same_bits(arr(m[[2, 0, 2]]), a[[2, 0, 2]])
    assert same_bits(arr(m[[True, False]]), a[[1, 0]])  # bools are 1 and 0
    assert same_bits(arr(m[:, [-1, 0]]), a[:, [-1, 0]])
    for key in [([0], [1]), ([0], 1), (1, [0]), ([0], slice(0, 2)),
                (slice(0, 3), [0])]:
        with pytest.raises(IndexError, match="fancy indexing supports only"):
            m[key]
        with pytest.raises(IndexError, match="fancy assignment supports only"):
            m[key] = 1.0
    with pytest.raises(IndexError, match="index sequence must not be empty"):
        m[[]]
    with pytest.raises(IndexError,
                       match="column index 4 out of range for dimension of size 4"):
        m[:, [0, 4]]
    with pytest.raises(TypeError, match="an integer is required"):
        m[[0, 1.0]]


def test_put_checks_every_index_and_the_value_before_writing():
    a = np.arange(12.0).reshape(3, 4)
    m = M(a)
    for axis, bad in [(0, [0, 1, 3]), (1, [0, 3, 4]), (0, [2, -4])]:
        for accumulate in (False, True):
            with pytest.raises(IndexError, match="out of range"):
                m.put(bad, 99.0, axis=axis, accumulate=accumulate)
            assert same_bits(arr(m), a)
    with pytest.raises(ValueError, match="cannot assign 1x4 matrix to a "
                                         "selection of shape 2x4"):
        m.put([0, 1], M(np.ones((1, 4))))
    with pytest.raises(TypeError, match="an integer is required"):
        m.put([0, "1"], 1.0)
    with pytest.raises(OverflowError):
        m.put([0, 2 ** 64], 1.0)
    with pytest.raises(KeyError):
        m.put([0], 1.0, axis=2)
    assert same_bits(arr(m), a)


@pytest.mark.parametrize("make", [list, tuple])
def test_take_and_put_rows_accept_bools_numpy_ints_and_negatives(make):
    a = np.arange(12.0).reshape(4, 3)
    m = M(a)
    keys = make([True, np.int64(-1), 0, -4])
    assert same_bits(arr(m.take(keys)), a[[1, -1, 0, -4]])
    assert same_bits(arr(m[list(keys)]), a[[1, -1, 0, -4]])
    m.put(make([np.int32(2), -1]), M([[7.0, 8.0, 9.0], [1.0, 2.0, 3.0]]))
    a[[2, -1]] = [[7.0, 8.0, 9.0], [1.0, 2.0, 3.0]]
    assert same_bits(arr(m), a)
    m.put(make([0, 0]), m.take([3, 3]), accumulate=True)  # value from m
    a[0] += 2 * a[3]
    assert same_bits(arr(m), a)
    for bad, error in [([0, 4], IndexError), ([0, 1.0], TypeError),
                       ([0, 2 ** 63], OverflowError), ([[0]], TypeError)]:
        with pytest.raises(error):
            m.take(make(bad))
        with pytest.raises(error):
            m.put(make(bad), 5.0)
        assert same_bits(arr(m), a)


def test_put_duplicates_last_write_wins_and_accumulate_folds():
    m = Matrix(2, 3)
    m.put([0, 0], M([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]))
    assert m == M([[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    m.put([1, 1, 1], 0.5, accumulate=True)
    assert m == M([[2.0, 2.0, 2.0], [1.5, 1.5, 1.5]])
    m.put([2, 2], M([[1.0], [2.0]]) @ M([[1.0, 1.0]]), axis=1,
          accumulate=True)
    assert m == M([[2.0, 2.0, 4.0], [1.5, 1.5, 5.5]])


def test_take_along_axis_pairs_with_argmax():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((5, 4))
    m = M(a)
    best = m.argmax(axis=1)
    assert same_bits(arr(m.take_along_axis(best, axis=1)),
                     a.max(axis=1, keepdims=True))
    out = Matrix(1, 4)
    assert m.take_along_axis(m.argmin(axis=0), axis=0, out=out) is out
    assert same_bits(arr(out), a.min(axis=0, keepdims=True))
    with pytest.raises(ValueError, match="expects 5 indices"):
        m.take_along_axis([0, 1], axis=1)


# ------------------------------------------------------- vector helpers


def test_cross_angle_perpendicular_shape_conventions():
    rng = np.random.default_rng(9)
    rows3, cols3 = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    other3 = rng.standard_normal((4, 3))
    np.testing.assert_allclose(arr(M(rows3).cross(M(other3))),
                               np.cross(rows3, other3), rtol=1e-12)
    col_other = rng.standard_normal((3, 5))
    np.testing.assert_allclose(arr(M(cols3).cross(M(col_other))),
                               np.cross(cols3.T, col_other.T).T, rtol=1e-12)
    v = rng.standard_normal((1, 3))
    np.testing.assert_allclose(arr(M(rows3).cross(M(v.T))),
                               np.cross(rows3, v), rtol=1e-12)
    rows2 = rng.standard_normal((6, 2))
    z = rows2[:, 0] * 0.5 - rows2[:, 1] * 2.0
    assert M(rows2).cross(M([[2.0, 0.5]])).shape == (6, 1)
    np.testing.assert_allclose(arr(M(rows2).cross(M([[2.0, 0.5]]))).ravel(), z)
    assert M([[1.0, 2.0]]).cross(M([[3.0], [4.0]])) == -2.0
    sq = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert M(sq).cross(M(sq[::-1])).shape == (2, 1)
    assert M(sq).cross(M(sq[::-1]), axis=0).shape == (1, 2)
    np.testing.assert_allclose(arr(M(rows2).angle()),
                               np.arctan2(rows2[:, 1:], rows2[:, :1]))
    assert M(rows2.T).angle().shape == (1, 6)
    assert M([[0.0], [2.0]]).angle() == math.pi / 2
    assert same_bits(arr(M(rows2).perpendicular()),
                     np.stack([-rows2[:, 1], rows2[:, 0]], axis=1))
    assert M(sq).perpendicular(axis=0) == M([[-3.0, -4.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match="cross requires a 2D or 3D vector"):
        Matrix(4, 4).cross(Matrix(4, 4))
    with pytest.raises(ValueError, match="perpendicular requires"):
        Matrix(3, 2).perpendicular(axis=0)


# -------------------------------------------------------------- views


def test_views_alias_the_matrix_and_read_only_views_refuse_writes():
    m = M(np.arange(12.0).reshape(3, 4))
    row, col = m.row_view(1), m.view[:, 2]
    row[0] = 100.0
    col[1:] = [7.0, 8.0]
    assert m[1, 0] == 100.0 and m[1, 2] == 7.0 and m[2, 2] == 8.0
    assert row.is_row and not col.is_row and row.T.shape == (4, 1)
    assert row[True] == row[1] == 5.0  # a bool key is an index, not a mask
    m.transpose(in_place=True)  # reorders the same buffer: row 1 of the
    assert m.shape == (4, 3) and row[0] == m[1, 1]  # old 3x4 is flat 4..7
    frozen = m.row_view(0, read_only=True)
    for write in (lambda: frozen.__setitem__(0, 1.0),
                  lambda: setattr(frozen.T, "x", 1.0),
                  lambda: frozen[0:2].__setitem__(slice(None), 0.0)):
        with pytest.raises(TypeError, match="read-only MatrixView"):
            write()
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(frozen)[0, 0] = 1.0
    with pytest.raises(TypeError, match="cannot create 'MatrixView'"):
        MatrixView()
    with pytest.raises(TypeError, match="single row or column"):
        m.view[0:2, 0:2]
    detached, before = Matrix.from_view(row), row[0]
    detached.x = -1.0
    assert row[0] == before != -1.0


def test_a_moved_matrix_and_its_views_raise_the_ownership_error():
    m = M([[1.0, 2.0], [3.0, 4.0]])
    view = m.row_view(0)
    del m._d  # what moving the matrix to another process does
    for use in (m.sum, lambda: m + 1, lambda: m[0], lambda: view[0],
                lambda: view.copy(), lambda: np.asarray(m), lambda: m == m):
        with pytest.raises(RuntimeError,
                           match="^The current interpreter does not own "
                                 "this matrix$"):
            use()
    assert m.acquired is False
    with pytest.raises(AttributeError):
        m.no_such_attribute


# ----------------------------------------------------- numpy and layout


def test_numpy_reads_a_matrix_without_a_copy():
    m = M(np.arange(6.0).reshape(2, 3))
    view = np.asarray(m)
    view[0, 0] = 42.0
    assert m[0, 0] == 42.0
    assert np.asarray(m, dtype=np.float32).dtype == np.float32
    assert not np.shares_memory(np.array(m, copy=True), view)
    if sys.version_info >= (3, 12):  # Python classes export buffers from 3.12
        assert memoryview(m).shape == (2, 3)


def test_every_result_is_a_c_contiguous_float64_2d_array():
    m = M(np.arange(12.0).reshape(3, 4))
    results = [m + 1, m.T, m[:, [0, 2]], m.take([1, 2], axis=1),
               m[::-1, ::2], m @ m.T, m.sum(axis=0), m.sum(axis=1),
               m.normalize(axis=0), m.take_along_axis([0, 1, 2], axis=1),
               m.topk(2, axis=0)[0], m.repeat_interleave(2, axis=1),
               Matrix.concat([m, m], axis=1), m.less(m.T.T), m.copy(),
               m.transpose(in_place=True), m.row_view(0).copy(),
               m.column_view(1).copy(), m.fma(2, 1), m.digitize([3, 6])]
    for r in results:
        d = r._d
        assert d.ndim == 2 and d.dtype == np.float64
        assert d.flags.c_contiguous, r
    wrapped = Matrix._wrap(np.zeros((2, 2)))
    assert isinstance(wrapped, Matrix) and wrapped.shape == (2, 2)


def test_import_bocd_does_not_import_numpy_until_matrix_is_used():
    import subprocess
    code = ("import sys, bocd; before = 'numpy' in sys.modules; "
            "bocd.Matrix(1, 1); print(before, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["False", "True"]


# ------------------------------------------ element-wise kernels vs numpy

# Shapes with and without a remainder after the vector loops, values with
# every IEEE special case; the element-wise results must be numpy's bit for
# bit, whichever path (same-shape, float on either side, in place) runs.
SPECIAL = [0.0, -0.0, 1.5, -2.25, NAN, math.inf, -math.inf, 1e308, 5e-324, 3.0]
ARITH = [(operator.add, operator.iadd), (operator.sub, operator.isub),
         (operator.mul, operator.imul), (operator.truediv, operator.itruediv)]


def special_array(rows: int, columns: int, shift: int) -> np.ndarray:
    n = rows * columns
    return np.array([SPECIAL[(i * 7 + shift) % len(SPECIAL)]
                     for i in range(n)]).reshape(rows, columns)


@pytest.mark.parametrize("shape", [(4, 4), (37, 41), (1, 3)])
@pytest.mark.parametrize("op,iop", ARITH)
def test_arithmetic_matches_numpy_bit_for_bit(shape, op, iop):
    a, b = special_array(*shape, 0), special_array(*shape, 3)
    with np.errstate(all="ignore"):
        assert same_bits(arr(op(M(a), M(b))), op(a, b))
        assert same_bits(arr(op(M(a), 0.5)), op(a, 0.5))
        assert same_bits(arr(op(-0.0, M(b))), op(-0.0, b))
        assert same_bits(arr(op(M(a), math.inf)), op(a, math.inf))
        m = M(a)
        buffer = np.asarray(m)
        assert iop(m, M(b)) is m and same_bits(arr(m), op(a, b))
        assert iop(m, 2.0) is m and same_bits(arr(m), op(op(a, b), 2.0))
        assert np.shares_memory(buffer, np.asarray(m))
        m = M(a)
        assert iop(m, m) is m and same_bits(arr(m), op(a, a))


def test_arithmetic_with_another_shape_still_broadcasts_or_refuses():
    a = special_array(3, 4, 1)
    row = special_array(1, 4, 2)
    with np.errstate(all="ignore"):
        assert same_bits(arr(M(a) * M(row)), a * row)
        m = M(a)
        m -= M(row)
        assert same_bits(arr(m), a - row)
    with pytest.raises(ValueError, match="Dimension mismatch"):
        M(a) + M(special_array(4, 3, 0))


@pytest.mark.parametrize("lo,hi", [(0.0, 1.0), (-0.0, 0.0), (0.0, -0.0),
                                   (NAN, 1.0), (-1.0, NAN), (2.0, 2.0)])
def test_clip_matches_numpy_for_signed_zeros_and_nan(lo, hi):
    a = special_array(5, 7, 2)
    assert same_bits(arr(M(a).clip(lo, hi)), np.clip(a, lo, hi))
    m = M(a)
    assert m.clip(lo, hi, in_place=True) is m
    assert same_bits(arr(m), np.clip(a, lo, hi))


def test_scaled_add_is_the_product_then_the_sum():
    a, x = special_array(6, 9, 0), special_array(6, 9, 5)
    with np.errstate(all="ignore"):
        expected = a + 0.1 * x
        assert same_bits(arr(M(a).scaled_add(0.1, M(x))), expected)
        assert same_bits(arr(M(a).scaled_add(3, M(x))), a + 3.0 * x)
        m = M(a)
        assert m.scaled_add(0.1, M(x), in_place=True) is m
        assert same_bits(arr(m), expected)
    with pytest.raises(ValueError, match="scaled_add: x shape 2x9"):
        M(a).scaled_add(0.1, M(x[:2]))


def test_normalize_rows_with_special_values():
    a = np.array([[3.0, 4.0, 0.0], [NAN, 1.0, 1.0], [math.inf, 1.0, 0.0],
                  [0.0, -0.0, 0.0], [1e-200, 0.0, 0.0], [1e200, 1e200, 0.0]])
    with np.errstate(all="ignore"):
        norms = np.sqrt((a * a).sum(axis=1, keepdims=True))
        expected = np.where(norms == 0, a, a / np.where(norms == 0, 1.0, norms))
    # Every row's length is exact here, so the quotients are too: a NaN
    # row, inf/inf, zero rows (and squares that underflow to 0) unchanged,
    # squares that overflow to inf giving 0.
    assert same_bits(arr(M(a).normalize(axis=1)), expected)
    m = M(a)
    assert m.normalize(axis=-1, in_place=True) is m
    assert same_bits(arr(m), expected)


def products_in_k_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b with each element's products added in k order, unfused."""
    y = a[:, 0:1] * b[0:1, :]
    for k in range(1, a.shape[1]):
        y = y + a[:, k:k + 1] * b[k:k + 1, :]
    return y


@pytest.mark.parametrize("r,k,c", [(1, 1, 1), (4, 4, 4), (3, 7, 5), (16, 16, 16),
                                   (16, 16, 17), (40, 30, 20), (1, 9, 1)])
def test_matmul_of_small_and_large_products(r, k, c):
    rng = np.random.default_rng(r * 100 + k * 10 + c)
    a, b = rng.uniform(-1, 1, (r, k)), rng.uniform(-1, 1, (k, c))
    got = arr(M(a) @ M(b))
    if r * k * c <= 16 ** 3:
        assert same_bits(got, products_in_k_order(a, b))
    np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="N0 != M1"):
        M(a) @ M(b.T) if k != c else M(a) @ M(np.ones((k + 1, c)))

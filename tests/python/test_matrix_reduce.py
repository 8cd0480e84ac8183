"""Matrix: reductions with axis and where=, argmin/argmax and their NaN rule,
topk, the unary element-wise functions with in_place=/out=, clip, digitize,
bin, and the vector helpers (normalize, cross, angle, perpendicular) with
bocpy 0.14's shape conventions.

Runs against bocd.Matrix or, with BOCD_MATRIX_REFERENCE=bocpy, bocpy's
(see matrix_reference.py). Expected values are computed with plain numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from matrix_reference import Matrix, arr, check, mat, sample  # noqa: F401

NAN = float("nan")
INF = float("inf")


# --------------------------------------------------------------- reductions

REDUCTIONS = {
    "sum": lambda a, axis: np.sum(a, axis=axis, keepdims=True),
    "mean": lambda a, axis: np.mean(a, axis=axis, keepdims=True),
    "min": lambda a, axis: np.min(a, axis=axis, keepdims=True),
    "max": lambda a, axis: np.max(a, axis=axis, keepdims=True),
    "magnitude": lambda a, axis: np.sqrt(np.sum(a * a, axis=axis, keepdims=True)),
    "magnitude_squared": lambda a, axis: np.sum(a * a, axis=axis, keepdims=True),
}


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_over_everything_is_a_float(Matrix, name):
    a = sample(4, 5)
    got = getattr(mat(Matrix, a), name)()
    assert type(got) is float
    assert math.isclose(got, REDUCTIONS[name](a, None).item(), rel_tol=1e-12)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_reduction_along_an_axis_keeps_a_vector_shape(Matrix, name, axis):
    a = sample(4, 5)
    expected = REDUCTIONS[name](a, axis)  # 1x5 for axis 0, 4x1 for axis 1
    check(getattr(mat(Matrix, a), name)(axis), expected, Matrix, exact=False)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_rejects_a_bad_axis_and_a_bad_mask(Matrix, name):
    m = Matrix(2, 3)
    with pytest.raises(ValueError, match="axis must be -2, -1, 0, or 1"):
        getattr(m, name)(2)
    with pytest.raises(ValueError, match="where mask shape 1x3 does not match matrix shape 2x3"):
        getattr(m, name)(where=Matrix(1, 3))


# Empty groups: additive reductions give 0, the others NaN.
EMPTY = {"sum": 0.0, "magnitude": 0.0, "magnitude_squared": 0.0,
         "mean": NAN, "min": NAN, "max": NAN}


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_with_a_mask(Matrix, name):
    a = sample(3, 4)
    mask = np.array([[1, 0, 0, 0], [1, 2, 0, 0], [0, NAN, 0, 0]])  # NaN counts
    included = (mask != 0)
    m = mat(Matrix, a)
    got = getattr(m, name)(where=mat(Matrix, mask))
    assert math.isclose(got, REDUCTIONS[name](a[included], None).item(), rel_tol=1e-12)
    got = getattr(m, name)(0, where=mat(Matrix, mask))
    expected = [REDUCTIONS[name](a[:, j][included[:, j]], None).item()
                if included[:, j].any() else EMPTY[name] for j in range(4)]
    check(got, [expected], Matrix, exact=False)
    got = getattr(m, name)(1, where=mat(Matrix, mask))
    expected = [[REDUCTIONS[name](a[i][included[i]], None).item()] for i in range(3)]
    check(got, expected, Matrix, exact=False)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_of_a_fully_masked_matrix(Matrix, name):
    got = getattr(Matrix(2, 2, [1, 2, 3, 4]), name)(where=Matrix(2, 2))
    expected = EMPTY[name]
    assert got == expected or (math.isnan(expected) and math.isnan(got))


def test_vecdot_is_the_sum_of_products(Matrix):
    a, b = sample(3, 4, 1), sample(3, 4, 2)
    m, n = mat(Matrix, a), mat(Matrix, b)
    assert math.isclose(m.vecdot(n), float((a * b).sum()), rel_tol=1e-12)
    check(m.vecdot(n, 0), (a * b).sum(axis=0, keepdims=True), Matrix, exact=False)
    check(m.vecdot(n, 1), (a * b).sum(axis=1, keepdims=True), Matrix, exact=False)
    row, col = sample(1, 4, 3), sample(3, 1, 4)
    check(m.vecdot(mat(Matrix, row), 1), (a * row).sum(axis=1, keepdims=True),
          Matrix, exact=False)
    check(m.vecdot(mat(Matrix, col), 0), (a * col).sum(axis=0, keepdims=True),
          Matrix, exact=False)


def test_vecdot_errors(Matrix):
    with pytest.raises(ValueError, match="vecdot: lhs 2x3 incompatible with rhs 3x2"):
        Matrix(2, 3).vecdot(Matrix(3, 2))
    with pytest.raises(TypeError):
        Matrix(2, 3).vecdot("a")


# ----------------------------------------------------------- argmin/argmax


@pytest.mark.parametrize("name", ["argmin", "argmax"])
def test_argmin_argmax_without_nan_match_numpy(Matrix, name):
    a = np.round(sample(4, 5), 0)  # rounded: ties, first occurrence wins
    m = mat(Matrix, a)
    fn = getattr(np, name)
    got = getattr(m, name)()
    assert type(got) is int and got == fn(a)
    assert getattr(m, name)(0) == list(fn(a, axis=0))
    assert getattr(m, name)(1) == list(fn(a, axis=1))
    assert getattr(m, name)(-1) == list(fn(a, axis=1))
    check(getattr(m, name)(0, as_matrix=True), fn(a, axis=0)[None, :], Matrix)
    check(getattr(m, name)(1, as_matrix=True), fn(a, axis=1)[:, None], Matrix)
    assert getattr(m, name)(None, as_matrix=True) == fn(a)


def test_argmin_argmax_ties_take_the_first(Matrix):
    assert Matrix(1, 4, [2, 1, 1, 3]).argmin() == 1
    assert Matrix(1, 4, [3, 1, 3, 1]).argmax() == 0


def test_argmin_argmax_skip_nan_unless_the_first_element_is_nan(Matrix):
    # numpy would answer 1 (the NaN) for both.
    assert Matrix(1, 4, [3, NAN, 1, 2]).argmin() == 2
    assert Matrix(1, 3, [1, NAN, 5]).argmax() == 2
    # a NaN first pins the answer to it
    assert Matrix(1, 4, [NAN, 0, -1, 2]).argmin() == 0
    assert Matrix(1, 4, [NAN, 0, 5, 2]).argmax() == 0
    assert Matrix(1, 3, [NAN, NAN, NAN]).argmax() == 0
    # per column: column 0 starts with NaN, column 1 has one in the middle
    m = Matrix(3, 2, [NAN, 5, 1, NAN, 0, 2])
    assert m.argmin(0) == [0, 2]
    assert m.argmax(0) == [0, 0]


def test_argmin_argmax_with_a_mask(Matrix):
    m = Matrix(1, 4, [1, 2, 3, 4])
    assert m.argmin(where=Matrix(1, 4, [0, 1, 1, 0])) == 1
    assert m.argmax(where=Matrix(1, 4, [0, 1, 1, 0])) == 2
    assert m.argmin(where=Matrix(1, 4)) == -1  # nothing included
    assert Matrix(2, 2, [1, 2, 3, 4]).argmax(1, where=Matrix(2, 2, [0, 0, 1, 1])) == [-1, 1]
    # the first *included* element pins when it is NaN
    assert Matrix(1, 4, [5, NAN, 3, 4]).argmin(where=Matrix(1, 4, [0, 1, 1, 1])) == 1


# -------------------------------------------------------------------- topk


def test_topk_over_everything(Matrix):
    values, indices = Matrix(1, 5, [3, 1, 4, 1, 5]).topk(2)
    check(values, [[5, 4]], Matrix)
    assert indices == [4, 2]
    values, indices = Matrix(1, 5, [3, 1, 4, 1, 5]).topk(3, largest=False)
    check(values, [[1, 1, 3]], Matrix)
    assert indices == [1, 3, 0]  # ties keep the first occurrence first


def test_topk_along_axes_matches_a_stable_numpy_sort(Matrix):
    a = np.round(sample(4, 5), 0)
    m = mat(Matrix, a)
    order = np.argsort(-a, axis=1, kind="stable")[:, :3]
    values, indices = m.topk(3, 1)
    check(values, np.take_along_axis(a, order, axis=1), Matrix)
    assert indices == order.tolist()
    order = np.argsort(a, axis=0, kind="stable")[:2, :]
    values, indices = m.topk(2, 0, largest=False)
    check(values, np.take_along_axis(a, order, axis=0), Matrix)
    assert indices == order.T.tolist()  # one list per column
    values, indices = m.topk(2, 0, largest=False, as_matrix=True)
    check(indices, order, Matrix)


def test_topk_puts_nan_last_and_pads_masked_groups(Matrix):
    values, indices = Matrix(1, 4, [NAN, 1, 3, 2]).topk(4)
    check(values, [[3, 2, 1, NAN]], Matrix)
    assert indices == [2, 3, 1, 0]
    values, indices = Matrix(1, 4, [NAN, 1, 3, 2]).topk(4, largest=False)
    check(values, [[1, 2, 3, NAN]], Matrix)
    values, indices = Matrix(1, 4, [4, 1, 3, 2]).topk(3, where=Matrix(1, 4, [1, 0, 0, 1]))
    check(values, [[4, 2, NAN]], Matrix)
    assert indices == [0, 3, -1]


def test_topk_errors(Matrix):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        Matrix(1, 4).topk(0)
    with pytest.raises(ValueError, match=r"k \(5\) cannot exceed the length of the reduced axis \(4\)"):
        Matrix(1, 4).topk(5)
    with pytest.raises(ValueError, match="axis must be"):
        Matrix(1, 4).topk(1, 2)


# ------------------------------------------------------------ unary functions

UNARY = {
    "ceil": np.ceil,
    "floor": np.floor,
    "round": np.round,  # numpy rounds half to even too
    "negate": np.negative,
    "abs": np.abs,
    "sqrt": np.sqrt,
    "reciprocal": lambda a: 1.0 / a,
    "sign": lambda a: np.nan_to_num(np.sign(a), nan=0.0),  # NaN maps to 0
    "cos": np.cos,
    "sin": np.sin,
}
UNARY_INPUT = np.array([[-1.5, -0.5, 0.5, 1.5, 2.5, 0.0, NAN, 3.5, -2.5, 4.0, 2.4999]])


@pytest.mark.parametrize("name", UNARY)
def test_unary_functions(Matrix, name):
    with np.errstate(all="ignore"):
        expected = UNARY[name](UNARY_INPUT)
    m = mat(Matrix, UNARY_INPUT)
    got = getattr(m, name)()
    check(got, expected, Matrix, exact=name not in ("cos", "sin"))
    check(m, UNARY_INPUT, Matrix)  # the receiver is unchanged


@pytest.mark.parametrize("name", UNARY)
def test_unary_in_place_and_out(Matrix, name):
    with np.errstate(all="ignore"):
        expected = UNARY[name](UNARY_INPUT)
    exact = name not in ("cos", "sin")
    m = mat(Matrix, UNARY_INPUT)
    out = Matrix(*UNARY_INPUT.shape)
    assert getattr(m, name)(out=out) is out
    check(out, expected, Matrix, exact=exact)
    check(m, UNARY_INPUT, Matrix)
    assert getattr(m, name)(in_place=True) is m
    check(m, expected, Matrix, exact=exact)


@pytest.mark.parametrize("name", UNARY)
def test_unary_argument_errors(Matrix, name):
    m = Matrix(1, 2, [1, 4])
    with pytest.raises(ValueError, match="out and in_place are mutually exclusive"):
        getattr(m, name)(in_place=True, out=Matrix(1, 2))
    with pytest.raises(ValueError, match="out shape 2x1 does not match result 1x2"):
        getattr(m, name)(out=Matrix(2, 1))
    with pytest.raises(TypeError, match="out must be a Matrix"):
        getattr(m, name)(out=[1, 2])
    with pytest.raises(TypeError):
        getattr(m, name)(True)  # in_place is keyword-only


def test_sqrt_of_a_negative_is_nan_and_reciprocal_of_zero_is_inf(Matrix):
    r = Matrix(1, 2, [-4, 0]).sqrt()
    assert math.isnan(r[0, 0]) and r[0, 1] == 0.0
    check(Matrix(1, 2, [0.0, -0.0]).reciprocal(), [[INF, -INF]], Matrix)


def test_round_is_half_to_even(Matrix):
    check(Matrix(1, 5, [0.5, 1.5, 2.5, -2.5, 3.5]).round(), [[0, 2, 2, -2, 4]], Matrix)


# -------------------------------------------------------------------- clip


def test_clip(Matrix):
    a = sample(3, 4)
    m = mat(Matrix, a)
    check(m.clip(-2, 3), np.clip(a, -2, 3), Matrix)
    check(m.clip(min=0.0), np.maximum(a, 0.0), Matrix)
    check(m.clip(max=1.0), np.minimum(a, 1.0), Matrix)
    check(m.clip(None, 1.0), np.minimum(a, 1.0), Matrix)
    check(m, a, Matrix)
    check(Matrix(1, 3, [NAN, 1, 2]).clip(0, 1), [[NAN, 1, 1]], Matrix)


def test_clip_in_place_and_out(Matrix):
    a = sample(2, 3)
    m = mat(Matrix, a)
    out = Matrix(2, 3)
    assert m.clip(0, 1, out=out) is out
    check(out, np.clip(a, 0, 1), Matrix)
    check(m, a, Matrix)
    assert m.clip(0, 1, in_place=True) is m
    check(m, np.clip(a, 0, 1), Matrix)


def test_clip_errors(Matrix):
    m = Matrix(1, 4)
    with pytest.raises(ValueError, match="must provide min and/or max"):
        m.clip()
    with pytest.raises(ValueError, match="must provide min and/or max"):
        m.clip(None, None)
    with pytest.raises(AssertionError, match="maxval < minval"):
        m.clip(5, 0)
    with pytest.raises(TypeError, match="Expected a number"):
        m.clip("a")
    with pytest.raises(ValueError, match="mutually exclusive"):
        m.clip(0, 1, in_place=True, out=Matrix(1, 4))
    with pytest.raises(ValueError, match="out shape"):
        m.clip(0, 1, out=Matrix(4, 1))
    with pytest.raises(TypeError, match="out must be a Matrix"):
        m.clip(0, 1, out=3)


# --------------------------------------------------------- digitize and bin


def test_digitize_matches_numpy(Matrix):
    a = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, 1.5]])
    edges = [0.0, 1.0, 1.5]
    m = mat(Matrix, a)
    check(m.digitize(edges), np.digitize(a, edges).astype(float), Matrix)
    check(m.digitize(edges, right=True), np.digitize(a, edges, right=True).astype(float),
          Matrix)
    check(m.digitize(Matrix(3, 1, edges)), np.digitize(a, edges).astype(float), Matrix)


def test_digitize_maps_nan_to_minus_one_and_routes_output(Matrix):
    m = Matrix(1, 3, [NAN, 0.5, 5])
    check(m.digitize([0, 1]), [[-1, 1, 2]], Matrix)
    out = Matrix(1, 3)
    assert m.digitize([0, 1], out=out) is out
    check(out, [[-1, 1, 2]], Matrix)
    assert m.digitize([0, 1], in_place=True) is m
    check(m, [[-1, 1, 2]], Matrix)


@pytest.mark.parametrize("edges", [[1, 0], [1, 1], [0, NAN]])
def test_digitize_needs_strictly_increasing_edges_without_nan(Matrix, edges):
    with pytest.raises(ValueError, match="strictly increasing and non-NaN"):
        Matrix(1, 2).digitize(edges)


def test_digitize_edge_errors(Matrix):
    with pytest.raises(ValueError, match="empty"):
        Matrix(1, 2).digitize([])
    with pytest.raises(ValueError, match="edges must be a vector"):
        Matrix(1, 2).digitize(Matrix(2, 2, [1, 2, 3, 4]))
    with pytest.raises(ValueError, match="mutually exclusive"):
        Matrix(1, 2).digitize([0], in_place=True, out=Matrix(1, 2))


def test_bin_splits_the_range_into_equal_widths(Matrix):
    m = Matrix(1, 5, [0, 1, 2, 3, 4])
    check(m.bin(2), [[0, 0, 1, 1, 1]], Matrix)  # a boundary value goes up
    check(m.bin(2, right=True), [[0, 0, 0, 1, 1]], Matrix)
    check(m.bin(4), [[0, 1, 2, 3, 3]], Matrix)  # the maximum is in the last bin
    check(Matrix(1, 3, [-5, 1, 9]).bin(2, bounds=(0, 2)), [[0, 1, 1]], Matrix)
    check(Matrix(1, 2, [0, NAN]).bin(2, bounds=(0, 2)), [[0, -1]], Matrix)
    check(Matrix(1, 3, [5, 5, 5]).bin(3), [[0, 0, 0]], Matrix)


def test_bin_routes_output_and_rejects_bad_arguments(Matrix):
    m = Matrix(1, 3, [0, 1, 2])
    out = Matrix(1, 3)
    assert m.bin(2, out=out) is out
    check(out, [[0, 1, 1]], Matrix)
    assert m.bin(2, in_place=True) is m
    check(m, [[0, 1, 1]], Matrix)
    with pytest.raises(ValueError, match="bins must be >= 1"):
        m.bin(0)
    with pytest.raises(ValueError, match="bounds values must be finite"):
        m.bin(2, bounds=(0, NAN))
    with pytest.raises(ValueError, match="bounds max must be >= min"):
        m.bin(2, bounds=(2, 0))


# ------------------------------------------------------------ vector helpers


def test_normalize(Matrix):
    a = sample(3, 4)
    m = mat(Matrix, a)
    check(m.normalize(), a / np.linalg.norm(a), Matrix, exact=False)
    check(m.normalize(1), a / np.linalg.norm(a, axis=1, keepdims=True), Matrix, exact=False)
    check(m.normalize(0), a / np.linalg.norm(a, axis=0, keepdims=True), Matrix, exact=False)
    check(m.normalize(-1), a / np.linalg.norm(a, axis=1, keepdims=True), Matrix, exact=False)


def test_normalize_leaves_zero_vectors_zero(Matrix):
    check(Matrix(2, 2, [3, 4, 0, 0]).normalize(1), [[0.6, 0.8], [0, 0]], Matrix,
          exact=False)
    check(Matrix(1, 2).normalize(), [[0, 0]], Matrix)


def test_normalize_in_place_only(Matrix):
    m = Matrix(1, 2, [3, 4])
    assert m.normalize(in_place=True) is m
    check(m, [[0.6, 0.8]], Matrix, exact=False)
    with pytest.raises(TypeError):
        m.normalize(out=Matrix(1, 2))
    with pytest.raises(ValueError, match="axis must be"):
        m.normalize(3)


def _cross2(u, v):
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def test_cross_of_two_2d_vectors_is_a_float(Matrix):
    got = Matrix(1, 2, [1, 2]).cross(Matrix(1, 2, [3, 4]))
    assert type(got) is float and got == -2.0
    # the other operand's orientation does not matter
    assert Matrix(2, 1, [1, 2]).cross(Matrix(1, 2, [3, 4])) == -2.0


def test_cross_of_3d_vectors_keeps_the_left_orientation(Matrix):
    u, v = sample(1, 3, 1), sample(1, 3, 2)
    check(mat(Matrix, u).cross(mat(Matrix, v)), np.cross(u, v), Matrix, exact=False)
    check(mat(Matrix, u.T).cross(mat(Matrix, v)), np.cross(u, v).T, Matrix, exact=False)


def test_cross_of_2d_batches(Matrix):
    u, v = sample(4, 2, 1), sample(4, 2, 2)
    check(mat(Matrix, u).cross(mat(Matrix, v)), _cross2(u, v)[:, None], Matrix,
          exact=False)  # Nx2 -> Nx1
    check(mat(Matrix, u.T).cross(mat(Matrix, v.T)), _cross2(u, v)[None, :], Matrix,
          exact=False)  # 2xN -> 1xN
    w = sample(1, 2, 3)
    check(mat(Matrix, u).cross(mat(Matrix, w)), _cross2(u, w)[:, None], Matrix,
          exact=False)  # one vector against the batch


def test_cross_of_3d_batches(Matrix):
    u, v = sample(4, 3, 1), sample(4, 3, 2)
    check(mat(Matrix, u).cross(mat(Matrix, v)), np.cross(u, v), Matrix, exact=False)
    check(mat(Matrix, u.T).cross(mat(Matrix, v.T)), np.cross(u, v).T, Matrix,
          exact=False)
    w = sample(1, 3, 3)
    check(mat(Matrix, u).cross(mat(Matrix, w)), np.cross(u, w), Matrix, exact=False)
    check(mat(Matrix, u.T).cross(mat(Matrix, w.T)), np.cross(u, w).T, Matrix,
          exact=False)


def test_cross_square_shapes_use_rows_unless_axis_0(Matrix):
    a, b = sample(2, 2, 1), sample(2, 2, 2)
    check(mat(Matrix, a).cross(mat(Matrix, b)), _cross2(a, b)[:, None], Matrix,
          exact=False)
    check(mat(Matrix, a).cross(mat(Matrix, b), axis=0), _cross2(a.T, b.T)[None, :],
          Matrix, exact=False)
    a, b = sample(3, 3, 1), sample(3, 3, 2)
    check(mat(Matrix, a).cross(mat(Matrix, b)), np.cross(a, b), Matrix, exact=False)
    check(mat(Matrix, a).cross(mat(Matrix, b), axis=1), np.cross(a, b), Matrix,
          exact=False)
    check(mat(Matrix, a).cross(mat(Matrix, b), axis=0), np.cross(a.T, b.T).T, Matrix,
          exact=False)


def test_cross_of_2x3_and_3x2_is_the_2d_batch_reading(Matrix):
    a, b = sample(2, 3, 1), sample(2, 3, 2)
    check(mat(Matrix, a).cross(mat(Matrix, b)), _cross2(a.T, b.T)[None, :], Matrix,
          exact=False)
    check(mat(Matrix, a.T).cross(mat(Matrix, b.T)), _cross2(a.T, b.T)[:, None], Matrix,
          exact=False)


def test_cross_errors(Matrix):
    with pytest.raises(ValueError, match="cross requires a 2D or 3D vector"):
        Matrix(1, 4).cross(Matrix(1, 4))
    with pytest.raises(ValueError, match="cross: Nx2 batch lhs 3x2 incompatible with rhs 4x2"):
        Matrix(3, 2).cross(Matrix(4, 2))
    # the batch must be on the left
    with pytest.raises(ValueError, match="cross: 2D vector lhs 1x2 incompatible with rhs 3x2"):
        Matrix(1, 2).cross(Matrix(3, 2))
    with pytest.raises(ValueError, match="incompatible"):
        Matrix(1, 2).cross(Matrix(1, 3))
    with pytest.raises(TypeError):
        Matrix(1, 2).cross(2)


def test_angle(Matrix):
    got = Matrix(1, 2, [0, 1]).angle()
    assert type(got) is float and got == math.atan2(1, 0)
    assert Matrix(2, 1, [-1, 0]).angle() == math.pi
    u = sample(4, 2)
    expected = np.arctan2(u[:, 1], u[:, 0])
    check(mat(Matrix, u).angle(), expected[:, None], Matrix, exact=False)  # Mx1
    check(mat(Matrix, u.T).angle(), expected[None, :], Matrix, exact=False)  # 1xN
    s = sample(2, 2)
    check(mat(Matrix, s).angle(), np.arctan2(s[:, 1], s[:, 0])[:, None], Matrix,
          exact=False)
    check(mat(Matrix, s).angle(axis=0), np.arctan2(s[1], s[0])[None, :], Matrix,
          exact=False)


@pytest.mark.parametrize("shape", [(3, 3), (1, 3), (1, 1), (3, 4)])
def test_angle_and_perpendicular_need_2d_vectors(Matrix, shape):
    with pytest.raises(ValueError, match="angle requires a 2D vector or Nx2 or 2xN matrix"):
        Matrix(*shape).angle()
    with pytest.raises(ValueError,
                       match="perpendicular requires a 2D vector or Nx2 or 2xN matrix"):
        Matrix(*shape).perpendicular()


def test_perpendicular_rotates_a_quarter_turn_counter_clockwise(Matrix):
    check(Matrix(1, 2, [1, 2]).perpendicular(), [[-2, 1]], Matrix)
    check(Matrix(2, 1, [1, 2]).perpendicular(), [[-2], [1]], Matrix)
    u = sample(4, 2)
    rotated = np.stack([-u[:, 1], u[:, 0]], axis=1)
    check(mat(Matrix, u).perpendicular(), rotated, Matrix)
    check(mat(Matrix, u.T).perpendicular(), rotated.T, Matrix)
    s = np.array([[1.0, 2.0], [3.0, 4.0]])
    check(mat(Matrix, s).perpendicular(), [[-2, 1], [-4, 3]], Matrix)
    check(mat(Matrix, s).perpendicular(axis=0), [[-3, -4], [1, 2]], Matrix)


def test_perpendicular_in_place_only(Matrix):
    m = Matrix(1, 2, [1, 2])
    assert m.perpendicular(in_place=True) is m
    check(m, [[-2, 1]], Matrix)
    with pytest.raises(TypeError):
        m.perpendicular(out=Matrix(1, 2))

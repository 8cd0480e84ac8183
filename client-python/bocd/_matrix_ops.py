"""Array-level algorithms behind Matrix methods whose rules differ from numpy.

Each function takes and returns float64 numpy arrays (or Python scalars);
the Matrix class wraps the results. Kept apart from the class so that the
class file holds the API and this one the NaN, masking and shape rules:

- argmin/argmax skip NaN unless the first included element of a group is
  NaN, which pins the result there; an empty group gives -1. min/max
  return the value at that index, so `m.min() == m.flat[m.argmin()]`.
- topk sorts NaN last, keeps the first of equal values, and pads groups
  with fewer than k included elements with NaN values and -1 indices.
- cross/angle/perpendicular read 2-D and 3-D vectors from rows or columns
  by shape, with `axis` deciding for square matrices.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

import numpy as np
from numpy.typing import NDArray

from ._core import sum_rows
from ._matrix_args import AXIS_RANGE, F64, shape_text

Mask = Optional[NDArray[np.bool_]]

# numpy reduces and broadcasts slowly along a short inner axis (a loop of
# length 2 per row for an Nx2 batch of vectors), so narrow matrices take
# per-column paths below; the limits are where those stop paying.
_NARROW = 8
_TALL = 256
_vecdot: Any = getattr(np, "vecdot", None)
_add: Any = np.add  # numpy's stubs cannot type reduce's keepdims=<bool>


def axis_sum(x: F64, ax: int) -> F64:
    """Sum along `ax`, keeping the reduced axis (length 1)."""
    r, c = x.shape
    if ax == 0:
        summed: F64 = sum_rows(None, x)  # one pass in row order (matrix_rows.cc)
        return summed
    if c <= _NARROW and r >= _TALL:
        acc: F64 = x[:, 0].copy()
        for j in range(1, c):
            acc += x[:, j]
        return acc.reshape(r, 1)
    row_sums: F64 = _add.reduce(x, axis=1, keepdims=True)
    return row_sums


def axis_sum_squares(x: F64, ax: int) -> F64:
    """Sum of squares along `ax`, keeping the reduced axis."""
    r, c = x.shape
    if ax == 1 and c <= _NARROW and r >= _TALL:
        acc: F64 = x[:, 0] * x[:, 0]
        for j in range(1, c):
            col = x[:, j]
            acc += col * col
        return acc.reshape(r, 1)
    if ax == 1 and _vecdot is not None:
        rows: F64 = _vecdot(x, x)  # BLAS dot per row (numpy >= 2.0)
        return rows.reshape(r, 1)
    squares: F64 = np.einsum("ij,ij->i" if ax == 1 else "ij,ij->j", x, x)
    return squares.reshape((r, 1) if ax == 1 else (1, c))


def is_narrow_broadcast(shape: tuple[int, int], other: tuple[int, ...]
                        ) -> bool:
    """Whether `narrow_binary` beats numpy for these operand shapes."""
    return shape != other and shape[1] <= _NARROW and shape[0] >= _TALL


def narrow_binary(ufunc: Any, a: Any, b: Any, out: Optional[F64] = None
                  ) -> F64:
    """`ufunc(a, b)` for 2-D operands with a tall, narrow result, one
    column at a time."""
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    res = np.empty(shape) if out is None else out
    for j in range(shape[1]):
        ufunc(_column(a, j), _column(b, j), out=res[:, j])
    return res


def _column(x: Any, j: int) -> Any:
    if type(x) is float or type(x) is int:
        return x
    return x[:, j if x.shape[1] > 1 else 0]


def arg_extreme(d: F64, axis: Optional[int], mask: Mask,
                largest: bool) -> NDArray[np.intp]:
    """argmin (largest=False) or argmax per group, as an intp array.

    `axis=None` reduces the flat array to a 0-d result; otherwise the
    result keeps the reduced axis with length 1.
    """
    x = d.reshape(1, -1) if axis is None else d
    ax = 1 if axis is None else axis
    fill = -np.inf if largest else np.inf
    included = np.ones(x.shape, dtype=bool) if mask is None else (
        mask.reshape(x.shape))
    first = np.argmax(included, axis=ax, keepdims=True)
    first_value = np.take_along_axis(x, first, axis=ax)
    keyed = np.where(included & ~np.isnan(x), x, fill)
    pick = (np.argmax if largest else np.argmin)(keyed, axis=ax, keepdims=True)
    best = np.take_along_axis(keyed, pick, axis=ax)
    # All candidates equal the fill (or none exist): the first included
    # element is the answer, as it is when that element is NaN.
    pick = np.where(np.isnan(first_value) | (best == fill), first, pick)
    empty = ~np.any(included, axis=ax, keepdims=True)
    pick = np.where(empty, -1, pick)
    return pick.reshape(()) if axis is None else pick


def extreme(d: F64, axis: Optional[int], mask: Mask,
            largest: bool) -> Union[float, F64]:
    """min/max under the argmin/argmax NaN rule; an empty group is NaN."""
    if mask is None:
        fast: Any = np.maximum if largest else np.minimum
        r = fast.reduce(d, axis=axis, keepdims=axis is not None)
        if not np.isnan(r).any():
            return float(r) if axis is None else r
    pick = arg_extreme(d, axis, mask, largest)
    x = d.reshape(1, -1) if axis is None else d
    ax = 1 if axis is None else axis
    p = pick.reshape(1, 1) if axis is None else pick
    values = np.take_along_axis(x, np.maximum(p, 0), axis=ax)
    values = np.where(p < 0, np.nan, values)
    return float(values[0, 0]) if axis is None else values


def topk(d: F64, k: int, axis: Optional[int], largest: bool,
         mask: Mask) -> tuple[F64, NDArray[np.intp]]:
    """Values and source indices of the k extreme elements per group.

    Groups run along rows of the returned arrays for axis None/1 and along
    columns for axis 0, so the results already have the public shapes.
    """
    x = d.reshape(1, -1) if axis is None else d
    ax = 1 if axis is None else axis
    length = x.shape[ax]
    if k < 1:
        raise ValueError("k must be a positive integer")
    if k > length:
        raise ValueError(f"k ({k}) cannot exceed the length of the reduced "
                         f"axis ({length})")
    key = -x if largest else x
    excluded = np.zeros(x.shape, dtype=bool) if mask is None else (
        ~mask.reshape(x.shape))
    # Stable sort by (excluded, key): NaN sorts after numbers, excluded last.
    order = np.lexsort((key, excluded), axis=ax)
    index = np.take(order, np.arange(k), axis=ax)
    values = np.take_along_axis(x, index, axis=ax)
    dropped = np.take_along_axis(excluded, index, axis=ax)
    values = np.where(dropped, np.nan, values)
    index = np.where(dropped, -1, index)
    return values, index


def digitize(d: F64, edges: F64, right: bool) -> F64:
    """numpy.digitize with NaN mapped to -1, as float indices."""
    if edges.size == 0:
        raise ValueError("edges must not be empty")
    if np.isnan(edges).any() or (edges.size > 1
                                 and not np.all(np.diff(edges) > 0)):
        raise ValueError("edges must be strictly increasing and non-NaN")
    side: Literal["left", "right"] = "left" if right else "right"
    r: F64 = np.searchsorted(edges, d, side=side).astype(np.float64)
    r[np.isnan(d)] = -1.0
    return r


def equal_width_bins(d: F64, bins: int, lo: float, hi: float,
                     right: bool) -> F64:
    """Index of the equal-width bin over [lo, hi] each element falls in."""
    with np.errstate(all="ignore"):
        if hi > lo:
            scaled = (d - lo) * (bins / (hi - lo))
            r = np.ceil(scaled) - 1 if right else np.floor(scaled)
            np.clip(r, 0, bins - 1, out=r)
        else:
            r = np.zeros_like(d)
    r[np.isnan(d)] = -1.0
    return r


def vector_axis(shape: tuple[int, int], size: int,
                axis: Optional[int], name: str, kinds: str) -> int:
    """Which axis holds the components of `size`-long vectors: 1 for rows
    (Nx`size`), 0 for columns (`size`xN); -1 for one vector (1x`size`)."""
    r, c = shape
    if (r == 1 and c == size) or (c == 1 and r == size):
        return -1
    if axis is not None:
        if not -2 <= axis <= 1:
            raise ValueError(AXIS_RANGE)
        axis &= 1
        if (axis == 1 and c == size) or (axis == 0 and r == size):
            return axis
    elif c == size:
        return 1
    elif r == size:
        return 0
    raise ValueError(f"{name} requires {kinds}")


def perpendicular(d: F64, axis: Optional[int], out: F64) -> F64:
    """(x, y) -> (-y, x) for every 2-D vector; `out` may be `d`."""
    ax = vector_axis(d.shape, 2, axis, "perpendicular",
                     "a 2D vector or Nx2 or 2xN matrix")
    if ax == -1:
        flat_in, flat_out = d.reshape(-1), out.reshape(-1)
        x0, y0 = float(flat_in[0]), float(flat_in[1])
        flat_out[0], flat_out[1] = -y0, x0
        return out
    x = d[:, 0] if ax == 1 else d[0]
    y = d[:, 1] if ax == 1 else d[1]
    x_copy = x.copy()
    ox = out[:, 0] if ax == 1 else out[0]
    oy = out[:, 1] if ax == 1 else out[1]
    np.negative(y, out=ox)
    oy[...] = x_copy
    return out


def angle(d: F64, axis: Optional[int]) -> Union[float, F64]:
    """atan2(y, x) per 2-D vector: a float, an Nx1 or a 1xN matrix."""
    ax = vector_axis(d.shape, 2, axis, "angle",
                     "a 2D vector or Nx2 or 2xN matrix")
    if ax == -1:
        flat = d.reshape(-1)
        return float(np.arctan2(flat[1], flat[0]))
    if ax == 1:
        return np.arctan2(d[:, 1:2], d[:, 0:1])
    return np.arctan2(d[1:2], d[0:1])


_CROSS_KINDS = "a 2D or 3D vector or Nx2 or 2xN or Nx3 or 3xN matrix"


def cross(d: F64, o: F64, axis: Optional[int]) -> Union[float, F64]:
    """2-D (scalar z) and 3-D cross products, single or batched."""
    r, c = d.shape
    if axis is not None and not -2 <= axis <= 1:
        raise ValueError(AXIS_RANGE)
    if d.size == 2 and 1 in d.shape:
        if o.size != 2 or 1 not in o.shape:
            raise ValueError(f"cross: 2D vector lhs {shape_text(d.shape)} "
                             f"incompatible with rhs {shape_text(o.shape)}")
        a, b = d.reshape(-1), o.reshape(-1)
        return float(a[0] * b[1] - a[1] * b[0])
    if d.size == 3 and 1 in d.shape:
        if o.size != 3 or 1 not in o.shape:
            raise ValueError(f"cross: 3D vector lhs {shape_text(d.shape)} "
                             f"incompatible with rhs {shape_text(o.shape)}")
        return _cross3(d.reshape(1, 3), o.reshape(1, 3)).reshape(d.shape)
    size, ax = _batch_kind(r, c, axis)
    rows = d if ax == 1 else d.T
    n = rows.shape[0]
    if o.size == size and 1 in o.shape:
        other = o.reshape(1, size)
    elif o.shape == d.shape:
        other = o if ax == 1 else o.T
    else:
        raise ValueError(
            f"cross: Nx{size} batch lhs {shape_text(d.shape)} incompatible "
            f"with rhs {shape_text(o.shape)}" if ax == 1 else
            f"cross: {size}xN batch lhs {shape_text(d.shape)} incompatible "
            f"with rhs {shape_text(o.shape)}")
    if size == 2:
        z = rows[:, 0] * other[:, 1] - rows[:, 1] * other[:, 0]
        return z.reshape(n, 1) if ax == 1 else z.reshape(1, n)
    res = _cross3(rows, other)
    return res if ax == 1 else np.ascontiguousarray(res.T)


def _batch_kind(r: int, c: int, axis: Optional[int]) -> tuple[int, int]:
    """(vector size, component axis) of a batch; 2-D wins over 3-D."""
    if r == c and r in (2, 3):
        return r, (0 if axis is not None and axis & 1 == 0 else 1)
    for size in (2, 3):
        if c == size:
            return size, 1
        if r == size:
            return size, 0
    raise ValueError(f"cross requires {_CROSS_KINDS}")


def _cross3(a: F64, b: F64) -> F64:
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    a0, a1, a2 = a[:, 0], a[:, 1], a[:, 2]
    b0, b1, b2 = b[:, 0], b[:, 1], b[:, 2]
    out[:, 0] = a1 * b2 - a2 * b1
    out[:, 1] = a2 * b0 - a0 * b2
    out[:, 2] = a0 * b1 - a1 * b0
    return out

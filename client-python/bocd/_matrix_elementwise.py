"""Element-wise and vector methods of bocd.Matrix (a mixin of Matrix).

The unary functions take `in_place=` (write into the matrix) or `out=`
(write into another matrix of the same shape), never both; the vector
helpers read 2-D and 3-D vectors from rows or columns (_matrix_ops).
In-place results are written into the existing buffer, which may live in
shared memory that other handles map.
"""
from __future__ import annotations

import operator
from typing import Any, Optional, TypeVar, Union

import numpy as np

from . import _matrix_ops as ops
from ._core import clip as _clip
from ._core import normalize_rows
from ._matrix_args import OUT_AND_IN_PLACE, F64, axis_arg, real
from ._matrix_base import MatrixBase, check_out, matrix_arg

E = TypeVar("E", bound="MatrixElementwise")


class MatrixElementwise(MatrixBase):
    """Unary functions, clip/digitize/bin, transpose and vector helpers."""

    __slots__ = ()

    def _target(self: E, in_place: bool, out: Optional[E]) -> F64:
        d = self._d
        if out is not None:
            if in_place:
                raise ValueError(OUT_AND_IN_PLACE)
            return check_out(out, d.shape)
        return d if in_place else np.empty(d.shape)

    def _unary(self: E, ufunc: Any, in_place: bool,
               out: Optional[E]) -> E:
        t = self._target(in_place, out)
        try:
            ufunc(self._d, out=t)
        except RuntimeWarning:
            pass  # raised after the whole result was written (see _arith)
        return out if out is not None else (self if in_place else self._wrap(t))

    def ceil(self: E, *, in_place: bool = False,
             out: Optional[E] = None) -> E:
        return self._unary(np.ceil, in_place, out)

    def floor(self: E, *, in_place: bool = False,
              out: Optional[E] = None) -> E:
        return self._unary(np.floor, in_place, out)

    def round(self: E, *, in_place: bool = False,
              out: Optional[E] = None) -> E:
        """Round half to even."""
        return self._unary(np.rint, in_place, out)

    def negate(self: E, *, in_place: bool = False,
               out: Optional[E] = None) -> E:
        return self._unary(np.negative, in_place, out)

    def abs(self: E, *, in_place: bool = False,
            out: Optional[E] = None) -> E:
        return self._unary(np.absolute, in_place, out)

    def sqrt(self: E, *, in_place: bool = False,
             out: Optional[E] = None) -> E:
        """NaN for negative elements, without a warning."""
        return self._unary(np.sqrt, in_place, out)

    def reciprocal(self: E, *, in_place: bool = False,
                   out: Optional[E] = None) -> E:
        return self._unary(_reciprocal, in_place, out)

    def sign(self: E, *, in_place: bool = False,
             out: Optional[E] = None) -> E:
        """-1, 0 or 1; NaN and -0.0 give 0."""
        return self._unary(_sign, in_place, out)

    def cos(self: E, *, in_place: bool = False,
            out: Optional[E] = None) -> E:
        return self._unary(np.cos, in_place, out)

    def sin(self: E, *, in_place: bool = False,
            out: Optional[E] = None) -> E:
        return self._unary(np.sin, in_place, out)

    def clip(self: E, min: Optional[float] = None, max: Optional[float] = None,
             *, in_place: bool = False,
             out: Optional[E] = None) -> E:
        if type(min) is float and type(max) is float and out is None:
            if max < min:
                raise AssertionError("maxval < minval")
            if in_place:
                _clip(None, self._d, min, max)
                return self
            return _clip(type(self), self._d, min, max)  # type: ignore[no-any-return]
        if min is None and max is None:
            raise ValueError("clip: must provide min and/or max")
        lo = None if min is None else real(min)
        hi = None if max is None else real(max)
        if lo is not None and hi is not None and hi < lo:
            raise AssertionError("maxval < minval")
        t = self._target(in_place, out)
        np.clip(self._d, lo, hi, out=t)
        return out if out is not None else (self if in_place else self._wrap(t))

    def digitize(self: E, edges: Any, *, right: bool = False,
                 in_place: bool = False,
                 out: Optional[E] = None) -> E:
        """Index of the edge interval of each element (NaN gives -1)."""
        e = matrix_arg(edges)
        if 1 not in e.shape:
            raise ValueError("edges must be a vector")
        t = self._target(in_place, out)
        t[...] = ops.digitize(self._d, e.reshape(-1), bool(right))
        return out if out is not None else (self if in_place else self._wrap(t))

    def bin(self: E, bins: int, *, bounds: Optional[tuple[float, float]] = None,
            right: bool = False, in_place: bool = False,
            out: Optional[E] = None) -> E:
        """Index of the equal-width bin of each element (NaN gives -1)."""
        n = operator.index(bins)
        if n < 1:
            raise ValueError("bins must be >= 1")
        lo, hi = _bin_bounds(self._d, bounds)
        t = self._target(in_place, out)
        t[...] = ops.equal_width_bins(self._d, n, lo, hi, bool(right))
        return out if out is not None else (self if in_place else self._wrap(t))

    def transpose(self: E, in_place: bool = False) -> E:
        """Transposed copy; in place, the same buffer is reordered."""
        d = self._d
        if not in_place:
            return self._wrap(np.ascontiguousarray(d.T))
        flat = d.reshape(-1)
        flat[...] = d.T.reshape(-1)  # d.T is not contiguous: reshape copies
        self._d = flat.reshape(d.shape[1], d.shape[0])
        return self

    def normalize(self: E, axis: Optional[int] = None,
                  in_place: bool = False) -> E:
        """Divide by the magnitude; zero-magnitude groups stay unchanged."""
        d = self._d
        if type(axis) is int and (axis == 1 or axis == -1):
            # Rows, the common call: one C pass (matrix_rows.cc).
            if in_place:
                normalize_rows(None, d, True)
                return self
            return normalize_rows(type(self), d, False)  # type: ignore[no-any-return]
        ax = axis_arg(axis)
        mag = self._magnitude_squared(ax)
        if ax is None:
            m = float(np.sqrt(mag))
            scale: Any = m if m != 0 else 1.0
        else:
            scale = np.sqrt(mag, out=mag)
            if not scale.all():
                scale[scale == 0] = 1.0
        if type(scale) is not float and ops.is_narrow_broadcast(d.shape,
                                                                scale.shape):
            res = ops.narrow_binary(np.true_divide, d, scale,
                                    out=d if in_place else None)
        elif in_place:
            res = np.true_divide(d, scale, out=d)
        else:
            try:
                res = d / scale
            except RuntimeWarning:  # inf/inf under an "error" filter
                with np.errstate(all="ignore"):
                    res = d / scale
        return self if in_place else self._wrap(res)

    def perpendicular(self: E, axis: Optional[int] = None,
                      in_place: bool = False) -> E:
        d = self._d
        t = d if in_place else np.empty(d.shape)
        ops.perpendicular(d, axis, t)
        return self if in_place else self._wrap(t)

    def angle(self: E, axis: Optional[int] = None) -> Union[float, E]:
        r = ops.angle(self._d, _vector_axis(axis))
        return r if type(r) is float else self._wrap(r)  # type: ignore[arg-type]

    def cross(self: E, other: E,
              axis: Optional[int] = None) -> Union[float, E]:
        r = ops.cross(self._d, matrix_arg(other), _vector_axis(axis))
        return r if type(r) is float else self._wrap(r)  # type: ignore[arg-type]


def _reciprocal(d: F64, out: F64) -> F64:
    return np.true_divide(1.0, d, out=out)


def _sign(d: F64, out: F64) -> F64:
    negative = d < 0  # before `out` (which may be `d`) is written
    np.greater(d, 0, out=out, casting="unsafe")
    out -= negative
    return out


def _vector_axis(axis: Optional[int]) -> Optional[int]:
    if axis is None or (type(axis) is int):
        return axis
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError("axis must be an int or None")
    return int(axis)


def _bin_bounds(d: F64, bounds: Any) -> tuple[float, float]:
    if bounds is None:
        finite = d[~np.isnan(d)]
        if finite.size == 0:
            return 0.0, 0.0
        return float(finite.min()), float(finite.max())
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
        raise ValueError("bounds must be a (min, max) pair of length 2")
    message = "bounds values must be real numbers"
    lo, hi = real(bounds[0], message), real(bounds[1], message)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("bounds values must be finite")
    if hi < lo:
        raise ValueError("bounds max must be >= min")
    return lo, hi

"""The base of bocd.Matrix: its buffer, its ownership check, its operands.

A Matrix holds one attribute that matters, `_d`: a 2-D, C-contiguous
float64 ndarray. Every method reads it through `self._d`; when the matrix
is moved to another process its owner deletes `_d`, and `__getattr__`
(only reached for a missing attribute, so the fast path pays nothing)
turns the next use into bocpy's "does not own" RuntimeError.

The Matrix class is assembled from this base and two mixins
(_matrix_elementwise, _matrix_index) so that each file stays readable.
"""
from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from ._matrix_args import EXPECTED_NUMBERS, F64, is_real, row_array, shape_text
from ._matrix_view import MatrixView

NOT_OWNED = "The current interpreter does not own this matrix"
M = TypeVar("M", bound="MatrixBase")
_new = object.__new__


class MatrixBase:
    """The buffer slot and ownership rule shared by Matrix's parts."""

    __slots__ = ("_d", "__dict__", "__weakref__")
    _d: F64

    @classmethod
    def _wrap(cls: type[M], arr: F64) -> M:
        """A Matrix around `arr` (2-D, C-contiguous float64), not copied."""
        m: M = _new(cls)
        m._d = arr
        return m

    def __getattr__(self, name: str) -> Any:
        if name == "_d":
            raise RuntimeError(NOT_OWNED)
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}'")


def operand(other: object) -> Any:
    """An arithmetic operand as a float or a 2-D float64 array."""
    t = type(other)
    if t is float or t is int:
        return other
    if isinstance(other, MatrixBase):
        return other._d
    if isinstance(other, MatrixView):
        return other._array()
    if isinstance(other, (list, tuple)):
        return row_array(other)
    if is_real(other):
        return float(other)  # type: ignore[arg-type]
    if isinstance(other, np.ndarray) and other.ndim <= 2 and (
            other.dtype.kind in "biuf"):
        return np.atleast_2d(other.astype(np.float64, copy=False))
    raise TypeError(EXPECTED_NUMBERS)


def matrix_arg(other: object) -> F64:
    """An operand that must be a matrix (a list/tuple counts as a row)."""
    o = operand(other)
    if type(o) is float or type(o) is int:
        raise TypeError(EXPECTED_NUMBERS)
    return o  # type: ignore[no-any-return]


def check_out(out: Any, shape: tuple[int, ...]) -> F64:
    """The array of an `out=` Matrix, checked against the result shape."""
    if not isinstance(out, MatrixBase):
        raise TypeError("out must be a Matrix")
    od: F64 = out._d
    if od.shape != shape:
        raise ValueError(f"out shape {shape_text(od.shape)} does not match "
                         f"result {shape_text(shape)}")
    return od


def mask_arg(where: Any, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """A `where=` mask: a same-shape Matrix; non-zero (and NaN) includes."""
    if not isinstance(where, MatrixBase):
        raise TypeError("where must be a Matrix mask")
    w = where._d
    if w.shape != shape:
        raise ValueError(f"where mask shape {shape_text(w.shape)} does not "
                         f"match matrix shape {shape_text(shape)}")
    mask: NDArray[np.bool_] = w != 0
    return mask

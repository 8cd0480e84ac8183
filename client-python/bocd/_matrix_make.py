"""Construction classmethods of bocd.Matrix (a mixin of Matrix).

`zeros`/`ones`/`full`, `vector`, `concat`, the random `normal`/`uniform`
with `seed` (numpy's PCG64, one generator per process: each worker has its
own), `from_view`, and the element-wise `where` and `allclose`.
"""
from __future__ import annotations

from typing import Any, Optional, TypeVar, Union

import numpy as np

from ._matrix_args import (EXPECTED_NUMBERS, F64, is_real, real, row_array,
                           shape_pair, take_axis)
from ._matrix_base import MatrixBase, check_out
from ._matrix_view import MatrixView

C = TypeVar("C", bound="MatrixConstructors")
_rng = np.random.default_rng()


class MatrixConstructors(MatrixBase):
    """Classmethods that make matrices."""

    __slots__ = ()

    @classmethod
    def zeros(cls: type[C], size: tuple[int, int]) -> C:
        return cls._wrap(np.zeros(shape_pair(
            size, "rows and columns must both be >= 1")))

    @classmethod
    def ones(cls: type[C], size: tuple[int, int]) -> C:
        return cls._wrap(np.ones(shape_pair(
            size, "rows and columns must both be >= 1")))

    @classmethod
    def full(cls: type[C], size: tuple[int, int], value: float) -> C:
        shape = shape_pair(size, "rows and columns must both be >= 1")
        v = real(value, f"must be real number, not {type(value).__name__}")
        return cls._wrap(np.full(shape, v))

    @classmethod
    def vector(cls: type[C], values: Any, as_column: bool = False) -> C:
        """A 1xN row (or Nx1 column) from a flat sequence of numbers."""
        if isinstance(values, (str, bytes, MatrixBase)) or not hasattr(
                values, "__len__"):
            raise TypeError(EXPECTED_NUMBERS)
        row = row_array(values)
        return cls._wrap(row.reshape(-1, 1) if as_column else row)

    @classmethod
    def concat(cls: type[C], values: Any, axis: int = 0) -> Optional[MatrixBase]:
        """Stack matrices (or number sequences) by rows (0) or columns (1).

        A sequence counts as a 1xN row when stacking rows and as an Nx1
        column when stacking columns. An empty list gives None, as bocpy.
        """
        ax = take_axis(axis)
        parts = [_concat_part(v, ax) for v in values]
        if not parts:
            return None
        other = 1 - ax
        if any(p.shape[other] != parts[0].shape[other] for p in parts):
            raise AssertionError(
                "all sub-matrices must have the same number of " +
                ("columns" if ax == 0 else "rows"))
        return cls._wrap(np.concatenate(parts, axis=ax))

    @classmethod
    def normal(cls: type[C], mean: Optional[float] = None,
               stddev: Optional[float] = None,
               size: Optional[tuple[int, int]] = None
               ) -> Union[float, C]:
        """Normal samples: a float when size is None, else a Matrix."""
        mu = 0.0 if mean is None else real(mean, "must be real number")
        sigma = 1.0 if stddev is None else real(stddev, "must be real number")
        if size is None:
            return mu + sigma * float(_rng.standard_normal())
        shape = shape_pair(size, "rows and columns must both be >= 1")
        return cls._wrap(mu + sigma * _rng.standard_normal(shape))

    @classmethod
    def uniform(cls: type[C], minval: Optional[float] = None,
                maxval: Optional[float] = None,
                size: Optional[tuple[int, int]] = None
                ) -> Union[float, C]:
        """Uniform samples over [minval, maxval)."""
        lo = 0.0 if minval is None else real(minval, "must be real number")
        hi = 1.0 if maxval is None else real(maxval, "must be real number")
        if size is None:
            return lo + (hi - lo) * float(_rng.random())
        shape = shape_pair(size, "rows and columns must both be >= 1")
        return cls._wrap(lo + (hi - lo) * _rng.random(shape))

    @classmethod
    def seed(cls: type[C], value: int) -> None:
        """Seed this process's generator for `normal` and `uniform`."""
        global _rng
        if not isinstance(value, int):
            raise TypeError(
                f"argument 1 must be int, not {type(value).__name__}")
        _rng = np.random.default_rng(value & (2 ** 128 - 1))

    @classmethod
    def from_view(cls: type[C], view: "MatrixView") -> C:
        if not isinstance(view, MatrixView):
            raise TypeError("from_view expects a MatrixView, not "
                            f"{type(view).__name__}")
        return cls._wrap(view._array().copy())

    @classmethod
    def where(cls: type[C], mask: MatrixBase, a: Any, b: Any, *,
              out: Optional[C] = None) -> C:
        """Element-wise `a` where `mask` is non-zero (or NaN), else `b`."""
        if not isinstance(mask, MatrixBase):
            raise TypeError("argument 1 must be Matrix, not "
                            f"{type(mask).__name__}")
        m = mask._d
        x, y = _where_arg(a, m.shape), _where_arg(b, m.shape)
        if out is None:
            return cls._wrap(np.where(m != 0, x, y))
        od = check_out(out, m.shape)
        np.copyto(od, np.where(m != 0, x, y))
        return out

    @classmethod
    def allclose(cls: type[C], lhs: MatrixBase, rhs: MatrixBase,
                 rtol: float = 1e-05,
                 atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """|lhs - rhs| <= atol + rtol*|rhs| everywhere (False on shapes)."""
        for i, arg in enumerate((lhs, rhs), 1):
            if not isinstance(arg, MatrixBase):
                raise TypeError(f"argument {i} must be Matrix, not "
                                f"{type(arg).__name__}")
        if lhs._d.shape != rhs._d.shape:
            return False
        return bool(np.allclose(lhs._d, rhs._d, rtol=rtol, atol=atol,
                                equal_nan=bool(equal_nan)))


def _concat_part(value: Any, axis: int) -> F64:
    if isinstance(value, MatrixBase):
        return value._d
    if isinstance(value, (list, tuple)):
        row = row_array(value) if value else np.empty((1, 0))
        return row if axis == 0 else row.reshape(-1, 1)
    raise TypeError("object must be a Matrix, List, or Tuple")


def _where_arg(value: Any, shape: tuple[int, ...]) -> Any:
    if isinstance(value, (MatrixBase, list, tuple)):
        arr = value._d if isinstance(value, MatrixBase) else row_array(value)
        if arr.shape != shape:
            raise ValueError("where() matrix or list/tuple operands must "
                             "match the mask shape")
        return arr
    if is_real(value):
        return float(value)
    raise TypeError("where() operands must each be a Matrix, a scalar, or "
                    "a list/tuple of numbers")

"""A minimal Matrix: the storage contract that moving a matrix relies on.

A Matrix keeps its elements in one attribute, `_d`: a 2-D, C-contiguous
float64 ndarray. When the matrix is moved to another process its owner
deletes `_d`; `__getattr__` then turns any use into RuntimeError("The
current interpreter does not own this matrix"). `Matrix._wrap(arr)` wraps
an array without copying it. Only the few operations the transport's
tests and benchmark use are here.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_NOT_OWNED = "The current interpreter does not own this matrix"


class Matrix:
    """A dense 2-D matrix of float64, stored in a numpy array."""

    __slots__ = ("_d", "__weakref__")
    __hash__ = None  # type: ignore[assignment]
    _d: Any

    def __init__(self, rows: Any, columns: int | None = None,
                 values: Any = None) -> None:
        if columns is None:  # a list of rows
            self._d = np.array(rows, dtype=np.float64, ndmin=2, order="C")
            return
        if values is None:
            self._d = np.zeros((rows, columns))
        elif isinstance(values, (int, float)):
            self._d = np.full((rows, columns), float(values))
        else:
            self._d = np.array(values, dtype=np.float64).reshape(rows, columns)

    @classmethod
    def _wrap(cls, arr: Any) -> "Matrix":
        """A Matrix around `arr` (2-D, C-contiguous float64), not copied."""
        m = cls.__new__(cls)
        m._d = arr
        return m

    def __getattr__(self, name: str) -> Any:
        if name == "_d":
            raise RuntimeError(_NOT_OWNED)
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}'")

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        return self._d if dtype is None else self._d.astype(dtype)

    @property
    def shape(self) -> tuple[int, int]:
        r, c = self._d.shape
        return int(r), int(c)

    def __getitem__(self, key: Any) -> Any:
        out = self._d[key]
        return float(out) if np.ndim(out) == 0 else Matrix._wrap(
            np.ascontiguousarray(np.atleast_2d(out)))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._d[key] = value

    def __iadd__(self, other: Any) -> "Matrix":
        self._d += other._d if isinstance(other, Matrix) else other
        return self

    def sum(self) -> float:
        return float(self._d.sum())

    def __repr__(self) -> str:
        try:
            return f"Matrix({self._d.tolist()})"
        except RuntimeError:
            return "Matrix(<not acquired>)"


from . import _matrix_move  # noqa: E402,F401  (registers pickling)

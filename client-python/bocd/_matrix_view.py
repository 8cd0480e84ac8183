"""bocd.MatrixView: a 1-D window onto one row or column of a Matrix.

A view keeps its base Matrix (`_base`) and a 2-D numpy view of the base's
buffer (`_v`, 1xN for a row, Nx1 for a column). Reads and writes go
straight to the base's memory. Every access first touches `_base._d`, so
a view of a matrix that was moved away raises the base's "does not own"
RuntimeError instead of reading memory this process no longer owns.
Views are never pickled or sent: `copy()` gives an owned Matrix.
"""
from __future__ import annotations

from typing import Any, Iterator, NoReturn, Union

import numpy as np

from ._matrix_args import F64, is_real, matrix_str, real

_READ_ONLY = "cannot write to a read-only MatrixView"
_ONE_D = "MatrixView is 1-D; index with a single int or slice"


class MatrixView:
    """A read/write (or read-only) row or column view of a Matrix.

    Made by `Matrix.row_view`, `column_view`, `row_views`, `column_views`
    or `m.view[...]`. Arithmetic returns new Matrix objects; `copy()`
    detaches an owned Matrix, the only form that can be sent or stored.
    """

    __slots__ = ("_base", "_v", "_row", "_ro", "__weakref__")
    _base: Any  # the Matrix (its module imports this one)
    _v: F64
    _row: bool
    _ro: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("cannot create 'MatrixView' instances directly; use "
                        "Matrix.row_view() / Matrix.column_view()")

    @classmethod
    def _make(cls, base: Any, v: F64, is_row: bool,
              read_only: bool) -> "MatrixView":
        view: MatrixView = object.__new__(cls)
        view._base = base
        view._v = v
        view._row = is_row
        view._ro = read_only
        return view

    def _array(self) -> F64:
        """The 2-D numpy view, after checking the base is still owned."""
        self._base._d
        return self._v

    def _flat(self) -> F64:
        self._base._d
        v = self._v
        return v[0] if self._row else v[:, 0]

    def _writable(self) -> F64:
        if self._ro:
            raise TypeError(_READ_ONLY)
        return self._flat()

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("cannot pickle or send a MatrixView across "
                        "interpreters; call .copy() to get an owned Matrix")

    # ------------------------------------------------------------------
    # shape

    @property
    def rows(self) -> int:
        return int(self._array().shape[0])

    @property
    def columns(self) -> int:
        return int(self._array().shape[1])

    @property
    def size(self) -> int:
        return int(self._array().size)

    @property
    def shape(self) -> tuple[int, int]:
        r, c = self._array().shape
        return int(r), int(c)

    @property
    def is_row(self) -> bool:
        return self._row

    @property
    def read_only(self) -> bool:
        return self._ro

    @property
    def T(self) -> "MatrixView":
        """The same elements with the other orientation (no copy)."""
        return MatrixView._make(self._base, self._array().T, not self._row,
                                self._ro)

    def __len__(self) -> int:
        return int(self._array().size)

    # ------------------------------------------------------------------
    # elements

    def __getitem__(self, key: Union[int, slice]) -> Any:
        flat = self._flat()
        if type(key) is slice:
            part = flat[key]
            if part.size == 0:
                raise IndexError("the view slice is empty")
            v = part.reshape(1, -1) if self._row else part.reshape(-1, 1)
            return MatrixView._make(self._base, v, self._row, self._ro)
        if isinstance(key, int):
            i, n = int(key), flat.size  # int(): a bool is 0/1, not a mask
            if not -n <= i < n:
                raise IndexError("view index out of range")
            return float(flat[i])
        raise TypeError(_ONE_D)

    def __setitem__(self, key: Union[int, slice], value: Any) -> None:
        flat = self._writable()
        if type(key) is slice:
            part = flat[key]
            if is_real(value):
                part[...] = float(value)
                return
            src = _elements(value)
            if src.size != part.size:
                raise ValueError(f"cannot assign {src.size} values to a view "
                                 f"of length {part.size}")
            part[...] = src
            return
        if isinstance(key, int):
            i, n = int(key), flat.size
            if not -n <= i < n:
                raise IndexError("view index out of range")
            flat[i] = real(value, "must be real number, not "
                           f"{type(value).__name__}")
            return
        raise TypeError(_ONE_D)

    def __delitem__(self, key: Any) -> None:
        raise TypeError("cannot delete elements of a MatrixView")

    def _get(self, i: int) -> float:
        flat = self._flat()
        if i >= flat.size:
            raise IndexError(f"view has no element {i}")
        return float(flat[i])

    def _set(self, i: int, value: object) -> None:
        flat = self._writable()
        if i >= flat.size:
            raise IndexError(f"view has no element {i}")
        flat[i] = real(value, "expected a real number")

    x = property(lambda self: self._get(0), lambda self, v: self._set(0, v))
    y = property(lambda self: self._get(1), lambda self, v: self._set(1, v))
    z = property(lambda self: self._get(2), lambda self, v: self._set(2, v))
    w = property(lambda self: self._get(3), lambda self, v: self._set(3, v))

    def values(self) -> Iterator[float]:
        for i in range(len(self)):
            yield float(self._flat()[i])

    def __iter__(self) -> Iterator[float]:
        return self.values()

    def copy(self) -> Any:
        """An owned Matrix with the view's elements (shares nothing)."""
        return self._base._wrap(np.ascontiguousarray(self._array()))

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        v = self._array()
        if self._ro:
            v = v.view()
            v.flags.writeable = False
        if dtype is not None and np.dtype(dtype) != v.dtype:
            return v.astype(dtype)
        return v.copy() if copy else v

    def __repr__(self) -> str:
        return f"MatrixView({matrix_str(self._array())})"

    __str__ = __repr__

    # ------------------------------------------------------------------
    # arithmetic: on a copy, giving a new Matrix

    def __add__(self, other: Any) -> Any:
        return self.copy() + other

    def __radd__(self, other: Any) -> Any:
        return other + self.copy()

    def __sub__(self, other: Any) -> Any:
        return self.copy() - other

    def __rsub__(self, other: Any) -> Any:
        return other - self.copy()

    def __mul__(self, other: Any) -> Any:
        return self.copy() * other

    def __rmul__(self, other: Any) -> Any:
        return other * self.copy()

    def __truediv__(self, other: Any) -> Any:
        return self.copy() / other

    def __rtruediv__(self, other: Any) -> Any:
        return other / self.copy()

    def __matmul__(self, other: Any) -> Any:
        return self.copy() @ other

    def __rmatmul__(self, other: Any) -> Any:
        return other @ self.copy()

    def __neg__(self) -> Any:
        return -self.copy()

    def __abs__(self) -> Any:
        return abs(self.copy())


def _elements(value: Any) -> F64:
    if isinstance(value, MatrixView):
        return value._array().reshape(-1)
    if isinstance(value, (list, tuple)) or hasattr(value, "_wrap"):
        arr = np.asarray(value).reshape(-1)  # a Matrix through __array__
        if arr.dtype.kind in "biuf" and (arr.size or not value):
            return arr.astype(np.float64)
    raise TypeError("Expected a list/tuple of numbers")


class ViewIndexer:
    """What `Matrix.view` returns: `m.view[...]` builds a MatrixView."""

    __slots__ = ("_m",)

    def __init__(self, m: Any) -> None:
        self._m = m

    def __getitem__(self, key: Any) -> MatrixView:
        m = self._m
        view: MatrixView
        if isinstance(key, int):
            view = m.row_view(key)
            return view
        if type(key) is tuple and len(key) == 2:
            rk, ck = key
            if isinstance(rk, int) and (isinstance(ck, int)
                                        or type(ck) is slice):
                view = m.row_view(rk, ck)
                return view
            if type(rk) is slice and isinstance(ck, int):
                view = m.column_view(ck, rk)
                return view
        raise TypeError("a view must be a single row or column; use m[...] "
                        "to copy a submatrix")

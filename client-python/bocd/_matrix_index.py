"""Indexing, gather/scatter and views of bocd.Matrix (a mixin of Matrix).

bocpy's rules: an int index gives a row as a 1xN matrix (a float for a
single-column matrix); `m[[rows]]`, `m[[rows], :]` and `m[:, [cols]]`
gather and other list mixtures raise IndexError; every scatter checks all
indices and the value's shape before it writes anything. Row gathers and
scatters with Python lists run in bocd._core (numpy's fancy indexing costs
more to set up than the copy itself at 100x100); the rest is numpy's.
"""
from __future__ import annotations

import operator
from typing import Any, Iterator, Optional, TypeVar, Union

import numpy as np

from ._core import put_rows, take_rows
from ._matrix_args import (EMPTY_INDICES, F64, axis_arg, index_array,
                           is_real, shape_text, take_axis)
from ._matrix_base import MatrixBase, check_out, matrix_arg
from ._matrix_view import MatrixView, ViewIndexer

Number = Union[float, int]
_FANCY_GET = ("fancy indexing supports only m[[rows]], m[[rows], :], or "
              "m[:, [cols]]; use take() for other selections")
_FANCY_SET = ("fancy assignment supports only m[[rows]] = v, m[[rows], :] = "
              "v, or m[:, [cols]] = v; use put() for other selections")
_BAD_KEY = "Key must be a long or a slice"
_BAD_VALUE = "value must be a Matrix or a real number"
_FULL = slice(None)

I = TypeVar("I", bound="MatrixIndexing")


class MatrixIndexing(MatrixBase):
    """`m[...]`, take/put and their along-axis forms, and views."""

    __slots__ = ()

    def take(self: I, indices: Any, axis: int = 0, *,
             out: Optional[I] = None) -> I:
        """The selected rows (axis 0) or columns (axis 1), as a copy."""
        d = self._d
        ax = 0 if type(axis) is int and axis == 0 else take_axis(axis)
        if ax == 0 and out is None and (type(indices) is list
                                        or type(indices) is tuple):
            # Checks each index as bocpy's C does; allocates and wraps.
            return take_rows(type(self), d, indices)  # type: ignore[no-any-return]
        what = "row" if ax == 0 else "column"
        # numpy checks the range while it gathers (and buffers `out`), so
        # only a failure pays for finding the element to blame.
        idx = index_array(indices, d.shape[ax], what, check_range=False)
        try:
            if out is None:
                return self._wrap(d.take(idx, ax))
            shape = (idx.size, d.shape[1]) if ax == 0 else (
                d.shape[0], idx.size)
            if out._d.shape != shape:
                # Bad indices are the first thing to name, as without out.
                index_array(indices, d.shape[ax], what)
            od = check_out(out, shape)
            if np.may_share_memory(od, d):
                raise ValueError(
                    "out must not alias the matrix being taken from")
            d.take(idx, ax, out=od)
            return out
        except IndexError:
            index_array(indices, d.shape[ax], what)
            raise

    def put(self: I, indices: Any, value: Union[I, Number], axis: int = 0,
            accumulate: bool = False) -> I:
        """Write rows or columns in place; checks everything first."""
        d = self._d
        ax = 0 if type(axis) is int and axis == 0 else take_axis(axis)
        if ax == 0 and (type(indices) is list or type(indices) is tuple):
            if type(value) is type(self):
                v: Any = value._d
            elif type(value) is float:
                v = value
            elif isinstance(value, MatrixBase):
                v = value._d
            else:
                if not indices:
                    raise IndexError(EMPTY_INDICES)
                v = _scatter_value(value, (len(indices), d.shape[1]))
            # Checks that there are indices, every index, then the value's
            # shape, before it writes.
            put_rows(d, indices, v, accumulate)
            return self
        what = "row" if ax == 0 else "column"
        idx = index_array(indices, d.shape[ax], what, check_range=False)
        shape = (idx.size, d.shape[1]) if ax == 0 else (d.shape[0], idx.size)
        v = _scatter_value(value, shape)
        key: Any = idx if ax == 0 else (_FULL, idx)
        try:
            # numpy checks every index of a 2-D fancy assignment (and of
            # ufunc.at) before it writes any element.
            if accumulate:
                np.add.at(d, key, v)
            else:
                d[key] = v
        except IndexError:
            index_array(indices, d.shape[ax], what)
            raise
        return self

    def take_along_axis(self: I, indices: Any, axis: int = 0, *,
                        out: Optional[I] = None) -> I:
        """One element per column (axis 0) or per row (axis 1)."""
        d = self._d
        ax = take_axis(axis)
        idx = self._along_indices(indices, ax)
        key = (idx, np.arange(d.shape[1])) if ax == 0 else (
            np.arange(d.shape[0]), idx)
        shape = (1, d.shape[1]) if ax == 0 else (d.shape[0], 1)
        if out is None:
            return self._wrap(d[key].reshape(shape))
        od = check_out(out, shape)
        if od is d:
            raise ValueError(
                "out must not alias the matrix being taken from")
        od[...] = d[key].reshape(shape)
        return out

    def put_along_axis(self: I, indices: Any, value: Union[I, Number],
                       axis: int = 0, accumulate: bool = False) -> I:
        d = self._d
        ax = take_axis(axis)
        idx = self._along_indices(indices, ax, "put_along_axis")
        shape = (1, d.shape[1]) if ax == 0 else (d.shape[0], 1)
        v = _scatter_value(value, shape)
        if type(v) is not float:
            v = v.reshape(-1)
        key = (idx, np.arange(d.shape[1])) if ax == 0 else (
            np.arange(d.shape[0]), idx)
        if accumulate:
            np.add.at(d, key, v)
        else:
            d[key] = v
        return self

    def _along_indices(self: I, indices: Any, ax: int,
                       name: str = "take_along_axis") -> Any:
        d = self._d
        n = d.shape[1 - ax]
        if isinstance(indices, (list, tuple)) and len(indices) != n:
            raise ValueError(
                f"{name} on axis {ax} expects {n} indices (one per "
                f"{'row' if ax == 1 else 'column'}), got {len(indices)}")
        return index_array(indices, d.shape[ax], "row" if ax == 0 else
                           "column")

    def repeat_interleave(self: I, repeats: int,
                          axis: Optional[int] = None) -> I:
        n = operator.index(repeats)
        if n < 1:
            raise ValueError("repeats must be a positive integer")
        d = self._d
        ax = axis_arg(axis)
        if ax is None:
            return self._wrap(np.repeat(d.reshape(-1), n).reshape(1, -1))
        return self._wrap(np.repeat(d, n, axis=ax))

    # ------------------------------------------------------------------
    # indexing

    def __getitem__(self: I, key: Any) -> Any:
        d = self._d
        if type(key) is int:
            row = _row_index(d, key)
            return float(d[row, 0]) if d.shape[1] == 1 else self._wrap(
                d[_keep2(row)].copy())
        if type(key) is tuple:
            if len(key) != 2:
                raise KeyError("Index must be one dimension (row) or two "
                               "dimensions (row, column)")
            rk, ck = key
            if type(rk) is int and type(ck) is int:
                return float(d[_row_index(d, rk), _column_index(d, ck)])
            return self._get_pair(d, rk, ck)
        if type(key) is slice:
            return self._wrap(_nonempty(d[key]).copy())
        if isinstance(key, list):
            return self._wrap(d[index_array(key, d.shape[0], "row")])
        return MatrixIndexing.__getitem__(self, _as_int(key))

    def _get_pair(self: I, d: F64, rk: Any, ck: Any) -> Any:
        if isinstance(rk, list) or isinstance(ck, list):
            if isinstance(rk, list) and ck == _FULL and type(ck) is slice:
                return self._wrap(d[index_array(rk, d.shape[0], "row")])
            if rk == _FULL and type(rk) is slice and isinstance(ck, list):
                return self._wrap(d.take(index_array(ck, d.shape[1], "column"), 1))
            raise IndexError(_FANCY_GET)
        rs, cs = _pair_slices(d, rk, ck)
        if type(rs) is int and type(cs) is int:
            return float(d[rs, cs])
        return self._wrap(_nonempty(d[_keep2(rs), _keep2(cs)]).copy())

    def __setitem__(self: I, key: Any, value: Any) -> None:
        d = self._d
        if type(key) is int or (type(key) is not tuple and not isinstance(
                key, (list, slice))):
            row = _row_index(d, _as_int(key))
            _assign(d[_keep2(row)], value)
            return
        if type(key) is slice:
            _assign(_nonempty(d[key]), value)
            return
        if isinstance(key, list):
            idx = index_array(key, d.shape[0], "row")
            d[idx] = _scatter_value(value, (idx.size, d.shape[1]))
            return
        if len(key) != 2:
            raise KeyError("Index must be one dimension (row) or two "
                           "dimensions (row, column)")
        self._set_pair(d, key[0], key[1], value)

    def _set_pair(self: I, d: F64, rk: Any, ck: Any, value: Any) -> None:
        if isinstance(rk, list) or isinstance(ck, list):
            if isinstance(rk, list) and ck == _FULL and type(ck) is slice:
                idx = index_array(rk, d.shape[0], "row")
                d[idx] = _scatter_value(value, (idx.size, d.shape[1]))
            elif rk == _FULL and type(rk) is slice and isinstance(ck, list):
                idx = index_array(ck, d.shape[1], "column")
                d[:, idx] = _scatter_value(value, (d.shape[0], idx.size))
            else:
                raise IndexError(_FANCY_SET)
            return
        rs, cs = _pair_slices(d, rk, ck)
        _assign(_nonempty(d[_keep2(rs), _keep2(cs)]), value)

    # ------------------------------------------------------------------
    # views

    @property
    def view(self: I) -> ViewIndexer:
        """`m.view[i]`, `m.view[i, cols]`, `m.view[rows, j]`: aliasing views."""
        self._d
        return ViewIndexer(self)

    def row_view(self: I, row: int, columns: Union[None, int, slice] = None, *,
                 read_only: bool = False) -> "MatrixView":
        d = self._d
        r = operator.index(row)
        if not -d.shape[0] <= r < d.shape[0]:
            raise IndexError("row index out of range")
        sel = _view_span(columns, d.shape[1], "column")
        return MatrixView._make(self, d[r:r + 1 or None, sel], True,
                                bool(read_only))

    def column_view(self: I, column: int, rows: Union[None, int, slice] = None,
                    *, read_only: bool = False) -> "MatrixView":
        d = self._d
        c = operator.index(column)
        if not -d.shape[1] <= c < d.shape[1]:
            raise IndexError("column index out of range")
        sel = _view_span(rows, d.shape[0], "row")
        return MatrixView._make(self, d[sel, c:c + 1 or None], False,
                                bool(read_only))

    def row_views(self: I, *, read_only: bool = False) -> Iterator["MatrixView"]:
        for i in range(self._d.shape[0]):
            yield self.row_view(i, read_only=read_only)

    def column_views(self: I, *,
                     read_only: bool = False) -> Iterator["MatrixView"]:
        for j in range(self._d.shape[1]):
            yield self.column_view(j, read_only=read_only)


def _scatter_value(value: Any, shape: tuple[int, int]) -> Any:
    """A fancy-assignment value: a real, a 1x1, or an exact-shape Matrix."""
    if isinstance(value, MatrixBase):
        v = value._d
        if v.shape == (1, 1):
            return float(v[0, 0])
        if v.shape != shape:
            raise ValueError(f"cannot assign {shape_text(v.shape)} matrix to "
                             f"a selection of shape {shape_text(shape)}")
        return v
    if is_real(value):
        return float(value)
    raise TypeError(_BAD_VALUE)


def _assign(target: F64, value: Any) -> None:
    """Slice assignment: a scalar, an equal shape, a row broadcast over the
    selection, or any operand with as many elements (row-major)."""
    if is_real(value):
        target[...] = float(value)
        return
    try:
        v = matrix_arg(value)
    except (TypeError, ValueError):
        raise TypeError("value must be a real number, a Matrix, or a "
                        "list/tuple of numbers") from None
    if v.shape == target.shape or v.size == 1:
        target[...] = v
    elif v.shape[0] == 1 and v.shape[1] == target.shape[1]:
        target[...] = v
    elif v.size == target.size:
        target[...] = v.reshape(target.shape)
    else:
        raise ValueError(f"cannot assign {shape_text(v.shape)} matrix to a "
                         f"selection of shape {shape_text(target.shape)}")


def _as_int(key: Any) -> int:
    if isinstance(key, int):
        return int(key)
    if isinstance(key, (float, str, bytes, list, tuple)) or key is None:
        raise TypeError(_BAD_KEY)
    try:
        return operator.index(key)
    except TypeError:
        raise TypeError(_BAD_KEY) from None


def _row_index(d: F64, i: int) -> int:
    if not -(1 << 63) <= i < (1 << 63):
        raise OverflowError("Python int too large to convert to C ssize_t")
    n = d.shape[0]
    if not -n <= i < n:
        raise IndexError(f"row index {i} out of range for dimension of "
                         f"size {n}")
    return i


def _column_index(d: F64, j: int) -> int:
    n = d.shape[1]
    if not -n <= j < n:
        raise IndexError(f"column index {j} out of range for dimension of "
                         f"size {n}")
    return j


def _pair_slices(d: F64, rk: Any, ck: Any) -> tuple[Any, Any]:
    rs = rk if type(rk) is slice else _row_index(d, _as_int(rk))
    cs = ck if type(ck) is slice else _column_index(d, _as_int(ck))
    return rs, cs


def _keep2(k: Any) -> Any:
    """An int index as a one-long slice, so the selection stays 2-D."""
    return k if type(k) is slice else slice(k, k + 1 or None)


def _nonempty(sel: F64) -> F64:
    if sel.size == 0:
        raise IndexError("the selection is empty")
    return sel


def _view_span(sel: Any, n: int, what: str) -> slice:
    if sel is None:
        return _FULL
    if type(sel) is slice:
        if len(range(*sel.indices(n))) == 0:
            raise IndexError(f"{what} selection is empty")
        return sel
    i = _as_int(sel)
    if not -n <= i < n:
        raise IndexError(f"{what} index out of range")
    return slice(i, i + 1 or None)

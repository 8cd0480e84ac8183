"""Argument checking and formatting shared by Matrix and MatrixView.

Each helper raises the exception type and message bocpy's Matrix raises for
the same mistake, so programs that catch those errors keep working. The
checks run only where numpy would not catch the mistake itself (or would
name it differently); the fast paths let numpy validate.
"""
from __future__ import annotations

import numbers
import operator
import sys
from typing import Any, NoReturn, Optional

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
IntArray = NDArray[np.intp]

AXIS_RANGE = "axis must be -2, -1, 0, or 1"
BAD_TAKE_AXIS = "Invalid axis (must be 0 or 1)"
EXPECTED_NUMBERS = "Expected a list/tuple of numbers"
EMPTY_SEQUENCE = "cannot coerce an empty list/tuple to a matrix"
EMPTY_INDICES = "index sequence must not be empty"
DIMENSION_MISMATCH = "Dimension mismatch between operands"
OUT_AND_IN_PLACE = "out and in_place are mutually exclusive"
_SSIZE_MAX = sys.maxsize


def is_real(value: object) -> bool:
    """True for int, float, bool and other real numbers (numpy scalars)."""
    t = type(value)
    if t is float or t is int or t is bool:
        return True
    return isinstance(value, numbers.Real)


def real(value: object, message: str = "Expected a number") -> float:
    """`value` as a float, or TypeError(message) if it is not a real number."""
    if not is_real(value):
        raise TypeError(message)
    return float(value)  # type: ignore[arg-type]


def dimension(value: object) -> int:
    """A row or column count: any int-like (TypeError otherwise, as `range`)."""
    n = operator.index(value)  # type: ignore[arg-type]
    if n > _SSIZE_MAX or n < -_SSIZE_MAX - 1:
        raise OverflowError("Python int too large to convert to C ssize_t")
    return n


def shape_pair(size: Any, message: str) -> tuple[int, int]:
    """A `(rows, columns)` pair, both at least 1 (AssertionError otherwise)."""
    try:
        rows, columns = size
    except (TypeError, ValueError):
        raise TypeError("size must be a (rows, columns) pair of ints") from None
    r, c = dimension(rows), dimension(columns)
    if r < 1 or c < 1:
        raise AssertionError(message)
    if r * c > _SSIZE_MAX // 8:
        raise OverflowError("Matrix dimensions are too large")
    return r, c


def axis_arg(axis: object) -> Optional[int]:
    """A reduction axis: None, or -2..1 normalised to 0/1."""
    if axis is None:
        return None
    if type(axis) is int:
        if -2 <= axis <= 1:
            return axis & 1
        raise ValueError(AXIS_RANGE)
    if type(axis) is bool:
        raise TypeError("axis must be an int or None, not bool")
    if isinstance(axis, numbers.Integral):
        return axis_arg(int(axis))
    raise TypeError("axis must be an int or None")


def take_axis(axis: object) -> int:
    """The axis of take/put and their along-axis forms: 0 or 1 (or -2/-1)."""
    a = operator.index(axis)  # type: ignore[arg-type]
    if -2 <= a <= 1:
        return a & 1
    raise KeyError(BAD_TAKE_AXIS)


def row_array(values: Any) -> F64:
    """A list/tuple of numbers as a 1xN float64 array."""
    if len(values) == 0:
        raise ValueError(EMPTY_SEQUENCE)
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        raise TypeError(EXPECTED_NUMBERS) from None
    if arr.ndim != 1 or arr.dtype.kind not in "biuf":
        raise TypeError(EXPECTED_NUMBERS)
    return arr.astype(np.float64).reshape(1, -1)


def flat_values(values: Any, count: int) -> Optional[F64]:
    """`values` (a flat sequence of `count` numbers) as float64, else None."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.ndim != 1 or arr.size != count or arr.dtype.kind not in "biuf":
        return None
    return arr.astype(np.float64)


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def index_array(indices: Any, n: int, what: str,
                check_range: bool = True) -> IntArray:
    """Validated row/column indices (negative ones count from the end).

    The fast path lets numpy convert the list; anything it rejects, or a
    value out of range, is diagnosed in order by `_first_bad_index`, so the
    error names the first offending element as bocpy does. Callers that
    let numpy check the range pass `check_range=False`.
    """
    if type(indices) is not list and type(indices) is not tuple:
        if not isinstance(indices, (list, tuple)):
            raise TypeError(
                "Indices must be specified as a list or a tuple of ints")
    if not indices:
        raise IndexError(EMPTY_INDICES)
    try:
        idx = np.asarray(indices)
    except (ValueError, TypeError, OverflowError):
        _first_bad_index(indices, n, what)
    kind = idx.dtype.kind
    if idx.ndim != 1 or kind not in "iub":
        _first_bad_index(indices, n, what)
    if kind != "i":
        if kind == "u" and idx.max() > _SSIZE_MAX:
            _first_bad_index(indices, n, what)
        idx = idx.astype(np.intp)
    if check_range and (idx.min() < -n or idx.max() >= n):
        _first_bad_index(indices, n, what)
    return idx


def _first_bad_index(indices: Any, n: int, what: str) -> NoReturn:
    for item in indices:
        if not isinstance(item, int):
            try:
                item = operator.index(item)
            except TypeError:
                raise TypeError("an integer is required") from None
        if item > _SSIZE_MAX or item < -_SSIZE_MAX - 1:
            raise OverflowError(
                "Python int too large to convert to C ssize_t")
        if not -n <= item < n:
            raise IndexError(f"{what} index {int(item)} out of range for "
                             f"dimension of size {n}")
    raise TypeError("an integer is required")


def format_values(d: F64) -> list[str]:
    """Each element as C's `%g` prints it (bocpy's repr and str)."""
    return ["%g" % x for x in d.ravel().tolist()]


def matrix_repr(d: F64) -> str:
    r, c = d.shape
    return f"Matrix({r}, {c}, [{', '.join(format_values(d))}])"


def matrix_str(d: F64) -> str:
    """numpy-like layout: every cell right-aligned to the widest one."""
    cells = format_values(d)
    width = max(len(s) for s in cells)
    c = d.shape[1]
    rows = [" ".join(s.rjust(width) for s in cells[i:i + c])
            for i in range(0, len(cells), c)]
    return "[[" + "]\n [".join(rows) + "]]"

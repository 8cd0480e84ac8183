"""bocd.Matrix: bocpy's dense 2-D float64 matrix, stored in a numpy array.

A Matrix holds one attribute that matters, `_d`: a 2-D, C-contiguous
float64 ndarray. Every method reads it through `self._d`; when the matrix
is moved to another process its owner deletes `_d`, and `__getattr__`
(only reached for a missing attribute, so the fast path pays nothing)
turns the next use into bocpy's "does not own" RuntimeError.

In-place operations write into the existing buffer and never replace it,
because the buffer may live in shared memory that other handles map.

Differences from numpy follow bocpy: comparison operators are
lexicographic and return one bool, `==` is total, an int index gives a row
as a Matrix, broadcasting is numpy's for 2-D operands (which is exactly
bocpy's list: same shape, scalar, 1x1, 1xN row, Mx1 column), and the NaN
rules of argmin/argmax/min/max/topk are in _matrix_ops.
"""
from __future__ import annotations

import operator
import warnings
from typing import Any, Iterator, Optional, Union

import numpy as np

from . import _matrix_ops as ops
from ._matrix_args import (DIMENSION_MISMATCH, EXPECTED_NUMBERS, F64,
                           OUT_AND_IN_PLACE, axis_arg, check_out, dimension,
                           flat_values, index_array, is_real, mask_arg,
                           matrix_repr, matrix_str, real, row_array,
                           shape_pair, shape_text, take_axis)
from ._matrix_fma import fma_arrays

Operand = Union["Matrix", "MatrixView", float, int, "list[float]",
                "tuple[float, ...]"]
Number = Union[float, int]

_NOT_OWNED = "The current interpreter does not own this matrix"
_FANCY_GET = ("fancy indexing supports only m[[rows]], m[[rows], :], or "
              "m[:, [cols]]; use take() for other selections")
_FANCY_SET = ("fancy assignment supports only m[[rows]] = v, m[[rows], :] = "
              "v, or m[:, [cols]] = v; use put() for other selections")
_BAD_KEY = "Key must be a long or a slice"
_BAD_VALUE = "value must be a Matrix or a real number"
_ORDERING = ("ordering comparison requires a matrix, list, or tuple operand "
             "of the same shape (or a scalar operand)")
_FULL = slice(None)
_new = object.__new__
_add: Any = np.add  # numpy's stubs cannot type reduce's keepdims=<bool>

# bocpy's matrix divides by zero, takes square roots of negatives and
# overflows silently (inf/NaN results). numpy would warn; the filter is
# scoped to the modules of this type, so user code keeps numpy's warnings.
warnings.filterwarnings("ignore", category=RuntimeWarning,
                        module=r"bocd\._matrix")
_rng = np.random.default_rng()


def _wrap(arr: F64) -> "Matrix":
    m: Matrix = _new(Matrix)
    m._d = arr
    return m


def _operand(other: object) -> Any:
    """An arithmetic operand as a float or a 2-D float64 array."""
    t = type(other)
    if t is Matrix:
        return other._d  # type: ignore[attr-defined]
    if t is float or t is int:
        return other
    if isinstance(other, Matrix):
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


def _matrix_arg(other: object) -> F64:
    """An operand that must be a matrix (a list/tuple counts as a row)."""
    o = _operand(other)
    if type(o) is float or type(o) is int:
        raise TypeError(EXPECTED_NUMBERS)
    return o  # type: ignore[no-any-return]


def _fma_arg(value: object, shape: tuple[int, int], what: str,
             op: str) -> Any:
    """A scalar or a Matrix broadcasting against `shape` (fma/scaled_add)."""
    if isinstance(value, Matrix):
        v = value._d
        try:
            if np.broadcast_shapes(v.shape, shape) == shape:
                return v
        except ValueError:
            pass
        raise ValueError(f"{op}: {what} shape {shape_text(v.shape)} "
                         f"incompatible with self {shape_text(shape)}")
    if is_real(value) and type(value) is not complex:
        return float(value)  # type: ignore[arg-type]
    raise TypeError(f"{op}: {what} must be a Matrix or a real number")


def _arith(ufunc: Any, a: Any, b: Any) -> "Matrix":
    """`ufunc(a, b)` as a new Matrix; both operands from `_operand`."""
    try:
        if type(a) is np.ndarray and type(b) is np.ndarray and (
                ops.is_narrow_broadcast(a.shape, b.shape)
                or ops.is_narrow_broadcast(b.shape, a.shape)):
            return _wrap(ops.narrow_binary(ufunc, a, b))
        return _wrap(ufunc(a, b))
    except ValueError:
        raise ValueError(DIMENSION_MISMATCH) from None
    except RuntimeWarning:
        # The program turned warnings into errors; bocpy never warns.
        with np.errstate(all="ignore"):
            return _arith(ufunc, a, b)


def _binary(ufunc: Any, a: Any, b: Any, out: Optional["Matrix"]) -> "Matrix":
    """The named forms (add, ...): like `_arith`, optionally into `out`."""
    if out is None:
        return _arith(ufunc, a, b)
    try:
        shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ValueError(DIMENSION_MISMATCH) from None
    try:
        ufunc(a, b, out=check_out(out, shape))
    except RuntimeWarning:
        pass  # raised after the whole result was written (see _arith)
    return out


class Matrix:
    """A dense, row-major 2-D matrix of float64 (bocpy's Matrix API).

    Construct with `Matrix(rows, columns, values=None)`, where values is
    None (zeros), a number (every element) or a flat row-major sequence
    of rows*columns numbers; or with `zeros`, `ones`, `full`, `vector`,
    `concat`, `normal`, `uniform`. numpy reads a Matrix without a copy
    (`numpy.asarray(m)`). See docs/python.md for the full contract.
    """

    __slots__ = ("_d", "__dict__", "__weakref__")
    __hash__ = None  # type: ignore[assignment]
    # numpy scalars and arrays on the left defer to our reflected operators.
    __array_priority__ = 1000.0
    _d: F64

    def __init__(self, rows: int, columns: int,
                 values: Union[None, Number, Any] = None) -> None:
        r, c = dimension(rows), dimension(columns)
        if r < 1 or c < 1:
            raise AssertionError("Rows and columns must both be > 0")
        if r * c > 2 ** 60:
            raise OverflowError("Matrix dimensions are too large")
        if values is None:
            self._d = np.zeros((r, c))
        elif is_real(values):
            self._d = np.full((r, c), float(values))
        else:
            flat = None if isinstance(values, (str, bytes)) else (
                flat_values(values, r * c))
            if flat is None:
                raise TypeError("Values must be either a number or a "
                                "list/tuple of MxN numbers")
            self._d = flat.reshape(r, c)

    @classmethod
    def _wrap(cls, arr: F64) -> "Matrix":
        """A Matrix around `arr` (2-D, C-contiguous float64), not copied."""
        m: Matrix = _new(cls)
        m._d = arr
        return m

    def __getattr__(self, name: str) -> Any:
        if name == "_d":
            raise RuntimeError(_NOT_OWNED)
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}'")

    # ------------------------------------------------------------------
    # numpy interoperability

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> Any:
        d = self._d
        if dtype is not None and np.dtype(dtype) != d.dtype:
            if copy is False:
                raise ValueError("converting a Matrix to another dtype "
                                 "needs a copy")
            return d.astype(dtype)
        return d.copy() if copy else d

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self._d)  # type: ignore[arg-type]

    # ------------------------------------------------------------------
    # shape and properties

    @property
    def rows(self) -> int:
        return int(self._d.shape[0])

    @property
    def columns(self) -> int:
        return int(self._d.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        r, c = self._d.shape
        return int(r), int(c)

    @property
    def size(self) -> int:
        return int(self._d.size)

    @property
    def T(self) -> "Matrix":
        """A transposed copy."""
        return _wrap(np.ascontiguousarray(self._d.T))

    @property
    def length(self) -> float:
        """Frobenius norm (not the element count: see `size`)."""
        f = self._d.reshape(-1)
        return float(np.sqrt(np.dot(f, f)))

    @property
    def acquired(self) -> bool:
        """Whether this process owns the matrix (it was not moved away)."""
        try:
            self._d
        except RuntimeError:
            return False
        return True

    def _flat_get(self, i: int) -> float:
        f = self._d.reshape(-1)
        if i >= f.size:
            raise IndexError(f"matrix has no element {i}")
        return float(f[i])

    def _flat_set(self, i: int, value: object) -> None:
        f = self._d.reshape(-1)
        v = real(value, "expected a real number")
        if i >= f.size:
            raise IndexError(f"matrix has no element {i}")
        f[i] = v

    x = property(lambda self: self._flat_get(0),
                 lambda self, v: self._flat_set(0, v),
                 doc="Flat element 0 (read-write).")
    y = property(lambda self: self._flat_get(1),
                 lambda self, v: self._flat_set(1, v),
                 doc="Flat element 1 (read-write).")
    z = property(lambda self: self._flat_get(2),
                 lambda self, v: self._flat_set(2, v),
                 doc="Flat element 2 (read-write).")
    w = property(lambda self: self._flat_get(3),
                 lambda self, v: self._flat_set(3, v),
                 doc="Flat element 3 (read-write).")

    def __len__(self) -> int:
        return int(self._d.shape[0])

    def __iter__(self) -> Iterator[Any]:
        """Rows: 1xN Matrix copies, or floats for a single-column matrix."""
        d = self._d
        if d.shape[1] == 1:
            return iter(d[:, 0].tolist())
        return (_wrap(d[i:i + 1].copy()) for i in range(d.shape[0]))

    def values(self) -> Iterator[float]:
        """Every element as a float in row-major order, lazily by rows."""
        for i in range(self._d.shape[0]):
            yield from self._d[i].tolist()

    def copy(self) -> "Matrix":
        return _wrap(self._d.copy())

    def __repr__(self) -> str:
        return matrix_repr(self._d)

    def __str__(self) -> str:
        return matrix_str(self._d)

    # ------------------------------------------------------------------
    # construction

    @classmethod
    def zeros(cls, size: tuple[int, int]) -> "Matrix":
        return cls._wrap(np.zeros(shape_pair(
            size, "rows and columns must both be >= 1")))

    @classmethod
    def ones(cls, size: tuple[int, int]) -> "Matrix":
        return cls._wrap(np.ones(shape_pair(
            size, "rows and columns must both be >= 1")))

    @classmethod
    def full(cls, size: tuple[int, int], value: float) -> "Matrix":
        shape = shape_pair(size, "rows and columns must both be >= 1")
        v = real(value, f"must be real number, not {type(value).__name__}")
        return cls._wrap(np.full(shape, v))

    @classmethod
    def vector(cls, values: Any, as_column: bool = False) -> "Matrix":
        """A 1xN row (or Nx1 column) from a flat sequence of numbers."""
        if isinstance(values, (str, bytes, Matrix)) or not hasattr(
                values, "__len__"):
            raise TypeError(EXPECTED_NUMBERS)
        row = row_array(values)
        return cls._wrap(row.reshape(-1, 1) if as_column else row)

    @classmethod
    def concat(cls, values: Any, axis: int = 0) -> Optional["Matrix"]:
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
    def normal(cls, mean: Optional[float] = None,
               stddev: Optional[float] = None,
               size: Optional[tuple[int, int]] = None
               ) -> Union[float, "Matrix"]:
        """Normal samples: a float when size is None, else a Matrix."""
        mu = 0.0 if mean is None else real(mean, "must be real number")
        sigma = 1.0 if stddev is None else real(stddev, "must be real number")
        if size is None:
            return mu + sigma * float(_rng.standard_normal())
        shape = shape_pair(size, "rows and columns must both be >= 1")
        return cls._wrap(mu + sigma * _rng.standard_normal(shape))

    @classmethod
    def uniform(cls, minval: Optional[float] = None,
                maxval: Optional[float] = None,
                size: Optional[tuple[int, int]] = None
                ) -> Union[float, "Matrix"]:
        """Uniform samples over [minval, maxval)."""
        lo = 0.0 if minval is None else real(minval, "must be real number")
        hi = 1.0 if maxval is None else real(maxval, "must be real number")
        if size is None:
            return lo + (hi - lo) * float(_rng.random())
        shape = shape_pair(size, "rows and columns must both be >= 1")
        return cls._wrap(lo + (hi - lo) * _rng.random(shape))

    @classmethod
    def seed(cls, value: int) -> None:
        """Seed this process's generator for `normal` and `uniform`."""
        global _rng
        if not isinstance(value, int):
            raise TypeError(
                f"argument 1 must be int, not {type(value).__name__}")
        _rng = np.random.default_rng(value & (2 ** 128 - 1))

    @classmethod
    def from_view(cls, view: "MatrixView") -> "Matrix":
        if not isinstance(view, MatrixView):
            raise TypeError("from_view expects a MatrixView, not "
                            f"{type(view).__name__}")
        return cls._wrap(view._array().copy())

    @classmethod
    def where(cls, mask: "Matrix", a: Any, b: Any, *,
              out: Optional["Matrix"] = None) -> "Matrix":
        """Element-wise `a` where `mask` is non-zero (or NaN), else `b`."""
        if not isinstance(mask, Matrix):
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
    def allclose(cls, lhs: "Matrix", rhs: "Matrix", rtol: float = 1e-05,
                 atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """|lhs - rhs| <= atol + rtol*|rhs| everywhere (False on shapes)."""
        for i, arg in enumerate((lhs, rhs), 1):
            if not isinstance(arg, Matrix):
                raise TypeError(f"argument {i} must be Matrix, not "
                                f"{type(arg).__name__}")
        if lhs._d.shape != rhs._d.shape:
            return False
        return bool(np.allclose(lhs._d, rhs._d, rtol=rtol, atol=atol,
                                equal_nan=bool(equal_nan)))

    # ------------------------------------------------------------------
    # arithmetic operators: same-shape operands take an inline fast path,
    # everything else (scalars, broadcasting, errors) goes through _arith.

    def __add__(self, other: Operand) -> "Matrix":
        d = self._d
        o = other._d if type(other) is Matrix else _operand(other)
        if type(o) is np.ndarray and o.shape == d.shape:
            try:
                m: Matrix = _new(Matrix)
                m._d = d + o
                return m
            except RuntimeWarning:
                pass
        return _arith(np.add, d, o)

    def __radd__(self, other: Operand) -> "Matrix":
        d = self._d
        o = other._d if type(other) is Matrix else _operand(other)
        if type(o) is np.ndarray and o.shape == d.shape:
            try:
                m: Matrix = _new(Matrix)
                m._d = o + d
                return m
            except RuntimeWarning:
                pass
        return _arith(np.add, o, d)

    def __sub__(self, other: Operand) -> "Matrix":
        d = self._d
        o = other._d if type(other) is Matrix else _operand(other)
        if type(o) is np.ndarray and o.shape == d.shape:
            try:
                m: Matrix = _new(Matrix)
                m._d = d - o
                return m
            except RuntimeWarning:
                pass
        return _arith(np.subtract, d, o)

    def __rsub__(self, other: Operand) -> "Matrix":
        d = self._d
        o = other._d if type(other) is Matrix else _operand(other)
        if type(o) is np.ndarray and o.shape == d.shape:
            try:
                m: Matrix = _new(Matrix)
                m._d = o - d
                return m
            except RuntimeWarning:
                pass
        return _arith(np.subtract, o, d)

    def __mul__(self, other: Operand) -> "Matrix":
        d = self._d
        o = other._d if type(other) is Matrix else _operand(other)
        if type(o) is np.ndarray and o.shape == d.shape:
            try:
                m: Matrix = _new(Matrix)
                m._d = d * o
                return m
            except RuntimeWarning:
                pass
        return _arith(np.multiply, d, o)

    def __rmul__(self, other: Operand) -> "Matrix":
        d = self._d
        o = other._d if type(other) is Matrix else _operand(other)
        if type(o) is np.ndarray and o.shape == d.shape:
            try:
                m: Matrix = _new(Matrix)
                m._d = o * d
                return m
            except RuntimeWarning:
                pass
        return _arith(np.multiply, o, d)

    def __truediv__(self, other: Operand) -> "Matrix":
        d = self._d
        o = other._d if type(other) is Matrix else _operand(other)
        if type(o) is np.ndarray and o.shape == d.shape:
            try:
                m: Matrix = _new(Matrix)
                m._d = d / o
                return m
            except RuntimeWarning:
                pass
        return _arith(np.true_divide, d, o)

    def __rtruediv__(self, other: Operand) -> "Matrix":
        d = self._d
        o = other._d if type(other) is Matrix else _operand(other)
        if type(o) is np.ndarray and o.shape == d.shape:
            try:
                m: Matrix = _new(Matrix)
                m._d = o / d
                return m
            except RuntimeWarning:
                pass
        return _arith(np.true_divide, o, d)

    def __matmul__(self, other: Operand) -> "Matrix":
        try:
            return _wrap(np.matmul(self._d, _matrix_arg(other)))
        except ValueError:
            raise ValueError("M0xN0 @ M1xN1  N0 != M1") from None

    def __rmatmul__(self, other: Operand) -> "Matrix":
        try:
            return _wrap(np.matmul(_matrix_arg(other), self._d))
        except ValueError:
            raise ValueError("M0xN0 @ M1xN1  N0 != M1") from None

    def _inplace(self, ufunc: Any, other: Operand) -> "Matrix":
        """In the buffer when the result keeps this shape; else a new one."""
        d = self._d
        o = _operand(other)
        try:
            if type(o) is np.ndarray and ops.is_narrow_broadcast(d.shape,
                                                                 o.shape):
                ops.narrow_binary(ufunc, d, o, out=d)
            else:
                ufunc(d, o, out=d)
            return self
        except RuntimeWarning:
            return self  # raised after the whole result was written
        except ValueError:
            pass
        try:
            return _wrap(ufunc(d, o))
        except ValueError:
            raise ValueError(DIMENSION_MISMATCH) from None

    def __iadd__(self, other: Operand) -> "Matrix":
        return self._inplace(np.add, other)

    def __isub__(self, other: Operand) -> "Matrix":
        return self._inplace(np.subtract, other)

    def __imul__(self, other: Operand) -> "Matrix":
        return self._inplace(np.multiply, other)

    def __itruediv__(self, other: Operand) -> "Matrix":
        return self._inplace(np.true_divide, other)

    def __neg__(self) -> "Matrix":
        return _wrap(np.negative(self._d))

    def __abs__(self) -> "Matrix":
        return _wrap(np.absolute(self._d))

    def add(self, other: Operand, /, *,
            out: Optional["Matrix"] = None) -> "Matrix":
        return _binary(np.add, self._d, _operand(other), out)

    def subtract(self, other: Operand, /, *,
                 out: Optional["Matrix"] = None) -> "Matrix":
        return _binary(np.subtract, self._d, _operand(other), out)

    def multiply(self, other: Operand, /, *,
                 out: Optional["Matrix"] = None) -> "Matrix":
        return _binary(np.multiply, self._d, _operand(other), out)

    def divide(self, other: Operand, /, *,
               out: Optional["Matrix"] = None) -> "Matrix":
        return _binary(np.true_divide, self._d, _operand(other), out)

    def fma(self, b: Union["Matrix", Number], c: Union["Matrix", Number],
            /, in_place: bool = False) -> "Matrix":
        """`self*b + c` rounded once (see _matrix_fma for how)."""
        d = self._d
        bb = _fma_arg(b, d.shape, "b", "fma")
        cc = _fma_arg(c, d.shape, "c", "fma")
        a, bb, cc = np.broadcast_arrays(d, bb, cc)
        if in_place:
            fma_arrays(a, bb, cc, d)
            return self
        return _wrap(fma_arrays(a, bb, cc, np.empty(d.shape)))

    def scaled_add(self, s: Union["Matrix", Number], x: "Matrix",
                   /, in_place: bool = False) -> "Matrix":
        """`self + s*x`, rounded twice (identical to that expression)."""
        d = self._d
        xd = _matrix_arg(x)
        if xd.shape != d.shape:
            raise ValueError(f"scaled_add: x shape {shape_text(xd.shape)} "
                             f"does not match self {shape_text(d.shape)}")
        ss = _fma_arg(s, d.shape, "s", "scaled_add")
        product = np.multiply(xd, ss)
        if in_place:
            np.add(d, product, out=d)
            return self
        return _wrap(np.add(d, product, out=product))

    # ------------------------------------------------------------------
    # comparisons: lexicographic operators, element-wise mask methods

    def _lexicographic(self, other: object) -> Optional[int]:
        """Sign of the first deciding element pair, 0 if none decides.

        NaN never decides. None when `other` is not comparable at all.
        """
        d = self._d
        if is_real(other) and not isinstance(other, Matrix):
            o: Any = float(other)  # type: ignore[arg-type]
        elif isinstance(other, Matrix):
            o = other._d
        elif isinstance(other, (list, tuple)):
            o = row_array(other)
        else:
            return None
        if type(o) is not float and o.shape != d.shape:
            raise ValueError(_ORDERING)
        lt = d < o
        decides = lt | (d > o)
        first = int(np.argmax(decides))
        if not decides.flat[first]:
            return 0
        return -1 if lt.flat[first] else 1

    def __lt__(self, other: object) -> bool:
        s = self._lexicographic(other)
        return NotImplemented if s is None else s < 0

    def __le__(self, other: object) -> bool:
        s = self._lexicographic(other)
        return NotImplemented if s is None else s <= 0

    def __gt__(self, other: object) -> bool:
        s = self._lexicographic(other)
        return NotImplemented if s is None else s > 0

    def __ge__(self, other: object) -> bool:
        s = self._lexicographic(other)
        return NotImplemented if s is None else s >= 0

    def __eq__(self, other: object) -> bool:
        """Total: a shape mismatch or an unusable operand is just False."""
        try:
            s = self._lexicographic(other)
        except (ValueError, TypeError):
            return False
        return s == 0

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def _mask(self, ufunc: Any, other: Operand,
              out: Optional["Matrix"]) -> "Matrix":
        d = self._d
        o = _operand(other)
        try:
            shape = np.broadcast_shapes(d.shape, np.shape(o))
        except ValueError:
            raise ValueError(DIMENSION_MISMATCH) from None
        od = np.empty(shape) if out is None else check_out(out, shape)
        ufunc(d, o, out=od, casting="unsafe")
        return _wrap(od) if out is None else out

    def less(self, other: Operand, *,
             out: Optional["Matrix"] = None) -> "Matrix":
        return self._mask(np.less, other, out)

    def less_equal(self, other: Operand, *,
                   out: Optional["Matrix"] = None) -> "Matrix":
        return self._mask(np.less_equal, other, out)

    def greater(self, other: Operand, *,
                out: Optional["Matrix"] = None) -> "Matrix":
        return self._mask(np.greater, other, out)

    def greater_equal(self, other: Operand, *,
                      out: Optional["Matrix"] = None) -> "Matrix":
        return self._mask(np.greater_equal, other, out)

    def equal(self, other: Operand, *,
              out: Optional["Matrix"] = None) -> "Matrix":
        return self._mask(np.equal, other, out)

    def not_equal(self, other: Operand, *,
                  out: Optional["Matrix"] = None) -> "Matrix":
        return self._mask(np.not_equal, other, out)

    # ------------------------------------------------------------------
    # unary element-wise functions: in_place= or out=

    def _target(self, in_place: bool, out: Optional["Matrix"]) -> F64:
        d = self._d
        if out is not None:
            if in_place:
                raise ValueError(OUT_AND_IN_PLACE)
            return check_out(out, d.shape)
        return d if in_place else np.empty(d.shape)

    def _unary(self, ufunc: Any, in_place: bool,
               out: Optional["Matrix"]) -> "Matrix":
        t = self._target(in_place, out)
        try:
            ufunc(self._d, out=t)
        except RuntimeWarning:
            pass  # raised after the whole result was written (see _arith)
        return out if out is not None else (self if in_place else _wrap(t))

    def ceil(self, *, in_place: bool = False,
             out: Optional["Matrix"] = None) -> "Matrix":
        return self._unary(np.ceil, in_place, out)

    def floor(self, *, in_place: bool = False,
              out: Optional["Matrix"] = None) -> "Matrix":
        return self._unary(np.floor, in_place, out)

    def round(self, *, in_place: bool = False,
              out: Optional["Matrix"] = None) -> "Matrix":
        """Round half to even."""
        return self._unary(np.rint, in_place, out)

    def negate(self, *, in_place: bool = False,
               out: Optional["Matrix"] = None) -> "Matrix":
        return self._unary(np.negative, in_place, out)

    def abs(self, *, in_place: bool = False,
            out: Optional["Matrix"] = None) -> "Matrix":
        return self._unary(np.absolute, in_place, out)

    def sqrt(self, *, in_place: bool = False,
             out: Optional["Matrix"] = None) -> "Matrix":
        """NaN for negative elements, without a warning."""
        return self._unary(np.sqrt, in_place, out)

    def reciprocal(self, *, in_place: bool = False,
                   out: Optional["Matrix"] = None) -> "Matrix":
        return self._unary(_reciprocal, in_place, out)

    def sign(self, *, in_place: bool = False,
             out: Optional["Matrix"] = None) -> "Matrix":
        """-1, 0 or 1; NaN and -0.0 give 0."""
        return self._unary(_sign, in_place, out)

    def cos(self, *, in_place: bool = False,
            out: Optional["Matrix"] = None) -> "Matrix":
        return self._unary(np.cos, in_place, out)

    def sin(self, *, in_place: bool = False,
            out: Optional["Matrix"] = None) -> "Matrix":
        return self._unary(np.sin, in_place, out)

    def clip(self, min: Optional[float] = None, max: Optional[float] = None,
             *, in_place: bool = False,
             out: Optional["Matrix"] = None) -> "Matrix":
        if min is None and max is None:
            raise ValueError("clip: must provide min and/or max")
        lo = None if min is None else real(min)
        hi = None if max is None else real(max)
        if lo is not None and hi is not None and hi < lo:
            raise AssertionError("maxval < minval")
        t = self._target(in_place, out)
        np.clip(self._d, lo, hi, out=t)
        return out if out is not None else (self if in_place else _wrap(t))

    def digitize(self, edges: Any, *, right: bool = False,
                 in_place: bool = False,
                 out: Optional["Matrix"] = None) -> "Matrix":
        """Index of the edge interval of each element (NaN gives -1)."""
        e = _matrix_arg(edges)
        if 1 not in e.shape:
            raise ValueError("edges must be a vector")
        t = self._target(in_place, out)
        t[...] = ops.digitize(self._d, e.reshape(-1), bool(right))
        return out if out is not None else (self if in_place else _wrap(t))

    def bin(self, bins: int, *, bounds: Optional[tuple[float, float]] = None,
            right: bool = False, in_place: bool = False,
            out: Optional["Matrix"] = None) -> "Matrix":
        """Index of the equal-width bin of each element (NaN gives -1)."""
        n = operator.index(bins)
        if n < 1:
            raise ValueError("bins must be >= 1")
        lo, hi = _bin_bounds(self._d, bounds)
        t = self._target(in_place, out)
        t[...] = ops.equal_width_bins(self._d, n, lo, hi, bool(right))
        return out if out is not None else (self if in_place else _wrap(t))

    def transpose(self, in_place: bool = False) -> "Matrix":
        """Transposed copy; in place, the same buffer is reordered."""
        d = self._d
        if not in_place:
            return _wrap(np.ascontiguousarray(d.T))
        flat = d.reshape(-1)
        flat[...] = d.T.reshape(-1)  # d.T is not contiguous: reshape copies
        self._d = flat.reshape(d.shape[1], d.shape[0])
        return self

    def normalize(self, axis: Optional[int] = None,
                  in_place: bool = False) -> "Matrix":
        """Divide by the magnitude; zero-magnitude groups stay unchanged."""
        d = self._d
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
        return self if in_place else _wrap(res)

    def perpendicular(self, axis: Optional[int] = None,
                      in_place: bool = False) -> "Matrix":
        d = self._d
        t = d if in_place else np.empty(d.shape)
        ops.perpendicular(d, axis, t)
        return self if in_place else _wrap(t)

    def angle(self, axis: Optional[int] = None) -> Union[float, "Matrix"]:
        r = ops.angle(self._d, _vector_axis(axis))
        return r if type(r) is float else _wrap(r)  # type: ignore[arg-type]

    def cross(self, other: "Matrix",
              axis: Optional[int] = None) -> Union[float, "Matrix"]:
        r = ops.cross(self._d, _matrix_arg(other), _vector_axis(axis))
        return r if type(r) is float else _wrap(r)  # type: ignore[arg-type]

    # ------------------------------------------------------------------
    # reductions

    def sum(self, axis: Optional[int] = None,
            where: Optional["Matrix"] = None) -> Union[float, "Matrix"]:
        d = self._d
        ax = axis_arg(axis)
        mask = None if where is None else mask_arg(where, d.shape)
        if mask is None:
            if ax is None:
                return float(_add.reduce(d, axis=None))
            return _wrap(ops.axis_sum(d, ax))
        if ax is None:
            return float(_add.reduce(d, axis=None, where=mask))
        return _wrap(_add.reduce(d, axis=ax, keepdims=True, where=mask))

    def mean(self, axis: Optional[int] = None,
             where: Optional["Matrix"] = None) -> Union[float, "Matrix"]:
        """Mean of the included elements; NaN for an empty group."""
        d = self._d
        ax = axis_arg(axis)
        if where is None:
            total = (_add.reduce(d, axis=None) if ax is None
                     else ops.axis_sum(d, ax))
            count: Any = d.size if ax is None else d.shape[ax]
        else:
            mask = mask_arg(where, d.shape)
            total = _add.reduce(d, axis=ax, keepdims=ax is not None,
                                  where=mask)
            count = np.count_nonzero(mask, axis=ax, keepdims=ax is not None)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.true_divide(total, count)
        return float(r) if ax is None else _wrap(r)

    def _magnitude_squared(self, ax: Optional[int],
                           mask: Any = None) -> Any:
        d = self._d
        if mask is not None:
            return _add.reduce(d * d, axis=ax, keepdims=ax is not None,
                                 where=mask)
        if ax is None:
            f = d.reshape(-1)
            return float(np.dot(f, f))
        return ops.axis_sum_squares(d, ax)

    def magnitude_squared(self, axis: Optional[int] = None,
                          where: Optional["Matrix"] = None
                          ) -> Union[float, "Matrix"]:
        d = self._d
        ax = axis_arg(axis)
        mask = None if where is None else mask_arg(where, d.shape)
        r = self._magnitude_squared(ax, mask)
        return float(r) if ax is None else _wrap(r)

    def magnitude(self, axis: Optional[int] = None,
                  where: Optional["Matrix"] = None) -> Union[float, "Matrix"]:
        d = self._d
        ax = axis_arg(axis)
        mask = None if where is None else mask_arg(where, d.shape)
        r = self._magnitude_squared(ax, mask)
        return float(np.sqrt(r)) if ax is None else _wrap(np.sqrt(r, out=r))

    def vecdot(self, other: "Matrix",
               axis: Optional[int] = None) -> Union[float, "Matrix"]:
        """Sum of element-wise products (not a matrix product)."""
        d = self._d
        o = _matrix_arg(other)
        ax = axis_arg(axis)
        if o.shape != d.shape:
            if o.size == d.size and 1 in d.shape and 1 in o.shape:
                o = o.reshape(d.shape)
            elif not ((o.shape[0] == 1 and o.shape[1] == d.shape[1]) or
                      (o.shape[1] == 1 and o.shape[0] == d.shape[0])):
                raise ValueError(f"vecdot: lhs {shape_text(d.shape)} "
                                 f"incompatible with rhs {shape_text(o.shape)}")
        if ax is None:
            if o.shape == d.shape:
                return float(np.dot(d.reshape(-1), o.reshape(-1)))
            return float(_add.reduce(d * o, axis=None))
        return _wrap(_add.reduce(d * o, axis=ax, keepdims=True))

    def min(self, axis: Optional[int] = None,
            where: Optional["Matrix"] = None) -> Union[float, "Matrix"]:
        return self._extreme(axis, where, False)

    def max(self, axis: Optional[int] = None,
            where: Optional["Matrix"] = None) -> Union[float, "Matrix"]:
        return self._extreme(axis, where, True)

    def _extreme(self, axis: Optional[int], where: Optional["Matrix"],
                 largest: bool) -> Union[float, "Matrix"]:
        d = self._d
        ax = axis_arg(axis)
        mask = None if where is None else mask_arg(where, d.shape)
        r = ops.extreme(d, ax, mask, largest)
        return r if type(r) is float else _wrap(r)  # type: ignore[arg-type]

    def argmin(self, axis: Optional[int] = None,
               where: Optional["Matrix"] = None,
               as_matrix: bool = False) -> Any:
        return self._arg(axis, where, as_matrix, False)

    def argmax(self, axis: Optional[int] = None,
               where: Optional["Matrix"] = None,
               as_matrix: bool = False) -> Any:
        return self._arg(axis, where, as_matrix, True)

    def _arg(self, axis: Optional[int], where: Optional["Matrix"],
             as_matrix: bool, largest: bool) -> Any:
        d = self._d
        ax = axis_arg(axis)
        mask = None if where is None else mask_arg(where, d.shape)
        pick = ops.arg_extreme(d, ax, mask, largest)
        if ax is None:
            return int(pick)
        if as_matrix:
            return _wrap(pick.astype(np.float64))
        return pick.reshape(-1).tolist()

    def topk(self, k: int, axis: Optional[int] = None, largest: bool = True,
             where: Optional["Matrix"] = None, as_matrix: bool = False
             ) -> tuple["Matrix", Any]:
        """The k extreme elements per group, sorted; NaN sorts last."""
        d = self._d
        n = operator.index(k)
        ax = axis_arg(axis)
        mask = None if where is None else mask_arg(where, d.shape)
        values, index = ops.topk(d, n, ax, bool(largest), mask)
        if as_matrix:
            return _wrap(values), _wrap(index.astype(np.float64))
        if ax is None:
            return _wrap(values), index.reshape(-1).tolist()
        groups = index.T if ax == 0 else index
        return _wrap(values), groups.tolist()

    # ------------------------------------------------------------------
    # gather and scatter

    def take(self, indices: Any, axis: int = 0, *,
             out: Optional["Matrix"] = None) -> "Matrix":
        """The selected rows (axis 0) or columns (axis 1), as a copy."""
        d = self._d
        ax = take_axis(axis)
        what = "row" if ax == 0 else "column"
        # numpy checks the range while it gathers (and buffers `out`), so
        # only a failure pays for finding the element to blame.
        idx = index_array(indices, d.shape[ax], what, check_range=False)
        try:
            if out is None:
                return _wrap(d.take(idx, ax))
            shape = (idx.size, d.shape[1]) if ax == 0 else (
                d.shape[0], idx.size)
            od = check_out(out, shape)
            if np.may_share_memory(od, d):
                raise ValueError(
                    "out must not alias the matrix being taken from")
            d.take(idx, ax, out=od)
            return out
        except IndexError:
            index_array(indices, d.shape[ax], what)
            raise

    def put(self, indices: Any, value: Union["Matrix", Number], axis: int = 0,
            accumulate: bool = False) -> "Matrix":
        """Write rows or columns in place; checks everything first."""
        d = self._d
        ax = take_axis(axis)
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

    def take_along_axis(self, indices: Any, axis: int = 0, *,
                        out: Optional["Matrix"] = None) -> "Matrix":
        """One element per column (axis 0) or per row (axis 1)."""
        d = self._d
        ax = take_axis(axis)
        idx = self._along_indices(indices, ax)
        key = (idx, np.arange(d.shape[1])) if ax == 0 else (
            np.arange(d.shape[0]), idx)
        shape = (1, d.shape[1]) if ax == 0 else (d.shape[0], 1)
        if out is None:
            return _wrap(d[key].reshape(shape))
        od = check_out(out, shape)
        if od is d:
            raise ValueError(
                "out must not alias the matrix being taken from")
        od[...] = d[key].reshape(shape)
        return out

    def put_along_axis(self, indices: Any, value: Union["Matrix", Number],
                       axis: int = 0, accumulate: bool = False) -> "Matrix":
        d = self._d
        ax = take_axis(axis)
        idx = self._along_indices(indices, ax)
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

    def _along_indices(self, indices: Any, ax: int) -> Any:
        d = self._d
        n = d.shape[1 - ax]
        if isinstance(indices, (list, tuple)) and len(indices) != n:
            raise ValueError(
                f"take_along_axis on axis {ax} expects {n} indices (one per "
                f"{'row' if ax == 1 else 'column'}), got {len(indices)}")
        return index_array(indices, d.shape[ax], "row" if ax == 0 else
                           "column")

    def repeat_interleave(self, repeats: int,
                          axis: Optional[int] = None) -> "Matrix":
        n = operator.index(repeats)
        if n < 1:
            raise ValueError("repeats must be a positive integer")
        d = self._d
        ax = axis_arg(axis)
        if ax is None:
            return _wrap(np.repeat(d.reshape(-1), n).reshape(1, -1))
        return _wrap(np.repeat(d, n, axis=ax))

    # ------------------------------------------------------------------
    # indexing

    def __getitem__(self, key: Any) -> Any:
        d = self._d
        if type(key) is int:
            row = _row_index(d, key)
            return float(d[row, 0]) if d.shape[1] == 1 else _wrap(
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
            return _wrap(_nonempty(d[key]).copy())
        if isinstance(key, list):
            return _wrap(d[index_array(key, d.shape[0], "row")])
        return self[_as_int(key)]

    def _get_pair(self, d: F64, rk: Any, ck: Any) -> Any:
        if isinstance(rk, list) or isinstance(ck, list):
            if isinstance(rk, list) and ck == _FULL and type(ck) is slice:
                return _wrap(d[index_array(rk, d.shape[0], "row")])
            if rk == _FULL and type(rk) is slice and isinstance(ck, list):
                return _wrap(d.take(index_array(ck, d.shape[1], "column"), 1))
            raise IndexError(_FANCY_GET)
        rs, cs = _pair_slices(d, rk, ck)
        if type(rs) is int and type(cs) is int:
            return float(d[rs, cs])
        return _wrap(_nonempty(d[_keep2(rs), _keep2(cs)]).copy())

    def __setitem__(self, key: Any, value: Any) -> None:
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

    def _set_pair(self, d: F64, rk: Any, ck: Any, value: Any) -> None:
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
    def view(self) -> "_ViewIndexer":
        """`m.view[i]`, `m.view[i, cols]`, `m.view[rows, j]`: aliasing views."""
        self._d
        return _ViewIndexer(self)

    def row_view(self, row: int, columns: Union[None, int, slice] = None, *,
                 read_only: bool = False) -> "MatrixView":
        d = self._d
        r = _as_int(row)
        if not -d.shape[0] <= r < d.shape[0]:
            raise IndexError("row index out of range")
        sel = _view_span(columns, d.shape[1], "column")
        return MatrixView._make(self, d[r:r + 1 or None, sel], True,
                                bool(read_only))

    def column_view(self, column: int, rows: Union[None, int, slice] = None,
                    *, read_only: bool = False) -> "MatrixView":
        d = self._d
        c = _as_int(column)
        if not -d.shape[1] <= c < d.shape[1]:
            raise IndexError("column index out of range")
        sel = _view_span(rows, d.shape[0], "row")
        return MatrixView._make(self, d[sel, c:c + 1 or None], False,
                                bool(read_only))

    def row_views(self, *, read_only: bool = False) -> Iterator["MatrixView"]:
        for i in range(self._d.shape[0]):
            yield self.row_view(i, read_only=read_only)

    def column_views(self, *,
                     read_only: bool = False) -> Iterator["MatrixView"]:
        for j in range(self._d.shape[1]):
            yield self.column_view(j, read_only=read_only)


# ----------------------------------------------------------------------
# helpers used by the class above


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
    lo, hi = real(bounds[0]), real(bounds[1])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("bounds values must be finite")
    if hi < lo:
        raise ValueError("bounds max must be >= min")
    return lo, hi


def _concat_part(value: Any, axis: int) -> F64:
    if isinstance(value, Matrix):
        return value._d
    if isinstance(value, (list, tuple)):
        row = row_array(value) if value else np.empty((1, 0))
        return row if axis == 0 else row.reshape(-1, 1)
    raise TypeError("object must be a Matrix, List, or Tuple")


def _where_arg(value: Any, shape: tuple[int, ...]) -> Any:
    if isinstance(value, (Matrix, list, tuple)):
        arr = value._d if isinstance(value, Matrix) else row_array(value)
        if arr.shape != shape:
            raise ValueError("where() matrix or list/tuple operands must "
                             "match the mask shape")
        return arr
    if is_real(value):
        return float(value)
    raise TypeError("where() operands must each be a Matrix, a scalar, or "
                    "a list/tuple of numbers")


def _scatter_value(value: Any, shape: tuple[int, int]) -> Any:
    """A fancy-assignment value: a real, a 1x1, or an exact-shape Matrix."""
    if isinstance(value, Matrix):
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
        v = _matrix_arg(value)
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


from ._matrix_view import MatrixView, _ViewIndexer  # noqa: E402

"""bocd.Matrix: bocpy's dense 2-D float64 matrix, stored in a numpy array.

The class is MatrixBase (the `_d` buffer and the ownership check) plus two
mixins: element-wise and vector methods (_matrix_elementwise) and
indexing, gather/scatter and views (_matrix_index). This file holds
construction, arithmetic, comparisons and reductions.

Differences from numpy follow bocpy: comparison operators are
lexicographic and return one bool, `==` is total, broadcasting is numpy's
for 2-D operands (which is exactly bocpy's list: same shape, scalar, 1x1,
1xN row, Mx1 column), and the NaN rules of argmin/argmax/min/max/topk are
in _matrix_ops.
"""
from __future__ import annotations

import linecache
import operator
import types
import warnings
from typing import TYPE_CHECKING, Any, Iterator, Optional, Union

import numpy as np

from . import _matrix_move
from ._core import binary as _same_shape
from ._core import binary_into as _into
from ._core import matmul_small as _matmul_small
from ._core import scaled_add as _scaled_add
from ._core import sum_rows as _sum_rows
from . import _matrix_ops as ops
from ._matrix_args import (DIMENSION_MISMATCH, EXPECTED_NUMBERS, F64,
                           axis_arg, dimension, flat_values, is_real,
                           matrix_repr, matrix_str, real, row_array,
                           shape_pair, shape_text, take_axis)
from ._matrix_base import (MatrixBase, check_out, mask_arg, matrix_arg,
                           operand)
from ._matrix_elementwise import MatrixElementwise
from ._matrix_make import MatrixConstructors
from ._matrix_fma import fma_arrays
from ._matrix_index import MatrixIndexing
from ._matrix_view import MatrixView

Operand = Union["Matrix", "MatrixView", float, int, "list[float]",
                "tuple[float, ...]"]
Number = Union[float, int]

_ORDERING = ("ordering comparison requires a matrix, list, or tuple operand "
             "of the same shape (or a scalar operand)")
_new = object.__new__
_add: Any = np.add  # numpy's stubs cannot type reduce's keepdims=<bool>

# bocpy's matrix divides by zero, takes square roots of negatives and
# overflows silently (inf/NaN results). numpy would warn; the filter is
# scoped to the modules of this type, so user code keeps numpy's warnings.
warnings.filterwarnings("ignore", category=RuntimeWarning,
                        module=r"bocd\._matrix")


def _wrap(arr: F64) -> "Matrix":
    m: Matrix = _new(Matrix)
    m._d = arr
    return m


_operand = operand
_matrix_arg = matrix_arg


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


class Matrix(MatrixConstructors, MatrixElementwise, MatrixIndexing):
    """A dense, row-major 2-D matrix of float64 (bocpy's Matrix API).

    Construct with `Matrix(rows, columns, values=None)`, where values is
    None (zeros), a number (every element) or a flat row-major sequence
    of rows*columns numbers; or with `zeros`, `ones`, `full`, `vector`,
    `concat`, `normal`, `uniform`. numpy reads a Matrix without a copy
    (`numpy.asarray(m)`). See docs/python.md for the full contract.
    """

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]
    # numpy scalars and arrays on the left defer to our reflected operators.
    __array_priority__ = 1000.0

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
    # arithmetic operators: +, -, *, / with their reflected, in-place and
    # named forms (add, subtract, multiply, divide) are made below the
    # class from the table _ARITHMETIC; declared here for type checkers.

    if TYPE_CHECKING:
        def __add__(self, other: Operand) -> Matrix: ...
        __radd__ = __iadd__ = __sub__ = __rsub__ = __isub__ = __add__
        __mul__ = __rmul__ = __imul__ = __add__
        __truediv__ = __rtruediv__ = __itruediv__ = __add__

        def add(self, other: Operand, /, *,
                out: Optional[Matrix] = None) -> Matrix: ...
        subtract = multiply = divide = add

    def __matmul__(self, other: Operand) -> "Matrix":
        if type(other) is Matrix:
            m = _matmul_small(Matrix, self._d, other._d)
            if m is not None:  # else large (BLAS) or a shape error
                return m  # type: ignore[no-any-return]
        try:
            return _wrap(np.matmul(self._d, _matrix_arg(other)))
        except ValueError:
            raise ValueError("M0xN0 @ M1xN1  N0 != M1") from None

    def __rmatmul__(self, other: Operand) -> "Matrix":
        try:
            return _wrap(np.matmul(_matrix_arg(other), self._d))
        except ValueError:
            raise ValueError("M0xN0 @ M1xN1  N0 != M1") from None

    def __neg__(self) -> "Matrix":
        return _wrap(np.negative(self._d))

    def __abs__(self) -> "Matrix":
        return _wrap(np.absolute(self._d))

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
        if type(x) is Matrix and (type(s) is float or type(s) is int):
            r = _scaled_add(None if in_place else Matrix, d, s, x._d)
            if r is not None:  # else the shapes differ: named below
                return self if in_place else r
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

    # The ordering operators (<, <=, >, >=) and the element-wise masks
    # (less, ..., not_equal) are made below the class from the tables
    # _ORDERINGS and _MASKS; declared here for type checkers.

    if TYPE_CHECKING:
        def __lt__(self, other: object) -> bool: ...
        __le__ = __gt__ = __ge__ = __lt__

        def less(self, other: Operand, *,
                 out: Optional[Matrix] = None) -> Matrix: ...
        less_equal = greater = greater_equal = equal = not_equal = less

    def __eq__(self, other: object) -> bool:
        """Total: a shape mismatch or an unusable operand is just False."""
        try:
            s = self._lexicographic(other)
        except (ValueError, TypeError):
            return False
        return s == 0

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    # ------------------------------------------------------------------
    # reductions

    def sum(self, axis: Optional[int] = None,
            where: Optional["Matrix"] = None) -> Union[float, "Matrix"]:
        d = self._d
        if where is None and type(axis) is int and -2 <= axis <= 1:
            if axis & 1 == 0:  # the common call: one C pass, wrapped there
                return _sum_rows(Matrix, d)  # type: ignore[no-any-return]
            return _wrap(ops.axis_sum(d, 1))
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


# ----------------------------------------------------------------------
# Methods made from tables: each rule is written once.
#
# A 4x4 `a + b` is a few hundred nanoseconds, nearly all per-call
# overhead, so the operators are compiled from one source text per
# operator with its kernel code and numpy ufunc written in as constants:
# each is then the very bytecode a hand-written method would be. (A shared
# helper would add a frame; closures over the two cost 3-5% per call,
# measured.) The named forms, orderings and masks, whose time is numpy's,
# are plain closures.

# Two same-shape matrices, or a matrix and a float, go to one C call with
# the kernel {code} (_core.binary checks the shapes, allocates, computes
# and wraps; _core.binary_into updates in place); everything else (other
# numbers, broadcasting, errors) goes through numpy's {ufunc}.
_OPERATORS = """\
def {forward}(self, other):
    d = self._d
    if type(other) is Matrix:
        m = _same_shape(Matrix, {code}, d, other._d)
        if m is not None:
            return m
        return _arith({ufunc}, d, other._d)
    if type(other) is float:
        return _same_shape(Matrix, {code}, d, other)
    return _arith({ufunc}, d, _operand(other))


def {reflected}(self, other):
    d = self._d
    if type(other) is float:
        return _same_shape(Matrix, {code}, other, d)
    return _arith({ufunc}, _operand(other), d)


def {in_place}(self, other):
    if type(other) is Matrix:
        if _into({code}, self._d, other._d):
            return self  # else the shapes differ: numpy's path
    elif type(other) is float:
        _into({code}, self._d, other)
        return self
    return _in_place(self, {ufunc}, other)
"""


def _compiled(source: str, name: str) -> dict[str, Any]:
    """The functions `source` defines, compiled in this module's globals;
    linecache keeps the text, so tracebacks can show their lines."""
    filename = f"<bocd.Matrix {name}>"
    linecache.cache[filename] = (len(source), None,
                                 source.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), globals(), namespace)
    return namespace


def _in_place(m: Matrix, ufunc: Any, other: Operand) -> Matrix:
    """`m op= other` by numpy: in m's buffer when the result keeps its
    shape; else a new Matrix."""
    d = m._d
    o = _operand(other)
    try:
        if type(o) is np.ndarray and ops.is_narrow_broadcast(d.shape,
                                                             o.shape):
            ops.narrow_binary(ufunc, d, o, out=d)
        else:
            ufunc(d, o, out=d)
        return m
    except RuntimeWarning:
        return m  # raised after the whole result was written
    except ValueError:
        pass
    try:
        return _wrap(ufunc(d, o))
    except ValueError:
        raise ValueError(DIMENSION_MISMATCH) from None


def _named_form(ufunc: Any) -> Any:
    """`a.add(b, out=None)` and the like."""
    def named(self: Matrix, other: Operand, /, *,
              out: Optional[Matrix] = None) -> Matrix:
        return _binary(ufunc, self._d, _operand(other), out)
    return named


def _ordering(signs: frozenset[int]) -> Any:
    """A lexicographic operator: true when the sign of the first deciding
    element pair (0 if none decides) is one of `signs`."""
    def compare(self: Matrix, other: object) -> bool:
        s = self._lexicographic(other)
        return NotImplemented if s is None else s in signs
    return compare


def _mask(ufunc: Any) -> Any:
    """An element-wise comparison giving a 0/1 Matrix (or into `out`)."""
    def mask(self: Matrix, other: Operand, *,
             out: Optional[Matrix] = None) -> Matrix:
        d = self._d
        o = _operand(other)
        try:
            shape = np.broadcast_shapes(d.shape, np.shape(o))
        except ValueError:
            raise ValueError(DIMENSION_MISMATCH) from None
        od = np.empty(shape) if out is None else check_out(out, shape)
        ufunc(d, o, out=od, casting="unsafe")
        return _wrap(od) if out is None else out
    return mask


# (kernel code of _core.binary, numpy ufunc, the operator's method names:
# forward, reflected, in place, named form)
_ARITHMETIC: tuple[tuple[int, Any, tuple[str, str, str, str]], ...] = (
    (0, np.add, ("__add__", "__radd__", "__iadd__", "add")),
    (1, np.subtract, ("__sub__", "__rsub__", "__isub__", "subtract")),
    (2, np.multiply, ("__mul__", "__rmul__", "__imul__", "multiply")),
    (3, np.true_divide,
     ("__truediv__", "__rtruediv__", "__itruediv__", "divide")),
)
_ORDERINGS = (("__lt__", frozenset((-1,))), ("__le__", frozenset((-1, 0))),
              ("__gt__", frozenset((1,))), ("__ge__", frozenset((0, 1))))
_MASKS: tuple[tuple[str, Any], ...] = (
    ("less", np.less), ("less_equal", np.less_equal),
    ("greater", np.greater), ("greater_equal", np.greater_equal),
    ("equal", np.equal), ("not_equal", np.not_equal))


def _install(name: str, method: Any) -> None:
    method.__name__ = name
    method.__qualname__ = f"Matrix.{name}"
    setattr(Matrix, name, method)


for _code, _ufunc, _names in _ARITHMETIC:
    _made = _compiled(_OPERATORS.format(
        code=_code, ufunc=f"np.{_ufunc.__name__}", forward=_names[0],
        reflected=_names[1], in_place=_names[2]), _names[0])
    for _name in _names[:3]:
        _install(_name, _made[_name])
    _install(_names[3], _named_form(_ufunc))
for _name, _signs in _ORDERINGS:
    _install(_name, _ordering(_signs))
for _name, _ufunc in _MASKS:
    _install(_name, _mask(_ufunc))

# Error messages name methods by qualified name ("Matrix.floor() takes 1
# positional argument"); the mixins' methods are Matrix's to the user.
for _part in (MatrixBase, MatrixConstructors, MatrixElementwise,
              MatrixIndexing):
    for _name, _member in vars(_part).items():
        if isinstance(_member, types.FunctionType):
            _member.__qualname__ = f"Matrix.{_name}"


def _rebuild(arr: Any) -> Matrix:
    """A Matrix around an array unpickled for it (a snapshot's copy)."""
    return Matrix._wrap(arr)


def _rebuild_moved(buf: Any, rows: int, columns: int) -> Matrix:
    """A moved Matrix, around the buffer it arrived in."""
    return Matrix._wrap(_matrix_move.array_of(buf, rows, columns))


# How a Matrix leaves the process: moved by bocd's serializer, copied by
# plain pickling (_matrix_move).
_matrix_move.register(Matrix, _rebuild, _rebuild_moved)

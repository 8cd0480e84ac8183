"""How a Matrix leaves the process: moved, never copied behind the user.

Two ways to pickle a Matrix (docs/python.md "Values"):

* bocd's own serializer (``_serial.encode``: a cown's value, a behavior's
  captures or result, a message, a noticeboard entry) *moves* it. The
  elements go out as one pickle-5 out-of-band buffer, so a matrix of 64 KiB
  or more travels in a shared-memory blob like any numpy array: a worker
  maps the blob, and a body that updates the matrix in place writes the
  cown's own memory, which is named again on commit with no copy. Once the
  value has been written, the sender's handle is dead: ``del m._d``, after
  which any use raises RuntimeError("The current interpreter does not own
  this matrix"), as in bocpy. If the value then never reaches the daemon
  (it is refused, or it was only a probe), ``Encoded.discard()`` gives the
  matrix back its array.
* Anything else (``pickle.dumps``, ``copy.copy``, ``copy.deepcopy``) takes
  a snapshot and leaves the matrix usable; it needs ownership too.

``bocd._matrix`` registers Matrix here (``register``) as it defines it,
with the functions a pickle names to rebuild one: they live in
``bocd._matrix``, so unpickling a matrix anywhere imports the type and
this registration with it. This module does not import the type.
"""
from __future__ import annotations

import copyreg
import pickle
from typing import Any, Callable, cast

import numpy as np

from . import _serial

_rebuild: Callable[[Any], Any] = cast(Callable[[Any], Any], None)


def reduce_matrix(m: Any) -> tuple[Any, ...]:
    """copyreg's reducer: a snapshot of the elements. The copy is taken
    here so that ``copy.copy`` (which does not copy the arguments) gives
    an independent matrix too."""
    return _rebuild, (m._d.copy(),)


def array_of(buf: Any, rows: int, columns: int) -> Any:
    """The array a moved buffer arrives as: the buffer itself (a
    shared-memory blob mapped in a worker; a private copy in a program,
    see _serial.loads), so an in-place update writes there."""
    if rows * columns == 0:
        return np.zeros((rows, columns))
    arr = np.frombuffer(buf, dtype=np.float64).reshape(rows, columns)
    if not arr.flags.writeable:  # a read-only array's, pickled as bytes
        arr = arr.copy()
    return arr


class MatrixMover:
    """The serializer's hooks for Matrix (see ``_serial.movers``)."""

    rebuild_moved: Callable[..., Any] = cast(Callable[..., Any], None)

    @staticmethod
    def reduce(m: Any) -> tuple[Any, ...]:
        d = m._d  # RuntimeError if this process no longer owns it
        if not d.flags.c_contiguous:  # the contract says it is; be sure
            d = m._d = np.ascontiguousarray(d)
        # The array itself, out of band: _serial puts it in a blob (or
        # names again the blob it lies in) when it is 64 KiB or more.
        # numpy's stubs do not declare that an ndarray is a buffer.
        buf = pickle.PickleBuffer(cast(Any, d))
        return MatrixMover.rebuild_moved, (buf, d.shape[0], d.shape[1])

    @staticmethod
    def take(m: Any) -> Any:
        """Moves `m` out: its handle is dead from now on."""
        d = m._d
        del m._d
        return d

    @staticmethod
    def give_back(m: Any, d: Any) -> None:
        """Undoes take(): the value never left."""
        m._d = d


def register(cls: type, rebuild: Callable[[Any], Any],
             rebuild_moved: Callable[..., Any]) -> None:
    """Makes bocd's serializer move `cls` (the Matrix type) and plain
    pickling copy it; `rebuild(arr)` and `rebuild_moved(buf, rows,
    columns)` are what its pickles call."""
    global _rebuild
    _rebuild = rebuild
    MatrixMover.rebuild_moved = rebuild_moved
    copyreg.pickle(cls, reduce_matrix)
    _serial.movers[cls] = MatrixMover

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

Importing this module registers Matrix with ``copyreg`` and with the
serializer; ``bocd._matrix`` imports it.
"""
from __future__ import annotations

import copyreg
import pickle
from typing import Any

import numpy as np

from . import _serial
from ._matrix import Matrix


def rebuild_matrix(arr: Any) -> Matrix:
    """A Matrix around an array unpickled for it (a snapshot's own copy)."""
    return Matrix._wrap(arr)


def reduce_matrix(m: Matrix) -> tuple[Any, ...]:
    """copyreg's reducer: a snapshot of the elements. The copy is taken
    here so that ``copy.copy`` (which does not copy the arguments) gives
    an independent matrix too."""
    return rebuild_matrix, (m._d.copy(),)


def rebuild_moved(buf: Any, rows: int, columns: int) -> Matrix:
    """The matrix a moved buffer arrives as: it wraps the buffer itself
    (a shared-memory blob mapped in a worker; a private copy in a
    program, see _serial.loads), so an in-place update writes there."""
    if rows * columns == 0:
        return Matrix._wrap(np.zeros((rows, columns)))
    arr = np.frombuffer(buf, dtype=np.float64).reshape(rows, columns)
    if not arr.flags.writeable:  # a read-only array's, pickled as bytes
        arr = arr.copy()
    return Matrix._wrap(arr)


class MatrixMover:
    """The serializer's hooks for Matrix (see ``_serial.movers``)."""

    @staticmethod
    def reduce(m: Matrix) -> tuple[Any, ...]:
        d = m._d  # RuntimeError if this process no longer owns it
        if not d.flags.c_contiguous:  # the contract says it is; be sure
            d = m._d = np.ascontiguousarray(d)
        # The array itself, out of band: _serial puts it in a blob (or
        # names again the blob it lies in) when it is 64 KiB or more.
        return rebuild_moved, (pickle.PickleBuffer(d), d.shape[0], d.shape[1])

    @staticmethod
    def take(m: Matrix) -> Any:
        """Moves `m` out: its handle is dead from now on."""
        d = m._d
        del m._d
        return d

    @staticmethod
    def give_back(m: Matrix, d: Any) -> None:
        """Undoes take(): the value never left."""
        m._d = d


copyreg.pickle(Matrix, reduce_matrix)
_serial.movers[Matrix] = MatrixMover

"""wait() and quiesce(): waiting for a program's behaviors.

What wait() leaves held is in docs/python.md "Holding cowns"; where both
differ from bocpy's, in its table "Compatibility with bocpy 0.14".

Both wait for this program's session to be quiescent, running its pinned
work meanwhile (``_pump.wait_pumping``). ``quiesce`` is a checkpoint;
``wait`` then ends the runtime, so that the next ``@when`` or ``start()``
begins a fresh one.
"""
from __future__ import annotations

import math
import sys
from typing import Any, Literal, NamedTuple, Union, overload

from . import _cown, _noticeboard, _pump, _runtime
from ._stats import bocpy_stats as _stats


class WaitResult(NamedTuple):
    """What wait()/quiesce() return when both stats and noticeboard are asked."""
    stats: list[dict[str, int]]
    noticeboard: dict[str, Any]


# What wait() and quiesce() return, by the flags they are given.
Stats = list[dict[str, int]]
Board = dict[str, Any]
Waited = Union[None, Stats, Board, WaitResult]


def _not_in_behavior(name: str) -> None:
    if _runtime.current_behavior() is not None or _runtime.in_worker():
        raise RuntimeError(
            f"{name}() cannot be called from inside a behavior: it would wait "
            "for the behavior that calls it. Schedule a follow-on @when on "
            "its result cown instead.")


def _check_timeout(timeout: float | None) -> float:
    if timeout is None:
        return -1.0
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number or None, got {type(timeout).__name__}")
    if math.isnan(timeout):
        raise ValueError("timeout must not be NaN")
    if timeout > 1e9 or math.isinf(timeout):
        return -1.0
    return max(0.0, float(timeout))


def _shape(stats: bool, noticeboard: bool, st: Stats, nb: Board) -> Waited:
    if stats and noticeboard:
        return WaitResult(st, nb)
    if stats:
        return st
    if noticeboard:
        return nb
    return None


def _quiesce(name: str, timeout: float | None) -> None:
    seconds = _check_timeout(timeout)
    _cown.flush_drops()
    # Pumps while it waits: this program's pinned behaviors run only here.
    if not _pump.wait_pumping(_runtime.session(), seconds):
        raise TimeoutError(
            f"{name}(): runtime did not reach quiescence within timeout={timeout}")


@overload
def quiesce(timeout: float | None = None, *, stats: Literal[False] = False,
            noticeboard: Literal[False] = False) -> None: ...
@overload
def quiesce(timeout: float | None = None, *, stats: Literal[True],
            noticeboard: Literal[False] = False) -> Stats: ...
@overload
def quiesce(timeout: float | None = None, *, stats: Literal[False] = False,
            noticeboard: Literal[True]) -> Board: ...
@overload
def quiesce(timeout: float | None = None, *, stats: Literal[True],
            noticeboard: Literal[True]) -> WaitResult: ...
@overload
def quiesce(timeout: float | None = None, *, stats: bool = False,
            noticeboard: bool = False) -> Waited: ...


def quiesce(timeout: float | None = None, *, stats: bool = False,
            noticeboard: bool = False) -> Waited:
    """Blocks until every behavior this program scheduled (and their nested
    behaviors) has finished. A checkpoint: nothing is torn down. Raises
    TimeoutError when `timeout` seconds pass first (nothing is cancelled)."""
    _not_in_behavior("quiesce")
    if not _runtime.is_up():
        return _shape(stats, noticeboard, [], {})
    _quiesce("quiesce", timeout)
    board = _noticeboard.board_now() if noticeboard else {}
    return _shape(stats, noticeboard, _stats() if stats else [], board)


@overload
def wait(timeout: float | None = None, *, stats: Literal[False] = False,
         noticeboard: Literal[False] = False) -> None: ...
@overload
def wait(timeout: float | None = None, *, stats: Literal[True],
         noticeboard: Literal[False] = False) -> Stats: ...
@overload
def wait(timeout: float | None = None, *, stats: Literal[False] = False,
         noticeboard: Literal[True]) -> Board: ...
@overload
def wait(timeout: float | None = None, *, stats: Literal[True],
         noticeboard: Literal[True]) -> WaitResult: ...
@overload
def wait(timeout: float | None = None, *, stats: bool = False,
         noticeboard: bool = False) -> Waited: ...


def wait(timeout: float | None = None, *, stats: bool = False,
         noticeboard: bool = False) -> Waited:
    """As quiesce(), then ends this runtime: the next @when or start()
    begins a fresh one. Cowns keep their values and stay usable. Raises
    TimeoutError, with nothing torn down, when `timeout` passes first.

    As in bocpy, every Cown that a local or global of the calling thread's
    frames refers to directly comes out held by the program, so
    ``wait(); print(c.value)`` works; the next runtime's start lets them
    go (a cown reached only through a container: use acquire() or with)."""
    _not_in_behavior("wait")
    if not _runtime.is_up():
        return _shape(stats, noticeboard, [], {})
    _quiesce("wait", timeout)
    _cown.hold_frame_cowns(sys._getframe(1))
    st = _stats() if stats else []
    board = _noticeboard.board_now() if noticeboard else {}
    _noticeboard.clear()  # a new runtime starts with an empty board
    _runtime.mark_down()
    return _shape(stats, noticeboard, st, board)

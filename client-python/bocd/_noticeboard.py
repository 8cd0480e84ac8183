"""The noticeboard, shared by every process of a program.

The board is one cown per program whose value is a dict of entries. The
daemon names it to every process of the program (Mail Board) and reads
its committed value for snapshots. Every mutation is a behavior on that
cown, so mutations apply one at a time, in the order scheduled, with
``notice_update``'s ``fn`` run in one place (a worker) atomically; cown
handles inside entries stay alive because the board's value embeds them.
See docs/python.md "Noticeboard".

A behavior's first read takes a snapshot (the committed value) and keeps
it for the rest of the behavior, so it does not see its own writes. On
the main thread, outside behaviors, every read takes a fresh snapshot
(bocpy leaves those reads undefined).
"""
from __future__ import annotations

import copy
import logging
import pickle
import threading
import types
from collections.abc import Callable, Mapping
from typing import Any

from . import _messaging, _runtime, _serial
from ._cown import Cown
from ._when import whencall

log = logging.getLogger("bocd.noticeboard")

MAX_KEYS = 64  # the default of bocd serve --max-notice-keys
MAX_KEY_BYTES = 63


class _Removed:
    """The ``REMOVED`` sentinel: ``fn`` returns it to delete the entry.
    Pickled by reference, so it is the same object in every process."""

    _instance: "_Removed | None" = None

    def __new__(cls) -> "_Removed":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __reduce__(self) -> str:
        return "REMOVED"

    def __repr__(self) -> str:
        return "REMOVED"


REMOVED = _Removed()

_board_lock = threading.Lock()
# Handles on boards, by program: a program's own under 0; a worker serves
# many programs, each with its own board.
_boards: dict[int, Any] = {}
_snap = threading.local()  # .behavior, .board: the running body's snapshot


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError("noticeboard key must be a str")
    if "\0" in key:
        raise ValueError("noticeboard key must not contain NUL characters")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError("noticeboard key too long (max 63 UTF-8 bytes)")
    return key


def _check_started(verb: str) -> None:
    """On the main side, mutations need a running runtime, checked before
    the key."""
    if (not _runtime.in_worker() and _runtime.current_behavior() is None
            and not _runtime.is_up()):
        raise RuntimeError(
            f"cannot {verb} the noticeboard before the runtime is started")


def _ask(proposed: int, after: tuple[int, int] = (0, 0),
         entries: bool = True) -> tuple[int, Any]:
    """(board id or 0, its committed entries or None), the entries' cown
    handles taken before the daemon lets go of them."""
    session, program, running = _messaging._route()
    board_id, data, request = session.mail_board(program, proposed, after,
                                                 running if program else 0)
    if data is None or not entries:
        if data is not None:
            session.mail_release_snapshot(request, 0)
        return board_id, None
    try:
        # copy: the value's blobs may go once released.
        return board_id, _serial.loads(data, None, copy=True)
    finally:
        # Handles are held (sent before this, on the same connection) or,
        # in a body, borrowed: then the daemon keeps them until it ends.
        session.mail_release_snapshot(request, running)


def _board_cown() -> Any:
    """A handle on the running program's board, making the board if none.

    A program keeps its handle. A worker asks each time and keeps none: a
    handle it kept would hold the board (and every cown its entries name)
    for the worker's life, past the program's; the daemon's reference is
    what keeps a board alive, until its program closes."""
    keep = not _runtime.in_worker()
    if keep and 0 in _boards:
        return _boards[0]
    with _board_lock:
        if keep and 0 in _boards:
            return _boards[0]
        board_id, _ = _ask(0, entries=False)
        if board_id == 0:
            fresh: Cown[dict[str, Any]] = Cown({})
            # From a worker's body the new cown travels on the worker's
            # own connection: the daemon waits to read it. The worker's
            # handle goes with `fresh`; the board's reference stays.
            after = (_runtime._session.mail_barrier()
                     if _runtime.in_worker() else (0, 0))
            board_id, _ = _ask(fresh._id, after, entries=False)
        board = Cown._from_id(board_id)
        if keep:
            _boards[0] = board
        return board


def _schedule(body: Callable[..., Any], *captures: Any) -> Any:
    return whencall(body, [_board_cown()], list(captures))


# ---- the behaviors that mutate the board (run in a worker, one at a time)

def _put(entries: dict[str, Any], key: str, value: Any) -> None:
    # The daemon's limit (bocd serve --max-notice-keys), as the worker
    # running this behavior heard it at its handshake.
    limit = _runtime._session.notice_keys if _runtime._session else MAX_KEYS
    if key not in entries and len(entries) >= limit:
        log.warning("noticeboard is full (%d keys): entry %r dropped",
                    limit, key)
        return
    entries[key] = value


def _write_body(board: Any, key: str, value: Any) -> None:
    entries = board.value
    _put(entries, key, value)
    board.value = entries


def _update_body(board: Any, key: str, fn: Callable[[Any], Any],
                 default: Any) -> None:
    entries = board.value
    try:
        # A copy: an array entry is a view of shared memory, and an fn
        # that changed it in place and then raised would leave the change.
        new = fn(copy.deepcopy(entries.get(key, default)))
    except Exception as e:  # the old value stays
        log.warning("noticeboard_update(%r) failed: %r", key, e)
        return
    if new is REMOVED:
        entries.pop(key, None)
    else:
        _put(entries, key, new)
    board.value = entries


def _delete_body(board: Any, key: str) -> None:
    entries = board.value
    if key in entries:  # else nothing changes: nothing to commit
        del entries[key]
        board.value = entries


def _clear_body(board: Any) -> None:
    board.value = {}


# ---- the API --------------------------------------------------------------

def notice_write(key: str, value: Any) -> None:
    """Sets ``key`` to ``value``, fire-and-forget: applied after the
    mutations scheduled before it. The value is pickled here (errors raise
    here); past 64 keys a new one is dropped with a warning logged."""
    _check_started("write to")
    _check_key(key)
    _serial.encode(value).discard()  # fails here if unpicklable
    _schedule(_write_body, key, value)


def notice_seed(key: str, value: Any) -> None:
    """As notice_write, but returns once the entry is committed, so every
    behavior scheduled afterwards sees it. Main side only; starts the
    runtime if none is running."""
    if _runtime.in_worker():
        raise RuntimeError(
            "notice_seed may only be called from the primary interpreter")
    if _runtime.current_behavior() is not None:
        raise RuntimeError(
            "notice_seed cannot be called inside a behavior: it waits for "
            "its write. Use notice_write, or seed before scheduling.")
    _check_key(key)
    _serial.encode(value).discard()
    _runtime.ensure_started()
    done = _schedule(_write_body, key, value)
    with done:  # ordered after the write: returns once it committed
        pass


def notice_update(key: str, fn: Callable[[Any], Any], default: Any = None) -> None:
    """Replaces ``key``'s value with ``fn(value)`` (``fn(default)`` when
    absent), atomically and in order, fire-and-forget. ``fn`` returning
    ``REMOVED`` deletes the entry; ``fn`` raising keeps the old value and
    logs a warning. ``fn`` and ``default`` must pickle by reference (a
    module-level function, functools.partial, operator functions)."""
    _check_started("update")
    _check_key(key)
    if not callable(fn):
        raise TypeError("notice_update fn must be callable")
    pickle.dumps(fn)  # plain pickle: a lambda or closure fails here
    pickle.dumps(default)
    _schedule(_update_body, key, fn, default)


def notice_delete(key: str) -> None:
    """Deletes ``key`` (nothing if absent), fire-and-forget; frees its slot."""
    _check_started("delete from")
    _check_key(key)
    _schedule(_delete_body, key)


def _snapshot() -> dict[str, Any]:
    running = _runtime.current_behavior()
    if running is not None and getattr(_snap, "behavior", None) == running[0]:
        kept: dict[str, Any] = _snap.board
        return kept
    if not _runtime.in_worker() and _runtime._session is None:
        board: dict[str, Any] = {}  # nothing has connected: nothing written
    else:
        _, entries = _ask(0)
        board = {} if entries is None else entries
    if running is not None:
        _snap.behavior, _snap.board = running[0], board
    return board


def noticeboard() -> Mapping[str, Any]:
    """A read-only view of this behavior's snapshot of the board (taken at
    its first read, kept to its end); on the main thread, a fresh one."""
    return types.MappingProxyType(_snapshot())


def notice_read(key: str, default: Any = None) -> Any:
    """``key``'s value in this behavior's snapshot, else ``default``."""
    _check_key(key)
    return _snapshot().get(key, default)


def end_behavior() -> None:
    """Drops the running body's snapshot as each body ends: kept, its cown
    handles would outlive the behavior."""
    _snap.behavior = _snap.board = None


_runtime.at_behavior_end(end_behavior)


def board_now() -> dict[str, Any]:
    """The committed board, for quiesce/wait(noticeboard=True)."""
    if _runtime._session is None:
        return {}
    _, entries = _ask(0)
    return {} if entries is None else entries


def clear() -> None:
    """Empties the board (at wait(): a new runtime starts with none)."""
    if 0 not in _boards and (_runtime._session is None
                             or _ask(0, entries=False)[0] == 0):
        return
    done = _schedule(_clear_body)
    with done:
        pass

"""The body runner: one dispatched behavior, from its payload to its outcome.

Both executors use it: a worker process (``bocd.worker``, on its session's
IO thread) and a program's ``pump()``, which runs pinned behaviors on the
main thread. Given the dispatch (behavior and program ids, payload, cown
ids and values), it rebuilds the function, hands it its cowns, runs it,
and returns the cowns' new values and the result.

Everything a body raises (BaseException too) lands on its result cown
with the exception flag set; a value or result that cannot be pickled
becomes the result's exception and the cown keeps its previous value
(docs/python.md "Values", and its row in "Compatibility with bocpy 0.14").
Work to do after each body (the noticeboard snapshot, a worker's output) is
registered with ``_runtime.at_behavior_end``: this module imports nothing
above it in the package.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import marshal
import os
import pickle
import struct
import sys
import traceback
import types
from collections import OrderedDict
from typing import Any, Optional, Union

from . import _cown, _runtime, _serial
from ._cown import Cown, CownCapsule, PinnedCown, _Hold, end_borrowing

log = logging.getLogger(f"worker{os.environ.get('BOCD_WORKER_INDEX', '')}")

# (cown updates, result, dropped) as the C++ client applies them: updates
# are [(slot, data, exception, refs, blobs)], the result (data, exception,
# refs, blobs) or None, dropped the slots whose kept values went.
Result = tuple[bytes, bool, list[int], list[str]]
Outcome = Union[tuple[list[Any], Optional[Result], list[int]], tuple[()]]
# What a worker that keeps values is told with a dispatch (see _Kept):
# (versions, held, forget, forget_all, code_held, code_keep, forget_code,
# inherit).
Kept = Optional[tuple[tuple[int, ...], tuple[bool, ...], tuple[int, ...],
                      bool, bool, bool, tuple[int, ...], tuple[bool, ...]]]


class BehaviorResolveError(RuntimeError):
    """A behavior's code could not be rebuilt in the worker."""


class CodeCache:
    """Functions rebuilt from code blobs, by the blob's digest. Once the
    blobs of those kept pass `budget` bytes, the least recently used go
    (a worker serves one program, but a long-running one may run
    endlessly many code objects); one that goes is rebuilt if needed.

    A code the daemon told this worker to keep (a dispatch's code_keep)
    is not evicted here: later dispatches leave it out, so it goes only
    when the daemon says (forget_code, by the digest's first 8 bytes)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._entries: OrderedDict[bytes, tuple[types.FunctionType, int]] = \
            OrderedDict()
        self._kept: dict[int, bytes] = {}  # the daemon's code keys

    def get(self, key: bytes) -> types.FunctionType | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: bytes, fn: types.FunctionType, size: int) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= old[1]
        self._entries[key] = (fn, size)
        self.size += size
        for gone in list(self._entries):
            if self.size <= self.budget or len(self._entries) <= 1:
                break
            if gone != key and int.from_bytes(gone[:8], "little") not in \
                    self._kept:
                self.size -= self._entries.pop(gone)[1]

    def keep(self, key: bytes) -> None:
        """The daemon leaves code `key` out of later dispatches."""
        self._kept[int.from_bytes(key[:8], "little")] = key

    def forget(self, code_key: int) -> None:
        """The daemon sends code `code_key` again if it is needed."""
        key = self._kept.pop(code_key, None)
        entry = self._entries.pop(key, None) if key is not None else None
        if entry is not None:
            self.size -= entry[1]

    def forget_all(self) -> None:
        for code_key in list(self._kept):
            self.forget(code_key)

    def __len__(self) -> int:
        return len(self._entries)


CODE_CACHE_BYTES = int(os.environ.get("BOCD_CODE_CACHE_BYTES", 64 << 20))
_code = CodeCache(CODE_CACHE_BYTES)
# Behaviors that run in this program (pinned ones) name these: their code
# is never sent, so they are never dropped.
_local: dict[bytes, types.FunctionType] = {}
_VARARGS = inspect.CO_VARARGS
_PLAIN_TAG = ord("P")  # call records are pickles (_serial.PLAIN_PREFIX)


def register_local(key: bytes, fn: types.FunctionType) -> None:
    """Registers a template under `key` for behaviors that run in this
    program (pinned ones): their payloads name it instead of code."""
    _local[key] = fn


def _own_globals(t: types.FunctionType) -> types.FunctionType:
    """In a program, a by-value body from its own ``__main__`` (a pinned
    body a worker scheduled) runs over the script's real globals, as one
    the program scheduled itself does, rather than over the copies that
    travelled with it; unless the script lacks a name it uses."""
    main = sys.modules.get("__main__")
    if t.__module__ != "__main__" or main is None:
        return t
    real = main.__dict__
    if any(k not in real for k in t.__globals__ if not k.startswith("__")):
        return t
    f = types.FunctionType(t.__code__, real, t.__name__, t.__defaults__,
                           t.__closure__)
    f.__qualname__ = t.__qualname__
    f.__kwdefaults__ = t.__kwdefaults__
    return f


def _resolve(key: bytes, blob: bytes) -> types.FunctionType:
    t = _local.get(key) if not blob else None
    if t is not None:
        return t
    if not blob:
        raise BehaviorResolveError(
            "behavior not run: it names code registered in its program, "
            "which does not run here")
    marked = 1 + len(_serial.CODE_MARK)
    why = _serial.code_mismatch(blob[1:marked])
    if why is not None:
        raise BehaviorResolveError(f"behavior not run: {why}")
    if blob[:1] == b"V":
        t = _serial.unpickle(blob[marked:])
        if not _runtime.in_worker():
            t = _own_globals(t)
    else:
        module, code, name, qualname = pickle.loads(blob[marked:])
        try:
            mod = importlib.import_module(module)
        except BaseException as e:
            raise BehaviorResolveError(
                f"behavior {qualname}: defining module '{module}' is not "
                f"importable in a worker process ({e!r})") from None
        code = marshal.loads(code)
        cells = tuple(types.CellType() for _ in code.co_freevars) or None
        t = types.FunctionType(code, mod.__dict__, name, None, cells)
        t.__qualname__ = qualname
    _code.put(key, t, len(blob))
    return t


def _function(payload: bytes, code_held: bool = False,
              code_keep: bool = False
              ) -> tuple[types.FunctionType, Any, Any]:
    """The behavior's function and arguments from a payload: the code
    blob's length and digest, the blob (left out when the daemon knows
    this worker keeps it), then what was snapshotted at scheduling time;
    for a plain behavior (see ``_when._plain``) nothing when it has one
    cown (shape None), else b"P" and its ids in order."""
    (n,) = struct.unpack_from("<I", payload)
    key = payload[4:20]
    at = 20 if code_held else 20 + n  # where what follows the code starts
    t = _code.get(key)
    if t is None:
        if code_held:
            raise BehaviorResolveError(
                f"behavior not run: the daemon left out code {key.hex()} "
                "as kept by this worker, which does not keep it")
        t = _resolve(key, payload[20:20 + n])
    if code_keep:
        _code.keep(key)
    tail = len(payload) - at
    if tail == 0:  # a plain behavior over one cown
        return t, None, ()
    if payload[at] == _PLAIN_TAG:  # plain: the cowns' ids, in order
        return t, list(struct.unpack_from(f"<{tail // 8}Q", payload,
                                          at + 1)), ()
    shape, extras, defaults, kwdefaults, cells = _serial.loads(
        memoryview(payload)[at:])
    if defaults is None and kwdefaults is None and cells is None:
        return t, shape, extras
    code = t.__code__
    if (kwdefaults is None and cells is None
            and not code.co_flags & _VARARGS
            and code.co_argcount == len(shape) + len(extras) + len(defaults)):
        # The defaults fill exactly the parameters after the cowns and the
        # captures: passed after them they bind the same, and no function
        # object is made per behavior (W3's transfer(a, b, amount=amount)).
        return t, shape, [*extras, *defaults]
    closure = tuple(types.CellType(v) for v in cells) if cells is not None else None
    fn = types.FunctionType(t.__code__, t.__globals__, t.__name__, defaults,
                            closure)
    fn.__kwdefaults__ = kwdefaults
    fn.__qualname__ = t.__qualname__
    return fn, shape, extras


def _note(e: BaseException) -> None:
    if not _runtime.in_worker():
        # A pinned body in pump(): the program sees it on the result cown
        # or re-raised by pump(); its traceback stays on it for that.
        return
    # The body's frames, not this runner's (the first one).
    tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
    text = "".join(traceback.format_exception(type(e), e, tb))
    # Debug only: the program reads it from the result cown, or hears of it
    # when that cown goes without anyone taking it (_cown._report_unhandled).
    log.debug("behavior raised %s", text.rstrip())
    note = f"raised in bocd worker pid {os.getpid()}:\n{text.rstrip()}"
    if hasattr(e, "add_note"):
        e.add_note(note)
    else:  # 3.10: a plain attribute, which pickles with the exception
        e.__notes__ = [*getattr(e, "__notes__", ()), note]  # type: ignore[attr-defined]
    e.__traceback__ = None  # frames would keep the body's cowns alive


def _encode_result(value: Any, exc: bool
                   ) -> tuple[Result, BaseException | None]:
    """The result as sent, and the error that replaced it if it could not
    be pickled."""
    if type(value) is Cown:  # a returned Cown arrives as a CownCapsule
        cap = CownCapsule.__new__(CownCapsule)
        cap._id, cap._held, cap._hold = value._id, False, None
        value = cap
    try:
        e = _serial.encode(value)
    except BaseException as err:  # the result cannot be pickled
        e = _serial.encode(_picklable(err))
        return (e.data, True, e.refs, e.blobs), err
    return (e.data, exc, e.refs, e.blobs), None


def _picklable(err: BaseException) -> BaseException:
    """`err` if it pickles, else a RuntimeError that says what it was."""
    try:
        _serial.encode(err).discard()  # a probe: what it made or moved goes back
        return err
    except BaseException:
        return RuntimeError(f"unpicklable exception: {err!r}")


def _failed(e: BaseException, ids: tuple[int, ...], kept: Kept) -> Outcome:
    """The outcome of a defect in the runner itself, not in the body: what
    it kept of the behavior's cowns goes too."""
    log.exception("bocd worker failed running a behavior")
    for ident in ids:
        _handoff.pop(ident, None)  # what is here may be half-changed
    result, _ = _encode_result(RuntimeError(
        f"bocd worker pid {os.getpid()} failed: {e!r}"), True)
    return [], result, _drop_kept(ids, kept)


class _Kept:
    """A cown's value a worker keeps between behaviors (docs/protocol.md
    "Kept values"): the decoded object when a body read it (`loaded`),
    else the bytes it came in; and the bytes it was decoded from, to tell
    an unchanged value from a changed one after a body.

    The daemon decides what is kept: a dispatch names the version each
    value is kept under and the cowns whose kept values to drop first, and
    leaves out the bytes of a value held at its current version. A value
    this worker wrote back is kept under version 0 ("mine") until the next
    dispatch of its cown names the version the daemon gave it."""

    __slots__ = ("version", "loaded", "value", "exc", "error", "data",
                 "blobs")

    def __init__(self, version: int, loaded: bool, value: Any, exc: bool,
                 error: int, data: bytes | None,
                 blobs: dict[str, Any] | None) -> None:
        self.version = version
        self.loaded = loaded
        self.value = value
        self.exc = exc
        self.error = error
        self.data = data  # None: no bytes to compare with (blob-backed)
        self.blobs = blobs


_kept: dict[int, _Kept] = {}
# What each body left of its cowns, for a behavior the daemon pipelined
# behind it (docs/protocol.md "Pipelined dispatch"): a dispatch that says
# `inherit` for a cown runs over this, not over a value sent. Entries go
# when the daemon says (forget) or a later body replaces them; a cown
# whose last body raised, or whose value names cowns or blobs, has none
# (kept here, those would keep cowns or shared memory alive). Only in a
# worker that keeps values (the daemon pipelines to no other).
_handoff: dict[int, _Kept] = {}
handoff = False  # set by bocd.worker when it keeps values


def kept_count() -> int:
    """How many cown values this worker keeps (tests, diagnostics)."""
    return len(_kept)


def _forget(kept: Kept) -> None:
    """Drops what the dispatch says to, before its values are read."""
    if kept is None:
        return
    _, _, forget, forget_all, _, _, forget_code, _ = kept
    if forget_all:
        _kept.clear()
        _handoff.clear()
        _code.forget_all()
    for ident in forget:
        _kept.pop(ident, None)
        _handoff.pop(ident, None)
    for code_key in forget_code:
        _code.forget(code_key)


def _drop_kept(ids: tuple[int, ...], kept: Kept) -> list[int]:
    """Drops the kept values of the behavior's cowns: the slots."""
    if kept is None:
        return _EMPTY
    versions = kept[0]
    for ident in ids:
        _kept.pop(ident, None)
    return [k for k, v in enumerate(versions) if v]


def _held(ident: int, version: int, in_program: bool) -> _Hold:
    """Ownership of a cown whose value this worker holds at `version`."""
    e = _kept.get(ident)
    if e is None or (e.version and e.version != version):
        # The daemon's model of what this worker keeps is wrong: nothing
        # can run over a value that is not here.
        have = "nothing" if e is None else f"version {e.version}"
        raise RuntimeError(
            f"bocd worker pid {os.getpid()}: the daemon sent cown "
            f"{ident:#x} as kept at version {version}, but this worker "
            f"keeps {have} of it")
    e.version = version
    if not e.loaded:
        return _Hold(e.data or b"", e.exc, e.error, None, in_program)
    hold = _Hold(b"", e.exc, 0, None, in_program)
    hold.value = hold.decoded = e.value
    hold.loaded = True
    hold.blobs = e.blobs
    return hold


def run(behavior: int, session: int, payload: bytes, ids: tuple[int, ...],
        values: tuple[tuple[bytes, bool, int], ...], has_result: bool,
        kept: Kept = None) -> Outcome:
    """Runs one dispatched behavior in a worker; see the module docstring."""
    if _cown._drops:
        _cown.flush_drops()  # the previous behavior's completion is out
    try:
        if len(ids) == 1 and (kept is None or not (
                kept[2] or kept[3] or kept[6])) and not _cown._pinned:
            data, exc, error = values[0]
            if kept is None:
                return _run_one(behavior, session, payload, ids[0], data,
                                exc, error, has_result, 0, False, False,
                                False, False)
            return _run_one(behavior, session, payload, ids[0], data, exc,
                            error, has_result, kept[0][0], kept[1][0],
                            kept[4], kept[5], kept[7][0])
        out = _run(behavior, session, payload, ids, values, has_result, kept)
        if out is None:
            return ()  # bounced: it ran nothing (_lacks_inherited)
        updates, result, _, dropped = out
        return updates, result, dropped
    except BaseException as e:
        return _failed(e, ids, kept)
    finally:
        _runtime.settle_mail()
        _runtime._tls.behavior = None


def run_one(behavior: int, session: int, payload: bytes, ident: int,
            data: bytes, exc: bool, error: int, has_result: bool,
            version: int, held: bool, code_held: bool,
            code_keep: bool, inherit: bool = False) -> Outcome:
    """run() for a dispatch over one cown that drops nothing kept first,
    its kept-value parts given flat (the client calls this instead of
    run() for such a dispatch: no tuples to build and unpack)."""
    if _cown._drops:
        _cown.flush_drops()  # the previous behavior's completion is out
    try:
        if not _cown._pinned:
            return _run_one(behavior, session, payload, ident, data, exc,
                            error, has_result, version, held, code_held,
                            code_keep, inherit)
    except BaseException as e:
        return _failed(e, (ident,), _kept_of(version, held, code_held,
                                             code_keep, inherit))
    finally:
        _runtime.settle_mail()
        _runtime._tls.behavior = None
    return run(behavior, session, payload, (ident,), ((data, exc, error),),
               has_result, _kept_of(version, held, code_held, code_keep,
                                    inherit))


def _kept_of(version: int, held: bool, code_held: bool,
             code_keep: bool, inherit: bool) -> Kept:
    """The Kept tuple of a one-cown dispatch that drops nothing first."""
    if not (version or held or code_held or code_keep or inherit):
        return None
    return ((version,), (held,), (), False, code_held, code_keep, (),
            (inherit,))


def _lacks_inherited(ids: tuple[int, ...], kept: Kept) -> bool:
    """Whether a pipelined dispatch names a cown to inherit that no body
    here left a value of: the daemon then sends it again with values."""
    if kept is None or True not in kept[7]:
        return False
    inherit = kept[7]
    return any(inherit[k] and ident not in _handoff
               for k, ident in enumerate(ids))


def _inherited(ident: int, in_program: bool) -> tuple[_Hold, _Kept]:
    """Ownership of a cown whose value the body before left here."""
    e = _handoff.pop(ident)  # the body owns it now; it leaves its own
    if not e.loaded:
        return _Hold(e.data or b"", e.exc, e.error, None, in_program), e
    hold = _Hold(b"", e.exc, 0, None, in_program)
    hold.value = hold.decoded = e.value
    hold.loaded = True
    return hold, e


# One slot's value after its body, as _commit found it: the bytes it
# pickles to when they are all it is (None: it names cowns or blobs), the
# cown ids it names, and the objects its encoding moved out (a Matrix),
# which a value this worker keeps gets back (_settle).
Now = tuple[Optional[bytes], list[int], Any]


def _commit(k: int, h: _Hold, orig: tuple[bytes, bool] | None
            ) -> tuple[Any, Now]:
    """After a body, slot `k`'s value, which the body may have changed
    (h.touched), as the completion sends it: (update, now), the update
    None when the value pickles to the bytes `orig` it came in. Raises
    what pickling it raised: the cown then keeps its old value."""
    v = h.value
    if (v is h.decoded and type(v) in _IMMUTABLE
            and orig is not None and orig[1] == bool(h.exc)):
        # The very object decoded, and it cannot change: no need to pickle
        # it again to know (a 1 MB bytes value costs a millisecond to
        # pickle).
        return None, (orig[0], _EMPTY, None)
    small = _serial.small_scalar(v)  # no Encoded to build
    if small is not None:
        data, refs, blobs, moved = small, _EMPTY, _EMPTY, None
    else:
        enc = _serial.encode(v, h.blobs)
        data, refs, blobs, moved = enc.data, enc.refs, enc.blobs, enc.moved
    now = (None if blobs or refs else data, refs, moved)
    # A value in blobs counts as changed: the body may have written into
    # a blob in place, and its bytes name the same blob either way.
    if blobs or orig != (data, bool(h.exc)):
        return (k, data, bool(h.exc), refs, blobs), now
    return None, now


def _result(value: Any, exc: bool, has_result: bool,
            raised: BaseException | None
            ) -> tuple[Result | None, BaseException | None]:
    """The behavior's result as the completion sends it (None when it
    has no result cown), and what the body raised: `raised`, or the error
    that replaced the result if that could not be pickled."""
    if not has_result:
        return None, raised
    if value is None and not exc:
        return _NONE_RESULT, raised
    result, unpicklable = _encode_result(value, exc)
    return result, raised if unpicklable is None else unpicklable


def _settle(ident: int, h: _Hold, orig: tuple[bytes, bool] | None,
            wrote: bool, now: Now | None, version: int, inherit: bool,
            raised: BaseException | None) -> bool:
    """After a body and its result, what this worker keeps of one of its
    cowns: true when it dropped the kept value (the completion names the
    slot). `now` is what _commit found (None: not written back, or it
    failed); `raised`, what the body (or pickling) raised.

    With `version` (not 0), the daemon asked this worker to keep the
    value (docs/protocol.md "Kept values"). A body that raised drops it:
    its objects may be half-changed, and what was committed is the
    daemon's to send again. A value that embeds cown handles is dropped
    too: kept, its handles would keep those cowns alive here. A value
    written back, or inherited, is kept as this worker's own (version 0):
    the version the dispatch named is older.

    In a worker that pipelines (handoff), what the body leaves for a
    successor (_handoff): the object it holds now with the bytes it
    pickles to, or the bytes it came in if it was never read. Run after
    the result: a matrix the cown's commit moved must not be given back
    to a kept value before the result has tried to take it (it is the
    cown's, not the result's)."""
    dropped = False
    if version:
        if raised is not None or (now is not None and now[1]):
            _kept.pop(ident, None)
            dropped = True
        elif h.loaded:
            # The object kept is the one the completion's encoding moved
            # from (a Matrix over its blob): it stays this worker's, over
            # the same memory the daemon now names.
            if now is not None and now[2]:
                for mover, obj, token in reversed(now[2]):
                    mover.give_back(obj, token)
            _kept[ident] = _Kept(0 if wrote or inherit else version, True,
                                 h.value, bool(h.exc), 0,
                                 now[0] if now is not None else None,
                                 h.blobs)
        elif not h.error:  # never read: the bytes it came in
            _kept[ident] = _Kept(0 if wrote or inherit else version, False,
                                 None, h.exc, 0, h.data, None)
        else:  # a daemon-written error, never read: not worth keeping
            _kept.pop(ident, None)
            dropped = True
    if not handoff:
        return dropped
    if raised is not None:
        _handoff.pop(ident, None)  # half-changed: the daemon's is right
    elif h.touched:
        if now is None or now[0] is None or now[1]:
            _handoff.pop(ident, None)
        else:
            _handoff[ident] = _Kept(0, True, h.value, bool(h.exc), 0,
                                    now[0], None)
    elif h.loaded:
        if orig is None or orig[0] is None or h.blobs:
            _handoff.pop(ident, None)
        else:
            _handoff[ident] = _Kept(0, True, h.value, orig[1], 0, orig[0],
                                    None)
    else:
        _handoff[ident] = _Kept(0, False, None, h.exc, h.error, h.data,
                                None)
    return dropped


class PinnedRun:
    """The runner pump() hands the client for one pinned behavior; keeps
    what the body raised (None when it returned) in ``raised``."""

    __slots__ = ("raised",)

    def __init__(self) -> None:
        self.raised: BaseException | None = None

    def __call__(self, behavior: int, session: int, payload: bytes,
                 ids: tuple[int, ...],
                 values: tuple[tuple[bytes, bool, int], ...],
                 has_result: bool, kept: Kept = None) -> Outcome:
        try:
            out = _run(behavior, session, payload, ids, values, has_result,
                       kept)
            if out is None:  # pinned work is never pipelined; for the types
                return ()
            updates, result, self.raised, dropped = out
            return updates, result, dropped
        except BaseException as e:
            return _failed(e, ids, kept)
        finally:
            _runtime._tls.behavior = None


# Read, never changed.
_NONE_RESULT: Result = (pickle.dumps(None, 5), False, [], [])


def _pinned_param(ident: int) -> PinnedCown[Any]:
    """A borrowed handle to this program's pinned cown (made here, so no
    local of _run keeps it and end_borrowing sees only real escapes)."""
    pc = PinnedCown.__new__(PinnedCown)
    pc._id, pc._held, pc._hold = ident, False, None
    return pc


def _run(behavior: int, session: int, payload: bytes, ids: tuple[int, ...],
         values: tuple[tuple[bytes, bool, int], ...], has_result: bool,
         kept: Kept = None
         ) -> tuple[list[Any], Result | None, BaseException | None,
                    list[int]] | None:
    # Every step here is paid once per behavior: the worker's share of a
    # tiny behavior's cost is mostly this function (bench/py_cpu_split.py).
    _forget(kept)
    if _lacks_inherited(ids, kept):
        # What was pipelined behind this inherits from it, not from what
        # is here: it must bounce too.
        for ident in ids:
            _handoff.pop(ident, None)
        return None
    _runtime._tls.behavior = (behavior, session)
    borrowed: list[Any] = []
    _cown._borrowed.handles = borrowed
    _cown._taken.handles = None  # acquire() inside the body makes it
    raised: BaseException | None = None
    params: dict[int, Any] = {}
    holds: list[_Hold | None] = []
    new = CownCapsule.__new__
    pinned = _cown._pinned
    in_program = not _runtime._is_worker  # a pinned body, run by pump()
    # The bytes each value was decoded from, and its flag: a value that
    # pickles to the same bytes again is unchanged and is not sent back.
    # Comparing the bytes is exact (equal bytes unpickle to the same
    # value, so the committed value is the same either way) and costs a
    # memcmp over bytes already in hand; a digest would cost a hash over
    # the same bytes and keep nothing smaller worth having.
    origs: list[tuple[bytes, bool] | None] = []
    versions = kept[0] if kept is not None else None
    inherit = kept[7] if kept is not None else None
    for k, (ident, (data, exc, error)) in enumerate(zip(ids, values)):
        if pinned and ident in pinned:
            # A pinned body in this program's pump(): the value is here.
            params[ident] = _pinned_param(ident)
            holds.append(None)
            origs.append(None)
            continue
        cap = new(CownCapsule)
        cap._id = ident
        cap._held = False
        if inherit is not None and inherit[k]:
            hold, entry = _inherited(ident, in_program)
            data, exc, error = entry.data, entry.exc, entry.error  # type: ignore[assignment]
        elif kept is not None and kept[1][k]:
            hold = _held(ident, kept[0][k], in_program)
            entry = _kept[ident]
            data, exc, error = entry.data, entry.exc, entry.error  # type: ignore[assignment]
        else:
            hold = _Hold(data, exc, error, None, in_program)
        cap._hold = hold
        params[ident] = cap  # a duplicate id aliases the same cown
        holds.append(hold)
        origs.append((data, bool(exc)) if data is not None and not error
                     else None)
    try:
        try:
            fn, shape, extras = (_function(payload) if kept is None else
                                 _function(payload, kept[4], kept[5]))
            if shape is None:
                args = [params[i] for i in ids]
            elif len(shape) == 1 and type(shape[0]) is int:
                args = [params[shape[0]]]
            else:
                args = [params[s] if type(s) is int else [params[i] for i in s]
                        for s in shape]
            value, exc = fn(*args, *extras), False
            del fn, args
        except BaseException as e:
            _note(e)
            value, exc = e, True
            raised = e
        updates = []
        nows: list[Now | None] = [None] * len(holds)
        wrote = [False] * len(holds)
        for k, h in enumerate(holds):
            if h is not None and h.touched:
                try:
                    update, nows[k] = _commit(k, h, origs[k])
                except BaseException as err:  # the cown keeps its old value
                    value, exc = err, True
                    raised = err
                    continue
                if update is not None:
                    updates.append(update)
                    wrote[k] = True
        if value is None and not exc:  # the commonest result, inline
            result = _NONE_RESULT if has_result else None
        else:
            result, raised = _result(value, exc, has_result, raised)
        del value
        dropped: list[int] = []
        if kept is not None or handoff:
            for k, ident in enumerate(ids):
                h = holds[k]
                version = versions[k] if versions is not None else 0
                if h is not None and (version or handoff) and _settle(
                        ident, h, origs[k], wrote[k], nows[k], version,
                        inherit is not None and inherit[k], raised):
                    dropped.append(k)
        return updates, result, raised, dropped
    finally:
        for param in params.values():
            param._hold = None  # ownership ends with the body
            borrowed.append(param)
        # No local may keep a handle: end_borrowing counts references.
        del params, holds
        cap = param = None  # type: ignore[assignment]
        hold = h = entry = None  # type: ignore[assignment]
        del cap, param, hold, h, entry
        if _cown._taken.handles:
            _cown.end_body()  # what the body acquired and kept
        for hook in _runtime.behavior_end_hooks:
            hook()  # the noticeboard snapshot, a worker's output, ...
        end_borrowing(borrowed)


def _run_one(behavior: int, session: int, payload: bytes, ident: int,
             data: bytes, exc: bool, error: int, has_result: bool,
             version: int, held: bool, code_held: bool,
             code_keep: bool, inherit: bool) -> Outcome:
    """_run for a worker's commonest dispatch, a behavior over one cown
    that drops nothing kept first: the same steps and outcome with one
    slot, without _run's per-slot lists (a worker's share of a tiny
    behavior's cost is mostly these steps). The kept-value parts come flat
    (version 0 and False: not kept). Its steps before the body follow
    _run's; after it, both call the same per-slot helpers (_commit,
    _settle), so the rules for what is sent, kept and handed on are made
    in one place."""
    if inherit and ident not in _handoff:
        return ()  # bounced, as _run does (_lacks_inherited)
    _runtime._tls.behavior = (behavior, session)
    borrowed: list[Any] = []
    _cown._borrowed.handles = borrowed
    _cown._taken.handles = None
    raised: BaseException | None = None
    cap = CownCapsule.__new__(CownCapsule)
    cap._id = ident
    cap._held = False
    in_program = not _runtime._is_worker
    if inherit:
        hold, entry = _inherited(ident, in_program)
        data, exc, error = entry.data, entry.exc, entry.error  # type: ignore[assignment]
        entry = None  # type: ignore[assignment]
    elif held:
        hold = _held(ident, version, in_program)
        entry = _kept[ident]
        data, exc, error = entry.data, entry.exc, entry.error  # type: ignore[assignment]
        entry = None
    else:
        hold = _Hold(data, exc, error, None, in_program)
    cap._hold = hold
    orig = (data, bool(exc)) if data is not None and not error else None
    try:
        try:
            fn, shape, extras = _function(payload, code_held, code_keep)
            if shape is None or (len(shape) == 1 and type(shape[0]) is int):
                out, exc = fn(cap, *extras), False
            else:
                args = [cap if type(s) is int else [cap for _ in s]
                        for s in shape]
                out, exc = fn(*args, *extras), False
                del args
            del fn
        except BaseException as e:
            _note(e)
            out, exc = e, True
            raised = e
        update = now = None
        if hold.touched:
            try:
                update, now = _commit(0, hold, orig)
            except BaseException as err:  # the cown keeps its old value
                out, exc = err, True
                raised = err
        if out is None and not exc:  # the commonest result, inline
            result = _NONE_RESULT if has_result else None
        else:
            result, raised = _result(out, exc, has_result, raised)
        del out
        dropped: list[int] = _EMPTY
        if (version or handoff) and _settle(ident, hold, orig,
                                            update is not None, now,
                                            version, inherit, raised):
            dropped = [0]
        return [update] if update is not None else _EMPTY, result, dropped
    finally:
        cap._hold = None  # ownership ends with the body
        borrowed.append(cap)
        # No local may keep a handle: end_borrowing counts references.
        cap = hold = None  # type: ignore[assignment]
        del cap, hold
        if _cown._taken.handles:
            _cown.end_body()
        for hook in _runtime.behavior_end_hooks:
            hook()
        end_borrowing(borrowed)


_EMPTY: list[Any] = []  # read, never changed
# Values that no body can change in place (the scalars the C pickler writes
# alone): one still the object decoded is unchanged.
_IMMUTABLE = _serial._SCALARS

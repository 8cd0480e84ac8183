"""Cown handles.

A handle names a cown in the daemon by id. Holding a value needs
ownership: inside a behavior, its parameters own their cowns for the body;
on the main side, ``acquire()`` is an ordered request in the cown's queue,
not bocpy's steal, held until ``release()`` (docs/python.md
"Holding cowns").

Lifetime (docs/python.md "Lifetime"): this process tells the daemon when it
gains its first handle to a cown and when it drops its last one. Handles
made while a behavior runs (its parameters, cowns in its captures or
values) are *borrowed*: the running behavior keeps those cowns alive, so
they cost nothing unless they outlive the body (see ``promote_escaped``).
"""
from __future__ import annotations

import os
import pickle
import sys
import threading
import weakref
from typing import Any, Generic, TypeVar, cast

from . import _core, _runtime, _serial

T = TypeVar("T")

_NOT_OWNER = "The current interpreter does not own this cown"
# What unwrap() asks of acquire_begin: a plain value (its bytes start
# with the prefix) is taken out in one step, leaving None, as release()
# would commit it.
_TAKE = (_serial.encode(None).data, _serial.PLAIN_PREFIX)

# Live held handles of this process per cown id; the daemon holds one
# handle for this session while the count is above zero.
_counts: dict[int, int] = {}
# Re-entrant: a finalizer (__del__ of a handle in a garbage cycle) may run
# on a thread that already holds it.
_counts_lock = threading.RLock()
# Handles materialized during the running behavior, per thread.
_borrowed = threading.local()


def _register(ident: int, fresh: bool) -> None:
    """Counts a held handle; `fresh` when the daemon already gave us one."""
    if fresh:
        # An id this process has just made (a new cown, a result): in no
        # count and no pending drop yet, and no other thread knows it, so
        # one dict store (atomic under the GIL) does. Every behavior a
        # program schedules passes here.
        _counts[ident] = 1
        return
    with _counts_lock:
        n = _counts.get(ident, 0)
        _counts[ident] = n + 1
        first = n == 0
        if first and ident in _drops:
            # Its drop has not been sent: cancel it and keep the handle
            # (a hold now would be a no-op the late drop then undoes).
            del _drops[ident]
            return
    if first:
        _runtime.session().hold([ident])


# Ids whose last handle died (a dict as an ordered set), sent to the daemon
# in batches: a late drop only keeps a cown alive a little longer, and one
# message per dead result cown would cost more than the behavior that made
# it. In a worker they are sent only between behaviors: a drop sent while a
# body runs could overtake its completion, which may store the cown.
_drops: dict[int, None] = {}
DROP_BATCH = 256


def _unregister(ident: int) -> None:
    with _counts_lock:
        n = _counts.get(ident, 0) - 1
        if n > 0:
            _counts[ident] = n
            return
        _counts.pop(ident, None)
        _drops[ident] = None
        # Not while a body runs (in a worker, or a pinned body here): a drop
        # could overtake the completion that stores the cown.
        if (len(_drops) < DROP_BATCH or _runtime.in_worker()
                or _runtime.current_behavior() is not None):
            return
    flush_drops()


def flush_drops() -> None:
    """Sends the batched drops (before a quiesce, at exit, when full; in a
    worker before each behavior)."""
    global _drops
    with _counts_lock:
        ids, _drops = list(_drops), {}
    s = _runtime._session
    if s is None or not ids:
        return
    try:
        s.drop_many(ids)
    except Exception:  # the session is gone: the daemon dropped them all
        pass


def decode(data: bytes, exception: bool, error: int,
           keep: dict[str, Any] | None = None,
           copy: bool = False) -> tuple[Any, bool]:
    """A stored value: (value, exception flag). A daemon-written error
    becomes an exception with its text: MemoryError for the program's byte
    cap, RuntimeError for the rest (the executor died, say). Shared-memory
    blobs it is read from are added to `keep`."""
    if error:
        kind = MemoryError if error == _core.MEMORY_CAP else RuntimeError
        return kind(data.decode("utf-8", "replace")), True
    return _serial.loads(data, keep, copy), exception


UNREAD: Any = object()  # _Hold.decoded before the value is read


class _Hold:
    """Ownership of one cown: its value while owned, loaded lazily."""

    __slots__ = ("data", "error", "value", "exc", "loaded", "touched", "lease",
                 "blobs", "copy", "via", "decoded")

    def __init__(self, data: bytes, exc: bool, error: int,
                 lease: int | None, copy: bool, via: Any = None) -> None:
        self.data = data
        self.error = error
        self.value: Any = None
        self.exc = exc
        self.loaded = False
        self.touched = False  # must be written back: it may have changed
        self.lease = lease    # main side: the daemon's id for the request
        # Blobs the value was read from (made when a value is read from any).
        self.blobs: dict[str, Any] | None = None
        # Whether big buffers are copied out of shared memory: in the
        # program, which may keep the value after its cown moves on (a
        # worker's ownership ends with the body, so it reads them in place).
        self.copy = copy
        self.via = via  # the session holding `lease` (acquire())
        # The object decoded from `data` (UNREAD before): a body that
        # leaves an immutable value as this very object has not changed it.
        self.decoded: Any = UNREAD

    def get(self) -> Any:
        if not self.loaded:
            data = self.data
            if (data[:1] == _serial.PLAIN_PREFIX and not self.error
                    and not _serial.keep_own_classes):
                # A plain pickle stream (the usual small value) where no
                # classes are kept (a worker): what decode() ends in
                # (_serial.unpickle's first case), without its steps.
                self.value = pickle.loads(data)
            else:
                if self.blobs is None:
                    self.blobs = {}
                self.value, self.exc = decode(data, self.exc, self.error,
                                              self.blobs, self.copy)
            self.loaded = True
            self.decoded = self.value
            self.data = b""
        self.touched = True  # the caller may mutate it in place
        return self.value

    def set(self, value: Any) -> None:
        self.value = value
        self.exc = False
        self.loaded = self.touched = True


class _Handle(Generic[T]):
    __slots__ = ("_id", "_held", "_hold", "__weakref__")
    _kind = "C"
    _id: int              # the daemon's id of the cown
    _held: bool           # this handle counts in _counts (not borrowed)
    _hold: _Hold | None   # ownership while held here

    def __init__(self, value: T) -> None:
        if isinstance(value, CownCapsule) and type(value) is CownCapsule:
            # Another handle to the same cown.
            self._id = value._id
            self._hold = None
            self._held = False
            self._adopt()
            return
        self._hold = None
        self._held = False
        e = _serial.encode(value)  # fails here if unpicklable
        try:
            s = _runtime.session()
            self._id = s.create(e.data, e.refs, e.blobs)
        except BaseException:
            e.discard()
            raise
        self._held = True
        _register(self._id, fresh=True)

    @classmethod
    def _from_id(cls, ident: int) -> "_Handle[Any]":
        h = cls.__new__(cls)
        h._id = ident
        h._hold = None
        h._held = False
        h._adopt()
        return h

    def _adopt(self) -> None:
        """Held on the main side; borrowed while a behavior runs here."""
        if _runtime.current_behavior() is not None:
            lst = getattr(_borrowed, "handles", None)
            if lst is not None:
                lst.append(self)
                return
        self._held = True
        _register(self._id, fresh=False)

    def __del__(self) -> None:
        try:
            h = self._hold
            if h is not None and h.lease is not None and \
                    not _shared_elsewhere(self, h):
                _end_hold(self._id, h)  # nobody can release it any more
        except BaseException:
            pass
        try:
            if self._held:
                self._held = False
                _unregister(self._id)
        except Exception:
            pass

    # ---- value access -------------------------------------------------
    @property
    def value(self) -> T:
        """The value, while this program or behavior owns the cown; else
        RuntimeError. Setting it clears the exception flag."""
        if self._hold is None:
            raise RuntimeError(_NOT_OWNER)
        return cast(T, self._hold.get())

    @value.setter
    def value(self, value: T) -> None:
        if self._hold is None:
            raise RuntimeError(_NOT_OWNER)
        self._hold.set(value)

    @property
    def exception(self) -> bool:
        """Whether the value is an exception a behavior raised (owner
        only). May be set or cleared by hand."""
        if self._hold is None:
            raise RuntimeError(_NOT_OWNER)
        self._hold.get()
        return bool(self._hold.exc)

    @exception.setter
    def exception(self, flag: Any) -> None:
        if self._hold is None:
            raise RuntimeError(_NOT_OWNER)
        self._hold.get()
        self._hold.exc = bool(flag)

    def _owned(self) -> bool:
        return self._hold is not None

    def acquire(self) -> None:
        """Waits for behaviors scheduled earlier on this cown, then holds it
        until release(): an ordered request in the cown's queue, not
        bocpy's steal (docs/python.md "Holding cowns"). Interruptible
        (Ctrl-C); on the main thread it runs this program's pinned work
        while it waits, which the cown may be queued behind.

        Inside a behavior it may take a cown outside the behavior's
        request set; the body waits for it, and releasing it is the body's
        job (a hold left at the end of the body is released then). It
        deadlocks if the cown is held by a behavior that waits for this
        one, as in bocpy."""
        self._acquire(None)

    def _acquire(self, take: tuple[bytes, bytes] | None
                 ) -> tuple[bytes, bool, int] | None:
        """acquire(). With `take` (_TAKE: the encoding of None and the
        prefix of a plain value), a plain value is taken out instead and
        returned as its (data, exc, error), the cown left holding None and
        released at once (not held): the cown's next behavior need not
        wait for this thread to release it."""
        if self._hold is not None:
            return None
        if _runtime.current_behavior() is not None:
            session = _runtime.waiting_session()
            lease, value = wait_for_lease(session, session.acquire_begin(
                self._id, take), pump=False)
            if lease is None:
                return value
            self._hold = _Hold(*value, lease, True, session)
            taken = getattr(_taken, "handles", None)
            if taken is None:
                taken = _taken.handles = []
            taken.append(self)
            return None
        with _holds_lock:
            shared = _main_holds.get(self._id)
            if shared is not None:  # another handle to it holds it
                self._hold = shared[0]
                shared[1].append(weakref.ref(self))
                return None
        session = _runtime.session()
        lease, value = wait_for_lease(session, session.acquire_begin(
            self._id, take),
            pump=threading.current_thread() is threading.main_thread())
        if lease is None:
            return value
        self._hold = h = _Hold(*value, lease, True, session)
        with _holds_lock:
            _main_holds[self._id] = (h, [weakref.ref(self)])
        return None

    def release(self) -> None:
        """Commits the held value and hands the cown to its next behavior.

        If the value cannot be pickled, the cown is released unchanged and
        the pickling error is raised."""
        h = self._hold
        if h is None or h.lease is None:
            return  # not held, or a behavior's parameter (held by the body)
        self._hold = None
        _end_hold(self._id, h)

    def unwrap(self) -> T:
        """Takes the value out (leaving None) once the cown is free; raises
        it instead when it holds a raised exception."""
        held = self._hold is not None
        if not held:
            taken = self._acquire(_TAKE)
            if taken is not None:
                # Taken and released in one step (Client Take).
                h = _Hold(*taken, None, True)
                value = h.get()
                if h.exc and isinstance(value, BaseException):
                    raise _shown(value)
                return cast(T, value)
        try:
            value = self.value
            exc = self._hold.exc  # type: ignore[union-attr]
            self._hold.set(None)  # type: ignore[union-attr]
        finally:
            if not held:
                self.release()
        if exc and isinstance(value, BaseException):
            raise _shown(value)
        return value

    def __enter__(self) -> T:
        self.acquire()
        return self.value

    def __exit__(self, *exc: object) -> None:
        self.release()

    # ---- identity -----------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Handle):
            return self._id == other._id
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, _Handle):
            return self._id != other._id
        return NotImplemented

    def __lt__(self, other: "_Handle[Any]") -> bool:
        return self._id < other._id

    def __le__(self, other: "_Handle[Any]") -> bool:
        return self._id <= other._id

    def __gt__(self, other: "_Handle[Any]") -> bool:
        return self._id > other._id

    def __ge__(self, other: "_Handle[Any]") -> bool:
        return self._id >= other._id

    def __hash__(self) -> int:
        return hash(self._id)

    def __repr__(self) -> str:
        if self._hold is None:
            shown = "<not owner>"
        else:
            try:
                shown = repr(self._hold.get())
            except Exception as e:  # an undecodable value
                shown = f"<unreadable: {e!r}>"
        return f"{type(self).__name__}(0x{self._id:x}, value={shown})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Reached only by a pickler other than bocd's (which writes ids).
        return (_materialize, (self._kind, self._id))


# Cowns this program holds outside behaviors (acquire(), with, wait()), by
# id: the hold and weak references to the handles that share it, so that
# every handle to the cown sees it held and one release() ends it for all.
_main_holds: dict[int, tuple[_Hold, list[weakref.ref[_Handle[Any]]]]] = {}
_holds_lock = threading.Lock()
# Cowns wait() left held (hold_frame_cowns): released when a new runtime
# starts, so behaviors scheduled then do not wait behind them.
_wait_held: set[int] = set()
# Handles the running behavior acquired, per thread (.handles; see
# begin_body).
_taken = threading.local()
# Seconds a blocking acquire waits before Python looks for signals.
SLICE_S = 0.1


def _shared_elsewhere(handle: "_Handle[Any]", h: _Hold) -> bool:
    """Whether another live handle shares `handle`'s main-side hold."""
    with _holds_lock:
        shared = _main_holds.get(handle._id)
        if shared is None or shared[0] is not h:
            return False
        return any(r() is not None and r() is not handle for r in shared[1])


def _end_hold(ident: int, h: _Hold) -> None:
    """Releases hold `h` on cown `ident` (once, whichever handle asks),
    committing its value when it may have changed; no handle sharing it
    holds it any more. If the value cannot be pickled, the cown is
    released unchanged and the pickling error is raised."""
    lease, h.lease = h.lease, None
    if lease is None:
        return
    with _holds_lock:
        shared = _main_holds.get(ident)
        if shared is not None and shared[0] is h:
            del _main_holds[ident]
            _wait_held.discard(ident)
            for ref in shared[1]:
                other = ref()
                if other is not None and other._hold is h:
                    other._hold = None
    s = h.via
    if not h.touched:
        s.release(lease, ident, None, False, [], [])
        return
    try:
        e = _serial.encode(h.value, h.blobs)
    except BaseException:
        s.release(lease, ident, None, False, [], [])
        raise
    try:
        s.release(lease, ident, e.data, h.exc, e.refs, e.blobs)
    except BaseException:
        e.discard()
        raise


def wait_for_lease(session: Any, request: int, pump: bool
                   ) -> tuple[int | None, tuple[bytes, bool, int]]:
    """Waits for acquire request `request` in slices (so Ctrl-C raises
    here), running this program's pinned work meanwhile when `pump`; on
    any exception the request is given up, a late grant let go."""
    try:
        # A free cown is granted within a round trip: only a longer wait
        # holds up what the daemon pipelined behind this body.
        got = session.acquire_wait(request, _runtime.FIRST_WAIT_S, pump)
        if type(got) is tuple:
            return got
        _runtime.about_to_wait()
        while True:
            if got == 2:
                _runtime.pump_pinned()
            got = session.acquire_wait(request, SLICE_S, pump)
            if type(got) is tuple:
                return got
    except BaseException:
        session.acquire_cancel(request)
        raise


def end_body() -> None:
    """A behavior ends on this thread: what its body acquired and left
    held is released (committing its value, as leaving ``with`` does)."""
    lst = getattr(_taken, "handles", None)
    _taken.handles = None
    for handle in lst or ():
        try:
            handle.release()
        except BaseException:  # unpicklable: released unchanged already
            pass


def hold_frame_cowns(frame: Any) -> None:
    """What wait() does to cowns (docs/python.md "Holding cowns"): every
    Cown that a local or global of `frame` and the frames below it refers
    to directly comes out held by this program, so its value is readable.
    Ordered acquires, sent together and then waited for; cowns reachable
    only through containers are left alone (acquire() reads them)."""
    found: dict[int, list[_Handle[Any]]] = {}
    scopes: set[int] = set()
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            if id(scope) in scopes:
                continue
            scopes.add(id(scope))
            for value in list(scope.values()):
                if isinstance(value, _Handle) and type(value) is not PinnedCown \
                        and value._hold is None:
                    found.setdefault(value._id, []).append(value)
        frame = frame.f_back
    with _holds_lock:
        for ident in [i for i in found if i in _main_holds]:
            handles = found.pop(ident)
            for handle in handles:
                handle._hold = _main_holds[ident][0]
                _main_holds[ident][1].append(weakref.ref(handle))
    if not found:
        return
    session = _runtime.session()
    pending = [(ident, session.acquire_begin(ident)) for ident in found]
    try:
        while pending:
            ident, request = pending[0]
            lease, value = wait_for_lease(session, request, pump=True)
            pending.pop(0)
            h = _Hold(*value, lease, True, session)
            handles = found[ident]
            for handle in handles:
                handle._hold = h
            with _holds_lock:
                _main_holds[ident] = (h, [weakref.ref(x) for x in handles])
                _wait_held.add(ident)
    except BaseException:
        for _, request in pending[1:]:
            session.acquire_cancel(request)
        raise


def release_wait_holds() -> None:
    """A new runtime starts: the cowns the last wait() left held go back,
    with what the program wrote to them (whether or not a handle to them
    is still alive)."""
    with _holds_lock:
        held = [(i, _main_holds[i][0]) for i in _wait_held if i in _main_holds]
        _wait_held.clear()
    for ident, h in held:
        try:
            _end_hold(ident, h)
        except Exception:  # unpicklable: released unchanged
            pass


class Cown(_Handle[T]):
    """A concurrently-owned value. ``Cown(value)`` pickles `value` at once
    (an unpicklable value fails here) into a new cown that nobody owns."""

    __slots__ = ()
    _kind = "C"

    @property
    def acquired(self) -> bool:
        """Whether this program (or running behavior) owns the cown."""
        return self._owned()


class CownCapsule(_Handle[T]):
    """The handle a behavior's parameters and returned cowns arrive as.
    Its ``acquired`` is a method (as in bocpy)."""

    __slots__ = ()
    _kind = "K"

    def acquired(self) -> bool:  # type: ignore[override,unused-ignore]
        """Whether the running behavior (or this program) owns the cown."""
        return self._owned()

    @property
    def impl(self) -> "CownCapsule[T]":
        """The capsule itself (bocpy compatibility)."""
        return self


# Values of this program's pinned cowns, by id: they never leave the
# process (docs/python.md "Pinned cowns"). One stays until the daemon
# reports the cown freed (forget_freed_pinned): a value or queued behavior
# may name the cown after this process's last handle to it is gone.
_pinned: dict[int, Any] = {}
_pinned_exc: set[int] = set()  # ids whose exception flag was set by hand
_MISSING = object()


def _pinned_error(ident: int) -> RuntimeError:
    return RuntimeError(
        f"cannot acquire pinned cown {ident:#x} from non-main interpreter "
        f"(interp={os.getpid()}); pinned cowns are owned by the main "
        "interpreter and acquired only by the main pump")


class PinnedCown(Cown[T]):
    """A cown whose value stays in this program, as a plain reference: never
    pickled, its identity kept. Every behavior whose request set holds it
    runs on this program's main thread, in ``pump()`` (or ``wait()`` and
    ``quiesce()``, which pump). The handle travels freely; the value does
    not."""

    __slots__ = ()
    _kind = "P"

    def __init__(self, value: T) -> None:
        if _runtime.in_worker():
            raise RuntimeError(
                "PinnedCown must be constructed on the main interpreter")
        s = _runtime.session()
        forget_freed_pinned(s)
        self._hold = None
        self._held = False
        self._id = s.create_pinned()
        _pinned[self._id] = value
        self._held = True
        _register(self._id, fresh=True)

    @property
    def value(self) -> T:
        """The value: always readable in the owning program (between
        pumps it is consistent); elsewhere RuntimeError."""
        value = _pinned.get(self._id, _MISSING)
        if value is _MISSING:
            raise _pinned_error(self._id)
        return cast(T, value)

    @value.setter
    def value(self, value: T) -> None:
        if self._id not in _pinned:
            raise _pinned_error(self._id)
        _pinned[self._id] = value
        _pinned_exc.discard(self._id)  # as writing any cown's value does

    @property
    def exception(self) -> bool:
        """The exception flag, as set by hand (a pinned cown's value is
        never an error a behavior stored); in the owning program only."""
        if self._id not in _pinned:
            raise _pinned_error(self._id)
        return self._id in _pinned_exc

    @exception.setter
    def exception(self, flag: Any) -> None:
        if self._id not in _pinned:
            raise _pinned_error(self._id)
        if flag:
            _pinned_exc.add(self._id)
        else:
            _pinned_exc.discard(self._id)

    @property
    def acquired(self) -> bool:
        """True in the owning program, where the value always is."""
        return self._id in _pinned

    def acquire(self) -> None:
        """Nothing to wait for in the owning program; elsewhere an error."""
        if self._id not in _pinned:
            raise _pinned_error(self._id)

    def release(self) -> None:
        """Nothing to commit: the value never left."""

    def unwrap(self) -> T:
        """Takes the value out, leaving None."""
        value = self.value
        self.value = None  # type: ignore[assignment]
        return value

    def __repr__(self) -> str:
        value = _pinned.get(self._id, _MISSING)
        shown = "<not owner>" if value is _MISSING else repr(value)
        return f"PinnedCown({shown})"


def forget_freed_pinned(session: Any) -> None:
    """Drops the values of this program's pinned cowns the daemon freed."""
    for ident in session.take_freed_pinned():
        _pinned.pop(ident, None)
        _pinned_exc.discard(ident)


class RemoteTraceback(Exception):
    """The traceback a worker noted on an exception, shown as its cause on
    Python 3.10, which does not print notes (as multiprocessing does)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _shown(e: BaseException) -> BaseException:
    """`e`, made to show the worker's traceback when raised here."""
    notes = getattr(e, "__notes__", None)
    if sys.version_info < (3, 11) and notes and e.__cause__ is None:
        e.__cause__ = RemoteTraceback("\n".join(notes))
    return e


def _materialize(kind: str, ident: int) -> _Handle[Any]:
    cls = CownCapsule if kind == "K" else PinnedCown if kind == "P" else Cown
    return cls._from_id(ident)


_serial.materialize = _materialize
_serial.handle_type = _Handle
def _report_unhandled(ident: int, value: tuple[bytes, bool, int]) -> None:
    """Writes to stderr that result cown `ident` went holding an exception
    nobody took (unwrap() takes it), as bocpy does: its repr, and the
    traceback the worker noted on it."""
    data, _, error = value
    try:
        shown, _ = decode(data, True, error) if data else (None, True)
        text = "an unhandled exception" + (
            f": {shown!r}" if data else " (not shown: it named cowns or "
            "shared memory that went with it)")
        notes = getattr(shown, "__notes__", None) or []
    except Exception as e:  # a class this program cannot load, say
        text, notes = f"an unhandled exception that cannot be read here ({e!r})", []
    lines = [f"Cown(0x{ident:x}) contains {text}", *notes]
    sys.stderr.write("\n".join(lines) + "\n")


def _drop_everything() -> None:
    """At exit: every cown this program holds goes (so the daemon reports
    results holding exceptions nobody took, as bocpy does when its cowns
    die), and the reports are waited for, a round trip at most."""
    with _holds_lock:
        held = [(i, h) for i, (h, _) in _main_holds.items()]
    for ident, h in held:  # a held cown is not freed while held
        try:
            _end_hold(ident, h)
        except Exception:
            pass
    with _counts_lock:
        _drops.update(dict.fromkeys(_counts))
        _counts.clear()
    flush_drops()
    s = _runtime._session
    if s is not None and not _runtime.in_worker():
        try:
            s.sync_pinned(1.0)  # answered after what the drops caused
        except Exception:
            pass


_runtime.report_unhandled = _report_unhandled
_runtime.at_shutdown(_drop_everything)
_runtime.at_start(release_wait_holds)


def begin_borrowing() -> list[_Handle[Any]]:
    lst: list[_Handle[Any]] = []
    _borrowed.handles = lst
    return lst


def end_borrowing(lst: list[_Handle[Any]]) -> None:
    """After a body: borrowed handles still referenced elsewhere (stored in
    a global, say) become held, before the behavior completes."""
    _borrowed.handles = None
    for h in lst:
        # References beyond the list's, the loop variable's and the call's
        # own (whatever this interpreter counts for those: see _BASELINE).
        if sys.getrefcount(h) > _BASELINE:
            h._held = True
            _register(h._id, fresh=False)
    lst.clear()


def _baseline() -> int:
    """getrefcount() of an object held only by a list, in end_borrowing's
    loop shape (newer CPythons borrow some references and count fewer)."""
    lst = [object()]
    n = 0
    for h in lst:
        n = sys.getrefcount(h)
    return n


_BASELINE = _baseline()

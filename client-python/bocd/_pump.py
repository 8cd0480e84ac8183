"""pump(): running this program's pinned behaviors on its main thread.

A behavior whose request set holds a PinnedCown of this program is routed
here by the daemon and waits in the client's pinned queue; ``pump()`` runs
queued ones one at a time, to completion, on the calling thread.
``wait()`` and ``quiesce()`` pump while they wait (``wait_pumping``),
woken at once when pinned work arrives and parking at most
``set_wait_pump_poll`` milliseconds. See docs/python.md "Pinned cowns", and
its table "Compatibility with bocpy 0.14" for where bocd differs.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, NamedTuple

from . import _body, _cown, _runtime

MAX_MS = 9223372036853  # bocpy's bound: ms that still fit in ns as int64

_log = logging.getLogger("bocd.pump")


class PumpResult(NamedTuple):
    """What pump() did: behaviors run, whether the deadline stopped it
    before the queue drained, and how many bodies raised an Exception."""
    executed: int
    deadline_reached: bool
    raised: int


class _Watchdog(NamedTuple):
    warn_ms: int | None = None  # off until set_pump_watchdog is called
    raise_ms: int | None = None
    on_starve: Callable[[int, str], None] | None = None


# One pumper at a time: the client runs one pinned behavior at a time, and
# another thread's pump() waits for the running one (as for the GIL).
_lock = threading.Lock()
_poll_ms = 50
_watchdog = _Watchdog()  # replaced whole, so readers see one setting
_warned_episode = -1     # both under _lock
_raised_episode = -1
# Per wake-up of a pumping wait(), so a stream of pinned work cannot keep
# it from seeing its deadline.
WAIT_PUMP_BATCH = 64
# Time the first ask of a bounded wait gets for the daemon's answer.
ANSWER_S = 0.005
# A blocking step waits at most this long before Python checks for signals.
SLICE_S = 0.1

# Seams for tests (time in the client is injected): the clock the deadline
# reads, and (seconds, episode) of the pinned queue's current wait.
_now: Callable[[], float] = time.monotonic


def _queue_age(session: Any) -> tuple[float, int]:
    age: tuple[float, int] = session.pinned_age()
    return age


def _positive_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value > 0


def _check_bound(name: str, value: Any) -> None:
    if value is None or _positive_int(value):
        return
    shown = value if type(value) is int else type(value).__name__
    raise TypeError(f"{name} must be None or a positive int, got {shown}")


def _check_ms(name: str, value: Any) -> None:
    if value > MAX_MS:
        raise OverflowError(
            f"{name}={value} exceeds the maximum supported millisecond value "
            f"({MAX_MS})")


def _watch(session: Any) -> None:
    """The client-side watchdog, checked on pump() entry (under _lock):
    warns once, and raises once, per non-empty episode."""
    global _warned_episode, _raised_episode
    w = _watchdog
    if w.warn_ms is None and w.raise_ms is None:
        return
    age, episode = _queue_age(session)
    age_ms = int(age * 1000)
    if age_ms == 0:
        return
    message = (f"pinned-cown queue non-empty for {age_ms} ms with no pump() "
               f"progress (depth={session.pinned_depth()})")
    if w.warn_ms is not None and age_ms >= w.warn_ms and \
            episode != _warned_episode:
        _warned_episode = episode
        if w.on_starve is not None:
            w.on_starve(0, message)
        else:
            _log.warning("%s", message)
    if w.raise_ms is not None and age_ms >= w.raise_ms and \
            episode != _raised_episode:
        _raised_episode = episode
        raise RuntimeError(message)


def _run_one(session: Any) -> tuple[bool, BaseException | None]:
    runner = _body.PinnedRun()
    if not session.run_pinned(runner):
        return False, None
    return True, runner.raised


def ready_depth() -> int | None:
    """How many pinned behaviors a pump() called now would find ready (a
    sync first, if pinned work may be on its way); None where this process
    has no pinned queue of its own (a worker, a behavior body)."""
    session = _runtime._session
    if (session is None or _runtime.in_worker()
            or _runtime.current_behavior() is not None):
        return None
    with _lock:
        if session.pinned_sync_needed():
            _sync(session)
        return int(session.pinned_depth())


def _sync(session: Any) -> None:
    """Brings every pinned behavior the daemon would dispatch here now into
    the queue (one round trip), waiting in slices so Ctrl-C gets through."""
    while not session.sync_pinned(SLICE_S):
        pass


def pump(deadline_ms: int | None = None, max_behaviors: int | None = None,
         raise_on_error: bool = False) -> PumpResult:
    """Runs queued pinned behaviors of this program, one at a time and each
    to completion, on this thread; never blocks on the daemon. `deadline_ms`
    gates starting the next one (a running body is never interrupted),
    `max_behaviors` caps how many start. With `raise_on_error`, stops right
    after the first body that raises and re-raises it; a BaseException
    from a body always propagates (after that behavior's cleanup)."""
    _check_bound("deadline_ms", deadline_ms)
    _check_bound("max_behaviors", max_behaviors)
    if deadline_ms is not None:
        _check_ms("deadline_ms", deadline_ms)
    if _runtime.in_worker():
        raise RuntimeError("pump() must be called from the main interpreter")
    if _runtime.current_behavior() is not None:
        raise RuntimeError(
            "pump() is not reentrant; cannot be called from inside a "
            "pinned-behavior body (v1 limitation)")
    if not _runtime.is_up():
        raise RuntimeError(
            "pump() requires a live bocd runtime: call bocd.start() (or "
            "schedule a @when, which auto-starts) before pump(). If the "
            "runtime was already stopped, restart it before draining pinned "
            "work.")
    return _pump(_runtime.session(), deadline_ms, max_behaviors,
                 raise_on_error)


def _pump(session: Any, deadline_ms: int | None, max_behaviors: int | None,
          raise_on_error: bool) -> PumpResult:
    with _lock:
        _cown.forget_freed_pinned(session)
        _watch(session)
        end = None if deadline_ms is None else _now() + deadline_ms / 1000.0
        executed = raised = 0
        ran_since_sync = True  # so the first empty queue asks, if needed
        while max_behaviors is None or executed < max_behaviors:
            if end is not None and _now() >= end:
                return PumpResult(executed, session.pinned_depth() > 0, raised)
            ran, e = _run_one(session)
            if not ran:
                # What ran may have let in pinned work queued behind it, as
                # bocpy's pump() runs a chain on one cown to its end; what
                # is in flight back from the daemon is asked for first.
                if not ran_since_sync or not session.pinned_sync_needed():
                    break
                _sync(session)
                ran_since_sync = False
                continue
            ran_since_sync = True
            executed += 1
            if e is None:
                continue
            if not isinstance(e, Exception):
                raise e
            raised += 1
            if raise_on_error:
                raise e
        return PumpResult(executed, False, raised)


def _pump_for_a_waiter() -> None:
    """For a call that waits on the main thread for a cown that may be
    queued behind this program's pinned work: runs a batch of it."""
    session = _runtime._session
    if session is not None and _runtime.current_behavior() is None:
        _pump(session, None, WAIT_PUMP_BATCH, False)


_runtime.pump_pinned = _pump_for_a_waiter


def wait_pumping(session: Any, seconds: float) -> bool:
    """Waits for the session to be quiescent, running pinned work as it
    arrives; negative `seconds` waits without bound. False on timeout (the
    session is asked at least once, so a zero timeout answers whether it
    is quiescent now)."""
    end = None if seconds < 0 else _now() + seconds
    first = True
    while True:
        if session.pinned_depth():
            _pump(session, None, WAIT_PUMP_BATCH, False)
        park = _poll_ms / 1000.0
        if end is not None:
            park = max(0.0, min(park, end - _now()))
        if first:
            # The daemon answers only once quiescent: a zero timeout still
            # gives its answer a round trip's time, so an idle program's
            # quiesce(0) succeeds.
            park = max(park, ANSWER_S)
            first = False
        if session.wait_or_pinned(park) == 1:
            _cown.forget_freed_pinned(session)
            return True
        if end is not None and _now() >= end:
            return False


def set_pump_watchdog(warn_ms: int | None = 1000,
                      on_starve: Callable[[int, str], None] | None = None,
                      *, raise_ms: int | None = None) -> None:
    """Watches this program's pinned queue, checked on each pump() (and the
    pumping inside wait()/quiesce()): once it has been non-empty for
    `warn_ms`, calls ``on_starve(0, message)`` (or logs a warning on logger
    "bocd.pump"), once per non-empty episode; with `raise_ms`, the next
    pump() raises RuntimeError once it has been non-empty that long.
    The positional order is bocpy 0.14's; `raise_ms` is bocd's own."""
    global _watchdog
    for name, value in (("warn_ms", warn_ms), ("raise_ms", raise_ms)):
        if value is None:
            continue
        if not _positive_int(value):
            raise TypeError(f"{name} must be a positive int or None to "
                            f"disable, got {value!r}")
        _check_ms(name, value)
    if on_starve is not None and not callable(on_starve):
        raise TypeError(f"on_starve must be a callable or None, got "
                        f"{type(on_starve).__name__}")
    if _runtime.in_worker():
        raise RuntimeError(
            "set_pump_watchdog() must be called from the main interpreter")
    _watchdog = _Watchdog(warn_ms, raise_ms, on_starve)


def set_wait_pump_poll(ms: int = 50) -> None:
    """How long wait()/quiesce() may park between checks for pinned work
    when nothing wakes them (they are woken when it arrives)."""
    global _poll_ms
    if not _positive_int(ms):
        raise TypeError(f"ms must be a positive int, got {ms!r}")
    _poll_ms = ms

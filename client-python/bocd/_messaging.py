"""Messaging: send, receive, drain, set_tags (docs/python.md "Messaging").

The queues live in the daemon, one set per program session, so the
program's threads and its behaviors on every worker share them, and they
survive start() and wait(), unlike bocpy's (see the table
"Compatibility with bocpy 0.14" in docs/python.md). A program speaks over
its own session. A worker process runs its bodies on its session's IO
thread, where waiting for a reply would block the thread that reads it, so
it messages over a second session of its own
(``_runtime.waiting_session``), naming the program of the running behavior.

A received message keeps its cowns alive in the daemon until the receiver
has taken its own handles: outside a behavior the handles are held (sent
before the release, on the same connection); inside one they are borrowed,
and the daemon keeps the cowns until that behavior ends.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

from . import _core, _runtime, _serial

TIMEOUT = "__timeout__"

# A blocking receive waits in slices so that Ctrl-C reaches the program.
_SLICE_S = 0.1

def _route() -> tuple[Any, int, int]:
    """(session to speak over, program to name, behavior running here)."""
    b = _runtime.current_behavior()
    if _runtime.in_worker():
        if b is None:  # pragma: no cover - worker code runs in behaviors
            raise RuntimeError("messaging in a worker needs a running behavior")
        return _runtime.waiting_session(), b[1], b[0]
    return _runtime.session(), 0, b[0] if b is not None else 0


def _encodable(tag: str) -> str:
    """`tag`, or UnicodeEncodeError when it cannot travel (an unpaired
    surrogate, say), raised before anything is sent."""
    tag.encode("utf-8")
    return tag


def _check_tag(tag: Any) -> str:
    if not isinstance(tag, str):
        raise TypeError("tag must be a str")
    return _encodable(tag)


def _tag_list(tags: Any) -> list[str]:
    if isinstance(tags, str):
        return [_encodable(tags)]
    if not isinstance(tags, (list, tuple)):
        raise TypeError("tags must either be a single str or a list/tuple")
    if not tags:
        raise RuntimeError("tags must contain at least one value")
    if not all(isinstance(t, str) for t in tags):
        raise TypeError("tags must contain only str objects")
    return [_encodable(t) for t in tags]


def send(tag: str, contents: Any) -> None:
    """Queues ``contents`` under ``tag`` for any process of this program.

    Non-blocking: returns once the daemon has queued it, or at once when
    the daemon has granted this process credit for the tag (a stream of
    plain values; docs/python.md, Messaging).
    Contents are pickled here (unpicklable ones raise here, nothing is
    queued); cown handles inside stay alive while the message waits.
    Raises RuntimeError("Message queue is full") when the tag holds its
    limit and KeyError when a new tag finds every queue bound to another.
    """
    _check_tag(tag)
    e = _serial.encode(contents)
    try:
        session, program, behavior = _route()
        # From a worker's body, cowns it created travel on the worker's own
        # connection: the daemon holds this send until it has read them.
        after = (_runtime._session.mail_barrier()
                 if program and e.refs else (0, 0))
        session.mail_send(program, tag, e.data, e.refs, e.blobs, after,
                          behavior if program else 0)
    except BaseException:
        e.discard()
        raise


def _decode(session: Any, reply: tuple[bool, str, bytes, list[int]],
            request: int, behavior: int) -> tuple[str, Any]:
    _, tag, data, _refs = reply
    try:
        # copy: the message's blobs go once it is released.
        return tag, _serial.loads(data, None, copy=True)
    finally:
        session.mail_release(request, behavior)


def _seconds(timeout: Any) -> float:
    """As bocpy's "d" argument format: anything with __float__ or
    __index__ (bool and numpy scalars too); None and str are refused."""
    kind = type(timeout)
    if isinstance(timeout, (str, bytes)) or not (
            hasattr(kind, "__float__") or hasattr(kind, "__index__")):
        raise TypeError(f"must be real number, not {kind.__name__}")
    return float(timeout)


R = TypeVar("R")


@overload
def receive(tags: str | Sequence[str], timeout: float = -1,
            after: None = None) -> tuple[str, Any]: ...
@overload
def receive(tags: str | Sequence[str], timeout: float,
            after: Callable[[], R]) -> tuple[str, Any] | R: ...
@overload
def receive(tags: str | Sequence[str], timeout: float = -1, *,
            after: Callable[[], R]) -> tuple[str, Any] | R: ...


def receive(tags: str | Sequence[str], timeout: float = -1,
            after: Callable[[], R] | None = None) -> tuple[str, Any] | R:
    """The first message under one of ``tags`` as ``(tag, contents)``.

    ``timeout < 0`` (or NaN) waits without bound, ``0`` polls once,
    otherwise waits at most that many seconds. On timeout returns
    ``after()`` if given, else ``(TIMEOUT, None)``. Among several tags, the
    first (in the order given) that holds a message wins. Interrupted (by
    Ctrl-C, say), a message that came meanwhile goes back to the head of
    its tag.
    """
    names = _tag_list(tags)
    seconds = _seconds(timeout)
    session, program, running = _route()
    if len(names) == 1:
        # Lent to this session already (a stream): no round trip.
        data = session.mail_take_lent(program, names[0])
        if data is not None:
            return names[0], _serial.loads(data, None, copy=True)
    # Numbered before it is asked: a Ctrl-C landing as mail_receive
    # returns must still end it, or the daemon would hand a later message
    # to a receive nobody waits for.
    request = session.mail_request()
    try:
        session.mail_receive(request, program, names, seconds != 0,
                             running if program else 0)
        reply = _wait(session, request, seconds)
    except BaseException:
        try:
            session.mail_cancel(request)
            if session.mail_wait(request, -1.0) is not None:
                session.mail_return(request)  # ends it; a message goes back
        except Exception:
            pass  # never sent, or ended already (refused; connection gone)
        raise
    if reply[0]:
        # In a body (a worker's or a pinned one) handles are borrowed: the
        # daemon keeps the message's cowns until `running` ends.
        return _decode(session, reply, request, running)
    session.mail_release(request, 0)  # nothing came: ends it here
    if after is not None:
        return after()
    return (TIMEOUT, None)


def _wait(session: Any, request: int, seconds: float) -> Any:
    if seconds == 0:
        return session.mail_wait(request, -1.0)
    end = None if not seconds > 0 or math.isinf(seconds) else (
        time.monotonic() + seconds)
    # A message that is queued comes back within a round trip: only a
    # longer wait holds up what the daemon pipelined behind this body.
    first = _runtime.FIRST_WAIT_S
    said = False
    while True:
        left = _SLICE_S if end is None else min(_SLICE_S, end - time.monotonic())
        if left <= 0:
            session.mail_cancel(request)
            return session.mail_wait(request, -1.0)
        reply = session.mail_wait(request, left if said else min(left, first))
        if reply is not None:
            return reply
        if not said:
            _runtime.about_to_wait()
            said = True


def drain(tags: str | Sequence[str]) -> None:
    """Drops every message queued under ``tags``; an empty list does nothing."""
    if isinstance(tags, (list, tuple)) and not tags:
        return
    names = _tag_list(tags)
    session, program, behavior = _route()
    session.mail_drain(program, names, behavior if program else 0)


def set_tags(tags: Sequence[str]) -> None:
    """Drops every queued message and binds ``tags`` to the first queues,
    in order; the other queues take new tags as they come. Not from a
    worker (as bocpy: main interpreter only)."""
    if _runtime.in_worker():
        raise RuntimeError("set_tags may only be called from the primary interpreter")
    if not hasattr(tags, "__len__"):
        raise TypeError("Tags must provide __len__")
    names = list(tags)
    if not all(isinstance(t, str) for t in names):
        raise TypeError("Tags must contain only str objects")
    names = [_encodable(t) for t in names]
    session, program, behavior = _route()
    try:
        session.mail_set_tags(program, names, behavior if program else 0)
    except KeyError as e:  # more tags than the daemon has queues
        raise IndexError(e.args[0]) from None

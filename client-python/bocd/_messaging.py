"""Messaging: send, receive, drain, set_tags (API.md section 12).

The queues live in the daemon, one set per program session (API.md 17
row 13), so the program's threads and its behaviors on every worker share
them. A program speaks over its own session. A worker process runs its
bodies on its session's IO thread, where waiting for a reply would block
the thread that reads it, so it messages over a second session of its own
(``_worker_mail``), naming the program of the running behavior.

A received message keeps its cowns alive in the daemon until the receiver
has taken its own handles: outside a behavior the handles are held (sent
before the release, on the same connection); inside one they are borrowed,
and the daemon keeps the cowns until that behavior ends.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import _core, _runtime, _serial

TIMEOUT = "__timeout__"

# A blocking receive waits in slices so that Ctrl-C reaches the program.
_SLICE_S = 0.1

_worker_mail: Any = None
_worker_mail_lock = threading.Lock()


def _route() -> tuple[Any, int, int]:
    """(session to speak over, program to name, behavior running here)."""
    b = _runtime.current_behavior()
    if _runtime.in_worker():
        global _worker_mail
        if _worker_mail is None:
            with _worker_mail_lock:
                if _worker_mail is None:
                    _worker_mail = _core.Session(
                        _core.default_socket_path(), "bocd.worker/mail")
        if b is None:  # pragma: no cover - worker code runs in behaviors
            raise RuntimeError("messaging in a worker needs a running behavior")
        return _worker_mail, b[1], b[0]
    return _runtime.session(), 0, b[0] if b is not None else 0


def _check_tag(tag: Any) -> str:
    if not isinstance(tag, str):
        raise TypeError("tag must be a str")
    return tag


def _tag_list(tags: Any) -> list[str]:
    if isinstance(tags, str):
        return [tags]
    if not isinstance(tags, (list, tuple)):
        raise TypeError("tags must either be a single str or a list/tuple")
    if not tags:
        raise RuntimeError("tags must contain at least one value")
    if not all(isinstance(t, str) for t in tags):
        raise TypeError("tags must contain only str objects")
    return list(tags)


def send(tag: str, contents: Any) -> None:
    """Queues ``contents`` under ``tag`` for any process of this program.

    Non-blocking: returns once the daemon has queued it. Contents are
    pickled here (unpicklable ones raise here, nothing is queued); cown
    handles inside stay alive while the message waits. Raises
    RuntimeError("Message queue is full") when the tag holds its limit and
    KeyError when a new tag finds every queue bound to another.
    """
    _check_tag(tag)
    e = _serial.encode(contents)
    session, program, _ = _route()
    # From a worker's body, cowns it created travel on the worker's own
    # connection: the daemon holds this send until it has read them.
    after = (_runtime._session.mail_barrier()
             if _runtime.in_worker() and e.refs else (0, 0))
    try:
        session.mail_send(program, tag, e.data, e.refs, e.blobs, after)
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


def receive(tags: str | Sequence[str], timeout: float = -1,
            after: Callable[[], Any] | None = None) -> Any:
    """The first message under one of ``tags`` as ``(tag, contents)``.

    ``timeout < 0`` waits without bound, ``0`` polls once, otherwise waits
    at most that many seconds. On timeout returns ``after()`` if given,
    else ``(TIMEOUT, None)``. Among several tags, the first (in the order
    given) that holds a message wins.
    """
    names = _tag_list(tags)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"must be real number, not {type(timeout).__name__}")
    if math.isnan(timeout):
        raise ValueError("timeout must not be NaN")
    session, program, behavior = _route()
    request = session.mail_receive(program, names, timeout != 0)
    reply = None
    if timeout == 0:
        reply = session.mail_wait(request, -1.0)
    else:
        end = None if timeout < 0 or math.isinf(timeout) else (
            time.monotonic() + timeout)
        try:
            while reply is None:
                left = _SLICE_S if end is None else min(
                    _SLICE_S, end - time.monotonic())
                if left <= 0:
                    session.mail_cancel(request)
                    reply = session.mail_wait(request, -1.0)
                    break
                reply = session.mail_wait(request, left)
        except BaseException:
            # Interrupted: end the receive; a message that came meanwhile
            # goes back to its tag (at the end) rather than being lost.
            session.mail_cancel(request)
            late = session.mail_wait(request, -1.0)
            if late is not None and late[0]:
                tag, contents = _decode(session, late, request, behavior)
                send(tag, contents)
            raise
    if reply[0]:
        return _decode(session, reply, request, behavior)
    if after is not None:
        return after()
    return (TIMEOUT, None)


def drain(tags: str | Sequence[str]) -> None:
    """Drops every message queued under ``tags``; an empty list does nothing."""
    if isinstance(tags, (list, tuple)) and not tags:
        return
    names = _tag_list(tags)
    session, program, _ = _route()
    session.mail_drain(program, names)


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
    session, program, _ = _route()
    try:
        session.mail_set_tags(program, names)
    except KeyError as e:  # more tags than the daemon has queues
        raise IndexError(e.args[0]) from None

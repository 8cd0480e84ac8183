"""@when and whencall: turning a function and its cowns into a behavior.

What travels (one pickled tuple per behavior, see ``_call_record``):
the function's code blob (cached per code object, so a ``@when`` in a loop
serializes its code once), the request-set shape (which parameter is a
cown and which a group), and what is snapshotted at scheduling time: bare
trailing parameters looked up by name, defaults, keyword-only defaults and
closure cells (docs/python.md "Code"; the closures row of its table
"Compatibility with bocpy 0.14" says how bocpy differs).

Code blobs: a function from an importable module travels as (module name,
marshalled code) and is rebuilt in the worker against that module's real
namespace; anything else (``__main__``, ``-c``, stdin, the REPL) travels by
value with cloudpickle, so a script's top level never runs again in a
worker (docs/python.md "Code").
"""
from __future__ import annotations

import hashlib
import inspect
import marshal
import pickle
import struct
import sys
import types
from typing import Any, Callable, Sequence, TypeVar, cast

R = TypeVar("R")

from . import _body, _core, _cown, _runtime, _serial
from ._cown import Cown, CownCapsule, _Handle, _register

_CO_ASYNC = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | \
    inspect.CO_ITERABLE_COROUTINE
_CO_GENERATOR = inspect.CO_GENERATOR

# Per code object: the payload prefix (blob length, digest, code blob) and
# the cown ids the blob embeds (globals of a by-value function). A @when in
# a loop makes a new function object each time, with the same code.
_prefixes: dict[types.CodeType, tuple[bytes, list[int]]] = {}
# Per code object, for behaviors that run in this program (their request
# set holds one of its pinned cowns): a prefix naming a template that runs
# against the function's own globals, never pickled (docs/python.md
# "Pinned cowns").
_local_prefixes: dict[types.CodeType, bytes] = {}


def _importable(fn: types.FunctionType) -> bool:
    name = fn.__module__
    if not name or name == "__main__":
        return False
    mod = sys.modules.get(name)
    return (mod is not None and getattr(mod, "__spec__", None) is not None
            and getattr(mod, "__file__", None) is not None
            and fn.__globals__ is mod.__dict__)


def _template(fn: types.FunctionType) -> types.FunctionType:
    """`fn`'s code and globals without its captures (cells left empty)."""
    code = fn.__code__
    cells = tuple(types.CellType() for _ in code.co_freevars) or None
    template = types.FunctionType(code, fn.__globals__, fn.__name__, None,
                                  cells)
    template.__module__ = fn.__module__
    template.__qualname__ = fn.__qualname__
    return template


def _prefix(fn: types.FunctionType) -> tuple[bytes, list[int]]:
    """The payload's first part: the code blob, made once per code object
    (after the shape checks, which depend only on the code), and the cown
    ids it embeds."""
    code = fn.__code__
    cached = _prefixes.get(code)
    if cached is not None:
        return cached
    _check_shape(fn)
    refs: list[int] = []
    # The kind, then the interpreter's mark (_serial.CODE_MARK): a worker
    # of another version refuses the code before loading any of it.
    if _importable(fn):
        blob = b"M" + _serial.CODE_MARK + pickle.dumps(
            (fn.__module__, marshal.dumps(code), fn.__name__, fn.__qualname__))
    else:
        data, refs = _serial.dumps_inband(_template(fn))
        blob = b"V" + _serial.CODE_MARK + data
    # A digest first, so a worker finds the code it has rebuilt before by
    # 16 bytes instead of hashing (and slicing) the whole blob each time.
    key = hashlib.blake2b(blob, digest_size=16).digest()
    _prefixes[code] = cached = (struct.pack("<I", len(blob)) + key + blob, refs)
    return cached


def _local_prefix(fn: types.FunctionType) -> bytes:
    """The prefix of a behavior that runs here: no code blob, only a key
    to a template registered with this process's body runner."""
    code = fn.__code__
    prefix = _local_prefixes.get(code)
    if prefix is not None:
        return prefix
    _check_shape(fn)
    key = b"L" + struct.pack("<Q", len(_local_prefixes)) + bytes(7)
    _body.register_local(key, _template(fn))
    prefix = _local_prefixes[code] = struct.pack("<I", 0) + key
    return prefix


def _runs_here(args: Sequence[Any]) -> bool:
    """Whether the daemon will route this request set (cowns and groups)
    to this program: it holds one of this program's pinned cowns."""
    pinned = _cown._pinned
    if not pinned:
        return False
    for a in args:
        group = a if isinstance(a, (list, tuple)) else (a,)
        if any(isinstance(c, _Handle) and c._id in pinned for c in group):
            return True
    return False


def _check_shape(fn: types.FunctionType) -> None:
    name = fn.__name__
    flags = fn.__code__.co_flags
    if flags & _CO_ASYNC:
        raise SyntaxError(f"@when behavior '{name}' is an async function; "
                          "@when does not support async functions.")
    if flags & _CO_GENERATOR:
        raise SyntaxError(f"@when behavior '{name}' is a generator function; "
                          "@when does not support generator functions.")


def _bare_captures(fn: types.FunctionType, n_cowns: int,
                   frame: types.FrameType | None) -> list[Any]:
    """Values for the parameters after the cowns that have no default,
    looked up by name in the scheduling frame (bocpy 0.9's bare capture)."""
    code = fn.__code__
    n_params = code.co_argcount
    n_defaults = len(fn.__defaults__ or ())
    varargs = bool(code.co_flags & inspect.CO_VARARGS)
    name = fn.__name__
    if n_params < n_cowns and not varargs:
        raise TypeError(
            f"@when behavior '{name}' takes {n_params} parameter(s) but @when "
            f"lists {n_cowns} cown(s): add the missing cown parameter(s) so "
            "each cown has a corresponding positional parameter.")
    bare = code.co_varnames[n_cowns:n_params - n_defaults]
    values = []
    for param in bare:
        found = False
        if frame is not None:
            for scope in (frame.f_locals, frame.f_globals):
                if param in scope:
                    values.append(scope[param])
                    found = True
                    break
        if not found:
            extra = n_params - n_cowns
            raise TypeError(
                f"@when behavior '{name}' takes {n_params} parameter(s) for "
                f"{n_cowns} cown(s): the {extra} parameter(s) beyond the cown "
                "count must each be a capture with a default value (e.g. "
                f"``x=x``); got {n_defaults} default(s).")
    return values


def _shape(args: Sequence[Any]) -> tuple[list[Any], list[int]]:
    """(per-parameter shape, flat id list) of a request set."""
    shape: list[Any] = []
    flat: list[int] = []
    bad = TypeError("can only schedule over cowns or sequences of cowns")
    for a in args:
        if isinstance(a, _Handle):
            shape.append(a._id)
            flat.append(a._id)
        elif isinstance(a, (list, tuple)):
            group = []
            for c in a:
                if not isinstance(c, _Handle):
                    raise bad
                group.append(c._id)
            shape.append(group)
            flat.extend(group)
        else:
            raise bad
    return shape, flat


def _closure_values(fn: types.FunctionType) -> tuple[Any, ...] | None:
    if not fn.__closure__:
        return None
    out = []
    for var, cell in zip(fn.__code__.co_freevars, fn.__closure__):
        try:
            out.append(cell.cell_contents)
        except ValueError:
            raise NameError(
                f"@when behavior '{fn.__name__}' closes over '{var}', which "
                "has no value yet when the behavior is scheduled") from None
    return tuple(out)


# Per code object with no keyword-only parameters, *args or **kwargs: its
# prefix, embedded cown ids, and the code blob's length and key as _submit
# passes them. A behavior whose parameters are exactly its cowns (plain:
# no defaults, captures or closure) travels as the prefix, then nothing for
# one cown or b"P" and its ids in parameter order: no call record to
# pickle or to load. _core.when_plain reads this dict: once a code is here
# (its first call goes through _plain_call or _schedule_general), it
# schedules a plain behavior, or one whose parameters after its cowns are
# scalar defaults (with their call record), without Python steps.
_plain: dict[types.CodeType, tuple[bytes, list[int], int, int]] = {}
_PLAIN_FLAGS = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS


def _plain_prefix(fn: types.FunctionType
                  ) -> tuple[bytes, list[int], int, int] | None:
    """`fn`'s entry in ``_plain`` if `fn` is plain, else None."""
    code = fn.__code__
    if code.co_kwonlyargcount or code.co_flags & _PLAIN_FLAGS:
        return None
    prefix, refs = _prefix(fn)
    (n,) = struct.unpack_from("<I", prefix)
    _plain[code] = cached = (prefix, refs, n,
                             int.from_bytes(prefix[4:12], "little"))
    return cached


def _plain_call(fn: Any, args: Sequence[Any]) -> Cown[Any] | None:
    """Schedules a plain behavior (see ``_plain``) over single cowns, in a
    program with no pinned cowns; what _core.when_plain does once the code
    is cached, and what it declines (a nested @when, before start()). None
    when the call is not of that shape (``_schedule`` then)."""
    if (type(fn) is not types.FunctionType or fn.__defaults__ is not None
            or fn.__closure__ is not None or fn.__kwdefaults__ is not None
            or _cown._pinned):
        return None
    code = fn.__code__
    plain = _plain.get(code) or _plain_prefix(fn)
    if plain is None or code.co_argcount != len(args):
        return None
    flat = []
    for a in args:
        if not isinstance(a, _Handle):
            return None
        flat.append(a._id)
    prefix = plain[0]
    if len(flat) > 1:  # the daemon sends ids sorted and deduplicated
        prefix += b"P" + struct.pack(f"<{len(flat)}Q", *flat)
    return _submit(flat, prefix, plain[1], None)


def _schedule(fn: Any, args: Sequence[Any], extras: list[Any] | None,
              frame: types.FrameType | None) -> Cown[Any]:
    if extras is None:
        result = _plain_call(fn, args)
        if result is not None:
            return result
    return _schedule_general(fn, args, extras, frame)


def _submit(flat: list[int], prefix: bytes, code_refs: list[int],
            call: _serial.Encoded | None) -> Cown[Any]:
    """Sends the behavior; returns its result cown, held by this process."""
    running = _runtime.current_behavior()
    if running is not None:
        session = _runtime.session()
        parent = running[0]
    else:
        session = _runtime.ensure_started()
        parent = 0
        _runtime.count_scheduled()
    # The code blob (after its length and digest) is the payload's code
    # part: a worker that keeps values is sent it once (docs/protocol.md
    # "Kept values"); the digest's first 8 bytes name it to the daemon.
    (n,) = struct.unpack_from("<I", prefix)
    code_key = int.from_bytes(prefix[4:12], "little") if n else 0
    if call is None:
        ident = _submit_behavior(session, flat, prefix, parent, code_refs,
                                 _NONE, n, code_key)
    else:
        try:
            ident = _submit_behavior(session, flat, prefix + call.data,
                                     parent, call.refs + code_refs,
                                     call.blobs, n, code_key)
        except BaseException:
            call.discard()
            raise
    result = _new_cown(Cown)
    result._id = ident
    result._hold = None
    # The submitting session (this process) owns the result cown's handle,
    # a worker's for a nested behavior too (docs/protocol.md
    # "Cown lifetime").
    result._held = True
    _register(ident, fresh=True)
    return result


_new_cown = Cown.__new__
# Session.submit with a result cown and the code at offset 20, reading its
# lists without pybind11's casters.
_core_submit = _core.submit_behavior


def _submit_behavior(session: Any, flat: list[int], payload: bytes,
                     parent: int, refs: list[int], blobs: list[str],
                     code_len: int, code_key: int) -> int:
    """_core.submit_behavior for a real session; a body on the Ray
    executor schedules through a recorder (bocd._ray_task) that only has
    Session's submit()."""
    if type(session) is _core.Session:
        return int(_core_submit(session, flat, payload, parent, refs, blobs,
                                code_len, code_key))
    return int(session.submit(flat, payload, True, parent, refs, blobs, 20,
                              code_len, code_key))
_NONE: list[Any] = []  # read, never changed


def _schedule_general(fn: Any, args: Sequence[Any], extras: list[Any] | None,
                      frame: types.FrameType | None) -> Cown[Any]:
    if type(fn) is not types.FunctionType:
        if isinstance(fn, str):
            raise TypeError("whencall() takes a behavior function, not a "
                            "thunk name. Pass the function object itself.")
        raise TypeError(f"@when needs a Python function, got {type(fn).__name__}")
    code_refs: list[int]
    if _runs_here(args):
        prefix, code_refs = _local_prefix(fn), []
    else:
        prefix, code_refs = _prefix(fn)
        if fn.__code__ not in _plain:  # for _core.when_plain's next call
            _plain_prefix(fn)
    if extras is None:  # @when: validate counts and capture bare names
        extras = _bare_captures(fn, len(args), frame)
    shape, flat = _shape(args)
    # What is snapshotted now; the code travels in the prefix.
    defaults, kwdefaults = fn.__defaults__, fn.__kwdefaults__
    closure = _closure_values(fn)
    leaves = (*extras, *(defaults or ()), *(closure or ()),
              *(kwdefaults.values() if kwdefaults else ()))
    call = _serial.encode_record(
        (shape, extras, defaults, kwdefaults, closure), leaves)
    return _submit(flat, prefix, code_refs, call)


_core.plain_setup(_plain, _Handle, Cown, _cown._pinned, _cown._counts,
                  _runtime)
_when_plain = _core.when_plain


def when(*cowns: Any) -> Callable[[Callable[..., R]], Cown[R]]:
    """Schedules the decorated function as a behavior over `cowns` at once
    and binds its name to the result cown. Each argument is a cown (one
    parameter) or a list/tuple of cowns (one list parameter)."""
    def decorator(fn: Callable[..., R]) -> Cown[R]:
        result = _when_plain(fn, cowns)
        if result is not None:
            return cast("Cown[R]", result)
        result = _plain_call(fn, cowns)
        if result is not None:
            return result
        return _schedule_general(fn, cowns, None, sys._getframe(1))
    return decorator


def whencall(func: Callable[..., R], args: Sequence[Any],
             captures: Sequence[Any]) -> Cown[R]:
    """@when without the sugar: runs ``func(*cowns, *captures)`` as a
    behavior over `args` (cowns and groups); returns its result cown."""
    if isinstance(func, str):
        raise TypeError("whencall() takes a behavior function, not a thunk "
                        "name. Pass the function object itself.")
    return _schedule(func, list(args), list(captures), None)


__all__ = ["when", "whencall", "Cown", "CownCapsule"]

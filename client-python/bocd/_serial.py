"""Values to bytes and back.

Values are pickled (protocol 5). Most values are builtins or instances of
importable classes, which the C pickler handles alone; anything defined in
``__main__``, interactively or locally (classes, functions, lambdas) makes
the fast pickler give up and the value is pickled again with cloudpickle,
which ships such definitions by value.

Cown handles inside a value are written as the daemon's id (DESIGN D5), and
the ids a value embeds are collected so the daemon can keep those cowns
alive while the value refers to them. Code objects travel with marshal,
which keeps their file name and line numbers (cloudpickle renames them
"<dynamic-code>"), so tracebacks from workers name the real file; workers
run the same interpreter, so marshal's format fits.
"""
from __future__ import annotations

import io
import marshal
import pickle
import sys
import types
from typing import Any, Callable

import cloudpickle

# Set by _cown: makes a handle object for (kind, id) read from bytes.
materialize: Callable[[str, int], Any]
# Set by _cown: the handle base class.
handle_type: type


class _ByValue(Exception):
    """The fast pickler met a definition that must travel by value."""


def _by_value(obj: Any) -> bool:
    module = getattr(obj, "__module__", None)
    if module is None or module == "__main__" or module not in sys.modules:
        return True
    return "<locals>" in getattr(obj, "__qualname__", "<locals>")


def _handle(pickler: Any, obj: Any) -> Any:
    pickler.refs.append(obj._id)
    return materialize, (obj._kind, obj._id)


class _FastPickler(pickle.Pickler):
    # The C pickler calls this for objects other than exact builtins.
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, handle_type):
            return _handle(self, obj)
        if isinstance(obj, (type, types.FunctionType)) and _by_value(obj):
            raise _ByValue
        if type(obj) is types.CodeType:
            return marshal.loads, (marshal.dumps(obj),)
        return NotImplemented


class _CloudPickler(cloudpickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, handle_type):
            return _handle(self, obj)
        if type(obj) is types.CodeType:
            return marshal.loads, (marshal.dumps(obj),)
        return super().reducer_override(obj)


def dumps(value: Any) -> tuple[bytes, list[int]]:
    """Pickles `value`; returns the bytes and the cown ids it embeds."""
    buf = io.BytesIO()
    p = _FastPickler(buf, 5)
    p.refs = []
    try:
        p.dump(value)
        return buf.getvalue(), p.refs
    except _ByValue:
        pass
    buf = io.BytesIO()
    cp = _CloudPickler(buf, protocol=5)
    cp.refs = []
    cp.dump(value)
    return buf.getvalue(), cp.refs


def loads(data: bytes) -> Any:
    """Unpickles bytes from dumps(); b"" (a fresh result cown) is None."""
    if not data:
        return None
    return pickle.loads(data)

"""Values to bytes and back.

Values are pickled (protocol 5). Most values are builtins or instances of
importable classes, which the C pickler handles alone; anything defined in
``__main__``, interactively or locally (classes, functions, lambdas) makes
the fast pickler give up and the value is pickled again with cloudpickle,
which ships such definitions by value.

Cown handles inside a value are written as the daemon's id, and the ids a
value embeds are collected so the daemon can keep those cowns alive while
the value refers to them (docs/protocol.md "Cown lifetime"). Code objects
travel with marshal, which keeps their file name and line numbers
(cloudpickle renames them "<dynamic-code>"), so tracebacks from workers
name the real file; workers run the same interpreter, so marshal's format
fits.

Large data never crosses the socket (docs/protocol.md
"Shared-memory blobs"): pickle-5 out-of-band buffers of at least
``OOB_MIN`` bytes (numpy arrays, say) and pickle streams of at least
``STREAM_MAX`` bytes go into shared-memory blobs (``_core.Blob``) and the
value carries their names. A value read from blobs maps them; when the
same cown's value is written back and a buffer still lies inside a blob it
was read from (an array updated in place), the blob is named again instead
of copied. Only the cown the blob was read for may do that, so two cowns
never share memory.

Move types (``movers``: bocd.Matrix) are not copied out of the sender: the
value that encode() writes takes them, and the sender's object is dead
afterwards (``bocd._matrix_move``). The move is done once the bytes are
made, so a value that fails to pickle moves nothing, and undone by
``Encoded.discard()`` when the value never reaches the daemon. Only
encode() moves; other pickling (code's globals, ``pickle.dumps``) copies.
"""
from __future__ import annotations

import collections
import importlib.util
import io
import marshal
import pickle
import struct
import sys
import types
from typing import Any, Callable

import cloudpickle
from cloudpickle import cloudpickle as _cloudpickle_impl

from . import _core

# Marks code made by this interpreter: its bytecode magic number, then its
# major and minor version. Marshalled and pickled code objects are specific
# to one CPython version, and loading another's can crash the interpreter,
# so a behavior's code is checked against this before anything is loaded.
CODE_MARK = importlib.util.MAGIC_NUMBER + bytes(sys.version_info[:2])


def code_mismatch(mark: bytes) -> str | None:
    """Why code marked `mark` cannot run here, or None when it can."""
    if mark == CODE_MARK:
        return None
    made = "an unknown Python"
    if len(mark) == len(CODE_MARK):
        made = f"CPython {mark[-2]}.{mark[-1]}"
    here = "%d.%d" % sys.version_info[:2]
    return (f"its code was compiled by {made} (bytecode magic "
            f"{mark[:4].hex()}), and this worker runs CPython {here} "
            f"(magic {CODE_MARK[:4].hex()}); code runs only on the interpreter "
            "version it was made for")

OOB_MIN = 64 * 1024
STREAM_MAX = 1 << 20
# Recently mapped blobs stay mapped (most recent last), so a blob that
# comes back to this process (an array updated by behavior after behavior)
# is not mapped and page-faulted in again each time.
_MAPPED_KEEP = 8
_MAPPED_KEEP_BYTES = 1 << 30
_mapped: "collections.OrderedDict[str, Any]" = collections.OrderedDict()
# What the bytes of a plain value start with: the pickle protocol opcode
# that begins every stream pickled at protocol 2 or above. One held in
# blobs starts with _BLOB_TAG instead.
PLAIN_PREFIX = b"\x80"
_BLOB_TAG = b"B"
# Set by _runtime: what this process's blob names start with, its
# session's prefix from the daemon (daemon instance and creating session),
# connecting first if need be (a value may be encoded before the first
# call that needs the daemon). The daemon removes blobs of that prefix it
# was never told about when the session ends, and those of a dead daemon
# when the next one starts.
blob_prefix: Callable[[], str]

# Set by _cown: makes a handle object for (kind, id) read from bytes.
materialize: Callable[[str, int], Any]
# Set by _cown: the handle base class.
handle_type: type


# Move types, by exact type: each has reduce(obj) (its pickle-5 reduce
# value; raises if this process no longer owns obj), take(obj) (moves it
# out, returning what give_back needs) and give_back(obj, token).
# bocd._matrix_move fills it in when the Matrix type is first imported.
movers: dict[type, Any] = {}


# Values the C pickler writes without reducer_override, out-of-band buffers
# or cown handles.
_SCALARS = frozenset({int, float, bool, str, bytes, type(None), complex})


class Encoded:
    """A value's bytes, the cown ids and the blob names it embeds, the
    blobs made for it (to unlink if it never reaches the daemon), and the
    objects of move types it took, with what gives them back."""

    __slots__ = ("data", "refs", "blobs", "created", "moved")

    def __init__(self, data: bytes, refs: list[int], blobs: list[str],
                 created: list[str] | None = None) -> None:
        self.data = data
        self.refs = refs
        self.blobs = blobs
        self.created = created or []
        self.moved: list[tuple[Any, Any, Any]] = []  # (mover, obj, token)

    def discard(self) -> None:
        """For a value the daemon did not take: unlinks the blobs made for
        it and gives the objects it moved back to their owner here."""
        for name in self.created:
            _core.Blob.unlink(name)
        moved, self.moved = self.moved, []
        for mover, obj, token in reversed(moved):
            mover.give_back(obj, token)


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


def _move(pickler: Any, obj: Any) -> Any:
    """The reduce value of a move-type object, noted to be taken once the
    whole value is written; NotImplemented where nothing moves (copyreg's
    reducer then copies it)."""
    mover = movers.get(type(obj))
    if mover is None or pickler.moved is None:
        return NotImplemented
    reduced = mover.reduce(obj)
    pickler.moved.append((mover, obj))
    return reduced


class _FastPickler(pickle.Pickler):
    refs: list[int]  # ids of the cowns whose handles it wrote, set per use
    # Move-type objects written (in encode(); None elsewhere: no move).
    moved: list[tuple[Any, Any]] | None

    # The C pickler calls this for objects other than exact builtins.
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, handle_type):
            return _handle(self, obj)
        if movers and type(obj) in movers:
            return _move(self, obj)
        if isinstance(obj, (type, types.FunctionType)) and _by_value(obj):
            raise _ByValue
        if type(obj) is types.CodeType:
            return marshal.loads, (marshal.dumps(obj),)
        if isinstance(obj, types.ModuleType):
            raise _ByValue  # cloudpickle imports it by name in the worker
        return NotImplemented


class _CloudPickler(cloudpickle.Pickler):  # type: ignore[misc]
    refs: list[int]
    moved: list[tuple[Any, Any]] | None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, handle_type):
            return _handle(self, obj)
        if movers and type(obj) in movers:
            reduced = _move(self, obj)
            if reduced is not NotImplemented:
                return reduced
        if type(obj) is types.CodeType:
            return marshal.loads, (marshal.dumps(obj),)
        return super().reducer_override(obj)


def _pickle(value: Any) -> tuple[bytes, list[int], list[pickle.PickleBuffer],
                                 list[tuple[Any, Any]]]:
    oob: list[pickle.PickleBuffer] = []

    def out_of_band(pb: pickle.PickleBuffer) -> bool:
        if pb.raw().nbytes < OOB_MIN:
            return True  # in-band
        oob.append(pb)
        return False

    buf = io.BytesIO()
    p = _FastPickler(buf, 5, buffer_callback=out_of_band)
    p.refs = []
    p.moved = []
    try:
        p.dump(value)
        return buf.getvalue(), p.refs, oob, p.moved
    except _ByValue:
        oob.clear()
    buf = io.BytesIO()
    cp = _CloudPickler(buf, protocol=5, buffer_callback=out_of_band)
    cp.refs = []
    cp.moved = []
    cp.dump(value)
    return buf.getvalue(), cp.refs, oob, cp.moved


def _new_blob(data: Any, n: int) -> Any:
    blob = _core.Blob.create(blob_prefix(), n)
    memoryview(blob)[:n] = data
    return blob


def _place(mv: memoryview, reuse: dict[str, Any] | None,
           created: list[str]) -> tuple[str, int, int]:
    """(blob name, offset, length) holding the buffer's bytes."""
    addr, n = _core.buffer_span(mv)
    if reuse:
        for blob in reuse.values():
            if blob.address <= addr and addr + n <= blob.address + blob.size:
                return blob.name, addr - blob.address, n
    name = _new_blob(mv.cast("B"), n).name
    created.append(name)
    return name, 0, n


def small_scalar(value: Any) -> bytes | None:
    """The pickle of a plain scalar that travels inline (no refs, no blobs),
    made without a pickler object: the common small value. Else None."""
    if type(value) in _SCALARS:
        data = pickle.dumps(value, 5)
        if len(data) < STREAM_MAX:
            return data
    return None


def encode(value: Any, reuse: dict[str, Any] | None = None) -> Encoded:
    """Pickles `value`. `reuse`: the blobs this cown's value was read from
    (see the module docstring)."""
    data = small_scalar(value)
    if data is not None:
        return Encoded(data, [], [])
    stream, refs, oob, moved = _pickle(value)
    if not oob and len(stream) < STREAM_MAX:
        return _take(Encoded(stream, refs, []), moved)
    created: list[str] = []
    try:
        entries = [_place(pb.raw(), reuse, created) for pb in oob]
        names = [e[0] for e in entries]
        stream_ref = None
        if len(stream) >= STREAM_MAX:
            stream_ref = (_new_blob(stream, len(stream)).name, len(stream))
            created.append(stream_ref[0])
            names.append(stream_ref[0])
            stream = b""
    except BaseException:
        Encoded(b"", [], [], created).discard()
        raise
    header = pickle.dumps((entries, stream_ref))
    data = _BLOB_TAG + struct.pack("<I", len(header)) + header + stream
    return _take(Encoded(data, refs, names, created), moved)


def _take(e: Encoded, moved: list[tuple[Any, Any]]) -> Encoded:
    """`e`, having taken the move-type objects its bytes hold. If one
    cannot be taken (another thread moved it meanwhile), nothing is: the
    others go back, the blobs made go, and the error is raised."""
    try:
        for mover, obj in moved:
            e.moved.append((mover, obj, mover.take(obj)))
    except BaseException:
        e.discard()
        raise
    return e


def encode_record(record: tuple[Any, ...], leaves: tuple[Any, ...]
                  ) -> Encoded:
    """encode(record) for a tuple whose parts are ints, lists of ints, None
    and containers of `leaves`: when every leaf is a plain scalar, the C
    pickler needs no pickler object (a behavior's call record, usually)."""
    for leaf in leaves:
        if type(leaf) not in _SCALARS:
            return encode(record)
    data = pickle.dumps(record, 5)
    if len(data) >= STREAM_MAX:
        return encode(record)
    return Encoded(data, [], [])


def dumps_inband(value: Any) -> tuple[bytes, list[int]]:
    """Pickles `value` by value (cloudpickle) with every buffer in-band:
    for code, whose bytes are cached and read with plain pickle.loads, so
    they must not name blobs. Returns the bytes and the cown ids embedded."""
    buf = io.BytesIO()
    p = _CloudPickler(buf, protocol=5)
    p.refs = []
    p.moved = None  # a snapshot of the code's globals: nothing moves
    p.dump(value)
    return buf.getvalue(), p.refs


def _map(name: str, size: int) -> Any:
    blob = _mapped.get(name)
    if blob is not None and blob.size >= size:
        _mapped.move_to_end(name)
        return blob
    blob = _core.Blob(name, size)
    _mapped[name] = blob
    total = sum(b.size for b in _mapped.values())
    while len(_mapped) > _MAPPED_KEEP or (total > _MAPPED_KEEP_BYTES and
                                         len(_mapped) > 1):
        _, old = _mapped.popitem(last=False)
        total -= old.size
    return blob


# True in a program, False in a worker (bocd.worker clears it).
keep_own_classes = True


class _KeepOwnClasses(pickle.Unpickler):
    """Unpickles without resetting classes this process already has.

    cloudpickle ships a class defined in ``__main__`` by value. When it
    arrives in a process that already has that class (the program that
    defined it, reading a value or pinned body a worker sent back), it
    finds it by its tracker id and then sets every shipped class attribute
    on it again: the program's class would have its attributes reset to a
    worker's snapshot. Here a class found that way is left as it is."""

    def __init__(self, file: Any, buffers: Any = ()) -> None:
        super().__init__(file, buffers=buffers)
        self._found: dict[int, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "cloudpickle.cloudpickle":
            if name == "_make_skeleton_class":
                return self._skeleton
            if name == "_class_setstate":
                return self._setstate
        return super().find_class(module, name)

    def _skeleton(self, *args: Any) -> type:
        # (type_constructor, name, bases, type_kwargs, class_tracker_id, ...)
        tracker = args[4] if len(args) > 4 else None
        known = (tracker is not None and
                 tracker in _cloudpickle_impl._DYNAMIC_CLASS_TRACKER_BY_ID)
        cls: type = _cloudpickle_impl._make_skeleton_class(*args)
        if known:
            self._found[id(cls)] = cls
        return cls

    def _setstate(self, obj: type, state: Any) -> type:
        if id(obj) in self._found:
            return obj
        restored: type = _cloudpickle_impl._class_setstate(obj, state)
        return restored


def unpickle(data: Any, buffers: Any = ()) -> Any:
    """pickle.loads, keeping this process's own classes in a program."""
    # BytesIO copies its input: a stream big enough to live in a blob
    # (values, not code) is read in place, as before.
    # A stream that ships no class by value needs no care (the module
    # name is in it whenever it does).
    if (not keep_own_classes or len(data) >= STREAM_MAX or
            (type(data) is bytes and b"cloudpickle" not in data)):
        return pickle.loads(data, buffers=buffers)
    return _KeepOwnClasses(io.BytesIO(data), buffers).load()


def loads(data: bytes | memoryview, keep: dict[str, Any] | None = None,
          copy: bool = False) -> Any:
    """Unpickles bytes from encode(); b"" (a fresh result cown) is None.
    Blobs mapped to read it are added to `keep` (by name). With `copy`,
    out-of-band buffers are copied out of their blobs: a value the program
    keeps after releasing its cown must not change under it when a later
    behavior updates the blob in place."""
    if not data:
        return None
    if data[:1] != _BLOB_TAG:
        return unpickle(data)
    (n,) = struct.unpack_from("<I", data, 1)
    entries, stream_ref = pickle.loads(data[5:5 + n])
    mapped: dict[str, Any] = {} if keep is None else keep
    extent: dict[str, int] = {}
    for name, offset, length in entries:
        extent[name] = max(extent.get(name, 0), offset + length)
    buffers = []
    for name, offset, length in entries:
        blob = mapped.get(name)
        if blob is None or blob.size < extent[name]:
            blob = mapped[name] = _map(name, extent[name])
        view = memoryview(blob)[offset:offset + length]
        buffers.append(bytearray(view) if copy else view)
    if stream_ref is not None:
        name, length = stream_ref
        stream: Any = memoryview(_core.Blob(name, length))
    else:
        stream = memoryview(data)[5 + n:]
    return unpickle(stream, buffers=buffers)

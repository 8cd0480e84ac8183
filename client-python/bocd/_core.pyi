"""Type stubs for bocd._core, the pybind11 binding of the C++ client.

It moves bytes and ids only; pickling, handles and the bocpy API live in
the pure-Python package.
"""
from typing import Any, Callable, Optional, Union

class DaemonError(RuntimeError):
    """The daemon refused a request (its error code and message)."""

class DaemonConnectionError(ConnectionError):
    """The daemon cannot be reached or went away; names the socket."""

class NoDaemonError(DaemonConnectionError):
    """Nothing listens on the socket (no socket file, or a stale one)."""

class UntrustedDaemonError(DaemonConnectionError):
    """The socket's directory is owned by someone else or writable by
    others, or the daemon runs as a uid neither this process's nor
    $BOCD_DAEMON_UID; names the path, owner and mode, or both uids."""

def daemon_status(socket: str, timeout: float) -> dict[str, Any]:
    """The daemon's status: sessions with their executor figures."""
    ...

def default_socket_path() -> str:
    """$BOCD_SOCKET, else $XDG_RUNTIME_DIR/bocd/bocd.sock, else
    /tmp/bocd-$UID/bocd.sock."""

def take_rows(cls: Any, src: Any, indices: Any) -> Any:
    """A copy of rows `indices` (a non-empty list or tuple of ints,
    negative from the end) of the 2-D C-contiguous float64 array `src`,
    wrapped in `cls` (a Matrix class; None: the bare array); raises
    IndexError/TypeError/OverflowError for the first bad index."""

def put_rows(dst: Any, indices: Any, value: Any, accumulate: bool) -> None:
    """Writes (or adds) `value`, a float, a 1x1 or a (len(indices),
    columns) float64 array, into rows `indices` of `dst`, after checking
    every index and then the shape."""

def sum_rows(cls: Any, src: Any) -> Any:
    """The sum of the rows of the 2-D float64 array `src`, added in row
    order, as a new 1 x columns array wrapped in `cls` (None: bare)."""

def normalize_rows(cls: Any, src: Any, in_place: bool) -> Any:
    """Every row of `src` divided by its Euclidean length (rows of length
    0 unchanged): into `src` when `in_place` (returns `src`), else a new
    array wrapped in `cls` (None: bare)."""

def binary(cls: Any, op: int, a: Any, b: Any) -> Any:
    """a + b, a - b, a * b or a / b (op 0, 1, 2, 3) of two same-shape 2-D
    float64 arrays (either may be a float instead) as a new array wrapped
    in `cls` (None: bare); None when the shapes differ."""

def binary_into(op: int, a: Any, b: Any) -> Any:
    """a += b, -=, *= or /= (op 0, 1, 2, 3) into the 2-D float64 array
    `a`, for a same-shape array or a float `b`; True, or None when the
    shapes differ (nothing written)."""

def scaled_add(cls: Any, a: Any, s: float, x: Any) -> Any:
    """a + s*x (the product rounded first) for a float `s` and a
    same-shape 2-D float64 array `x`: a new array wrapped in `cls`, or
    into `a` (returned) when `cls` is None; None when the shapes differ."""

def clip(cls: Any, a: Any, lo: float, hi: float) -> Any:
    """Every element of the 2-D float64 array `a` clipped to [lo, hi] as
    numpy.clip does: a new array wrapped in `cls`, or into `a` (returned)
    when `cls` is None."""

def matmul_small(cls: Any, a: Any, b: Any) -> Any:
    """a @ b of 2-D float64 arrays as a new array wrapped in `cls` (None:
    bare) when rows * inner * columns is at most 16**3; None when it is
    larger or the inner dimensions differ."""

def buffer_span(obj: Any) -> tuple[int, int]:
    """(address, length) of an object's contiguous buffer."""

def plain_setup(plain: dict[Any, tuple[bytes, list[int], int, int]],
                handle_type: type, cown_type: type, pinned: dict[int, Any],
                counts: dict[int, int], runtime: Any) -> None:
    """Gives when_plain the objects of bocd's Python side it reads: the
    plain-code cache, the handle classes, the pinned cowns, the held
    handle counts and the bocd._runtime module."""

def submit_behavior(session: "Session", cowns: list[int], payload: bytes,
                    parent: int, refs: list[int], blobs: list[str],
                    code_len: int, code_key: int) -> int:
    """``session.submit(cowns, payload, True, parent, refs, blobs, 20,
    code_len, code_key)``: the result cown's id."""

def when_plain(fn: Any, cowns: tuple[Any, ...]) -> Any:
    """Schedules a plain behavior over single cowns and returns its result
    cown; None when the call is not of that shape or state (the Python path
    then takes it)."""

MEMORY_CAP: int  # the daemon error code of a value past the byte cap
SESSION_FIELDS: tuple[str, ...]  # a status session record's field names
Value = tuple[bytes, bool, int]  # (data, exception flag, daemon error code)
Update = tuple[int, bytes, bool, list[int], list[str]]
Result = tuple[bytes, bool, list[int], list[str]]
# What a worker that keeps values is told with a dispatch: the version
# each value is kept under (0: not kept), whether it is held already (its
# data is then empty), the cowns whose kept values to drop first, whether
# to drop every one (values and codes), whether the payload's code was
# left out (it keeps it) or is to be kept, the code keys whose code to
# drop first, and whether each value is the one the body before left here
# (pipelined: its data is then empty). None for any other dispatch.
Kept = Optional[tuple[tuple[int, ...], tuple[bool, ...], tuple[int, ...],
                      bool, bool, bool, tuple[int, ...], tuple[bool, ...]]]
# The outcome: updates, the result, and the slots whose kept values the
# worker dropped; or () when it ran nothing (it lacks an inherited value:
# the daemon sends the behavior again).
Body = Callable[[int, int, bytes, tuple[int, ...], tuple[Value, ...], bool,
                 Kept],
                Union[tuple[list[Update], Optional[Result], list[int]],
                      tuple[()]]]

class Session:
    """One connection to the daemon: a program's session, or a worker's
    when `body` is given (it then runs the behaviors dispatched to it)."""

    def __init__(self, socket: str, program: str,
                 body: Optional[Body] = None, stall_ms: int = 1,
                 on_unhandled: Optional[Callable[[int, Value], None]] = None,
                 environment: Optional[dict[str, Any]] = None,
                 keep_values: int = 0,
                 body_one: Optional[Callable[..., Any]] = None) -> None:
        """`keep_values`: a worker's budget of kept values, in bytes of
        their stored form (0: it keeps none). `body_one`: what runs a
        dispatch over one cown that drops nothing kept first, instead of
        `body`, with its parts flat (bocd._body.run_one's arguments)."""
    @property
    def session_id(self) -> int:
        """This session's id on the daemon (status records name it)."""
    @property
    def blob_prefix(self) -> str:
        """What this session's blob names start with (from the daemon)."""
    @property
    def behaviors_accepted(self) -> int:
        """Behaviors of this session (own and nested) the daemon had
        accepted at the last quiesce."""
    @property
    def notice_keys(self) -> int:
        """Keys a noticeboard holds on this daemon."""
        ...
    def close(self) -> None: ...
    def create(self, data: bytes, refs: list[int], blobs: list[str]) -> int:
        """Creates a cown holding `data`; returns its id."""
    def drop_many(self, ids: list[int]) -> None: ...
    def hold(self, ids: list[int]) -> None:
        """Takes this session's handle on existing cowns."""
    def submit(self, cowns: list[int], payload: bytes, with_result: bool,
               parent: int, refs: list[int], blobs: list[str],
               code_at: int = 0, code_len: int = 0, code_key: int = 0
               ) -> int:
        """Submits a behavior for the worker pool; returns its result cown
        id (0 without one). Payload bytes [code_at, code_at + code_len)
        are its code, named by code_key: a worker is sent a code once."""
    def acquire_begin(self, id: int,
                      take: Optional[tuple[bytes, bytes]] = None) -> int:
        """Sends an ordered request for the cown; returns its number. With
        `take` (empty, plain_prefix), a value that embeds no cown and
        whose bytes start with plain_prefix (not empty: ValueError) is
        taken out, leaving `empty`, and the cown released at once."""
    def acquire_wait(self, request: int, timeout: float,
                     or_pinned: bool) -> tuple[Optional[int], Value] | int:
        """(lease, value) once granted, lease None when the value was
        taken; 0 on timeout; 2 when `or_pinned` and pinned work is queued
        here. Negative timeout: no bound."""
    def acquire_cancel(self, request: int) -> None:
        """Gives the request up; a grant is let go unchanged."""
    def release(self, behavior: int, id: int, data: Optional[bytes],
                exception: bool, refs: list[int], blobs: list[str]) -> None: ...
    def quiesce(self, timeout: float) -> bool:
        """Waits until the session has nothing in flight; negative timeout
        waits without bound. False on timeout."""
    def serve(self) -> str:
        """Worker: serves until the daemon closes the session."""
    def reserve_ids(self, n: int) -> int:
        """Executor bridge: the first of `n` consecutive fresh cown ids."""
    def create_reserved(self, ident: int, data: bytes, refs: list[int],
                        blobs: list[str]) -> None:
        """Executor bridge: create() under an id from reserve_ids()."""
    def submit_reserved(self, cowns: list[int], payload: bytes, result: int,
                        parent: int, refs: list[int],
                        blobs: list[str]) -> None:
        """Executor bridge: a nested submission of deferred `parent`, its
        result cown `result` (a reserved id, or 0)."""
    def complete_deferred(self, behavior: int,
                          updates: list[tuple[int, bytes, bool, list[int],
                                              list[str]]],
                          result: tuple[bytes, bool, list[int], list[str]]
                          ) -> None:
        """Executor bridge: ends a behavior whose body returned None
        (deferred): commits `updates` (cown, data, exception, refs, blobs)
        and the result, and releases its cowns."""
    def blocking(self, behavior: int) -> None:
        """Worker: the body of `behavior` is about to wait; what the daemon
        pipelined behind it goes to other workers."""
    def create_pinned(self) -> int:
        """A pinned cown of this session (its value stays in the program)."""
    def run_pinned(self, body: Callable[..., Any]) -> bool:
        """Runs the oldest queued pinned behavior on this thread with
        `body`; False when none is queued."""
    def pinned_depth(self) -> int:
        """Pinned behaviors queued for this program's main thread."""
    def pinned_sync_needed(self) -> bool:
        """Whether pinned work may be on its way here (sync_pinned would
        bring it): pinned work submitted since the last sync, or still
        waiting for its cowns then."""
    def sync_pinned(self, timeout: float) -> bool:
        """Brings every pinned dispatch the daemon owes this program into
        the queue; False on timeout (call again); negative: no bound."""
    def take_freed_pinned(self) -> list[int]:
        """Ids of this program's pinned cowns the daemon has freed since
        the last call."""
    def pinned_age(self) -> tuple[float, int]:
        """(seconds the pinned queue has been non-empty, episode)."""
    def wait_or_pinned(self, timeout: float) -> int:
        """Waits for quiescence (1) or queued pinned work (2); 0 on
        timeout; a negative timeout waits without bound."""
    def mail_send(self, program: int, tag: str, data: bytes, refs: list[int],
                  blobs: list[str], after: tuple[int, int],
                  behavior: int) -> None: ...
    def mail_barrier(self) -> tuple[int, int]: ...
    def mail_request(self) -> int: ...
    def mail_receive(self, request: int, program: int, tags: list[str],
                     wait: bool, behavior: int) -> None: ...
    def mail_wait(self, request: int, timeout: float
                  ) -> Optional[tuple[bool, str, bytes, list[int]]]: ...
    def mail_cancel(self, request: int) -> None: ...
    def mail_release(self, request: int, behavior: int) -> None: ...
    def mail_return(self, request: int) -> None: ...
    def mail_board(self, program: int, proposed: int, after: tuple[int, int],
                   behavior: int) -> tuple[int, Optional[bytes], int]: ...
    def mail_release_snapshot(self, request: int, behavior: int) -> None: ...
    def mail_settle(self) -> None: ...
    def mail_take_lent(self, program: int, tag: str) -> bytes | None: ...
    def mail_drain(self, program: int, tags: list[str],
                   behavior: int) -> None: ...
    def mail_set_tags(self, program: int, tags: list[str],
                      behavior: int) -> None: ...
    def output(self, session: int, stream: int, data: bytes) -> None:
        """Worker: forwards a behavior's stdout (1) or stderr (2) text."""

class Blob:
    """A shared-memory blob, mapped read-write (supports the buffer
    protocol)."""

    def __init__(self, name: str, size: int) -> None:
        """Maps the existing blob `name`."""
    @staticmethod
    def create(prefix: str, size: int) -> "Blob":
        """Creates a new blob of `size` bytes named with `prefix` (a
        session's blob_prefix)."""
    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def address(self) -> int: ...
    @staticmethod
    def unlink(name: str) -> bool: ...
    def __buffer__(self, flags: int) -> memoryview: ...

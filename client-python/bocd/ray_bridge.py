"""A program's executor bridge to a Ray cluster: ``bocd serve --executor ray``.

The daemon starts one per Python program that has work for it, forked from
the program's worker template as a worker is (same interpreter, search
path and working directory), with $BOCD_RAY_ADDRESS and
$BOCD_EXECUTOR_SLOTS set. It connects as a worker the daemon sends up to
that many behaviors at once. Order and atomicity stay the daemon's: a
behavior reaches the bridge only once all its cowns are granted, and they
are released only when the bridge completes it.

Each dispatched behavior becomes a Ray task (``_ray_task.run``); the body
is deferred on the session and completed from the bridge's completion
thread when the task ends. Values smaller than $BOCD_RAY_INLINE_MAX bytes
travel inside the task's arguments; larger ones are put in Ray's object
store once and named by their ObjectRef while unchanged: the bridge keeps
(cown, digest of the committed bytes) -> ObjectRef, and a new value that
comes back from a task is kept by the ref of the task's own return, so a
chain of behaviors on a large cown puts it in the store once. The daemon
stays the holder of the committed value (the bridge commits each new one,
in a shared-memory blob when large).

A task lost with its Ray worker or node completes its behavior with an
error on the result cown naming the node; its cowns keep their committed
values. Nothing is retried unless $BOCD_RAY_RETRIES says so.

``python -m bocd.ray_bridge --probe ADDRESS`` connects once and prints
{"cpus": N} (or {"error": "..."}): the daemon's check at start.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import signal
import sys
import threading
from collections import OrderedDict
from typing import Any

from . import _body, _core, _runtime, _serial, worker

log = logging.getLogger("bocd.ray_bridge")

INLINE_MAX = int(os.environ.get("BOCD_RAY_INLINE_MAX", 256 * 1024))
# Bytes of values the bridge keeps referenced in the object store.
CACHE_BYTES = int(os.environ.get("BOCD_RAY_CACHE_BYTES", 1 << 30))


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class RefCache:
    """(cown, digest of its committed bytes) -> where the value is in
    Ray's object store: (ObjectRef, index or None). One entry per cown (a
    new version replaces the old); least recently used go past `budget`
    bytes, and are put again if needed."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self.puts = 0          # values put in the store (misses)
        self.put_bytes = 0
        self._entries: OrderedDict[int, tuple[bytes, Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cown: int, digest: bytes) -> Any:
        with self._lock:
            e = self._entries.get(cown)
            if e is None or e[0] != digest:
                return None
            self._entries.move_to_end(cown)
            return e[1]

    def put(self, cown: int, digest: bytes, where: Any, size: int) -> None:
        with self._lock:
            old = self._entries.pop(cown, None)
            if old is not None:
                self.size -= old[2]
            self._entries[cown] = (digest, where, size)
            self.size += size
            while self.size > self.budget and len(self._entries) > 1:
                _, (_, _, gone) = self._entries.popitem(last=False)
                self.size -= gone


class _Flight:
    """A behavior handed to Ray: its cowns, the ids reserved for what it
    creates, and the task's two return refs."""

    __slots__ = ("behavior", "ids", "first_id", "refs")

    def __init__(self, behavior: int, ids: tuple[int, ...], first_id: int,
                 refs: Any) -> None:
        self.behavior = behavior
        self.ids = ids
        self.first_id = first_id
        self.refs = refs


def _error_result(message: str) -> tuple[bytes, bool, list[int], list[str]]:
    result, _ = _body._encode_result(RuntimeError(message), True)
    return result


class Bridge:
    """Runs dispatched behaviors as Ray tasks; see the module docstring."""

    def __init__(self, ray: Any, sys_path: list[str], retries: int) -> None:
        from . import _ray_task
        self.ray = ray
        self.task = _ray_task.run.options(max_retries=retries)
        self.ids_per_task = _ray_task.IDS_PER_TASK
        self.sys_path = sys_path
        self.cache = RefCache(CACHE_BYTES)
        self.session: Any = None
        self.where = ray.remote(num_cpus=0)(_ray_task.Where).remote()
        # Up before the first task, which would otherwise wait for it.
        ray.get(self.where.ready.remote(), timeout=120)
        self._ended: list[int] = []
        self._done: queue.Queue[_Flight] = queue.Queue()
        self._free_ids: list[int] = []
        self._ids_lock = threading.Lock()

    # ---- the session's IO thread ----

    def body(self, behavior: int, session: int, payload: bytes,
             ids: tuple[int, ...], values: tuple[tuple[bytes, bool, int], ...],
             has_result: bool, kept: Any = None) -> Any:
        """The worker body: hands the behavior to Ray and defers it (None);
        an outcome at once when it cannot be handed over. `kept` is always
        None: a bridge keeps no values (it says so in its Hello), so every
        dispatch carries them all."""
        try:
            specs, big = self._specs(ids, values)
            first_id = self._take_ids()
            refs = self.task.remote(behavior, session, payload, ids, specs,
                                    has_result, first_id, self.sys_path,
                                    self.where, *big)
        except BaseException as e:
            log.exception("behavior %d not handed to Ray", behavior)
            return [], _error_result(
                f"behavior not run: the Ray executor could not start it: "
                f"{e!r}"), []
        flight = _Flight(behavior, ids, first_id, refs)
        refs[0].future().add_done_callback(
            lambda _f, fl=flight: self._done.put(fl))
        return None

    def _specs(self, ids: tuple[int, ...],
               values: tuple[tuple[bytes, bool, int], ...]
               ) -> tuple[list[Any], list[Any]]:
        """Each value as the task takes it: small self-contained bytes
        inline, large ones by ObjectRef (from the cache, or put now)."""
        specs: list[Any] = []
        big: list[Any] = []
        for cown, (data, exc, error) in zip(ids, values):
            if error or (data[:1] != _serial._BLOB_TAG and
                         len(data) < INLINE_MAX):
                specs.append((data, exc, error))  # self-contained already
                continue
            digest = _digest(data)
            where = self.cache.get(cown, digest)
            if where is None:
                ref, size = self._put(cown, data)
                where = (ref, None)
                self.cache.put(cown, digest, where, size)
            ref, index = where
            big.append(ref)
            specs.append((len(big) - 1 if index is None
                          else (len(big) - 1, index), exc, error))
        return specs, big

    def _put(self, cown: int, data: bytes) -> tuple[Any, int]:
        """The value as a self-contained pickle in the object store, and
        its size."""
        stream = data
        if data[:1] == _serial._BLOB_TAG:  # it names shared-memory blobs
            value = _serial.loads(data)
            stream, _ = _serial.dumps_inband(value)
            del value
        ref = self.ray.put(stream)
        self.cache.puts += 1
        self.cache.put_bytes += len(stream)
        log.info("put cown %d's value in the object store (%d bytes)", cown,
                 len(stream))
        return ref, len(stream)

    def _take_ids(self) -> int:
        with self._ids_lock:
            if not self._free_ids:
                n = self.ids_per_task * 64
                first = self.session.reserve_ids(n)
                self._free_ids = [first + k * self.ids_per_task
                                  for k in range(63, -1, -1)]
            return self._free_ids.pop()

    # ---- the completion thread ----

    def complete_forever(self) -> None:
        while True:
            flight = self._done.get()
            try:
                self._complete(flight)
            except BaseException as e:
                log.exception("behavior %d: completing failed", flight.behavior)
                try:
                    self.session.complete_deferred(
                        flight.behavior, [],
                        _error_result(f"bocd Ray bridge failed: {e!r}"))
                except Exception:
                    return  # the session is gone: so are its behaviors

    def _complete(self, fl: _Flight) -> None:
        ray = self.ray
        try:
            small = ray.get(fl.refs[0])
        except ray.exceptions.RayError as e:
            # The task was lost (its worker or node died), or could not
            # run: nothing is committed, the cowns are released.
            message = _lost(e, self._where(fl.behavior))
            log.warning("behavior %d: %s", fl.behavior, message)
            self._give_back(fl.first_id)
            self.session.complete_deferred(fl.behavior, [],
                                           _error_result(message))
            return
        updates, result, records, used, _node = small
        self._ended.append(fl.behavior)
        if len(self._ended) >= 256:
            self.where.ended.remote(self._ended)
            self._ended = []
        if used == 0:
            self._give_back(fl.first_id)
        self._replay(records)
        large: list[bytes] = ray.get(fl.refs[1]) if any(
            type(u[1]) is int for u in updates) else []
        out = []
        for slot, data, exc, refs, blobs in updates:
            cown = fl.ids[slot]
            if type(data) is int:  # large: committed from a blob
                enc = _serial.encode(_serial.loads(large[data]))
                self.cache.put(cown, _digest(enc.data), (fl.refs[1], data),
                               len(large[data]))
                out.append((cown, enc.data, exc, enc.refs, enc.blobs))
            else:
                out.append((cown, data, exc, refs, blobs))
        if result is None:
            result = (b"", False, [], [])
        self.session.complete_deferred(fl.behavior, out, result)

    def _where(self, behavior: int) -> tuple[str, str, int] | None:
        try:
            where: tuple[str, str, int] | None = self.ray.get(
                self.where.where.remote(behavior), timeout=30)
            return where
        except Exception:
            return None

    def _replay(self, records: list[tuple[Any, ...]]) -> None:
        s = self.session
        for r in records:
            kind = r[0]
            if kind == "create":
                s.create_reserved(r[1], r[2], r[3], [])
            elif kind == "submit":
                s.submit_reserved(r[1], r[2], r[3], r[4], r[5], [])
            elif kind == "hold":
                s.hold(r[1])
            elif kind == "drop":
                s.drop_many(r[1])

    def _give_back(self, first_id: int) -> None:
        with self._ids_lock:
            self._free_ids.append(first_id)


def _lost(e: BaseException, where: tuple[str, str, int] | None) -> str:
    """What the program reads on the result cown of a lost task: where it
    ran, and what Ray said."""
    text = str(e).strip().splitlines()
    head = " ".join(line.strip() for line in text[:3] if line.strip())
    at = ("on a Ray node not known (it was lost before it started)"
          if where is None else
          f"on Ray node {where[0]} ({where[1]}), worker pid {where[2]}")
    return (f"behavior lost: its Ray task did not complete {at}: "
            f"{type(e).__name__}: {head}")


def _program_dirs(sys_path: list[str]) -> list[str]:
    """The program's own directories on its search path: not the
    interpreter's, nor installed packages'."""
    prefixes = {os.path.realpath(p) for p in
                (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    out = []
    for p in sys_path:
        if not p or not os.path.isdir(p):
            continue
        real = os.path.realpath(p)
        if any(real == q or real.startswith(q + os.sep) for q in prefixes):
            continue
        if "site-packages" in real or "dist-packages" in real:
            continue
        out.append(real)
    return out


def connect(address: str, working_dir: str | None) -> Any:
    """ray.init for a bridge or a probe; raises what Ray raises."""
    import ray
    env: dict[str, Any] = {}
    if working_dir:
        env["working_dir"] = working_dir
        env["excludes"] = [".git", "__pycache__", "build*", ".venv*"]
    ray.init(address=address or None, runtime_env=env or None,
             namespace="bocd", logging_level=logging.WARNING,
             configure_logging=False, log_to_driver=True)
    return ray


def probe(address: str) -> int:
    try:
        ray = connect(address, None)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        ray.shutdown()
    except BaseException as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        return 1
    print(json.dumps({"cpus": cpus}), flush=True)
    return 0


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--probe":
        sys.exit(probe(sys.argv[2] if len(sys.argv) > 2 else ""))
    worker._die_with_the_daemon()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon stops us
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(name)s[%(process)d] %(levelname)s %(message)s")
    address = os.environ.get("BOCD_RAY_ADDRESS", "")
    retries = int(os.environ.get("BOCD_RAY_RETRIES", "0"))
    dirs = _program_dirs(list(sys.path))
    try:
        ray = connect(address, dirs[0] if dirs else None)
    except BaseException as e:
        # Before connecting to the daemon: it reports this line.
        print(f"bocd.ray_bridge: cannot reach the Ray cluster at "
              f"{address or 'a local Ray'}: {type(e).__name__}: {e}",
              file=sys.stderr, flush=True)
        os._exit(1)
    bridge = Bridge(ray, list(sys.path), retries)
    socket = os.environ.get("BOCD_SOCKET") or _core.default_socket_path()
    index = os.environ.get("BOCD_WORKER_INDEX", "0")
    # stall_ms 0: a bridge's bodies return at once, none ever blocks.
    session = _core.Session(socket, f"bocd.ray_bridge[{index}]", bridge.body,
                            0)
    bridge.session = session
    _runtime.bind_worker(session)  # blobs it commits carry its prefix
    _serial.keep_own_classes = False
    threading.Thread(target=bridge.complete_forever, name="bocd-ray-complete",
                     daemon=True).start()
    log.info("connected to the Ray cluster at %s (%s)",
             address or "a local Ray", ray.get_runtime_context().get_node_id())
    session.serve()
    os._exit(0)  # Ray's threads would keep the process


if __name__ == "__main__":
    main()

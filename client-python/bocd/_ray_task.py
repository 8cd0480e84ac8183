"""The cluster side of the Ray executor: one behavior as a Ray task.

The bridge (``bocd.ray_bridge``) submits ``run`` for each behavior the
daemon dispatched to it; a Ray worker on some node runs it. The body runs
through ``_body.run``, exactly as in a local worker, over values that are
self-contained pickles (no shared-memory blobs: a node is another
machine). What the body does to the daemon (cowns it creates, behaviors it
schedules, handles it takes and drops) is recorded by ``_Recorder``, which
stands in for the worker's session, and replayed by the bridge, in order,
before it completes the behavior.

Imported by Ray on the nodes, so bocd must be installed there (docs/cluster.md).
"""
from __future__ import annotations

import os
import sys
from typing import Any

import ray

from . import _body, _runtime, _serial

# How many cown ids one behavior may use for the cowns it creates and the
# behaviors it schedules (their result cowns); the bridge reserves them
# from its session before the task starts.
IDS_PER_TASK = 32

# Values at least this large travel as their own Ray objects, and new ones
# come back as the task's second return value (see run).
BIG = int(os.environ.get("BOCD_RAY_INLINE_MAX", 256 * 1024))


class _Recorder:
    """Stands in for the daemon session in a Ray worker: what a body asks
    of the daemon is kept for the bridge to replay."""

    def __init__(self) -> None:
        self.records: list[tuple[Any, ...]] = []
        self.ids: list[int] = []
        self.used = 0

    def begin(self, first: int, count: int) -> None:
        self.records = []
        self.ids = list(range(first, first + count)) if first else []
        self.used = 0

    def _fresh(self) -> int:
        if self.used >= len(self.ids):
            raise RuntimeError(
                f"a behavior on the Ray executor may create at most "
                f"{IDS_PER_TASK} cowns and nested behaviors")
        self.used += 1
        return self.ids[self.used - 1]

    def create(self, data: bytes, refs: list[int], blobs: list[str]) -> int:
        ident = self._fresh()
        self.records.append(("create", ident, data, list(refs)))
        return ident

    def submit(self, cowns: list[int], payload: bytes, with_result: bool,
               parent: int, refs: list[int], blobs: list[str],
               code_at: int = 0, code_len: int = 0, code_key: int = 0
               ) -> int:
        # The code's place in the payload only spares a keeping worker its
        # bytes: the bridge replays the whole payload (submit_reserved).
        result = self._fresh() if with_result else 0
        self.records.append(("submit", list(cowns), payload, result, parent,
                             list(refs)))
        return result

    def hold(self, ids: list[int]) -> None:
        self.records.append(("hold", list(ids)))

    def drop_many(self, ids: list[int]) -> None:
        self.records.append(("drop", list(ids)))

    def blocking(self, behavior: int) -> None:
        pass  # a Ray task holds no other behaviors back

    def output(self, session: int, stream: int, data: bytes) -> None:
        pass  # not used: a task's prints go to Ray's logs

    @property
    def blob_prefix(self) -> str:
        raise RuntimeError("no shared memory on a Ray node")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            f"bocd: {name.removeprefix('mail_')} is not available to "
            "behaviors that run on the Ray executor (messaging and the "
            "noticeboard need the daemon's machine)")


class Where:
    """Where each running behavior's task runs (node, address, pid), so a
    task lost with its worker or node can be named: Ray's error for it
    does not say. One Ray actor per bridge (made by it, with no CPU);
    tasks tell it as they start, the bridge forgets those that ended."""

    def __init__(self) -> None:
        self.at: dict[int, tuple[str, str, int]] = {}

    def started(self, behavior: int, node: str, ip: str, pid: int) -> None:
        self.at[behavior] = (node, ip, pid)

    def ended(self, behaviors: list[int]) -> None:
        for b in behaviors:
            self.at.pop(b, None)

    def where(self, behavior: int) -> tuple[str, str, int] | None:
        return self.at.pop(behavior, None)

    def ready(self) -> bool:
        return True


_recorder: _Recorder | None = None


def _setup(sys_path: list[str]) -> _Recorder:
    """Once per Ray worker process: values stay in-band, and the body's
    calls to the daemon are recorded."""
    global _recorder
    if _recorder is None:
        _serial.OOB_MIN = _serial.STREAM_MAX = 1 << 62  # no blobs here
        _serial.keep_own_classes = False
        _recorder = _Recorder()
        _runtime.bind_worker(_recorder)
        # What would wait for the daemon over a second session (messaging,
        # acquire) gets the recorder's clear error instead.
        _runtime._waiting = _recorder
    # The program's own directories, where this node has them (a shared
    # file system, or a local cluster); its working directory came with
    # the job's runtime environment.
    for p in reversed(sys_path):
        if p and p not in sys.path and os.path.isdir(p):
            sys.path.insert(1, p)
    return _recorder


@ray.remote(num_returns=2, max_retries=0)
def run(behavior: int, session: int, payload: bytes, ids: tuple[int, ...],
        specs: list[tuple[Any, bool, int]], has_result: bool,
        first_id: int, sys_path: list[str], where: Any, *big: Any
        ) -> tuple[tuple[Any, ...], list[bytes]]:
    """Runs one behavior. `specs` are its cowns' values as (data,
    exception, error), data being bytes or, for a large value, an index
    into `big` (Ray hands each of those over as the object it names: the
    bytes, or a list of them and an index). Returns (small, large): the
    updates [(slot, data, exception, refs, blobs)] with each large data
    replaced by its index in `large`, the result, the records to replay,
    how many reserved ids were used, and this node's id. `where`: the
    bridge's Where, told first."""
    ctx = ray.get_runtime_context()
    node = ctx.get_node_id()
    # Waited for, a round trip per behavior: a note still queued here dies
    # with this process, the very case it is for (sent without waiting,
    # the test that kills a worker saw it lost).
    ray.get(where.started.remote(
        behavior, node,
        ray.util.get_node_ip_address(),  # type: ignore[no-untyped-call]
        os.getpid()))
    rec = _setup(sys_path)
    rec.begin(first_id, IDS_PER_TASK)
    values = []
    for data, exc, error in specs:
        if type(data) is int:
            data = big[data]
        elif type(data) is tuple:  # (index into big, index into its list)
            data = big[data[0]][data[1]]
        values.append((data, exc, error))
    # _body.run first flushes the handles earlier bodies here dropped:
    # recorded with this one's.
    out = _body.run(behavior, session, payload, ids, tuple(values),
                    has_result)
    if not out:  # only a pipelined dispatch bounces; this one is none
        raise RuntimeError("bocd: a Ray task's behavior did not run")
    updates, result, _ = out
    large: list[bytes] = []
    small_updates = []
    for slot, data, exc, refs, blobs in updates:
        if len(data) >= BIG:
            large.append(data)
            data = len(large) - 1
        small_updates.append((slot, data, exc, refs, blobs))
    return ((small_updates, result, rec.records, rec.used, node), large)

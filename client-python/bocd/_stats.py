"""Statistics: bocpy's per-worker dicts, and bocd's own richer figures.

The daemon schedules centrally, so bocpy's work-stealing counters have no
counterpart. quiesce(stats=True) keeps bocpy's 14 keys (tests check the
exact set; see the stats row of the table "Compatibility with bocpy 0.14"
in docs/python.md) with these meanings: behaviors the program scheduled
count under pushed_remote and those its behaviors scheduled under
dispatched_to_pending (as bocpy does), on worker 0; popped_local is the
behaviors each of this program's workers has run; the rest stay 0.
runtime_stats() gives what a bocd user wants to see: per worker,
behaviors run, busy time and queue depth; for this program's main thread,
its pinned dispatches and pinned queue.
"""
from __future__ import annotations

import os
from typing import Any

from . import _core, _pump, _runtime

STAT_KEYS = (
    "worker_index", "pushed_local", "dispatched_to_pending", "pushed_remote",
    "popped_local", "popped_via_steal", "enqueue_cas_retries",
    "dequeue_cas_retries", "batch_resets", "steal_attempts", "steal_failures",
    "parked", "last_steal_attempt_ns", "fairness_arm_fires",
)


def _me() -> int:
    s = _runtime._session
    return s.session_id if s is not None else 0


def _workers(status: dict[str, Any]) -> list[dict[str, Any]]:
    """This program's workers: those the daemon started for it (other
    programs' are none of its business), and any that serve every
    program. Sessions come sorted by id: a replacement worker takes the
    place after those still serving."""
    me = _me()
    return [s for s in status["sessions"]
            if s["role"] == "worker" and s["serves"] in (0, me)]


def _main(status: dict[str, Any]) -> dict[str, Any] | None:
    me = _me()
    for s in status["sessions"]:
        if s["role"] == "client" and s["id"] == me:
            return dict(s)
    return None


def bocpy_stats() -> list[dict[str, int]]:
    """bocpy's shape: WORKER_COUNT dicts of exactly STAT_KEYS."""
    workers = _workers(_runtime.daemon_status())
    out = []
    for i in range(_runtime.worker_count()):
        d = dict.fromkeys(STAT_KEYS, 0)
        d["worker_index"] = i
        if i == 0:
            d["pushed_remote"] = _runtime.scheduled()
            d["dispatched_to_pending"] = _runtime.nested()
        if i < len(workers):
            d["popped_local"] = workers[i]["ran"]
        out.append(d)
    return out


def runtime_stats(timeout: float = 10.0) -> dict[str, Any]:
    """What the daemon reports now, for this program and its workers.

    Returns ``{"workers": [...], "main": {...}, "queued": n}``:

    * ``workers``: one dict per worker process serving this program, with
      ``worker_index``, ``pid``, ``behaviors_run``, ``running`` (dispatched
      to it, not yet ended: its queue depth), ``busy_s`` (time it held
      at least one behavior) and ``mean_run_s`` (the moving average of its
      bodies' run times, by which the daemon decides whether to send it
      more while it is busy; None before its first), and ``session``: the
      daemon's whole record of its session, every field of the schema's
      SessionInfo by its name (``_core.SESSION_FIELDS``). The daemon starts
      workers for each program alone; workers that connected on their
      own serve every program, and count all of their work.
    * ``main``: this program as an executor of its pinned work: ``pid``,
      ``pinned_dispatched`` (pinned behaviors routed to it so far),
      ``pinned_depth`` (what a pump() called now would run: every pinned
      behavior ready now and not yet run), ``behaviors_run``,
      ``busy_s``, ``in_flight`` (its behaviors not yet completed), and
      ``session`` (its whole record, as for a worker).
    * ``queued``: ready behaviors waiting for a free worker.
    * ``daemon``: the daemon this program uses: ``socket``, ``pid``, and
      ``private`` (True when the program started it for itself).

    Reads the daemon's figures over a short admin connection; nothing is
    waited for or torn down. Raises ConnectionError if the daemon is gone.
    """
    depth = _pump.ready_depth()  # first: the daemon has then read our submits
    status = _runtime.daemon_status(timeout)
    workers = [{
        "worker_index": i,
        "pid": w["pid"],
        "behaviors_run": w["ran"],
        "running": w["running"],
        "busy_s": w["busy_us"] / 1e6,
        "mean_run_s": None if w["mean_run_us"] < 0 else w["mean_run_us"] / 1e6,
        "session": w,
    } for i, w in enumerate(_workers(status))]
    me = _main(status) or dict.fromkeys(_core.SESSION_FIELDS, 0)
    main = {
        "pid": os.getpid(),
        "pinned_dispatched": me["pinned_dispatched"],
        "pinned_depth": me["pinned_depth"] if depth is None else depth,
        "behaviors_run": me["ran"],
        "busy_s": me["busy_us"] / 1e6,
        "in_flight": me["in_flight"],
        "session": me,
    }
    daemon = dict(_runtime.daemon_info(), pid=status["pid"])
    return {"workers": workers, "main": main, "queued": status["queued"],
            "daemon": daemon}

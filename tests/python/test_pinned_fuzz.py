"""Random mixed request sets over pinned and regular cowns (docs/python.md
"Pinned cowns"), generated with hypothesis.

A program is a list of behaviors, each over a random non-empty choice of a
pool of PinnedCowns and regular Cowns, passed as single cowns, as one group
(list or tuple) or both, sometimes naming a cown twice. Every body appends
its sequence number to a log kept in each cown it holds, so once the
session is quiescent each cown's log must be exactly the sequence numbers
of the behaviors that asked for it, in scheduling order (per-cown FIFO).
Each body also proves it holds its cowns alone: it creates one marker file
per cown with O_EXCL while it runs, which fails if another body (in this
process or a worker) holds the same cown at the same time. Where it ran is
its result: this process's main thread when its set names a pinned cown,
a worker process otherwise.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bocd import Cown, PinnedCown, pump, whencall

from conftest import settle

MAIN = threading.get_ident()
PID = os.getpid()

N_PINNED = 3
N_REGULAR = 4
POOL = N_PINNED + N_REGULAR  # names 0..2 are pinned, 3..6 regular

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow,
                           HealthCheck.function_scoped_fixture],
    database=None,  # a found failure is printed; keep the tree clean
)


class Planned(Exception):
    """What a body told to raise raises."""


@dataclass(frozen=True)
class Step:
    seq: int
    names: tuple[int, ...]  # pool indices, in the order the body gets them
    shape: str              # "flat", "list", "tuple" or "mixed"
    raises: str | None      # None, "before" or "after" its writes
    pump_after: bool        # the test calls pump() once it is scheduled

    @property
    def pinned(self) -> bool:
        return any(n < N_PINNED for n in self.names)


def body(*args):
    """One behavior: cowns and groups first, then the captures (sequence
    number, pool names of the cowns in flattened order, marker directory,
    raise mode). Runs on a worker or, pinned, on the test's main thread:
    no pytest assert here."""
    *cowns, seq, names, marks, raises = args
    flat = []
    for a in cowns:
        flat.extend(a if isinstance(a, (list, tuple)) else [a])
    if len(flat) != len(names):
        raise AssertionError(f"#{seq}: got {len(flat)} cowns, sent {names}")
    held = []
    try:
        for n in sorted(set(names)):
            path = os.path.join(marks, f"cown-{n}")
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except OSError as e:
                if e.errno == errno.EEXIST:
                    raise AssertionError(
                        f"#{seq}: cown {n} is held by another body") from None
                raise
            held.append(path)
        if raises == "before":
            raise Planned(f"#{seq} before")
        for c, n in zip(flat, names):
            # Aliases of one cown share its value: the first handle's write
            # shows through the second, which then has nothing to add.
            if c.value[-1:] == [seq]:
                continue
            if n < N_PINNED:
                c.value.append(seq)  # the very list, kept in this process
            else:
                c.value = c.value + [seq]
        for c, n in zip(flat, names):
            if c.value[-1:] != [seq]:
                raise AssertionError(f"#{seq}: alias of cown {n} reads "
                                     f"{c.value!r}")
        if raises == "after":
            raise Planned(f"#{seq} after")
        return seq, os.getpid(), threading.get_ident()
    finally:
        for path in held:
            os.unlink(path)


def arguments(step: Step, pool: list) -> list:
    cowns = [pool[n] for n in step.names]
    if step.shape == "flat":
        return cowns
    if step.shape == "list":
        return [cowns]
    if step.shape == "tuple":
        return [tuple(cowns)]
    return [cowns[0], cowns[1:]]  # mixed: a single, then a group


@st.composite
def steps(draw, raising: bool):
    n = draw(st.integers(min_value=5, max_value=30))
    out = []
    for seq in range(n):
        # A third each of worker-only, pinned-only and any mix, so that
        # worker bodies run alongside pinned ones often enough.
        low, high = draw(st.sampled_from([(N_PINNED, POOL - 1),
                                          (0, N_PINNED - 1),
                                          (0, POOL - 1)]))
        names = tuple(draw(st.lists(st.integers(low, high), min_size=1,
                                    max_size=5)))
        shapes = ["flat", "list", "tuple"] + (["mixed"] if len(names) > 1
                                              else [])
        out.append(Step(
            seq=seq,
            names=names,
            shape=draw(st.sampled_from(shapes)),
            raises=draw(st.sampled_from([None, None, "before", "after"]))
            if raising else None,
            pump_after=draw(st.integers(0, 4)) == 0,
        ))
    return out


def run_program(program: list[Step]) -> None:
    marks = tempfile.mkdtemp(prefix="bocd-fuzz-")
    try:
        pinned = [PinnedCown([]) for _ in range(N_PINNED)]
        idents = [id(p.value) for p in pinned]
        pool = pinned + [Cown([]) for _ in range(N_REGULAR)]
        results = []
        for s in program:
            results.append(whencall(body, arguments(s, pool),
                                    [s.seq, list(s.names), marks, s.raises]))
            if s.pump_after:
                pump()  # whatever pinned work has arrived by now
        settle()
        assert os.listdir(marks) == [], "a body left a cown marked as held"
        logs = [p.value for p in pinned]
        for c in pool[N_PINNED:]:
            with c as v:
                logs.append(v)
    finally:
        shutil.rmtree(marks, ignore_errors=True)

    for n in range(POOL):
        expected = [s.seq for s in program
                    if n in s.names and s.raises != "before"]
        assert logs[n] == expected, (
            f"cown {n} ({'pinned' if n < N_PINNED else 'regular'}): log "
            f"{logs[n]} but the behaviors asking for it were {expected}")
    # The pinned values never left this process: the bodies appended to
    # the very list each was made with.
    assert [id(p.value) for p in pinned] == idents

    for s, r in zip(program, results):
        if s.raises is not None:
            with pytest.raises(Planned) as e:
                r.unwrap()
            assert e.value.args == (f"#{s.seq} {s.raises}",)
            continue
        seq, pid, tid = r.unwrap()
        assert seq == s.seq
        if s.pinned:
            assert (pid, tid) == (PID, MAIN), (
                f"#{s.seq} {s.names} names a pinned cown but ran in pid "
                f"{pid} thread {tid}")
        else:
            assert pid != PID, f"#{s.seq} {s.names} ran here, not on a worker"


@FUZZ
@given(program=steps(raising=False))
def test_mixed_request_sets_keep_per_cown_order(program):
    run_program(program)


@FUZZ
@given(program=steps(raising=True))
def test_raising_bodies_keep_their_writes_and_the_order(program):
    """The exception lands on the result cown, the cowns are released, and
    writes made before the raise are kept (no rollback)."""
    run_program(program)


def test_fixed_program_covers_every_shape():
    """One hand-written program, so every shape runs whatever hypothesis
    draws: duplicates in a flat set and in a group, a pinned cown only in
    a group, all pinned, all regular, and raises on both sides."""
    P0, P1, P2, U0, U1, U2, U3 = range(POOL)
    plan = [
        ((P0, U0), "flat", None),
        ((U0, U0), "flat", None),
        ((U1, P1, U1), "list", "after"),
        ((P0, P0, P1, P2), "tuple", None),
        ((U2, U3, P2), "mixed", "before"),
        ((U0, U1, U2, U3), "mixed", "after"),
        ((U3,), "list", None),
        ((P2, U0, U3), "flat", None),
    ]
    run_program([Step(i, names, shape, raises, pump_after=i % 3 == 0)
                 for i, (names, shape, raises) in enumerate(plan)])

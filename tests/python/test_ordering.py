"""Ordering and atomicity: behaviors that share a cown run in the order
they were scheduled, each holding its whole request set at once
(docs/protocol.md "A behavior")."""

import os
import random

from bocd import Cown, when
from conftest import (
    announce_and_wait,
    fifo_read,
    fifo_write,
    hold_until_open,
    increment,
    settle,
)


def test_chain_through_result_cowns():
    x = Cown(2)

    @when(x)
    def step1(x):
        return x.value + 3

    @when(step1)
    def step2(s):
        return s.value * 4

    @when(step2)
    def step3(s):
        return s.value - 7

    settle()
    assert step3.unwrap() == 13


def test_no_lost_updates():
    c = Cown(0)
    increment(c, 50)
    settle()
    assert c.unwrap() == 50


def test_per_cown_fifo_order():
    log = Cown([])
    for i in range(200):

        @when(log)
        def append(log, i=i):
            log.value.append(i)

    settle()
    assert log.unwrap() == list(range(200))


def test_overlapping_sets_run_in_scheduling_order(fifo):
    """s1(a) held back, then s2(a, b), then s3(b): log reads s1, s2, s3."""
    gate = fifo("gate")
    a, b = Cown(None), Cown(None)
    log = Cown([])

    @when(a, log)
    def s1(a, log, gate=gate):
        open(gate).read()
        log.value.append("s1")

    @when(a, b, log)
    def s2(a, b, log):
        log.value.append("s2")

    @when(b, log)
    def s3(b, log):
        log.value.append("s3")

    fifo_write(gate)
    settle()
    assert log.unwrap() == ["s1", "s2", "s3"]


def test_s3_on_b_only_waits_for_s2(fifo):
    """Same shape without a shared log: s3 reads what s2 wrote to b."""
    gate = fifo("gate")
    a, b = Cown([]), Cown([])

    @when(a)
    def s1(a, gate=gate):
        open(gate).read()
        a.value.append("s1")

    @when(a, b)
    def s2(a, b):
        b.value.append(list(a.value))

    @when(b)
    def s3(b):
        return list(b.value)

    fifo_write(gate)
    settle()
    assert s3.unwrap() == [["s1"]]


def test_readers_around_a_transfer(fifo):
    gate = fifo("gate")
    src, dst = Cown(100), Cown(0)

    hold_until_open(src, gate)

    @when(src)
    def before_src(src):
        return src.value

    @when(dst)
    def before_dst(dst):
        return dst.value

    @when(src, dst)
    def transfer(src, dst):
        src.value -= 30
        dst.value += 30

    @when(src)
    def after_src(src):
        return src.value

    @when(dst)
    def after_dst(dst):
        return dst.value

    fifo_write(gate)
    settle()
    assert (before_src.unwrap(), before_dst.unwrap()) == (100, 0)
    assert (after_src.unwrap(), after_dst.unwrap()) == (70, 30)


def test_transfers_conserve_the_total():
    rng = random.Random(7)
    accounts = [Cown(1000) for _ in range(10)]
    audits = []
    for n in range(300):
        i, j = rng.sample(range(10), 2)

        @when(accounts[i], accounts[j])
        def transfer(a, b, amount=rng.randint(1, 50)):
            a.value -= amount
            b.value += amount

        if n % 50 == 0:

            @when(accounts)
            def audit(group):
                return sum(c.value for c in group)

            audits.append(audit)
    settle()
    assert [r.unwrap() for r in audits] == [10_000] * len(audits)
    assert sum(c.unwrap() for c in accounts) == 10_000


def test_disjoint_behaviors_run_in_parallel(fifo):
    """Both behaviors are running at once: each announces itself, then waits
    for the test, which hears both announcements before opening either gate."""
    a, b = Cown("a"), Cown("b")
    started = [fifo("started-a"), fifo("started-b")]
    gates = [fifo("gate-a"), fifo("gate-b")]

    @when(a)
    def ra(a, started=started[0], gate=gates[0]):
        announce_and_wait(started, gate)  # writes its pid

    @when(b)
    def rb(b, started=started[1], gate=gates[1]):
        announce_and_wait(started, gate)

    pids = {int(fifo_read(p)) for p in started}
    for g in gates:
        fifo_write(g)
    settle()
    assert len(pids) == 2 and os.getpid() not in pids

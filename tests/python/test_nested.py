"""Behaviors scheduled from inside behaviors, and returned cowns
(docs/protocol.md "A behavior": a nested behavior's parent)."""

import os

from bocd import Cown, when, whencall
from conftest import settle


def test_nested_runs_after_the_outer_body():
    x = Cown(0)
    log = Cown([])

    @when(x, log)
    def outer(x, log):
        log.value.append("outer-start")

        @when(x, log)
        def inner(x, log):
            log.value.append("inner")

        log.value.append("outer-end")

    settle()
    assert log.unwrap() == ["outer-start", "outer-end", "inner"]


def test_nested_on_one_shared_cown_waits_for_parent():
    x = Cown([])

    @when(x)
    def outer(x):
        x.value.append("outer-1")

        @when(x)
        def inner(x):
            x.value.append("inner")

        x.value.append("outer-2")

    settle()
    assert x.unwrap() == ["outer-1", "outer-2", "inner"]


def test_outer_returns_inner_result():
    x = Cown(5)

    @when(x)
    def outer(x):
        @when(x)
        def inner(x):
            return x.value * 10

        return inner

    settle()
    inner = outer.unwrap()
    assert inner.unwrap() == 50


def test_returned_cown_arrives_downstream_as_a_handle():
    @when()
    def make():
        return Cown(42)

    @when(make)
    def down(m):
        return m.value  # the handle

    settle()
    handle = down.unwrap()
    assert handle.unwrap() == 42


def test_quiesce_covers_the_whole_nested_tree():
    log = Cown([])

    @when(log)
    def countdown(log, n=6):
        log.value.append(n)
        if n:
            whencall(countdown_body, [log], [n - 1])

    settle()
    assert log.unwrap() == [6, 5, 4, 3, 2, 1, 0]


def countdown_body(log, n):
    """Importable: shipped to workers by reference."""
    log.value.append(n)
    if n:
        whencall(countdown_body, [log], [n - 1])


def test_nested_fan_out_and_join():
    parts = [Cown(i) for i in range(8)]
    total = Cown(0)

    @when(total)
    def fan(total, parts=parts):
        for p in parts:

            @when(p, total)
            def add(p, total):
                total.value += p.value * p.value

    settle()
    assert total.unwrap() == sum(i * i for i in range(8))


def test_nested_behavior_runs_in_a_worker():
    @when()
    def outer():
        @when()
        def inner():
            return os.getpid()

        return inner

    settle()
    assert outer.unwrap().unwrap() != os.getpid()

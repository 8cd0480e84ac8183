"""What a user's type checker sees of bocd's API. Checked by mypy in
tools/test.sh (never run): each assert_type fails the check if the API's
types regress."""
from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import bocd
from bocd import Cown, WaitResult, quiesce, receive, wait, when, whencall

counter: Cown[int] = Cown(0)


@when(counter)
def doubled(c: Cown[int]) -> int:
    return c.value * 2


assert_type(doubled, Cown[int])
assert_type(doubled.unwrap(), int)


def label(c: Cown[int], prefix: str) -> str:
    return f"{prefix}{c.value}"


assert_type(whencall(label, [counter], ["n="]), Cown[str])

assert_type(wait(), None)
assert_type(quiesce(1.0), None)
assert_type(wait(stats=True), list[dict[str, int]])
assert_type(quiesce(noticeboard=True), dict[str, Any])
assert_type(wait(stats=True, noticeboard=True), WaitResult)

assert_type(receive("tag"), tuple[str, Any])
assert_type(receive("tag", 0.5, lambda: None), "tuple[str, Any] | None")
assert_type(receive(["a", "b"], after=lambda: 7), "tuple[str, Any] | int")

assert_type(bocd.pump(), bocd.PumpResult)

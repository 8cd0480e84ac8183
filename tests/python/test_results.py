"""The result-cown contract: values, raised and returned exceptions,
BaseException bodies (docs/python.md "Code")."""

import pytest

from bocd import Cown, when
from conftest import settle


def test_raised_exception_is_stored_and_reraised():
    x = Cown(1)

    @when(x)
    def boom(x):
        return x.value / 0

    settle()
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        boom.unwrap()
    assert boom.unwrap() is None  # the exception was taken


def test_downstream_sees_exception_flag_and_object():
    x = Cown(1)

    @when(x)
    def boom(x):
        raise ValueError("bad thing 17")

    @when(boom)
    def inspect(r):
        return r.exception, type(r.value).__name__, str(r.value)

    settle()
    assert inspect.unwrap() == (True, "ValueError", "bad thing 17")
    with pytest.raises(ValueError, match="bad thing 17"):
        boom.unwrap()


def test_exception_flag_readable_by_owner():
    @when()
    def boom():
        raise KeyError("k")

    settle()
    with boom as v:
        assert boom.exception is True
        assert isinstance(v, KeyError)


def test_returned_exception_is_a_plain_value():
    @when()
    def give():
        return ValueError("v")

    @when(give)
    def inspect(r):
        return r.exception

    settle()
    assert inspect.unwrap() is False
    got = give.unwrap()
    assert isinstance(got, ValueError) and str(got) == "v"


def test_assigning_value_clears_exception_flag():
    @when()
    def boom():
        raise RuntimeError("x")

    @when(boom)
    def fix(r):
        before = r.exception
        r.value = "fixed"
        return before, r.exception

    settle()
    assert fix.unwrap() == (True, False)
    assert boom.unwrap() == "fixed"


def test_exception_flag_can_be_cleared_by_hand():
    @when()
    def boom():
        raise RuntimeError("kept as value")

    @when(boom)
    def clear(r):
        r.exception = False

    settle()
    got = boom.unwrap()  # returned, not raised
    assert isinstance(got, RuntimeError) and str(got) == "kept as value"


def test_writes_before_raising_are_kept_and_cown_released():
    c = Cown(0)

    @when(c)
    def partial(c):
        c.value = 41
        raise ValueError("after write")

    @when(c)
    def next_one(c):
        c.value += 1
        return c.value

    settle()
    assert next_one.unwrap() == 42
    with pytest.raises(ValueError):
        partial.unwrap()


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_base_exception_body_is_captured(exc):
    c = Cown(0)

    @when(c)
    def hard(c, exc=exc):
        c.value = 1
        raise exc("from body")

    @when(c)
    def follow(c):
        return c.value + 1

    settle()
    assert follow.unwrap() == 2
    with pytest.raises(exc):
        hard.unwrap()


def test_exception_with_custom_class_from_importable_module():
    @when()
    def boom():
        raise CustomError("custom", 3)

    settle()
    with pytest.raises(CustomError) as e:
        boom.unwrap()
    assert e.value.args == ("custom", 3)


class CustomError(Exception):
    pass

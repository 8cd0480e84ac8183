"""Values crossing processes: unpicklable values and return values
(docs/python.md "Values"), numpy arrays through shared memory, large values,
assorted types."""

import dataclasses
import threading

import pytest

from bocd import Cown, when
from conftest import settle


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_unpicklable_value_fails_in_the_constructor():
    with pytest.raises(TypeError, match="cannot pickle"):
        Cown(threading.Lock())
    with pytest.raises(TypeError, match="cannot pickle"):
        Cown({"nested": [threading.Lock()]})


def test_unpicklable_return_value_lands_on_the_result():
    c = Cown(7)

    @when(c)
    def give_lock(c):
        import threading

        return threading.Lock()

    @when(c)
    def after(c):
        return c.value

    settle()
    with give_lock as v:
        assert give_lock.exception is True
        assert isinstance(v, TypeError) and "cannot pickle" in str(v)
    # Row 4: nothing stays stuck; the cown keeps its value.
    assert after.unwrap() == 7
    assert c.unwrap() == 7


def test_unpicklable_cown_value_keeps_the_previous_value():
    c = Cown([1, 2])

    @when(c)
    def poison(c):
        import threading

        c.value = threading.Lock()
        return "unreachable result"

    @when(c)
    def after(c):
        c.value.append(3)
        return list(c.value)

    settle()
    with pytest.raises(TypeError, match="cannot pickle"):
        poison.unwrap()
    assert after.unwrap() == [1, 2, 3]
    assert c.unwrap() == [1, 2, 3]


def test_assorted_values_round_trip():
    values = [
        None,
        True,
        2**100,
        3.5,
        "text ✓",
        b"\x00\xff" * 10,
        (1, (2, 3)),
        {"k": [1, {2, 3}], 4: frozenset({5})},
        Point(1, 2),
        bytearray(b"abc"),
    ]
    cs = [Cown(v) for v in values]

    @when(cs)
    def echo(group):
        return [c.value for c in group]

    settle()
    assert echo.unwrap() == values
    assert [c.unwrap() for c in cs] == values


def test_large_bytes_value():
    blob = bytes(range(256)) * (8 * 1024 * 4)  # 8 MiB
    c = Cown(blob)

    @when(c)
    def flip(c):
        c.value = c.value[::-1]
        return len(c.value)

    settle()
    assert flip.unwrap() == len(blob)
    assert c.unwrap() == blob[::-1]


def test_numpy_array_round_trip():
    np = pytest.importorskip("numpy")
    a = np.arange(1_000_000, dtype=np.float64).reshape(1000, 1000)
    c = Cown(a)

    for k in range(3):

        @when(c)
        def update(c, k=k):
            c.value *= 2
            c.value[0, 0] = -1 - k
            return c.value.dtype.str, c.value.shape

    settle()
    assert update.unwrap() == (a.dtype.str, (1000, 1000))
    expected = a * 8
    expected[0, 0] = -3
    got = c.unwrap()
    assert isinstance(got, np.ndarray)
    assert got.dtype == a.dtype and got.shape == a.shape
    assert np.array_equal(got, expected)


def test_numpy_small_and_structured_arrays():
    np = pytest.importorskip("numpy")
    small = np.array([1, 2, 3], dtype=np.int16)
    rec = np.zeros(4, dtype=[("a", "i4"), ("b", "f8")])
    rec["a"] = [1, 2, 3, 4]
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    cs = [Cown(small), Cown(rec), Cown(fortran)]

    @when(cs)
    def touch(group):
        s, r, f = (c.value for c in group)
        return int(s.sum()), int(r["a"].sum()), float(f[2, 3]), f.flags.f_contiguous

    settle()
    assert touch.unwrap() == (6, 10, 11.0, True)
    assert np.array_equal(cs[1].unwrap(), rec)


def test_numpy_array_returned_from_a_behavior():
    np = pytest.importorskip("numpy")

    @when()
    def make():
        import numpy

        return numpy.full((512, 512), 7, dtype=numpy.int32)

    settle()
    got = make.unwrap()
    assert got.shape == (512, 512) and int(got.sum()) == 7 * 512 * 512

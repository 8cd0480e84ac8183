"""@when and whencall: scheduling, groups, duplicates, zero-cown behaviors,
argument checks and captures (docs/python.md "Code", and the closures row
of its table "Compatibility with bocpy 0.14")."""

import os
import struct

import pytest

import bocd

from bocd import Cown, when, whencall
from conftest import (explain, fifo_read, fifo_write, hold_until_open,
                      run_python, settle)


def flag(x):
    return x() if callable(x) else x


def test_when_returns_result_cown_before_the_body_runs(fifo):
    gate = fifo("gate")
    x = Cown(1)

    @when(x)
    def body(x, gate=gate):
        open(gate).read()
        return os.getpid()

    # The body is parked on the gate: scheduling already returned a Cown.
    assert isinstance(body, Cown)
    fifo_write(gate)
    settle()
    pid = body.unwrap()
    assert isinstance(pid, int) and pid != os.getpid()  # ran in a worker


def test_result_holds_return_value():
    x = Cown(1)

    @when(x)
    def f(x):
        return x.value * 2

    settle()
    assert f.unwrap() == 2
    assert f.unwrap() is None


def test_no_return_stores_none():
    @when()
    def nothing():
        pass

    settle()
    with nothing as v:
        assert v is None
        assert nothing.exception is False


def test_list_group_is_one_list_parameter():
    cowns = [Cown(i) for i in range(10)]

    @when(cowns)
    def total(group):
        assert isinstance(group, list)
        return len(group), sum(c.value for c in group)

    settle()
    assert total.unwrap() == (10, 45)


def test_mixed_groups_and_singles():
    cowns = [Cown(i) for i in range(10)]

    @when(cowns[:4], cowns[4], cowns[5:])
    def shapes(first, single, rest):
        return (
            type(first).__name__,
            len(first),
            isinstance(single, list),
            single.value,
            type(rest).__name__,
            [c.value for c in rest],
        )

    settle()
    assert shapes.unwrap() == ("list", 4, False, 4, "list", [5, 6, 7, 8, 9])


def test_tuple_group():
    a, b = Cown(1), Cown(2)

    @when((a, b))
    def f(group):
        return type(group).__name__, [c.value for c in group]

    settle()
    assert f.unwrap() == ("list", [1, 2])


def test_same_cown_twice():
    c = Cown(5)

    @when(c, c)
    def twice(a, b):
        return a.value + b.value

    settle()
    assert twice.unwrap() == 10


def test_cowns_reach_parameters_in_when_order():
    # The daemon dispatches a request set sorted by id; each parameter must
    # still get the cown listed in its place, nested behaviors too.
    cs = [Cown(i) for i in range(5)]

    @when(cs[3], cs[0], cs[4], cs[1])
    def f(a, b, c, d):
        @when(d, c, a)
        def inner(x, y, z):
            return x.value, y.value, z.value
        return a.value, b.value, c.value, d.value, inner

    settle()
    outer = f.unwrap()
    assert outer[:4] == (3, 0, 4, 1)
    settle()
    assert outer[4].unwrap() == (1, 4, 3)


FAST_PATH_PROGRAM = """
import bocd
from bocd import Cown, _core, _runtime, when

cs = [Cown(i) for i in range(4)]

@when(cs[0])
def started(a):  # the runtime is up: start() zeroes the count
    pass

before = _runtime.scheduled()
results = []
for i in range(3):

    @when(cs[3], cs[i])
    def f(a, b):
        return a.value * 10 + b.value

    results.append(f)

def g(a, b):
    return a.value * 10 + b.value

assert _core.when_plain(g, (cs[1], cs[3])) is None  # not cached: Python's
g2 = when(cs[1], cs[3])(g)
direct = _core.when_plain(g, (cs[2], cs[0]))
assert isinstance(direct, Cown)
assert _runtime.scheduled() - before == 5
# What is not a plain call over single cowns is the Python path's.
assert _core.when_plain(g, ([cs[0]], cs[1])) is None  # a group
assert _core.when_plain(g, (cs[0],)) is None  # too few cowns
assert _core.when_plain(g, (cs[0], 1)) is None  # not a cown
def with_default(a, b=1):
    return a.value
assert _core.when_plain(with_default, (cs[0],)) is None
assert _core.when_plain(print, (cs[0], cs[1])) is None
assert _runtime.scheduled() - before == 5
# Scalar defaults after the cowns: each call's own, in a call record.
scaled = []
for k in range(3):

    @when(cs[1], cs[2])
    def h(a, b, k=k, label="x"):
        return a.value + b.value * k, label

    scaled.append(h)

def h2(a, k=2):
    return a.value * k

when(cs[3])(h2)
assert _core.when_plain(h2, (cs[3],)) is not None
assert _core.when_plain(h2, (cs[3], cs[0])) is None  # a cown for a default
def h3(a, k=cs[0]):  # a default that is a cown: not a scalar
    return a.value
when(cs[3])(h3)
assert _core.when_plain(h3, (cs[3],)) is None
bocd.quiesce()
print([r.unwrap() for r in results], g2.unwrap(), direct.unwrap())
print([r.unwrap() for r in scaled])
"""


def test_plain_behavior_in_a_loop_is_scheduled_by_the_fast_path():
    # A @when in a loop makes a new function each time, with one code: the
    # first goes the Python way and caches the code, the rest are whole
    # in _core.when_plain, which must keep each parameter's own cown. In a
    # fresh program: one with pinned cowns alive takes the Python path.
    # What it declines it schedules nothing for.
    p = run_python(FAST_PATH_PROGRAM)
    assert p.returncode == 0, explain(p)
    lines = p.stdout.split("\n")
    assert lines[0] == "[30, 31, 32] 13 20", explain(p)
    assert lines[1] == "[(1, 'x'), (3, 'x'), (5, 'x')]", explain(p)


def test_duplicate_cowns_alias_one_value():
    a, b = Cown(1), Cown(2)

    @when(a, b, a)
    def f(x, y, z):
        x.value = 42
        return z.value, x == z

    settle()
    assert f.unwrap() == (42, True)
    with a as v:
        assert v == 42


def test_duplicate_cowns_in_a_group():
    c = Cown(7)

    @when([c, c], c)
    def f(group, single):
        group[0].value = 8
        return len(group), group[1].value, single.value, group[0] == single

    settle()
    assert f.unwrap() == (2, 8, 8, True)


def test_zero_cown_behavior():
    @when()
    def alone():
        return "ran"

    settle()
    assert alone.unwrap() == "ran"


def test_non_cown_argument_rejected():
    a = Cown(1)
    msg = "can only schedule over cowns or sequences of cowns"
    with pytest.raises(TypeError, match=msg):

        @when(a, 5)
        def f(a, b):
            pass

    with pytest.raises(TypeError, match=msg):

        @when([a, "x"])
        def g(group):
            pass


def test_missing_cown_parameter_rejected():
    a, b = Cown(1), Cown(2)
    with pytest.raises(TypeError, match="add the missing cown parameter") as e:

        @when(a, b)
        def bad(a):
            pass

    assert "'bad' takes 1 parameter(s) but @when lists 2 cown(s)" in str(e.value)


def test_extra_parameter_without_default_or_binding_rejected():
    a = Cown(1)
    with pytest.raises(
        TypeError, match="must each be a capture with a default value"
    ):

        @when(a)
        def bad(a, no_such_name_anywhere_xyz):
            pass


def test_loop_capture_snapshots_each_iteration():
    c = Cown(None)
    results = []
    for i in range(4):

        @when(c)
        def r(c, i=i):
            return i

        results.append(r)
    settle()
    assert [r.unwrap() for r in results] == [0, 1, 2, 3]


def test_renamed_capture():
    c = Cown(None)
    y = 99

    @when(c)
    def r(c, x=y):
        return x

    settle()
    assert r.unwrap() == 99


def test_captured_value_is_snapshotted_at_scheduling(fifo):
    gate = fifo("gate")
    c = Cown(None)
    hold_until_open(c, gate)
    data = [1]

    @when(c)
    def r(c, data=data):
        return list(data)

    data.append(2)  # after scheduling: the behavior must not see it
    fifo_write(gate)
    settle()
    assert r.unwrap() == [1]


def test_closure_variables_snapshotted_at_scheduling(fifo):
    """Row 8: closures work; free variables are read when scheduled."""
    gate = fifo("gate")
    c = Cown(10)
    hold_until_open(c, gate)
    z = 5

    @when(c)
    def closes(c):
        return c.value + z

    z = 1000  # noqa: F841 - rebinding after scheduling is not seen
    fifo_write(gate)
    settle()
    assert closes.unwrap() == 15


def test_closure_over_enclosing_function_local():
    def make(c, k):
        @when(c)
        def mul(c):
            return c.value * k

        return mul

    r = make(Cown(3), 7)
    settle()
    assert r.unwrap() == 21


def test_captured_module_is_imported_by_name_in_the_worker():
    """A module in a closure or a default travels by name (it was a
    TypeError from the fast pickler)."""

    def schedule(mod):
        c = Cown(2.0)

        @when(c)
        def root(c, fn=mod.sqrt):
            return mod.__name__, mod.floor(c.value * 10), fn(16.0)

        return root

    import math
    assert schedule(math).unwrap() == ("math", 20, 4.0)


def test_bare_trailing_parameter_captured_by_name():
    """Row 8: 0.9's bare trailing parameters, read from the scheduling frame."""
    c = Cown(4)
    factor = 3

    @when(c)
    def scaled(c, factor):
        return c.value * factor

    settle()
    assert scaled.unwrap() == 12


def test_keyword_only_defaults_are_passed():
    """Row 7."""
    c = Cown(1)
    out = []
    for i in range(3):

        @when(c)
        def kw(c, *, k=i, label="x"):
            return f"{label}{k}"

        out.append(kw)
    settle()
    assert [r.unwrap() for r in out] == ["x0", "x1", "x2"]


def test_star_args_receive_each_cown():
    """Row 6: bocpy's README shape."""
    a, b, c = Cown(1), Cown(2), Cown(3)

    @when(a, b, c)
    def f(*args):
        return [x.value for x in args]

    settle()
    assert f.unwrap() == [1, 2, 3]


def test_star_args_after_named_cown():
    a, b, c = Cown(1), Cown(2), Cown(3)

    @when(a, b, c)
    def f(first, *rest):
        return first.value, [x.value for x in rest]

    settle()
    assert f.unwrap() == (1, [2, 3])


def test_async_function_rejected():
    a = Cown(1)
    with pytest.raises(SyntaxError) as e:

        @when(a)
        async def f(a):
            return 1

    assert (
        "@when behavior 'f' is an async function; "
        "@when does not support async functions." in str(e.value)
    )


def test_generator_function_rejected():
    a = Cown(1)
    with pytest.raises(SyntaxError) as e:

        @when(a)
        def g(a):
            yield 1

    assert (
        "@when behavior 'g' is a generator function; "
        "@when does not support generator functions." in str(e.value)
    )


def test_whencall_rejects_async_and_generator():
    async def f(a):
        return 1

    def g(a):
        yield 1

    with pytest.raises(SyntaxError, match="is an async function"):
        whencall(f, [Cown(1)], [])
    with pytest.raises(SyntaxError, match="is a generator function"):
        whencall(g, [Cown(1)], [])


def test_whencall_passes_captures_after_cowns():
    a = Cown(5)

    def body(a, extra):
        return a.value + extra

    r = whencall(body, [a], [10])
    assert isinstance(r, Cown)
    settle()
    assert r.unwrap() == 15


def test_whencall_with_group_and_handles():
    cs = [Cown(i) for i in range(3)]
    a = Cown("a")

    def body(group, single, suffix):
        return [c.value for c in group], single.value + suffix

    r = whencall(body, [cs, a], ["!"])
    settle()
    assert r.unwrap() == ([0, 1, 2], "a!")


def test_whencall_rejects_a_thunk_name():
    with pytest.raises(TypeError, match="not a thunk name"):
        whencall("deadbeef", [Cown(1)], [])


def test_captured_cown_is_a_handle_not_acquired():
    c = Cown(1)
    other = Cown(20)

    @when(c)
    def f(c, cap=other):
        acquired = flag(cap.acquired)

        @when(cap)
        def inner(cap):
            cap.value += 1
            return cap.value

        return acquired, inner

    settle()
    acquired, inner = f.unwrap()
    assert acquired is False
    assert inner.unwrap() == 21


def test_code_from_another_interpreter_version_fails_with_a_clear_error():
    # A behavior's code says which CPython made it; a worker of another
    # version refuses it (loading foreign bytecode can crash a worker).
    from bocd import _runtime, _serial, _when

    prefix, refs = _when._prefix(probe_fn)
    (n,) = struct.unpack_from("<I", prefix)
    blob = bytearray(prefix[20:20 + n])
    mark = len(_serial.CODE_MARK)
    blob[1 + mark - 2:1 + mark] = bytes([3, 99])  # "made by CPython 3.99"
    forged = (struct.pack("<I", len(blob)) + b"forged-code-key!" + bytes(blob))
    c = Cown(5)
    result_id = _runtime.session().submit([c._id], forged, True, 0, refs, [])
    result = bocd.CownCapsule._from_id(result_id)
    settle()
    with pytest.raises(RuntimeError) as e:
        result.unwrap()
    assert "compiled by CPython 3.99" in str(e.value)
    assert "this worker runs CPython" in str(e.value)


def probe_fn(c):
    return c.value

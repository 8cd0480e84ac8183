"""Where behavior code comes from: a script's __main__, python -c, stdin, the
REPL and importable modules; tracebacks; print/logging from behaviors
(docs/python.md "Code" and "Processes"). Each case runs
in a fresh process against the session's daemon, except the
importable-module case, whose package is only on the child's sys.path: it
auto-starts a private daemon matched to the child."""

import textwrap

import pytest

from conftest import explain, private_env, run_python

# A body that uses a helper function, a class and a constant of the defining
# program, plus `__name__`: all must travel with the code.
PROGRAM = textwrap.dedent(
    """\
    import os
    from bocd import Cown, when, quiesce, wait

    SCALE = 3


    def helper(v):
        return v * SCALE


    class Box:
        def __init__(self, v):
            self.v = v


    acc = Cown(Box(4))


    @when(acc)
    def compute(acc):
        acc.value = Box(helper(acc.value.v))
        return acc.value.v, __name__, os.getpid()


    quiesce()
    value, name, pid = compute.unwrap()
    print("RESULT", value, name, pid != os.getpid())
    with acc as box:
        print("BOX", type(box).__name__, box.v)
    wait()
    """
)
EXPECTED = ["RESULT 12 __main__ True", "BOX Box 12"]


def result_lines(p):
    return [l for l in p.stdout.splitlines() if l.startswith(("RESULT", "BOX"))]


def test_script_main(tmp_path):
    marker = tmp_path / "marker.txt"
    script = tmp_path / "prog.py"
    script.write_text(
        "with open(%r, 'a') as _f:\n    _f.write('top level\\n')\n" % str(marker)
        + PROGRAM
    )
    p = run_python(None, args=[str(script)], cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert result_lines(p) == EXPECTED, explain(p)
    # The script's top level ran once, in the program, never in a worker.
    assert marker.read_text() == "top level\n"


def test_script_main_guarded_by_name_check(tmp_path):
    script = tmp_path / "guarded.py"
    body = textwrap.indent(PROGRAM, "    ")
    script.write_text("def main():\n" + body + "\n\nif __name__ == '__main__':\n    main()\n")
    p = run_python(None, args=[str(script)], cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    # Inside main(), SCALE/helper/Box are closure-free locals captured by value.
    assert result_lines(p) == EXPECTED, explain(p)


def test_python_dash_c(tmp_path):
    p = run_python(PROGRAM, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert result_lines(p) == EXPECTED, explain(p)


def test_program_from_stdin(tmp_path):
    p = run_python(None, args=["-"], input=PROGRAM, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert result_lines(p) == EXPECTED, explain(p)


def test_repl(tmp_path):
    # Interactive mode reads statement by statement; a blank line ends a block.
    session = textwrap.dedent(
        """\
        import os
        from bocd import Cown, when, quiesce
        def helper(v):
            return v + 1

        c = Cown(20)
        @when(c)
        def f(c):
            return helper(c.value), __name__

        quiesce()
        print("RESULT", *f.unwrap())
        """
    )
    p = run_python(None, args=["-i", "-q"], input=session, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert "RESULT 21 __main__" in p.stdout.splitlines(), explain(p)


MODULE = textwrap.dedent(
    """\
    import os
    import sys

    from bocd import Cown, when

    OFFSET = 100


    def helper(v):
        return v + OFFSET


    def run(c):
        @when(c)
        def body(c):
            return helper(c.value), __name__, "pkgx.mod" in sys.modules

        return body


    def fails(c):
        @when(c)
        def broken(c):
            return c.value / 0  # LINE-MARK

        return broken
    """
)


def test_importable_module_and_traceback(tmp_path):
    root = tmp_path / "lib"
    pkg = root / "pkgx"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    mod = pkg / "mod.py"
    mod.write_text(MODULE)
    line = MODULE.splitlines().index(
        next(l for l in MODULE.splitlines() if "LINE-MARK" in l)
    ) + 1
    main = textwrap.dedent(
        """\
        import traceback
        import bocd
        from pkgx import mod

        r = mod.run(bocd.Cown(1))
        bad = mod.fails(bocd.Cown(1))
        bocd.quiesce()
        print("RESULT", *r.unwrap())
        try:
            bad.unwrap()
        except ZeroDivisionError as e:
            print("".join(traceback.format_exception(type(e), e, e.__traceback__)))
        bocd.wait()
        """
    )
    env = private_env(tmp_path)
    env["PYTHONPATH"] = str(root)
    p = run_python(main, env, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert "RESULT 101 pkgx.mod True" in p.stdout.splitlines(), explain(p)
    where = f'File "{mod}", line {line}, in broken'
    assert where in p.stdout + p.stderr, explain(p)


def test_traceback_names_script_file_and_line(tmp_path):
    script = tmp_path / "tb.py"
    source = textwrap.dedent(
        """\
        import traceback
        from bocd import Cown, when, quiesce


        def main():
            c = Cown(0)

            @when(c)
            def explode(c):
                x = 1
                raise LookupError("exploded here")  # line 11

            quiesce()
            try:
                explode.unwrap()
            except LookupError as e:
                print("".join(traceback.format_exception(type(e), e, e.__traceback__)))


        main()
        """
    )
    assert "line 11" in source.splitlines()[10]
    script.write_text(source)
    p = run_python(None, args=[str(script)], cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert "LookupError: exploded here" in p.stdout, explain(p)
    where = f'File "{script}", line 11, in explode'
    assert where in p.stdout + p.stderr, explain(p)


@pytest.mark.parametrize("daemon", ["session", "private"])
def test_print_and_logging_reach_the_program(tmp_path, daemon):
    """Output of a behavior reaches the program that scheduled it, both on a
    shared daemon (the session's) and on an auto-started private one."""
    code = textwrap.dedent(
        """\
        import logging
        import sys
        from bocd import Cown, when, wait

        @when(Cown(0))
        def talk(c):
            print("printed-by-behavior", flush=True)
            print("stderr-by-behavior", file=sys.stderr, flush=True)
            logging.getLogger("chatty").warning("logged-by-behavior")

        wait()
        print("program-done")
        """
    )
    env = private_env(tmp_path) if daemon == "private" else None
    p = run_python(code, env, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert "printed-by-behavior" in p.stdout, explain(p)
    assert "stderr-by-behavior" in p.stderr, explain(p)
    assert "logged-by-behavior" in p.stderr, explain(p)
    assert p.stdout.index("printed-by-behavior") < p.stdout.index("program-done")


def test_many_whens_from_a_loop_in_main(tmp_path):
    code = textwrap.dedent(
        """\
        from bocd import Cown, when, quiesce

        c = Cown(0)
        for i in range(300):
            @when(c)
            def add(c, i=i):
                c.value += i

        quiesce()
        print("RESULT", c.unwrap())
        """
    )
    p = run_python(code, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert f"RESULT {sum(range(300))}" in p.stdout, explain(p)


def test_code_serialized_once_per_code_object(tmp_path):
    """A @when in a loop ships its code by value but serializes it once.
    Observed through a global the body uses: it travels with the code, so it
    is pickled once per code object, not once per behavior."""
    code = textwrap.dedent(
        """\
        from bocd import Cown, when, quiesce

        pickled = []


        class Tracker:
            def __reduce__(self):
                pickled.append(1)
                return (Tracker, ())


        TRACK = Tracker()
        c = Cown(0)
        for i in range(200):
            @when(c)
            def add(c, i=i):
                assert isinstance(TRACK, Tracker)
                c.value += i

        quiesce()
        print("RESULT", c.unwrap(), len(pickled))
        """
    )
    p = run_python(code, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert f"RESULT {sum(range(200))} 1" in p.stdout.splitlines(), explain(p)


def test_big_globals_travel_with_the_code(tmp_path):
    """Globals a by-value body uses travel inside its code blob, which a
    worker reads with plain pickle: big buffers must be in-band there."""
    code = textwrap.dedent(
        """\
        import numpy as np
        from bocd import Cown, when, quiesce

        BIG = np.arange(100_000)          # an out-of-band-sized buffer
        LONG = list(range(200_000))       # a pickle stream over 1 MiB
        c = Cown(0)

        @when(c)
        def total(c):
            return int(BIG.sum()) + len(LONG)

        quiesce()
        print("RESULT", total.unwrap())
        """
    )
    p = run_python(code, cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    assert f"RESULT {sum(range(100_000)) + 200_000}" in p.stdout, explain(p)

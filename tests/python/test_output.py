"""Behavior output (docs/python.md "Processes"): what a body prints or logs
reaches its program's stdout/stderr, and has done so by the time quiesce()
returns. The client writes it to fds 1 and 2, so capfd sees it in-process
even though the body ran in a daemon worker."""

import textwrap

from bocd import Cown, when
from conftest import explain, private_env, run_python, settle


def test_print_reaches_stdout_before_quiesce_returns(capfd):
    capfd.readouterr()

    @when()
    def hello():
        print("bocd-output-marker-1")

    settle()
    out, err = capfd.readouterr()
    assert "bocd-output-marker-1\n" in out
    assert "bocd-output-marker-1" not in err


def test_stderr_and_logging_reach_stderr(capfd):
    capfd.readouterr()
    c = Cown(0)

    @when(c)
    def noisy(c):
        import logging
        import sys

        print("to-stderr-marker", file=sys.stderr)
        logging.getLogger("bocd-test-logger").warning("logged-marker %d", 42)
        logging.getLogger("bocd-test-logger").error("error-marker")

    settle()
    out, err = capfd.readouterr()
    assert "to-stderr-marker" in err
    assert "logged-marker 42" in err
    assert "error-marker" in err
    assert "marker" not in out


def test_output_without_newline_is_flushed_by_the_end_of_the_body(capfd):
    capfd.readouterr()

    @when()
    def partial():
        print("no-newline-marker", end="")

    settle()
    assert "no-newline-marker" in capfd.readouterr().out


def test_ordered_behaviors_print_in_order(capfd):
    capfd.readouterr()
    c = Cown(None)
    for i in range(30):

        @when(c)
        def step(c, i=i):
            print(f"step-line-{i:03d}")

    settle()
    out = capfd.readouterr().out
    lines = [l for l in out.splitlines() if l.startswith("step-line-")]
    assert lines == [f"step-line-{i:03d}" for i in range(30)]


def test_large_output_arrives_whole(capfd):
    capfd.readouterr()

    @when()
    def big():
        for i in range(2000):
            print(f"big-{i:05d}-" + "y" * 80)
        print("z" * 100_000)

    settle()
    out = capfd.readouterr().out
    lines = [l for l in out.splitlines() if l.startswith("big-")]
    assert lines == [f"big-{i:05d}-" + "y" * 80 for i in range(2000)]
    assert "z" * 100_000 + "\n" in out


def test_nested_behavior_output_arrives(capfd):
    capfd.readouterr()
    c = Cown(1)

    @when(c)
    def outer(c):
        print("outer-marker")

        @when(c)
        def inner(c):
            print("inner-marker", c.value)

    settle()
    out = capfd.readouterr().out
    assert "outer-marker" in out
    assert "inner-marker 1" in out
    assert out.index("outer-marker") < out.index("inner-marker")


def test_output_of_a_failing_body_arrives(capfd):
    capfd.readouterr()

    @when()
    def fails():
        print("before-raise-marker")
        raise ValueError("raise-marker")

    settle()
    try:
        fails.unwrap()
    except ValueError:
        pass
    out, err = capfd.readouterr()
    assert "before-raise-marker" in out
    # Taken from its result cown: reported nowhere else (as in bocpy).
    assert "raise-marker" not in err


def test_an_exception_nobody_takes_is_reported_when_its_cown_goes():
    # As bocpy: a result cown that goes with its exception flag still set
    # (unwrap() clears it) is reported on stderr, with the body's
    # traceback; one that was taken is not. The module-level ones go at
    # exit.
    p = run_python(textwrap.dedent("""
        from bocd import Cown, quiesce, when

        @when(Cown(1))
        def ignored(c):
            raise ValueError("nobody-took-this")

        @when(Cown(2))
        def taken(c):
            raise KeyError("this-was-taken")

        def part():
            @when(Cown(3))
            def local(c):
                raise RuntimeError("a-local-one")

        part()
        quiesce()
        try:
            taken.unwrap()
        except KeyError:
            print("took it")
    """))
    assert p.returncode == 0, explain(p)
    assert p.stdout.split() == ["took", "it"], explain(p)
    err = p.stderr
    assert "contains an unhandled exception: ValueError('nobody-took-this')" \
        in err, explain(p)
    assert "contains an unhandled exception: RuntimeError('a-local-one')" \
        in err, explain(p)
    assert ", in ignored\nValueError: nobody-took-this" in err, "its traceback"
    assert "this-was-taken" not in err, explain(p)


def test_program_sees_output_before_quiesce_returns(tmp_path):
    # A real program with its own daemon: the behavior's line is on the
    # program's stdout before the line the program prints after quiesce().
    program = textwrap.dedent(
        """\
        import logging, sys
        import bocd
        from bocd import Cown, when

        c = Cown(5)

        @when(c)
        def show(c):
            print("from-behavior", c.value)
            logging.getLogger("child").warning("child-log-marker")

        bocd.quiesce()
        print("after-quiesce", flush=True)
        print("after-quiesce-err", file=sys.stderr, flush=True)
        bocd.wait()
        """
    )
    p = run_python(program, private_env(tmp_path), cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    out = p.stdout.splitlines()
    assert "from-behavior 5" in out, explain(p)
    assert out.index("from-behavior 5") < out.index("after-quiesce"), explain(p)
    err = p.stderr
    assert "child-log-marker" in err, explain(p)
    assert err.index("child-log-marker") < err.index("after-quiesce-err"), explain(p)

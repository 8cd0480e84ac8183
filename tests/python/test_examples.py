"""Smoke tests: every script in examples/ runs and prints its checked result.

Each example runs in a subprocess from the repository root, with BOCD_SOCKET
removed and XDG_RUNTIME_DIR pointed at an empty directory, so no daemon
answers on the default socket and the first @when starts a private one (the
embedded default). The timeout only guards against a hang; nothing asserts
on timing.
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HANG_GUARD_S = 300

# script -> pattern its last line of stdout must match in full, or
# (arguments, pattern) for a script that runs with arguments
EXPECTED = {
    "bank.py": r"total 1000 conserved",
    "fibonacci.py": r"fib\(22\) = 17711",
    "dining_philosophers.py": r"all 5 philosophers full after 20 bites",
    "primes.py": r"9592 primes below 100000",
    "prime_factorization.py": r"factored 12 numbers, all products check",
    "kitchen.py": r"salad and omelette served; knife passed Ana -> Ben -> Ana",
    "boids.py": (["--headless", "--frames", "30"],
                 r"boids: 200 birds, 30 frames, 6000 moves, all positions "
                 r"finite, centroid \(\d+\.\d, \d+\.\d\)"),
    "tk_counter.py": (["--headless"],
                      r"tk_counter: 40 updates, all on the main thread, sum "
                      r"of squares below 4000000 = 21333325333334000000"),
}
# Windowed examples run headless here (there may be no display); run so,
# they must not even import their GUI toolkit.
GUI_MODULES = ("pyglet", "tkinter")
WITHOUT_GUI = (
    "import runpy, sys\n"
    f"sys.modules.update(dict.fromkeys({GUI_MODULES!r}))\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n")


def example_env(runtime_dir: pathlib.Path) -> dict:
    """The caller's environment without BOCD_SOCKET, with a private runtime dir."""
    env = dict(os.environ)
    env.pop("BOCD_SOCKET", None)
    env["XDG_RUNTIME_DIR"] = str(runtime_dir)
    return env


def args_and_pattern(script: str) -> tuple:
    """The arguments a script runs with here and its last line's pattern."""
    entry = EXPECTED[script]
    return ([], entry) if isinstance(entry, str) else entry


def run_example(command: list, tmp_path: pathlib.Path):
    """Run ``command`` from the repository root without a shared daemon."""
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir(mode=0o700)
    return subprocess.run(
        command, cwd=ROOT, env=example_env(runtime_dir), capture_output=True,
        text=True, timeout=HANG_GUARD_S, check=False)


def assert_prints(proc: subprocess.CompletedProcess, pattern: str):
    """The run succeeded and its last line of stdout matches ``pattern``."""
    detail = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, detail
    lines = proc.stdout.strip().splitlines()
    assert lines, detail
    assert re.fullmatch(pattern, lines[-1]), detail


def test_every_example_is_covered():
    scripts = {p.name for p in (ROOT / "examples").glob("*.py")}
    assert scripts == set(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_prints_its_result(script, tmp_path):
    args, pattern = args_and_pattern(script)
    proc = run_example(
        [sys.executable, str(ROOT / "examples" / script), *args], tmp_path)
    assert_prints(proc, pattern)


@pytest.mark.parametrize("script", ["boids.py", "tk_counter.py"])
def test_headless_example_needs_no_gui_toolkit(script, tmp_path):
    args, pattern = args_and_pattern(script)
    proc = run_example([sys.executable, "-c", WITHOUT_GUI,
                        str(ROOT / "examples" / script), *args], tmp_path)
    assert_prints(proc, pattern)

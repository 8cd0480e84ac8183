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

# script -> pattern its last line of stdout must match in full
EXPECTED = {
    "bank.py": r"total 1000 conserved",
    "fibonacci.py": r"fib\(22\) = 17711",
    "dining_philosophers.py": r"all 5 philosophers full after 20 bites",
    "primes.py": r"9592 primes below 100000",
    "prime_factorization.py": r"factored 12 numbers, all products check",
    "kitchen.py": r"salad and omelette served; knife passed Ana -> Ben -> Ana",
}


def example_env(runtime_dir: pathlib.Path) -> dict:
    """The caller's environment without BOCD_SOCKET, with a private runtime dir."""
    env = dict(os.environ)
    env.pop("BOCD_SOCKET", None)
    env["XDG_RUNTIME_DIR"] = str(runtime_dir)
    return env


def test_every_example_is_covered():
    scripts = {p.name for p in (ROOT / "examples").glob("*.py")}
    assert scripts == set(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_prints_its_result(script, tmp_path):
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir(mode=0o700)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        cwd=ROOT, env=example_env(runtime_dir), capture_output=True,
        text=True, timeout=HANG_GUARD_S, check=False)
    detail = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, detail
    lines = proc.stdout.strip().splitlines()
    assert lines, detail
    assert re.fullmatch(EXPECTED[script], lines[-1]), detail

"""A program's byte cap (bocd serve --max-program-bytes): a cown whose value
would pass it holds a MemoryError naming the cap; a behavior whose writes
would pass it stores none of them and raises MemoryError on its result;
other programs on the service keep their own budgets; bytes come back as
cowns go. Run against a real daemon with a 1 MB cap."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import GUARD, _child_env, explain

CAP = 1_000_000

PROGRAM = textwrap.dedent("""
    import gc, sys
    import numpy as np
    from bocd import Cown, when, wait

    def outcome(c):
        try:
            return "value %d" % len(c.unwrap())
        except MemoryError as e:
            return "MemoryError: " + str(e)

    # A value over the cap on its own; an array whose bytes travel in a
    # shared-memory blob (the cap counts the blob).
    print(outcome(Cown(b"x" * 2_000_000)))
    print(outcome(Cown(np.zeros(300_000))))

    # A behavior that would grow a cown past it: nothing it wrote is kept.
    small = Cown("small")
    @when(small)
    def grow(s):
        s.value = b"y" * 2_000_000
        return "grew"
    print(outcome(grow))
    with small as v:
        print("small still", v)

    # Within the cap, it is stored; once dropped, the bytes come back.
    keep = [Cown(b"z" * 400_000), Cown(b"z" * 400_000)]
    with keep[0] as v:  # (unwrap() would take it out, freeing its bytes)
        print("value %d" % len(v))
    print(outcome(Cown(b"w" * 400_000)))
    del keep
    gc.collect()
    wait()  # the drops reach the daemon
    print(outcome(Cown(b"v" * 900_000)))
""")


@pytest.fixture
def capped_daemon(tmp_path):
    from bocd._daemon import Daemon
    d = Daemon(socket_path=str(tmp_path / "cap.sock"), workers=1,
               extra_args=("--max-program-bytes", str(CAP))).start()
    try:
        yield d
    finally:
        d.stop()


def run(d, code):
    p = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, timeout=GUARD,
                       env=_child_env({"BOCD_SOCKET": d.socket}))
    assert p.returncode == 0, explain(p)
    return p


def test_values_past_a_programs_cap_become_memory_errors_naming_it(
        capped_daemon):
    p = run(capped_daemon, PROGRAM)
    lines = p.stdout.splitlines()
    assert len(lines) == 7, explain(p)
    for line in lines[:3]:
        assert line.startswith("MemoryError: "), explain(p)
        assert f"over its cap of {CAP} bytes" in line, explain(p)
        assert "--max-program-bytes" in line, explain(p)
    assert "cown 0x" in lines[0] and "holds no value" in lines[0], explain(p)
    assert "behavior's writes not stored" in lines[2], explain(p)
    assert lines[3] == "small still small", explain(p)
    assert lines[4] == "value 400000", explain(p)
    assert lines[5].startswith("MemoryError: "), explain(p)  # 1.2 MB
    assert lines[6] == "value 900000", explain(p)


def test_each_program_has_its_own_budget(capped_daemon, tmp_path):
    # Two programs, each holding 900 KB at once: 1.8 MB on the service, and
    # neither passes its own cap.
    code = textwrap.dedent("""
        import sys
        from bocd import Cown
        c = Cown(b"q" * 900_000)
        print(len(c.unwrap()), flush=True)
        sys.stdin.readline()  # hold it until the other has its own
    """)
    env = _child_env({"BOCD_SOCKET": capped_daemon.socket})
    first = subprocess.Popen([sys.executable, "-c", code], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "900000"
        second = subprocess.run([sys.executable, "-c", code], input="\n",
                                capture_output=True, text=True,
                                timeout=GUARD, env=env)
        assert second.returncode == 0, explain(second)
        assert second.stdout.split() == ["900000"], explain(second)
    finally:
        out, err = first.communicate("\n", timeout=GUARD)
    assert first.returncode == 0, err

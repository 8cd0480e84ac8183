"""The embedded default: with no daemon answering, a program starts a private
one (its own interpreter, sys.path and socket) and stops it at exit, normally
or by an unhandled exception, leaving no process, socket or shared-memory
object behind."""

import os
import textwrap

from conftest import explain, private_env, process_gone, run_python, shm_left, shm_names

PROGRAM = textwrap.dedent(
    """\
    import os, sys
    import bocd
    from bocd import Cown, when

    acc = Cown(10)

    @when(acc)
    def where(acc):
        acc.value += 1
        return os.getpid(), os.getppid(), sys.executable, list(sys.path), acc.value

    bocd.quiesce()
    wpid, tpid, exe, path, value = where.unwrap()
    dpid = bocd.runtime_stats()["daemon"]["pid"]
    with open(f"/proc/{dpid}/cmdline", "rb") as f:
        daemon_argv = f.read().split(b"\\0")
    with open(f"/proc/{tpid}/stat") as f:
        template_parent = int(f.read().rsplit(")", 1)[1].split()[1])
    print("PIDS", wpid, dpid, os.getpid(), tpid, flush=True)
    print("VALUE", value)
    print("SAME_EXE", os.path.realpath(exe) == os.path.realpath(sys.executable))
    print("SAME_PATH", all(p in path for p in sys.path if p))
    print("DAEMON_IS_BOCD", any(a.endswith(b"bocd") for a in daemon_argv[:2]))
    # The worker was forked from the daemon's template of this interpreter.
    print("FORKED_FROM_TEMPLATE", template_parent == dpid)
    """
)


def leftovers(root) -> list[str]:
    return sorted(
        os.path.join(d, n)
        for d, dirs, files in os.walk(root)
        for n in dirs + files
    )


def run_private(tmp_path, tail: str, workers: int = 2):
    env = private_env(tmp_path)
    env["BOCD_WORKERS"] = str(workers)
    shm_before = shm_names()
    p = run_python(PROGRAM + tail, env, cwd=tmp_path)
    info = {l.split(" ", 1)[0]: l.split(" ", 1)[1] for l in p.stdout.splitlines() if " " in l}
    assert "PIDS" in info, explain(p)
    wpid, dpid, me, tpid = (int(x) for x in info["PIDS"].split())
    return p, info, (wpid, tpid), dpid, me, env, shm_before


def check_clean(p, wpid, dpid, me, env, shm_before, bocd_daemon):
    assert dpid not in (me, bocd_daemon.pid), "used the session's daemon"
    assert process_gone(dpid), f"private daemon {dpid} survived\n{explain(p)}"
    for pid in wpid:  # the worker and its template
        assert process_gone(pid), f"worker {pid} survived\n{explain(p)}"
    # The private socket and temporary files are gone too.
    assert leftovers(env["XDG_RUNTIME_DIR"]) == []
    assert leftovers(env["TMPDIR"]) == []
    assert shm_left(shm_before) == set()


def test_private_daemon_serves_and_is_stopped_at_exit(tmp_path, bocd_daemon):
    p, info, wpid, dpid, me, env, shm_before = run_private(
        tmp_path, "bocd.wait()\n", workers=3
    )
    assert p.returncode == 0, explain(p)
    assert info["VALUE"] == "11"
    assert info["FORKED_FROM_TEMPLATE"] == "True", explain(p)
    assert info["SAME_EXE"] == "True", explain(p)
    assert info["SAME_PATH"] == "True", explain(p)
    assert info["DAEMON_IS_BOCD"] == "True", explain(p)
    check_clean(p, wpid, dpid, me, env, shm_before, bocd_daemon)


def test_private_daemon_stopped_after_unhandled_exception(tmp_path, bocd_daemon):
    tail = "raise RuntimeError('unhandled at top level')\n"
    p, info, wpid, dpid, me, env, shm_before = run_private(tmp_path, tail)
    assert p.returncode == 1, explain(p)
    assert "RuntimeError: unhandled at top level" in p.stderr
    check_clean(p, wpid, dpid, me, env, shm_before, bocd_daemon)


def test_private_daemon_stopped_without_wait(tmp_path, bocd_daemon):
    # The program schedules more work and just ends: exit still cleans up.
    tail = textwrap.dedent(
        """\
        for i in range(20):
            @when(acc)
            def more(acc):
                acc.value += 1
        """
    )
    p, info, wpid, dpid, me, env, shm_before = run_private(tmp_path, tail)
    assert p.returncode == 0, explain(p)
    check_clean(p, wpid, dpid, me, env, shm_before, bocd_daemon)


def test_explicit_start_auto_starts_too(tmp_path, bocd_daemon):
    code = textwrap.dedent(
        """\
        import os
        import bocd
        bocd.start()
        @bocd.when()
        def ppid():
            return os.getppid()
        bocd.quiesce()
        print("DAEMON", ppid.unwrap())
        bocd.wait()
        """
    )
    p = run_python(code, private_env(tmp_path), cwd=tmp_path)
    assert p.returncode == 0, explain(p)
    dpid = int(p.stdout.split("DAEMON", 1)[1].split()[0])
    assert dpid != bocd_daemon.pid
    assert process_gone(dpid)

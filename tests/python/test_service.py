"""Programs on a daemon they did not start: which daemon a program uses,
what happens when that daemon is not there or refuses it, and a service
started with `bocd serve`'s defaults."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

import bocd
from conftest import (GUARD, _child_env, bocd_cli, bocd_exe, explain,
                      fifo_read, fifo_write, private_env, run_python,
                      wait_exit)

REPORT = textwrap.dedent("""
    import json, bocd
    from bocd import Cown, when

    @when(Cown(20))
    def f(c):
        return c.value + 1

    print(json.dumps({"result": f.unwrap(),
                      "daemon": bocd.runtime_stats()["daemon"]}))
""")


def test_runtime_stats_name_the_daemon_in_use(bocd_daemon):
    daemon = bocd.runtime_stats()["daemon"]
    assert daemon == {"socket": bocd_daemon.socket, "private": False,
                      "pid": bocd_daemon.pid}


def test_bocd_private_forces_a_daemon_of_the_programs_own(bocd_daemon,
                                                          tmp_path):
    env = dict(private_env(tmp_path), BOCD_SOCKET=bocd_daemon.socket,
               BOCD_PRIVATE="1")
    p = run_python(REPORT, env_extra=env)
    assert p.returncode == 0, explain(p)
    out = json.loads(p.stdout)
    assert out["result"] == 21
    assert out["daemon"]["private"] is True
    assert out["daemon"]["socket"] != bocd_daemon.socket


def test_bocd_socket_naming_no_daemon_is_an_error(tmp_path):
    missing = str(tmp_path / "nobody.sock")
    p = run_python(REPORT, env_extra={"BOCD_SOCKET": missing})
    assert p.returncode != 0, explain(p)
    assert f"no bocd daemon at {missing}" in p.stderr, explain(p)
    assert "unset BOCD_SOCKET" in p.stderr, explain(p)


def test_a_daemon_that_refuses_the_program_is_an_error_not_a_fallback(
        tmp_path):
    # Something listens and hangs up at once, as a daemon does to a peer
    # it does not admit: the program must say so, not start its own.
    path = str(tmp_path / "refusing.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    stop = threading.Event()

    def refuse():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    t = threading.Thread(target=refuse, daemon=True)
    t.start()
    try:
        p = run_python(REPORT, env_extra={"BOCD_SOCKET": path})
    finally:
        stop.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        listener.close()
        t.join(GUARD)
    assert p.returncode != 0, explain(p)
    assert path in p.stderr, explain(p)
    assert "ConnectionError" in p.stderr, explain(p)


def test_console_script_without_its_daemon_binary_says_so(tmp_path):
    # Not an exec loop through the `bocd` console script on PATH.
    package = tmp_path / "bocd"
    source = os.path.dirname(bocd.__file__)
    shutil.copytree(source, package, ignore=shutil.ignore_patterns("bin"))
    env = {"PYTHONPATH": str(tmp_path), "BOCD_BINARY": None,
           "PATH": os.path.dirname(bocd_exe()) + os.pathsep +
           os.environ.get("PATH", "")}
    p = run_python("from bocd._cli import main; main()", env_extra=env,
                   timeout=GUARD)
    assert p.returncode != 0, explain(p)
    assert "bocd daemon binary not found" in p.stderr, explain(p)


def test_serve_with_its_defaults_runs_behaviors(tmp_path):
    # No --workers, no --python: one worker per core, on the interpreter
    # of the bocd command itself.
    sock = str(tmp_path / "svc" / "bocd.sock")
    os.makedirs(os.path.dirname(sock), mode=0o700)
    started = bocd_cli("serve", "--socket", sock)
    assert started.returncode == 0, explain(started)
    try:
        status = json.loads(bocd_cli("status", "--json", "--socket",
                                     sock).stdout)
        assert status["workers"] == bocd._runtime._physical_cores()
        p = run_python(REPORT, env_extra={"BOCD_SOCKET": sock})
        assert p.returncode == 0, explain(p)
        assert json.loads(p.stdout)["result"] == 21
    finally:
        stopped = bocd_cli("stop", "--socket", sock)
        assert stopped.returncode == 0, explain(stopped)


def test_a_detached_serve_makes_its_socket_directory_0700(tmp_path):
    # The log (beside the socket) is opened before the server makes the
    # socket's directory: whoever makes it, it is the daemon user's alone.
    sock = str(tmp_path / "fresh" / "bocd.sock")
    started = bocd_cli("serve", "--socket", sock, "--workers", "0")
    assert started.returncode == 0, explain(started)
    try:
        assert os.stat(os.path.dirname(sock)).st_mode & 0o777 == 0o700
        assert os.path.exists(os.path.join(os.path.dirname(sock), "bocd.log"))
    finally:
        stopped = bocd_cli("stop", "--socket", sock)
        assert stopped.returncode == 0, explain(stopped)


def test_a_program_killed_by_sigterm_leaves_no_private_daemon_files(tmp_path):
    import signal
    import subprocess
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import json, sys, bocd
            from bocd import Cown, when

            @when(Cown(1))
            def f(c):
                return c.value

            f.unwrap()
            print(json.dumps(bocd.runtime_stats()["daemon"]), flush=True)
            sys.stdin.read()  # until the test kills us
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=_child_env(private_env(tmp_path)))
    try:
        daemon = json.loads(child.stdout.readline())
        assert daemon["private"] is True
        directory = os.path.dirname(daemon["socket"])
        assert os.path.isdir(directory)
        child.send_signal(signal.SIGTERM)
        assert child.wait(GUARD) == -signal.SIGTERM
        wait_exit(daemon["pid"])
    finally:
        child.kill()
        child.wait(GUARD)
    assert not os.path.exists(directory), os.listdir(directory)


def test_a_behavior_no_worker_can_run_fails_saying_why(tmp_path):
    # A program whose environment cannot start (its interpreter is gone):
    # the behavior fails on its result cown within about a second, and
    # quiesce() says it failed too.
    from bocd._daemon import Daemon
    d = Daemon(socket_path=str(tmp_path / "broken.sock"), workers=1).start()
    try:
        p = run_python(textwrap.dedent("""
            import sys
            sys.executable = "/nonexistent/python"  # what workers would run
            import bocd
            from bocd import Cown, when

            @when(Cown(1))
            def f(c):
                return c.value

            try:
                bocd.quiesce()
            except Exception as e:
                print("quiesce:", e)
            try:
                f.unwrap()
            except RuntimeError as e:
                print("unwrap:", e)
            print("status:", bocd._runtime.daemon_status()["workers_problem"])
        """), env_extra={"BOCD_SOCKET": d.socket}, timeout=GUARD)
    finally:
        d.stop()
    assert p.returncode == 0, explain(p)
    lines = p.stdout.splitlines()
    why = "cannot start '/nonexistent/python'"
    assert lines[0].startswith("quiesce: ") and why in lines[0], explain(p)
    assert lines[1].startswith("unwrap: behavior not run: no worker can run "
                               "it: "), explain(p)
    assert why in lines[1], explain(p)
    assert lines[2].startswith("status: ") and why in lines[2], explain(p)


# Other interpreters with bocd installed (tools/test.sh sets this: the
# oldest and newest other CPython on the machine, one venv each).
OTHER_PYTHONS = os.environ.get("BOCD_TEST_PYTHONS", "").split()

VERSION_REPORT = textwrap.dedent("""
    import json, sys
    from bocd import Cown, when

    @when(Cown(2))
    def where(c):
        import sys
        return c.value * 21, list(sys.version_info[:2])

    value, worker_version = where.unwrap()
    print(json.dumps({"value": value, "worker": worker_version,
                      "program": list(sys.version_info[:2])}))
""")


@pytest.mark.skipif(not OTHER_PYTHONS, reason="no other CPython with bocd "
                    "installed (tools/test.sh makes them: BOCD_TEST_PYTHONS)")
@pytest.mark.parametrize("python", OTHER_PYTHONS or ["none"])
def test_a_program_on_another_python_runs_on_workers_of_its_version(
        bocd_daemon, python):
    # The service runs this suite's interpreter; the program runs another,
    # from another venv: its workers run its version, not the service's.
    p = subprocess.run([python, "-c", VERSION_REPORT], capture_output=True,
                       text=True, timeout=GUARD, cwd="/",
                       env=_child_env({"BOCD_SOCKET": bocd_daemon.socket}))
    assert p.returncode == 0, explain(p)
    out = json.loads(p.stdout)
    assert out["value"] == 42
    assert out["worker"] == out["program"] != list(sys.version_info[:2])


def test_behaviors_in_a_module_beside_the_script_run_on_the_service(
        bocd_daemon, tmp_path):
    # main.py imports helpers.py, which defines the behaviors; run from
    # another directory, against a service started elsewhere.
    app = tmp_path / "app"
    app.mkdir()
    (app / "helpers.py").write_text(textwrap.dedent("""
        from bocd import Cown, when

        FACTOR = 3

        def triple(n):
            c = Cown(n)

            @when(c)
            def times(c):
                return c.value * FACTOR

            return times
    """))
    (app / "main.py").write_text(textwrap.dedent("""
        import helpers
        print(helpers.triple(14).unwrap())
    """))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    p = run_python(None, args=[str(app / "main.py")], cwd=elsewhere,
                   env_extra={"BOCD_SOCKET": bocd_daemon.socket})
    assert p.returncode == 0, explain(p)
    assert p.stdout.strip() == "42", explain(p)


def test_a_module_beside_the_first_script_does_not_break_the_template(
        tmp_path):
    # The first program on a fresh service has a json.py beside its script.
    # The workers' template (which imports json) must not load it: it runs
    # with bocd's directory alone on its path; the workers it forks take the
    # program's path. A later program on the same interpreter runs too.
    from bocd._daemon import Daemon
    d = Daemon(socket_path=str(tmp_path / "fresh.sock"), workers=1).start()
    try:
        for name, shadow in (("first", True), ("second", False)):
            app = tmp_path / name
            app.mkdir()
            if shadow:
                (app / "json.py").write_text(
                    "raise ImportError(\"the program's json.py\")\n")
            (app / "main.py").write_text(textwrap.dedent("""
                from bocd import Cown, when
                @when(Cown(20))
                def add(c):
                    return c.value + 22
                print(add.unwrap())
            """))
            p = run_python(None, args=[str(app / "main.py")], cwd=app,
                           env_extra={"BOCD_SOCKET": d.socket})
            assert p.returncode == 0, explain(p)
            assert p.stdout.strip() == "42", explain(p)
    finally:
        d.stop()


ISOLATION = textwrap.dedent("""
    import json, sys
    from bocd import Cown, when

    ROLE = sys.argv[1]

    @when(Cown(ROLE))
    def look(c):
        import json, os
        seen = {"dumps": json.dumps.__name__,
                "env": os.environ.get("BOCD_TEST_MARK"),
                "flag": globals().get("PATCHED")}
        if c.value == "first":  # leave a mark in this worker
            json.dumps = lambda *a, **k: "patched"
            os.environ["BOCD_TEST_MARK"] = "left by the first program"
            globals()["PATCHED"] = True
        return seen

    print(json.dumps(look.unwrap()))
""")


def test_one_programs_behaviors_never_see_anothers_changes(bocd_daemon):
    # Two programs, one after the other, on the same service: what the
    # first does to its workers' modules, environment and globals does
    # not reach the second's behaviors (workers serve one program).
    env = {"BOCD_SOCKET": bocd_daemon.socket}
    first = run_python(ISOLATION, env_extra=env, args=["-c", ISOLATION,
                                                       "first"])
    second = run_python(ISOLATION, env_extra=env, args=["-c", ISOLATION,
                                                        "second"])
    for p in (first, second):
        assert p.returncode == 0, explain(p)
    clean = {"dumps": "dumps", "env": None, "flag": None}
    assert json.loads(first.stdout) == clean
    assert json.loads(second.stdout) == clean, explain(second)


FLOOD = textwrap.dedent("""
    import signal, sys
    import bocd
    from bocd import Cown, when

    started, gate, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    c = Cown(0)

    @when(c)
    def hold(c, started=started, gate=gate):
        open(started, "w").close()
        open(gate).read()

    if mode == "interrupt":
        def ctrl_c(*_):
            raise KeyboardInterrupt
        signal.signal(signal.SIGALRM, ctrl_c)
        signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        for _ in range(500):  # all queued behind `hold`
            @when(c)
            def inc(c):
                c.value += 1
    except KeyboardInterrupt:
        print("interrupted")
        open(gate, "w").write("go")  # (the test opens it in the other mode)
    bocd.quiesce()
    with c as v:
        print(v)
""")


@pytest.mark.parametrize("mode", ["wait", "interrupt"])
def test_when_waits_for_room_at_the_in_flight_limit(tmp_path, fifo, mode):
    # 64 in flight at most: the program's @when waits (interruptibly) at
    # half of that instead of being refused, and goes on as they complete.
    from bocd._daemon import Daemon
    d = Daemon(socket_path=str(tmp_path / "small.sock"), workers=1,
               extra_args=("--max-in-flight", "64")).start()
    started, gate = fifo("started"), fifo("gate")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", FLOOD, started, gate, mode],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=_child_env({"BOCD_SOCKET": d.socket}))
        try:
            fifo_read(started)  # `hold` runs; the floods waits behind it
            if mode == "wait":
                fifo_write(gate)  # while it waits for room, or after
            out, err = proc.communicate(timeout=GUARD)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        d.stop()
    p = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert p.returncode == 0, explain(p)
    lines = out.split()
    if mode == "wait":
        assert lines == ["500"], explain(p)
    else:  # the alarm came while it waited for room
        assert lines[0] == "interrupted", explain(p)
        assert 16 <= int(lines[1]) < 500, explain(p)


STATS_REPORT = textwrap.dedent("""
    import json, os, sys
    import bocd
    from bocd import Cown, when

    @when(Cown(0))
    def where(c):
        import os
        return os.getpid()

    mine = where.unwrap()
    seen = [w["pid"] for w in bocd.runtime_stats()["workers"]]
    print(json.dumps({"mine": mine, "seen": seen}), flush=True)
    sys.stdin.readline()  # keeps its workers while the other looks
""")


def test_runtime_stats_show_a_program_its_own_workers_only(bocd_daemon):
    env = _child_env({"BOCD_SOCKET": bocd_daemon.socket})
    first = subprocess.Popen([sys.executable, "-c", STATS_REPORT], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        a = json.loads(first.stdout.readline())
        second = subprocess.run([sys.executable, "-c", STATS_REPORT],
                                input="\n", capture_output=True, text=True,
                                timeout=GUARD, env=env)
        assert second.returncode == 0, explain(second)
        b = json.loads(second.stdout)
    finally:
        first.communicate("\n", timeout=GUARD)
    assert a["mine"] in a["seen"]
    assert b["mine"] in b["seen"]
    assert a["mine"] not in b["seen"], "another program's worker is shown"


def test_a_private_daemon_does_not_notify_its_programs_service_manager(
        tmp_path, monkeypatch):
    # A program run as a Type=notify service has NOTIFY_SOCKET set; the
    # daemon it starts for itself must not tell systemd it is ready.
    # It would do so before reporting that it serves, so by the time
    # start() returns the datagram would be queued.
    from bocd._daemon import Daemon
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(tmp_path / "notify"))
    manager.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    d = Daemon(socket_path=str(tmp_path / "own.sock"), workers=0).start()
    try:
        with pytest.raises(BlockingIOError):
            print("the daemon notified:", manager.recv(4096))
    finally:
        d.stop()
        manager.close()


def test_a_daemon_at_its_connection_limit_says_so(tmp_path):
    # One connection held (one that never says Hello, kept: no handshake
    # deadline): the program is refused with the daemon's reason, at once.
    sock = str(tmp_path / "full.sock")
    r, w = os.pipe()
    daemon = subprocess.Popen(
        [bocd_exe(), "serve", "--foreground", "--socket", sock,
         "--workers", "0", "--max-connections", "1",
         "--handshake-timeout-ms", "0", "--ready-fd", str(w),
         "--log-file", str(tmp_path / "bocd.log")],
        pass_fds=(w,))
    os.close(w)
    try:
        with os.fdopen(r) as ready:
            assert ready.read() == "ok"
        held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        held.connect(sock)
        p = run_python(REPORT, env_extra={"BOCD_SOCKET": sock})
        held.close()
        assert p.returncode != 0, explain(p)
        assert "too many connections (1" in p.stderr, explain(p)
    finally:
        daemon.terminate()
        daemon.wait(GUARD)


OWNER = textwrap.dedent("""
    import pickle, sys
    from bocd import Cown, wait
    secret = Cown("the owner's secret")
    print(pickle.dumps(secret).hex(), flush=True)
    sys.stdin.read()       # alive until the other program has tried
    print(secret.unwrap(), file=sys.stderr)
""")

THIEF = textwrap.dedent("""
    import pickle, sys
    stolen = pickle.loads(bytes.fromhex(sys.stdin.read()))
    try:
        with stolen as value:
            print("read:", value)
            stolen.value = "overwritten"
    except Exception as e:
        print("refused:", e)
""")


def test_another_program_cannot_use_a_cown_whose_id_it_learnt(bocd_daemon):
    # Two programs of the same user on one service: the second gets the
    # first's cown id (its pickle, here) and may neither read nor write
    # it; the owner's value is untouched.
    env = _child_env({"BOCD_SOCKET": bocd_daemon.socket})
    owner = subprocess.Popen([sys.executable, "-c", OWNER], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        pickled = owner.stdout.readline()
        thief = subprocess.run([sys.executable, "-c", THIEF], env=env,
                               input=pickled, capture_output=True,
                               timeout=GUARD)
        assert thief.returncode == 0, thief.stderr.decode()
        out = thief.stdout.decode()
        assert out.startswith("refused:"), out
        assert "does not exist or is another program's" in out, out
        _, err = owner.communicate(b"", timeout=GUARD)
        assert owner.returncode == 0, err.decode()
        assert err.decode().strip().endswith("the owner's secret")
    finally:
        owner.kill()
        owner.wait()

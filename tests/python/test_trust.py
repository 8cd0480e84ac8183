"""Which daemon a Python program trusts: not one behind a socket directory
another user made (no fall-back to a private daemon either), and a daemon
of another uid only when $BOCD_DAEMON_UID names it, as a --trust-group
member does. Each test creates temporary users (removed at the end), so
they need root."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import GUARD, explain

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to create users and act as them")

PROGRAM = textwrap.dedent("""
    import os
    from bocd import Cown, when

    @when(Cown(1))
    def f(c):
        return os.getuid()

    print("behavior ran as uid", f.unwrap(), flush=True)
""")


@pytest.fixture
def accounts():
    """make_user(role, groups=()) and make_group(role); all removed after."""
    users, groups = [], []
    tag = os.getpid() % 100000

    def make_group(role: str) -> grp.struct_group:
        name = f"bocdp{role}{tag}"
        subprocess.run(["groupadd", name], check=True)
        groups.append(name)
        return grp.getgrnam(name)

    def make_user(role: str, extra=()) -> pwd.struct_passwd:
        name = f"bocdp{role}{tag}"
        cmd = ["useradd", "-M", "-U", "-s", "/usr/sbin/nologin", name]
        if extra:
            cmd += ["-G", ",".join(extra)]
        subprocess.run(cmd, check=True)
        users.append(name)
        return pwd.getpwnam(name)

    yield make_user, make_group
    for name in users:
        subprocess.run(["userdel", name])
    for name in groups:
        subprocess.run(["groupdel", name])


def env_for(user: pwd.struct_passwd, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("BOCD_SOCKET", "XDG_RUNTIME_DIR", "BOCD_DAEMON_UID",
                        "BOCD_PRIVATE", "TMPDIR")}
    env.update(HOME="/", USER=user.pw_name, **extra)
    return env


def _others_may_run(path: str) -> bool:
    path = os.path.realpath(path)
    parents = [path] + [os.path.dirname(path)]
    while parents[-1] != "/":
        parents.append(os.path.dirname(parents[-1]))
    return all(os.stat(p).st_mode & 0o001 for p in parents)


def python_for_others() -> tuple[str, dict]:
    """An interpreter the temporary users may run, with the environment
    that lets it import this bocd: this one, or the system's of the same
    version (this one may live under root's home)."""
    if _others_may_run(sys.executable):
        return sys.executable, {}
    system = "/usr/bin/python%d.%d" % sys.version_info[:2]
    import bocd
    packages = os.path.dirname(os.path.dirname(bocd.__file__))
    if os.path.exists(system) and _others_may_run(packages):
        return system, {"PYTHONPATH": packages}
    pytest.skip(f"other users cannot run {sys.executable} nor {system}")


def run_as(user: pwd.struct_passwd, code: str, env: dict,
           groups=()) -> subprocess.CompletedProcess:
    python, extra = python_for_others()
    return subprocess.run(
        [python, "-c", code], user=user.pw_uid, group=user.pw_gid,
        extra_groups=list(groups), env={**env, **extra}, cwd="/",
        capture_output=True,
        text=True, timeout=GUARD)


LISTENER = textwrap.dedent("""
    import os, socket, sys
    d = sys.argv[1]
    os.mkdir(d, 0o777)
    os.chmod(d, 0o777)
    s = socket.socket(socket.AF_UNIX)
    s.bind(d + "/bocd.sock")
    os.chmod(d + "/bocd.sock", 0o777)
    s.listen(8)
    s.setblocking(False)
    print("ready", flush=True)
    sys.stdin.read()  # until the test is done
    try:
        s.accept()
        print("connected")
    except BlockingIOError:
        print("nobody connected")
""")


def test_a_program_refuses_a_socket_directory_another_user_made(
        accounts, tmp_path):
    make_user, _ = accounts
    attacker, victim = make_user("att"), make_user("vic")
    directory = f"/tmp/bocd-{victim.pw_uid}"
    shutil.rmtree(directory, ignore_errors=True)
    impostor = subprocess.Popen(
        [python_for_others()[0], "-c", LISTENER, directory], user=attacker.pw_uid,
        group=attacker.pw_gid, extra_groups=[], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, cwd="/")
    try:
        assert impostor.stdout.readline() == "ready\n"
        # Where a private daemon would put its directory: it stays empty.
        private = tmp_path / "victim-tmp"
        private.mkdir()
        os.chown(private, victim.pw_uid, victim.pw_gid)
        p = run_as(victim, PROGRAM, env_for(victim, TMPDIR=str(private)))
        impostor.stdin.close()
        assert impostor.stdout.read() == "nobody connected\n"
    finally:
        impostor.kill()
        impostor.wait(GUARD)
        shutil.rmtree(directory, ignore_errors=True)
    assert p.returncode != 0, explain(p)
    assert "UntrustedDaemonError" in p.stderr, explain(p)
    assert f"unsafe directory {directory}" in p.stderr, explain(p)
    assert f"uid {attacker.pw_uid}" in p.stderr, explain(p)
    assert "mode 0777" in p.stderr, explain(p)
    assert "behavior ran" not in p.stdout
    assert os.listdir(private) == []


def test_a_trusted_group_member_runs_as_the_daemons_user_once_it_trusts_it(
        accounts):
    from bocd._daemon import Daemon
    make_user, make_group = accounts
    group = make_group("grp")
    member = make_user("mem", extra=[group.gr_name])
    with Daemon(workers=1,
                extra_args=("--trust-group", group.gr_name)) as daemon:
        env = env_for(member, BOCD_SOCKET=daemon.socket)
        wary = run_as(member, PROGRAM, env, groups=[group.gr_gid])
        trusting = run_as(member, PROGRAM, {**env, "BOCD_DAEMON_UID": "root"},
                          groups=[group.gr_gid])
        log = daemon.log_tail(400)
    assert wary.returncode != 0, explain(wary)
    assert "UntrustedDaemonError" in wary.stderr, explain(wary)
    assert "runs as uid 0 (root)" in wary.stderr, explain(wary)
    assert f"uid {member.pw_uid}" in wary.stderr, explain(wary)
    assert trusting.returncode == 0, explain(trusting)
    assert trusting.stdout == "behavior ran as uid 0\n", explain(trusting)
    assert (f"members of group {group.gr_name} may connect and run code as "
            "uid 0 (root)") in log, log

"""Daemon.start(): a daemon that fails to start is reported with why, in
the exception itself (its caller may never see the daemon's stderr)."""

import os
import threading

import pytest

from bocd._daemon import Daemon


def _failure(d: Daemon) -> str:
    """The message of the RuntimeError with which `d` fails to start."""
    with pytest.raises(RuntimeError) as caught:
        d.start()
    d.stop()
    return str(caught.value)


def test_a_daemon_that_refuses_its_options_says_why(capfd):
    message = _failure(Daemon(workers=1, extra_args=("--no-such-option",)))
    assert "failed to start (exit status 2)" in message, message
    # The daemon said it on stderr, before it had a log.
    assert "--no-such-option" in message, message
    # ...and its stderr still reaches this process's, as if inherited.
    assert "--no-such-option" in capfd.readouterr().err


def test_a_daemon_that_cannot_listen_says_why(tmp_path):
    long_socket = tmp_path / ("s" * 120 + ".sock")  # beyond sun_path
    message = _failure(Daemon(socket_path=str(long_socket), workers=1))
    assert "failed to start (exit status 1)" in message, message
    assert "too long" in message, message


def _stderr_copies() -> int:
    return sum(t.name == "bocd daemon stderr" for t in threading.enumerate())


def test_a_started_daemon_stops_cleanly_and_its_stderr_copy_ends():
    before = _stderr_copies()
    d = Daemon(workers=0).start()
    assert _stderr_copies() == before + 1
    assert d.stop() == 0
    assert _stderr_copies() == before


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("binary", ["/nonexistent/bocd", "/dev/null"])
def test_a_daemon_that_cannot_be_run_leaves_no_descriptor_open(
        monkeypatch, binary):
    # Missing, or not executable: the spawn itself fails.
    monkeypatch.setenv("BOCD_BINARY", binary)
    before = _open_fds()
    with pytest.raises(OSError):
        Daemon(workers=1).start()
    assert _open_fds() == before

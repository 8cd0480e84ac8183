"""The worker template (bocd.template) on its own: what it does when a
worker it forked dies, without a daemon around it.

A killed worker's SIGCHLD and the end of its output pipe come in the same
select() batch. reap() reads the pipe to its end and closes it; the pipe's
own event, later in the batch, must then find nothing to do. Before, it
raised KeyError and the template died, taking every worker it had forked
with it (a test that SIGKILLs a worker made the next test's behavior fail).
"""
import os
import selectors
import socket

from bocd.template import Template


def test_a_pipe_reap_closed_earlier_in_the_batch_is_skipped():
    t = Template.__new__(Template)  # no daemon: its parts by hand
    ours, daemon_end = socket.socketpair()
    t.control = ours
    t.selector = selectors.DefaultSelector()
    t.children, t.pipes = {}, {}
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(out_w, b"last words")  # no newline: reap reads to EOF
        os._exit(3)
    os.close(out_w)
    t.children[pid] = ["token-1", out_r, b""]
    t.pipes[out_r] = pid
    t.selector.register(out_r, selectors.EVENT_READ, "output")
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # it has exited

    t.reap()  # the batch's SIGCHLD event first ...
    t.read_output(out_r)  # ... then its pipe's: nothing left to do

    assert t.pipes == {} and t.children == {}
    daemon_end.settimeout(30)
    said = b""
    while said.count(b"\n") < 2:
        said += daemon_end.recv(4096)
    assert b'"line": "last words"' in said
    assert b'"exited": "token-1"' in said
    ours.close()
    daemon_end.close()

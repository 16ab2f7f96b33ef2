"""The observer's decoders on real processes and real signals: this process's own masks as
/proc/PID/status shows them, the wait status of a real child killed by a real signal, and the
si_codes sigtimedwait reports for a real kill() and a real timer. (The decoders' pure checks,
against independent references, are tests/unit/test_decoders.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from sigscope.observe.sampler import scan_pids
from sigscope.observe.siginfo import si_code_name
from sigscope.observe.waitstatus import decode_wait_status
from sigscope.signames import default_action


def test_own_process_masks_match_what_this_process_set() -> None:
    """A live check of the reader: what this process blocks and ignores shows in its masks."""
    old_handler = signal.signal(signal.SIGWINCH, signal.SIG_IGN)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
    try:
        # The main thread's SigBlk is the one /proc/PID/status reports.
        (view,) = scan_pids([os.getpid()])
        assert signal.SIGUSR2 in view.masks.blocked
        assert signal.SIGWINCH in view.masks.ignored
        assert view.pid == os.getpid() and view.ppid == os.getppid()
        assert view.pgid == os.getpgid(0)
        assert view.threads >= 1 and view.state in "RS"
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGWINCH, old_handler)


def test_status_of_a_real_child_killed_by_a_real_signal() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; print(flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    child.stdout.readline()
    os.kill(child.pid, signal.SIGTERM)
    _, raw = os.waitpid(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(raw)  # so Popen does not wait again
    child.stdout.close()
    ws = decode_wait_status(raw)
    assert (ws.how, ws.signal, ws.subprocess_code, ws.shell_code) == (
        "signalled",
        signal.SIGTERM,
        -15,
        143,
    )
    assert ws.signal is not None and default_action(ws.signal) == "Term"


def test_si_code_of_a_real_kill_and_a_real_timer() -> None:
    """What sigtimedwait reports for kill() to ourselves (SI_USER, our pid) and for a fired
    ITIMER_REAL (SI_KERNEL, no sender pid): the facts.md claim, run."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2, signal.SIGALRM})
    try:
        os.kill(os.getpid(), signal.SIGUSR2)
        info = signal.sigtimedwait({signal.SIGUSR2}, 5)
        assert info is not None and si_code_name(info.si_code, info.si_signo) == "SI_USER"
        assert info.si_pid == os.getpid()
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        info = signal.sigtimedwait({signal.SIGALRM}, 5)
        assert info is not None and si_code_name(info.si_code, info.si_signo) == "SI_KERNEL"
        assert info.si_pid == 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.pthread_sigmask(signal.SIG_SETMASK, old)

"""sigscope.procfs reads a live process: a ``python -c`` that names itself ``a) (b c)`` with
prctl(PR_SET_NAME), leads its own session, blocks SIGUSR1, ignores SIGUSR2, catches SIGTERM,
and is sent SIGUSR1. Then it exits: a zombie still reads, a reaped one reads as None.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Literal, TypeVar

from sigscope import procfs

CHILD = r"""
import ctypes, signal, sys
if ctypes.CDLL(None).prctl(15, b"a) (b c)", 0, 0, 0) != 0:  # PR_SET_NAME
    sys.exit("prctl failed")
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
signal.signal(signal.SIGUSR2, signal.SIG_IGN)
signal.signal(signal.SIGTERM, lambda *a: None)
print("ready", flush=True)
sys.stdin.read()
"""
T = TypeVar("T")


def wait_for(condition: Callable[[], T | Literal[False]], what: str, timeout: float = 10.0) -> T:
    """``condition()``'s first true value, polled until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
    return found


def test_live_process_stat_status_and_its_end() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        st = procfs.read_stat(child.pid)
        assert st is not None
        assert st.pid == child.pid and st.comm == "a) (b c)"
        assert st.ppid == os.getpid()
        assert st.pgid == st.sid == child.pid == os.getsid(child.pid)  # its own session
        assert st.tty_nr == 0 and st.tpgid == -1  # a new session has no controlling terminal
        assert st.num_threads == 1 and st.state in "RS"
        assert procfs.start_time(child.pid) == st.starttime
        assert child.pid in procfs.children_of(os.getpid())

        os.kill(child.pid, signal.SIGUSR1)  # blocked: it stays pending for the process
        usr1 = int(signal.SIGUSR1)
        masks = wait_for(
            lambda: (
                (s := procfs.read_status(child.pid)) is not None
                and usr1 in (m := procfs.parse_status_masks(s)).shared_pending
                and m
            ),
            "SIGUSR1 pending",
        )
        assert masks.blocked == {usr1} and masks.pending == frozenset()
        assert int(signal.SIGUSR2) in masks.ignored
        assert int(signal.SIGTERM) in masks.caught and usr1 not in masks.caught
        queued, limit = masks.sigq
        assert queued >= 1 and limit > 0
        # asleep in read(2) on its stdin: it gave up the CPU at least once to get there
        wait_for(lambda: getattr(procfs.read_stat(child.pid), "state", "") == "S", "sleep")
        status = procfs.read_status(child.pid)
        assert status is not None and (procfs.voluntary_switches(status) or 0) >= 1

        child.stdin.close()  # type: ignore[union-attr]
        zombie = wait_for(
            lambda: (s := procfs.read_stat(child.pid)) is not None and s.state == "Z" and s,
            "the zombie",
        )
        assert zombie.starttime == st.starttime and zombie.comm == "a) (b c)"
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert procfs.read_stat(child.pid) is None  # reaped: nothing left to read
    assert procfs.read_status(child.pid) is None

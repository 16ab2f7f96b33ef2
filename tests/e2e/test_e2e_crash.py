"""End to end, in a pty: when the app crashes, the terminal is restored and no lab process is
left. (SIGSCOPE_FAULT=crash with SIGSCOPE_TESTING=1 makes the dashboard raise one second after
it starts; without SIGSCOPE_TESTING=1 the product ignores SIGSCOPE_FAULT.)"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import time

from sigscope import procfs
from tests.conftest import reap_children, wait_gone


def test_a_crash_restores_the_terminal_and_leaves_no_lab() -> None:
    master_fd, slave_fd = os.openpty()
    fcntl.ioctl(slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    before = termios.tcgetattr(slave_fd)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", SIGSCOPE_FAULT="crash", SIGSCOPE_TESTING="1")
    proc = subprocess.Popen(
        ["sigscope"],
        stdin=slave_fd,
        stdout=slave_fd,
        stderr=slave_fd,
        env=env,
        start_new_session=True,
    )
    output = b""
    lab: set[int] = set()
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            lab |= set(procfs.descendants_of(proc.pid))
            ready, _, _ = select.select([master_fd], [], [], 0.1)
            if ready:
                try:
                    output += os.read(master_fd, 1 << 16)
                except OSError:
                    break
        code = proc.wait(10)
        while select.select([master_fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(master_fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        after = termios.tcgetattr(slave_fd)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master_fd)
        os.close(slave_fd)
    assert code != 0
    text = output.decode(errors="replace")
    assert "crashes on purpose" in text  # the traceback is shown, after the screen is left
    assert lab, "the lab never started"
    # The terminal is back as it was: modes, alternate screen left, cursor shown.
    assert after == before
    assert text.rfind("\x1b[?1049l") > text.rfind("\x1b[?1049h") >= 0
    reap_children(lab, timeout=5)  # orphaned to us (a subreaper) when the app died
    assert wait_gone(lab, timeout=5) == set()


def test_sigkill_of_the_dashboard_repeated_leaves_nothing() -> None:
    for _ in range(5):
        master_fd, slave_fd = os.openpty()
        fcntl.ioctl(slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env["TERM"] = "xterm-256color"
        proc = subprocess.Popen(
            ["sigscope", "--workers", "3"],
            stdin=slave_fd,
            stdout=slave_fd,
            stderr=slave_fd,
            env=env,
            start_new_session=True,
        )
        lab: set[int] = set()
        try:
            deadline = time.monotonic() + 30
            while len(lab) < 4 and time.monotonic() < deadline:  # a master and 3 workers
                select.select([master_fd], [], [], 0.05)
                try:
                    os.read(master_fd, 1 << 16)  # keep the pty drained
                except OSError:
                    pass
                lab = set(procfs.descendants_of(proc.pid))
            assert len(lab) >= 4, "the lab did not start"
            proc.kill()  # no handler runs, no clean-up code: only the kernel's layers are left
            proc.wait()
            reap_children(lab, timeout=5)
            assert wait_gone(lab, timeout=2) == set()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master_fd)
            os.close(slave_fd)


def test_the_shipped_product_ignores_sigscope_fault() -> None:
    """Without SIGSCOPE_TESTING=1, SIGSCOPE_FAULT=crash does nothing: the dashboard outlives
    the moment it would have crashed (1 s after it started), then quits on SIGTERM cleanly."""
    master_fd, slave_fd = os.openpty()
    fcntl.ioctl(slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "SIGSCOPE_TESTING")}
    env.update(TERM="xterm-256color", SIGSCOPE_FAULT="crash")
    proc = subprocess.Popen(
        ["sigscope", "--workers", "1"],
        stdin=slave_fd,
        stdout=slave_fd,
        stderr=slave_fd,
        env=env,
        start_new_session=True,
    )
    output = b""
    lab: set[int] = set()

    def pump(until: float) -> None:
        nonlocal output, lab
        while proc.poll() is None and time.monotonic() < until:
            lab |= set(procfs.descendants_of(proc.pid))
            if select.select([master_fd], [], [], 0.05)[0]:
                try:
                    output += os.read(master_fd, 1 << 16)
                except OSError:
                    return

    try:
        deadline = time.monotonic() + 60
        while len(lab) < 2 and proc.poll() is None and time.monotonic() < deadline:
            pump(time.monotonic() + 0.1)  # until the lab (master + worker) is up
        assert len(lab) >= 2, "the lab never started"
        # The fault timer is set before the lab starts: 4 s more is well past its 1 s.
        pump(time.monotonic() + 4.0)
        assert proc.poll() is None, output.decode(errors="replace")[-500:]
        proc.terminate()
        code = proc.wait(20)
        pump(time.monotonic() + 0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master_fd)
        os.close(slave_fd)
    assert code == 128 + 15
    assert b"crashes on purpose" not in output
    reap_children(lab, timeout=5)
    assert wait_gone(lab, timeout=5) == set()

"""The ctypes libc wrappers (sigscope/libc.py) against the kernel with a real child: a
queued value sent through a pidfd arrives field by field in the child's signalfd, and a forged
SI_USER siginfo to another process is refused (EPERM). (The layouts, against the C headers:
tests/unit/test_beneath_libc.py.)"""

from __future__ import annotations

import ctypes
import errno
import os
import signal

from sigscope import libc as L


def test_queued_value_through_a_pidfd_arrives_in_a_signalfd() -> None:
    """A siginfo written by us (SI_QUEUE, value) comes back field by field from the kernel."""
    sig = signal.SIGRTMIN + 3
    r, w = os.pipe()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            fd = L.signalfd([sig])
            os.write(w, b"r")
            info = L.read_signalfd(fd)
            line = f"{info.ssi_signo} {info.ssi_code} {info.ssi_pid} {info.ssi_uid} {info.ssi_int}"
            os.write(w, line.encode())
        finally:
            os._exit(0)
    signal.pthread_sigmask(signal.SIG_SETMASK, old)
    os.close(w)
    try:
        assert os.read(r, 1) == b"r"
        pidfd = os.pidfd_open(pid)
        try:
            L.pidfd_sigqueue(pidfd, sig, -12345)
        finally:
            os.close(pidfd)
        got = os.read(r, 200).decode().split()
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert got == [str(sig), str(L.SI_QUEUE), str(os.getpid()), str(os.getuid()), "-12345"]


def test_pidfd_send_signal_refuses_a_forged_non_negative_si_code_to_another_process() -> None:
    """pidfd_send_signal(2) with a siginfo: to another process only a negative si_code (the
    rt_sigqueueinfo(2) rule), so SI_QUEUE passes (above) and a forged SI_USER is EPERM."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child waits until the pipe closes
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    os.close(r)
    pidfd = os.pidfd_open(pid)
    try:
        info = L.queued_info(signal.SIGUSR1, 1)
        info.si_code = L.SI_USER
        rc = L.libc().syscall(
            ctypes.c_long(L.SYS_PIDFD_SEND_SIGNAL),
            ctypes.c_int(pidfd),
            ctypes.c_int(signal.SIGUSR1),
            ctypes.byref(info),
            ctypes.c_uint(0),
        )
        assert rc == -1 and ctypes.get_errno() == errno.EPERM
    finally:
        os.close(pidfd)
        os.close(w)
        os.waitpid(pid, 0)

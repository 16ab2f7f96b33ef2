"""Who may be signalled, and sending that cannot reach the wrong process.

PIDs are reused: ``kill(pid)`` can hit a process that got the old number. Every send here
opens a pidfd (which refers to one process for its whole life), then checks that the process
behind it is the one we mean (its start time, which together with the pid names one process),
and only then signals through the pidfd.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass

from sigscope import procfs
from sigscope.signames import signal_name


class SendRefused(Exception):
    """A signal was not sent; the message says why, in words fit for a user."""


@dataclass(frozen=True)
class ProcessRef:
    """One process: a pid and the start time it had when we learned of it."""

    pid: int
    starttime: int

    @classmethod
    def of(cls, pid: int) -> ProcessRef:
        st = procfs.start_time(pid)
        if st is None:
            raise SendRefused(f"process {pid} does not exist")
        return cls(pid, st)


_ANCESTORS: frozenset[int] | None = None


def _ancestors() -> frozenset[int]:
    """sigscope's ancestors, read once: the set can only lose members (when one dies we are
    re-parented to one further up), so the cached set never lets a send through wrongly."""
    global _ANCESTORS
    if _ANCESTORS is None:
        found: set[int] = set()
        pid = os.getppid()
        while pid > 1:
            st = procfs.read_stat(pid)
            if st is None:
                break
            found.add(pid)
            pid = st.ppid
        _ANCESTORS = frozenset(found)
    return _ANCESTORS


def check_policy(pid: int) -> None:
    """Refuse targets that no signal from sigscope may ever reach, whatever the user asks.

    Raises:
        SendRefused: pid <= 1, sigscope itself or an ancestor, or a kernel thread.
    """
    if pid <= 1:
        raise SendRefused(f"refusing to signal pid {pid}: pids 0 and 1 and below are never targets")
    me = os.getpid()
    if pid == me:
        raise SendRefused(f"refusing to signal pid {pid}: that is sigscope itself")
    if pid in _ancestors():
        raise SendRefused(f"refusing to signal pid {pid}: it is an ancestor of sigscope")
    st = procfs.read_stat(pid)
    if st is None:
        raise SendRefused(f"process {pid} does not exist (it may have just exited)")
    if st.ppid == 2 or pid == 2:
        raise SendRefused(f"refusing to signal pid {pid}: it is a kernel thread")


@contextlib.contextmanager
def pidfd_for(ref: ProcessRef, sig: int) -> Iterator[int]:
    """A pidfd for exactly the process ``ref`` names, checked, closed on exit.

    Raises:
        SendRefused: the policy forbids the target, the process is gone, or its pid now
            belongs to another process.
    """
    check_policy(ref.pid)
    try:
        fd = os.pidfd_open(ref.pid)
    except ProcessLookupError:
        raise SendRefused(f"process {ref.pid} has exited; {signal_name(sig)} not sent") from None
    try:
        # The pidfd now pins one process; check it is the one we meant before using it.
        if procfs.start_time(ref.pid) != ref.starttime:
            raise SendRefused(
                f"pid {ref.pid} now belongs to another process; {signal_name(sig)} not sent"
            )
        yield fd
    finally:
        os.close(fd)


def signal_pidfd(fd: int, pid: int, sig: int) -> None:
    """``pidfd_send_signal``, with the kernel's refusals said in words."""
    try:
        signal.pidfd_send_signal(fd, sig)
    except ProcessLookupError:
        raise SendRefused(f"process {pid} has exited; {signal_name(sig)} not sent") from None
    except PermissionError:
        raise SendRefused(f"not allowed to signal pid {pid} (it belongs to another user)") from None


def send_signal(ref: ProcessRef, sig: int) -> None:
    """Send ``sig`` to exactly the process ``ref`` names, through a pidfd.

    Raises:
        SendRefused: the process is gone, or its pid now belongs to another process, or the
            kernel refused (permission).
    """
    with pidfd_for(ref, sig) as fd:
        signal_pidfd(fd, ref.pid, sig)

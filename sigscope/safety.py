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
from collections.abc import Callable, Iterator
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


def ancestors() -> frozenset[int]:
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


class NeedsConfirmation(SendRefused):
    """The target is outside the lab (or the attached tree): only the user can allow it, in a
    dialog that names the process (``describe`` says what to name)."""

    def __init__(self, message: str, pid: int, describe: str) -> None:
        super().__init__(message)
        self.pid = pid
        self.describe = describe


_PF_KTHREAD = 0x00200000  # include/linux/sched.h: the task is a kernel thread


def owner_uid(pid: int) -> int | None:
    """The real uid of ``pid`` (the first field of ``Uid:`` in /proc/PID/status)."""
    try:
        status = procfs.read_status(pid)
    except OSError:
        return None
    uid = None if status is None else procfs.status_field(status, "Uid")
    return int(uid.split()[0]) if uid else None


def is_kernel_thread(pid: int, st: procfs.Stat) -> bool:
    """kthreadd (pid 2), its children, or any task flagged PF_KTHREAD."""
    return pid == 2 or st.ppid == 2 or bool(st.flags & _PF_KTHREAD)


def describe_process(pid: int) -> str:
    """``pid 1234 (gunicorn) of user alice``: how a refusal or a dialog names a process."""
    st = procfs.read_stat(pid)
    if st is None:
        return f"pid {pid} (gone)"
    uid = owner_uid(pid)
    try:
        import pwd

        user = pwd.getpwuid(uid).pw_name if uid is not None else "?"
    except KeyError:
        user = str(uid)
    return f"pid {pid} ({st.comm}) of user {user}"


def check_policy(
    pid: int,
    managed: Callable[[int], bool] | None = None,
    confirmed: bool = False,
) -> None:
    """Refuse targets that sigscope may not signal, with the reason in plain words.

    Never, whatever the user asks: pid <= 1, sigscope itself or any of its ancestors, its own
    process group, kernel threads, another user's process. Outside ``managed`` (the lab, or
    the attached tree): only when ``confirmed`` by the user.

    Raises:
        SendRefused: never allowed.
        NeedsConfirmation: allowed only once the user confirms.
    """
    if pid <= 1:
        raise SendRefused(
            f"refusing to signal pid {pid}: pid 1 is init and 0 or less means a whole group"
        )
    if pid == os.getpid():
        raise SendRefused(f"refusing to signal pid {pid}: that is sigscope itself")
    if pid in ancestors():
        raise SendRefused(
            f"refusing to signal pid {pid}: it is an ancestor of sigscope (your shell or terminal)"
        )
    st = procfs.read_stat(pid)
    if st is None:
        raise SendRefused(f"process {pid} does not exist (it may have just exited)")
    if is_kernel_thread(pid, st):
        raise SendRefused(f"refusing to signal pid {pid}: it is a kernel thread ({st.comm})")
    if st.pgid == os.getpgrp():
        raise SendRefused(
            f"refusing to signal pid {pid}: it is in sigscope's own process group, with your "
            "terminal's job"
        )
    owner = owner_uid(pid)
    if owner is not None and owner != os.getuid():
        raise SendRefused(f"refusing to signal {describe_process(pid)}: it belongs to another user")
    if managed is not None and not managed(pid) and not confirmed:
        raise NeedsConfirmation(
            f"{describe_process(pid)} is outside the lab: confirm to signal it",
            pid,
            describe_process(pid),
        )


@contextlib.contextmanager
def pidfd_for(
    ref: ProcessRef,
    sig: int,
    managed: Callable[[int], bool] | None = None,
    confirmed: bool = False,
) -> Iterator[int]:
    """A pidfd for exactly the process ``ref`` names, checked, closed on exit.

    Raises:
        SendRefused: the policy forbids the target, the process is gone, or its pid now
            belongs to another process.
    """
    check_policy(ref.pid, managed, confirmed)
    try:
        fd = os.pidfd_open(ref.pid)
    except ProcessLookupError:
        raise SendRefused(f"process {ref.pid} has exited; {signal_name(sig)} not sent") from None
    try:
        # The pidfd now pins one process; check it is the one we meant before using it.
        now = procfs.start_time(ref.pid)
        if now is None:  # it exited and was reaped between our check and the pidfd
            raise SendRefused(f"process {ref.pid} has exited; {signal_name(sig)} not sent")
        if now != ref.starttime:
            raise SendRefused(
                f"pid {ref.pid} now belongs to another process; {signal_name(sig)} not sent"
            )
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def refusals_in_words(
    gone: str, denied: str, error: Callable[[str], Exception] = SendRefused
) -> Iterator[None]:
    """Turn the kernel's two refusals of a send into ``error`` with words fit for a user:
    ESRCH (no such process, or group) says ``gone``, EPERM says ``denied``.

    Any send goes through it (``kill``, ``killpg``, ``pidfd_send_signal``); the terminal lane
    may use it for its ``killpg`` with its own error type.
    """
    try:
        yield
    except ProcessLookupError:
        raise error(gone) from None
    except PermissionError:
        raise error(denied) from None


def signal_pidfd(fd: int, pid: int, sig: int) -> None:
    """``pidfd_send_signal``, with the kernel's refusals said in words."""
    with refusals_in_words(
        gone=f"process {pid} has exited; {signal_name(sig)} not sent",
        denied=f"not allowed to signal pid {pid} (it belongs to another user)",
    ):
        signal.pidfd_send_signal(fd, sig)


def send_signal(
    ref: ProcessRef,
    sig: int,
    managed: Callable[[int], bool] | None = None,
    confirmed: bool = False,
) -> None:
    """Send ``sig`` to exactly the process ``ref`` names, through a pidfd.

    Raises:
        SendRefused: the process is gone, or its pid now belongs to another process, or the
            kernel refused (permission).
    """
    with pidfd_for(ref, sig, managed, confirmed) as fd:
        signal_pidfd(fd, ref.pid, sig)

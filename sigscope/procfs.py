"""Small, exact readers of /proc and the prctl calls the lab relies on. No Textual, no psutil.

psutil covers most of /proc, but the lab needs a few things on hot paths (a pid's start time
before every send, a scan for adopted children) where one direct read is both faster and
clearer about what the kernel said.
"""

from __future__ import annotations

import ctypes
import os
from typing import NamedTuple

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def _prctl(option: int, arg: int) -> None:
    if _libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def set_pdeathsig(sig: int) -> None:
    """Ask the kernel to send ``sig`` to this process when the *thread* that forked it exits."""
    _prctl(PR_SET_PDEATHSIG, sig)


def set_child_subreaper() -> None:
    """Orphans among our descendants are re-parented to us (not to init), so we can reap them."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def is_child_subreaper() -> bool:
    value = ctypes.c_int(0)
    if _libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) != 0:
        return False
    return bool(value.value)


class Stat(NamedTuple):
    """One line of /proc/PID/stat, the fields sigscope uses (proc(5) numbers them from 1).

    The only record of that file: the sampler, attach, the lab, safety checks and the terminal
    lane all read it through :func:`parse_stat`. A NamedTuple, not a dataclass: the sampler builds
    one per process several times a second, and a tuple is about five times cheaper to make.
    """

    pid: int  # (1)
    comm: str  # (2) at most 15 bytes; may hold spaces and parentheses
    state: str  # (3) R S D Z T t X I (proc(5))
    ppid: int  # (4)
    pgid: int  # (5) process group
    sid: int  # (6) session
    tty_nr: int  # (7) controlling terminal, major/minor packed (0: none)
    tpgid: int  # (8) foreground process group of that terminal (-1: none)
    utime: int  # (14) clock ticks in user mode
    stime: int  # (15) clock ticks in kernel mode
    num_threads: int  # (20)
    starttime: int  # (22) clock ticks after boot; with the pid it names one process

    @property
    def cpu_ticks(self) -> int:
        """User + system time, in clock ticks (``os.sysconf("SC_CLK_TCK")`` a second)."""
        return self.utime + self.stime


def parse_stat(data: bytes) -> Stat:
    """Parse the text of /proc/PID/stat.

    Raises:
        ValueError: the text is not a stat line (no parenthesised comm, too few fields).
    """
    # comm may hold spaces and parentheses: it runs from the first "(" to the last ")".
    left, right = data.index(b"("), data.rindex(b")")
    f = data[right + 2 :].split(None, 20)
    if len(f) < 20:
        raise ValueError(f"a /proc/PID/stat line has 52 fields, this one {len(f) + 2}")
    return Stat(
        int(data[:left]),
        data[left + 1 : right].decode(errors="replace"),
        f[0].decode(),
        int(f[1]),
        int(f[2]),
        int(f[3]),
        int(f[4]),
        int(f[5]),
        int(f[11]),
        int(f[12]),
        int(f[17]),
        int(f[19]),
    )


def read_stat(pid: int) -> Stat | None:
    """/proc/PID/stat, or None if the process is gone (a zombie still has one)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return parse_stat(data)


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot: with the pid, it names one process."""
    st = read_stat(pid)
    return None if st is None else st.starttime


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's), from /proc/PID/task/*/children."""
    found: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(p) for p in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def descendants_of(pid: int) -> list[int]:
    """Every descendant of ``pid``, parents before children."""
    out: list[int] = []
    todo = children_of(pid)
    while todo:
        child = todo.pop(0)
        out.append(child)
        todo.extend(children_of(child))
    return out

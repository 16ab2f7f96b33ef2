"""Small, exact readers of /proc and the prctl calls the lab relies on. No Textual, no psutil.

psutil covers most of /proc, but the lab needs a few things on hot paths (a pid's start time
before every send, a scan for adopted children) where one direct read is both faster and
clearer about what the kernel said.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/PID/stat that the lab uses (proc(5))."""

    pid: int
    comm: str
    state: str
    ppid: int
    pgid: int
    utime: int
    stime: int
    num_threads: int
    starttime: int


def read_stat(pid: int) -> Stat | None:
    """/proc/PID/stat, or None if the process is gone (a zombie still has one)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm may hold spaces and parentheses: it runs from the first "(" to the last ")".
    left, right = data.index(b"("), data.rindex(b")")
    fields = data[right + 2 :].split()
    return Stat(
        pid=int(data[:left]),
        comm=data[left + 1 : right].decode(errors="replace"),
        state=fields[0].decode(),
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        num_threads=int(fields[17]),
        starttime=int(fields[19]),
    )


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

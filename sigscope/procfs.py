"""The one reader of /proc, and the prctl calls the lab relies on. No Textual, no psutil.

Every module that wants what the kernel says about a process reads it here:
``/proc/PID/stat`` through :func:`parse_stat` / :func:`read_stat` (one :class:`Stat`),
``/proc/PID/status`` through :func:`read_status` and its parsers (:func:`parse_status_masks`
for the five signal masks and SigQ, :func:`voluntary_switches`, :func:`status_field` for any
other line), and the process tree through :func:`children_of`. psutil covers most of /proc,
but not the signal masks, and the lab reads a pid's start time before every send and scans for
adopted children on hot paths, where one direct read is both faster and clearer about what the
kernel said.

The parsers take the file's bytes, so a caller that keeps a file open (the sampler re-reads
its descriptors with ``pread``) parses exactly what a fresh read would.
"""

from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass
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


# Reading a process's file fails with these once it has gone (or the pid never was one).
GONE = (FileNotFoundError, ProcessLookupError, NotADirectoryError)


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
    flags: int  # (9) PF_* bits of include/linux/sched.h (PF_KTHREAD: a kernel thread)
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
    # tuple.__new__ skips the NamedTuple's keyword-handling __new__: the sampler parses every
    # process's line a few times a second, and this is a tenth of that parse.
    return _new_tuple(
        Stat,
        (
            int(data[:left]),
            data[left + 1 : right].decode(errors="replace"),
            f[0].decode(),
            int(f[1]),
            int(f[2]),
            int(f[3]),
            int(f[4]),
            int(f[5]),
            int(f[6]),
            int(f[11]),
            int(f[12]),
            int(f[17]),
            int(f[19]),
        ),
    )


_new_tuple = tuple.__new__


def read_stat(pid: int) -> Stat | None:
    """/proc/PID/stat, or None if the process is gone (a zombie still has one)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except GONE:
        return None
    return parse_stat(data)


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot: with the pid, it names one process."""
    st = read_stat(pid)
    return None if st is None else st.starttime


# -- /proc/PID/status ---------------------------------------------------------------------
def read_status(pid: int | str) -> bytes | None:
    """The text of /proc/PID/status (``pid`` may be ``"self"``), or None if the process is gone
    (a zombie still has one, until it is reaped)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            return f.read()
    except GONE:
        return None


@functools.lru_cache(maxsize=4096)
def signals_in(bits: int) -> frozenset[int]:
    """The signals set in a mask's value: bit n-1 stands for signal n (``0x4002`` -> {2, 15}).

    Cached: a scan decodes the same few masks for every worker, and the result is immutable.
    """
    found = []
    signo = 1
    while bits:
        if bits & 1:
            found.append(signo)
        bits >>= 1
        signo += 1
    return frozenset(found)


_EMPTY: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Masks:
    """The signal masks of one process, from /proc/PID/status, as sets of signal numbers.

    Its own record, not part of :class:`Stat`: the masks come from another file (status), and
    each scan shares one ``Masks`` among every process whose six lines read the same.
    """

    pending: frozenset[int]  # SigPnd: pending for the main thread
    shared_pending: frozenset[int]  # ShdPnd: pending for the process (where kill() puts them)
    blocked: frozenset[int]  # SigBlk (main thread)
    ignored: frozenset[int]  # SigIgn
    caught: frozenset[int]  # SigCgt: a handler is installed
    sigq: tuple[int, int]  # SigQ: signals queued for this user, RLIMIT_SIGPENDING

    @property
    def all_pending(self) -> frozenset[int]:
        """Pending for the thread or the process: what ``ps -o pending`` shows."""
        return self.pending | self.shared_pending


NO_MASKS = Masks(_EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY, (0, 0))
_MASK_KEYS = (b"SigQ", b"SigPnd", b"ShdPnd", b"SigBlk", b"SigIgn", b"SigCgt")


def _decode_masks(block: bytes) -> Masks:
    lines = block.split(b"\n")
    values: list[bytes] = []
    for key, line in zip(_MASK_KEYS, lines, strict=False):
        name, _, value = line.partition(b":")
        if name != key:
            raise ValueError(f"/proc/PID/status: expected {key.decode()}, found {line[:40]!r}")
        values.append(value.strip())
    if len(values) < len(_MASK_KEYS):
        raise ValueError("/proc/PID/status: SigQ is not followed by the five mask lines")
    queued, _, limit = values[0].partition(b"/")
    pending, shared, blocked, ignored, caught = (signals_in(int(v, 16)) for v in values[1:])
    return Masks(pending, shared, blocked, ignored, caught, (int(queued), int(limit or 0)))


# A lab's workers mostly share the same six lines (same user, so the same SigQ; same handlers,
# so the same masks): decoding each distinct block once is most of a scan's parsing saved.
_MASK_BLOCKS: dict[bytes, Masks] = {}
_MASK_BLOCKS_MAX = 4096


def parse_status_masks(data: bytes) -> Masks:
    """The SigQ line and the five mask lines of /proc/PID/status (consecutive, in this order:
    SigQ, SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt); :data:`NO_MASKS` if there is no SigQ line.

    Raises:
        ValueError: a SigQ line not followed by the five mask lines.
    """
    at = data.find(b"\nSigQ:")
    if at < 0:
        return NO_MASKS
    # The block ends with the SigCgt line (_decode_masks checks the six lines are consecutive).
    cgt = data.find(b"\nSigCgt:", at)
    end = data.find(b"\n", cgt + 1) if cgt >= 0 else -1
    block = data[at + 1 : end if end >= 0 else len(data)]
    masks = _MASK_BLOCKS.get(block)
    if masks is None:
        if len(_MASK_BLOCKS) >= _MASK_BLOCKS_MAX:
            _MASK_BLOCKS.clear()
        masks = _MASK_BLOCKS[block] = _decode_masks(block)
    return masks


def voluntary_switches(data: bytes) -> int | None:
    """``voluntary_ctxt_switches`` of /proc/PID/status: how often the process went to sleep and
    was woken (None if the line is missing)."""
    at = data.rfind(b"\nvoluntary_ctxt_switches:")
    if at < 0:
        return None
    end = data.find(b"\n", at + 1)
    return int(data[at + 25 : end if end >= 0 else len(data)])


def status_field(data: bytes, key: str) -> str | None:
    """The text after ``key:`` on its line of /proc/PID/status, stripped (``"Uid"`` ->
    ``"1000\t1000\t1000\t1000"``); None if there is no such line."""
    name = key.encode() + b":"
    if data.startswith(name):
        at = 0
    else:
        at = data.find(b"\n" + name)
        if at < 0:
            return None
        at += 1
    end = data.find(b"\n", at)
    return data[at + len(name) : end if end >= 0 else len(data)].decode(errors="replace").strip()


def thread_group(tid: int) -> int | None:
    """The process a thread id belongs to (``Tgid`` of /proc/TID/status: a thread's folder is
    not listed in /proc but can be read); the tid itself for a process's main thread, None if
    it is gone. A signal sent to a process is taken by any one of its threads that does not
    block it (signal(7)), and strace names the thread that took it."""
    data = read_status(tid)
    if data is None:
        return None
    tgid = status_field(data, "Tgid")
    return int(tgid) if tgid is not None and tgid.isdigit() else None


# -- the process tree ----------------------------------------------------------------------
def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's), from /proc/PID/task/*/children."""
    found: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except GONE:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found.extend(int(p) for p in f.read().split())
        except GONE:
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

"""The C library beneath Python's ``signal`` module, through ``ctypes`` (no compiler at run time).

Python hides ``sigaction`` flags, ``sigqueue`` values, ``signalfd`` and the full ``siginfo_t``;
the behaviours that show them call glibc (and two system calls) through the declarations here.

Structures declared (Linux, glibc; the layouts are the same on x86-64 and arm64, both LP64,
little-endian, with the generic ``siginfo_t``; checked against this machine's headers in
``tests/test_beneath_libc.py``):

* ``sigset_t`` (glibc ``__sigset_t``): 1024 bits = 16 ``unsigned long``, 128 bytes. Bit ``n-1``
  is signal ``n`` (the kernel only reads the first 64 bits).
* ``struct sigaction`` (glibc's, ``bits/sigaction.h``): handler (one pointer: ``sa_handler`` or
  ``sa_sigaction``), ``sa_mask``, ``int sa_flags`` (+4 bytes padding), ``sa_restorer``: 152 bytes.
  glibc's ``sigaction()`` translates it to the kernel's own ``struct kernel_sigaction``.
* ``siginfo_t`` (``bits/types/siginfo_t.h``, ``__SI_MAX_SIZE`` 128): ``si_signo``, ``si_errno``,
  ``si_code``, then (on 64-bit) 4 bytes of padding and the union at offset 16, of which we
  declare the ``_rt`` member (``si_pid``, ``si_uid``, ``si_value``) and the ``_sigchld`` member's
  ``si_status`` (same offset as ``si_value``): 128 bytes.
* ``struct signalfd_siginfo`` (``linux/signalfd.h``): fixed-size, 128 bytes, all fields.

System calls by number: ``pidfd_send_signal`` is 424 on every architecture (numbers from 403 up
are shared by all since Linux 5.1); Python's ``signal.pidfd_send_signal`` takes no siginfo
(it must be None), so a queued value through a pidfd needs the raw call.
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
from collections.abc import Iterable

SUPPORTED_MACHINES = ("x86_64", "aarch64", "arm64")

# Flags of struct sigaction (bits/sigaction.h; asm-generic/signal-defs.h: same on both arches).
SA_NOCLDSTOP = 0x00000001
SA_NOCLDWAIT = 0x00000002
SA_SIGINFO = 0x00000004
SA_ONSTACK = 0x08000000
SA_RESTART = 0x10000000
SA_NODEFER = 0x40000000
SA_RESETHAND = 0x80000000
SA_RESTORER = 0x04000000  # set by glibc itself on x86-64 (its sa_restorer); not ours to choose

FLAG_NAMES: dict[str, int] = {
    "SA_NOCLDSTOP": SA_NOCLDSTOP,
    "SA_NOCLDWAIT": SA_NOCLDWAIT,
    "SA_SIGINFO": SA_SIGINFO,
    "SA_RESTORER": SA_RESTORER,
    "SA_ONSTACK": SA_ONSTACK,
    "SA_RESTART": SA_RESTART,
    "SA_NODEFER": SA_NODEFER,
    "SA_RESETHAND": SA_RESETHAND,
}
# What a learner may choose (SA_SIGINFO would change the handler's calling convention under
# Python's own one-argument C trampoline; SA_ONSTACK needs an alternate stack Python manages).
CHOOSABLE = ("SA_RESETHAND", "SA_NODEFER", "SA_RESTART", "SA_NOCLDSTOP", "SA_NOCLDWAIT")

SI_USER = 0
SI_QUEUE = -1
SYS_PIDFD_SEND_SIGNAL = 424

SIG_DFL = 0
SIG_IGN = 1

_NWORDS = 1024 // (8 * ctypes.sizeof(ctypes.c_ulong))


class sigset_t(ctypes.Structure):
    _fields_ = [("val", ctypes.c_ulong * _NWORDS)]


class struct_sigaction(ctypes.Structure):
    _fields_ = [
        ("sa_handler", ctypes.c_void_p),  # union with sa_sigaction: one pointer either way
        ("sa_mask", sigset_t),
        ("sa_flags", ctypes.c_int),
        ("sa_restorer", ctypes.c_void_p),
    ]


class sigval(ctypes.Union):
    _fields_ = [("sival_int", ctypes.c_int), ("sival_ptr", ctypes.c_void_p)]


class _rt(ctypes.Structure):
    _fields_ = [("si_pid", ctypes.c_int), ("si_uid", ctypes.c_uint), ("si_value", sigval)]


class _sigchld(ctypes.Structure):
    _fields_ = [("si_pid", ctypes.c_int), ("si_uid", ctypes.c_uint), ("si_status", ctypes.c_int)]


class _sifields(ctypes.Union):
    _fields_ = [
        ("rt", _rt),
        ("sigchld", _sigchld),
        ("pad", ctypes.c_int * (128 // 4 - 4)),  # __SI_PAD_SIZE on 64-bit
    ]


class siginfo_t(ctypes.Structure):
    _fields_ = [
        ("si_signo", ctypes.c_int),
        ("si_errno", ctypes.c_int),
        ("si_code", ctypes.c_int),
        ("fields", _sifields),  # aligned to 8: offset 16 (4 bytes of padding before it)
    ]


class signalfd_siginfo(ctypes.Structure):
    _fields_ = [
        ("ssi_signo", ctypes.c_uint32),
        ("ssi_errno", ctypes.c_int32),
        ("ssi_code", ctypes.c_int32),
        ("ssi_pid", ctypes.c_uint32),
        ("ssi_uid", ctypes.c_uint32),
        ("ssi_fd", ctypes.c_int32),
        ("ssi_tid", ctypes.c_uint32),
        ("ssi_band", ctypes.c_uint32),
        ("ssi_overrun", ctypes.c_uint32),
        ("ssi_trapno", ctypes.c_uint32),
        ("ssi_status", ctypes.c_int32),
        ("ssi_int", ctypes.c_int32),
        ("ssi_ptr", ctypes.c_uint64),
        ("ssi_utime", ctypes.c_uint64),
        ("ssi_stime", ctypes.c_uint64),
        ("ssi_addr", ctypes.c_uint64),
        ("ssi_addr_lsb", ctypes.c_uint16),
        ("pad2", ctypes.c_uint16),
        ("ssi_syscall", ctypes.c_int32),
        ("ssi_call_addr", ctypes.c_uint64),
        ("ssi_arch", ctypes.c_uint32),
        ("pad", ctypes.c_uint8 * 28),
    ]


# What the headers say, for the test that compares (and for a reader on another machine).
EXPECTED_SIZES = {
    "sigset_t": 128,
    "struct sigaction": 152,
    "siginfo_t": 128,
    "signalfd_siginfo": 128,
}

_libc: ctypes.CDLL | None = None


class LibcError(OSError):
    """A C call that failed; ``errno`` is the C library's."""


def libc() -> ctypes.CDLL:
    """glibc, loaded once, with errno kept (``use_errno``) and the prototypes declared."""
    global _libc
    if _libc is None:
        if platform.machine() not in SUPPORTED_MACHINES:
            raise LibcError(
                0,
                f"the ctypes layouts are declared for x86-64 and arm64 only, "
                f"not {platform.machine()}",
            )
        lib = ctypes.CDLL("libc.so.6", use_errno=True)
        sa_p = ctypes.POINTER(struct_sigaction)
        set_p = ctypes.POINTER(sigset_t)
        lib.sigaction.argtypes = [ctypes.c_int, sa_p, sa_p]
        lib.sigaction.restype = ctypes.c_int
        lib.pthread_sigmask.argtypes = [ctypes.c_int, set_p, set_p]
        lib.pthread_sigmask.restype = ctypes.c_int
        lib.sigsuspend.argtypes = [set_p]
        lib.sigsuspend.restype = ctypes.c_int
        lib.signalfd.argtypes = [ctypes.c_int, set_p, ctypes.c_int]
        lib.signalfd.restype = ctypes.c_int
        lib.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
        lib.read.restype = ctypes.c_ssize_t
        lib.kill.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.kill.restype = ctypes.c_int
        c_raise = getattr(lib, "raise")  # getattr caches the function (lib[...] would not)
        c_raise.argtypes = [ctypes.c_int]
        c_raise.restype = ctypes.c_int
        lib.syscall.restype = ctypes.c_long
        _libc = lib
    return _libc


def _fail(call: str) -> LibcError:
    err = ctypes.get_errno()
    return LibcError(err, f"{call}: {os.strerror(err)}")


# -- signal sets ------------------------------------------------------------------------------
def make_sigset(signums: Iterable[int]) -> sigset_t:
    s = sigset_t()
    bits = 8 * ctypes.sizeof(ctypes.c_ulong)
    for sig in signums:
        if not 1 <= sig < signal.NSIG:
            raise ValueError(f"signal number {sig} out of range")
        s.val[(sig - 1) // bits] |= 1 << ((sig - 1) % bits)
    return s


def sigset_members(s: sigset_t) -> list[int]:
    bits = 8 * ctypes.sizeof(ctypes.c_ulong)
    return [
        w * bits + b + 1
        for w in range(_NWORDS)
        for b in range(bits)
        if s.val[w] >> b & 1 and w * bits + b + 1 < signal.NSIG
    ]


# -- sigaction --------------------------------------------------------------------------------
def get_action(sig: int) -> struct_sigaction:
    """``sigaction(sig, NULL, &old)``: what the kernel has for ``sig`` now."""
    old = struct_sigaction()
    if libc().sigaction(sig, None, ctypes.byref(old)) != 0:
        raise _fail(f"sigaction({sig})")
    return old


def set_action(sig: int, handler: int | None, flags: int, mask: Iterable[int] = ()) -> None:
    """``sigaction(sig, &new, NULL)`` with a handler address (or SIG_DFL 0 / SIG_IGN 1).

    ``handler=None`` keeps the handler installed now, which under a Python handler is CPython's
    own C trampoline (the function that sets the flag and writes the wakeup fd): the flags
    change, Python's handler still runs.
    """
    old = get_action(sig)
    new = struct_sigaction()
    new.sa_handler = old.sa_handler if handler is None else handler
    new.sa_mask = make_sigset(mask)
    # Python installs its handlers with SA_ONSTACK (for its faulthandler's alternate stack);
    # keep it, so that the only change is the flags asked for.
    keep = old.sa_flags & SA_ONSTACK if handler is None else 0
    new.sa_flags = ctypes.c_int((flags | keep) & 0xFFFFFFFF).value  # SA_RESETHAND: sign bit
    if libc().sigaction(sig, ctypes.byref(new), None) != 0:
        raise _fail(f"sigaction({sig})")


def flag_names(flags: int) -> list[str]:
    value = flags & 0xFFFFFFFF
    return [name for name, bit in FLAG_NAMES.items() if value & bit]


def parse_flags(text: str | Iterable[str]) -> int:
    """``"SA_RESETHAND|SA_NODEFER"`` (or a list; ``SA_`` optional, any case) to a flags word.

    Raises:
        ValueError: a word that is not one of :data:`CHOOSABLE`.
    """
    words = text.replace(",", "|").replace(";", "|").split("|") if isinstance(text, str) else text
    value = 0
    for word in words:
        w = word.strip().upper()
        if not w:
            continue
        if not w.startswith("SA_"):
            w = "SA_" + w
        if w not in CHOOSABLE:
            raise ValueError(
                f"unknown sigaction flag {word.strip()!r} (one of {', '.join(CHOOSABLE)})"
            )
        value |= FLAG_NAMES[w]
    return value


def blocked_now() -> list[int]:
    """The calling thread's mask, read with ``pthread_sigmask(SIG_BLOCK, NULL, &old)``."""
    old = sigset_t()
    err = libc().pthread_sigmask(signal.SIG_BLOCK, None, ctypes.byref(old))
    if err:
        raise LibcError(err, f"pthread_sigmask: {os.strerror(err)}")
    return sigset_members(old)


# -- signalfd ---------------------------------------------------------------------------------
SFD_NONBLOCK = os.O_NONBLOCK
SFD_CLOEXEC = os.O_CLOEXEC


def signalfd(signums: Iterable[int], flags: int = SFD_CLOEXEC) -> int:
    """A new signalfd for ``signums`` (which the caller must block, or they are delivered)."""
    fd = libc().signalfd(-1, ctypes.byref(make_sigset(signums)), flags)
    if fd < 0:
        raise _fail("signalfd")
    return int(fd)


def read_signalfd(fd: int) -> signalfd_siginfo:
    """One ``struct signalfd_siginfo`` (blocks unless the fd is non-blocking)."""
    data = os.read(fd, ctypes.sizeof(signalfd_siginfo))
    if len(data) != ctypes.sizeof(signalfd_siginfo):
        raise LibcError(0, f"signalfd read {len(data)} bytes, not a whole signalfd_siginfo")
    return signalfd_siginfo.from_buffer_copy(data)


# -- queued values ----------------------------------------------------------------------------
def queued_info(sig: int, value: int) -> siginfo_t:
    """The siginfo ``sigqueue(3)`` builds: SI_QUEUE, our pid and uid, the value."""
    info = siginfo_t()
    info.si_signo = sig
    info.si_code = SI_QUEUE
    info.fields.rt.si_pid = os.getpid()
    info.fields.rt.si_uid = os.getuid()
    info.fields.rt.si_value.sival_int = value
    return info


def pidfd_sigqueue(pidfd: int, sig: int, value: int) -> None:
    """``pidfd_send_signal(pidfd, sig, &info, 0)`` with a sigqueue-style siginfo.

    pidfd_send_signal(2): with ``info``, the same rules as rt_sigqueueinfo(2) apply: to
    another process ``si_code`` must be negative (SI_QUEUE is -1), so a value *can* go through
    a pidfd, and the pidfd keeps the send bound to the one process we checked.

    Raises:
        LibcError: with the kernel's errno (ESRCH gone, EPERM, EAGAIN past RLIMIT_SIGPENDING).
    """
    if not -(2**31) <= value < 2**31:
        raise ValueError(f"value {value} does not fit in an int (sival_int)")
    info = queued_info(sig, value)
    rc = libc().syscall(
        ctypes.c_long(SYS_PIDFD_SEND_SIGNAL),
        ctypes.c_int(pidfd),
        ctypes.c_int(sig),
        ctypes.byref(info),
        ctypes.c_uint(0),
    )
    if rc != 0:
        raise _fail("pidfd_send_signal")


def sigqueue(pid: int, sig: int, value: int) -> None:
    """``sigqueue(3)`` by pid (glibc: rt_sigqueueinfo with SI_QUEUE); the ``rtlimit``
    behaviour's own sends to itself, where no pid can be recycled under us."""
    pidfd = os.pidfd_open(pid)
    try:
        pidfd_sigqueue(pidfd, sig, value)
    finally:
        os.close(pidfd)


def c_kill(pid: int, sig: int) -> int:
    """``kill(2)`` returning the C result and leaving errno readable: 0 or -1."""
    return int(libc().kill(pid, sig))


__all__ = [
    "CHOOSABLE",
    "EXPECTED_SIZES",
    "FLAG_NAMES",
    "LibcError",
    "SA_NOCLDSTOP",
    "SA_NOCLDWAIT",
    "SA_NODEFER",
    "SA_RESETHAND",
    "SA_RESTART",
    "SI_QUEUE",
    "blocked_now",
    "flag_names",
    "get_action",
    "libc",
    "make_sigset",
    "parse_flags",
    "pidfd_sigqueue",
    "queued_info",
    "read_signalfd",
    "set_action",
    "siginfo_t",
    "signalfd",
    "signalfd_siginfo",
    "sigqueue",
    "sigset_members",
    "sigset_t",
    "struct_sigaction",
]

"""The ctypes declarations of sigscope/lab/libc.py against this machine's C headers.

No compiler: the sizes the headers imply are read from /usr/include (libc6-dev, linux-libc-dev)
and compared with ``ctypes.sizeof``; then fields are written and read back through the kernel
(sigaction install + read back; a queued value through a pidfd read from a signalfd).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import re
import signal
from pathlib import Path

import pytest

from sigscope.lab import libc as L

MULTIARCH = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}[platform.machine()]
BITS = Path("/usr/include") / MULTIARCH / "bits"
SIZES = {"__u8": 1, "__u16": 2, "__u32": 4, "__s32": 4, "__u64": 8}


def _need(path: Path) -> str:
    if not path.exists():
        pytest.skip(f"{path} is missing (install libc6-dev / linux-libc-dev)")
    return path.read_text()


def test_sigset_size_from_header() -> None:
    text = _need(BITS / "types" / "__sigset_t.h")
    m = re.search(r"#define _SIGSET_NWORDS \((\d+) / \(8 \* sizeof \(unsigned long int\)\)\)", text)
    assert m, "the header's _SIGSET_NWORDS changed shape"
    assert ctypes.sizeof(L.sigset_t) == int(m.group(1)) // 8 == L.EXPECTED_SIZES["sigset_t"]


def test_siginfo_size_from_header() -> None:
    text = _need(BITS / "types" / "siginfo_t.h")
    m = re.search(r"#define __SI_MAX_SIZE\s+(\d+)", text)
    assert m
    assert ctypes.sizeof(L.siginfo_t) == int(m.group(1)) == 128
    # si_signo, si_errno, si_code in that order (mips swaps two; we declare x86-64/arm64 only)
    order = re.findall(r"int (si_signo|si_errno|si_code);", text)
    assert order[:3] == ["si_signo", "si_errno", "si_code"]
    assert L.siginfo_t.fields.offset == 16  # 3 ints, then the union aligned to 8 (a pointer)


def test_struct_sigaction_matches_header_fields() -> None:
    text = _need(BITS / "sigaction.h")
    body = text[text.index("struct sigaction") : text.index("};")]
    # handler union (one pointer), the mask, an int, the restorer: in this order.
    assert (
        body.index("sa_handler")
        < body.index("__sigset_t sa_mask")
        < body.index("int sa_flags")
        < body.index("(*sa_restorer)")
    )
    ptr = ctypes.sizeof(ctypes.c_void_p)
    expected = ptr + ctypes.sizeof(L.sigset_t) + 4
    expected += -expected % ptr + ptr  # padding to the restorer pointer
    assert ctypes.sizeof(L.struct_sigaction) == expected == L.EXPECTED_SIZES["struct sigaction"]
    for name, value in re.findall(r"#\s*define\s+(SA_[A-Z]+)\s+(0x[0-9a-fA-F]+|\d+)", text):
        if name in L.FLAG_NAMES:
            assert L.FLAG_NAMES[name] == int(value, 0), name


def test_signalfd_siginfo_every_field_offset_from_header() -> None:
    text = _need(Path("/usr/include/linux/signalfd.h"))
    body = text[text.index("struct signalfd_siginfo") : text.index("};")]
    offset = 0
    seen = 0
    for ctype, name, count in re.findall(r"(__[us]\d+)\s+(\w+)(?:\[(\d+)\])?;", body):
        size = SIZES[ctype]
        offset += -offset % size
        ours = {"__pad2": "pad2", "__pad": "pad"}.get(name, name)
        assert getattr(L.signalfd_siginfo, ours).offset == offset, name
        offset += size * int(count or 1)
        seen += 1
    assert seen == len(L.signalfd_siginfo._fields_)
    assert ctypes.sizeof(L.signalfd_siginfo) == offset == 128


def test_sigaction_flags_and_mask_read_back() -> None:
    sig = signal.SIGUSR2
    saved = signal.getsignal(sig)
    try:
        signal.signal(sig, lambda *_: None)
        trampoline = L.get_action(sig).sa_handler
        L.set_action(sig, None, L.SA_RESETHAND | L.SA_NODEFER, [signal.SIGHUP, signal.SIGRTMIN])
        back = L.get_action(sig)
        assert back.sa_handler == trampoline  # still Python's C-level handler
        assert {"SA_RESETHAND", "SA_NODEFER"} <= set(L.flag_names(back.sa_flags))
        assert "SA_RESTART" not in L.flag_names(back.sa_flags)
        assert L.sigset_members(back.sa_mask) == [signal.SIGHUP, signal.SIGRTMIN]
    finally:
        signal.signal(sig, saved)


def test_parse_flags_refuses_unknown_words() -> None:
    assert L.parse_flags("resethand|SA_NODEFER") == L.SA_RESETHAND | L.SA_NODEFER
    with pytest.raises(ValueError, match="SA_SIGINFO"):
        L.parse_flags("SA_SIGINFO")


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

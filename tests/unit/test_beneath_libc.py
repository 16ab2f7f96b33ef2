"""The ctypes declarations of sigscope/libc.py against this machine's C headers.

No compiler: the sizes the headers imply are read from /usr/include (libc6-dev, linux-libc-dev)
and compared with ``ctypes.sizeof``; then fields are written and read back through the kernel
in this process (sigaction install + read back). With a real child (a queued value through a
pidfd read from a signalfd): tests/lab/test_beneath_libc_live.py.
"""

from __future__ import annotations

import ctypes
import platform
import re
import signal
from pathlib import Path

import pytest

from sigscope import libc as L

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

"""Unit tests of the observer's decoders: masks, wait statuses, si_codes, /proc/PID/status.

The decoders are checked against independent references: masks against an encoder written
here from the definition (bit n-1 = signal n), wait statuses against the C macros Python
exposes (``os.WIF*``, ``os.W*``, ``os.waitstatus_to_exitcode``) over statuses of every real
kind; and the sampler's arguments. What real processes and real signals give is checked in
tests/lab/test_observe.py and tests/lab/test_sampler.py.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigscope.observe.masks import MaskError, decode_mask, encode_mask, mask_names
from sigscope.observe.sampler import Sampler
from sigscope.observe.siginfo import si_code_meaning, si_code_name
from sigscope.observe.waitstatus import WaitStatusError, decode_wait_status
from sigscope.procfs import parse_status_masks
from sigscope.signames import RTMAX, RTMIN, signal_name
from sigscope.sources.record import load
from sigscope.sources.replay import Replay

SIGNALS = st.integers(min_value=1, max_value=64)

RECORDING = Path(__file__).parents[1] / "data" / "lab-recording.jsonl"


SIGNAL_SETS = st.frozensets(SIGNALS, max_size=64)


def reference_encode(signals: frozenset[int]) -> str:
    """An encoder from the definition alone (proc(5)): a sum of powers of two, in hex."""
    return format(sum(2 ** (n - 1) for n in signals), "016x")


# -- masks ---------------------------------------------------------------------------------
def test_decode_mask_known_values() -> None:
    assert decode_mask("0000000000004002") == {signal.SIGINT, signal.SIGTERM}
    assert decode_mask("0000000000000000") == frozenset()
    assert decode_mask("0000000000000200") == {signal.SIGUSR1}
    assert decode_mask("ffffffffffffffff") == frozenset(range(1, 65))
    assert decode_mask("8000000000000000") == {64}


def test_encode_mask_known_values() -> None:
    assert encode_mask([2, 15]) == "0000000000004002"
    assert encode_mask([]) == "0000000000000000"
    assert encode_mask(range(1, 65)) == "ffffffffffffffff"


@given(SIGNAL_SETS)
def test_decode_agrees_with_an_independent_encoder(signals: frozenset[int]) -> None:
    assert decode_mask(reference_encode(signals)) == signals


@given(SIGNAL_SETS)
def test_encode_agrees_with_an_independent_encoder(signals: frozenset[int]) -> None:
    assert encode_mask(signals) == reference_encode(signals)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_encode_inverts_decode(bits: int) -> None:
    text = f"{bits:016x}"
    assert encode_mask(decode_mask(text)) == text


@pytest.mark.parametrize("bad", ["", "xyz", "00000000000000g0", "-1"])
def test_decode_mask_rejects_non_hex(bad: str) -> None:
    with pytest.raises(MaskError):
        decode_mask(bad)


@pytest.mark.parametrize("bad", [0, 65, -3])
def test_encode_mask_rejects_signals_out_of_range(bad: int) -> None:
    with pytest.raises(MaskError):
        encode_mask([bad])


def test_mask_names_sorted_with_realtime_relative_to_rtmin() -> None:
    names = mask_names([RTMIN + 2, signal.SIGTERM, signal.SIGHUP, RTMIN])
    assert names == ["SIGHUP", "SIGTERM", "SIGRTMIN+0", "SIGRTMIN+2"]
    assert mask_names([RTMAX]) == [f"SIGRTMIN+{RTMAX - RTMIN}"]


def test_parse_status_masks_of_a_status_file() -> None:
    text = (
        b"Name:\tpython\nState:\tS (sleeping)\nThreads:\t1\n"
        b"SigQ:\t3/96365\nSigPnd:\t0000000000000100\nShdPnd:\t0000000000000200\n"
        b"SigBlk:\t0000000000000200\nSigIgn:\t0000000001001000\nSigCgt:\t0000000000004002\n"
        b"CapInh:\t0000000000000000\n"
    )
    m = parse_status_masks(text)
    assert m.sigq == (3, 96365)
    assert m.pending == {signal.SIGKILL}  # bit 8 = signal 9
    assert m.shared_pending == {signal.SIGUSR1}
    assert m.all_pending == {signal.SIGKILL, signal.SIGUSR1}
    assert m.blocked == {signal.SIGUSR1}
    assert m.ignored == {signal.SIGPIPE, signal.SIGXFSZ}
    assert m.caught == {signal.SIGINT, signal.SIGTERM}


# -- wait statuses -------------------------------------------------------------------------
def _exited(code: int) -> int:
    return code << 8


def _signalled(sig: int, core: bool) -> int:
    return sig | (0x80 if core else 0)


def _stopped(sig: int, event: int) -> int:
    return (event << 16) | (sig << 8) | 0x7F


RAW_STATUSES = st.one_of(
    st.integers(0, 255).map(_exited),
    st.builds(_signalled, SIGNALS, st.booleans()),
    st.builds(_stopped, SIGNALS, st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 0x80])),
    st.just(0xFFFF),
)


@given(RAW_STATUSES)
def test_wait_status_agrees_with_os_macros(raw: int) -> None:
    ws = decode_wait_status(raw)
    assert ws.raw == raw
    assert (ws.how == "exited") == os.WIFEXITED(raw)
    assert (ws.how == "signalled") == os.WIFSIGNALED(raw)
    assert (ws.how == "stopped") == os.WIFSTOPPED(raw)
    assert (ws.how == "continued") == os.WIFCONTINUED(raw)
    if ws.how == "exited":
        assert ws.exitcode == os.WEXITSTATUS(raw)
        assert ws.signal is None and not ws.core
        assert ws.subprocess_code == os.waitstatus_to_exitcode(raw) == ws.shell_code
    elif ws.how == "signalled":
        assert ws.signal == os.WTERMSIG(raw)
        assert ws.core == os.WCOREDUMP(raw)
        assert ws.exitcode is None
        assert ws.subprocess_code == os.waitstatus_to_exitcode(raw) == -ws.signal
        assert ws.shell_code == 128 + os.WTERMSIG(raw)
    elif ws.how == "stopped":
        assert ws.signal == os.WSTOPSIG(raw)
        assert ws.subprocess_code is None
        with pytest.raises(ValueError):
            os.waitstatus_to_exitcode(raw)
    else:
        assert ws.signal is None and ws.subprocess_code is None and ws.shell_code is None


def _fields_by_macros(status: int) -> dict[str, object]:
    """The master's original decoder, written with the os.W* macros: the event format."""
    if os.WIFEXITED(status):
        return {"how": "exited", "exitcode": os.WEXITSTATUS(status)}
    if os.WIFSIGNALED(status):
        return {
            "how": "signalled",
            "exitcode": os.waitstatus_to_exitcode(status),
            "sig": signal_name(os.WTERMSIG(status)),
            "core": os.WCOREDUMP(status),
        }
    if os.WIFSTOPPED(status):
        return {"how": "stopped", "sig": signal_name(os.WSTOPSIG(status))}
    return {"how": "continued"}


@given(RAW_STATUSES)
def test_event_fields_keep_the_event_format(raw: int) -> None:
    assert decode_wait_status(raw).event_fields() == _fields_by_macros(raw)


def test_sigkill_is_not_success_when_shifted() -> None:
    """facts.md correction 3: status 9 >> 8 == 0, yet the child was killed."""
    ws = decode_wait_status(9)
    assert 9 >> 8 == 0
    assert ws.how == "signalled" and ws.exitcode is None
    assert ws.describe() == "killed by SIGKILL (-9 in subprocess, 137 in a shell)"


def test_describe_each_kind() -> None:
    assert decode_wait_status(3 << 8).describe() == "exited with code 3"
    assert decode_wait_status(0x80 | 11).describe() == (
        "killed by SIGSEGV, core dumped (-11 in subprocess, 139 in a shell)"
    )
    assert decode_wait_status(_stopped(19, 0)).describe() == "stopped by SIGSTOP"
    assert decode_wait_status(_stopped(20, 0)).shell_code == 148  # Ctrl+Z in bash
    assert decode_wait_status(0xFFFF).describe() == "continued by SIGCONT"


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_wait_status_rejects_impossible_numbers(bad: int) -> None:
    with pytest.raises(WaitStatusError):
        decode_wait_status(bad)


# -- si_code -------------------------------------------------------------------------------
def test_generic_si_codes() -> None:
    assert si_code_name(0) == "SI_USER"
    assert si_code_name(0x80) == "SI_KERNEL"
    assert si_code_name(-1) == "SI_QUEUE"
    assert si_code_name(-2) == "SI_TIMER"
    assert si_code_name(-6) == "SI_TKILL"
    assert si_code_name(0, signal.SIGCHLD) == "SI_USER"
    meaning = si_code_meaning(0)
    assert meaning is not None and "kill()" in meaning
    assert si_code_meaning(5) is None


def test_sigchld_codes_agree_with_os_constants() -> None:
    for name in (
        "CLD_EXITED",
        "CLD_KILLED",
        "CLD_DUMPED",
        "CLD_TRAPPED",
        "CLD_STOPPED",
        "CLD_CONTINUED",
    ):
        assert si_code_name(getattr(os, name), signal.SIGCHLD) == name


def test_signal_specific_codes_need_the_signal() -> None:
    assert si_code_name(1, signal.SIGSEGV) == "SEGV_MAPERR"
    assert si_code_name(2, signal.SIGBUS) == "BUS_ADRERR"
    assert si_code_name(1, signal.SIGFPE) == "FPE_INTDIV"
    assert si_code_name(14, signal.SIGFPE) == "FPE_FLTUNK"
    assert si_code_name(1) == "si_code 1"
    assert si_code_name(99, signal.SIGCHLD) == "si_code 99"


# -- the sampler's arguments ---------------------------------------------------------------
@pytest.mark.parametrize("interval", [0, -1, float("nan")])
def test_the_sampler_interval_must_be_positive(interval: float) -> None:
    """Refused before any scan: a recording (no process) is source enough to ask."""
    replay = Replay(load(RECORDING))
    with pytest.raises(ValueError, match="interval"):
        Sampler(replay, interval=interval)

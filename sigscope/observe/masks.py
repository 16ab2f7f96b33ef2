"""Signal masks as /proc/PID/status shows them: hex text, bit n-1 set for signal n.

``SigPnd``, ``ShdPnd``, ``SigBlk``, ``SigIgn`` and ``SigCgt`` are each 64 bits printed as
16 hex digits (proc(5)); ``ps -o pending,blocked,ignored,caught`` prints the same words.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sigscope.procfs import signals_in
from sigscope.signames import signal_names

MASK_DIGITS = 16  # the kernel prints a 64-bit sigset_t word as 16 hex digits


class MaskError(ValueError):
    """Text that is not a signal mask; the message says what was wrong."""


@functools.lru_cache(maxsize=4096)
def decode_mask(hex_text: str) -> frozenset[int]:
    """The signals set in a mask: ``"0000000000004002"`` -> ``{2, 15}``.

    Cached: a sampler decodes the same few masks for every worker, many times a second, and
    the result is immutable.

    Raises:
        MaskError: the text is not hexadecimal.
    """
    try:
        bits = int(hex_text, 16)
    except ValueError:
        raise MaskError(f"not a hex signal mask: {hex_text!r}") from None
    if bits < 0:
        raise MaskError(f"a signal mask cannot be negative: {hex_text!r}")
    return signals_in(bits)


def encode_mask(signals: Iterable[int]) -> str:
    """The mask text for a set of signals, 16 hex digits: the inverse of :func:`decode_mask`.

    Raises:
        MaskError: a number that no 64-bit mask can hold (signals run from 1 to 64).
    """
    bits = 0
    for signo in signals:
        if not 1 <= signo <= MASK_DIGITS * 4:
            raise MaskError(f"signal {signo} does not fit in a mask (1-{MASK_DIGITS * 4})")
        bits |= 1 << (signo - 1)
    return f"{bits:0{MASK_DIGITS}x}"


def mask_names(signals: Iterable[int]) -> list[str]:
    """Names of the signals, in number order; real-time ones as ``SIGRTMIN+n``."""
    return signal_names(signals)

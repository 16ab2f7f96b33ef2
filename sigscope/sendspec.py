"""``[SECONDS:]SIGNAL[@TARGET]``: how ``trace --send`` and lesson solutions say "send this".

SIGNAL is a name with or without ``SIG`` (``TERM``, ``SIGTERM``, ``RTMIN+2``) or a number;
TARGET is ``master`` (the default), ``worker`` (the first live worker) or ``worker:N``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sigscope.numbers import NumberError, is_int, parse_float
from sigscope.signames import SignalError, parse_signal, signal_name


class SendSpecError(ValueError):
    """A spec that does not parse; the message says which part and why."""


@dataclass(frozen=True)
class SendSpec:
    at: float  # seconds from the start (trace) or before sending (a lesson's solution)
    sig: int
    target: str

    @property
    def signame(self) -> str:
        return signal_name(self.sig)

    @property
    def text(self) -> str:
        return f"{self.at:g}:{self.signame}@{self.target}"


def parse_target(text: str) -> str:
    t = text.strip().lower()
    if t in ("master", "worker"):
        return t
    if t.startswith("worker:") and is_int(t[7:]):
        return t  # the Lab reads N back with the same parser (isdigit() would take "²")
    raise SendSpecError(f"bad target {text.strip()!r} (master, worker, or worker:N)")


def parse_send_spec(text: str, max_at: float = math.inf) -> SendSpec:
    """Parse a spec; ``max_at`` bounds SECONDS.

    Raises:
        SendSpecError: a bad time, signal or target, said with the spec it came from.
    """
    body, at_sign, target_text = text.strip().partition("@")
    try:
        target = parse_target(target_text) if at_sign else "master"
    except SendSpecError as e:
        raise SendSpecError(f"{e} in {text!r}") from None
    at = 0.0
    when, colon, sig_text = body.partition(":")
    if colon:
        try:
            at = parse_float(when, what="seconds")
        except NumberError:
            raise SendSpecError(f"bad time {when!r} in {text!r} (seconds, e.g. 0.5:TERM)") from None
        if not 0 <= at <= max_at:
            limit = "0 or more" if math.isinf(max_at) else f"0 to {max_at:g} seconds"
            raise SendSpecError(f"bad time {when!r} in {text!r}: {limit}")
    else:
        sig_text = when
    try:
        sig = parse_signal(sig_text)
    except SignalError as e:
        raise SendSpecError(f"bad signal name {sig_text.strip()!r}: {e}") from None
    return SendSpec(at, sig, target)

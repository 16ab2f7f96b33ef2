"""``[SECONDS:]SIGNAL[=VALUE][@TARGET]``: how ``trace --send`` and lesson solutions say "send this".

SIGNAL is a name with or without ``SIG`` (``TERM``, ``SIGTERM``, ``RTMIN+2``) or a number;
``=VALUE`` (an integer that fits a C ``int``) sends it queued with that value, as ``sigqueue(3)``
does (``si_code`` SI_QUEUE, the value in ``si_value.sival_int``);
TARGET is ``master`` (the default), ``worker`` (the first live worker) or ``worker:N``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sigscope.numbers import NumberError, is_int, parse_float, parse_int
from sigscope.signames import SignalError, parse_signal, signal_name


class SendSpecError(ValueError):
    """A spec that does not parse; the message says which part and why."""


@dataclass(frozen=True)
class SendSpec:
    at: float  # seconds from the start (trace) or before sending (a lesson's solution)
    sig: int
    target: str
    value: int | None = None  # sent queued (SI_QUEUE) with this sival_int

    @property
    def signame(self) -> str:
        return signal_name(self.sig)

    @property
    def text(self) -> str:
        value = "" if self.value is None else f"={self.value}"
        return f"{self.at:g}:{self.signame}{value}@{self.target}"


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
    sig_text, eq, value_text = sig_text.partition("=")
    value: int | None = None
    if eq:
        value = parse_value(value_text, text)
    try:
        sig = parse_signal(sig_text)
    except SignalError as e:
        raise SendSpecError(f"bad signal name {sig_text.strip()!r}: {e}") from None
    return SendSpec(at, sig, target, value)


INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # sival_int is a C int


def parse_value(text: str, spec: str | None = None) -> int:
    """The ``VALUE`` of ``SIGNAL=VALUE``: a whole number that fits a C ``int``.

    Raises:
        SendSpecError: said with the spec it came from.
    """
    where = f" in {spec!r}" if spec is not None else ""
    try:
        return parse_int(text.strip(), what="a value", low=INT_MIN, high=INT_MAX, signed=True)
    except NumberError:
        raise SendSpecError(
            f"bad value {text.strip()!r}{where} (a whole number from {INT_MIN} to {INT_MAX})"
        ) from None

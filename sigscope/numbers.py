"""The one parser for "a number" typed by a person or read from a file.

``str.isdigit()`` accepts ``²`` and ``٣`` and ``int()`` accepts ``٣`` (and ``_`` between
digits), so checking with one and converting with the other lets text through that one of them
refuses: a traceback, or a pid nobody typed. Everything sigscope reads as a number from the
command line, a lesson, a recording, the environment or a text box goes through here: ASCII
digits only, an optional sign where the caller allows one, a bounded length, and one-line
errors (:class:`NumberError`, a ``ValueError``).
"""

from __future__ import annotations

import math
import re

MAX_DIGITS = 30  # more than any pid, count or time sigscope takes; bounds int() on hostile text

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


class NumberError(ValueError):
    """Text that is not the number wanted; the message is one line, fit to show a user."""


def _shown(text: str) -> str:
    """The text as it may be shown in a one-line message: printable, short."""
    shown = text if len(text) <= 40 else text[:39] + "…"
    return repr(shown) if not shown.isprintable() or not shown else shown


def is_int(text: str, *, signed: bool = False) -> bool:
    """Whether ``text`` is a whole number in ASCII digits (``-`` or ``+`` first if ``signed``)."""
    if len(text) > MAX_DIGITS + 1 or not _INT.fullmatch(text):
        return False
    return signed or text[0] not in "+-"


def parse_int(
    text: str,
    *,
    what: str = "a number",
    low: int | None = None,
    high: int | None = None,
    signed: bool = False,
) -> int:
    """``text`` as an int: ASCII digits only, within ``low``..``high`` if given.

    Raises:
        NumberError: with a one-line message naming ``what`` was expected.
    """
    stripped = text.strip()
    if not is_int(stripped, signed=signed):
        kind = "a whole number" if signed else "a whole number (digits 0-9)"
        raise NumberError(f"{what} must be {kind}, not {_shown(text)}")
    value = int(stripped)
    _check_range(value, what, low, high)
    return value


def parse_float(
    text: str,
    *,
    what: str = "a number",
    low: float | None = None,
    high: float | None = None,
) -> float:
    """``text`` as a finite float written in ASCII (``1``, ``0.5``, ``.5``, ``2e-3``).

    Raises:
        NumberError: for anything else (``inf``, ``nan``, ``½``, ``1_0``), or out of range.
    """
    stripped = text.strip()
    if len(stripped) > MAX_DIGITS + 8 or not _FLOAT.fullmatch(stripped):
        raise NumberError(f"{what} must be a number like 2 or 0.5, not {_shown(text)}")
    value = float(stripped)
    if not math.isfinite(value):
        raise NumberError(f"{what} must be a finite number, not {_shown(text)}")
    _check_range(value, what, low, high)
    return value


def _check_range(value: float, what: str, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise NumberError(f"{what} must be at least {low}, not {value:g}")
    if high is not None and value > high:
        raise NumberError(f"{what} must be at most {high}, not {value:g}")

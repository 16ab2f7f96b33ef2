"""``--type [SECONDS:]TEXT``: what to type into the lane's terminal, and when.

In TEXT, ``^C``, ``^Z``, ``^\\``, ``^D`` (any ``^`` + a letter or one of ``@[\\]^_?``) are the
control characters a keyboard sends (termios(3): VINTR, VSUSP, VQUIT, VEOF are ^C, ^Z, ^\\,
^D by default); ``\\n`` (or ``\\r``) is the Enter key, ``\\t`` Tab, ``\\\\`` a backslash,
``\\^`` a caret.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigscope.numbers import NumberError, parse_float

_ESCAPES = {"n": "\r", "r": "\r", "t": "\t", "\\": "\\", "^": "^", "e": "\x1b"}


class KeysError(ValueError):
    """A bad --type spec; the message says what is wrong, in one line."""


@dataclass(frozen=True)
class TypeSpec:
    at: float  # seconds after the shell started
    keys: str  # what the keyboard sends
    text: str  # the spec as given


def decode_keys(text: str) -> str:
    """TEXT with its ``^X`` and ``\\x`` notations turned into the characters a keyboard sends."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                raise KeysError(f"{text!r}: a lone backslash at the end (write \\\\ for one)")
            nxt = text[i + 1]
            if nxt not in _ESCAPES:
                raise KeysError(f"{text!r}: unknown escape \\{nxt} (\\n \\r \\t \\\\ \\^ \\e)")
            out.append(_ESCAPES[nxt])
            i += 2
        elif (
            c == "^"
            and i + 1 < len(text)
            and (text[i + 1].isascii() and (text[i + 1].isalpha() or text[i + 1] in "@[\\]^_?"))
        ):
            nxt = text[i + 1].upper()
            out.append("\x7f" if nxt == "?" else chr(ord(nxt) & 0x1F))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_type_spec(text: str) -> TypeSpec:
    """``[SECONDS:]TEXT``; SECONDS only when what precedes the first colon is a number."""
    at = 0.0
    keys = text
    head, sep, rest = text.partition(":")
    if sep:
        try:
            at = parse_float(head.strip(), what="seconds")
        except NumberError:
            pass
        else:
            if not at >= 0:
                raise KeysError(f"{text!r}: SECONDS must be 0 or more")
            keys = rest
    decoded = decode_keys(keys)
    if not decoded:
        raise KeysError(f"{text!r}: nothing to type")
    return TypeSpec(at, decoded, text)

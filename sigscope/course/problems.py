"""What is wrong with a lesson file, said as ``file:line: message`` (the way compilers say it).

A teacher fixes a lesson from these lines alone, so each message names the key, the value,
and what would be right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Where a problem is inside the parsed TOML: keys and list indices, e.g. ("steps", 2, "expect").
KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One mistake in one lesson file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        # A file name may hold any byte but "/" and NUL, and a message quotes the file's text:
        # neither may reach the terminal as an escape sequence.
        return f"{_printable(self.file)}:{self.line}: {_printable(self.message)}"


def _printable(text: str) -> str:
    """Control characters shown as escapes (``\\x1b``), so that a line stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class LessonInvalid(Exception):
    """A lesson file was refused; ``problems`` lists every mistake found, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line))
        super().__init__("\n".join(str(p) for p in self.problems))


class SpecError(ValueError):
    """A value in a lesson makes no sense; ``path`` says where, relative to the value checked.

    The loader prefixes the path of the value it handed over and turns it into a line.
    """

    def __init__(self, message: str, path: KeyPath = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def within(self, *prefix: str | int) -> SpecError:
        return SpecError(self.message, tuple(prefix) + self.path)

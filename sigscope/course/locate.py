"""Find the line of a key in a TOML source, so that a problem can be reported as ``file:line``.

``tomllib`` gives a line only for syntax errors; once a file parses, the values carry no
positions. So this module scans the source text itself (strings, comments, brackets, table
headers) and maps a key path such as ``("steps", 2, "solution", 1, "send")`` to the line where
that value is written. When the exact value cannot be found (it is missing, say), it falls back
to the nearest enclosing key or table header: the line a teacher should look at.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from sigscope.course.problems import KeyPath

_KEY_PART = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)')


def _split_key(text: str) -> tuple[str, ...]:
    parts = []
    for m in _KEY_PART.finditer(text):
        parts.append(next(g for g in m.groups() if g is not None))
    return tuple(parts)


class _Text:
    """A cursor-free view of TOML source with the few skipping moves the locator needs."""

    def __init__(self, text: str) -> None:
        self.t = text
        self.n = len(text)
        self._newlines = [i for i, c in enumerate(text) if c == "\n"]

    def line_of(self, pos: int) -> int:
        return bisect.bisect_left(self._newlines, pos) + 1

    def string_end(self, pos: int) -> int:
        """Position just after the string that starts at ``pos``."""
        t = self.t
        for fence in ('"""', "'''"):
            if t.startswith(fence, pos):
                i = pos + 3
                while True:
                    j = t.find(fence, i)
                    if j < 0:
                        return self.n
                    if fence == '"""':
                        k, backslashes = j - 1, 0
                        while k >= pos + 3 and t[k] == "\\":
                            backslashes += 1
                            k -= 1
                        if backslashes % 2:
                            i = j + 1
                            continue
                    end = j + 3
                    while end < self.n and t[end] == fence[0] and end - j < 5:
                        end += 1
                    return end
        quote = t[pos]
        i = pos + 1
        while i < self.n:
            c = t[i]
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote or c == "\n":
                return i + 1
            i += 1
        return self.n

    def skip_blank(self, pos: int, newlines: bool = True) -> int:
        """Skip spaces, and (if ``newlines``) line ends and comments."""
        t = self.t
        while pos < self.n:
            c = t[pos]
            if c in " \t\r" or (newlines and c == "\n"):
                pos += 1
            elif c == "#" and newlines:
                end = t.find("\n", pos)
                pos = self.n if end < 0 else end
            else:
                break
        return pos

    def value_end(self, pos: int) -> int:
        """Position just after the value that starts at ``pos``."""
        t = self.t
        if pos >= self.n:
            return self.n
        c = t[pos]
        if c in "\"'":
            return self.string_end(pos)
        if c in "[{":
            depth = 0
            i = pos
            while i < self.n:
                c = t[i]
                if c in "\"'":
                    i = self.string_end(i)
                    continue
                if c == "#":
                    end = t.find("\n", i)
                    i = self.n if end < 0 else end
                    continue
                if c in "[{":
                    depth += 1
                elif c in "]}":
                    depth -= 1
                    if depth == 0:
                        return i + 1
                i += 1
            return self.n
        i = pos
        while i < self.n and t[i] not in ",]}\n#":
            i += 1
        return i

    def array_item(self, pos: int, index: int) -> int | None:
        """Where item ``index`` of the array at ``pos`` starts, or None."""
        if pos >= self.n or self.t[pos] != "[":
            return None
        i, k = pos + 1, 0
        while True:
            i = self.skip_blank(i)
            if i >= self.n or self.t[i] == "]":
                return None
            if k == index:
                return i
            i = self.skip_blank(self.value_end(i))
            if i >= self.n or self.t[i] != ",":
                return None
            i += 1
            k += 1

    def table_value(self, pos: int, key: str) -> int | None:
        """Where the value of ``key`` in the inline table at ``pos`` starts, or None."""
        if pos >= self.n or self.t[pos] != "{":
            return None
        i = pos + 1
        while True:
            i = self.skip_blank(i)
            if i >= self.n or self.t[i] == "}":
                return None
            eq = self._key_end(i)
            if eq is None:
                return None
            name = _split_key(self.t[i:eq])
            i = self.skip_blank(eq + 1, newlines=False)
            if name and name[0] == key:
                return i
            i = self.skip_blank(self.value_end(i))
            if i >= self.n or self.t[i] != ",":
                return None
            i += 1

    def _key_end(self, pos: int) -> int | None:
        """The position of the ``=`` after a key that starts at ``pos``."""
        i = pos
        while i < self.n:
            c = self.t[i]
            if c in "\"'":
                i = self.string_end(i)
                continue
            if c == "=":
                return i
            if c in "\n{}[],#":
                return None
            i += 1
        return None


@dataclass(frozen=True)
class _Entry:
    path: KeyPath
    line: int
    value_pos: int | None  # None for a table header


class Locator:
    """Maps key paths of a parsed TOML document back to lines of its source."""

    def __init__(self, text: str) -> None:
        self._text = _Text(text)
        self._entries: list[_Entry] = []
        self._scan()

    def _scan(self) -> None:
        src = self._text
        t = src.t
        arrays: dict[tuple[str, ...], int] = {}
        table: KeyPath = ()
        pos = 0
        while pos < src.n:
            pos = src.skip_blank(pos)
            if pos >= src.n:
                break
            if t[pos] == "[":
                double = t.startswith("[[", pos)
                end = t.find("\n", pos)
                end = src.n if end < 0 else end
                close = t.find("]", pos)
                name = _split_key(t[pos + (2 if double else 1) : close if close >= 0 else end])
                table = self._resolve(name, double, arrays)
                self._entries.append(_Entry(table, src.line_of(pos), None))
                pos = end
                continue
            eq = src._key_end(pos)
            if eq is None:  # not TOML; tomllib has refused it already, so just move on
                end = t.find("\n", pos)
                pos = src.n if end < 0 else end + 1
                continue
            key = _split_key(t[pos:eq])
            value = src.skip_blank(eq + 1, newlines=False)
            self._entries.append(_Entry(table + key, src.line_of(pos), value))
            pos = src.value_end(value)
            end = t.find("\n", pos)
            pos = src.n if end < 0 else end + 1

    @staticmethod
    def _resolve(
        name: tuple[str, ...], double: bool, arrays: dict[tuple[str, ...], int]
    ) -> KeyPath:
        resolved: list[str | int] = []
        for i, part in enumerate(name):
            resolved.append(part)
            prefix = name[: i + 1]
            if prefix in arrays and i < len(name) - 1:
                resolved.append(arrays[prefix])
        if double:
            arrays[name] = arrays.get(name, -1) + 1
            for other in [k for k in arrays if len(k) > len(name) and k[: len(name)] == name]:
                del arrays[other]
            resolved.append(arrays[name])
        return tuple(resolved)

    def line(self, path: KeyPath) -> int:
        """The line where the value at ``path`` is written (or the nearest enclosing one)."""
        best: _Entry | None = None
        for entry in self._entries:
            n = len(entry.path)
            if path[:n] != entry.path:
                continue
            if (
                best is None
                or n > len(best.path)
                or (n == len(best.path) and best.value_pos is None)
            ):
                best = entry
        if best is None:
            return 1
        if best.value_pos is None:
            return best.line
        pos: int | None = best.value_pos
        for part in path[len(best.path) :]:
            assert pos is not None
            found = (
                self._text.array_item(pos, part)
                if isinstance(part, int)
                else self._text.table_value(pos, part)
            )
            if found is None:
                break
            pos = found
        assert pos is not None
        return self._text.line_of(pos)

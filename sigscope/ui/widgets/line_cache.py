"""The strips a line-API widget drew: one per line, replaced when what the line shows changes.

A cache keyed by everything a line depends on (Textual's ``LRUCache`` with the row's version,
the width, the cursor in the key) keeps a strip for every version of a line ever drawn, until
it is full: in a storm the chart bumped one row's count a thousand times and its 1,024 entries
filled with stale strips of that row, and the event list kept 1,024 rows that had long
scrolled past. Each strip is about fifteen objects the garbage collector scans at every full
collection (a storm made several, each a frame late by tens of milliseconds), and Textual's
``Strip`` caches some of its own results in itself (``divide``, ``crop_extend``), so each one
dropped is a reference cycle that only a full collection frees.

:class:`LineCache` keys a strip by the line alone and keeps with it what the line showed; a
line drawn anew replaces its old strip, so the cache holds about the lines on screen and those
recently scrolled past, at most :attr:`maxsize`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from textual.strip import Strip


class LineCache:
    """At most ``maxsize`` lines, least recently drawn out first, one strip per line."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._lines: OrderedDict[Hashable, tuple[Hashable, Strip]] = OrderedDict()

    def get(self, line: Hashable, shows: Hashable) -> Strip | None:
        """The strip of ``line`` if it was drawn showing ``shows`` (else None)."""
        entry = self._lines.get(line)
        if entry is None or entry[0] != shows:
            return None
        self._lines.move_to_end(line)
        return entry[1]

    def put(self, line: Hashable, shows: Hashable, strip: Strip) -> None:
        """Remember ``strip`` as ``line`` showing ``shows`` (its older strip is dropped)."""
        self._lines[line] = (shows, strip)
        self._lines.move_to_end(line)
        while len(self._lines) > self.maxsize:
            self._lines.popitem(last=False)

    def grow(self, maxsize: int) -> None:
        """Hold at least ``maxsize`` lines (a taller widget shows more at once)."""
        self.maxsize = max(self.maxsize, maxsize)

    def clear(self) -> None:
        self._lines.clear()

    def __len__(self) -> int:
        return len(self._lines)

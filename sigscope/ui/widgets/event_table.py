"""The event log's table: a line-API scroll view, so a storm costs what the screen shows.

A ``DataTable`` measures and re-renders its rows as they are added (and forgets its cache when
old rows are dropped); under a storm of signals that took tens of milliseconds a frame. This
widget keeps the rows in a bounded deque and renders only the visible lines, each once (a
:class:`~sigscope.ui.widgets.line_cache.LineCache`: one strip per line of a row, by the row's
serial number). A row is as tall as its text needs at the
table's width (a sentence wraps, it is never cut): the owner says how many lines
(``row_height``, cheap: called for every new row) and what they are (``row_lines``, called
only for rows on screen).
"""

from __future__ import annotations

import collections
from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from sigscope.ui.widgets.frame_style import FrameStyled
from sigscope.ui.widgets.line_cache import LineCache
from sigscope.ui.widgets.virtual_size import grow

Event = dict[str, Any]
RowLines = Callable[[Event, int], list[Text]]
RowHeight = Callable[[Event, int], int]
CACHED_LINES = 256  # strips kept (at least twice the lines on screen)


class EventTable(FrameStyled, ScrollView, can_focus=True):
    """Rows of events, newest last; the cursor row is highlighted and its event announced.

    While the cursor is on the newest row, the table follows new rows (like ``tail -f``);
    moving the cursor up stops that, ``end`` resumes it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Newest", show=False),
    ]

    DEFAULT_CSS = """
    EventTable { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    EventTable > .event-table--cursor { background: $block-cursor-blurred-background; }
    EventTable:focus > .event-table--cursor {
        background: $block-cursor-background; text-style: bold;
    }
    """

    class Highlighted(Message):
        """The cursor is on another event (or on none: the table was emptied)."""

        def __init__(self, event: Event | None) -> None:
            super().__init__()
            self.event = event

    def __init__(
        self,
        row_lines: RowLines,
        row_height: RowHeight,
        max_rows: int,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.row_lines = row_lines
        self.row_height = row_height
        self.rows: collections.deque[Event] = collections.deque(maxlen=max_rows)
        self._heights: collections.deque[int] = collections.deque(maxlen=max_rows)
        self._starts: list[int] = []  # first line of each row (recomputed when rows change)
        self._total = 0
        self._dirty = True
        self._first = 0  # serial number of rows[0]; serials never repeat
        self._cursor: int | None = None  # serial of the highlighted row
        self._follow = True
        # Keyed by (row's serial, line of the row); each with what it showed (width, cursor).
        self._cache = LineCache(CACHED_LINES)

    # -- content ---------------------------------------------------------------------------
    def clear(self) -> None:
        self._first += len(self.rows)
        self.rows.clear()
        self._heights.clear()
        self._dirty = True
        self._cursor = None
        self._follow = True
        self._cache.clear()
        self.virtual_size = Size(0, 0)
        self.refresh()
        self.post_message(self.Highlighted(None))

    def extend(self, new: Iterable[Event]) -> None:
        """Add rows at the end; the oldest ones fall off beyond ``max_rows``."""
        before = len(self.rows)
        added = 0
        width = self._text_width()
        for event in new:
            self.rows.append(event)
            self._heights.append(self.row_height(event, width))
            added += 1
        if not added:
            return
        self._first += before + added - len(self.rows)
        self._dirty = True
        self._update_size()
        if self._follow:
            self._set_cursor(self._first + len(self.rows) - 1)
        elif self._cursor is not None and self._cursor < self._first:
            self._set_cursor(self._first)  # the row under the cursor fell off
        self.refresh()

    @property
    def cursor_event(self) -> Event | None:
        if self._cursor is None:
            return None
        index = self._cursor - self._first
        return self.rows[index] if 0 <= index < len(self.rows) else None

    @property
    def cursor_index(self) -> int | None:
        """The cursor's row, counted from the oldest row kept (None: no rows)."""
        return None if self._cursor is None else self._cursor - self._first

    def move_to(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped); following stops unless it is the last."""
        if not self.rows:
            return
        index = max(0, min(len(self.rows) - 1, index))
        self._follow = index == len(self.rows) - 1
        self._set_cursor(self._first + index)

    def _set_cursor(self, serial: int) -> None:
        if serial == self._cursor:
            return
        self._cursor = serial
        index = serial - self._first
        height = self.scrollable_content_region.height or 1
        self._layout()
        if 0 <= index < len(self._starts):
            top = self._starts[index]
            bottom = top + self._heights[index] - 1
            if top < self.scroll_y:
                self.scroll_to(y=top, animate=False, immediate=True, force=True)
            elif bottom >= self.scroll_y + height:
                self.scroll_to(y=bottom - height + 1, animate=False, immediate=True, force=True)
        self.refresh()
        self.post_message(self.Highlighted(self.cursor_event))

    # -- keys and mouse ----------------------------------------------------------------------
    def action_move(self, step: int) -> None:
        current = self.cursor_index
        self.move_to((len(self.rows) - 1 if current is None else current) + step)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.rows) - 1)

    def on_click(self, event: events.Click) -> None:
        index = self.row_at(int(self.scroll_y) + event.y)
        if index is not None:
            self.move_to(index)

    def on_resize(self) -> None:
        self._cache.clear()
        self._cache.grow(2 * self.size.height)
        width = self._text_width()
        self._heights = collections.deque(
            (self.row_height(event, width) for event in self.rows), maxlen=self.rows.maxlen
        )
        self._dirty = True
        self._update_size()
        if self._follow and self.rows:
            # Rows re-wrapped at the new width: the newest must still be in view.
            self.scroll_to(y=self._total, animate=False, immediate=True, force=True)

    # -- lines -------------------------------------------------------------------------------
    def _text_width(self) -> int:
        # The vertical scrollbar takes one column whenever the rows overflow.
        return max(10, (self.size.width or 80) - 1)

    def _layout(self) -> None:
        if not self._dirty:
            return
        starts, line = [], 0
        for height in self._heights:
            starts.append(line)
            line += height
        self._starts, self._total, self._dirty = starts, line, False

    def _update_size(self) -> None:
        self._layout()
        grow(self, Size(self.size.width, self._total))

    def row_at(self, line: int) -> int | None:
        """The row (counted from the oldest kept) drawn on virtual line ``line``."""
        self._layout()
        if not self._starts or not 0 <= line < self._total:
            return None
        return bisect_right(self._starts, line) - 1

    # -- rendering -------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.base_style
        line = int(self.scroll_y) + y
        index = self.row_at(line)
        if index is None:
            return Strip.blank(width, base)
        part = line - self._starts[index]
        serial = self._first + index
        selected = serial == self._cursor
        line_key, shows = (serial, part), (width, selected, base)
        strip = self._cache.get(line_key, shows)
        if strip is None:
            lines = self.row_lines(self.rows[index], self._text_width())
            text = lines[part].copy() if part < len(lines) else Text("")
            text.no_wrap = True
            # Pad first, then colour: the padding gets the table's background (and the
            # cursor's, so the whole selected line shows it), not the terminal's default.
            text.truncate(width, overflow="ellipsis", pad=True)
            text.stylize_before(base)
            if selected:
                text.stylize(self.get_component_rich_style("event-table--cursor", partial=True))
            strip = Strip(text.render(self.app.console), width)
            self._cache.put(line_key, shows, strip)
        return strip

    COMPONENT_CLASSES: ClassVar[set[str]] = {"event-table--cursor"}

    def on_focus(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()

"""The process tree: the lab's master, workers, their own children and adopted orphans.

Rows are keyed by pid, so the selection follows its process when rows move (a worker is
replaced, an orphan is adopted). A process that has just been reaped stays a few seconds,
dimmed, so that a student sees it go and its replacement come rather than a row that silently
changes its pid. States come from ``/proc`` (the sampler's scans): ``Z`` (zombie) and ``T``
(stopped) stand out, because they are what the lessons are about.

The widget is a line-API :class:`~textual.scroll_view.ScrollView`, as the event table is: a
row is drawn once for what it shows (:meth:`~sigscope.ui.models.tree.ProcessRow.shown`) and
kept as a strip, and a row whose text changed repaints its own line only.
A ``DataTable`` invalidated every cached line of the table at each ``update_cell``, and the
ages change every second. It looks like the ``DataTable`` it replaces: a fixed header, cells
padded by one column each side, the cursor row highlighted under the cells' own colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from sigscope.ui.models.tree import UNSCANNED, ProcessRow, format_age
from sigscope.ui.widgets.frame_style import FrameStyled

STATE_STYLES = {
    "R": ("running", "bold green"),
    "S": ("sleeping", ""),
    "D": ("disk sleep", "bold yellow"),
    "Z": ("zombie", "bold white on red"),
    "T": ("stopped", "bold black on yellow"),
    "t": ("traced", "bold black on yellow"),
    "X": ("dead", "dim"),
    "I": ("idle", ""),
}

COLUMNS = ("PID", "ROLE", "BEHAVIOUR", "S", "AGE", "SIGS", "LAST", "RATE")
TAG = "●"  # before the pid of a tagged process
RATE_WIDTH = 10  # seconds of received-signal rate drawn as a sparkline (signals/s)
# Columns whose text changes in place are fixed wide enough for their longest value (S becomes
# "reaped", LAST "SIGRTMIN+12", AGE "59m59s"), so a row's change never moves another's cells.
FIXED_WIDTHS = {"PID": 8, "S": 6, "AGE": 6, "SIGS": 4, "LAST": 11, "RATE": RATE_WIDTH}
PAD = 1  # blank columns each side of a cell
CELL_STRIPS = 4_096  # kept cell strips at most (a line is ~8 cells; 100 workers are ~800)
# The column that draws each field of ProcessRow.shown(), in its order.
FIELD_COLUMNS = ("PID", "ROLE", "ROLE", "BEHAVIOUR", "S", "AGE", "SIGS", "LAST", "RATE")
COLUMN_OF_FIELD = tuple(COLUMNS.index(c) for c in FIELD_COLUMNS)


BLOCKS = "▁▂▃▄▅▆▇█"


def rate_text(series: Sequence[float], width: int = 15, style: str = "green") -> Text:
    """A sparkline as Rich text (for a DataTable cell): the last ``width`` values, scaled to
    the largest; a flat dim line when all are zero."""
    values = list(series)[-width:]
    top = max(values, default=0.0)
    if top <= 0:
        return Text(BLOCKS[0] * len(values), style="dim")
    chars = [BLOCKS[min(len(BLOCKS) - 1, int(v / top * (len(BLOCKS) - 1) + 0.5))] for v in values]
    return Text("".join(chars), style=style)


def state_text(state: str) -> Text:
    if state in ("reaped", "gone", UNSCANNED):
        return Text(state, style="dim italic")
    _, style = STATE_STYLES.get(state, (state, ""))
    return Text(f" {state} ", style=style)


class TreeColumn:
    """A column of the tree: its heading and how wide its content is drawn."""

    __slots__ = ("label", "width", "fixed")

    def __init__(self, label: str, width: int, fixed: bool) -> None:
        self.label = label
        self.width = width
        self.fixed = fixed  # False: as wide as its widest cell (ROLE, BEHAVIOUR)

    def get_render_width(self, widget: Any = None) -> int:
        """Cells on screen, the padding on both sides included."""
        return self.width + 2 * PAD


class ProcessTree(FrameStyled, ScrollView, can_focus=True):
    """The lab's processes, one row each, keyed by pid; ``space`` tags a row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "move_to(0)", "First", show=False),
        Binding("end", "move_to(-1)", "Last", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"process-tree--header", "process-tree--cursor"}

    # The look of Textual's DataTable, which this widget replaced (the same theme variables).
    DEFAULT_CSS = """
    ProcessTree {
        height: 1fr;
        overflow-x: hidden;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .process-tree--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .process-tree--header { background-tint: $foreground 5%; }
        }
        & > .process-tree--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .process-tree--header { background: ansi_bright_blue; color: ansi_default; }
        & > .process-tree--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class Selected(Message):
        """The highlighted process changed (by keys, mouse, or because rows moved)."""

        def __init__(self, pid: int | None) -> None:
            super().__init__()
            self.pid = pid

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tagged: set[int] = set()
        self.gone_since: dict[int, float] = {}
        self.columns: dict[str, TreeColumn] = {
            label: TreeColumn(label, FIXED_WIDTHS.get(label, len(label)), label in FIXED_WIDTHS)
            for label in COLUMNS
        }
        self.cursor_row = 0
        self._rows: list[ProcessRow] = []
        self._selected: int | None = None
        self._widths = self._measure([])
        # pid -> (what its line was drawn from, the line): a row is drawn again only when that
        # changes (its value, its tag, the cursor, the widths, the width, the focus).
        self._strips: dict[int, tuple[tuple[Any, ...], Strip]] = {}
        self._header: tuple[tuple[Any, ...], Strip] | None = None
        # Each cell as drawn (its text, width and style): a line whose AGE changed is made of
        # the kept strips of its other cells and one new one (issue 14: the idle 1 Hz frame).
        self._cell_strips: dict[tuple[Any, ...], Strip] = {}
        self._placeholder = ""  # the one line shown while there is no row ("starting lab…")

    @property
    def selected_pid(self) -> int | None:
        """The process under the cursor now (a key that just moved the cursor counts, even
        before its highlight message has been handled)."""
        if 0 <= self.cursor_row < len(self._rows):
            return self._rows[self.cursor_row].pid
        return self._selected

    @property
    def rows_shown(self) -> list[ProcessRow]:
        return list(self._rows)

    def row_for(self, pid: int) -> ProcessRow | None:
        for r in self._rows:
            if r.pid == pid:
                return r
        return None

    @property
    def placeholder(self) -> str:
        return self._placeholder

    def set_placeholder(self, text: str) -> None:
        """The line shown under the header while the tree has no row ("starting lab…")."""
        if text != self._placeholder:
            self._placeholder = text
            if not self._rows:
                self.refresh_line(1)

    # -- content ---------------------------------------------------------------------------
    def show(self, rows: list[ProcessRow]) -> None:
        """Show these rows; keep the cursor on the same process if it is still there.

        Only rows whose text changed are drawn again, each on its own line; the whole table
        is redrawn only when processes come, go or move, or a column's width changes.
        """
        self.tagged &= {r.pid for r in rows if not r.gone}
        widths = self._measure(rows)
        if [r.pid for r in rows] == [r.pid for r in self._rows] and widths == self._widths:
            old, self._rows = self._rows, rows
            for i, (before, now) in enumerate(zip(old, rows, strict=True)):
                was, shown = before.shown(), now.shown()
                if was != shown:
                    self._refresh_cells(i + 1, was, shown)  # line 0 is the header
            return
        index = self._index_after_change(rows)
        self._rows = rows
        if widths != self._widths:
            self._widths = widths
            for label, width in zip(COLUMNS, widths, strict=True):
                self.columns[label].width = width
        pids = {r.pid for r in rows}
        self._strips = {pid: drawn for pid, drawn in self._strips.items() if pid in pids}
        self.virtual_size = Size(sum(w + 2 * PAD for w in widths), len(rows) + 1)
        self.refresh()
        self.move_cursor(row=index, scroll=True)
        self._set_selected(rows[index].pid if rows else None)

    def _refresh_cells(self, line: int, was: tuple[object, ...], shown: tuple[object, ...]) -> None:
        """Ask for the cells of ``line`` that changed to be drawn again, not the whole line: a
        frame draws every widget under the region asked for, and the age of every row changes
        each second (a whole line would reach across to the panels beside the tree)."""
        pairs = enumerate(zip(was, shown, strict=True))
        changed = {COLUMN_OF_FIELD[i] for i, (a, b) in pairs if a != b}
        if COLUMNS.index("S") in changed:  # a process gone dims its whole line
            self.refresh_line(line)
            return
        scroll_x, scroll_y = self.scroll_offset
        x = 0
        for column, width in enumerate(self._widths):
            span = width + 2 * PAD
            if column in changed:
                self.refresh(Region(x - scroll_x, line - scroll_y, span, 1))
            x += span

    @staticmethod
    def _measure(rows: Sequence[ProcessRow]) -> tuple[int, ...]:
        """Each column's content width: fixed, or the widest of its heading and cells."""
        role = max((2 * r.depth + len(r.role) for r in rows), default=0)
        behaviour = max((len(r.behaviour) for r in rows), default=0)
        auto = {"ROLE": max(len("ROLE"), role), "BEHAVIOUR": max(len("BEHAVIOUR"), behaviour)}
        return tuple(FIXED_WIDTHS.get(label) or auto[label] for label in COLUMNS)

    def _index_after_change(self, rows: list[ProcessRow]) -> int:
        pids = [r.pid for r in rows]
        # The row under the cursor now, not the last `Selected` pid: a key press may have moved
        # the cursor while its highlight message is still in the queue.
        if self.selected_pid in pids:
            return pids.index(self.selected_pid)
        # The selected process left: stay at the same height in the list.
        return max(0, min(self.cursor_row, len(rows) - 1))

    def _cells(self, r: ProcessRow) -> list[Text]:
        dim = "dim" if r.gone else ""
        return [
            self._pid_cell(r),
            Text(("  " * r.depth) + r.role, style=dim or "bold" * (r.depth == 0)),
            Text(r.behaviour, style=dim),
            state_text(r.state),
            Text(format_age(r.age), style=dim),
            Text(str(r.received), style=dim),
            Text(r.last_signal or "", style=dim or "cyan"),
            rate_text(r.rate, RATE_WIDTH) if r.rate else Text(""),
        ]

    def _pid_cell(self, r: ProcessRow) -> Text:
        mark = (TAG, "bold magenta") if r.pid in self.tagged else " "
        return Text.assemble(mark, (str(r.pid), "dim" if r.gone else ""))

    def toggle_tag(self) -> int | None:
        """Tag or untag the selected process; return its pid (None if nothing to tag)."""
        pid = self.selected_pid
        row = self.row_for(pid) if pid is not None else None
        if pid is None or row is None or row.gone:
            return None
        self.tagged ^= {pid}
        self.refresh_line(self.cursor_row + 1)
        return pid

    # -- the cursor ------------------------------------------------------------------------
    def select_pid(self, pid: int) -> bool:
        pids = [r.pid for r in self._rows]
        if pid not in pids:
            return False
        self.move_cursor(row=pids.index(pid))
        self._set_selected(pid)
        return True

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped to the rows there are)."""
        row = max(0, min(row, len(self._rows) - 1))
        if row != self.cursor_row:
            self.refresh_line(self.cursor_row + 1)
            self.refresh_line(row + 1)
            self.cursor_row = row
        if scroll:
            self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        rows_on_screen = max(1, self.scrollable_content_region.height - 1)  # under the header
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True, force=True)
        elif self.cursor_row >= top + rows_on_screen:
            y = self.cursor_row - rows_on_screen + 1
            self.scroll_to(y=y, animate=False, immediate=True, force=True)

    def _set_selected(self, pid: int | None) -> None:
        if pid != self._selected:
            self._selected = pid
            self.post_message(self.Selected(pid))

    def _cursor_to(self, row: int) -> None:
        if not self._rows:
            return
        self.move_cursor(row=row)
        self._set_selected(self._rows[self.cursor_row].pid)

    def action_move(self, step: int) -> None:
        self._cursor_to(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self._cursor_to(self.cursor_row + direction * max(1, self.size.height - 1))

    def action_move_to(self, row: int) -> None:
        self._cursor_to(len(self._rows) - 1 if row < 0 else row)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return  # the border or the header
        row = int(self.scroll_y) + offset.y - 1
        if row < len(self._rows):
            self._cursor_to(row)

    def on_focus(self) -> None:
        self.refresh()  # the cursor's colours follow the focus (part of each line's key)

    def notify_style_update(self) -> None:
        # Its CSS changed (a class, a theme's variables): every kept line has the old colours.
        super().notify_style_update()
        self._strips.clear()
        self._cell_strips.clear()
        self._header = None

    def on_blur(self) -> None:
        self.refresh()

    # -- rendering -------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        focus = self.has_focus
        theme = self.app.theme  # a theme's colours may come from the screen's (no update here)
        if y == 0:
            key: tuple[Any, ...] = (self._widths, width, focus, theme)
            if self._header is None or self._header[0] != key:
                style = self.get_component_rich_style("process-tree--header")
                cells = [Text(label) for label in COLUMNS]
                self._header = key, self._strip(cells, style, width)
            return self._header[1]
        index = int(self.scroll_y) + y - 1
        if not 0 <= index < len(self._rows):
            if index == 0 and self._placeholder:
                line = Text(" " * PAD + self._placeholder, style="dim italic", end="")
                line.truncate(width, pad=True)
                line.stylize_before(self.base_style)
                return Strip(line.render(self.app.console), width)
            return Strip.blank(width, self.base_style)
        row = self._rows[index]
        selected = index == self.cursor_row
        key = (row.shown(), row.pid in self.tagged, self._widths, width, selected, focus, theme)
        drawn = self._strips.get(row.pid)
        if drawn is None or drawn[0] != key:
            style = self.base_style
            if selected:
                style += self.get_component_rich_style("process-tree--cursor")
            drawn = key, self._strip(self._cells(row), style, width)
            self._strips[row.pid] = drawn
        return drawn[1]

    def _strip(self, cells: list[Text], style: Style, width: int) -> Strip:
        """One line of cells, each padded to its column; ``style`` under the cells' own (so a
        cell's colour shows on the cursor's background, as a DataTable's renderable-first).
        Each cell's strip is kept: an idle second changes one cell of a line (its AGE)."""
        kept = self._cell_strips
        if len(kept) > CELL_STRIPS:
            kept.clear()  # bounded: cells of rows long gone, ages long past
        parts = []
        for column, (cell, column_width) in enumerate(zip(cells, self._widths, strict=True)):
            key = (column, cell.plain, tuple(cell.spans), cell.style, column_width, style)
            part = kept.get(key)
            if part is None:
                part = kept[key] = self._cell_strip(cell, column_width, style)
            parts.append(part)
        return Strip.join(parts).crop_extend(0, width, style)

    def _cell_strip(self, cell: Text, column_width: int, style: Style) -> Strip:
        text = Text(no_wrap=True, end="")
        cell = cell.copy()
        cell.truncate(column_width, overflow="ellipsis")
        text.append(" " * PAD)
        text.append_text(cell)  # padded after: a cell's colours end with its text
        text.append(" " * (column_width - cell.cell_len + PAD))
        text.stylize_before(style)
        return Strip(text.render(self.app.console), column_width + 2 * PAD)

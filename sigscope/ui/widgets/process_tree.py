"""The process tree: the lab's master, workers, their own children and adopted orphans.

Rows are keyed by pid, so the selection follows its process when rows move (a worker is
replaced, an orphan is adopted). A process that has just been reaped stays a few seconds,
dimmed, so that a student sees it go and its replacement come rather than a row that silently
changes its pid. States come from ``/proc`` (the observer's snapshot when there is one):
``Z`` (zombie) and ``T`` (stopped) stand out, because they are what the lessons are about.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from sigscope.ui.models.tree import UNSCANNED, ProcessRow, format_age

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
FIXED_WIDTHS = {"PID": 8, "S": 6, "AGE": 6, "SIGS": 4, "LAST": 11, "RATE": RATE_WIDTH}


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


class ProcessTree(DataTable[Text]):
    """The lab's processes, one row each, keyed by pid; ``space`` tags a row."""

    DEFAULT_CSS = """
    ProcessTree { height: 1fr; overflow-x: hidden; }
    """

    class Selected(Message):
        """The highlighted process changed (by keys, mouse, or because rows moved)."""

        def __init__(self, pid: int | None) -> None:
            super().__init__()
            self.pid = pid

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            cursor_type="row",
            zebra_stripes=False,
            cursor_foreground_priority="renderable",
        )
        self.tagged: set[int] = set()
        self.gone_since: dict[int, float] = {}
        self._rows: list[ProcessRow] = []
        self._shown_cells: dict[int, list[Text]] = {}
        self._selected: int | None = None

    def on_mount(self) -> None:
        for label in COLUMNS:
            # Columns whose text changes in place are fixed wide enough for their longest
            # value: update_cell does not widen a column (S becomes "reaped", LAST
            # "SIGRTMIN+12", AGE "59m59s").
            self.add_column(label, key=label, width=FIXED_WIDTHS.get(label))

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

    def show(self, rows: list[ProcessRow]) -> None:
        """Show these rows; keep the cursor on the same process if it is still there.

        Only cells whose text changed are updated: each update repaints the table, and the
        tree is refreshed several times a second.
        """
        self.tagged &= {r.pid for r in rows if not r.gone}
        cells = {r.pid: self._cells(r) for r in rows}
        if [r.pid for r in rows] == [r.pid for r in self._rows]:
            for r in rows:
                before = self._shown_cells.get(r.pid, [])
                for i, (key, cell) in enumerate(zip(COLUMNS, cells[r.pid], strict=True)):
                    if i >= len(before) or before[i] != cell:
                        self.update_cell(str(r.pid), key, cell)
            self._rows = rows
            self._shown_cells = cells
            return
        index = self._index_after_change(rows)
        self._rows = rows
        self._shown_cells = cells
        self.clear()
        for r in rows:
            self.add_row(*cells[r.pid], key=str(r.pid))
        if rows:
            self.move_cursor(row=index, scroll=True)
        self._set_selected(rows[index].pid if rows else None)

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

    def _refresh_tags(self) -> None:
        for r in self._rows:
            cell = self._pid_cell(r)
            shown = self._shown_cells.get(r.pid)
            if shown is not None and shown[0] != cell:
                shown[0] = cell
                self.update_cell(str(r.pid), "PID", cell)

    def toggle_tag(self) -> int | None:
        """Tag or untag the selected process; return its pid (None if nothing to tag)."""
        pid = self.selected_pid
        row = self.row_for(pid) if pid is not None else None
        if pid is None or row is None or row.gone:
            return None
        self.tagged ^= {pid}
        self._refresh_tags()
        return pid

    def select_pid(self, pid: int) -> bool:
        pids = [r.pid for r in self._rows]
        if pid not in pids:
            return False
        self.move_cursor(row=pids.index(pid))
        self._set_selected(pid)
        return True

    def _set_selected(self, pid: int | None) -> None:
        if pid != self._selected:
            self._selected = pid
            self.post_message(self.Selected(pid))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        # Read the row under the cursor now: a highlight posted while rows were being rebuilt
        # may name a row that has moved since.
        if 0 <= self.cursor_row < len(self._rows):
            self._set_selected(self._rows[self.cursor_row].pid)

"""The signal sequence chart: one lane per process, time flowing down, one arrow per signal.

A student reads it like a UML sequence diagram: who sent which signal to whom, how long the
receiver took to run its handler, and what happened to the lanes (forks, exits, reaps,
zombies). The order of the rows is a claim like any sentence in a lesson, so the model
(:mod:`sigscope.observe.sequence`, no Textual) puts events through a short reorder window and
keeps rows sorted by their time stamps; each process has its own lane, which ends at its reap.

- **aggregation**: consecutive arrows with the same signal between the same two lanes, each
  within :data:`STORM_WINDOW_NS` of the previous one, merge into one row with a count
  (``SIGUSR1 ×1000``), so a storm is one row, not a thousand;
- **bounded storage**: rows live in a deque of at most ``max_rows``; the sends still waiting
  for their handler are bounded too, so memory stays flat however long the lab runs;
- **lanes never fall off the side**: when the lanes do not fit, the lanes of processes that
  have ended fold into one ``+N`` column (named in the header), and if the live ones still do
  not fit the chart scrolls sideways, with a ``→`` in the header saying so.

The chart is a line-API widget (:class:`~textual.scroll_view.ScrollView` + ``render_line``):
only the visible rows are rendered, each once per change (an LRU cache of strips).
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from sigscope.observe.sequence import (
    MAX_PID_LANES,
    MAX_ROWS,
    MERGE_LOOKBACK,
    PENDING_KEYS,
    PENDING_MAX_AGE_NS,
    PENDING_PER_KEY,
    REORDER_WINDOW_NS,
    STORM_WINDOW_NS,
    ChartRow,
    Event,
    Lane,
    SequenceModel,
    format_ms,
)
from sigscope.signames import SignalError, parse_signal
from sigscope.ui.widgets.frame_style import FrameStyled
from sigscope.ui.widgets.line_cache import LineCache
from sigscope.ui.widgets.virtual_size import grow

__all__ = [
    "MAX_PID_LANES",
    "MAX_ROWS",
    "MERGE_LOOKBACK",
    "PENDING_KEYS",
    "PENDING_MAX_AGE_NS",
    "PENDING_PER_KEY",
    "REORDER_WINDOW_NS",
    "STORM_WINDOW_NS",
    "ChartRow",
    "Lane",
    "SequenceChart",
    "SequenceModel",
    "format_ms",
]

PAUSE_BUFFER = 100_000
HEADER_LINES = 2
GUTTER = 10  # "  12.345s " : seconds since the first event
LABEL_WIDTH = 44  # the label column's least width: a whole caption (longer ones end in "…")
MIN_LANE_WIDTH = 5
MAX_LANE_WIDTH = 10
NARROW_LANE_WIDTH = 4  # in a narrow panel: room for "you", "w12", "ker"
MAX_LABEL_LINES = 4  # a label wraps onto this many lines at most (then it ends in "…")
CACHED_LINES = 256  # strips kept (at least twice the lines on screen)

SENDER_STYLE = {"you": "bold cyan", "master": "bold yellow", "kernel": "bold magenta"}


class Columns:
    """Which lane is drawn in which column at the current width, and how wide a column is.

    ``folded`` lanes (ended processes, when the lanes do not fit) share the last column.
    """

    __slots__ = ("lanes", "index", "folded", "width", "lines", "overflow", "gutter")

    def __init__(
        self, lanes: list[Lane | None], folded: list[Lane], width: int, lines: int, overflow: bool
    ) -> None:
        self.lanes = lanes  # None: the "+N" column
        self.folded = folded
        self.width = width
        self.lines = lines
        self.overflow = overflow  # wider than the widget: it scrolls sideways
        # One line a row: the time stamp in a gutter on the left. Two lines: the time stamp
        # starts the label line, so the lanes get the whole width.
        self.gutter = GUTTER if lines == 1 else 0
        self.index: dict[str, int] = {}
        for i, lane in enumerate(lanes):
            if lane is not None:
                self.index[lane.key] = i
        for lane in folded:
            self.index[lane.key] = len(lanes) - 1

    def centre(self, key: str) -> int:
        return self.gutter + self.index.get(key, 0) * self.width + self.width // 2

    @property
    def span(self) -> int:
        """Cells the lanes need: the last lane ends at its line (no padding after it)."""
        n = len(self.lanes)
        return self.gutter + (n - 1) * self.width + self.width // 2 + 1


def _narrow_fits(n: int, w: int, width: int) -> bool:
    return (n - 1) * w + w // 2 + 1 <= width


class SequenceChart(FrameStyled, ScrollView, can_focus=True):
    """A live sequence chart of the lab's signals.

    Public API (call on the app's thread; the lab calls its subscribers on its reader thread,
    so hand events over with ``post_message`` first):

    - ``add_event(event)`` / ``add_events(events)``: events of the lab's stream
      (``sigscope.events`` contract), in arrival order: they are drawn in time order after
      the reorder window (:data:`REORDER_WINDOW_NS`); a send sigscope has just made is
      usually drawn in the next frame (``SequenceModel.hold`` says when it does not wait);
      ``flush()`` draws the held ones now.
    - ``update_snapshot(snapshot)``: a ``sigscope.observe.sampler.Snapshot``; it tells which
      sends can no longer be matched (their signal is not pending any more).
    - ``show_pid(pid)``: highlight the lane of the selected process (``None``: no selection).
    - ``clear()``: forget everything (a restarted lab).

    Keys: ``p`` pauses (events are held, up to :data:`PAUSE_BUFFER`, and drawn on resume),
    ``end`` follows the newest row again; arrows and page keys scroll (sideways too, when the
    lanes are wider than the panel).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause chart"),
        Binding("end", "follow", "Follow", show=False),
    ]

    DEFAULT_CSS = """
    SequenceChart {
        height: 1fr;
        background: $surface;
        border: round $primary 40%;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 1;
    }
    SequenceChart:focus {
        border: round $primary;
    }
    """

    paused: reactive[bool] = reactive(False)
    """When True, new events are held and the picture stands still."""

    def __init__(
        self,
        max_rows: int = MAX_ROWS,
        clock: Callable[[], int] = time.monotonic_ns,
        *,
        window_ns: int = REORDER_WINDOW_NS,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.model = SequenceModel(max_rows, window_ns)
        self._clock = clock
        self._held: deque[Event] = deque(maxlen=PAUSE_BUFFER)
        self._held_lost = 0
        self._selected: int | None = None
        self._follow = True  # show the newest rows as they come (until the person scrolls up)
        self._syncing = False
        self._release_timer: Timer | None = None
        self._columns: Columns | None = None
        self._columns_key: tuple[int, int, int] | None = None
        # Rows have as many lines as their label needs (it wraps, never cut): where each row
        # starts, recomputed when rows change (``_relayout``).
        self._starts: list[int] = []
        self._total_lines = 0
        self._lines_key: tuple[int, int, int] = (-1, -1, -1)
        self._wrapped: dict[tuple[int, int, int, int], list[Text]] = {}
        self._regrow = False
        # Keyed by (row, line of the row); each with what it showed (version, width, selection).
        self._cache = LineCache(CACHED_LINES)
        self._drawn: dict[int, int] = {}  # row uid -> the version of it last drawn
        self.awaits_scans = False
        """Whether a send waits for its handler (then each sampler scan matters: a send whose
        signal is no longer pending is let go). Set on the app's thread, read on any."""
        self.draw_delays: deque[int] | None = None
        """Set to a deque to measure: nanoseconds from each new arrow's (or storm signal's)
        ``t`` to the frame that drew it. None (the default) measures nothing."""
        self.border_title = "Signals"
        self.border_subtitle = "p pause"

    # -- public API --------------------------------------------------------------------------
    def add_event(self, event: Event) -> None:
        """Add one event of the lab's stream to the chart (or hold it while paused)."""
        self.add_events([event])

    def add_events(self, events: list[Event]) -> None:
        """Add a batch of events (one layout update for all of them)."""
        if self.paused:
            for event in events:
                if len(self._held) == self._held.maxlen:
                    self._held_lost += 1
                self._held.append(event)
            self._show_paused()
            return
        now = self._clock()
        since = self._model_state()  # hold applies a send of sigscope's own at once
        for event in events:
            self.model.hold(event, now)
        self._release(now, since=since)

    def flush(self) -> None:
        """Draw every event still in the reorder window now (the end of a recording)."""
        self._release(self._clock(), everything=True)

    def update_snapshot(self, snapshot: Any) -> None:
        """Use a sampler snapshot: sends of signals no longer pending are not waited for."""
        t = getattr(snapshot, "t", None)
        if t is None:
            return
        keys = self.model.pending_keys()
        self.awaits_scans = bool(keys)
        if not keys:
            return
        for pid in {pid for _, pid in keys}:
            view = snapshot.by_pid(pid)
            if view is None:
                continue
            masks = view.masks
            pending = set(masks.pending) | set(masks.shared_pending)
            blocked = set(masks.blocked)
            gone = frozenset(
                sig
                for sig, p in keys
                if p == pid and _signum(sig) not in pending and _signum(sig) not in blocked
            )
            # One second of margin: the handler may have run while its event is still in
            # the pipe; that event must still find its send.
            self.model.forget_unmatched(pid, gone, t - 1_000_000_000)

    def show_pid(self, pid: int | None) -> None:
        """Highlight the lane of ``pid`` (the process selected elsewhere), or none."""
        if pid != self._selected:
            self._selected = pid
            self.refresh()

    def clear(self) -> None:
        """Forget every row and lane: a new lab starts on a clean chart."""
        self.model = SequenceModel(self.model.rows.maxlen or MAX_ROWS, self.model.window_ns)
        self._held.clear()
        self._cache.clear()
        self._drawn.clear()
        self._columns = None
        self.virtual_size = Size(0, 0)
        self.refresh()

    @property
    def rows(self) -> list[ChartRow]:
        """The rows kept (oldest first)."""
        return list(self.model.rows)

    def row_texts(self) -> list[str]:
        """Each row as plain text, as drawn at the current width (for tests and exports)."""
        return [self._row_text(row).plain.rstrip() for row in self.model.rows]

    # -- actions ---------------------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        self.paused = not self.paused

    def action_follow(self) -> None:
        self._follow = True
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def watch_paused(self, paused: bool) -> None:
        if paused:
            self._show_paused()
            return
        held = list(self._held)
        self._held.clear()
        lost, self._held_lost = self._held_lost, 0
        self.border_subtitle = "p pause"
        if lost:
            t = int(held[0].get("t", 0)) if held else self._clock()
            text = f"{lost} events not drawn (held while paused)"
            self.model.mark(t, "kernel", "…", text, "dim")
        self.add_events(held)
        self.flush()  # they waited long enough: nothing older is still on its way

    def _show_paused(self) -> None:
        self.border_subtitle = f"⏸ paused · {len(self._held) + self._held_lost} new · p resume"

    # -- the reorder window ------------------------------------------------------------------
    def _model_state(self) -> tuple[int, int, int]:
        """What tells the model changed: rows kept, layout version, changes."""
        return len(self.model.rows), self.model.layout_version, self.model.changes

    def _release(
        self, now: int, everything: bool = False, since: tuple[int, int, int] | None = None
    ) -> None:
        """Apply what has left the window and redraw if the model changed since ``since``
        (default: now, before releasing)."""
        follow = self._follow
        before, layout, changes = since or self._model_state()
        self.model.release(now, everything)
        if changes == self.model.changes and layout == self.model.layout_version:
            # Nothing left the window, or only kinds the chart does not draw (a periodic
            # status): nothing to draw, so no refresh.
            self._arm_release_timer()
            return
        evicted = self.model.take_evicted()
        same_rows = len(self.model.rows) == before and layout == self.model.layout_version
        if same_rows and not evicted and self._refresh_changed_rows():
            self._arm_release_timer()
            return
        if len(self.model.rows) != before or evicted or layout != self.model.layout_version:
            self._update_virtual_size()
            self._syncing = True
            try:
                if follow:
                    self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
                elif evicted:
                    # Keep the rows the person is reading in place as old ones fall off.
                    y = max(0, self.scroll_y - evicted * self._geometry().lines)  # about
                    self.scroll_to(y=y, animate=False, immediate=True, force=True)
            finally:
                self._syncing = False
        self.refresh()
        self._arm_release_timer()

    def _refresh_changed_rows(self) -> bool:
        """Redraw only the rows on screen whose version is not the one drawn (a storm's count,
        a handler's latency), if the rows keep their lines; False if they do not (then the
        whole chart is redrawn). A whole redraw restyled every line of the panel, ~2.5 ms a
        frame under a storm, for the one row whose count moved."""
        self._relayout()
        if self._total_lines + HEADER_LINES != self.virtual_size.height or not self._starts:
            return False  # a label grew or shrank a line: the rows below move
        top = int(self.scroll_y)
        bottom = top + max(0, self.scrollable_content_region.height - HEADER_LINES)
        rows, starts, drawn = self.model.rows, self._starts, self._drawn
        index = max(0, bisect_right(starts, top) - 1)
        while index < len(rows) and starts[index] < bottom:
            row = rows[index]
            if drawn.get(row.uid) != row.version:
                end = starts[index + 1] if index + 1 < len(starts) else self._total_lines
                self.refresh_lines(starts[index] + HEADER_LINES, end - starts[index])
            index += 1
        return True

    def _arm_release_timer(self) -> None:
        self.awaits_scans = bool(self.model.pending_keys())
        wait = self.model.next_release(self._clock())
        if wait is not None and self._release_timer is None:
            # Wake when the oldest held event has waited the window (plus a millisecond, so
            # that the clock has surely passed it).
            self._release_timer = self.set_timer(wait / 1e9 + 0.001, self._release_due)

    def _release_due(self) -> None:
        self._release_timer = None
        self._release(self._clock())

    # -- layout ----------------------------------------------------------------------------
    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._syncing:
            # The person scrolled: follow new rows only while at (or next to) the end. One
            # row of slack, as a horizontal scrollbar appearing adds one to max_scroll_y.
            self._follow = new_value >= self.max_scroll_y - 1

    def _geometry(self) -> Columns:
        """Columns for the current width. Wide enough: one line a row, lanes then the label.
        Narrow (a dashboard panel): two lines, the arrow, then the label under it, so signal
        names stay readable without scrolling sideways. Lanes that do not fit: ended ones fold
        into one column; live ones that still do not fit scroll sideways."""
        width = (self.size.width or 80) - 1  # the vertical scrollbar
        key = (self.model.layout_version, width, len(self.model.lanes))
        if self._columns is not None and self._columns_key == key:
            return self._columns
        lanes: list[Lane | None] = list(self.model.lanes)
        folded: list[Lane] = []
        ended = sorted(
            (la for la in self.model.lanes if la.end_t is not None), key=lambda la: la.end_t or 0
        )
        while True:
            n = len(lanes)
            room = width - GUTTER - 1 - LABEL_WIDTH
            if room >= n * MIN_LANE_WIDTH:
                columns = Columns(lanes, folded, min(MAX_LANE_WIDTH, room // n), 1, False)
                break
            w = MAX_LANE_WIDTH
            while w > NARROW_LANE_WIDTH and not _narrow_fits(n, w, width):
                w -= 1
            fits = _narrow_fits(n, w, width)
            if fits or not ended:
                columns = Columns(lanes, folded, w, 2, not fits)
                break
            # Fold the lane that ended first (its rows are the oldest) into the "+N" column.
            lane = ended.pop(0)
            folded.append(lane)
            lanes = [la for la in lanes if la is not lane and la is not None] + [None]
        self._columns, self._columns_key = columns, key
        return columns

    def _update_virtual_size(self) -> None:
        g = self._geometry()
        width = g.span if g.lines == 2 else g.gutter + len(g.lanes) * g.width + 1 + LABEL_WIDTH
        self._relayout()
        grow(self, Size(width, self._total_lines + HEADER_LINES))

    def _grown(self) -> None:
        self._regrow = False
        self._update_virtual_size()
        if self._follow:
            self._syncing = True
            try:
                self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
            finally:
                self._syncing = False

    def _relayout(self) -> None:
        """Where each row starts (rows are as tall as their wrapped label)."""
        width = self.size.width
        key = (self.model.changes, self.model.layout_version, width)
        if key == self._lines_key and len(self._starts) == len(self.model.rows):
            return
        self._lines_key = key
        if len(self._wrapped) > 4 * len(self.model.rows) + 64:
            self._wrapped.clear()
        g = self._geometry()
        starts, line = [], 0
        for row in self.model.rows:
            starts.append(line)
            line += len(self._label_lines(row)) + (1 if g.lines == 2 else 0)
        self._starts, self._total_lines = starts, line

    def _label_room(self, row: ChartRow) -> int:
        g = self._geometry()
        width = (self.size.width or 80) - 1  # the vertical scrollbar
        if g.lines == 1:  # after the lanes' cells (the last lane's padding included)
            return max(LABEL_WIDTH, width - g.gutter - len(g.lanes) * g.width - 1)
        return max(8, width - len(self._stamp(row)) - 1)

    def _label_lines(self, row: ChartRow) -> list[Text]:
        """The row's label wrapped at word boundaries to its room (at most
        :data:`MAX_LABEL_LINES` lines; only a longer one ends in "…")."""
        key = (row.uid, row.version, self.model.layout_version, self.size.width)
        lines = self._wrapped.get(key)
        if lines is None:
            room = self._label_room(row)
            label = self._label(row)
            if label.cell_len <= room:
                lines = [label]
            else:
                lines = list(label.wrap(self.app.console, room, overflow="fold", no_wrap=False))
                if len(lines) > MAX_LABEL_LINES:
                    lines = lines[:MAX_LABEL_LINES]
                    lines[-1].truncate(room - 1)
                    lines[-1].append("…")
                for line in lines:
                    line.rstrip()
                    line.end = ""
            self._wrapped[key] = lines
        return lines

    def on_resize(self) -> None:
        self._cache.clear()
        self._cache.grow(2 * self.size.height)
        self._columns = None
        self._update_virtual_size()
        if self._follow:
            self._grown()  # rows re-wrapped at the new width: keep the newest in view

    # -- rendering -------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.base_style
        if y < HEADER_LINES:
            strip = self._strip(self._header_text(y))
        else:
            g = self._geometry()
            self._relayout()
            if self._total_lines + HEADER_LINES != self.virtual_size.height and not self._regrow:
                # A row's label grew a line (a storm's count, a latency): the scroll range
                # follows after this frame (not while rendering it).
                self._regrow = True
                self.call_later(self._grown)
            line = scroll_y + y - HEADER_LINES
            if line >= self._total_lines or not self._starts:
                return Strip.blank(width, base)
            index = bisect_right(self._starts, line) - 1
            part = line - self._starts[index]
            row = self.model.rows[index]
            line_key = (row.uid, part)
            shows = (row.version, self.model.layout_version, width, self._selected, base)
            cached = self._cache.get(line_key, shows)
            if cached is None:
                labels = self._label_lines(row)
                if g.lines == 1:
                    text = self._row_lanes(row) if part == 0 else self._row_lanes(row, blank=True)
                    text.append(" ")
                    if part < len(labels):
                        text.append_text(labels[part].copy())
                elif part == 0:
                    text = self._row_lanes(row)
                else:
                    text = self._row_label_line(row, labels, part - 1)
                cached = self._strip(text)
                self._cache.put(line_key, shows, cached)
            if len(self._drawn) > 4 * (self.size.height + 16):
                self._drawn.clear()  # rows long scrolled past (the worst: one redraw too many)
            self._drawn[row.uid] = row.version
            if row.undrawn:
                if self.draw_delays is not None:
                    now = self._clock()
                    self.draw_delays.extend(now - t for t in row.undrawn)
                row.undrawn.clear()
            strip = cached
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _strip(self, text: Text) -> Strip:
        # Text.render ignores the base style of a Text without spans: give every row the
        # widget's colours as its first span, under the others.
        text.stylize_before(self.base_style)
        return Strip(text.render(self.app.console), text.cell_len)

    def _canvas(self, t: int | None) -> tuple[list[str], list[tuple[int, int, str]]]:
        """A blank row at time ``t``: the gutter and the line of each lane alive then (a
        lane starts at its fork and ends at its reap). ``None``: every lane (the header)."""
        g = self._geometry()
        cells = [" "] * (g.gutter + len(g.lanes) * g.width)
        spans: list[tuple[int, int, str]] = []
        sel = self._selected_lane()
        for i, lane in enumerate(g.lanes):
            c = g.gutter + i * g.width + g.width // 2
            if lane is None:
                cells[c] = "┆"  # the folded lanes of ended processes
                spans.append((c, c + 1, "bright_black"))
            elif t is None or lane.alive_at(t):
                cells[c] = "│"
                spans.append((c, c + 1, "bold" if lane.key == sel else "bright_black"))
        return cells, spans

    def _text(self, cells: list[str], spans: list[tuple[int, int, str]], start: int = 0) -> Text:
        text = Text("".join(cells[start:]), style=self.base_style, no_wrap=True, end="")
        for a, b, style in spans:
            if b > start:
                text.stylize(style, max(0, a - start), b - start)
        return text

    def _selected_lane(self) -> str | None:
        if self._selected is None:
            return None
        key = self.model._pid_lane.get(self._selected)
        if key is None:
            return None
        lane = self.model.lane(key)
        return key if lane is not None and lane.pid == self._selected else None

    def _row_lanes(self, row: ChartRow, blank: bool = False) -> Text:
        """The time stamp and the lanes, with the row's arrow or mark drawn across them
        (``blank``: only the lanes, for the lines a long label wraps onto)."""
        g = self._geometry()
        cells, spans = self._canvas(row.t)
        if blank:
            return self._text(cells, spans)
        if g.gutter:
            stamp = self._stamp(row).rjust(GUTTER - 1) + " "
            cells[: len(stamp)] = stamp
            spans.append((0, GUTTER, "dim"))
        dest = g.centre(row.receiver)
        if row.kind == "arrow":
            src = g.centre(row.sender or "kernel")
            style = self._style(row)
            if src == dest:
                cells[dest] = "↺"
            else:
                step = 1 if dest > src else -1
                for c in range(src + step, dest, step):
                    cells[c] = "─"
                cells[src] = "●"
                cells[dest - step] = "▶" if step > 0 else "◀"
                spans.append((min(src, dest), max(src, dest) + 1, style))
        else:
            if row.sender is not None and row.sender != row.receiver:
                src = g.centre(row.sender)
                if src != dest:
                    step = 1 if dest > src else -1
                    for c in range(src + step, dest, step):
                        cells[c] = "┄"
                    spans.append((min(src, dest), max(src, dest) + 1, "dim " + row.style))
            cells[dest] = row.glyph[:1]
            spans.append((dest, dest + 1, row.style))
        return self._text(cells, spans)

    def _stamp(self, row: ChartRow) -> str:
        """Seconds since the earliest event."""
        return f"{(row.t - (self.model.origin or row.t)) / 1e9:.3f}s"

    def _style(self, row: ChartRow) -> str:
        if row.kind == "arrow":
            return SENDER_STYLE.get(row.sender or "", "bold green")
        return row.style

    def _label(self, row: ChartRow) -> Text:
        """What happened, in words: the signal's name in its sender's colour."""
        said = row.label()
        g = self._geometry()
        if row.kind == "arrow":
            # An arrow into (or out of) the folded column: say which process it was.
            for key, way in ((row.receiver, "to"), (row.sender, "from")):
                lane = self.model.lane(key) if key else None
                if lane is not None and lane in g.folded:
                    said += f" · {way} {lane.title} {lane.pid} (ended)"
        label = Text(said, style="bold" if row.count > 1 else "", end="", no_wrap=True)
        if row.kind == "arrow":
            label.stylize(self._style(row), 0, len(row.sig))
        return label

    def _row_text(self, row: ChartRow) -> Text:
        """The whole row on one line: lanes, then the whole label (for tests and exports)."""
        text = self._row_lanes(row)
        text.append(" ")
        text.append_text(self._label(row))
        return text

    def _row_label_line(self, row: ChartRow, labels: list[Text], k: int) -> Text:
        """Line ``k`` of a narrow row's label, under its arrow: the time stamp starts the
        first line, the next ones are indented under it."""
        stamp = self._stamp(row) + " "
        text = Text(stamp if k == 0 else " " * len(stamp), style="dim", end="")
        if k < len(labels):
            text.append_text(labels[k].copy())
        return text

    def _header_text(self, y: int) -> Text:
        g = self._geometry()
        w = g.width
        sel = self._selected_lane()
        text = Text(style=self.base_style, no_wrap=True, end="")
        if g.gutter:
            text.append("time".rjust(GUTTER - 2) + "  " if y == 0 else " " * GUTTER, style="dim")
        for lane in g.lanes:
            if lane is None:  # the folded lanes of ended processes
                title = f"+{len(g.folded)}" if y == 0 else "ended"
                text.append(title[: w - 1].center(w), style="dim" if y else "bold")
                continue
            if y == 0:
                title = lane.title
            elif lane.pid is None:
                title = ""
            else:
                title = str(lane.pid)
            if len(title) > w - 1:  # keep a gap between columns; a pid keeps its last digits
                title = _short(title, w - 1) if y == 0 else "…" + title[-(w - 2) :]
            cell = title.center(w)
            style = SENDER_STYLE.get(lane.key, "bold") if y == 0 else "dim"
            if lane.end_t is not None:
                style = "dim strike" if y == 1 else "dim"
            if lane.key == sel:
                style = "reverse bold"
            text.append(cell, style=style)
        if y == 0 and g.lines == 1:  # narrow rows carry their label underneath
            text.append(" what happened", style="dim italic")
        if y == 0 and g.overflow:
            text.append(" →", style="bold")  # more lanes to the right: scroll sideways
        return text


SHORT_TITLES = {"kernel": ("kern", "ker", "k"), "master": ("mstr", "mas", "m")}


def _short(title: str, room: int) -> str:
    """A lane title in ``room`` cells: a known abbreviation rather than a cut word."""
    for short in SHORT_TITLES.get(title, ()):
        if len(short) <= room:
            return short
    return title[:room]


def _signum(name: str) -> int:
    try:
        return parse_signal(name)
    except SignalError:
        return 0

"""The signal sequence chart: one lane per process, time flowing down, one arrow per signal.

A student reads it like a UML sequence diagram: who sent which signal to whom, how long the
receiver took to run its handler, and what happened to the lanes (forks, exits, reaps,
zombies). Two things make it hold up under a storm of signals:

- **aggregation**: consecutive arrows with the same signal between the same two lanes, each
  within :data:`STORM_WINDOW_NS` of the previous one, merge into one row with a count
  (``SIGUSR1 ×1000``), so a storm is one row, not a thousand;
- **bounded storage**: rows live in a deque of at most ``max_rows``; the sends still waiting
  for their handler are bounded too, so memory stays flat however long the lab runs.

The chart is a line-API widget (:class:`~textual.scroll_view.ScrollView` + ``render_line``):
only the visible rows are rendered, each once per change (an LRU cache of strips).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from sigscope.signames import RTMIN, SignalError, parse_signal

Event = dict[str, Any]

MAX_ROWS = 2_000
"""Rows kept; older ones scroll away for good (memory stays flat)."""
STORM_WINDOW_NS = 250_000_000
"""Arrows closer together than this (same signal, same two lanes) merge into one row."""
MERGE_LOOKBACK = 8
"""How many recent rows a new arrow may merge into (a storm to two workers interleaves)."""
PENDING_KEYS = 1_024
PENDING_PER_KEY = 4_096
PENDING_MAX_AGE_NS = 30_000_000_000
"""A send whose handler has not run after this long is forgotten (blocked, ignored, lost)."""
COALESCE_SLACK_NS = 50_000_000
"""Sends older than this before a handler ran were merged by the kernel into that delivery."""
PAUSE_BUFFER = 100_000
HEADER_LINES = 2
GUTTER = 10  # "  12.345s " : seconds since the first event
LABEL_WIDTH = 34  # the label column's share of the width; longer labels are cut at the edge
MIN_LANE_WIDTH = 5
MAX_LANE_WIDTH = 10
NARROW_LANE_WIDTH = 4  # in a narrow panel: room for "you", "w12", "ker"
MAX_PID_LANES = 8  # lanes for processes without a worker index (orphans, strangers)

SENDER_STYLE = {"you": "bold cyan", "master": "bold yellow", "kernel": "bold magenta"}


def _lane_order(key: str) -> tuple[int, int]:
    """Fixed lanes first (you, kernel, master), then workers by index, then other pids."""
    fixed = {"you": 0, "kernel": 1, "master": 2}
    if key in fixed:
        return (fixed[key], 0)
    if key.startswith("w"):
        return (3, int(key[1:]))
    if key.startswith("p"):
        return (4, int(key[1:]))
    return (5, 0)


def _is_realtime(sig: str) -> bool:
    """Real-time signals queue (one delivery per send); standard ones coalesce while pending."""
    try:
        return parse_signal(sig) >= RTMIN
    except SignalError:
        return False


def format_ms(ns: float) -> str:
    """A latency in the unit a person reads best: µs, ms or s."""
    if ns < 1_000_000:
        return f"{ns / 1000:.0f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


class Lane:
    """One column of the chart: a sender lane (you, kernel) or a process slot."""

    __slots__ = ("key", "title", "pid")

    def __init__(self, key: str, title: str, pid: int | None = None) -> None:
        self.key = key
        self.title = title
        self.pid = pid


class ChartRow:
    """One row: an arrow (possibly aggregated), or a mark on a lane (fork, exit, reap…).

    Rows are mutable: a storm row's count and latency grow as sends and handlers arrive;
    ``version`` changes with each update so the widget re-renders only that row.
    """

    __slots__ = (
        "uid",
        "kind",
        "t",
        "last_t",
        "sender",
        "receiver",
        "sig",
        "text",
        "glyph",
        "style",
        "count",
        "handled",
        "lat_sum",
        "lat_max",
        "version",
        "undrawn",
    )

    def __init__(
        self,
        uid: int,
        kind: str,
        t: int,
        receiver: str,
        sender: str | None = None,
        sig: str = "",
        text: str = "",
        glyph: str = "",
        style: str = "",
    ) -> None:
        self.uid = uid
        self.kind = kind  # "arrow" or "mark"
        self.t = t
        self.last_t = t
        self.sender = sender
        self.receiver = receiver
        self.sig = sig
        self.text = text
        self.glyph = glyph
        self.style = style
        self.count = 1
        self.handled = 0
        self.lat_sum = 0
        self.lat_max = 0
        self.version = 0
        # Event times not yet on screen: the widget turns them into sent-to-drawn delays.
        self.undrawn: list[int] = [t]

    def label(self) -> str:
        """What the row says in the label column."""
        if self.kind != "arrow":
            return self.text
        parts = [self.sig + (f" ×{self.count}" if self.count > 1 else "")]
        if self.sender == "kernel":
            known = self.sig in _KERNEL_SIGNALS
            parts.append("from the kernel" if known else "no known sender")
        if self.handled:
            if self.count == 1:
                parts.append(f"handled after {format_ms(self.lat_sum)}")
            else:
                avg = self.lat_sum / self.handled
                handled = "all handled" if self.handled == self.count else f"{self.handled} handled"
                parts.append(f"{handled}, avg {format_ms(avg)}")
        return " · ".join(parts)

    def touch(self, t: int) -> None:
        self.version += 1
        if len(self.undrawn) < 4096:
            self.undrawn.append(t)


_KERNEL_SIGNALS = frozenset({"SIGCHLD", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGPIPE", "SIGSEGV"})


class SequenceModel:
    """The chart's state, independent of any screen: lanes, rows and unmatched sends.

    ``add(event)`` takes events in the contract of :mod:`sigscope.lab.events`. A ``sent``
    draws an arrow at once (so a SIGKILL, which never runs a handler, still shows); the
    ``received`` that matches it (same signal, the target's pid) adds its latency to that row.
    A ``received`` with no matching send is drawn from the *kernel* lane (SIGCHLD, SIGALRM, or a
    ``kill`` typed in another terminal).

    Matching follows the kernel's rules: real-time signals queue, so sends and handler runs
    pair first-in first-out; a standard signal is pending at most once, so when its handler
    runs, the older sends to the same process were merged into that one delivery.
    """

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.rows: deque[ChartRow] = deque(maxlen=max_rows)
        self.lanes: list[Lane] = []
        self._lanes: dict[str, Lane] = {}
        self._pid_lane: OrderedDict[int, str] = OrderedDict()
        self._pending: OrderedDict[tuple[str, int], deque[tuple[int, ChartRow]]] = OrderedDict()
        self._last_received: dict[tuple[str, int], int] = {}
        self._uid = 0
        self.origin: int | None = None
        self.layout_version = 0
        self.evicted = 0  # rows pushed out of the deque since the widget last looked
        self.sent = 0  # arrows started by a `sent` event (for benchmarks: counted vs sent)
        self.received = 0
        for key in ("you", "kernel", "master"):
            self._lane(key)

    # -- lanes -----------------------------------------------------------------------------
    def _lane(self, key: str, pid: int | None = None, title: str | None = None) -> Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = Lane(key, title or key, pid)
            self._lanes[key] = lane
            self.lanes.append(lane)
            self.lanes.sort(key=lambda la: _lane_order(la.key))
            self.layout_version += 1
        if pid is not None and lane.pid != pid and key not in ("you", "kernel"):
            lane.pid = pid
            self.layout_version += 1
        return lane

    def lane_of(
        self, pid: int, role: str | None = None, index: int | None = None, claim: bool = False
    ) -> str:
        """The lane key of a process: master, w<index>, p<pid>, or "other" past the cap.

        ``claim``: the event shows this pid is the lane's current process (it speaks for
        itself, or was just forked), so the lane's header shows its pid. A mere mention (a
        reap, a state change, a signal sent to it) must not: a worker's slot may already
        belong to its replacement when the old one's zombie is reaped.
        """
        key = self._pid_lane.get(pid)
        if key is None or (role == "worker" and index is not None and key != f"w{index}"):
            if role == "ui":
                key = "you"
            elif role == "master":
                key = "master"
            elif role == "worker" and index is not None:
                key = f"w{index}"
            else:
                pid_lanes = sum(1 for la in self.lanes if la.key.startswith("p"))
                key = f"p{pid}" if pid_lanes < MAX_PID_LANES else "other"
            self._pid_lane[pid] = key
            if len(self._pid_lane) > 4 * MAX_ROWS:
                self._pid_lane.popitem(last=False)
        if key != "you":
            title = (role or "pid") if key.startswith("p") else "others" if key == "other" else key
            lane = self._lane(key, None, title)
            if (claim or lane.pid is None) and key != "other" and lane.pid != pid:
                lane.pid = pid
                self.layout_version += 1
        return key

    def column(self, key: str) -> int:
        for i, lane in enumerate(self.lanes):
            if lane.key == key:
                return i
        return 0

    def lane_of_event(self, event: Event) -> str:
        pid, role = int(event.get("pid", 0)), event.get("role")
        return self.lane_of(pid, role, event.get("index"), claim=True)

    # -- rows ------------------------------------------------------------------------------
    def _new_row(self, kind: str, t: int, receiver: str, **kw: Any) -> ChartRow:
        self._uid += 1
        row = ChartRow(self._uid, kind, t, receiver, **kw)
        if len(self.rows) == self.rows.maxlen:
            self.evicted += 1
        self.rows.append(row)
        return row

    def _arrow(self, t: int, sender: str, receiver: str, sig: str) -> ChartRow:
        """A new arrow, or one more signal on a recent row of the same storm."""
        for i in range(1, min(MERGE_LOOKBACK, len(self.rows)) + 1):
            row = self.rows[-i]
            if (
                row.kind == "arrow"
                and row.sig == sig
                and row.sender == sender
                and row.receiver == receiver
                and 0 <= t - row.last_t <= STORM_WINDOW_NS
            ):
                row.count += 1
                row.last_t = t
                row.touch(t)
                return row
        return self._new_row("arrow", t, receiver, sender=sender, sig=sig)

    def _mark(
        self, t: int, lane: str, glyph: str, text: str, style: str, other: str | None = None
    ) -> ChartRow:
        return self._new_row("mark", t, lane, sender=other, glyph=glyph, text=text, style=style)

    # -- events ----------------------------------------------------------------------------
    def add(self, event: Event) -> None:
        """Take one event of the lab's stream (any kind; those the chart does not draw are
        ignored)."""
        kind = event.get("kind")
        t = int(event.get("t", 0))
        if self.origin is None and t:
            self.origin = t
        if kind == "sent":
            self._sent(event, t)
        elif kind == "received":
            self._received(event, t)
        elif kind in ("spawn", "fork"):
            child = int(event["child"])
            index = event.get("index") if kind == "spawn" else None
            role = "worker" if kind == "spawn" else "orphan"
            lane = self.lane_of(child, role, index, claim=True)
            parent = self.lane_of_event(event)
            what = f"w{index}" if index is not None else "a child"
            extra = f" ({event['behaviour']})" if event.get("behaviour") else ""
            self._mark(t, lane, "◉", f"fork {what} pid {child}{extra}", "green", parent)
        elif kind == "exit":
            lane = self.lane_of_event(event)
            code = event.get("code")
            how = (
                f"exits: dies by {event.get('sig') or f'signal {-code}'}"
                if isinstance(code, int) and code < 0
                else f"exits with code {code}"
            )
            self._mark(t, lane, "✕", f"pid {event.get('pid')} {how}", "yellow")
        elif kind in ("reaped", "gone"):
            self._reaped(event, t, kind)
        elif kind == "state":
            self._state(event, t)
        elif kind == "phase":
            lane = self.lane_of_event(event)
            self._mark(t, lane, "◆", f"master: {event.get('phase')} shutdown", "bold yellow")
        elif kind == "dropped":
            lane = self.lane_of_event(event)
            text = f"{event.get('count')} events lost (channel full)"
            self._mark(t, lane, "!", text, "bold red")
        elif kind == "ended":
            self._mark(t, "master", "■", "the lab has ended", "bold red")

    def _sent(self, event: Event, t: int) -> None:
        sig = str(event.get("sig", "?"))
        target = int(event.get("target", 0))
        sender = self.lane_of_event(event)
        receiver = self.lane_of(target, event.get("target_role"))
        row = self._arrow(t, sender, receiver, sig)
        self.sent += 1
        key = (sig, target)
        queue = self._pending.get(key)
        if queue is None:
            queue = self._pending[key] = deque(maxlen=PENDING_PER_KEY)
            if len(self._pending) > PENDING_KEYS:
                self._pending.popitem(last=False)
        else:
            self._pending.move_to_end(key)
            last = self._last_received.get(key)
            # A standard signal's sends from before its last handler run, with no second run
            # a second later, were merged into that delivery: they will never match.
            if last is not None and t - last > 1_000_000_000 and not _is_realtime(sig):
                while queue and queue[0][0] <= last:
                    queue.popleft()
        while queue and t - queue[0][0] > PENDING_MAX_AGE_NS:
            queue.popleft()
        queue.append((t, row))

    def _received(self, event: Event, t: int) -> None:
        sig = str(event.get("sig", "?"))
        pid = int(event.get("pid", 0))
        receiver = self.lane_of_event(event)
        self.received += 1
        key = (sig, pid)
        queue = self._pending.get(key)
        while queue and t - queue[0][0] > PENDING_MAX_AGE_NS:
            queue.popleft()
        if queue and queue[0][0] <= t:
            sent_t, row = queue.popleft()
            if not _is_realtime(sig):
                while queue and queue[0][0] <= t - COALESCE_SLACK_NS:
                    queue.popleft()
            self._last_received[key] = t
            if len(self._last_received) > PENDING_KEYS:
                self._last_received.pop(next(iter(self._last_received)))
            latency = t - sent_t
            row.handled += 1
            row.lat_sum += latency
            row.lat_max = max(row.lat_max, latency)
            row.version += 1  # a new label, not a new arrow: no sent-to-drawn sample
            return
        self._arrow(t, "kernel", receiver, sig)

    def _reaped(self, event: Event, t: int, kind: str) -> None:
        child = int(event.get("child", 0))
        lane = self.lane_of(child)
        reaper = self.lane_of_event(event)
        for key in [k for k in self._pending if k[1] == child]:
            del self._pending[key]
        if kind == "gone":
            text = f"pid {child} gone without a status (SIGCHLD ignored: the kernel reaped it)"
            self._mark(t, lane, "∅", text, "magenta", reaper)
            return
        how = event.get("how")
        if how == "signalled":
            core = ", core dumped" if event.get("core") else ""
            code = event.get("exitcode")
            result = f"killed by {event.get('sig')}{core} ({code})"
        elif how == "exited":
            result = f"exited with code {event.get('exitcode')}"
        else:
            result = str(how or "status unknown")
        adopted = " (adopted)" if event.get("adopted") else ""
        self._mark(t, lane, "⊗", f"reaped{adopted}: pid {child} {result}", "magenta", reaper)

    def _state(self, event: Event, t: int) -> None:
        child = event.get("child")
        if child is None:
            return
        lane = self.lane_of(int(child))
        state, old = event.get("state"), event.get("old")
        if state == "Z":
            self._mark(t, lane, "Z", f"pid {child} is a zombie: dead, not reaped yet", "bold red")
        elif state in ("T", "t"):
            self._mark(t, lane, state, f"pid {child} stopped ({state})", "bold blue")
        elif old in ("T", "t") and state not in ("gone", "X"):
            self._mark(t, lane, "▷", f"pid {child} continued ({state})", "blue")

    def forget_unmatched(self, pid: int, sigs: frozenset[str], before: int) -> None:
        """Drop sends to ``pid`` of signals in ``sigs`` made before ``before``: a snapshot
        shows those signals are not pending, so no handler run is coming for them."""
        for sig in sigs:
            queue = self._pending.get((sig, pid))
            while queue and queue[0][0] < before:
                queue.popleft()

    def pending_keys(self) -> list[tuple[str, int]]:
        return [k for k, q in self._pending.items() if q]

    def take_evicted(self) -> int:
        n, self.evicted = self.evicted, 0
        return n


class SequenceChart(ScrollView, can_focus=True):
    """A live sequence chart of the lab's signals.

    Public API (call on the app's thread; the lab calls its subscribers on its reader thread,
    so hand events over with ``post_message`` first):

    - ``add_event(event)``: one event of the lab's stream (``sigscope.lab.events`` contract).
    - ``update_snapshot(snapshot)``: a ``sigscope.observe.sampler.Snapshot``; it tells which
      sends can no longer be matched (their signal is not pending any more) and names lanes.
    - ``show_pid(pid)``: highlight the lane of the selected process (``None``: no selection).
    - ``clear()``: forget everything (a restarted lab).

    Keys: ``p`` pauses (events are held, up to :data:`PAUSE_BUFFER`, and drawn on resume),
    ``end`` follows the newest row again; arrows and page keys scroll.
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
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.model = SequenceModel(max_rows)
        self._clock = clock
        self._held: deque[Event] = deque(maxlen=PAUSE_BUFFER)
        self._held_lost = 0
        self._selected: int | None = None
        self._follow = True  # show the newest rows as they come (until the person scrolls up)
        self._syncing = False
        self._cache: LRUCache[tuple[int, int, int, int, int | None, int], Strip] = LRUCache(1024)
        self.draw_delays: deque[int] | None = None
        """Set to a deque to measure: nanoseconds from each new arrow's (or storm signal's)
        ``t`` to the frame that drew it. None (the default) measures nothing."""
        self.border_title = "Signals"
        self.border_subtitle = "p pause"

    # -- public API --------------------------------------------------------------------------
    def add_event(self, event: Event) -> None:
        """Add one event of the lab's stream to the chart (or hold it while paused)."""
        if self.paused:
            if len(self._held) == self._held.maxlen:
                self._held_lost += 1
            self._held.append(event)
            self._show_paused()
            return
        self._take([event])

    def add_events(self, events: list[Event]) -> None:
        """Add a batch of events (one layout update for all of them)."""
        if self.paused:
            for event in events:
                self.add_event(event)
            return
        self._take(events)

    def update_snapshot(self, snapshot: Any) -> None:
        """Use a sampler snapshot: sends of signals no longer pending are not waited for."""
        t = getattr(snapshot, "t", None)
        if t is None:
            return
        keys = self.model.pending_keys()
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
        self.model = SequenceModel(self.model.rows.maxlen or MAX_ROWS)
        self._held.clear()
        self._cache.clear()
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
            self.model._mark(t, "kernel", "…", text, "dim")
        self._take(held)

    def _show_paused(self) -> None:
        self.border_subtitle = f"⏸ paused · {len(self._held) + self._held_lost} new · p resume"

    # -- layout ----------------------------------------------------------------------------
    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self._syncing:
            # The person scrolled: follow new rows only while at (or next to) the end. One
            # row of slack, as a horizontal scrollbar appearing adds one to max_scroll_y.
            self._follow = new_value >= self.max_scroll_y - 1

    def _take(self, events: list[Event]) -> None:
        follow = self._follow
        before = len(self.model.rows)
        layout = self.model.layout_version
        for event in events:
            self.model.add(event)
        evicted = self.model.take_evicted()
        if len(self.model.rows) != before or evicted or layout != self.model.layout_version:
            self._update_virtual_size()
            self._syncing = True
            try:
                if follow:
                    self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
                elif evicted:
                    # Keep the rows the person is reading in place as old ones fall off.
                    y = max(0, self.scroll_y - evicted * self._geometry()[1])
                    self.scroll_to(y=y, animate=False, immediate=True, force=True)
            finally:
                self._syncing = False
        self.refresh()

    def _lane_width(self) -> int:
        return self._geometry()[0]

    def _geometry(self) -> tuple[int, int]:
        """(lane width, lines per row). Wide enough: one line, lanes then the label. Narrow
        (a dashboard panel): two lines, the arrow, then the label under it, so signal names
        stay readable without scrolling sideways."""
        lanes = max(1, len(self.model.lanes))
        width = (self.size.width or 80) - 1  # the vertical scrollbar
        room = width - GUTTER - 1 - LABEL_WIDTH
        if room >= lanes * MIN_LANE_WIDTH:
            return min(MAX_LANE_WIDTH, room // lanes), 1
        return max(NARROW_LANE_WIDTH, min(MAX_LANE_WIDTH, (width - GUTTER) // lanes)), 2

    def _update_virtual_size(self) -> None:
        w, lines = self._geometry()
        width = GUTTER + len(self.model.lanes) * w + (1 + LABEL_WIDTH if lines == 1 else 0)
        height = len(self.model.rows) * lines + HEADER_LINES
        if lines == 2 and (self.size.height - HEADER_LINES) % 2:
            height += 1  # so that the end shows whole rows: an arrow, never a lone label
        self.virtual_size = Size(width, height)

    def on_resize(self) -> None:
        self._cache.clear()
        self._update_virtual_size()

    # -- rendering -------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y < HEADER_LINES:
            strip = self._strip(self._header_text(y))
        else:
            w, lines = self._geometry()
            index, part = divmod(scroll_y + y - HEADER_LINES, lines)
            if index >= len(self.model.rows):
                return Strip.blank(width, base)
            row = self.model.rows[index]
            key = (row.uid, row.version, self.model.layout_version, width, self._selected, part)
            cached = self._cache.get(key)
            if cached is None:
                if lines == 1:
                    text = self._row_text(row, w)
                else:
                    text = self._row_lanes(row, w) if part == 0 else self._row_label_line(row, w)
                cached = self._strip(text)
                self._cache[key] = cached
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
        text.stylize_before(self.rich_style)
        return Strip(text.render(self.app.console), text.cell_len)

    def _canvas(self, w: int) -> tuple[list[str], list[tuple[int, int, str]]]:
        """A blank row: the gutter and each lane's vertical line."""
        cells = [" "] * (GUTTER + len(self.model.lanes) * w)
        spans: list[tuple[int, int, str]] = []
        sel = self._selected_lane()
        for i, lane in enumerate(self.model.lanes):
            c = GUTTER + i * w + w // 2
            cells[c] = "│"
            spans.append((c, c + 1, "bold" if lane.key == sel else "bright_black"))
        return cells, spans

    def _text(self, cells: list[str], spans: list[tuple[int, int, str]], start: int = 0) -> Text:
        text = Text("".join(cells[start:]), style=self.rich_style, no_wrap=True, end="")
        for a, b, style in spans:
            if b > start:
                text.stylize(style, max(0, a - start), b - start)
        return text

    def _centre(self, key: str, w: int) -> int:
        return GUTTER + self.model.column(key) * w + w // 2

    def _selected_lane(self) -> str | None:
        if self._selected is None:
            return None
        key = self.model._pid_lane.get(self._selected)
        if key is None:
            return None
        lane = self.model._lanes.get(key)
        return key if lane is not None and lane.pid == self._selected else None

    def _row_lanes(self, row: ChartRow, w: int) -> Text:
        """The time stamp and the lanes, with the row's arrow or mark drawn across them."""
        cells, spans = self._canvas(w)
        origin = self.model.origin or row.t
        stamp = f"{(row.t - origin) / 1e9:8.3f}s "
        cells[: len(stamp)] = stamp
        spans.append((0, GUTTER, "dim"))
        dest = self._centre(row.receiver, w)
        if row.kind == "arrow":
            src = self._centre(row.sender or "kernel", w)
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
                src = self._centre(row.sender, w)
                step = 1 if dest > src else -1
                for c in range(src + step, dest, step):
                    cells[c] = "┄"
                spans.append((min(src, dest), max(src, dest) + 1, "dim " + row.style))
            cells[dest] = row.glyph[:1]
            spans.append((dest, dest + 1, row.style))
        return self._text(cells, spans)

    def _style(self, row: ChartRow) -> str:
        if row.kind == "arrow":
            return SENDER_STYLE.get(row.sender or "", "bold green")
        return row.style

    def _label(self, row: ChartRow) -> Text:
        """What happened, in words: the signal's name in its sender's colour."""
        label = Text(row.label(), style="bold" if row.count > 1 else "", end="")
        if row.kind == "arrow":
            label.stylize(self._style(row), 0, len(row.sig))
        return label

    def _row_text(self, row: ChartRow, w: int | None = None) -> Text:
        """The whole row on one line: lanes, then the label."""
        text = self._row_lanes(row, self._lane_width() if w is None else w)
        text.append(" ")
        text.append_text(self._label(row))
        return text

    def _row_label_line(self, row: ChartRow, w: int) -> Text:
        """The second line of a narrow row: the label under the time stamp, the lanes going
        on to its right."""
        label = self._label(row)
        start = 2 + label.cell_len + 1
        cells, spans = self._canvas(w)
        text = Text("  ", style=self.rich_style, end="")
        text.append_text(label)
        text.append(" ")
        if start < len(cells):
            text.append_text(self._text(cells, spans, start))
        return text

    def _header_text(self, y: int) -> Text:
        w = self._lane_width()
        sel = self._selected_lane()
        text = Text(style=self.rich_style, no_wrap=True, end="")
        text.append("time".rjust(GUTTER - 2) + "  " if y == 0 else " " * GUTTER, style="dim")
        for lane in self.model.lanes:
            title = lane.title if y == 0 else str(lane.pid) if lane.pid is not None else ""
            if len(title) > w - 1:  # keep a gap between columns; a pid keeps its last digits
                title = title[: w - 1] if y == 0 else "…" + title[-(w - 2) :]
            cell = title.center(w)
            style = SENDER_STYLE.get(lane.key, "bold") if y == 0 else "dim"
            if lane.key == sel:
                style = "reverse bold"
            text.append(cell, style=style)
        if y == 0 and self._geometry()[1] == 1:  # narrow rows carry their label underneath
            text.append(" what happened", style="dim italic")
        return text


def _signum(name: str) -> int:
    try:
        return parse_signal(name)
    except SignalError:
        return 0

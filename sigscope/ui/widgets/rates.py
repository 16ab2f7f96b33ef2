"""Received signals per second, per process, over the last half minute: a sparkline each.

A storm, a periodic timer and a quiet worker look different at a glance: a wall, a comb, a
flat line. Counting is a plain class (:class:`RateHistory`, one-second buckets, bounded);
the widget (:class:`Rates`) shows one row per process with a Textual ``Sparkline``, and
:func:`rate_text` draws the same curve as Rich text for a table cell (the process tree).

The widget redraws once a second only while some process has had a signal in the window, so
the curves slide back to zero and then the widget sleeps: an idle lab costs no wake-ups.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.timer import Timer
from textual.widgets import Label, Sparkline

WINDOW_SECONDS = 30
MAX_PIDS = 256
BLOCKS = "▁▂▃▄▅▆▇█"


class RateHistory:
    """Counts of ``received`` events per process in one-second buckets, last
    :data:`WINDOW_SECONDS` seconds; memory is bounded by ``MAX_PIDS`` × the window."""

    def __init__(self, seconds: int = WINDOW_SECONDS) -> None:
        self.seconds = seconds
        self._buckets: OrderedDict[int, dict[int, int]] = OrderedDict()  # pid -> second -> n
        self._newest: dict[int, int] = {}

    def add(self, pid: int, t_ns: int) -> None:
        """One signal handled by ``pid`` at ``t_ns`` (``time.monotonic_ns()``); events may
        come slightly out of order (several processes write to one channel)."""
        second = t_ns // 1_000_000_000
        buckets = self._buckets.get(pid)
        if buckets is None:
            buckets = self._buckets[pid] = {}
            if len(self._buckets) > MAX_PIDS:
                old, _ = self._buckets.popitem(last=False)
                self._newest.pop(old, None)
        newest = max(second, self._newest.get(pid, second))
        self._newest[pid] = newest
        if second <= newest - self.seconds:
            return  # older than the window
        buckets[second] = buckets.get(second, 0) + 1
        if len(buckets) > self.seconds:
            for s in [s for s in buckets if s <= newest - self.seconds]:
                del buckets[s]

    def forget(self, pid: int) -> None:
        self._buckets.pop(pid, None)
        self._newest.pop(pid, None)

    def pids(self) -> list[int]:
        return list(self._buckets)

    def series(self, pid: int, now_ns: int) -> list[float]:
        """Signals per second for each of the last ``seconds`` whole seconds, oldest first
        (the current, unfinished second is last)."""
        now_s = now_ns // 1_000_000_000
        counts = self._buckets.get(pid, {})
        return [float(counts.get(s, 0)) for s in range(now_s - self.seconds + 1, now_s + 1)]

    def rate(self, pid: int, now_ns: int) -> float:
        """Signals in the last whole second (the current one is still filling)."""
        series = self.series(pid, now_ns)
        return series[-2] if len(series) >= 2 else 0.0

    def active(self, now_ns: int) -> bool:
        """Whether any process has a signal in the window (so the curves still move)."""
        oldest = now_ns // 1_000_000_000 - self.seconds
        return any(newest > oldest for newest in self._newest.values())


def rate_text(series: Sequence[float], width: int = 15, style: str = "green") -> Text:
    """A sparkline as Rich text (for a DataTable cell): the last ``width`` values, scaled to
    the largest; a flat dim line when all are zero."""
    values = list(series)[-width:]
    top = max(values, default=0.0)
    if top <= 0:
        return Text(BLOCKS[0] * len(values), style="dim")
    chars = [BLOCKS[min(len(BLOCKS) - 1, int(v / top * (len(BLOCKS) - 1) + 0.5))] for v in values]
    return Text("".join(chars), style=style)


class RateRow(Horizontal):
    """One process: who it is, its sparkline, its rate in the last second."""

    DEFAULT_CSS = """
    RateRow {
        height: 1;
    }
    RateRow > .rate-name {
        width: 14;
    }
    RateRow > Sparkline {
        width: 1fr;
        min-width: 10;
    }
    RateRow > .rate-now {
        width: 9;
        text-align: right;
    }
    RateRow.-selected > .rate-name {
        text-style: bold reverse;
    }
    """

    def __init__(self, pid: int, title: str) -> None:
        super().__init__(id=f"rate-{pid}")
        self.pid = pid
        self.title = title
        self.sparkline = Sparkline([0.0] * WINDOW_SECONDS, summary_function=max)
        self.now_label = Label("0/s", classes="rate-now")

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="rate-name")
        yield self.sparkline
        yield self.now_label

    def show(self, series: list[float], rate: float) -> None:
        self.sparkline.data = series
        self.now_label.update(f"{rate:.0f}/s")


class Rates(VerticalScroll):
    """Received-signal rate sparklines, one row per live process.

    Public API (call on the app's thread):

    - ``add_event(event)``: counts ``received`` events; ``spawn`` / ``fork`` / a master's
      events add a row, ``reaped`` / ``gone`` remove it.
    - ``update_snapshot(snapshot)``: names rows from the snapshot's roles and indices.
    - ``show_pid(pid)``: highlight the selected process's row.
    - ``clear()``: forget everything (a restarted lab).
    """

    DEFAULT_CSS = """
    Rates {
        height: auto;
        max-height: 12;
        border: round $primary 40%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        clock: Callable[[], int] = time.monotonic_ns,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.history = RateHistory()
        self._clock = clock
        self._titles: dict[int, str] = {}
        self._rows: dict[int, RateRow] = {}
        self._selected: int | None = None
        self._ticker: Timer | None = None
        self.border_title = "Signals handled per second (30 s)"

    # -- public API --------------------------------------------------------------------------
    def add_event(self, event: dict[str, Any]) -> None:
        """Count a handler run, or add / remove a process's row."""
        kind = event.get("kind")
        pid = int(event.get("pid", 0))
        if kind == "received":
            self._ensure_row(pid, _title(event.get("role"), event.get("index"), pid))
            self.history.add(pid, int(event.get("t", self._clock())))
            if self._ticker is None:  # the first signal after a quiet spell shows at once;
                self._redraw(pid)  # during a storm the once-a-second tick redraws
            self._sync_ticker()
        elif kind in ("spawn", "fork"):
            child = int(event["child"])
            role = "worker" if kind == "spawn" else "orphan"
            self._ensure_row(child, _title(role, event.get("index"), child))
        elif kind == "start" and event.get("role") == "master":
            self._ensure_row(pid, _title("master", None, pid))
        elif kind in ("reaped", "gone"):
            child = int(event.get("child", 0))
            self.history.forget(child)
            self._titles.pop(child, None)
            gone = self._rows.pop(child, None)
            if gone is not None:
                gone.remove()

    def clear(self) -> None:
        """Forget every process (a restarted lab)."""
        self.history = RateHistory()
        self._titles.clear()
        for row in self._rows.values():
            row.remove()
        self._rows.clear()
        self._sync_ticker()

    def update_snapshot(self, snapshot: Any) -> None:
        """Name the rows of processes the snapshot knows (role and index)."""
        for view in getattr(snapshot, "processes", ()):
            if view.role is not None:
                self._ensure_row(view.pid, _title(view.role, view.index, view.pid))

    def show_pid(self, pid: int | None) -> None:
        """Highlight the row of ``pid``."""
        self._selected = pid
        for row in self._rows.values():
            row.set_class(row.pid == pid, "-selected")

    # -- rows ------------------------------------------------------------------------------
    def _ensure_row(self, pid: int, title: str) -> None:
        if pid in self._titles:
            return
        self._titles[pid] = title
        if len(self._titles) > MAX_PIDS:  # never more rows than the history keeps
            oldest = next(iter(self._titles))
            self._titles.pop(oldest)
            old = self._rows.pop(oldest, None)
            if old is not None:
                old.remove()
        row = RateRow(pid, title)
        row.set_class(pid == self._selected, "-selected")
        self._rows[pid] = row
        self.mount(row)

    def _redraw(self, pid: int) -> None:
        now = self._clock()
        row = self._rows.get(pid)
        if row is not None and row.is_mounted:
            row.show(self.history.series(pid, now), self.history.rate(pid, now))

    def _tick(self) -> None:
        now = self._clock()
        for row in self._rows.values():
            if row.is_mounted:
                row.show(self.history.series(row.pid, now), self.history.rate(row.pid, now))
        self._sync_ticker()

    def _sync_ticker(self) -> None:
        if self.history.active(self._clock()):
            if self._ticker is None:
                self._ticker = self.set_interval(1.0, self._tick)
        elif self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    @property
    def ticking(self) -> bool:
        """Whether the widget wakes each second (only while a curve has something to show)."""
        return self._ticker is not None


def _title(role: Any, index: Any, pid: int) -> str:
    if role == "worker" and index is not None:
        return f"w{index} {pid}"
    if role == "master":
        return f"master {pid}"
    return f"{role or 'pid'} {pid}"

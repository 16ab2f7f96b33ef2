"""The selected process's timers: ``alarm`` and the three interval timers, as countdowns.

``/proc`` does not show a process's alarm or itimer values, so the only source is the
``timer`` events its behaviour emits (``armed`` / ``tick`` / ``fired`` / ``cancelled``, with
``value`` = seconds left and ``interval`` right after the call). Between events the panel
extrapolates:

- ``alarm`` and ``ITIMER_REAL`` count wall-clock time: remaining = value − (now − t);
- ``ITIMER_VIRTUAL`` and ``ITIMER_PROF`` count the process's *CPU* time, so they are
  extrapolated from the CPU seconds the sampler reports (``cpu_seconds``), never from the
  clock: an idle process's VIRTUAL timer does not move, and the gauge must not either.

A periodic timer (``interval`` > 0) wraps around: after each expiry the kernel reloads it with
the interval. The panel redraws ten times a second only while a wall-clock countdown is
running for the shown process; with nothing counting down it does not wake at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget

from sigscope.ui.models.timers import (
    COUNTS,
    SIGNAL_OF,
    TIMERS,
    WALL_CLOCK,
    TimerBook,
    TimerState,
)

REFRESH_SECONDS = 0.1
BAR_WIDTH = 20


class TimersPanel(Widget):
    """Live countdown gauges of the selected process's alarm and interval timers.

    Public API (call on the app's thread):

    - ``add_events(events)`` / ``add_event(event)``: ``timer`` events of any process (others
      are ignored; ``reaped`` and ``gone`` forget the process's timers: timers die with it).
    - ``update_snapshot(snapshot)``: CPU seconds per process, for the CPU-time timers.
    - ``show_pid(pid)``: the process to show (``None``: nothing selected).
    - ``clear()``: forget everything (a restarted lab).
    """

    DEFAULT_CSS = """
    TimersPanel {
        height: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        border: round $primary 40%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    pid: reactive[int | None] = reactive(None)
    """The process shown."""

    def __init__(
        self,
        clock: Callable[[], int] = time.monotonic_ns,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock = clock
        self.book = TimerBook()
        """Every process's timers (the model; the panel draws the selected one's)."""
        self._ticker: Timer | None = None
        self._mounted = False  # set_interval needs a running message pump
        self._cpu_shown: float | None = None  # the CPU seconds the CPU gauges were drawn at
        self._lines: int | None = None  # lines of the content when last laid out
        self.border_title = "Timers"

    @property
    def timers(self) -> dict[int, dict[str, TimerState]]:
        """pid -> timer name -> the last known state."""
        return self.book.timers

    # -- public API --------------------------------------------------------------------------
    def set_clock(self, clock: Callable[[], int]) -> None:
        """Count down on ``clock`` (ns on the events' clock): a replay passes the recorded
        time at its play head, so a paused replay's countdowns stand still."""
        self._clock = clock
        self._sync_ticker()
        self.refresh()

    def show_pid(self, pid: int | None) -> None:
        """Show the timers of ``pid``."""
        self.pid = pid

    def watch_pid(self, pid: int | None) -> None:
        self.border_title = "Timers" if pid is None else f"Timers · pid {pid}"
        self._sync_ticker()
        self._refresh_sized()

    def _refresh_sized(self) -> None:
        """Redraw; lay the screen out again only if the panel's lines changed in number (its
        height is ``auto``): every process shows the same eight lines, so choosing another in
        the tree, or a timer event, no longer costs a layout pass of the whole dashboard."""
        lines = 1 if self.pid is None else 2 * len(TIMERS)  # as render() makes them
        layout = lines != self._lines
        self._lines = lines
        self.refresh(layout=layout)

    def clear(self) -> None:
        """Forget every process's timers (a restarted lab)."""
        self.book.clear()
        self._sync_ticker()
        self.refresh(layout=True)

    def add_event(self, event: dict[str, Any]) -> None:
        """Take a ``timer`` event (or a reap, which ends a process's timers)."""
        self.add_events((event,))

    def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        """Take a batch of events; redraw only if the shown process's timers changed."""
        now = self._clock()
        changed = False
        for event in events:
            if event.get("kind") in ("timer", "reaped", "gone"):
                changed = self.book.add_event(event, now) == self.pid or changed
        if changed and self.pid is not None:
            self._sync_ticker()
            self._refresh_sized()

    def update_snapshot(self, snapshot: Any) -> None:
        """Note each process's CPU seconds: the CPU-time timers count down with them."""
        self.book.add_cpu((view.pid, float(view.cpu_seconds)) for view in snapshot.processes)
        # Redraw only a CPU-time gauge that moves: an idle dashboard draws nothing here.
        cpu = self.book.cpu.get(self.pid or 0)
        if self.book.counts_cpu(self.pid) and cpu != self._cpu_shown:
            self.refresh()

    def remaining(self, name: str, pid: int | None = None) -> float | None:
        """Seconds left on timer ``name`` of ``pid`` (default: the shown process), extrapolated
        to now; 0 if it is not armed, None if it cannot be known."""
        pid = self.pid if pid is None else pid
        state = self.book.of(pid).get(name)
        if state is None:
            return 0.0
        return state.remaining(self._clock(), self.book.cpu.get(pid or 0))

    @property
    def ticking(self) -> bool:
        """Whether the panel is redrawing on a timer (only while a countdown runs)."""
        return self._ticker is not None

    # -- the countdown ---------------------------------------------------------------------
    def _sync_ticker(self) -> None:
        if self.book.counting(self.pid, self._clock()):
            if self._ticker is None and self._mounted:
                self._ticker = self.set_interval(REFRESH_SECONDS, self._tick)
        elif self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def on_mount(self) -> None:
        self._mounted = True
        self._sync_ticker()

    def _tick(self) -> None:
        self.refresh()
        self._sync_ticker()

    # -- rendering -------------------------------------------------------------------------
    def render(self) -> Text:
        if self.pid is None:
            return Text("Select a process to see its timers.", style="dim")
        text = Text(end="")
        per_pid = self.book.of(self.pid)
        now = self._clock()
        cpu_now = self.book.cpu.get(self.pid)
        self._cpu_shown = cpu_now
        bar_width = max(6, min(BAR_WIDTH, (self.size.width or 40) - 15 - 9))
        for i, name in enumerate(TIMERS):
            if i:
                text.append("\n")
            self._render_timer(text, name, per_pid.get(name), now, cpu_now, bar_width)
        return text

    def _render_timer(
        self,
        text: Text,
        name: str,
        state: TimerState | None,
        now: int,
        cpu_now: float | None,
        bar_width: int,
    ) -> None:
        """Two lines: the gauge with the seconds left, then what the numbers mean."""
        text.append(f"{name:<15}", style="bold")
        if state is None or not state.armed:
            text.append("·" * bar_width, style="dim")
            note = "not armed"
            if state is not None and state.action == "cancelled":
                note = "cancelled"
                if state.fired:
                    note += f" after firing {state.fired}×"
                if state.previous:
                    note += f": alarm(0) returned {state.previous:g}"
            elif state is not None and state.fired:
                note = f"fired: {SIGNAL_OF[name]} sent"
            text.append(f"\n  {note}", style="dim")
            return
        left = state.remaining(now, cpu_now)
        full = state.full or state.interval or state.value or 1.0
        if left is None:
            text.append("·" * bar_width, style="dim")
            text.append(f"\n  {state.value:.2f} s when armed; counts {COUNTS[name]}", style="dim")
            return
        filled = round(bar_width * min(1.0, left / full))
        due = left <= 0
        style = "bold red" if due else "green" if name in WALL_CLOCK else "yellow"
        text.append("█" * filled, style=style)
        text.append("░" * (bar_width - filled), style="dim")
        text.append(f" {left:6.2f} s", style="bold")
        detail = f"of {full:.2f} s"
        if state.interval > 0:
            detail += f", every {state.interval:.2f} s"
        if state.fired:
            detail += f", fired {state.fired}×"
        if name not in WALL_CLOCK:
            detail += f"; counts {COUNTS[name]}"
        if due:
            detail += f"; due: {SIGNAL_OF[name]}"
        if name == "alarm" and state.previous:
            detail += f"; replaced one with {state.previous:g} s left"
        text.append(f"\n  {detail}", style="dim")

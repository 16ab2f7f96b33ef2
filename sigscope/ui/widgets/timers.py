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
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget

TIMERS = ("alarm", "ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF")
WALL_CLOCK = frozenset({"alarm", "ITIMER_REAL"})
SIGNAL_OF = {
    "alarm": "SIGALRM",
    "ITIMER_REAL": "SIGALRM",
    "ITIMER_VIRTUAL": "SIGVTALRM",
    "ITIMER_PROF": "SIGPROF",
}
COUNTS = {
    "alarm": "wall time",
    "ITIMER_REAL": "wall time",
    "ITIMER_VIRTUAL": "user CPU",
    "ITIMER_PROF": "CPU time",
}
REFRESH_SECONDS = 0.1
BAR_WIDTH = 20
MAX_PIDS = 256


@dataclass
class TimerState:
    """What the last ``timer`` event said about one timer of one process."""

    name: str
    value: float  # seconds left when the event was made (0: not armed)
    interval: float  # reload value (0: one-shot)
    t: int  # the event's time.monotonic_ns()
    full: float  # the length of the current countdown, for the gauge
    action: str
    fired: int = 0
    previous: float | None = None  # what alarm() returned when armed
    cpu_base: float | None = None  # the process's CPU seconds when the event was made

    @property
    def armed(self) -> bool:
        return self.value > 0 or self.interval > 0

    def remaining(self, now_ns: int, cpu_now: float | None) -> float | None:
        """Seconds left now, or None if it cannot be known (a CPU timer with no CPU figure)."""
        if not self.armed:
            return 0.0
        if self.name in WALL_CLOCK:
            elapsed = (now_ns - self.t) / 1e9
        elif cpu_now is not None and self.cpu_base is not None:
            elapsed = max(0.0, cpu_now - self.cpu_base)
        else:
            return None
        left = self.value - elapsed
        if left <= 0 and self.interval > 0:
            # The kernel reloads a periodic timer with its interval at each expiry.
            return self.interval - ((-left) % self.interval)
        return max(0.0, left)


class TimersPanel(Widget):
    """Live countdown gauges of the selected process's alarm and interval timers.

    Public API (call on the app's thread):

    - ``add_event(event)``: ``timer`` events of any process (others are ignored; ``reaped``
      and ``gone`` forget the process's timers: timers die with the process).
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
        self.timers: OrderedDict[int, dict[str, TimerState]] = OrderedDict()
        """pid -> timer name -> the last known state."""
        self._cpu: dict[int, float] = {}
        self._ticker: Timer | None = None
        self._mounted = False  # set_interval needs a running message pump
        self.border_title = "Timers"

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
        self.refresh(layout=True)

    def clear(self) -> None:
        """Forget every process's timers (a restarted lab)."""
        self.timers.clear()
        self._cpu.clear()
        self._sync_ticker()
        self.refresh(layout=True)

    def add_event(self, event: dict[str, Any]) -> None:
        """Take a ``timer`` event (or a reap, which ends a process's timers)."""
        kind = event.get("kind")
        if kind in ("reaped", "gone"):
            self.timers.pop(int(event.get("child", 0)), None)
            self._cpu.pop(int(event.get("child", 0)), None)
            return
        if kind != "timer" or event.get("timer") not in TIMERS:
            return
        pid = int(event.get("pid", 0))
        name = str(event["timer"])
        action = str(event.get("action", ""))
        value = float(event.get("value") or 0.0)
        interval = float(event.get("interval") or 0.0)
        if action == "cancelled":
            value, interval = 0.0, 0.0
        per_pid = self.timers.setdefault(pid, {})
        self.timers.move_to_end(pid)
        if len(self.timers) > MAX_PIDS:
            self.timers.popitem(last=False)
        old = per_pid.get(name)
        cpu = event.get("cpu")
        state = TimerState(
            name=name,
            value=value,
            interval=interval,
            t=int(event.get("t", self._clock())),
            full=interval if interval > 0 and action != "armed" else max(value, interval),
            action=action,
            fired=(old.fired if old else 0) + (action in ("fired", "tick")),
            previous=event.get("previous", old.previous if old else None),
            cpu_base=float(cpu) if cpu is not None else self._cpu.get(pid),
        )
        per_pid[name] = state
        if pid == self.pid:
            self._sync_ticker()
            self.refresh(layout=True)

    def update_snapshot(self, snapshot: Any) -> None:
        """Note each process's CPU seconds: the CPU-time timers count down with them."""
        # Replaced, not merged: the dict holds only processes of the latest scan (bounded).
        self._cpu = {view.pid: float(view.cpu_seconds) for view in snapshot.processes}
        for pid, cpu in self._cpu.items():
            for state in self.timers.get(pid, {}).values():
                if state.cpu_base is None and state.name not in WALL_CLOCK:
                    state.cpu_base = cpu
        if self.pid in self._cpu:
            self.refresh()

    def remaining(self, name: str, pid: int | None = None) -> float | None:
        """Seconds left on timer ``name`` of ``pid`` (default: the shown process), extrapolated
        to now; 0 if it is not armed, None if it cannot be known."""
        pid = self.pid if pid is None else pid
        state = self.timers.get(pid or 0, {}).get(name)
        if state is None:
            return 0.0
        return state.remaining(self._clock(), self._cpu.get(pid or 0))

    @property
    def ticking(self) -> bool:
        """Whether the panel is redrawing on a timer (only while a countdown runs)."""
        return self._ticker is not None

    # -- the countdown ---------------------------------------------------------------------
    def _counting(self) -> bool:
        """A wall-clock timer of the shown process is running down (or periodic)."""
        now = self._clock()
        for state in self.timers.get(self.pid or 0, {}).values():
            if state.name in WALL_CLOCK and state.armed:
                left = state.remaining(now, None)
                if state.interval > 0 or (left is not None and left > 0):
                    return True
        return False

    def _sync_ticker(self) -> None:
        if self._counting():
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
        per_pid = self.timers.get(self.pid, {})
        now = self._clock()
        cpu_now = self._cpu.get(self.pid)
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

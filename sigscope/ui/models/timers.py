"""The timers panel's model: each process's ``alarm`` and interval timers, from its events.

``/proc`` does not show a process's alarm or itimer values, so the only source is the
``timer`` events its behaviour emits (``armed`` / ``tick`` / ``fired`` / ``cancelled``, with
``value`` = seconds left and ``interval`` right after the call). Between events the remaining
time is extrapolated: ``alarm`` and ``ITIMER_REAL`` on the clock, ``ITIMER_VIRTUAL`` and
``ITIMER_PROF`` on the CPU seconds the sampler reports (never on the clock: an idle process's
VIRTUAL timer does not move).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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


class TimerBook:
    """The last known state of every timer of every process (bounded: :data:`MAX_PIDS`)."""

    def __init__(self) -> None:
        self.timers: OrderedDict[int, dict[str, TimerState]] = OrderedDict()
        """pid -> timer name -> the last known state."""
        self.cpu: dict[int, float] = {}
        """pid -> CPU seconds at the latest scan."""

    def clear(self) -> None:
        self.timers.clear()
        self.cpu.clear()

    def of(self, pid: int | None) -> dict[str, TimerState]:
        return self.timers.get(pid or 0, {})

    def add_event(self, event: dict[str, Any], now_ns: int) -> int | None:
        """Take a ``timer`` event (or a reap, which ends a process's timers: timers die with
        the process); return the pid whose timers changed (None: nothing changed)."""
        kind = event.get("kind")
        if kind in ("reaped", "gone"):
            child = int(event.get("child", 0))
            self.cpu.pop(child, None)
            return child if self.timers.pop(child, None) is not None else None
        if kind != "timer" or event.get("timer") not in TIMERS:
            return None
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
        per_pid[name] = TimerState(
            name=name,
            value=value,
            interval=interval,
            t=int(event.get("t", now_ns)),
            full=interval if interval > 0 and action != "armed" else max(value, interval),
            action=action,
            fired=(old.fired if old else 0) + (action in ("fired", "tick")),
            previous=event.get("previous", old.previous if old else None),
            cpu_base=float(cpu) if cpu is not None else self.cpu.get(pid),
        )
        return pid

    def add_cpu(self, cpu: Iterable[tuple[int, float]]) -> None:
        """CPU seconds per process from a scan (replacing the last: bounded by the scan)."""
        self.cpu = dict(cpu)
        for pid, seconds in self.cpu.items():
            for state in self.timers.get(pid, {}).values():
                if state.cpu_base is None and state.name not in WALL_CLOCK:
                    state.cpu_base = seconds

    def counts_cpu(self, pid: int | None) -> bool:
        """Whether ``pid`` has an armed CPU-time timer (its gauge moves with its CPU time)."""
        return any(
            s.armed and s.name not in WALL_CLOCK for s in self.timers.get(pid or 0, {}).values()
        )

    def counting(self, pid: int | None, now_ns: int) -> bool:
        """Whether a wall-clock timer of ``pid`` is running down (or is periodic)."""
        for state in self.timers.get(pid or 0, {}).values():
            if state.name in WALL_CLOCK and state.armed:
                left = state.remaining(now_ns, None)
                if state.interval > 0 or (left is not None and left > 0):
                    return True
        return False

"""The process tree's model: the lab's processes as rows, in tree order, one per process.

A row is a frozen value (:class:`ProcessRow`): the widget compares a row with the one it drew
and redraws only a row that differs, so an idle lab costs one redraw per row a second (its
age). Rows are keyed by pid; a process that has just been reaped stays :data:`KEEP_GONE`
seconds, so a student sees it go and its replacement come. States come from the sampler's
``/proc`` scans (the UI thread reads no ``/proc`` file): a process started after the latest
scan shows :data:`UNSCANNED` until the next one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sigscope.sources.base import LabProcess

KEEP_GONE = 4.0  # seconds a reaped process stays in the tree, dimmed
UNSCANNED = "?"  # the state of a process no scan has seen yet


@dataclass(frozen=True)
class ProcessRow:
    """One line of the tree: what a student needs to tell processes apart.

    Frozen, and compared by what it shows (:meth:`shown`), on purpose: a row that looks the
    same as the one drawn is not redrawn, and one that differs is redrawn alone (the process
    tree caches a line per row). ``age`` stays exact (a replay's ages are checked to the
    nanosecond); the tree shows it to the second, so it redraws a row once a second at most.
    """

    pid: int
    depth: int
    role: str  # "master", "worker 1", "orphan", "adopted" (an orphan the subreaper took in)
    behaviour: str
    state: str  # a /proc state letter, or "reaped" / "gone"
    age: float | None  # seconds since it started; None once gone
    received: int
    last_signal: str | None
    rate: tuple[float, ...] = ()  # signals handled per second, oldest first

    @property
    def gone(self) -> bool:
        return self.state in ("reaped", "gone")

    def shown(self) -> tuple[object, ...]:
        """Everything the tree draws of this row (the age as drawn, to the second)."""
        return (
            self.pid,
            self.depth,
            self.role,
            self.behaviour,
            self.state,
            format_age(self.age),
            self.received,
            self.last_signal,
            self.rate,
        )


StateOf = Callable[[int], "tuple[str, int] | None"]
"""pid -> (state letter, ppid), or None if the process no longer exists."""
RateOf = Callable[[int], "tuple[float, ...]"]
"""pid -> signals handled per second over the last seconds, oldest first."""


def build_rows(
    processes: Iterable[LabProcess],
    state_of: StateOf,
    ui_pid: int,
    gone_since: dict[int, float],
    clock: float | None = None,
    rate_of: RateOf | None = None,
    now_ns: int | None = None,
) -> list[ProcessRow]:
    """Order the lab's processes as a tree: master, then each worker and its own children.

    ``gone_since`` remembers when a process was first seen reaped (it is updated here), so
    that reaped processes linger for :data:`KEEP_GONE` seconds and then leave.

    ``now_ns`` is "now" on the clock of the processes' ``started`` times: the monotonic clock
    for a live lab, the recorded time at the play head for a replay (whose ``started`` are
    the recording's times, so a wall-clock age would count the replay, not the recording).
    ``clock`` (seconds, for the lingering) follows it unless given.
    """
    now_ns = time.monotonic_ns() if now_ns is None else now_ns
    clock = now_ns / 1e9 if clock is None else clock
    procs = list(processes)
    info: dict[int, tuple[str, int | None]] = {}
    for p in procs:
        if not p.alive:
            gone_since.setdefault(p.pid, clock)
            if clock - gone_since[p.pid] > KEEP_GONE:
                continue
            how = p.status.get("how")
            info[p.pid] = ("gone" if how is None and p.role != "master" else "reaped", None)
            continue
        seen = state_of(p.pid)
        if seen is None:
            # Exited and already reaped by someone, but its `reaped` event is not here yet.
            gone_since.setdefault(p.pid, clock)
            info[p.pid] = ("gone", None)
        else:
            info[p.pid] = (seen[0], seen[1])

    def row(p: LabProcess, depth: int) -> ProcessRow:
        state, ppid = info[p.pid]
        role, behaviour = p.role, p.behaviour or ""
        if p.role == "worker" and p.index is not None:
            role = f"worker {p.index}"
        elif p.role == "orphan":
            # Its worker forked it; once that worker is gone, the controller (sigscope, the
            # child subreaper) is its parent.
            role = "adopted" if ppid == ui_pid else "orphan"
            behaviour = behaviour or (f"(of {p.parent})" if p.parent else "")
        age = None if state in ("reaped", "gone") else max(0.0, (now_ns - p.started) / 1e9)
        rate = () if rate_of is None or state in ("reaped", "gone") else rate_of(p.pid)
        return ProcessRow(
            p.pid, depth, role, behaviour, state, age, p.received, p.last_signal, rate
        )

    shown = [p for p in procs if p.pid in info]
    masters = [p for p in shown if p.role == "master"]
    workers = sorted(
        (p for p in shown if p.role == "worker"),
        key=lambda p: (p.index if p.index is not None else 1 << 30, p.started),
    )
    others = [p for p in shown if p.role not in ("master", "worker")]
    rows = [row(p, 0) for p in masters]
    placed = {p.pid for p in masters}
    for w in workers:
        rows.append(row(w, 1))
        placed.add(w.pid)
        for child in others:
            parent = info[child.pid][1] or child.parent
            if parent == w.pid and info[w.pid][0] not in ("reaped", "gone"):
                rows.append(row(child, 2))
                placed.add(child.pid)
    rows.extend(row(p, 1) for p in others if p.pid not in placed)
    return rows


AGE_IN_MINUTES = 60  # seconds: from this age on, a row's age is drawn in whole minutes


def format_age(seconds: float | None) -> str:
    """An age as the tree draws it: whole seconds for the first minute (``42s``), then whole
    minutes (``17m``), then hours and minutes (``2h05m``), always rounded down, as ps's
    ELAPSED is.

    Like ``docker ps`` ("Up 42 seconds", "Up 17 minutes"), a process's age moves every second
    only while it is young, when a second tells a student something (this worker is the one
    the master just forked); after that, once a minute, so that a dashboard left open on a
    quiet lab redraws nothing most seconds (issue 14: idle at htop's cost).
    """
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < AGE_IN_MINUTES:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def age_step(seconds: float) -> float:
    """Seconds from an age of ``seconds`` until :func:`format_age` draws it differently."""
    unit = 1.0 if seconds < AGE_IN_MINUTES else 60.0
    return unit - seconds % unit


def next_change(
    rows: Iterable[ProcessRow], gone_since: dict[int, float], clock: float
) -> float | None:
    """Seconds until one of ``rows`` (built at ``clock``, with ``gone_since`` as
    :func:`build_rows` kept it) is drawn differently though nothing happens: an age's next
    step, or a reaped process leaving the tree. None: never (the tree can sleep). A moving
    rate curve is the caller's to add (:meth:`RateHistory.active`)."""
    soonest: float | None = None
    for r in rows:
        if r.age is not None:
            step = age_step(r.age)
        elif r.gone and r.pid in gone_since:
            step = max(0.0, gone_since[r.pid] + KEEP_GONE - clock)
        else:
            continue
        soonest = step if soonest is None else min(soonest, step)
    return soonest

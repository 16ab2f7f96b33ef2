"""What a lesson can see of the lab at one moment: the events so far and each process's state.

Predicates are checked against a :class:`World`. The process states come from the observer's
latest snapshot when the caller has one (the dashboard runs a sampler anyway); without one,
this module reads ``/proc/PID/stat`` and ``/proc/PID/status`` of the lab's processes itself,
so that lessons also run headless (tests, ``show_me`` in a script).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sigscope import procfs

if TYPE_CHECKING:
    from sigscope.lab.controller import Lab

Event = dict[str, Any]
SnapshotProvider = Callable[[], Any]  # returns an observer Snapshot, or None


@dataclass(frozen=True)
class ProcessFacts:
    """One lab process as a predicate sees it. Masks are sets of signal numbers."""

    pid: int
    role: str
    index: int | None
    state: str  # R S D Z T t X (proc(5)); "?" if it could not be read
    pending: frozenset[int] = frozenset()
    blocked: frozenset[int] = frozenset()
    ignored: frozenset[int] = frozenset()
    caught: frozenset[int] = frozenset()
    switches: int | None = None  # voluntary_ctxt_switches: how often it went to sleep and woke


def decode_mask(hex_text: str) -> frozenset[int]:
    """``/proc/PID/status`` masks are hex; bit n-1 stands for signal n."""
    value = int(hex_text, 16)
    return frozenset(n + 1 for n in range(value.bit_length()) if value >> n & 1)


def read_status(pid: int) -> dict[str, Any] | None:
    """From ``/proc/PID/status``: SigPnd | ShdPnd (pending to the thread or the process),
    SigBlk, SigIgn, SigCgt, and voluntary_ctxt_switches (each sleep that ended in a wake-up)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    raw: dict[str, frozenset[int]] = {}
    switches = None
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt"):
            raw[key] = decode_mask(value.strip())
        elif key == "voluntary_ctxt_switches":
            switches = int(value)
    empty: frozenset[int] = frozenset()
    return {
        "pending": raw.get("SigPnd", empty) | raw.get("ShdPnd", empty),
        "blocked": raw.get("SigBlk", empty),
        "ignored": raw.get("SigIgn", empty),
        "caught": raw.get("SigCgt", empty),
        "switches": switches,
    }


def switches_of(pid: int) -> int | None:
    found = read_status(pid)
    return None if found is None else found["switches"]


def facts_from_proc(lab: Lab) -> list[ProcessFacts]:
    """Read the state of every lab process that has not been reaped yet."""
    out = []
    for proc in list(lab.processes.values()):
        if not proc.alive or proc.ref is None:
            continue
        st = procfs.read_stat(proc.pid)
        if st is None or st.starttime != proc.ref.starttime:
            continue  # gone, or the pid now names another process
        status = read_status(proc.pid) or {}
        out.append(ProcessFacts(proc.pid, proc.role, proc.index, st.state, **status))
    return out


def facts_from_snapshot(snapshot: Any, lab: Lab) -> list[ProcessFacts]:
    """Adapt the observer's ``Snapshot`` (its ``ProcessView``s) to :class:`ProcessFacts`."""
    out = []
    for view in snapshot.processes:
        known = lab.processes.get(view.pid)
        role = view.role or (known.role if known else None)
        if role is None:
            continue
        index = view.index if view.index is not None else (known.index if known else None)
        m = view.masks
        out.append(
            ProcessFacts(
                view.pid,
                role,
                index,
                view.state,
                pending=frozenset(m.pending) | frozenset(m.shared_pending),
                blocked=frozenset(m.blocked),
                ignored=frozenset(m.ignored),
                caught=frozenset(m.caught),
                switches=switches_of(view.pid),  # the observer does not sample this one
            )
        )
    return out


@dataclass
class World:
    """The lab as seen by one check: events from ``start`` on, and processes right now.

    ``base`` is the absolute index (a :meth:`Lab.cursor` value) of ``events[0]``; evidence
    positions returned by predicates are absolute too.
    """

    lab: Lab
    events: list[Event]
    base: int
    start: int
    processes: list[ProcessFacts]
    baseline: dict[int, int] = field(default_factory=dict)  # pid -> switches at step start

    @classmethod
    def observe(
        cls,
        lab: Lab,
        start: int,
        origin: int = 0,
        snapshot: SnapshotProvider | None = None,
        baseline: dict[int, int] | None = None,
    ) -> World:
        """Take the lab's events since ``origin`` (a step looks only from ``start`` on)."""
        base = max(origin, 0)
        events = lab.events(base)
        snap = snapshot() if snapshot is not None else None
        facts = facts_from_snapshot(snap, lab) if snap is not None else facts_from_proc(lab)
        return cls(lab, events, base, start, facts, dict(baseline or {}))

    def wakeups(self, p: ProcessFacts) -> int | None:
        """How often ``p`` woke since the step began (since it started, if it is newer)."""
        if p.switches is None:
            return None
        return p.switches - self.baseline.get(p.pid, 0)

    @property
    def end(self) -> int:
        """The absolute index just past the last event seen."""
        return self.base + len(self.events)

    def since(self, start: int) -> list[tuple[int, Event]]:
        """Events at absolute index ``start`` or later, with their indices."""
        first = max(0, start - self.base)
        return [(self.base + i, self.events[i]) for i in range(first, len(self.events))]

    def live_workers(self) -> int:
        """Workers that are running (or stopped): not exited, not zombies, not reaped."""
        return sum(1 for p in self.lab.live_workers() if not p.exited)

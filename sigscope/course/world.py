"""What a lesson can see of the lab at one moment: the events so far and each process's state.

Predicates are checked against a :class:`World`. Its processes are the observer's
:class:`~sigscope.observe.sampler.ProcessView`s: from the sampler's latest snapshot when the
caller has one (the dashboard runs a sampler anyway); without one, read from /proc here for
the lab's processes (through the same reader), so that lessons also run headless (tests,
``show_me`` in a script).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sigscope.observe.sampler import ProcessView, read_view

if TYPE_CHECKING:
    from sigscope.lab.controller import Lab

Event = dict[str, Any]
SnapshotProvider = Callable[[], Any]  # returns an observer Snapshot, or None


def facts_from_proc(lab: Lab) -> list[ProcessView]:
    """Every lab process that has not been reaped yet, read from /proc now."""
    out = []
    for proc in list(lab.processes.values()):
        if not proc.alive or proc.ref is None:
            continue
        view = read_view(proc.pid, proc)
        if view is None or view.starttime != proc.ref.starttime:
            continue  # gone, or the pid now names another process
        out.append(view)
    return out


def facts_from_lane(lab: Lab) -> tuple[list[ProcessView], frozenset[int]]:
    """The terminal lane's processes (issue 16), read from /proc now and named ``shell`` (the
    session leader) or ``job``: a lab started with a terminal has them beside its own.

    Also the jobs that are still copies of the shell: forked, not yet exec'd (the shell's name
    now, and its argv at the lane's last scan). Such a copy runs the shell's code with the
    shell's handlers until it execs (bash's copy catches SIGINT, then execs sleep, which does
    not): what it catches, ignores or blocks is not yet the job's program's."""
    lane = lab.terminal
    view = lane.view() if lane is not None else None
    if view is None:
        return [], frozenset()
    shell = view.processes.get(view.shell)
    out = []
    copies = set()
    for pid, seen in view.processes.items():
        found = read_view(pid)
        if found is None or found.starttime != seen.starttime:
            continue  # gone, or the pid now names another process
        role = "shell" if pid == view.shell else "job"
        out.append(dataclasses.replace(found, role=role))
        still_the_shell = shell is not None and (found.comm, seen.argv) == (shell.comm, shell.argv)
        if role == "job" and still_the_shell:
            copies.add(pid)
    return out, frozenset(copies)


def facts_from_snapshot(snapshot: Any, lab: Lab) -> list[ProcessView]:
    """The lab's processes in the observer's ``Snapshot``: those it has a role for, named by
    the lab's table when the scan came before the lab heard of them."""
    out = []
    for view in snapshot.processes:
        if view.role is None:
            known = lab.processes.get(view.pid)
            if known is None or known.role is None:
                continue
            view = dataclasses.replace(
                view, role=known.role, index=known.index, behaviour=known.behaviour
            )
        out.append(view)
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
    processes: list[ProcessView]
    baseline: dict[int, int] = field(default_factory=dict)  # pid -> switches at step start
    # Terminal jobs that are still copies of the shell (facts_from_lane): their signal masks
    # are the shell's, so the mask predicates (caught, ignored, blocked, pending) skip them.
    shell_copies: frozenset[int] = frozenset()

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
        lane, copies = facts_from_lane(lab)  # the sampler watches the lab's tree, not the lane
        return cls(lab, events, base, start, facts + lane, dict(baseline or {}), copies)

    def shell_pid(self) -> int | None:
        """The terminal lane's shell (its session leader), if the lab has a terminal."""
        lane = self.lab.terminal
        return (lane.shell_pid or None) if lane is not None else None

    def wakeups(self, p: ProcessView) -> int | None:
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

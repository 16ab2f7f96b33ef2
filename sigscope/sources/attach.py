"""Observe and signal an existing process tree that you own: ``sigscope attach PID``.

An :class:`AttachedTree` offers the part of the :class:`~sigscope.lab.controller.Lab` API that
needs no lab of our own — ``processes``, ``master_pid``, ``live_workers()``, ``send``, the event
history and its waits — so the dashboard shows an attached tree as it shows a lab. What it
cannot know is said plainly: there are no ``received`` events unless ``--strace`` runs (a
process that sigscope did not write does not report its handlers), and no wait statuses (only
the parent can reap).

Events of an attached tree (beyond the contract's): ``appeared`` (``child``, ``ppid``,
``comm``), ``exited`` (``child``: it is gone; the status went to its parent), ``mask``
(``child``, ``mask``: caught / ignored / blocked, ``added`` and ``removed`` signal names: a
handler installed, a signal blocked), ``ended`` (the root has gone).
"""

from __future__ import annotations

import os
import pwd
import threading
from collections.abc import Callable
from typing import Any

from sigscope import procfs
from sigscope.events import Event, controller_event
from sigscope.numbers import is_int, parse_int
from sigscope.observe.masks import mask_names
from sigscope.observe.sampler import Sampler, Snapshot
from sigscope.safety import (
    ProcessRef,
    SendRefused,
    ancestors,
    is_kernel_thread,
    owner_uid,
)
from sigscope.signames import parse_signal
from sigscope.sources.base import LabProcess, SourceError, SourceTimeout, send_recorded
from sigscope.sources.eventlog import EventLog
from sigscope.sources.strace import StraceFeed


class AttachError(SourceError):
    """Cannot attach, or cannot do what was asked of the attached tree (one line, plain)."""


class AttachTimeout(AttachError, SourceTimeout):
    """An awaited event did not come in time."""


def check_attachable(pid: int) -> None:
    """Refuse a root that does not exist, is not ours, or is off-limits.

    Raises:
        AttachError: with a one-line reason.
    """
    if pid <= 1:
        raise AttachError(f"pid {pid} is off-limits: sigscope never attaches to init or below")
    st = procfs.read_stat(pid)
    if st is None:
        raise AttachError(f"no process has pid {pid}")
    if pid == os.getpid() or pid in ancestors():
        raise AttachError(f"pid {pid} is off-limits: it is sigscope itself or its ancestor")
    if is_kernel_thread(pid, st):
        raise AttachError(f"pid {pid} ({st.comm}) is a kernel thread: there is nothing to attach")
    owner = owner_uid(pid)
    if owner is not None and owner != os.getuid():
        try:
            name = pwd.getpwuid(owner).pw_name
        except KeyError:
            name = str(owner)
        raise AttachError(
            f"pid {pid} ({st.comm}) belongs to user {name}: you can only attach to your own"
        )


class AttachedTree(EventLog):
    """A live view of the tree rooted at ``root``, kept by a :class:`Sampler` thread."""

    timeout_error = AttachTimeout
    # What this source can do (sigscope.sources.base.Source): watch and signal, no more.
    live = True
    can_send = True
    can_control = False  # not a lab of ours: no master to ask, no reaping mode, no restart
    can_run_code = False
    can_record = False

    def __init__(self, root: int, interval: float = 0.25, strace: bool = False) -> None:
        super().__init__()
        check_attachable(root)
        self.root = root
        self.pid = os.getpid()
        self.pgid: int | None = None  # nothing is re-parented to us: no adopted scan
        self.processes: dict[int, LabProcess] = {}
        self.ended = threading.Event()
        self.reaping = "unknown"
        self._masks: dict[int, dict[str, frozenset[int]]] = {}
        self._next_index = 0
        self._add(root, procfs.read_stat(root), announce=False)
        self.sampler = Sampler(self, interval=interval)
        self.sampler.subscribe(self._on_snapshot)
        self.want_strace = strace
        self.strace: StraceFeed | None = None

    # -- the Lab-like surface ----------------------------------------------------------------
    def __enter__(self) -> AttachedTree:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> AttachedTree:
        self.sampler.scan()
        if self.want_strace:
            pids = [self.root, *(p.pid for p in self.live_workers())]
            self.strace = StraceFeed(pids, self._deliver, self._role_of)
            if not self.strace.start():
                self._say_strace_problem()
        self.sampler.start()
        return self

    def _say_strace_problem(self) -> None:
        if self.strace is not None and self.strace.problem:
            self._deliver(controller_event(self.pid, "error", text=self.strace.problem))

    def _role_of(self, pid: int) -> str:
        proc = self.processes.get(pid)
        return proc.role if proc is not None else "worker"

    def close(self) -> None:
        if self.strace is not None:
            self.strace.stop()
        self.sampler.stop()
        self.ended.set()

    @property
    def master_pid(self) -> int:
        return self.root

    def run_code(self, target: str | int, code: str) -> int:
        """Never: attach observes someone's processes; it runs no code in them (issue 17)."""
        raise AttachError("attach mode runs no code: the playground is only for sigscope's lab")

    def stop_code(self, target: str | int, grace: float = 0.0) -> str:
        raise AttachError("attach mode runs no code: the playground is only for sigscope's lab")

    @property
    def running(self) -> bool:
        return not self.ended.is_set()

    def live_workers(self) -> list[LabProcess]:
        with self._cond:
            found = [p for p in self.processes.values() if p.pid != self.root and p.alive]
        return sorted(found, key=lambda p: (p.index if p.index is not None else 0, p.pid))

    def in_tree(self, pid: int) -> bool:
        proc = self.processes.get(pid)
        return proc is not None and proc.alive

    def send(self, target: str | int, sig: str | int, value: int | None = None) -> LabProcess:
        """Signal one process of the tree through a checked pidfd; nothing outside it.

        With ``value``, queued as the lab does it (SI_QUEUE through the same pidfd)."""
        signum = parse_signal(sig) if isinstance(sig, str) else int(sig)
        text = str(target).strip().lower()
        pid = self.root if text == "master" else parse_int(text) if is_int(text) else None
        if pid is None:
            raise AttachError(f"bad target {target!r}: a pid of the attached tree, or master")
        proc = self.processes.get(pid)
        if proc is None or not proc.alive or proc.ref is None:
            raise AttachError(f"pid {pid} is not a live process of the attached tree")
        try:
            send_recorded(self, self.pid, proc, signum, managed=self.in_tree, value=value)
        except SendRefused as e:
            raise AttachError(str(e)) from None
        return proc

    def request_status(self) -> None:
        """An attached tree has no master of ours to ask: nothing to do."""

    def subscribe_snapshots(self, callback: Callable[[Snapshot], None]) -> None:
        """``callback(snapshot)`` after every scan of the tree's sampler (started by
        :meth:`start`, stopped by :meth:`close`)."""
        self.sampler.subscribe(callback)

    @property
    def latest_snapshot(self) -> Snapshot | None:
        return self.sampler.latest

    def record_snapshot(self, snapshot: Snapshot) -> None:
        """An attached tree writes no recording."""

    def set_reaping(self, mode: str) -> None:
        raise AttachError("reaping modes belong to sigscope's own lab, not to an attached tree")

    def spawn_worker(self, behaviour: str = "idle", params: dict[str, Any] | None = None) -> None:
        raise AttachError("an attached tree's workers are its own master's to start")

    # -- keeping up with the tree ----------------------------------------------------------------
    def _add(self, pid: int, st: procfs.Stat | None, announce: bool = True) -> None:
        if st is None:
            return
        role = "master" if pid == self.root else "worker"
        index = None
        if role == "worker":
            index = self._next_index
            self._next_index += 1
        self.processes[pid] = LabProcess(
            pid,
            role,
            ProcessRef(pid, st.starttime),
            index=index,
            behaviour=st.comm,
            parent=st.ppid,
        )
        if announce:
            self._deliver(
                controller_event(
                    self.pid, "appeared", child=pid, ppid=st.ppid, comm=st.comm, index=index
                )
            )

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        seen = {v.pid: v for v in snapshot.processes}
        for pid, view in seen.items():
            if pid not in self.processes:
                self._add(pid, procfs.read_stat(pid))
            self._diff_masks(
                snapshot.t,
                pid,
                {
                    "caught": view.masks.caught,
                    "ignored": view.masks.ignored,
                    "blocked": view.masks.blocked,
                },
            )
        for pid, proc in list(self.processes.items()):
            if proc.alive and pid not in seen:
                proc.alive = False
                proc.exited = True
                self._masks.pop(pid, None)
                self._deliver(controller_event(self.pid, "exited", t=snapshot.t, child=pid))
        root = seen.get(self.root)
        if (root is None or root.state in ("Z", "X")) and not self.ended.is_set():
            self._deliver(
                controller_event(
                    self.pid, "ended", text=f"the attached tree (pid {self.root}) has ended"
                )
            )
            self.ended.set()

    def _diff_masks(self, t: int, pid: int, masks: dict[str, frozenset[int]]) -> None:
        before = self._masks.get(pid)
        self._masks[pid] = masks
        if before is None:
            return
        for name, now_set in masks.items():
            old = before[name]
            if now_set != old:
                self._deliver(
                    controller_event(
                        self.pid,
                        "mask",
                        t=t,
                        child=pid,
                        mask=name,
                        added=mask_names(now_set - old),
                        removed=mask_names(old - now_set),
                    )
                )

    def _track(self, event: Event) -> None:
        if event.get("kind") == "received":
            proc = self.processes.get(event["pid"])
            if proc is not None:
                proc.received += 1
                proc.last_signal = event.get("sig")


def describe_tree(tree: AttachedTree) -> list[dict[str, Any]]:
    """A plain list of the tree's live processes, for printing and tests."""
    return [
        {"pid": p.pid, "role": p.role, "comm": p.behaviour, "ppid": p.parent}
        for p in sorted(tree.processes.values(), key=lambda p: p.pid)
        if p.alive
    ]

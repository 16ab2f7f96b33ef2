"""What every source is: the :class:`Source` protocol, and what all sources share.

A source is what the dashboard, a lesson or ``sigscope trace`` watches and acts on: a live lab
(:class:`sigscope.lab.controller.Lab`), a tree followed by pid
(:class:`sigscope.sources.attach.AttachedTree`) or a recording
(:class:`sigscope.sources.replay.Replay`). The three share one surface, :class:`Source`:

- the event log (:class:`~sigscope.sources.eventlog.EventLog`): ``subscribe``, ``cursor``,
  ``events``, ``wait_for``, ``wait_all``, ``wait_until``, ``add_event``;
- the tree: ``processes`` (pid → :class:`LabProcess`), ``master_pid``, ``live_workers()``;
- observer snapshots: ``subscribe_snapshots`` and ``latest_snapshot``;
- acting: ``send`` and the lab's own controls, which a source that cannot do them refuses
  with a :class:`SourceError` (one plain line);
- capabilities, declared as attributes rather than probed for: ``live`` (its pids are this
  machine's processes now), ``can_send``, ``can_control`` (reaping, spawn, status, restart:
  a lab of our own), ``can_run_code`` (playground snippets), ``can_record`` (it writes a
  recording as it goes).

Here too are the pieces every source uses: the process record (:class:`LabProcess`), the
process table kept from events (:func:`track_event`) and the checked, recorded send
(:func:`send_recorded`). Nothing here imports the lab: the lab imports this.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sigscope.events import Event, controller_event, now
from sigscope.safety import ProcessRef, SendRefused, pidfd_for, signal_pidfd
from sigscope.signames import signal_name
from sigscope.sources.eventlog import EventLog, EventTimeout, Match

if TYPE_CHECKING:
    from sigscope.observe.sampler import Snapshot

SnapshotCallback = Callable[["Snapshot"], None]


class SourceError(Exception):
    """A source could not do what was asked; the message is one line fit to show a user."""


class SourceTimeout(SourceError, EventTimeout):
    """An awaited event did not come in time."""


@dataclass
class LabProcess:
    """What a source knows of one process, kept from its events (:func:`track_event`).

    The lab's table, an attached tree's and a replay's are all of these; what the kernel says
    of the process at one moment is the observer's ``ProcessView``.
    """

    pid: int
    role: str  # master, worker, orphan
    ref: ProcessRef | None
    index: int | None = None
    behaviour: str | None = None
    parent: int | None = None
    alive: bool = True  # False once reaped (by anyone) or gone
    exited: bool = False  # it reported exit, or its pidfd said it ended
    status: dict[str, Any] = field(default_factory=dict)
    received: int = 0
    last_signal: str | None = None
    started: int = field(default_factory=now)
    ready: bool = False  # its behaviour has installed its handlers (the ready event)


class Source(Protocol):
    """The one surface of a lab, an attached tree and a replay (see the module's text)."""

    # -- capabilities (declared: read them, never probe for them) ------------------------------
    @property
    def live(self) -> bool:
        """Its pids are processes on this machine now (False: a recording's; read no /proc)."""
        ...

    @property
    def can_send(self) -> bool:
        """``send`` may signal a process (False: a recording)."""
        ...

    @property
    def can_control(self) -> bool:
        """The lab's own controls apply: reaping mode, spawn, status requests, restart."""
        ...

    @property
    def can_run_code(self) -> bool:
        """``run_code`` may run a snippet in a playground worker (sigscope's own lab, with
        code allowed)."""
        ...

    @property
    def can_record(self) -> bool:
        """It writes a recording as it goes (``--record``): events and observer snapshots."""
        ...

    # -- the tree ------------------------------------------------------------------------------
    pid: int
    """This process's pid: the ``pid`` of the events of role ``controller``."""
    pgid: int | None
    processes: dict[int, LabProcess]
    reaping: str
    ended: threading.Event

    @property
    def timeout_error(self) -> type[Exception]:
        """What its waits raise on a timeout (a :class:`SourceTimeout`)."""
        ...

    @property
    def master_pid(self) -> int: ...

    @property
    def running(self) -> bool: ...

    def live_workers(self) -> list[LabProcess]: ...

    def start(self) -> Source: ...

    def close(self) -> None: ...

    # -- events --------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Event], None]) -> None: ...

    def add_event(self, event: Event) -> None: ...

    def cursor(self) -> int: ...

    def events(self, since: int = 0) -> list[Event]: ...

    def wait_for(
        self, match: Match | None = None, timeout: float = 5.0, since: int = 0, **fields: Any
    ) -> Event: ...

    def wait_all(
        self,
        count: int,
        timeout: float = 5.0,
        since: int = 0,
        match: Match | None = None,
        **fields: Any,
    ) -> list[Event]: ...

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None: ...

    # -- snapshots -----------------------------------------------------------------------------
    def subscribe_snapshots(self, callback: SnapshotCallback) -> None:
        """``callback(snapshot)`` for every observer snapshot from now on, on the thread that
        makes it (a live source starts its sampler for the first subscriber)."""
        ...

    @property
    def latest_snapshot(self) -> Snapshot | None: ...

    def record_snapshot(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` in the recording, if this source writes one (else nothing)."""
        ...

    # -- acting --------------------------------------------------------------------------------
    def send(self, target: str | int, sig: str | int, value: int | None = None) -> LabProcess: ...

    def request_status(self) -> None: ...

    def set_reaping(self, mode: str) -> None: ...

    def spawn_worker(
        self, behaviour: str = "idle", params: dict[str, Any] | None = None
    ) -> None: ...

    def run_code(self, target: str | int, code: str) -> int: ...

    def stop_code(self, target: str | int, grace: float = ...) -> str: ...


def send_recorded(
    log: EventLog,
    pid: int,
    proc: LabProcess,
    signum: int,
    managed: Callable[[int], bool],
    value: int | None = None,
) -> None:
    """Signal ``proc`` through a checked pidfd, with a ``sent`` event from ``pid`` (role
    controller) into ``log``, or an ``error`` event saying why not. Every live source sends
    with it.

    With ``value``: ``pidfd_send_signal`` with a siginfo as ``sigqueue(3)`` builds it (SI_QUEUE;
    allowed to another process because ``si_code`` is negative, pidfd_send_signal(2) and
    rt_sigqueueinfo(2)). Python's ``signal.pidfd_send_signal`` takes no siginfo, hence ctypes;
    the pidfd keeps the start-time check race-free, where ``sigqueue(pid)`` would not.

    The sent event goes into the stream before the signal, so that its received event can
    never be read ahead of it; its ``t`` is taken after the safety checks.

    Raises:
        SendRefused: the policy, the kernel, or a pid that is no longer this process.
    """
    assert proc.ref is not None
    try:
        with pidfd_for(proc.ref, signum, managed=managed) as fd:
            queued: dict[str, Any] = {} if value is None else {"value": value, "via": "sigqueue"}
            log.add_event(
                controller_event(
                    pid,
                    "sent",
                    sig=signal_name(signum),
                    target=proc.pid,
                    target_role=proc.role,
                    **queued,
                )
            )
            if value is None:
                signal_pidfd(fd, proc.pid, signum)
            else:
                _queue_pidfd(fd, proc.pid, signum, value)
    except SendRefused as e:
        log.add_event(controller_event(pid, "error", text=str(e)))
        raise


def _queue_pidfd(fd: int, pid: int, signum: int, value: int) -> None:
    """A queued value through the pidfd, with the kernel's refusals said in words."""
    from sigscope import libc

    try:
        libc.pidfd_sigqueue(fd, signum, value)
    except libc.LibcError as e:
        name = signal_name(signum)
        if e.errno == errno.ESRCH:
            raise SendRefused(f"process {pid} has exited; {name} not sent") from None
        if e.errno == errno.EPERM:
            raise SendRefused(f"not allowed to signal pid {pid} (another user's)") from None
        if e.errno == errno.EAGAIN:
            raise SendRefused(
                f"{name}={value} not queued to pid {pid}: EAGAIN, the user's queued signals "
                "reached RLIMIT_SIGPENDING"
            ) from None
        raise SendRefused(f"{name}={value} not sent to pid {pid}: {e.strerror}") from None
    except ValueError as e:
        raise SendRefused(str(e)) from None


def workers_by_index(processes: Iterable[LabProcess]) -> list[LabProcess]:
    """The workers among ``processes`` not yet reaped (zombies included: they are not reaped),
    by index, then pid."""
    found = [p for p in processes if p.role == "worker" and p.alive]
    return sorted(found, key=lambda p: (p.index if p.index is not None else 1 << 30, p.pid))


def track_event(
    processes: dict[int, LabProcess],
    event: Event,
    start_time: Callable[[int], int | None] = lambda pid: None,
    early_ready: set[int] | None = None,
) -> LabProcess | None:
    """Update a process table from one event; return the process it introduced, if any.

    The lab, a replay and the lessons keep their tables with this one function, so a
    recording shows the same tree the live lab did. A worker's own ``ready`` can be read
    before the master's ``spawn`` of it (two writers, one channel): ``early_ready`` keeps
    such pids until their spawn arrives.
    """
    kind = event.get("kind")
    if kind in ("spawn", "fork"):
        pid = event["child"]
        st = event.get("starttime") or start_time(pid)
        proc = LabProcess(
            pid,
            "worker" if kind == "spawn" else "orphan",
            ProcessRef(pid, st) if st else None,
            index=event.get("index"),
            behaviour=event.get("behaviour"),
            parent=event.get("pid"),
        )
        if early_ready is not None and pid in early_ready:
            early_ready.discard(pid)
            proc.ready = True
        processes[pid] = proc
        return proc
    known = processes.get(event.get("child" if kind in ("reaped", "gone") else "pid", -1))
    if known is None:
        if kind == "ready" and early_ready is not None:
            early_ready.add(event["pid"])
        return None
    if kind in ("reaped", "gone"):
        known.alive = False
        known.exited = True
        known.status = {k: event.get(k) for k in ("status", "exitcode", "how", "sig")}
    elif kind == "received":
        known.received += 1
        known.last_signal = event.get("sig")
    elif kind == "exit":
        known.status.setdefault("code", event.get("code"))
    elif kind == "ready":
        known.ready = True
    return None

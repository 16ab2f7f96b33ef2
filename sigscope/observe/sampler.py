"""The sampler: what the kernel says about every process of a lab, a few times a second.

Each scan reads ``/proc/PID/stat`` (state, ppid, pgid, start time, threads, CPU time) and
``/proc/PID/status`` (the five signal masks and SigQ, which psutil does not expose; the
voluntary context switches) for the managed tree, and publishes an immutable
:class:`Snapshot`. The tree is:

- the lab's known processes (``lab.processes`` still alive: master, workers, reported forks);
- every descendant of those, found through ``/proc/PID/task/TID/children`` (grandchildren a
  worker forked without telling us);
- children of the controller in the lab's process group: orphans the controller adopted as a
  child subreaper.

When a process enters or leaves a state a person should notice (Z zombie, T stopped,
t traced, X dead) or disappears, the sampler adds a ``state`` event to the lab's stream
(``old`` is None for a process first seen in such a state). R, S and D are not reported: a
busy worker flips between them many times a second.

Cost: a scan of 100 workers reads about 300 small /proc files. Each process's files are kept
open between scans and re-read with ``pread(fd, n, 0)`` (the kernel renders them afresh), which
saves the path lookup, open and close. :mod:`sigscope.procfs` parses both files (the six
SigQ/mask lines, mostly identical across workers, are decoded once per distinct text).
``python -m bench.bench_observer`` measures it.

Cadence (issue 14): a lab's sampler scans four times a second while something happens (for
:data:`BUSY_FOR` seconds after any event of the lab, :meth:`Sampler.poke`, or any scan that
differs from the one before), and once a second when nothing does, as htop does (its default
delay is 1.5 s). An event wakes a slow sampler at once, so a change a lesson waits for is seen
within a fraction of a second, and a quiet one is still seen within a second.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sigscope.events import Event, controller_event, now
from sigscope.procfs import (
    GONE,
    Masks,
    Stat,
    children_of,
    parse_stat,
    parse_status_masks,
    voluntary_switches,
)
from sigscope.safety import ProcessRef

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FAST_INTERVAL = 0.25  # seconds between scans while something happens
IDLE_INTERVAL = 1.0  # seconds between scans of a quiet lab (htop's default delay is 1.5 s)
BUSY_FOR = 2.0  # seconds the fast cadence lasts after the last event or change
# States worth an event: the rest (R, S, D, I) flicker many times a second in a busy worker.
NOTABLE_STATES = frozenset({"Z", "T", "t", "X", "gone"})


class Known(Protocol):
    """What the sampler reads of a process its source knows (a ``LabProcess``): how to name
    it, and the start time that tells it from a later process with the same pid."""

    @property
    def role(self) -> str: ...
    @property
    def index(self) -> int | None: ...
    @property
    def behaviour(self) -> str | None: ...
    @property
    def alive(self) -> bool: ...
    @property
    def ref(self) -> ProcessRef | None: ...


class Scanned(Protocol):
    """What the sampler needs of what it scans (a lab, an attached tree): its processes, the
    pid whose adopted children may belong to it, and an event stream to add ``state`` to.
    (The observer does not import the lab: it sits beside it, below the sources.)"""

    @property
    def pid(self) -> int: ...
    @property
    def pgid(self) -> int | None: ...
    @property
    def processes(self) -> Mapping[int, Known]: ...
    @property
    def ended(self) -> threading.Event: ...
    def add_event(self, event: Event) -> None: ...
    def record_snapshot(self, snapshot: Snapshot) -> None: ...  # kept if it records


@dataclass(frozen=True)
class ProcessView:
    """One process at one scan: what the UI, recordings and lesson checks see of it.

    It joins the three sources nothing else joins: its :class:`~sigscope.procfs.Stat` line, its
    status file (masks, wake-ups) and the lab's name for it (role, index, behaviour), read at
    one moment and never changed. ``procfs.Stat`` is one file; ``LabProcess`` is what the lab
    was told, alive or not.
    """

    pid: int
    ppid: int
    pgid: int
    state: str  # R S D Z T t X (proc(5))
    comm: str
    starttime: int  # clock ticks after boot; with the pid it names one process
    threads: int
    cpu_seconds: float  # user + system
    masks: Masks
    role: str | None  # from the lab's table; None if the lab does not know the process
    index: int | None
    behaviour: str | None
    # voluntary_ctxt_switches (how often it slept and was woken), from the status file the scan
    # reads anyway; None where it is unknown (a recording keeps no wake-ups).
    switches: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """Every process of the managed tree at one moment; never changes once published."""

    t: int  # time.monotonic_ns() at the start of the scan
    processes: tuple[ProcessView, ...]
    _index: dict[int, ProcessView] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {p.pid: p for p in self.processes})

    def by_pid(self, pid: int) -> ProcessView | None:
        return self._index.get(pid)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]


# -- reading /proc -------------------------------------------------------------------------
def _read(path: str, size: int = 4096) -> bytes | None:
    """The contents of a small /proc file, or None if the process has gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except GONE:
        return None
    try:
        return os.read(fd, size)
    except ProcessLookupError:
        return None
    finally:
        os.close(fd)


class _ProcFiles:
    """/proc/PID/stat, status and the main thread's children file of one process, kept open.

    Two reasons. An open /proc file stays bound to the process it was opened for: once that
    process is reaped, reads fail with ESRCH, even if its pid has been given to a new process,
    so a kept file cannot show a stranger's data under an old pid. And ``pread(fd, n, 0)`` makes
    the kernel render the file afresh without the path lookup, open and close of each scan,
    which is about half the cost of reading a small file. If the process runs out of file
    descriptors, the files are read by path instead.
    """

    __slots__ = ("pid", "fds", "starttime")

    NAMES = ("stat", "status", "children")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fds = [-1, -1, -1]
        self.starttime = -1
        for i, name in enumerate(self._paths()):
            try:
                self.fds[i] = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
            except GONE:
                break  # read() will say it has gone
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE):
                    break  # fall back to reading by path
                raise

    def _paths(self) -> tuple[str, str, str]:
        p = self.pid
        return (f"/proc/{p}/stat", f"/proc/{p}/status", f"/proc/{p}/task/{p}/children")

    def read(self, which: int, size: int = 4096) -> bytes | None:
        """File ``which`` (0 stat, 1 status, 2 children) now, or None if the process is gone."""
        fd = self.fds[which]
        if fd < 0:
            return _read(self._paths()[which], size)
        try:
            return os.pread(fd, size, 0)
        except GONE:
            return None

    def close(self) -> None:
        for i, fd in enumerate(self.fds):
            if fd >= 0:
                os.close(fd)
                self.fds[i] = -1

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # at interpreter exit, os may already be torn down
            pass


def _children(pid: int, threads: int, files: _ProcFiles | None = None) -> list[int]:
    """Children of ``pid``: the main thread's list, or every thread's when it has several
    (a child belongs to the thread that forked it)."""
    if threads <= 1:
        data = files.read(2) if files is not None else _read(f"/proc/{pid}/task/{pid}/children")
        return [int(c) for c in data.split()] if data else []
    return children_of(pid)


# -- the sampler ---------------------------------------------------------------------------
class Sampler:
    """Scans a lab's tree every ``interval`` seconds on a daemon thread (or on demand).

    Args:
        lab: a started lab (:class:`~sigscope.lab.controller.Lab`) or attached tree.
        interval: seconds between scans of the thread while the lab is busy; a few per
            second is enough for eyes, and each scan of 100 workers costs a few milliseconds.
        idle_interval: seconds between scans once nothing has happened for ``busy_for``
            seconds (no event, no scan unlike the one before); None: always ``interval``.
        busy_for: how long after the last event or change the fast cadence lasts.
    """

    def __init__(
        self,
        lab: Scanned,
        interval: float = FAST_INTERVAL,
        idle_interval: float | None = None,
        busy_for: float = BUSY_FOR,
    ) -> None:
        for name, value in (("interval", interval), ("idle_interval", idle_interval)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        self.lab = lab
        self.interval = interval
        # None: always ``interval`` (``trace``, an attached tree, tests that count scans).
        self.idle_interval = max(interval, idle_interval or interval)
        self.busy_for = busy_for
        self._busy_until = 0.0  # monotonic: scan at ``interval`` until then
        self._slow = False  # the thread is waiting ``idle_interval`` now: a poke wakes it
        self._wake = threading.Event()
        self._latest: Snapshot | None = None
        self._subscribers: list[Callable[[Snapshot], None]] = []
        self._scan_lock = threading.Lock()  # one scan at a time: each diffs against the last
        self._seen: dict[tuple[int, int], ProcessView] = {}  # (pid, starttime) -> last view
        self._files: dict[int, _ProcFiles] = {}  # kept open between scans (see _ProcFiles)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def latest(self) -> Snapshot | None:
        """The last published snapshot (None before the first scan)."""
        return self._latest

    @property
    def running(self) -> bool:
        """The scanning thread is alive (it ends on :meth:`stop` or when the lab ends)."""
        return self._thread is not None and self._thread.is_alive()

    def subscribe(self, callback: Callable[[Snapshot], None]) -> None:
        """Call ``callback(snapshot)`` after every scan, on the scanning thread."""
        self._subscribers.append(callback)

    def start(self) -> None:
        """Scan now and then every ``interval`` on a daemon thread, until :meth:`stop` or the
        lab ends."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sigscope-sampler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close the /proc files kept open between scans."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None
        self._close_files()

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        reported: set[str] = set()
        while not self._stop.is_set() and not self.lab.ended.is_set():
            try:
                self.scan()
            except Exception as e:  # a daemon thread that dies says nothing: say it, once
                text = f"sampler: {type(e).__name__}: {e}"
                if text not in reported and not self.lab.ended.is_set():
                    reported.add(text)
                    self.lab.add_event(controller_event(self.lab.pid, "error", text=text))
            self._pause()
        self._close_files()

    def poke(self, event: Event | None = None) -> None:
        """Something happened (an event of the lab: call it from the lab's subscribers): scan
        at the fast cadence for ``busy_for`` seconds, and now if the sampler was idling.
        Cheap enough for every event of a storm (a clock read and an attribute)."""
        self._busy_until = time.monotonic() + self.busy_for
        if self._slow:
            self._slow = False
            self._wake.set()

    @property
    def idle(self) -> bool:
        """Scanning at ``idle_interval`` now (nothing has happened for ``busy_for`` s)."""
        return self.idle_interval > self.interval and time.monotonic() >= self._busy_until

    def _pause(self) -> None:
        """Wait until the next scan is due: ``interval`` while busy, else ``idle_interval``
        or until :meth:`poke` or :meth:`stop`."""
        if not self.idle:
            self._stop.wait(self.interval)
            return
        self._wake.clear()
        self._slow = True
        if time.monotonic() < self._busy_until:  # a poke between the check and the flag
            self._slow = False
            return
        self._wake.wait(self.idle_interval)
        self._slow = False

    def scan(self) -> Snapshot:
        """Read the tree once, publish the snapshot, add ``state`` events for changes."""
        with self._scan_lock:
            snapshot = self._read_tree()
            events = self._diff(snapshot)
            if self._latest is None or _changed(self._latest, snapshot):
                self._busy_until = time.monotonic() + self.busy_for  # a change: look again soon
            self._latest = snapshot
        if not self.lab.ended.is_set():
            for event in events:
                self.lab.add_event(event)
            self.lab.record_snapshot(snapshot)  # a lab that records keeps its snapshots too
        for callback in self._subscribers:
            callback(snapshot)
        return snapshot

    # -- one scan ------------------------------------------------------------------------------
    def _known(self) -> dict[int, Known]:
        # The lab's reader thread adds to this dict; copying it may race with that, so retry.
        for _ in range(10):
            try:
                return {pid: p for pid, p in list(self.lab.processes.items()) if p.alive}
            except RuntimeError:
                continue
        return {}

    def _read_tree(self) -> Snapshot:
        t = now()
        lab = self.lab
        known = self._known()
        # (pid, adopted): adopted ones are the controller's children, which only belong to the
        # lab when they are in its process group; descendants of lab processes always do.
        todo: list[tuple[int, bool]] = [(pid, False) for pid in known]
        if lab.pgid is not None:
            todo.extend((child, True) for child in _children(lab.pid, _thread_count(lab.pid)))
        views: list[ProcessView] = []
        visited: set[int] = set()
        while todo:
            pid, adopted = todo.pop()
            if pid in visited:
                continue
            found = self._open(pid)
            if found is None:
                continue
            files, st = found
            proc = known.get(pid)
            if (
                proc is not None and proc.ref is not None and proc.ref.starttime != st.starttime
            ) or (proc is None and adopted and st.pgid != lab.pgid):
                # A reused pid the lab knows under another start time, or a child of the
                # controller that is not the lab's.
                files.close()
                del self._files[pid]
                continue
            visited.add(pid)
            status = files.read(1, 8192)
            if not status:
                continue
            views.append(_view(pid, st, status, proc))
            if st.state not in ("Z", "X"):  # a zombie's children were re-parented at its exit
                todo.extend((child, False) for child in _children(pid, st.num_threads, files))
        for pid in [p for p in self._files if p not in visited]:
            self._files.pop(pid).close()
        views.sort(key=_order)
        return Snapshot(t, tuple(views))

    def _open(self, pid: int) -> tuple[_ProcFiles, Stat] | None:
        """The kept files of ``pid`` and its stat now; None if no such process exists."""
        files = self._files.get(pid)
        if files is not None:
            data = files.read(0, 1024)
            if data:
                st = parse_stat(data)
                if st.starttime == files.starttime:
                    return files, st
            # Gone (its files now fail), or read by path and the pid is someone else's now.
            files.close()
            del self._files[pid]
        files = _ProcFiles(pid)
        data = files.read(0, 1024)
        if not data:
            files.close()
            return None
        st = parse_stat(data)
        files.starttime = st.starttime
        self._files[pid] = files
        return files, st

    def _close_files(self) -> None:
        with self._scan_lock:
            for files in self._files.values():
                files.close()
            self._files.clear()

    def _diff(self, snapshot: Snapshot) -> list[Event]:
        """``state`` events for processes that entered or left a notable state, or vanished."""
        events: list[Event] = []
        current = {(p.pid, p.starttime): p for p in snapshot.processes}
        for key, view in current.items():
            before = self._seen.get(key)
            old = None if before is None else before.state
            if old != view.state and (view.state in NOTABLE_STATES or old in NOTABLE_STATES):
                events.append(self._event(snapshot.t, view, view.state, old))
        for key, before in self._seen.items():
            if key not in current:
                events.append(self._event(snapshot.t, before, "gone", before.state))
        self._seen = current
        return events

    def _event(self, t: int, view: ProcessView, state: str, old: str | None) -> Event:
        event: Event = controller_event(
            self.lab.pid, "state", t=t, child=view.pid, state=state, old=old
        )
        if view.role is not None:
            event["child_role"] = view.role
        if view.index is not None:
            event["index"] = view.index
        return event


def _changed(old: Snapshot, new: Snapshot) -> bool:
    """Whether a process of the tree changed between two scans, SigQ aside: its count is the
    user's queued signals, every process of the user's, not this tree's (another program of
    the same user changes it)."""
    if old.processes == new.processes:
        return False
    if len(old.processes) != len(new.processes):
        return True
    for a, b in zip(old.processes, new.processes, strict=True):
        if a != b and (
            a.masks.sigq == b.masks.sigq
            or dataclasses.replace(a, masks=dataclasses.replace(a.masks, sigq=b.masks.sigq)) != b
        ):
            return True
    return False


def _thread_count(pid: int) -> int:
    data = _read(f"/proc/{pid}/stat", 1024)
    return parse_stat(data).num_threads if data else 1


_ROLE_ORDER = {"master": 0, "worker": 1, "orphan": 2}


def _order(view: ProcessView) -> tuple[int, int, int]:
    """Master first, workers by index, then the rest by pid: the order a table shows."""
    rank = _ROLE_ORDER.get(view.role or "", 3)
    return (rank, view.index if view.index is not None else 1 << 30, view.pid)


def _view(pid: int, st: Stat, status: bytes, proc: Known | None) -> ProcessView:
    """One process's view from its stat and status, with the lab's name for it if known."""
    return ProcessView(
        pid,
        st.ppid,
        st.pgid,
        st.state,
        st.comm,
        st.starttime,
        st.num_threads,
        st.cpu_ticks / CLOCK_TICKS,
        parse_status_masks(status),
        None if proc is None else proc.role,
        None if proc is None else proc.index,
        None if proc is None else proc.behaviour,
        voluntary_switches(status),
    )


def read_view(pid: int, proc: Known | None = None) -> ProcessView | None:
    """One process's view now, read by path (no scan, no kept files), named as ``proc`` says;
    None if it is gone. For one-off reads: ``attach``, lesson checks without a sampler."""
    data = _read(f"/proc/{pid}/stat", 1024)
    status = _read(f"/proc/{pid}/status", 8192) if data else None
    if not data or not status:
        return None
    return _view(pid, parse_stat(data), status, proc)


def scan_pids(pids: Iterable[int]) -> list[ProcessView]:
    """Views of the given pids without a lab (no roles): for ``attach`` and benchmarks."""
    return [view for pid in pids if (view := read_view(pid)) is not None]


def wait_snapshot(
    sampler: Sampler, condition: Callable[[Snapshot], bool], timeout: float = 10.0
) -> Snapshot:
    """Scan until ``condition(snapshot)`` holds; for tests and lessons that wait on the kernel.

    Raises:
        TimeoutError: it did not hold within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        snapshot = sampler.scan()
        if condition(snapshot):
            return snapshot
        if time.monotonic() > deadline:
            raise TimeoutError(f"no snapshot satisfied the condition within {timeout}s")
        time.sleep(0.02)

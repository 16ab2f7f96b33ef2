"""Play a recording back as if it were a live lab, with no process at all.

:class:`Replay` has the surface the dashboard reads from a :class:`~sigscope.lab.Lab` — the
event history and its waits, ``processes``, ``master_pid``, ``live_workers()``, the latest
snapshot — and, instead of sending signals, playback controls: play, pause, speed, step and
jump. It works on a machine where the lab itself cannot run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from sigscope.events import Event
from sigscope.observe.sampler import Snapshot
from sigscope.sources.base import (
    LabProcess,
    SourceError,
    SourceTimeout,
    track_event,
    workers_by_index,
)
from sigscope.sources.eventlog import EventLog
from sigscope.sources.record import Recording

MIN_SPEED, MAX_SPEED = 0.1, 100.0
MAX_GAP = 2.0  # seconds: a longer silence in the recording is shortened to this


class ReplayError(SourceError):
    """Something a replay cannot do (e.g. send a signal); the message says so plainly."""


class ReplayTimeout(ReplayError, SourceTimeout):
    pass


class Replay(EventLog):
    """A recording, delivered entry by entry to subscribers, at the recorded pace × speed."""

    timeout_error = ReplayTimeout
    # What this source can do (sigscope.sources.base.Source): be read, nothing more.
    live = False  # its pids are the recording's, not this machine's processes: never read /proc
    can_send = False
    can_control = False
    can_run_code = False
    can_record = False

    def __init__(self, recording: Recording) -> None:
        super().__init__()
        self.recording = recording
        self.entries = recording.entries
        self.pid = os.getpid()
        self.pgid: int | None = None
        self.processes: dict[int, LabProcess] = {}
        self._early_ready: set[int] = set()
        self.latest: Snapshot | None = None
        self.ended = threading.Event()
        self.reaping = str(recording.header.get("config", {}).get("reaping", "handler"))
        self.position = 0  # index of the next entry to deliver
        self.speed = 1.0
        self.playing = False
        self._snapshot_subscribers: list[Callable[[Snapshot], None]] = []
        self._reset_subscribers: list[Callable[[], None]] = []
        self._master: int | None = None
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- the Lab-like surface --------------------------------------------------------------------
    @property
    def master_pid(self) -> int:
        if self._master is None:
            for entry in self.entries:
                if isinstance(entry, dict) and entry.get("role") == "master":
                    self._master = int(entry["pid"])
                    break
            else:
                self._master = 0
        return self._master

    @property
    def running(self) -> bool:
        return False  # nothing here can be signalled

    def live_workers(self) -> list[LabProcess]:
        with self._cond:
            return workers_by_index(self.processes.values())

    def send(self, target: object, sig: object, value: int | None = None) -> LabProcess:
        raise ReplayError("this is a recording: nothing in it can be signalled")

    def request_status(self) -> None:
        """A recording has no master to ask."""

    def set_reaping(self, mode: str) -> None:
        raise ReplayError("this is a recording: its reaping mode cannot change")

    def spawn_worker(self, behaviour: str = "idle", params: object = None) -> None:
        raise ReplayError("this is a recording: no worker can be started in it")

    def run_code(self, target: str | int, code: str) -> int:
        raise ReplayError("this is a recording: no code can run in it")

    def stop_code(self, target: str | int, grace: float = 0.0) -> str:
        raise ReplayError("this is a recording: no code runs in it")

    def start(self) -> Replay:
        """Ready to play (the Lab's ``start``): nothing moves until :meth:`play` or
        :meth:`step`."""
        return self

    def subscribe_snapshots(self, callback: Callable[[Snapshot], None]) -> None:
        self._snapshot_subscribers.append(callback)

    @property
    def latest_snapshot(self) -> Snapshot | None:
        return self.latest

    def record_snapshot(self, snapshot: Snapshot) -> None:
        """A replay writes no recording."""

    def on_reset(self, callback: Callable[[], None]) -> None:
        """``callback()`` when a jump backwards starts the history again from the top."""
        self._reset_subscribers.append(callback)

    def _track(self, event: Event) -> None:
        new = track_event(self.processes, event, early_ready=self._early_ready)
        if new is not None:
            # Started at the recorded time, not when this replay delivered the spawn: ages are
            # measured against the play head's recorded time (``head_t``).
            new.started = int(event["t"])
        if event.get("role") == "master" and event["pid"] not in self.processes:
            # A live lab knows its master from the start; a replay meets it in its events.
            self._master = int(event["pid"])
            self.processes[self._master] = LabProcess(
                self._master, "master", None, started=int(event["t"])
            )
        if event.get("kind") == "mode":
            self.reaping = event.get("reaping", self.reaping)

    # -- playback ----------------------------------------------------------------------------------
    @property
    def length(self) -> int:
        return len(self.entries)

    @property
    def at_end(self) -> bool:
        return self.position >= len(self.entries)

    @property
    def head_t(self) -> int | None:
        """The recorded time (``t``, monotonic ns of the recording) at the play head: that of
        the last entry delivered; None before the first."""
        position = self.position
        return self._t(self.entries[position - 1]) if position > 0 else None

    def step(self) -> bool:
        """Deliver the next entry; False at the end."""
        with self._wake:
            if self.at_end:
                return False
            entry = self.entries[self.position]
            self.position += 1
        if isinstance(entry, Snapshot):
            self.latest = entry
            for callback in self._snapshot_subscribers:
                callback(entry)
        else:
            self._deliver(entry)
        if self.at_end:
            self.ended.set()
        return True

    def play_all(self) -> None:
        """Deliver everything that is left at once (for tests and ``replay --json``)."""
        while self.step():
            pass

    def jump(self, position: int) -> None:
        """Go to entry ``position`` (0 = the start): forwards by delivering, backwards by
        starting again from the top and delivering up to it."""
        position = max(0, min(position, len(self.entries)))
        with self._wake:
            backwards = position < self.position
            if backwards:
                with self._cond:
                    self._log.clear()
                    self._base = 0
                    self.processes.clear()
                    self._early_ready.clear()
                self.position = 0
                self.latest = None
                self.ended.clear()
        if backwards:
            for callback in self._reset_subscribers:
                callback()
        while self.position < position and self.step():
            pass

    def set_speed(self, speed: float) -> float:
        self.speed = min(MAX_SPEED, max(MIN_SPEED, speed))
        with self._wake:
            self._wake.notify_all()
        return self.speed

    def play(self) -> None:
        """Deliver entries on a thread at the recorded pace × speed, until paused or done."""
        with self._wake:
            self.playing = True
            self._wake.notify_all()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sigscope-replay", daemon=True)
            self._thread.start()

    def pause(self) -> None:
        with self._wake:
            self.playing = False
            self._wake.notify_all()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self.playing = False
            self._wake.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2)
        self.ended.set()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self.playing and not self._closed:
                    self._wake.wait()
                if self._closed or self.at_end:
                    self.playing = False
                    return
                gap = self._gap_before(self.position) / self.speed
                if gap > 0:
                    deadline = time.monotonic() + gap
                    while self.playing and not self._closed:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._wake.wait(left)
                    if not self.playing or self._closed:
                        continue
            self.step()

    def _gap_before(self, index: int) -> float:
        if index == 0:
            return 0.0
        now_t, prev_t = self._t(self.entries[index]), self._t(self.entries[index - 1])
        return min(MAX_GAP, max(0.0, (now_t - prev_t) / 1e9))

    @staticmethod
    def _t(entry: Event | Snapshot) -> int:
        return entry.t if isinstance(entry, Snapshot) else int(entry["t"])

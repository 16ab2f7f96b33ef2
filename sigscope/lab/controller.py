"""The controller: one :class:`Lab` object starts a lab, signals it, watches it, and ends it.

The UI, the lessons, the tests, the benchmarks and ``sigscope trace`` all run a lab through
this class. It imports no Textual; a UI subscribes to events with :meth:`Lab.subscribe` and
gets them on the lab's reader thread (so it must hand them over with ``post_message``).

Nothing is left behind (design.md), in layers:

1. the controller makes itself a child subreaper, so lab processes orphaned by a master's
   death are re-parented to it, and it reaps them (by pid: never a blind ``waitpid(-1)``);
2. the master is started from the main thread (PR_SET_PDEATHSIG fires when the *thread* that
   forked a process exits) in a process group of its own;
3. master and workers arm ``PR_SET_PDEATHSIG(SIGKILL)`` and then check ``getppid()``;
4. :meth:`Lab.close` kills the lab's process group and reaps, on every exit path.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sigscope import procfs
from sigscope.events import Event, controller_event, now
from sigscope.lab import code as playground_code
from sigscope.lab.behaviours import BehaviourError, check_lesson_params, check_params
from sigscope.lab.behaviours.playground import CODE_DIR_ENV
from sigscope.lab.channel import EventReader, make_channel
from sigscope.lab.errors import LabError, LabTimeout
from sigscope.lab.limits import REAPING_MODES, check_lab
from sigscope.numbers import is_int, parse_int
from sigscope.observe.sampler import FAST_INTERVAL, IDLE_INTERVAL, Sampler, Snapshot
from sigscope.observe.waitstatus import decode_wait_status
from sigscope.safety import ProcessRef, SendRefused, send_signal
from sigscope.signames import parse_signal
from sigscope.sources import record
from sigscope.sources.base import (
    LabProcess,
    send_recorded,
    track_event,
    workers_by_index,
)
from sigscope.sources.eventlog import HISTORY, EventLog


class Lab(EventLog):
    """A live master/worker tree. Use it as a context manager::

    with Lab(workers=2) as lab:
        lab.send("worker:0", "TERM")
        lab.wait_for(kind="reaped")
    """

    timeout_error = LabTimeout
    # What this source can do (sigscope.sources.base.Source): all of it, being our own lab.
    live = True
    can_send = True
    can_control = True

    def __init__(
        self,
        workers: int = 2,
        behaviour: str = "idle",
        params: dict[str, Any] | None = None,
        slots: list[dict[str, Any]] | None = None,
        reaping: str = "handler",
        grace: float = 5.0,
        record: str | Path | None = None,
        max_processes: int | None = None,
        history: int = HISTORY,
        terminal: Any = None,
    ) -> None:
        """``max_processes``: a cap like ``SIGSCOPE_MAX_WORKERS`` (the lower of the two holds),
        for a caller whose input decides what the lab runs (a lesson file). ``history``: events
        kept for ``events``/``wait_for`` (a dashboard, whose panels keep their own, keeps few)."""
        params, cap = check_lab(workers, behaviour, params, slots, reaping, grace, max_processes)
        self.workers_wanted = workers
        self.config: dict[str, Any] = {
            "workers": workers,
            "behaviour": behaviour,
            "params": params,
            "slots": slots or [],
            "reaping": reaping,
            "grace": grace,
        }
        self.max_workers = cap
        self.record_path = Path(record) if record else None
        self.pid = os.getpid()
        self.master: subprocess.Popen[bytes] | None = None
        self.pgid: int | None = None
        self.processes: dict[int, LabProcess] = {}
        self.reaping = reaping
        super().__init__(history)
        self._early_ready: set[int] = set()
        self._pidfds: dict[int, int] = {}  # fd -> pid, watched by the reader thread
        self._thread: threading.Thread | None = None
        self._stop_r, self._stop_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._events_r = self._events_w = self._control_w = -1
        self._stderr: Any = None
        # The terminal lane (issue 16): ``terminal`` is a sigscope.terminal.TerminalSettings,
        # whose start(deliver) gives a started TerminalLane whose events join this log (roles
        # shell and job); it ends with the lab. Typed loosely: the lab is below the terminal
        # in the layers (pyproject.toml) and never imports it.
        self.terminal_settings = terminal
        self.terminal: Any = None
        self.ended = threading.Event()
        self._closed = False
        # Private (0700) directory for playground workers' sockets: who can write there may
        # run code in the lab, so it is ours alone (lab/behaviours/playground.py).
        self.code_dir: str | None = None
        # Private directories a ``core`` worker made for its dump (its ``core`` event with
        # action ``dumping``): removed at close, should its cleaner have been killed first.
        self._core_dirs: set[str] = set()
        # The observer, started for the first snapshot subscriber (subscribe_snapshots).
        self.sampler: Sampler | None = None

    # -- life cycle --------------------------------------------------------------------------
    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, ready_timeout: float = 10.0) -> Lab:
        """Start the master; return once it has spawned its initial workers."""
        if threading.current_thread() is not threading.main_thread():
            raise LabError(
                "a lab must be started from the main thread: PR_SET_PDEATHSIG fires when "
                "the thread that started the master exits"
            )
        procfs.set_child_subreaper()
        if self.record_path is not None:
            try:
                self._record_file = record.open_for_writing(self.record_path)
            except record.RecordingError as e:
                raise LabError(str(e)) from None
            self._record_file.write(json.dumps(record.header(self.config, now())) + "\n")
        self._events_r, self._events_w = make_channel()
        control_r, self._control_w = os.pipe2(os.O_CLOEXEC)
        config = dict(
            self.config,
            parent=os.getpid(),
            events_fd=self._events_w,
            control_fd=control_r,
            max_workers=self.max_workers,
        )
        env = dict(os.environ)
        # Run from a source checkout as well as from an install: the master imports sigscope.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        env.pop(CODE_DIR_ENV, None)  # never one inherited from elsewhere
        if playground_code.code_allowed():
            self.code_dir = tempfile.mkdtemp(prefix="sigscope-code-")
            env[CODE_DIR_ENV] = self.code_dir
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.master = subprocess.Popen(
            # -P: `python -m` would put the current folder first on sys.path, and a json.py or
            # signal.py in the folder where a student runs sigscope would run inside the lab.
            [sys.executable, "-P", "-m", "sigscope.lab.master", json.dumps(config)],
            pass_fds=(self._events_w, control_r),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            process_group=0,
            env=env,
        )
        os.close(control_r)
        self.pgid = self.master.pid
        ref = ProcessRef.of(self.master.pid)
        self.processes[self.master.pid] = LabProcess(self.master.pid, "master", ref)
        self._watch(self.master.pid)
        self._thread = threading.Thread(target=self._read_loop, name="lab-events", daemon=True)
        self._thread.start()
        if self.terminal_settings is not None:
            self._start_terminal()
        want = self.workers_wanted
        try:
            self.wait_for(
                lambda e: e["kind"] == "start" and e["role"] == "master", timeout=ready_timeout
            )
            if want:
                self.wait_until(lambda: len(self.live_workers()) >= want, timeout=ready_timeout)
                # Return once the first workers have installed their handlers (or ended): a
                # signal sent the moment start() returns must reach the behaviour, not its
                # default action.
                first = [p.pid for p in self.live_workers()[:want]]
                self.wait_until(
                    lambda: all(self.processes[p].ready or self.processes[p].exited for p in first),
                    timeout=ready_timeout,
                )
        except LabTimeout:
            detail = self._master_stderr()
            self.close()
            raise LabError("the lab did not start" + (f": {detail}" if detail else "")) from None
        return self

    def _start_terminal(self) -> None:
        try:
            self.terminal = self.terminal_settings.start(self._deliver)
        except Exception as e:  # a TerminalError (no such shell, ...), said in one line
            self.close()
            raise LabError(f"the terminal did not start: {e}") from None

    def close(self, timeout: float = 5.0) -> None:
        """End the lab: kill every lab process, reap, and wait until none is left."""
        if self._closed:
            return
        self._closed = True
        if self.terminal is not None:
            self.terminal.close()
        if self.sampler is not None:
            self.sampler.stop()  # no scan of a tree that is being killed
        if self.master is not None:
            # The master is our unreaped child, so its pid (= the pgid) cannot be reused yet.
            if self.master.poll() is None:
                try:
                    os.killpg(self.master.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for proc in list(self.processes.values()):
                if proc.alive and proc.ref is not None and proc.role != "master":
                    try:
                        send_signal(proc.ref, signal.SIGKILL)
                    except SendRefused:
                        pass
            self.master.wait()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                self._reap_adopted()
                if not self._lab_pids_alive():
                    break
                time.sleep(0.01)
        os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout)
        for fd in (self._events_r, self._events_w, self._control_w, self._stop_r, self._stop_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        for fd in list(self._pidfds):
            os.close(fd)
        self._pidfds.clear()
        if self._stderr is not None:
            self._stderr.close()
        if self.code_dir is not None:
            shutil.rmtree(self.code_dir, ignore_errors=True)
        for directory in self._core_dirs:
            shutil.rmtree(directory, ignore_errors=True)
        with self._cond:
            if self._record_file is not None:
                self._record_file.close()
                self._record_file = None
        self.ended.set()

    def _lab_pids_alive(self) -> list[int]:
        """Lab processes that still exist (a zombie of ours counts until reaped).

        Besides the known ones: our children in the lab's process group. A worker the master
        forked just before it was killed (its ``spawn`` event never read) is unknown, but it
        is re-parented to us and must be reaped too, or it stays a zombie.
        """
        alive = []
        with self._cond:  # the reader thread adds processes (``fork`` events) meanwhile
            known = list(self.processes.items())
        for pid, proc in known:
            if proc.ref is None:
                continue
            if procfs.start_time(pid) == proc.ref.starttime:
                alive.append(pid)
        for child in procfs.children_of(self.pid):
            st = procfs.read_stat(child)
            if st is not None and st.pgid == self.pgid and child not in alive:
                alive.append(child)
        return alive

    def _master_stderr(self) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        return text.splitlines()[-1] if text else ""

    # -- the tree --------------------------------------------------------------------------
    @property
    def master_pid(self) -> int:
        if self.master is None:
            raise LabError("the lab has not started")
        return self.master.pid

    @property
    def running(self) -> bool:
        return self.master is not None and not self.ended.is_set() and self.master_alive

    @property
    def master_alive(self) -> bool:
        proc = self.processes.get(self.master.pid) if self.master else None
        return bool(proc and not proc.exited)

    def live_workers(self) -> list[LabProcess]:
        """Workers not yet reaped, by index (zombies included: they are not reaped)."""
        with self._cond:
            return workers_by_index(self.processes.values())

    def worker(self, index: int) -> LabProcess:
        for p in self.live_workers():
            if p.index == index and not p.exited:
                return p
        for p in self.live_workers():
            if p.index == index:
                return p
        raise LabError(f"there is no live worker {index}")

    def resolve(self, target: str | int) -> LabProcess:
        """``master``, ``worker`` (the first live worker), ``worker:N``, or a pid of the lab."""
        if isinstance(target, int) or is_int(target.strip()):
            pid = target if isinstance(target, int) else parse_int(target, what="a pid")
            if pid not in self.processes:
                raise LabError(f"pid {pid} is not a process of this lab")
            return self.processes[pid]
        text = target.strip().lower()
        if text == "master":
            return self.processes[self.master_pid]
        if text == "worker":
            live = [p for p in self.live_workers() if not p.exited]
            if not live:
                raise LabError("there is no live worker")
            return live[0]
        if text.startswith("worker:") and is_int(text[7:]):
            return self.worker(parse_int(text[7:], what="a worker index"))
        raise LabError(f"bad target {target!r} (master, worker, worker:N, or a pid of the lab)")

    # -- acting ----------------------------------------------------------------------------
    def send(self, target: str | int, sig: str | int, value: int | None = None) -> LabProcess:
        """Send a signal to one lab process, through a pidfd; record a ``sent`` event.

        With ``value``, the signal goes queued as ``sigqueue(3)`` sends it (SI_QUEUE, the value
        in ``sival_int``), still through the checked pidfd: see :func:`send_recorded`.

        Raises:
            LabError: a bad target or signal, or a process that cannot be signalled now.
        """
        signum = parse_signal(sig) if isinstance(sig, str) else int(sig)
        proc = self.resolve(target)
        if proc.ref is None:
            raise LabError(f"process {proc.pid} cannot be signalled: its start time is unknown")
        try:
            send_recorded(
                self, self.pid, proc, signum, managed=self.processes.__contains__, value=value
            )
        except SendRefused as e:
            raise LabError(str(e)) from None
        return proc

    def _control(self, command: dict[str, Any]) -> None:
        if not self.running:
            raise LabError("the lab's master is not running")
        try:
            os.write(self._control_w, (json.dumps(command) + "\n").encode())
        except BrokenPipeError:
            raise LabError("the lab's master is not running") from None

    def set_reaping(self, mode: str) -> None:
        """Switch the master's reaping mode: ``handler``, ``off`` or ``ignore``."""
        if mode not in REAPING_MODES:
            raise LabError(f"unknown reaping mode {mode!r} (handler, off, ignore)")
        self._control({"cmd": "reaping", "mode": mode})

    def spawn_worker(self, behaviour: str = "idle", params: dict[str, Any] | None = None) -> None:
        """Ask the master for one more worker running ``behaviour``.

        In a capped lab (a served page's, a lesson's) the parameters must also be within the
        lessons' bounds: a page's Spawn… asked for 8 busy-c workers of 1 GiB each, and 4 pages
        for more memory than the machine has."""
        try:
            full = check_params(behaviour, params)
            if self.max_workers is not None:
                check_lesson_params(behaviour, full)
        except BehaviourError as e:
            raise LabError(str(e)) from None
        self._control({"cmd": "spawn", "behaviour": behaviour, "params": full})

    def request_status(self) -> None:
        self._control({"cmd": "status"})

    def run_code(self, target: str | int, code: str) -> int:
        """Run ``code`` in a playground worker; return the snippet id its events carry."""
        return playground_code.run_code(self, target, code)

    def stop_code(self, target: str | int, grace: float = playground_code.STOP_GRACE) -> str:
        """Stop a playground worker's snippet: ``idle``, ``stopped`` or ``replaced``."""
        return playground_code.stop_code(self, target, grace)

    # -- events ----------------------------------------------------------------------------
    @property
    def can_run_code(self) -> bool:
        """Playground snippets can run: the lab has its private code directory (it is made at
        start unless code is off: a served page without --allow-code)."""
        return self.code_dir is not None

    @property
    def can_record(self) -> bool:
        return self.record_path is not None

    def subscribe_snapshots(self, callback: Callable[[Snapshot], None]) -> None:
        """``callback(snapshot)`` after every scan of the lab's own sampler (on its thread),
        which the first subscriber starts; :meth:`close` stops it."""
        if self.sampler is None:
            # Four scans a second while something happens, one when the lab is quiet; every
            # event of the lab (a send, a handler, a reap) wakes it (sampler.py, Cadence).
            self.sampler = Sampler(self, FAST_INTERVAL, idle_interval=IDLE_INTERVAL)
            self.subscribe(self.sampler.poke)
        self.sampler.subscribe(callback)
        self.sampler.start()

    @property
    def latest_snapshot(self) -> Snapshot | None:
        return self.sampler.latest if self.sampler is not None else None

    def record_snapshot(self, snapshot: Snapshot) -> None:
        """Write an observer snapshot into the recording (if this lab records): the sampler
        calls it after each scan, so a replay shows states and masks as they were."""
        with self._cond:
            if self._record_file is not None:
                line = json.dumps(record.snapshot_to_json(snapshot), separators=(",", ":"))
                self._record_file.write(line + "\n")

    def iter_events(self, since: int = 0, poll: float = 0.1) -> Iterator[Event]:
        """Yield events as they come, until the lab has ended and all are read."""
        pos = since
        while True:
            with self._cond:
                batch = self.events(pos)
                pos += len(batch)
                if not batch:
                    if self.ended.is_set() or (
                        self.master is not None and not self._thread_alive()
                    ):
                        return
                    self._cond.wait(poll)
                    continue
            yield from batch

    def _thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the reader thread ---------------------------------------------------------------------
    def _watch(self, pid: int) -> None:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        self._pidfds[fd] = pid
        os.write(self._stop_w, b"w")  # the reader thread registers it on its next round

    def _read_loop(self) -> None:
        reader = EventReader(self._events_r)
        poller = select.poll()
        poller.register(self._events_r, select.POLLIN)
        poller.register(self._stop_r, select.POLLIN)
        registered: set[int] = set()
        while True:
            for fd in list(self._pidfds):
                if fd not in registered:
                    poller.register(fd, select.POLLIN)
                    registered.add(fd)
            ready = poller.poll()
            stop = False
            ended: list[int] = []
            for fd, _ in ready:
                if fd == self._stop_r:
                    try:
                        stop = b"x" in os.read(self._stop_r, 4096)
                    except BlockingIOError:
                        pass
                elif fd == self._events_r:
                    for event in reader.read_available():
                        self._deliver(event)
                elif fd in registered:
                    poller.unregister(fd)
                    registered.discard(fd)
                    ended.append(fd)
            for fd in ended:
                self._process_ended(fd)
            if stop:
                for event in reader.read_available():
                    self._deliver(event)
                return

    def _process_ended(self, fd: int) -> None:
        pid = self._pidfds.pop(fd, None)
        os.close(fd)
        if pid is None:
            return
        with self._cond:
            proc = self.processes.get(pid)
            if proc is not None:
                proc.exited = True
        if self.master is not None and pid == self.master.pid:
            # Read the master's last events before saying it has gone.
            for event in EventReader(self._events_r).read_available():
                self._deliver(event)
            status = self.master.wait()
            self._say_reaped(pid, _raw_status(status))
            if status != 0:
                detail = self._master_stderr()
                if detail:
                    self._say("error", text=f"master: {detail}")
        self._reap_adopted()
        if self.master is not None and pid == self.master.pid:
            self._say("ended")

    def _say(self, kind: str, **fields: Any) -> None:
        """Deliver an event of the controller's own (the process that runs the lab)."""
        self._deliver(controller_event(self.pid, kind, **fields))

    def _say_reaped(self, child: int, status: int, **extra: Any) -> None:
        """Say that ``child`` was reaped with wait status ``status``, decoded (the decoder's
        fields, ``exitcode`` among them, have the last word)."""
        fields = {
            "child": child,
            "status": status,
            "exitcode": os.waitstatus_to_exitcode(status),
            **extra,
            **decode_wait_status(status).event_fields(),
        }
        self._say("reaped", **fields)

    def _reap_adopted(self) -> None:
        """Reap lab processes that were re-parented to us (we are their subreaper), by pid."""
        for child in procfs.children_of(self.pid):
            if self.master is not None and child == self.master.pid:
                continue
            st = procfs.read_stat(child)
            if st is None or st.state != "Z":
                continue
            known = self.processes.get(child)
            if known is None and st.pgid != self.pgid:
                continue  # not the lab's: someone else's child of this process
            try:
                pid, status = os.waitpid(child, os.WNOHANG)
            except ChildProcessError:
                continue
            if pid:
                self._say_reaped(pid, status, adopted=True)

    def _track(self, event: Event) -> None:
        """Keep the tree model in step with the events (called with the lock held)."""
        new = track_event(self.processes, event, procfs.start_time, self._early_ready)
        if new is not None:
            self._watch(new.pid)
        if event.get("kind") == "mode":
            self.reaping = event.get("reaping", self.reaping)
        if event.get("kind") == "core" and event.get("action") == "dumping":
            directory = event.get("directory")
            # Only a directory mkdtemp made with the core behaviour's prefix, in the temp dir.
            if (
                isinstance(directory, str)
                and os.path.dirname(directory) == tempfile.gettempdir()
                and os.path.basename(directory).startswith("sigscope-core-")
            ):
                self._core_dirs.add(directory)


def _raw_status(returncode: int) -> int:
    """Popen's returncode (-N or code) back to a raw wait status, for one event format."""
    if returncode < 0:
        return -returncode & 0x7F
    return (returncode & 0xFF) << 8

"""The master: a prefork arbiter in the style of gunicorn's, written fresh and correct.

Run as its own program (``python -m sigscope.lab.master CONFIG_JSON``) by the controller, never
forked from the UI process. What it does differently from the seed's sample (facts.md):

* handlers only queue ``(signum, time)``; the C handler also writes the signal number to a
  wakeup fd, and the main loop blocks in ``poll()`` on it: an idle master wakes zero times a
  second and reacts at once, instead of sleeping 1 s and polling;
* the queue has no cap: no signal is silently dropped;
* SIGCHLD reaps in a ``waitpid(-1, WNOHANG)`` loop until nothing is left (one SIGCHLD may stand
  for many children) and decodes statuses with ``os.waitstatus_to_exitcode`` / ``os.WIF*``,
  never ``status >> 8``;
* shutdown sends TERM, waits a bounded grace period, and only then escalates to KILL.

Signals, with gunicorn's meanings: TTIN / TTOU one worker more / fewer (never below 1); HUP
replaces every worker gracefully; TERM graceful shutdown; INT and QUIT quick shutdown (a second
one during a graceful shutdown switches to quick); WINCH stops all workers, keeps the master;
USR1 emits a ``status`` event. Unlike gunicorn, TTOU retires the worker with the highest index
(workers keep stable indices 0..N-1, so a lesson can say "worker 1").

A control pipe (JSON lines from the controller, not signals) switches the reaping mode
(``handler``, ``off``, ``ignore``), starts a worker with a chosen behaviour, and asks for status.

``SIGSCOPE_MAX_WORKERS`` in the environment caps the lab (``sigscope serve`` sets it for each
page's lab, through the app, which passes its environment on; the controller checks it and
hands it to the master in the config). It caps two things, so that a page cannot grow its lab
without bound: the target (a TTIN or a spawn beyond it is refused with a ``note`` event), and
every live process of the lab at once — retiring workers that ignore TERM, their orphans,
anything in the lab's process group — so a fresh worker is only forked while fewer than the cap
are alive (a ``note`` says that a spawn waits, and the master looks again when one is reaped).
"""

from __future__ import annotations

import collections
import json
import os
import resource
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from sigscope import procfs
from sigscope.events import now
from sigscope.lab.behaviours import BEHAVIOURS, check_params, load_all
from sigscope.lab.channel import EventWriter
from sigscope.lab.limits import MAX_WORKERS_ENV, REAPING_MODES, footprint
from sigscope.lab.worker import run_worker, set_title
from sigscope.observe.waitstatus import decode_wait_status
from sigscope.signames import signal_name

CAP_RECHECK = 0.25  # seconds: while a spawn waits on orphans (not our children), look again

HANDLED = (
    signal.SIGHUP,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGTERM,
    signal.SIGTTIN,
    signal.SIGTTOU,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGWINCH,
    signal.SIGCHLD,
)
QUICK_DEATH = 1.0  # a worker that dies sooner than this after its start counts towards back-off
QUICK_GRACE = 1.0  # INT / QUIT: QUIT to the workers, then KILL after this long
MAX_BACKOFF = 8.0


def decode_status(status: int) -> dict[str, Any]:
    """A raw wait status as event fields (never ``status >> 8``): the one decoder is
    :func:`sigscope.observe.waitstatus.decode_wait_status`."""
    return decode_wait_status(status).event_fields()


@dataclass
class WorkerRecord:
    pid: int
    index: int
    behaviour: str
    params: dict[str, Any]
    started: float
    pidfd: int
    retiring: bool = False
    kill_at: float | None = None  # when a retiring worker gets SIGKILL
    stopped: bool = False


@dataclass
class Slot:
    behaviour: str
    params: dict[str, Any]
    deaths: int = 0  # consecutive quick deaths
    not_before: float = 0.0


@dataclass
class Config:
    workers: int = 2
    behaviour: str = "idle"
    params: dict[str, Any] = field(default_factory=dict)
    slots: list[dict[str, Any]] = field(default_factory=list)
    reaping: str = "handler"
    grace: float = 5.0
    parent: int = 0
    events_fd: int = -1
    control_fd: int = -1
    max_workers: int | None = None  # SIGSCOPE_MAX_WORKERS, checked by the controller


class Master:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.events = EventWriter(config.events_fd, "master")
        self.control_fd = config.control_fd
        self.target = config.workers
        self.max_workers = config.max_workers
        self._cap_waiting = False  # a spawn waits for room under the cap (said once per wait)
        self.default = Slot(config.behaviour, check_params(config.behaviour, config.params))
        self.slots: dict[int, Slot] = {}
        for i, spec in enumerate(config.slots):
            name = spec.get("behaviour", config.behaviour)
            self.slots[i] = Slot(name, check_params(name, spec.get("params", {})))
        self.workers: dict[int, WorkerRecord] = {}
        self.reaping = config.reaping
        self.phase = "running"
        self.deadline: float | None = None
        self.queue: collections.deque[tuple[int, int]] = collections.deque()
        self.poller = select.poll()
        self._control_buf = b""
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.pid = os.getpid()

    # -- set-up ----------------------------------------------------------------------------
    def install(self) -> None:
        # Handlers only queue; the C handler writes the signal number to the wakeup fd.
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for sig in HANDLED:
            signal.signal(sig, self._record)
        self.poller.register(self._wake_r, select.POLLIN)
        self.poller.register(self.control_fd, select.POLLIN)
        self._apply_reaping(self.reaping, initial=True)

    def _record(self, signum: int, frame: object) -> None:
        self.queue.append((signum, now()))

    # -- the main loop ---------------------------------------------------------------------
    def run(self) -> int:
        self.install()
        self.events.emit("start", target=self.target, reaping=self.reaping)
        self.spawn_missing()
        while True:
            for fd, _mask in self.poller.poll(self._timeout_ms()):
                if fd == self._wake_r:
                    self._drain(fd)
                elif fd == self.control_fd:
                    if not self._read_control():
                        return self.exit(0)  # the controller is gone
                else:
                    self._gone_by_pidfd(fd)
            while self.queue:
                sig, t = self.queue.popleft()
                self.events.emit("received", t=t, sig=signal_name(sig))
                self.dispatch(sig)
            self._run_deadlines()
            if self.phase in ("graceful", "quick") and not self.workers:
                return self.exit(0)
            if self.phase == "running":
                self.spawn_missing()

    def _timeout_ms(self) -> int:
        """Block forever unless something is scheduled: a respawn, an escalation to KILL."""
        due = [w.kill_at for w in self.workers.values() if w.kill_at is not None]
        if self.deadline is not None:
            due.append(self.deadline)
        if self.phase == "running":
            occupied = self._occupied()
            t = time.monotonic()
            # A free slot already due is one waiting for room under the cap (spawn_missing
            # filled every other one): it must not make the poll spin, CAP_RECHECK covers it.
            due += [
                s.not_before
                for i in range(self.target)
                if i not in occupied and (s := self._slot(i)).not_before > t
            ]
            if self._cap_waiting:
                # Room under the cap also comes when an orphan exits, and its SIGCHLD goes to
                # the controller, not to us: look again soon, only while a spawn waits.
                due.append(time.monotonic() + CAP_RECHECK)
        if not due:
            return -1
        return max(0, int((min(due) - time.monotonic()) * 1000) + 1)

    @staticmethod
    def _drain(fd: int) -> None:
        try:
            while os.read(fd, 4096):
                pass
        except BlockingIOError:
            pass

    # -- signals ---------------------------------------------------------------------------
    def dispatch(self, sig: int) -> None:
        if sig == signal.SIGCHLD:
            if self.reaping == "handler" or self.phase != "running":
                self.reap()
            return
        if sig == signal.SIGTTIN:
            if self.phase == "running" and self._has_room("SIGTTIN"):
                self.target += 1
        elif sig == signal.SIGTTOU:
            if self.phase == "running" and self.target > 1:
                self.target -= 1
                self.retire(lambda w: w.index >= self.target)
        elif sig == signal.SIGHUP:
            if self.phase == "running":
                self.retire(lambda w: True)  # fresh ones are spawned at once into the free slots
        elif sig == signal.SIGWINCH:
            if self.phase == "running":
                self.target = 0
                self.retire(lambda w: True)
        elif sig == signal.SIGTERM:
            if self.phase == "running":
                self.shutdown("graceful", signal.SIGTERM, self.config.grace)
        elif sig in (signal.SIGINT, signal.SIGQUIT):
            if self.phase in ("running", "graceful"):
                self.shutdown("quick", signal.SIGQUIT, QUICK_GRACE)
        elif sig == signal.SIGUSR1:
            self.emit_status()

    def shutdown(self, phase: str, sig: int, grace: float) -> None:
        self.phase = phase
        self.events.emit("phase", phase=phase, grace=grace)
        if self.reaping == "off":
            self._apply_reaping("handler")  # a master that shuts down must reap what it made
        for w in list(self.workers.values()):
            w.retiring = True
            self.send(w, sig)
        self.deadline = time.monotonic() + grace
        self.reap()

    def retire(self, which: Any) -> None:
        """Gracefully end the chosen workers: TERM now, KILL after the grace period."""
        for w in list(self.workers.values()):
            if not w.retiring and which(w):
                w.retiring = True
                w.kill_at = time.monotonic() + self.config.grace
                self.send(w, signal.SIGTERM)

    def _run_deadlines(self) -> None:
        t = time.monotonic()
        for w in list(self.workers.values()):
            if w.kill_at is not None and t >= w.kill_at:
                w.kill_at = None
                self.send(w, signal.SIGKILL)
        if self.deadline is not None and t >= self.deadline:
            self.deadline = None
            for w in list(self.workers.values()):
                self.send(w, signal.SIGKILL)

    def send(self, w: WorkerRecord, sig: int) -> None:
        self.events.emit("sent", sig=signal_name(sig), target=w.pid, target_role="worker")
        try:
            signal.pidfd_send_signal(w.pidfd, sig)
        except ProcessLookupError:
            pass  # it has exited already; its status is (or will be) reaped

    # -- children --------------------------------------------------------------------------
    def _slot(self, index: int) -> Slot:
        if index not in self.slots:
            self.slots[index] = Slot(self.default.behaviour, dict(self.default.params))
        return self.slots[index]

    def _occupied(self) -> set[int]:
        return {w.index for w in self.workers.values() if not w.retiring}

    def spawn_missing(self) -> None:
        occupied = self._occupied()
        t = time.monotonic()
        due = [i for i in range(self.target) if i not in occupied and self._slot(i).not_before <= t]
        if not due:
            self._cap_waiting = False
            return
        if self.max_workers is None:
            for i in due:
                self.spawn(i)
            self._cap_waiting = False
            return
        size = self._lab_size()
        waiting = 0
        for i in due:
            slot = self._slot(i)
            need = footprint(slot.behaviour, slot.params)
            if size + need <= self.max_workers:
                self.spawn(i)
                size += need
            else:
                waiting += 1
        if waiting and not self._cap_waiting:
            self.events.emit(
                "note",
                text=f"spawn waits: {size} processes of this lab are alive, and it may have at "
                f"most {self.max_workers} at once ({MAX_WORKERS_ENV}); retiring workers and "
                "orphans count too",
                waiting=waiting,
            )
        self._cap_waiting = waiting > 0

    def _lab_size(self) -> int:
        """Live processes of this lab besides the master: every descendant of ours (retiring
        workers and their children included), and the lab's orphans, which the controller (the
        subreaper) adopted and which stay in our process group. Zombies count: they hold a pid
        until reaped."""
        ours = procfs.descendants_of(self.pid)
        known = set(ours)
        orphans = 0
        for child in procfs.children_of(self.config.parent):
            if child == self.pid or child in known:
                continue
            st = procfs.read_stat(child)
            if st is not None and st.pgid == self.pid:
                orphans += 1
        return max(len(ours) + orphans, len(self.workers))

    def spawn(self, index: int) -> None:
        slot = self._slot(index)
        # Block every signal across fork: a signal that reached the child before it had reset
        # the master's handlers would run the master's handler in the child (and poke the
        # master's wakeup fd) and be lost. Blocked, it waits; the child unblocks once its
        # handlers are back to default, so an early TERM gets TERM's default action.
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        pid = os.fork()
        if pid == 0:
            close = [self._wake_r, self._wake_w, self.control_fd]
            close += [w.pidfd for w in self.workers.values()]
            run_worker(self.events, index, slot.behaviour, slot.params, self.pid, close, BEHAVIOURS)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        pidfd = os.pidfd_open(pid)
        rec = WorkerRecord(pid, index, slot.behaviour, slot.params, time.monotonic(), pidfd)
        self.workers[pid] = rec
        if self.reaping == "ignore":
            self.poller.register(pidfd, select.POLLIN)
        self.events.emit(
            "spawn",
            child=pid,
            index=index,
            behaviour=slot.behaviour,
            starttime=procfs.start_time(pid),
        )

    def reap(self) -> None:
        """Reap every child that has changed state: one SIGCHLD may stand for many."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG | os.WUNTRACED | os.WCONTINUED)
            except ChildProcessError:
                return
            if pid == 0:
                return
            decoded = decode_status(status)
            w = self.workers.get(pid)
            if decoded["how"] in ("stopped", "continued"):
                if w is not None:
                    w.stopped = decoded["how"] == "stopped"
                self.events.emit(decoded["how"], child=pid, status=status, sig=decoded.get("sig"))
                continue
            self.events.emit(
                "reaped",
                child=pid,
                status=status,
                index=None if w is None else w.index,
                **decoded,
            )
            if w is not None:
                self._forget(w)

    def _gone_by_pidfd(self, fd: int) -> None:
        """Reaping mode ``ignore``: the kernel reaped the child; its pidfd says it is gone."""
        for w in list(self.workers.values()):
            if w.pidfd == fd:
                self.events.emit("gone", child=w.pid, index=w.index)
                self._forget(w)
                return

    def _forget(self, w: WorkerRecord) -> None:
        del self.workers[w.pid]
        try:
            self.poller.unregister(w.pidfd)
        except KeyError:
            pass
        os.close(w.pidfd)
        if w.retiring or self.phase != "running":
            return
        slot = self._slot(w.index)
        lived = time.monotonic() - w.started
        if lived < QUICK_DEATH:
            slot.deaths += 1
        else:
            slot.deaths = 0
        if slot.deaths >= 2:
            delay = min(MAX_BACKOFF, 0.25 * 2 ** (slot.deaths - 2))
            slot.not_before = time.monotonic() + delay
            self.events.emit("backoff", index=w.index, delay=delay, deaths=slot.deaths)
        else:
            slot.not_before = 0.0

    # -- control channel ---------------------------------------------------------------------
    def _read_control(self) -> bool:
        try:
            chunk = os.read(self.control_fd, 65536)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        self._control_buf += chunk
        *lines, self._control_buf = self._control_buf.split(b"\n")
        for line in lines:
            if line.strip():
                self._command(line)
        return True

    def _command(self, line: bytes) -> None:
        try:
            cmd = json.loads(line)
            what = cmd["cmd"]
            if what == "reaping":
                self._apply_reaping(cmd["mode"])
            elif what == "status":
                self.emit_status()
            elif what == "spawn":
                name = cmd.get("behaviour", self.default.behaviour)
                params = check_params(name, cmd.get("params", {}))
                slot = Slot(name, params)
                if self.phase == "running" and self._has_room("a new worker", slot):
                    index = self.target
                    self.slots[index] = slot
                    self.target += 1
            elif what == "behaviour":
                name = cmd["behaviour"]
                self.default = Slot(name, check_params(name, cmd.get("params", {})))
            else:
                raise ValueError(f"unknown command {what!r}")
        except Exception as e:  # a bad command must never take the master down
            self.events.emit("error", text=f"control: {e}")

    def _has_room(self, what: str, slot: Slot | None = None) -> bool:
        """Room under the cap (if any) for one more worker (running ``slot``, or the default):
        fewer workers than the cap, and the processes the whole lab would then have at once
        within it too. Else say why ``what`` is refused."""
        if self.max_workers is None:
            return True
        if self.target >= self.max_workers:
            self.events.emit(
                "note",
                text=f"{what} refused: this lab may have at most {self.max_workers} workers "
                f"({MAX_WORKERS_ENV})",
            )
            return False
        new = slot or self.default
        planned = sum(footprint(self._slot(i).behaviour, self._slot(i).params) for i in
                      range(self.target)) + footprint(new.behaviour, new.params)  # fmt: skip
        if planned > self.max_workers:
            self.events.emit(
                "note",
                text=f"{what} refused: the lab would have {planned} processes at once, and it "
                f"may have at most {self.max_workers} ({MAX_WORKERS_ENV})",
            )
            return False
        return True

    def _apply_reaping(self, mode: str, initial: bool = False) -> None:
        if mode not in REAPING_MODES:
            raise ValueError(f"unknown reaping mode {mode!r} (handler, off, ignore)")
        old = self.reaping
        if mode == "ignore":
            self.reap()  # SIG_IGN does not reap zombies that exist already: do it first
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # from now on the kernel reaps
            for w in self.workers.values():
                self.poller.register(w.pidfd, select.POLLIN)
        else:
            signal.signal(signal.SIGCHLD, self._record)
            if old == "ignore":
                for w in self.workers.values():
                    try:
                        self.poller.unregister(w.pidfd)
                    except KeyError:
                        pass
        self.reaping = mode
        if not initial:
            self.events.emit("mode", reaping=mode, old=old)
        if mode == "handler":
            self.reap()  # switching back reaps every zombie at once

    def emit_status(self) -> None:
        self.events.emit(
            "status",
            target=self.target,
            live=len(self.workers),
            workers=[
                {
                    "pid": w.pid,
                    "index": w.index,
                    "behaviour": w.behaviour,
                    "retiring": w.retiring,
                    "stopped": w.stopped,
                }
                for w in sorted(self.workers.values(), key=lambda w: w.index)
            ],
            reaping=self.reaping,
            queued=len(self.queue),
            phase=self.phase,
            backoff={i: s.deaths for i, s in self.slots.items() if s.deaths},
        )

    def exit(self, code: int) -> int:
        self.events.emit("exit", code=code)
        return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config = Config(**json.loads(argv[0]))
    # Die with the controller: PDEATHSIG, then check we did not miss its death already.
    procfs.set_pdeathsig(signal.SIGKILL)
    if os.getppid() != config.parent:
        # The controller died before PDEATHSIG was armed: end as PDEATHSIG would have ended us.
        os.kill(os.getpid(), signal.SIGKILL)
    # Lab processes dump no core files (QUIT and ABRT would leave them in the user's folder).
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    set_title("sigscope master")
    load_all()  # every behaviour now, not in each worker after it is forked
    master = Master(config)
    try:
        return master.run()
    except Exception:
        master.events.emit("error", text=traceback.format_exc(limit=6)[-1500:])
        for w in master.workers.values():
            try:
                signal.pidfd_send_signal(w.pidfd, signal.SIGKILL)
            except OSError:
                pass
        return 70


if __name__ == "__main__":
    raise SystemExit(main())

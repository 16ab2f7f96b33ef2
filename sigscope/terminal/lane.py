"""The terminal lane: a real shell on a real pty, watched and signalled like the lab.

::

    with TerminalLane(deliver=log.add_event) as lane:
        lane.type("sleep 30 | sleep 31\\r")
        ...
        lane.type("\\x03")  # Ctrl+C: the tty sends SIGINT to the foreground group

One thread (``terminal-lane``) does all the lane's I/O: it polls the pty's master (the screen's
bytes, handed to :meth:`on_output` listeners and kept in a transcript), the keeper's reports,
strace's lines, and a wake-up pipe; writes what :meth:`type` queued (never blocking the
caller); and scans the session (:class:`~sigscope.terminal.observer.SessionObserver`) often
while something happens and four times a second otherwise.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sigscope import procfs
from sigscope.events import CONTROLLER, Event, now
from sigscope.safety import ProcessRef, SendRefused, send_signal
from sigscope.signames import parse_signal, signal_name
from sigscope.terminal import strace_feed
from sigscope.terminal.observer import SessionObserver, SessionView
from sigscope.terminal.pty import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    Session,
    TerminalError,
    find_strace,
    resolve_shell,
    set_size,
    start_session,
)

TRANSCRIPT = 1 << 16  # bytes of the screen's output kept for tests and late listeners
BUSY_SCAN = 0.02  # s between scans while the session is active
IDLE_SCAN = 0.25  # s between scans when nothing happened for BUSY_FOR
BUSY_FOR = 1.0


@dataclass(frozen=True)
class TerminalSettings:
    """What a lab's terminal lane should run: ``shell`` (a name on PATH or a path; bash by
    default), its size, and whether to attach strace (when installed)."""

    shell: str | None = None
    rows: int = DEFAULT_ROWS
    cols: int = DEFAULT_COLS
    strace: bool = True

    def start(self, deliver: Callable[[Event], object]) -> TerminalLane:
        """A started lane whose events go to ``deliver`` (a lab's log: ``Lab(terminal=…)``
        calls this, so that the lab, below the terminal in the layers, never imports it).

        Raises:
            TerminalError: no such shell, or it did not start.
        """
        return TerminalLane(self, deliver).start()


class TerminalLane:
    """A shell on a pty in a session of its own; its events go to ``deliver`` (e.g. an event
    log's ``add_event``), called on the lane's thread."""

    def __init__(
        self,
        settings: TerminalSettings | None,
        deliver: Callable[[Event], object],
    ) -> None:
        self.settings = settings or TerminalSettings()
        self.shell_path = resolve_shell(self.settings.shell)
        self._deliver = deliver
        self.me = os.getpid()
        self.session: Session | None = None
        self.shell_pid = 0
        self.strace_pid = 0
        self.strace_problem: str | None = None
        self.observer: SessionObserver | None = None
        self.hung_up = False
        self.output_ended = False  # the pty will show nothing more (hung up, or shell gone)
        self.closed = False
        self._out_listeners: list[Callable[[bytes], object]] = []
        self._view_listeners: list[Callable[[SessionView], object]] = []
        self._transcript = bytearray()
        self._pending = bytearray()
        self._cond = threading.Condition()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread: threading.Thread | None = None
        self._refs: dict[int, ProcessRef] = {}
        self._busy_until = 0.0
        self._attached = threading.Event()
        self._exited: set[int] = set()  # pids whose exit strace reported (not again)
        self.size = (self.settings.rows, self.settings.cols)

    # -- life cycle --------------------------------------------------------------------------
    def __enter__(self) -> TerminalLane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def emit(self, pid: int, role: str, kind: str, **fields: Any) -> None:
        self._deliver({"t": now(), "pid": pid, "role": role, "kind": kind, **fields})

    def start(self, timeout: float = 10.0) -> TerminalLane:
        """Start the shell (and strace); return once the shell runs and strace follows it."""
        exe = find_strace() if self.settings.strace else None
        if self.settings.strace and exe is None:
            self.strace_problem = "strace is not installed: no received or exit events"
        self.session = start_session(self.shell_path, *self.size, strace=exe)
        deadline = time.monotonic() + timeout
        report = b""
        # The keeper reports the shell's pid, then strace's (before the shell may run).
        while (not self.shell_pid or (exe and not self.strace_pid)) and (
            time.monotonic() < deadline
        ):
            select.select([self.session.report_r], [], [], max(0.0, deadline - time.monotonic()))
            try:
                report += os.read(self.session.report_r, 4096)
            except BlockingIOError:
                continue
            except OSError:
                break
            if not report:
                break
            *lines, rest = report.split(b"\n")
            for line in lines:
                msg = json.loads(line)
                self.shell_pid = msg.get("shell", self.shell_pid)
                self.strace_pid = msg.get("strace", self.strace_pid)
            report = rest
        if not self.shell_pid:
            self.close()
            raise TerminalError("the terminal's shell did not start")
        self._pending_report = report
        # The shell's pid runs the keeper's code until it has exec'd the shell: wait for that,
        # so that the shell's first event names the shell.
        shell_exe = os.path.realpath(self.shell_path)
        while time.monotonic() < deadline:
            try:
                if os.readlink(f"/proc/{self.shell_pid}/exe") == shell_exe:
                    break
            except OSError:
                break  # gone already (a shell that could not start): its status follows
            time.sleep(0.002)
        st = os.stat(self.session.tty)
        maj, mn = os.major(st.st_rdev), os.minor(st.st_rdev)
        tty_nr = (mn & 0xFF) | (maj << 8) | ((mn & ~0xFF) << 12)
        self.observer = SessionObserver(self.session.keeper.pid, self.shell_pid, tty_nr)
        self.emit(
            self.me,
            CONTROLLER,
            "terminal",
            action="started",
            shell=self.shell_pid,
            argv=self.session.argv,
            tty=self.session.tty,
            rows=self.size[0],
            cols=self.size[1],
            strace=exe is not None,
        )
        self._busy_until = time.monotonic() + BUSY_FOR
        self._thread = threading.Thread(target=self._loop, name="terminal-lane", daemon=True)
        self._thread.start()
        if exe is not None:
            # strace prints "Process N attached" once it has seized the shell (or complains).
            self._attached.wait(min(5.0, max(0.0, deadline - time.monotonic())))
        if self.strace_problem:
            self.emit(self.me, CONTROLLER, "terminal", action="strace", text=self.strace_problem)
        return self

    def close(self, timeout: float = 5.0) -> None:
        """End the session: the keeper SIGKILLs every process of it and reaps them; idempotent."""
        if self.closed:
            return
        self.closed = True
        session = self.session
        if session is not None:
            os.close(session.control_w)  # EOF: the keeper ends everything
            try:
                session.keeper.wait(timeout)
            except Exception:  # noqa: BLE001 - a keeper that hangs is killed, never waited on forever
                session.keeper.kill()
                session.keeper.wait()
            self._kill_survivors()
        self._wake(b"x")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if session is not None:
            for fd in (session.master, session.report_r, session.strace_r):
                if fd is not None and fd >= 0:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.emit(self.me, CONTROLLER, "terminal", action="closed")

    def _kill_survivors(self) -> None:
        """A keeper killed by someone else leaves its descendants to us (a subreaper) or init:
        end those we know, through their checked pidfds."""
        for pid, ref in list(self._refs.items()):
            try:
                send_signal(ref, signal.SIGKILL, managed=lambda _p: True)
            except SendRefused:
                continue
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    # -- acting ------------------------------------------------------------------------------
    def type(self, text: str | bytes) -> None:
        """Queue keys for the pty (what a keyboard would send); returns at once."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        with self._cond:
            if self.session is None or self.hung_up or self.closed:
                raise TerminalError("the terminal is not running")
            self._pending += data
            self._busy_until = time.monotonic() + BUSY_FOR
        self._wake(b"w")

    def resize(self, rows: int, cols: int) -> None:
        """Set the pty's size; the kernel sends SIGWINCH to the foreground group."""
        if self.session is None or self.hung_up or self.closed:
            return
        if (rows, cols) != self.size and rows > 0 and cols > 0:
            self.size = (rows, cols)
            set_size(self.session.master, rows, cols)
            self.poke()

    def hangup(self) -> None:
        """Close the pty's master, as a terminal window that is closed: the kernel hangs the
        terminal up (SIGHUP and SIGCONT to the controlling process, the shell)."""
        with self._cond:
            if self.session is None or self.hung_up or self.closed:
                return
            self.hung_up = True
            self._pending.clear()
        self.emit(self.me, CONTROLLER, "terminal", action="hangup", tty=self.session.tty)
        self._wake(b"h")  # the I/O thread closes it: it is the one polling it

    def _wake(self, what: bytes) -> None:
        """Wake the lane's thread. A full pipe means it has wake-ups to read already, but
        "x" (stop) and "h" (hang up) must get through: those wait for room."""
        for _ in range(5):  # a thread that died leaves the pipe full: give up after 5 s
            try:
                os.write(self._wake_w, what)
                return
            except BlockingIOError:
                if what in (b"w", b"p"):
                    return
                select.select([], [self._wake_w], [], 1.0)
            except OSError:
                return  # closed: the lane has ended

    def poke(self) -> None:
        """Scan soon (something may have changed)."""
        self._busy_until = time.monotonic() + BUSY_FOR
        self._wake(b"p")

    def in_lane(self, pid: int) -> bool:
        obs = self.observer
        return obs is not None and pid in obs.known

    def members(self, pgid: int) -> list[int]:
        obs = self.observer
        return [] if obs is None else sorted(p.pid for p in obs.known.values() if p.pgid == pgid)

    def send(self, target: int, sig: str | int) -> None:
        """Send ``sig`` to a lane process (``target`` > 0) through a checked pidfd, or to a
        whole process group (``target`` = -PGID) as ``kill -- -PGID`` does, if every member
        of that group is a process of the lane's session.

        Raises:
            TerminalError: not a lane process or group, or the send was refused.
        """
        signum = parse_signal(sig) if isinstance(sig, str) else int(sig)
        obs = self.observer
        if obs is None or self.closed:
            raise TerminalError("the terminal is not running")
        obs_known = dict(obs.known)
        if target > 0:
            p = obs_known.get(target)
            if p is None:
                raise TerminalError(f"pid {target} is not a process of the terminal's session")
            ref = ProcessRef(p.pid, p.starttime)
            self.emit(
                self.me,
                CONTROLLER,
                "sent",
                sig=signal_name(signum),
                target=target,
                target_role=obs.role(target),
            )
            try:
                send_signal(ref, signum, managed=obs_known.__contains__)
            except SendRefused as e:
                self.emit(self.me, CONTROLLER, "error", text=str(e))
                raise TerminalError(str(e)) from None
            self.poke()
            return
        pgid = -target
        self._send_group(pgid, signum)

    def _send_group(self, pgid: int, signum: int) -> None:
        assert self.observer is not None
        if pgid <= 1:
            raise TerminalError(f"refusing to signal process group {pgid}")
        # Read the group afresh: every member must be of the lane's session (a group lives in
        # one session, setpgid(2), and its id cannot be reused while a member lives).
        members = []
        for pid in procfs.descendants_of(self.observer.root):
            st = procfs.read_stat(pid)
            if st is not None and st.pgid == pgid:
                if st.sid != self.shell_pid and pid != self.shell_pid:
                    raise TerminalError(
                        f"process group {pgid} is not in the terminal's session (sid {st.sid})"
                    )
                members.append(pid)
        if not members or pgid == os.getpgrp():
            raise TerminalError(f"process group {pgid} is not a group of the terminal's session")
        self.emit(
            self.me,
            CONTROLLER,
            "sent",
            sig=signal_name(signum),
            target=-pgid,
            target_role="group",
            members=sorted(members),
        )
        try:
            os.killpg(pgid, signum)
        except ProcessLookupError:
            raise TerminalError(f"process group {pgid} has no process left") from None
        except PermissionError:
            raise TerminalError(f"not allowed to signal process group {pgid}") from None
        self.poke()

    # -- reading -----------------------------------------------------------------------------
    def on_output(self, callback: Callable[[bytes], object]) -> bytes:
        """Call ``callback(bytes)`` with what the pty's programs write (on the lane's thread);
        ``b""`` once nothing more can come (:attr:`output_ended`). Returns what was written
        before (the transcript's last bytes): with the calls, every byte exactly once."""
        with self._cond:
            self._out_listeners.append(callback)
            return bytes(self._transcript)

    def on_view(self, callback: Callable[[SessionView], object]) -> None:
        """Call ``callback(view)`` after each scan that changed something (lane's thread)."""
        self._view_listeners.append(callback)

    def transcript(self) -> str:
        with self._cond:
            return self._transcript.decode(errors="replace")

    def wait_output(self, text: str, timeout: float = 5.0, since: int = 0) -> None:
        """Wait until ``text`` appears in the screen's output (from byte ``since`` on).

        Raises:
            TerminalError: not within ``timeout``.
        """
        needle = text.encode()
        deadline = time.monotonic() + timeout
        with self._cond:
            while needle not in self._transcript[since:]:
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = self._transcript[-200:].decode(errors="replace")
                    raise TerminalError(f"{text!r} did not appear within {timeout}s: {tail!r}")
                self._cond.wait(left)

    def output_position(self) -> int:
        with self._cond:
            return len(self._transcript)

    def view(self) -> SessionView | None:
        return None if self.observer is None else self.observer.view()

    # -- the lane's thread -------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            self._run_loop()
        except Exception as e:  # a bug here must be seen, not leave a silent, frozen lane
            self.strace_problem = self.strace_problem or f"the terminal lane stopped: {e!r}"
            self.emit(self.me, CONTROLLER, "error", text=f"the terminal lane stopped: {e!r}")

    def _run_loop(self) -> None:
        session = self.session
        assert session is not None and self.observer is not None
        poller = select.poll()
        poller.register(session.master, select.POLLIN)
        poller.register(session.report_r, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        if session.strace_r is not None:
            poller.register(session.strace_r, select.POLLIN)
        master_open = True
        report = self._pending_report
        strace_buf = b""
        next_scan = 0.0
        self._scan()
        while True:
            busy = time.monotonic() < self._busy_until
            timeout = max(0.0, next_scan - time.monotonic())
            with self._cond:
                want_out = bool(self._pending) and master_open
            if master_open:
                poller.modify(session.master, select.POLLIN | (select.POLLOUT if want_out else 0))
            stop = False
            for fd, ev in poller.poll(timeout * 1000):
                if fd == self._wake_r:
                    data = self._drain(fd)
                    stop = b"x" in data
                    if b"h" in data and master_open:
                        poller.unregister(session.master)
                        os.close(session.master)
                        session.master = -1
                        master_open = False
                        next_scan = 0.0
                        self._output_ended()
                elif fd == session.master:
                    if ev & select.POLLOUT:
                        self._write_pending(session.master)
                    readable = ev & (select.POLLIN | select.POLLHUP | select.POLLERR)
                    if readable and not self._read_master(session.master):
                        # EIO: every process closed the slave; nothing more will come.
                        poller.unregister(session.master)
                        master_open = False
                        self._output_ended()
                elif fd == session.report_r:
                    report += self._drain(fd)
                    *lines, report = report.split(b"\n")
                    for line in lines:
                        self._on_report(json.loads(line))
                    if ev & select.POLLHUP and not ev & select.POLLIN:
                        poller.unregister(fd)
                    next_scan = 0.0
                elif fd == session.strace_r:
                    data = self._drain(fd)
                    if not data and ev & select.POLLHUP:
                        poller.unregister(fd)
                    strace_buf += data
                    *lines, strace_buf = strace_buf.split(b"\n")
                    for line in lines:
                        self._on_strace(line.decode(errors="replace"))
                    next_scan = 0.0
            if stop:
                self._scan()
                return
            if time.monotonic() >= next_scan:
                self._scan()
                busy = time.monotonic() < self._busy_until
                next_scan = time.monotonic() + (BUSY_SCAN if busy else IDLE_SCAN)

    def _output_ended(self) -> None:
        """Nothing more will come from the pty (hung up, or no process has it open): the
        output listeners get ``b""``."""
        self.output_ended = True
        for callback in self._out_listeners:
            callback(b"")

    @staticmethod
    def _drain(fd: int) -> bytes:
        out = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return out
            except OSError:
                return out
            if not chunk:
                return out
            out += chunk

    def _read_master(self, fd: int) -> bool:
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return True
            except OSError as e:
                if e.errno == errno.EIO:
                    return False
                raise
            if not data:
                return False
            with self._cond:
                self._transcript += data
                if len(self._transcript) > 4 * TRANSCRIPT:
                    del self._transcript[: len(self._transcript) - TRANSCRIPT]
                self._cond.notify_all()
                # Under the lock, so that on_output's snapshot and these calls never overlap
                # or leave a gap (the listeners only post a message: quick).
                for callback in self._out_listeners:
                    callback(data)
            self._busy_until = time.monotonic() + BUSY_FOR

    def _write_pending(self, fd: int) -> None:
        with self._cond:
            data = bytes(self._pending)
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            return
        except OSError:
            n = len(data)  # hung up: what was typed is lost, as on a real terminal
        with self._cond:
            del self._pending[:n]

    def _on_report(self, msg: dict[str, Any]) -> None:
        if "strace" in msg:
            self.strace_pid = msg["strace"]
        if "reaped" in msg and msg.get("what") != "strace":
            pid, status = msg["reaped"], msg["status"]
            if pid in self._exited or (
                pid != self.shell_pid and self.strace_pid and self.strace_problem is None
            ):
                return  # strace said how it ended (the keeper reaps only adopted jobs)
            fields: dict[str, Any] = {"code": os.waitstatus_to_exitcode(status), "via": "keeper"}
            if os.WIFSIGNALED(status):
                sig = signal_name(os.WTERMSIG(status))
                fields.update(sig=sig, core=os.WCOREDUMP(status), how=f"killed by {sig}")
            else:
                fields.update(core=False, how=f"exited with {os.WEXITSTATUS(status)}")
            role = "shell" if pid == self.shell_pid else "job"
            self.emit(pid, role, "exit", **fields)
        elif msg.get("what") == "strace" and self.strace_problem is None:
            self.strace_problem = "strace ended: no more received or exit events"

    def _on_strace(self, line: str) -> None:
        if strace_feed.attached_pid(line) == self.shell_pid:
            self._attached.set()
            return
        problem = strace_feed.problem_of(line)
        if problem:
            self.strace_problem = problem
            self._attached.set()
            return
        event = strace_feed.lane_event(line, self.shell_pid)
        if event is None:
            return
        event["t"] = now()
        event["role"] = "shell" if event["pid"] == self.shell_pid else "job"
        if self.observer is not None:
            stopped = self.observer.group_stopped
            if event["kind"] == "stopped":
                stopped.add(event["pid"])
            elif event["kind"] == "exit" or event.get("sig") in ("SIGCONT", "SIGKILL"):
                stopped.discard(event["pid"])
        if event["kind"] == "exit":
            if event["pid"] == self.shell_pid:
                # The keeper reports the shell's status itself (it is the shell's parent).
                return
            self._exited.add(event["pid"])
        self._deliver(event)

    def _scan(self) -> None:
        obs = self.observer
        if obs is None:
            return
        obs.exclude = {self.strace_pid} if self.strace_pid else set()
        events = obs.scan(now())
        for p in obs.known.values():
            self._refs.setdefault(p.pid, ProcessRef(p.pid, p.starttime))
        no_strace = not self.strace_pid or self.strace_problem is not None
        for event in events:
            if event["kind"] == "left":
                self._refs.pop(event["pid"], None)
            self._deliver(event)
            if no_strace and event["kind"] == "state" and event["state"] == "T":
                # Without strace, /proc's T is all we know of a stop (not which signal).
                self._deliver({**event, "kind": "stopped", "via": "proc"})
        if obs.changed:
            view = obs.view()
            for callback in self._view_listeners:
                callback(view)

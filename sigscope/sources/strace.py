"""Turn strace's signal lines into ``received`` events, for programs never written for sigscope
(the lines are decoded by :mod:`sigscope.observe.strace_lines`).

``strace -f -e trace=none -e signal=all -p PID …`` prints one line for each signal a traced
process is sent (with its siginfo: the sender's pid, uid and ``si_code``) and one when it
dies. A line without a ``[pid N]`` prefix belongs to the first process given with ``-p``.
strace numbers real-time signals from the kernel's first one (``SIGRT_2`` is signal 34).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import IO, Any

from sigscope import procfs
from sigscope.events import CONTROLLER, Event, now
from sigscope.observe.strace_lines import parse_line

# Runs as ``python -I -S -c _DIE_WITH_PARENT PARENT STRACE ARGS…`` and becomes strace: it asks
# the kernel for SIGKILL when its parent (thread) dies, checks that the parent has not died
# already, then execs strace (the death signal survives execve). A SIGKILLed sigscope thus
# takes strace with it, and the kernel detaches strace's tracees. A tiny program rather than a
# preexec_fn: Python code run between fork and exec in a threaded process (the UI's) can
# deadlock on a lock another thread held at the fork.
_DIE_WITH_PARENT = """\
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) != 0:
    sys.exit("sigscope: cannot arm PR_SET_PDEATHSIG for strace")
if os.getppid() != int(sys.argv[1]):
    os._exit(0)
os.execv(sys.argv[2], sys.argv[2:])
"""


class StraceFeed:
    """Runs strace on some pids and delivers its signal lines as events.

    ``deliver(event)`` is called on the feed's thread; ``role_of(pid)`` names the lane.
    :attr:`problem` says, in plain words, why strace is not running (None while it is).

    strace never outlives sigscope: it is started from the feed's own reader thread, which
    lives exactly as long as strace's output does, with ``PR_SET_PDEATHSIG(SIGKILL)`` armed
    against that thread (so it dies with sigscope, even SIGKILLed); :meth:`stop` (also run at
    interpreter exit) ends it with SIGTERM, on which strace detaches from every tracee.
    """

    def __init__(
        self, pids: Iterable[int], deliver: Callable[[Event], None], role_of: Callable[[int], str]
    ) -> None:
        self.pids = list(pids)
        self.deliver = deliver
        self.role_of = role_of
        self.problem: str | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._threads: set[int] = set()  # thread ids (not processes) seen in strace's lines

    def start(self) -> bool:
        # Only absolute PATH entries: an empty one (``PATH=/usr/bin:``) or ``.`` means the
        # current folder, where a planted ``strace`` would run with the tree's pids.
        path = os.environ.get("PATH", os.defpath)
        exe = shutil.which(
            "strace", path=os.pathsep.join(d for d in path.split(os.pathsep) if os.path.isabs(d))
        )
        if exe is None:
            self.problem = "strace is not installed: no received events for this tree"
            return False
        args = [exe, "-f", "-qq", "-e", "trace=none", "-e", "signal=all"]
        for pid in self.pids:
            args += ["-p", str(pid)]
        self._thread = threading.Thread(
            target=self._run, args=(args,), name="sigscope-strace", daemon=True
        )
        self._thread.start()
        self._started.wait()
        if self._proc is None:
            return False
        atexit.register(self.stop)
        return True

    def _run(self, args: list[str]) -> None:
        # PR_SET_PDEATHSIG fires when the *thread* that forked strace exits: fork it from this
        # thread, which ends only when strace has.
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
                cwd="/",  # nothing of the user's folder is needed, nor kept busy
            )
        except OSError as e:
            self.problem = f"strace could not start: {e.strerror}"
            return
        finally:
            self._started.set()
        self._read()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        stream: IO[str] = self._proc.stderr
        default = self.pids[0]
        for line in stream:
            if "Operation not permitted" in line or "ptrace(PTRACE_SEIZE" in line:
                self.problem = f"strace cannot trace this tree: {line.strip()}"
                self.deliver(
                    self._stamp({"pid": default, "kind": "error", "text": self.problem}, ui=True)
                )
                continue
            event = parse_line(line, default)
            if event is not None and self._of_a_process(event):
                self.deliver(self._stamp(event))
        code = self._proc.wait()
        if code not in (0, -15) and self.problem is None:
            self.problem = f"strace stopped (exit status {code})"

    def _of_a_process(self, event: Event) -> bool:
        """Name the process, not the thread: strace follows threads too (``-f``) and prefixes
        a line with the thread's id. A signal sent to a multi-threaded process (gunicorn's
        master runs its control server in a thread) may be taken by any of its threads; the
        event is the process's, with ``thread`` said. The exit of a thread seen that way is
        not a process's exit: it is dropped."""
        pid = event["pid"]
        if event["kind"] == "received":
            tgid = procfs.thread_group(pid)
            if tgid is not None and tgid != pid:
                self._threads.add(pid)
                event["pid"], event["thread"] = tgid, pid
            return True
        if event["kind"] == "exit":
            return pid not in self._threads
        return True

    def _stamp(self, event: dict[str, Any], ui: bool = False) -> Event:
        # strace prints when it sees the signal, not when the handler runs: t is when we read
        # the line, a little after both.
        event["t"] = now()
        event["role"] = CONTROLLER if ui else self.role_of(event["pid"])
        return event

    def stop(self) -> None:
        """End strace (it detaches from every tracee on SIGTERM) and its reader; idempotent."""
        atexit.unregister(self.stop)
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()  # the kernel detaches the tracees of a killed tracer
                self._proc.wait()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

"""Turn strace's signal lines into ``received`` events, for programs never written for sigscope.

``strace -f -e trace=none -e signal=all -p PID …`` prints one line for each signal a traced
process is sent (with its siginfo: the sender's pid, uid and ``si_code``) and one when it
dies. A line without a ``[pid N]`` prefix belongs to the first process given with ``-p``.
strace numbers real-time signals from the kernel's first one (``SIGRT_2`` is signal 34).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable
from typing import IO, Any

from sigscope.lab.events import Event, now
from sigscope.numbers import is_int, parse_int
from sigscope.signames import SignalError, parse_signal, signal_name

_SIGNAL = re.compile(r"^(?:\[pid\s+(\d+)\]\s+)?--- (SIG[A-Z0-9_]+) \{(.*)\} ---\s*$")
_DEATH = re.compile(r"^(?:\[pid\s+(\d+)\]\s+)?\+\+\+ (killed by|exited with) (\S+).*\+\+\+\s*$")
_FIELD = re.compile(r"(\w+)=([^,}]+)")
KERNEL_SIGRTMIN = 32


def strace_signal(name: str) -> int | None:
    """A signal as strace names it (``SIGTERM``, ``SIGRT_2``, ``SIGRTMIN``) to its number."""
    if name.startswith("SIGRT_") and is_int(name[6:]):
        return KERNEL_SIGRTMIN + parse_int(name[6:])
    if name == "SIGRTMIN":
        return KERNEL_SIGRTMIN
    try:
        return parse_signal(name)
    except SignalError:
        return None


def parse_line(line: str, default_pid: int) -> Event | None:
    """One line of strace's output as an event (without ``t`` and ``role``), or None."""
    m = _SIGNAL.match(line)
    if m:
        sig = strace_signal(m.group(2))
        if sig is None:
            return None
        fields = dict(_FIELD.findall(m.group(3)))
        event: Event = {
            "pid": int(m.group(1) or default_pid),
            "kind": "received",
            "sig": signal_name(sig),
            "via": "strace",
        }
        if "si_code" in fields:
            event["si_code"] = fields["si_code"].strip()
        for key in ("si_pid", "si_uid"):
            if key in fields and is_int(fields[key].strip(), signed=True):
                value = parse_int(fields[key], signed=True)
                event["sender" if key == "si_pid" else "sender_uid"] = value
        return event
    m = _DEATH.match(line)
    if m:
        pid = int(m.group(1) or default_pid)
        if m.group(2) == "killed by":
            sig = strace_signal(m.group(3))
            return {
                "pid": pid,
                "kind": "exit",
                "via": "strace",
                "code": -sig if sig else None,
                "sig": signal_name(sig) if sig else m.group(3),
            }
        code = m.group(3)
        return {
            "pid": pid,
            "kind": "exit",
            "via": "strace",
            "code": parse_int(code) if is_int(code) else code,
        }
    return None


class StraceFeed:
    """Runs strace on some pids and delivers its signal lines as events.

    ``deliver(event)`` is called on the feed's thread; ``role_of(pid)`` names the lane.
    :attr:`problem` says, in plain words, why strace is not running (None while it is).
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

    def start(self) -> bool:
        exe = shutil.which("strace")
        if exe is None:
            self.problem = "strace is not installed: no received events for this tree"
            return False
        args = [exe, "-f", "-qq", "-e", "trace=none", "-e", "signal=all"]
        for pid in self.pids:
            args += ["-p", str(pid)]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._thread = threading.Thread(target=self._read, name="sigscope-strace", daemon=True)
        self._thread.start()
        return True

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
            if event is not None:
                self.deliver(self._stamp(event))
        code = self._proc.wait()
        if code not in (0, -15) and self.problem is None:
            self.problem = f"strace stopped (exit status {code})"

    def _stamp(self, event: dict[str, Any], ui: bool = False) -> Event:
        # strace prints when it sees the signal, not when the handler runs: t is when we read
        # the line, a little after both.
        event["t"] = now()
        event["role"] = "ui" if ui else self.role_of(event["pid"])
        return event

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()  # strace detaches from every tracee on SIGTERM
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._thread is not None:
            self._thread.join(5)

"""strace's lines about the lane's session, as lane events.

The keeper runs ``strace -f -e trace=none -e signal=all -p SHELL`` before the shell starts, so
strace follows every process the shell forks. Each line is one of:

- ``--- SIGINT {si_signo=SIGINT, si_code=SI_KERNEL} ---``: the kernel delivered a signal
  (a ``received`` event, read by the one strace parser,
  :func:`sigscope.observe.strace_lines.parse_line`);
- ``--- stopped by SIGTSTP ---``: a group-stop (``stopped``);
- ``+++ killed by SIGINT +++`` / ``+++ exited with 0 +++``: how it ended (``exit``);
- ``strace: Process N attached`` and strace's complaints (not permitted, not installed).
"""

from __future__ import annotations

import re

from sigscope.events import Event
from sigscope.observe.strace_lines import parse_line, strace_signal
from sigscope.signames import signal_name

_STOPPED = re.compile(r"^(?:\[pid\s+(\d+)\]\s+)?--- stopped by (SIG[A-Z0-9_]+) ---\s*$", re.ASCII)
_ATTACHED = re.compile(r"^(?:\S*/)?strace: Process (\d+) attached", re.ASCII)
_STATUS = re.compile(r"si_status=(\w+)", re.ASCII)
_DEATH_TEXT = re.compile(r"\+\+\+ (.*?) \+\+\+", re.ASCII)


def attached_pid(line: str) -> int | None:
    """The pid in ``strace: Process N attached``, else None."""
    m = _ATTACHED.match(line)
    return int(m.group(1)) if m else None


def problem_of(line: str) -> str | None:
    """strace's own complaint (it cannot trace), in one line; None for ordinary lines."""
    text = line.strip()
    head, sep, rest = text.partition(": ")
    if sep and head.endswith("strace") and ("not permitted" in rest or "ptrace" in rest):
        return f"strace cannot trace the terminal's session: {rest}"
    return None


def lane_event(line: str, default_pid: int) -> Event | None:
    """One strace line as a lane event (without ``t`` and ``role``), or None."""
    m = _STOPPED.match(line)
    if m:
        sig = strace_signal(m.group(2))
        return {
            "pid": int(m.group(1) or default_pid),
            "kind": "stopped",
            "sig": signal_name(sig) if sig else m.group(2),
            "via": "strace",
        }
    event = parse_line(line, default_pid)
    if event is None:
        return None
    if event["kind"] == "received":
        if event.get("sig") == "SIGCHLD":
            status = _STATUS.search(line)
            if status:
                event["si_status"] = status.group(1)
        return event
    # attach's "exit" event, with how it ended in words.
    text = _DEATH_TEXT.search(line)
    how = text.group(1) if text else ""
    event["core"] = "core dumped" in how
    event["how"] = how.replace(" (core dumped)", "")
    return event

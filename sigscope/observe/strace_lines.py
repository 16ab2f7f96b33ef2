"""strace's signal lines, decoded: what the kernel delivered to a traced process, and how it
ended.

``strace -f -e trace=none -e signal=all -p PID …`` prints one line for each signal a traced
process is sent (with its siginfo: the sender's pid, uid and ``si_code``) and one when it
dies. A line without a ``[pid N]`` prefix belongs to the first process given with ``-p``.
strace numbers real-time signals from the kernel's first one (``SIGRT_2`` is signal 34).

One parser for every strace feed: an attached tree's (:mod:`sigscope.sources.strace`) and the
terminal lane's (:mod:`sigscope.terminal.strace_feed`).
"""

from __future__ import annotations

import re

from sigscope.events import Event
from sigscope.numbers import is_int, parse_int
from sigscope.signames import SignalError, parse_signal, signal_name

# re.ASCII: \d would match any script's digits (and int() would take them as a pid).
_SIGNAL = re.compile(r"^(?:\[pid\s+(\d+)\]\s+)?--- (SIG[A-Z0-9_]+) \{(.*)\} ---\s*$", re.ASCII)
_DEATH = re.compile(
    r"^(?:\[pid\s+(\d+)\]\s+)?\+\+\+ (killed by|exited with) (\S+).*\+\+\+\s*$", re.ASCII
)
_FIELD = re.compile(r"(\w+)=([^,}]+)", re.ASCII)
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

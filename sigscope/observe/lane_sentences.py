"""The terminal lane's events (:mod:`sigscope.terminal`, issue 16) as sentences a student
reads in the event list and the chart's captions: :func:`sigscope.observe.sequence.describe`
asks here first. Beside the describer, not in the terminal package: observe is below it.
"""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]

LANE_ROLES = frozenset({"shell", "job"})
_SENDERS = {"SI_KERNEL": "SI_KERNEL: from the kernel", "SI_USER": "SI_USER: kill()"}


def _who(event: Event) -> str:
    role = event.get("role")
    return f"{'the shell' if role == 'shell' else 'job'} {event.get('pid')}"


def _argv(event: Event) -> str:
    argv = event.get("argv") or []
    return " ".join(str(a) for a in argv)[:60] or str(event.get("comm", "?"))


def lane_sentence(event: Event) -> str | None:
    """A sentence for a terminal-lane event, or None for any other event."""
    kind = event.get("kind")
    if kind == "terminal":
        action = event.get("action")
        if action == "started":
            strace = "" if event.get("strace") else " (no strace)"
            shell = f"{_argv(event)} started, pid {event.get('shell')}"
            return f"terminal {event.get('tty')}: {shell}{strace}"
        if action == "hangup":
            return f"you hung the terminal {event.get('tty', '')} up (its master closed)".replace(
                "  ", " "
            )
        if action == "strace":
            return str(event.get("text"))
        return f"the terminal lane {action}"
    if event.get("role") not in LANE_ROLES:
        if kind == "sent" and event.get("target_role") == "group":
            members = ", ".join(map(str, event.get("members") or []))
            return (
                f"you sent {event.get('sig')} to process group {-int(event['target'])} ({members})"
            )
        return None
    me = _who(event)
    if kind == "received" and event.get("via") == "strace":
        code = event.get("si_code")
        sender = event.get("sender")
        source = _SENDERS.get(str(code), str(code) if code else "")
        if code == "SI_USER" and sender is not None:
            source = f"SI_USER: kill() by pid {sender}"
        if event.get("sig") == "SIGCHLD" and sender is not None:
            source = f"{code}: child {sender}, {event.get('si_status')}"
        return f"{me} was delivered {event.get('sig')}" + (f" ({source})" if source else "")
    if kind == "exit" and event.get("how"):
        core = ", core dumped" if event.get("core") else ""
        return f"{me} ended: {event['how']}{core}"
    if kind == "joined":
        return f"{me} joined the session in group {event.get('pgid')}: {_argv(event)}"
    if kind == "exec":
        return f"{me} now runs {_argv(event)}"
    if kind == "moved":
        return f"{me} moved to group {event.get('pgid')} (was {event.get('old_pgid')})"
    if kind == "left":
        return f"{me} ({event.get('comm')}) left the process table"
    if kind == "group":
        pids = event.get("members") or []
        if not pids:
            return f"process group {event.get('pgid')} is gone"
        return f"process group {event.get('pgid')}: {', '.join(map(str, pids))}"
    if kind == "foreground":
        pgid = event.get("pgid")
        if pgid is None or int(pgid) <= 0:
            return "no foreground group: no process has the terminal any more"
        return f"foreground group is now {pgid} (was {event.get('previous')})"
    if kind == "stopped":
        by = f" by {event['sig']}" if event.get("sig") else ""
        return f"{me} stopped{by} (state T)"
    if kind == "continued":
        return f"{me} continued"
    if kind == "state":
        return f"{me}: state {event.get('old')} → {event.get('state')}"
    return None

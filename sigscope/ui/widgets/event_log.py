"""The event log: every event of the lab, newest last, filterable by pid and by signal.

Selecting an event shows its details underneath: every field, the siginfo a behaviour
reported (``si_code`` named), and for ``reaped`` the raw wait status decoded the way a
student should learn to read it: exited or signalled, core or not, ``-N`` as ``subprocess``
shows it and ``128+N`` as a shell's ``$?`` does.

Storage is bounded: the log keeps the last :data:`KEEP` events and the table shows at most
:data:`SHOWN` of them, so a storm of signals costs the same memory as a quiet minute. Rows are
added in batches by a timer, and the table renders only the lines on screen.
"""

from __future__ import annotations

import collections
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from sigscope.numbers import is_int, parse_int
from sigscope.observe.siginfo import si_code_name
from sigscope.observe.waitstatus import WaitStatusError, decode_wait_status
from sigscope.signames import SignalError, parse_signal, signal_name
from sigscope.ui.widgets.event_table import EventTable

KEEP = 20_000  # events remembered (for re-filtering)
SHOWN = 2_000  # rows in the table at most
NO_SELECTION = "Select an event (↑↓ or the mouse) to see its details."
FLUSH = 0.1  # seconds between batched table updates

KIND_STYLES = {
    "sent": "bold cyan",
    "received": "bold green",
    "spawn": "blue",
    "reaped": "bold magenta",
    "gone": "magenta",
    "exit": "yellow",
    "state": "yellow",
    "error": "bold red",
    "dropped": "bold red",
    "ended": "bold red",
    "phase": "bold yellow",
    "backoff": "bold yellow",
}

_SHOWN_FIELDS = ("t", "pid", "role", "kind", "sig")


def event_pids(event: dict[str, Any]) -> set[int]:
    """Every pid an event is about: its actor, and the child or target it names."""
    pids = set()
    for key in ("pid", "child", "target"):
        value = event.get(key)
        if isinstance(value, int):
            pids.add(value)
    return pids


def event_summary(event: dict[str, Any]) -> str:
    """The rest of an event in a few words, for its row."""
    kind = event.get("kind")
    if kind == "sent":
        return f"→ {event.get('target_role', '')} {event.get('target')}"
    if kind == "spawn":
        return f"worker {event.get('index')} = pid {event.get('child')} ({event.get('behaviour')})"
    if kind == "reaped":
        raw = event.get("status")
        if isinstance(raw, int):
            try:
                return f"pid {event.get('child')} {decode_wait_status(raw).describe()}"
            except WaitStatusError:
                pass
        return f"pid {event.get('child')} status {raw}"
    if kind in ("gone", "fork"):
        return f"pid {event.get('child')}"
    if kind == "state":
        return f"pid {event.get('child')}: {event.get('old')} → {event.get('state')}"
    if kind == "exit":
        return f"code {event.get('code')}"
    if kind in ("note", "error"):
        return str(event.get("text", "")).splitlines()[-1] if event.get("text") else ""
    if kind == "status":
        return (
            f"target {event.get('target')} live {event.get('live')} "
            f"reaping {event.get('reaping')} phase {event.get('phase')}"
        )
    if kind == "mode":
        return f"reaping {event.get('old')} → {event.get('reaping')}"
    if kind == "phase":
        return str(event.get("phase"))
    if kind == "backoff":
        return f"slot {event.get('index')} waits {event.get('delay')}s"
    if kind == "timer":
        return f"{event.get('timer')} {event.get('action')} {event.get('value', '')}"
    if kind == "dropped":
        return f"{event.get('count')} events lost"
    rest = {k: v for k, v in event.items() if k not in _SHOWN_FIELDS}
    return " ".join(f"{k}={v}" for k, v in rest.items())


def event_details(event: dict[str, Any], origin: int | None) -> Text:
    """Everything known about one event, decoded for a person."""
    out = Text()
    when = event.get("t")
    if isinstance(when, int) and origin is not None:
        out.append(f"at {(when - origin) / 1e9:.6f}s  ", style="dim")
    out.append(f"{event.get('kind')}", style=KIND_STYLES.get(str(event.get("kind")), "bold"))
    out.append(f"  by {event.get('role')} {event.get('pid')}")
    if event.get("sig"):
        out.append(f"  {event['sig']}", style="bold")
    out.append("\n")
    raw = event.get("status")
    if event.get("kind") in ("reaped", "stopped", "continued") and isinstance(raw, int):
        try:
            ws = decode_wait_status(raw)
        except WaitStatusError:
            out.append(f"raw status {raw}: not a wait status\n", style="red")
        else:
            out.append(f"raw status {raw} (0x{raw:04x}): ", style="dim")
            out.append(ws.describe() + "\n", style="bold")
            out.append(f"  how: {ws.how}")
            if ws.how == "exited":
                out.append(f", exit code {ws.exitcode}")
            if ws.signal is not None:
                out.append(f", signal {ws.signal} ({ws.signal_name})")
            if ws.how == "signalled":
                out.append(f", core dumped: {'yes' if ws.core else 'no'}")
            out.append("\n")
            if ws.subprocess_code is not None:
                out.append(f"  subprocess / os.waitstatus_to_exitcode: {ws.subprocess_code}")
            if ws.shell_code is not None:
                out.append(f"   shell $?: {ws.shell_code}")
            out.append("\n")
            if ws.how == "signalled":
                out.append(
                    f"  (status >> 8 would wrongly say {raw >> 8}: "
                    "the signal is in the low bits)\n",
                    style="dim",
                )
    code = event.get("si_code", event.get("code") if event.get("kind") == "received" else None)
    if isinstance(code, int):
        signo = _signo(event.get("sig"))
        out.append(f"siginfo: si_code {code} = {si_code_name(code, signo)}")
        for key in ("si_pid", "si_uid", "si_status", "si_value"):
            if key in event:
                out.append(f", {key} {event[key]}")
        out.append("\n")
    rest = {k: v for k, v in event.items() if k not in _SHOWN_FIELDS}
    if isinstance(rest.get("workers"), list):
        rest["workers"] = ", ".join(
            f"{w.get('index')}:{w.get('pid')}" for w in rest["workers"] if isinstance(w, dict)
        )
    if rest:
        out.append("  ".join(f"{k}={v}" for k, v in rest.items()), style="dim")
    return out


def _signo(name: Any) -> int | None:
    if not isinstance(name, str):
        return None
    try:
        return parse_signal(name)
    except SignalError:
        return None


HEADER = Text(f"{'TIME':>8} {'PID':>7} {'KIND':<9} WHAT", style="bold")


class EventLog(Vertical):
    """Filter inputs, the table of events, and the details of the selected one."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; }
    EventLog #log-filters { height: 1; }
    EventLog #log-filters Input { width: 1fr; }
    EventLog #log-header { height: 1; background: $panel; }
    EventLog #log-details { height: 6; color: $text; padding: 0 1;
        border-top: solid $primary-darken-2; }
    Screen.-compact EventLog #log-details { height: 3; border-top: none; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=KEEP)
        self.origin: int | None = None
        self.pid_filter: int | None = None
        self.sig_filter: str | None = None
        self._pending: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-filters"):
            yield Input(placeholder="filter: pid", id="log-pid", compact=True, type="integer")
            yield Input(placeholder="filter: signal (TERM, 9, RTMIN+1)", id="log-sig", compact=True)
        yield Static(HEADER, id="log-header")
        yield EventTable(self.row_text, SHOWN, id="log-table")
        yield Static(NO_SELECTION, id="log-details")

    def on_mount(self) -> None:
        self.set_interval(FLUSH, self._flush)

    @property
    def table(self) -> EventTable:
        return self.query_one("#log-table", EventTable)

    # -- feeding --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every event (a new lab starts)."""
        self.events.clear()
        self._pending.clear()
        self.origin = None
        self.table.clear()

    def add_event(self, event: dict[str, Any]) -> None:
        """Remember an event; it reaches the table at the next flush (batched for storms)."""
        if self.origin is None and isinstance(event.get("t"), int):
            self.origin = event["t"]
        self.events.append(event)
        if self.matches(event):
            self._pending.append(event)
            if len(self._pending) > SHOWN:
                del self._pending[: len(self._pending) - SHOWN]

    def matches(self, event: dict[str, Any]) -> bool:
        if self.pid_filter is not None and self.pid_filter not in event_pids(event):
            return False
        return self.sig_filter is None or event.get("sig") == self.sig_filter

    def set_filter(self, pid: int | None = None, sig: str | None = None) -> None:
        """Show only events about ``pid`` and/or with signal ``sig`` (None: any)."""
        self.pid_filter = pid
        self.sig_filter = sig
        pid_input = self.query_one("#log-pid", Input)
        sig_input = self.query_one("#log-sig", Input)
        with pid_input.prevent(Input.Changed), sig_input.prevent(Input.Changed):
            pid_input.value = "" if pid is None else str(pid)
            sig_input.value = sig or ""
        self._refilter()

    def _refilter(self) -> None:
        self.table.clear()
        self._pending = [e for e in self.events if self.matches(e)][-SHOWN:]
        self._flush()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        if event.input.id == "log-pid":
            self.pid_filter = parse_int(text) if is_int(text) else None  # "²" passes isdigit()
        elif event.input.id == "log-sig":
            if not text:
                self.sig_filter = None
            else:
                try:
                    self.sig_filter = signal_name(parse_signal(text))
                except SignalError:
                    return  # still typing: keep the last filter that made sense
        self._refilter()

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.table.extend(batch)

    def row_text(self, event: dict[str, Any]) -> Text:
        """One event as a table row: time since the lab started, pid, kind, what."""
        t = event.get("t")
        when = (t - self.origin) / 1e9 if isinstance(t, int) and self.origin else 0.0
        kind = str(event.get("kind", ""))
        sig = event.get("sig")
        return Text.assemble(
            (f"{when:8.3f} ", "dim"),
            f"{event.get('pid', ''):>7} ",
            (f"{kind:<9} ", KIND_STYLES.get(kind, "")),
            (f"{sig} " if sig else "", "bold"),
            event_summary(event),
        )

    def on_event_table_highlighted(self, message: EventTable.Highlighted) -> None:
        message.stop()
        details = self.query_one("#log-details", Static)
        # The details box has a fixed height: no layout pass for each new event.
        if message.event is None:
            details.update(NO_SELECTION, layout=False)
        else:
            details.update(event_details(message.event, self.origin), layout=False)

    @property
    def shown_events(self) -> list[dict[str, Any]]:
        """The events in the table now, oldest first (flushed: what a user sees)."""
        return list(self.table.rows)

"""The event log: every event of the lab, newest last, filterable by pid and by signal.

Selecting an event shows its details underneath: every field, the siginfo a behaviour
reported (``si_code`` named), and for ``reaped`` the raw wait status decoded the way a
student should learn to read it: exited or signalled, core or not, ``-N`` as ``subprocess``
shows it and ``128+N`` as a shell's ``$?`` does.

Storage is bounded: the log keeps the last :data:`KEEP` events and the table shows at most
:data:`SHOWN` of them, so a storm of signals costs the same memory as a quiet minute. Rows are
added in batches by a timer, not one table refresh per event.
"""

from __future__ import annotations

import collections
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static

from sigscope.observe.siginfo import si_code_name
from sigscope.observe.waitstatus import WaitStatusError, decode_wait_status
from sigscope.signames import SignalError, parse_signal, signal_name

KEEP = 20_000  # events remembered (for re-filtering)
SHOWN = 1_000  # rows in the table at most
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


class EventLog(Vertical):
    """Filter inputs, the table of events, and the details of the selected one."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; }
    EventLog #log-filters { height: 1; }
    EventLog #log-filters Input { width: 1fr; }
    EventLog #log-table { height: 1fr; overflow-x: hidden; }
    EventLog #log-details { height: auto; max-height: 7; color: $text; padding: 0 1;
        border-top: solid $primary-darken-2; }
    Screen.-compact EventLog #log-details { max-height: 3; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=KEEP)
        self.origin: int | None = None
        self.pid_filter: int | None = None
        self.sig_filter: str | None = None
        self._pending: list[dict[str, Any]] = []
        self._row_events: dict[str, dict[str, Any]] = {}
        self._next_key = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-filters"):
            yield Input(placeholder="filter: pid", id="log-pid", compact=True, type="integer")
            yield Input(placeholder="filter: signal (TERM, 9, RTMIN+1)", id="log-sig", compact=True)
        table: DataTable[Text] = DataTable(
            id="log-table", cursor_type="row", cursor_foreground_priority="renderable"
        )
        yield table
        yield Static("Select an event to see its details.", id="log-details")

    def on_mount(self) -> None:
        table = self.table
        for label in ("TIME", "PID", "KIND", "WHAT"):
            table.add_column(label, key=label)
        self.set_interval(FLUSH, self._flush)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#log-table", DataTable)

    # -- feeding --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every event (a new lab starts)."""
        self.events.clear()
        self._pending.clear()
        self._row_events.clear()
        self.origin = None
        self.table.clear()
        self.query_one("#log-details", Static).update("Select an event to see its details.")

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
        self._row_events.clear()
        self._pending = [e for e in self.events if self.matches(e)][-SHOWN:]
        self._flush()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        if event.input.id == "log-pid":
            self.pid_filter = int(text) if text.isdigit() else None
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
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        table = self.table
        follow = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        if table.row_count + len(batch) > SHOWN:
            # Removing rows one by one is slow in a DataTable; start over with the newest half,
            # so a storm costs one rebuild per SHOWN/2 events.
            batch = (self.shown_events + batch)[-(SHOWN // 2) :]
            table.clear()
            self._row_events.clear()
        for event in batch:
            key = str(self._next_key)
            self._next_key += 1
            self._row_events[key] = event
            table.add_row(*self._cells(event), key=key)
        if follow:
            table.move_cursor(row=table.row_count - 1)

    def _cells(self, event: dict[str, Any]) -> list[Text]:
        t = event.get("t")
        when = (t - self.origin) / 1e9 if isinstance(t, int) and self.origin else 0.0
        kind = str(event.get("kind", ""))
        return [
            Text(f"{when:7.3f}", style="dim"),
            Text(str(event.get("pid", ""))),
            Text(kind, style=KIND_STYLES.get(kind, "")),
            Text.assemble(
                (f"{sig} " if (sig := event.get("sig")) else "", "bold"), event_summary(event)
            ),
        ]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        found = self._row_events.get(str(event.row_key.value))
        if found is not None:
            self.query_one("#log-details", Static).update(event_details(found, self.origin))

    @property
    def shown_events(self) -> list[dict[str, Any]]:
        """The events in the table now, oldest first (what a user sees)."""
        return [self._row_events[str(k.value)] for k in self.table.rows]

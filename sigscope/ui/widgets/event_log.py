"""The event log: every event of the lab, newest last, filterable by pid and by signal.

Each row is a sentence (the sequence chart's captions: one wording, :func:`describe`), wrapped
onto as many lines as the panel's width needs, never cut. The master's periodic ``status``
rows are folded unless asked for (``v``), so they do not bury the rest.

Selecting an event shows its details underneath: the sentence, the siginfo a behaviour
reported (``si_code`` named), and for ``reaped`` the raw wait status decoded the way a
student should learn to read it: exited or signalled, core or not, ``-N`` as ``subprocess``
shows it and ``128+N`` as a shell's ``$?`` does. Every raw field, as recorded, on demand
(``r``).

Storage is bounded: the log keeps the last :data:`KEEP` events and the table shows at most
:data:`SHOWN` of them, so a storm of signals costs the same memory as a quiet minute. Rows are
added in batches: the first event waiting arms a one-shot timer (:data:`FLUSH`), so a storm is
one table update a tenth of a second and an idle lab wakes nothing; the table renders only the
lines on screen.
"""

from __future__ import annotations

import collections
import functools
import json
import textwrap
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Static

from sigscope.numbers import is_int, parse_int
from sigscope.observe.sequence import describe
from sigscope.observe.siginfo import si_code_name
from sigscope.observe.waitstatus import WaitStatusError, decode_wait_status
from sigscope.signames import SignalError, parse_signal, signal_name
from sigscope.ui.widgets.event_table import EventTable

KEEP = 10_000  # events remembered (for re-filtering): as many as the lab keeps, so a storm
# fills both in its first 10,000 events and the next storms add nothing
SHOWN = 2_000  # rows in the table at most
NO_SELECTION = "Select an event (↑↓ or the mouse) to see its details."
FLUSH = 0.1  # seconds an event may wait for the next batched table update

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
QUIET_KINDS = frozenset({"start", "ready", "status", "mode", "note"})  # drawn dim
FOLDED_KINDS = frozenset({"status"})  # periodic: hidden unless asked for
STAMP = 8  # "  12.345 " then the sentence


def event_pids(event: dict[str, Any]) -> set[int]:
    """Every pid an event is about: its actor, and the child or target it names."""
    pids = set()
    for key in ("pid", "child", "target"):
        value = event.get(key)
        if isinstance(value, int):
            pids.add(value)
    return pids


def event_details(event: dict[str, Any], origin: int | None, raw: bool = False) -> Text:
    """Everything known about one event, decoded for a person: the sentence first, then what
    a student should learn to read (wait status, siginfo); every raw field only with ``raw``
    (as recorded: JSON, the contract's own form)."""
    out = Text()
    out.append(describe(event) + "\n", style="bold")
    when = event.get("t")
    if isinstance(when, int) and origin is not None:
        out.append(f"at {(when - origin) / 1e9:.6f}s  ", style="dim")
    out.append(f"{event.get('kind')}", style=KIND_STYLES.get(str(event.get("kind")), "bold"))
    out.append(f"  by {event.get('role')} {event.get('pid')}")
    if event.get("sig"):
        out.append(f"  {event['sig']}", style="bold")
    out.append("\n")
    raw_status = event.get("status")
    if event.get("kind") in ("reaped", "stopped", "continued") and isinstance(raw_status, int):
        try:
            ws = decode_wait_status(raw_status)
        except WaitStatusError:
            out.append(f"raw status {raw_status}: not a wait status\n", style="red")
        else:
            out.append(f"raw status {raw_status} (0x{raw_status:04x}): ", style="dim")
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
                    f"  (status >> 8 would wrongly say {raw_status >> 8}: "
                    "the signal is in the low bits)\n",
                    style="dim",
                )
    if event.get("kind") == "exit" and event.get("role") == "worker" and event.get("sig"):
        out.append(
            "  the handler ran, then reset the signal to its default action and re-raised it, "
            'so that the parent\'s wait sees "killed by" it, not an exit code\n',
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
    if raw:
        out.append(json.dumps(event, separators=(", ", ": "), default=str), style="dim")
    elif any(k not in _SHOWN_FIELDS for k in event):
        out.append("r: every field, as recorded", style="dim italic")
    return out


def _signo(name: Any) -> int | None:
    if not isinstance(name, str):
        return None
    try:
        return parse_signal(name)
    except SignalError:
        return None


def header(folded: int, showing: bool) -> Text:
    """The table's header: its columns, and what is folded (and the key that unfolds it)."""
    text = Text(f"{'TIME':>{STAMP - 1}} WHAT", style="bold")
    # Short enough for the narrowest panel (37 columns at 120x40): the key must not be cut.
    if showing:
        text.append("  v: hide status rows", style="dim")
    elif folded:
        text.append(f"  +{folded} status rows: v", style="dim")
    return text


HELP_KEYS: tuple[tuple[str, str], ...] = (
    ("v", "Event list: show or fold the master's periodic status rows"),
    ("r", "Event list: every raw field of the selected event (as recorded), or not"),
)
"""The list's own keys (active while it has focus), for the help screen."""


class EventLog(Vertical):
    """Filter inputs, the table of events, and the details of the selected one.

    Keys (while the log has focus): ``v`` shows or folds the master's periodic ``status``
    rows; ``r`` shows every raw field of the selected event, or hides them again.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "toggle_status", "Status rows", tooltip=HELP_KEYS[0][1]),
        Binding("r", "toggle_raw", "Raw fields", tooltip=HELP_KEYS[1][1]),
    ]

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
        self.show_status = False
        """Whether the periodic ``status`` rows are shown (folded by default)."""
        self.show_raw = False
        """Whether the details show every raw field of the selected event."""
        self.folded = 0  # status events not shown (for the header)
        self._folded_shown = -1
        self._pending: list[dict[str, Any]] = []
        self._flush_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Horizontal(id="log-filters")  # its two boxes come after the first frame
        yield Static(header(0, False), id="log-header")
        yield EventTable(self.row_lines, self.row_height, SHOWN, id="log-table")
        yield Static(NO_SELECTION, id="log-details")

    def on_mount(self) -> None:
        # The filter boxes are mounted once the first frame is drawn, as Textual's Footer adds
        # its keys: two Inputs (their CSS, their widgets) were about 7 ms of a ~70 ms compose
        # before the first frame (issue 14); nothing can be typed in them before it anyway.
        self.call_after_refresh(self._mount_filters)

    def _mount_filters(self) -> None:
        if self.query("#log-pid"):
            return
        pid, sig = self.pid_filter, self.sig_filter
        self.query_one("#log-filters", Horizontal).mount(
            Input(
                "" if pid is None else str(pid),
                placeholder="filter: pid",
                id="log-pid",
                compact=True,
                type="integer",
            ),
            Input(
                sig or "",
                placeholder="filter: signal (TERM, 9, RTMIN+1)",
                id="log-sig",
                compact=True,
            ),
        )

    @property
    def table(self) -> EventTable:
        return self.query_one("#log-table", EventTable)

    # -- feeding --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every event (a new lab starts)."""
        self.events.clear()
        self._pending.clear()
        self._cancel_flush()
        self.origin = None
        self.folded = 0
        self.table.clear()
        self._show_header()

    def add_event(self, event: dict[str, Any]) -> None:
        """Remember an event; it reaches the table at the next flush (batched for storms)."""
        self.add_events((event,))

    def add_events(self, events: Iterable[dict[str, Any]]) -> None:
        """Remember a batch of events; they reach the table at the next flush, which the
        first one waiting arms (nothing waits: no timer runs)."""
        for event in events:
            if self.origin is None and isinstance(event.get("t"), int):
                self.origin = event["t"]
            self.events.append(event)
            if event.get("kind") in FOLDED_KINDS and not self.show_status:
                self.folded += 1
            if self.matches(event):
                self._pending.append(event)
        if len(self._pending) > SHOWN:
            del self._pending[: len(self._pending) - SHOWN]
        if (self._pending or self.folded != self._folded_shown) and self._flush_timer is None:
            self._flush_timer = self.set_timer(FLUSH, self._flush_due)

    def _flush_due(self) -> None:
        self._flush_timer = None
        self._flush()

    def _cancel_flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None

    def matches(self, event: dict[str, Any]) -> bool:
        if not self.show_status and event.get("kind") in FOLDED_KINDS:
            return False
        if self.pid_filter is not None and self.pid_filter not in event_pids(event):
            return False
        return self.sig_filter is None or event.get("sig") == self.sig_filter

    def set_filter(self, pid: int | None = None, sig: str | None = None) -> None:
        """Show only events about ``pid`` and/or with signal ``sig`` (None: any)."""
        self.pid_filter = pid
        self.sig_filter = sig
        if self.query("#log-sig"):  # (mounted with the pid box just after the first frame,
            # and made with these values if they come first)
            pid_input = self.query_one("#log-pid", Input)
            sig_input = self.query_one("#log-sig", Input)
            with pid_input.prevent(Input.Changed), sig_input.prevent(Input.Changed):
                pid_input.value = "" if pid is None else str(pid)
                sig_input.value = sig or ""
        self._refilter()

    def _refilter(self) -> None:
        self._cancel_flush()
        self.table.clear()
        self._pending = [e for e in self.events if self.matches(e)][-SHOWN:]
        self.folded = (
            0 if self.show_status else sum(1 for e in self.events if e.get("kind") in FOLDED_KINDS)
        )
        self._flush()

    def action_toggle_status(self) -> None:
        """Show the master's periodic status rows, or fold them again."""
        self.show_status = not self.show_status
        self._refilter()

    def action_toggle_raw(self) -> None:
        """Show every raw field of the selected event in the details, or hide them."""
        self.show_raw = not self.show_raw
        self._show_details(self.table.cursor_event)

    def _show_header(self) -> None:
        self.query_one("#log-header", Static).update(
            header(self.folded, self.show_status), layout=False
        )

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
            # Events from several processes arrive in the pipe's order, not their own: within a
            # batch, rows go by time stamp (a replay listed a 1.590 s row above a 1.573 s one).
            batch.sort(key=lambda e: e["t"] if isinstance(e.get("t"), int) else 0)
            self.table.extend(batch)
        if self.folded != self._folded_shown:
            self._folded_shown = self.folded
            self._show_header()

    def _stamp(self, event: dict[str, Any]) -> str:
        t = event.get("t")
        when = (t - self.origin) / 1e9 if isinstance(t, int) and self.origin else 0.0
        return f"{when:{STAMP - 1}.3f} "

    def row_height(self, event: dict[str, Any], width: int) -> int:
        """How many lines the row's sentence takes at ``width`` (cheap: most fit on one)."""
        sentence = describe(event)
        if STAMP + len(sentence) <= width:
            return 1
        return max(1, len(_wrap(sentence, width - STAMP)))

    def row_lines(self, event: dict[str, Any], width: int) -> list[Text]:
        """One event as the table shows it: time since the lab started, then what happened,
        in a sentence wrapped at word boundaries (the signal's name in bold)."""
        kind = str(event.get("kind", ""))
        style = "dim" if kind in QUIET_KINDS else KIND_STYLES.get(kind, "")
        if kind in ("sent", "received"):
            style = ""  # the commonest rows: plain, the signal's name stands out
        sentence = describe(event)
        chunks = (sentence,) if STAMP + len(sentence) <= width else _wrap(sentence, width - STAMP)
        sig = str(event.get("sig") or "")
        lines = []
        for i, chunk in enumerate(chunks or [""]):
            line = Text(self._stamp(event) if i == 0 else " " * STAMP, style="dim", end="")
            body = Text(chunk, style=style)
            if sig:
                body.highlight_words([sig], style=KIND_STYLES.get(kind, "bold") + " bold")
            line.append_text(body)
            lines.append(line)
        return lines

    def row_text(self, event: dict[str, Any]) -> Text:
        """The whole row on one line (for tests and exports)."""
        return Text(self._stamp(event) + describe(event))

    def on_event_table_highlighted(self, message: EventTable.Highlighted) -> None:
        message.stop()
        self._show_details(message.event)

    def _show_details(self, event: dict[str, Any] | None) -> None:
        details = self.query_one("#log-details", Static)
        # The details box has a fixed height: no layout pass for each new event.
        if event is None:
            details.update(NO_SELECTION, layout=False)
        else:
            details.update(event_details(event, self.origin, self.show_raw), layout=False)

    @property
    def shown_events(self) -> list[dict[str, Any]]:
        """The events in the table now, oldest first (flushed: what a user sees)."""
        return list(self.table.rows)


@functools.lru_cache(maxsize=512)
def _wrap(sentence: str, width: int) -> tuple[str, ...]:
    # Word boundaries only (a pid or a signal's name is never split unless it alone is too
    # wide); hyphens are not break points: "re-raised" stays whole. Cached: a storm is the
    # same few sentences thousands of times, and each new row's height needs its wrapping
    # (textwrap took ~30 us a row: ~13 ms for each flush of a storm's rows in a narrow panel).
    return tuple(textwrap.wrap(sentence, max(8, width), break_on_hyphens=False))

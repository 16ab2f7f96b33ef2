"""The master panel: what the arbiter thinks of its pool, from its own words.

Target, reaping mode, queued signals, phase and back-off come from the master's ``status``,
``mode``, ``phase`` and ``backoff`` events (the UI asks for a status at start and after each
change); live workers and zombies are counted from the tree the UI shows, so a zombie that the
master has not reaped (reaping ``off``) is counted even though the master cannot know of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from sigscope.ui.models.master import (
    REAPING_HELP,
    MasterState,
    apply_event,
    shown_phase,
)

PHASE_STYLES = {
    "running": "bold green",
    "graceful": "bold yellow",
    "quick": "bold red",
    "exiting": "bold red",
    "ended": "bold white on red",
    "stopped": "bold black on yellow",
}


class MasterPanel(Static):
    """The master's counters, one per line."""

    DEFAULT_CSS = """
    MasterPanel { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = MasterState()

    def on_mount(self) -> None:
        self._redraw()

    def reset(self, pid: int | None) -> None:
        self.state = MasterState(pid=pid)
        self._redraw()

    def add_event(self, event: dict[str, Any]) -> None:
        self.add_events((event,))

    def add_events(self, events: Iterable[dict[str, Any]]) -> None:
        """Follow a batch of events; redraw once, and only if the state changed. The state is
        kept current event by event (a replay reads it between them)."""
        before = self.state
        for event in events:
            self.state = apply_event(self.state, event, self.state.pid)
        if self.state != before:
            self._redraw()

    def set_counts(self, live: int, zombies: int, process_state: str | None = None) -> None:
        """The counts and the master's state letter, as the tree shows them now."""
        new = replace(self.state, live=live, zombies=zombies, process_state=process_state)
        if new != self.state:
            self.state = new
            self._redraw()

    @property
    def shown_phase(self) -> str:
        """The phase line: the master's own word, unless /proc says otherwise (stopped)."""
        return shown_phase(self.state)

    def _redraw(self) -> None:
        s = self.state
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        grid.add_row("master", Text(str(s.pid or "-"), style="bold"))
        stopped = s.process_state in ("T", "t") and s.phase != "ended"
        style = PHASE_STYLES.get("stopped" if stopped else s.phase, "")
        grid.add_row("phase", Text(self.shown_phase, style=style))
        if s.ended:
            grid.add_row("ended", Text(s.ended, style="bold red"))
        wanted = "?" if s.target is None else str(s.target)
        grid.add_row("workers", Text.assemble(f"{s.live} live, ", (f"{wanted} wanted", "dim")))
        zombies = Text(str(s.zombies), style="bold white on red" if s.zombies else "")
        grid.add_row("zombies", zombies)
        grid.add_row("reaping", Text(s.reaping or "?", style="bold"))
        if s.reaping in REAPING_HELP:
            grid.add_row("", Text(REAPING_HELP[s.reaping], style="dim italic"))
        if s.reaps_to_exit:
            grid.add_row("", Text("shutting down: reaps its workers anyway", style="dim italic"))
        grid.add_row("queued", Text("?" if s.queued is None else str(s.queued)))
        if s.backoff:
            text = ", ".join(f"slot {k}: {_backoff_text(v)}" for k, v in sorted(s.backoff.items()))
            grid.add_row("back-off", Text(text, style="bold yellow"))
        else:
            grid.add_row("back-off", Text("none", style="dim"))
        self.update(grid)


def _backoff_text(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value.get('deaths')} quick deaths, waits {value.get('delay')}s"
    return f"{value} quick deaths"

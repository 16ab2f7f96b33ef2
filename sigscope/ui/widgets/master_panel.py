"""The master panel: what the arbiter thinks of its pool, from its own words.

Target, reaping mode, queued signals, phase and back-off come from the master's ``status``,
``mode``, ``phase`` and ``backoff`` events (the UI asks for a status at start and after each
change); live workers and zombies are counted from the tree the UI shows, so a zombie that the
master has not reaped (reaping ``off``) is counted even though the master cannot know of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

REAPING_HELP = {
    "handler": "SIGCHLD handler reaps at once",
    "off": "nobody reaps: zombies stay",
    "ignore": "SIGCHLD ignored: kernel reaps",
}

PHASE_STYLES = {
    "running": "bold green",
    "graceful": "bold yellow",
    "quick": "bold red",
    "exiting": "bold red",
    "ended": "bold white on red",
    "stopped": "bold black on yellow",
}
# What the master's state letter (from /proc, via the tree) says when it is not what its own
# words say: "phase running" beside a master the tree shows as stopped (T) was a contradiction.
PROCESS_STATES = {"T": "stopped", "t": "stopped", "Z": "exited (zombie)"}  # not D: a blink
SHUTTING_DOWN = frozenset({"graceful", "quick", "exiting", "ended"})


@dataclass(frozen=True)
class MasterState:
    """Everything the panel shows; replaced whole on each change."""

    pid: int | None = None
    target: int | None = None
    live: int = 0
    zombies: int = 0
    reaping: str | None = None
    queued: int | None = None
    phase: str = "starting"
    backoff: dict[str, Any] = field(default_factory=dict)
    ended: str | None = None  # why the lab ended, once it has
    process_state: str | None = None  # the master's state letter in /proc (from the tree)
    # A master that shuts down reaps its workers whatever the mode (it switches `off` to
    # `handler` on the way out); the panel keeps the mode the learner chose, and says this.
    reaps_to_exit: bool = False


def apply_event(state: MasterState, event: dict[str, Any], master_pid: int | None) -> MasterState:
    """The panel's state after one event (events of other processes leave it unchanged)."""
    kind = event.get("kind")
    if kind == "status":
        backoff = event.get("backoff") or {}
        phase = event.get("phase", state.phase)
        reaping = event.get("reaping", state.reaping)
        if phase in SHUTTING_DOWN and state.reaping is not None and reaping != state.reaping:
            return replace(state, phase=phase, reaps_to_exit=True)
        return replace(
            state,
            target=event.get("target", state.target),
            reaping=reaping,
            queued=event.get("queued", state.queued),
            phase=event.get("phase", state.phase),
            backoff={str(k): v for k, v in backoff.items()},
        )
    if kind == "start" and event.get("role") == "master":
        return replace(
            state,
            target=event.get("target", state.target),
            reaping=event.get("reaping", state.reaping),
            phase="running",
        )
    if kind == "mode":
        if state.phase in SHUTTING_DOWN:
            return replace(state, reaps_to_exit=event.get("reaping") != state.reaping)
        return replace(state, reaping=event.get("reaping", state.reaping))
    if kind == "phase":
        return replace(state, phase=str(event.get("phase")))
    if kind == "backoff":
        backoff = dict(state.backoff)
        backoff[str(event.get("index"))] = {
            "delay": event.get("delay"),
            "deaths": event.get("deaths"),
        }
        return replace(state, backoff=backoff)
    if kind == "reaped" and master_pid is not None and event.get("child") == master_pid:
        return replace(state, phase="ended", ended=_describe_end(event))
    return state


def _describe_end(event: dict[str, Any]) -> str:
    how = event.get("how")
    if how == "signalled":
        return f"killed by {event.get('sig')}"
    if how == "exited":
        return f"exited with code {event.get('exitcode')}"
    return "ended"


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
        new = apply_event(self.state, event, self.state.pid)
        if new != self.state:
            self.state = new
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
        s = self.state
        if s.process_state in PROCESS_STATES and s.phase not in ("ended",):
            return f"{PROCESS_STATES[s.process_state]} ({s.process_state}) · {s.phase}"
        return s.phase

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

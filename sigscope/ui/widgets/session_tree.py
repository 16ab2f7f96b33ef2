"""The terminal lane's session: its processes grouped by process group, the foreground one
marked (the tty's ``tpgid``). Focused, a quick-signal key sends to the row under the cursor: a
process through its checked pidfd, or a whole group (``kill -- -PGID``) once confirmed.
"""

from __future__ import annotations

import signal
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from sigscope.terminal import TerminalError, TerminalLane
from sigscope.terminal.observer import SessionView

FOREGROUND_MARK = "▶"
# The keys a focused session tree takes (the dashboard's quick-signal letters, plus z).
SEND_KEYS = (
    ("i", "SIGINT"),
    ("z", "SIGTSTP"),
    ("c", "SIGCONT"),
    ("h", "SIGHUP"),
    ("t", "SIGTERM"),
    ("s", "SIGSTOP"),
    ("x", "SIGKILL"),
)


def session_rows(view: SessionView) -> list[tuple[int, Text]]:
    """(target, line) for each row: a group's header (target -PGID), then its members (pid).
    The foreground group comes first, marked."""
    groups = view.groups()
    order = sorted(groups, key=lambda g: (g != view.foreground, g != view.shell, g))
    rows: list[tuple[int, Text]] = []
    for pgid in order:
        fg = pgid == view.foreground
        head = Text()
        head.append(f"{FOREGROUND_MARK if fg else ' '} ", style="bold green" if fg else "")
        head.append(f"group {pgid}", style="bold")
        if fg:
            head.append("  foreground", style="green")
        rows.append((-pgid, head))
        for pid in groups[pgid]:
            p = view.processes[pid]
            line = Text("    ")
            line.append(f"{pid:>7} ", style="bold" if pid == view.shell else "")
            line.append(f"{p.state} ", style="bold red" if p.state in "TZ" else "dim")
            # Text, never markup: a command line may hold [brackets].
            line.append(Text(" ".join(p.argv) or p.comm))
            if pid == view.shell:
                line.append("  (shell, session leader)", style="dim")
            elif p.sid != view.shell:
                line.append(f"  (left the session: sid {p.sid})", style="yellow")
            rows.append((pid, line))
    return rows


class SessionTree(Widget, can_focus=True):
    """The session's groups and processes; the cursor picks what the quick keys signal."""

    DEFAULT_CSS = """
    SessionTree { height: auto; max-height: 12; border: round $primary-darken-2; }
    SessionTree:focus { border: round $accent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        *(
            Binding(key, f"send('{sig}')", f"{sig[3:]} to row", show=sig in ("SIGINT", "SIGTSTP"))
            for key, sig in SEND_KEYS
        ),
        # The dashboard's k, for the row under the cursor: the app's own k signals the lab's
        # tree selection, hidden in a terminal lesson (its master: not what the learner sees).
        Binding("k", "signal_menu", "Signal row…", show=False),
    ]

    class Changed(Message):
        """The lane's observer saw a change (posted from the lane's thread)."""

        def __init__(self, view: SessionView) -> None:
            super().__init__()
            self.view = view

    class Sent(Message):
        """A signal went to ``target`` (a pid, or -PGID)."""

        def __init__(self, target: int, sig: str) -> None:
            super().__init__()
            self.target = target
            self.sig = sig

    def __init__(self, lane: TerminalLane | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lane: TerminalLane | None = None
        self.view: SessionView | None = None
        self.rows: list[tuple[int, Text]] = []
        self.cursor = 0
        self.border_title = "Session"
        self._lane = lane

    def on_mount(self) -> None:
        if self._lane is not None:
            self.attach(self._lane)

    def attach(self, lane: TerminalLane) -> None:
        """Follow ``lane`` (once mounted: a message posted before would be lost)."""
        self.lane = lane
        lane.on_view(lambda view: self.post_message(self.Changed(view)))
        view = lane.view()
        if view is not None:
            self._show(view)

    def on_session_tree_changed(self, message: Changed) -> None:
        self._show(message.view)

    def _show(self, view: SessionView) -> None:
        target = self.rows[self.cursor][0] if self.rows else None
        self.view = view
        self.rows = session_rows(view)
        targets = [t for t, _ in self.rows]
        self.cursor = targets.index(target) if target in targets else 0
        fg = view.foreground
        self.border_title = f"Session {view.shell} · foreground group {fg if fg > 0 else '—'}"
        self.refresh(layout=True)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return max(1, len(self.rows))

    def render_line(self, y: int) -> Strip:
        """One row, drawn on one line (cut at the width, never wrapped)."""
        width = self.content_size.width
        if not self.rows:
            line = Text("(no session)", style="dim") if y == 0 else Text()
        elif y < len(self.rows):
            line = self.rows[y][1].copy()
            if y == self.cursor and self.has_focus:
                line.stylize("reverse")
        else:
            line = Text()
        line.no_wrap = True
        line.overflow = "ellipsis"
        line.truncate(width, overflow="ellipsis")
        segments = [s for s in line.render(self.app.console) if s.text != "\n"]
        return Strip(segments).adjust_cell_length(width)

    def text(self) -> str:
        """The rows as plain text (tests, the SVG)."""
        return "\n".join(line.plain for _, line in self.rows)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    @property
    def selected(self) -> int | None:
        """The target under the cursor: a pid, or -PGID for a group's row."""
        return self.rows[self.cursor][0] if self.rows else None

    def action_move(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))
            self.refresh()

    def action_signal_menu(self) -> None:
        """Any signal, picked from the dashboard's menu, to the row under the cursor (a
        group's send confirmed as the quick keys' are)."""
        from sigscope.signames import signal_name
        from sigscope.ui.screens.signal_menu import SignalChoice, SignalMenu

        target = self.selected
        if target is None or self.lane is None:
            return
        what = f"process group {-target}" if target < 0 else f"pid {target}"

        def chosen(choice: SignalChoice | None) -> None:
            if choice is not None:
                self.action_send(signal_name(choice.signum))

        self.app.push_screen(SignalMenu(what, int(signal.SIGTERM)), chosen)

    def action_send(self, sig: str) -> None:
        target = self.selected
        if target is None or self.lane is None:
            return
        if target < 0:
            from sigscope.ui.screens.confirm import ConfirmDialog

            members = self.lane.members(-target)
            self.app.push_screen(
                ConfirmDialog(
                    f"Send {sig} to process group {-target}?",
                    f"kill -- -{-target}: every process of the group gets it "
                    f"({len(members)}: {', '.join(map(str, members))}).",
                    yes=f"Send {sig}",
                ),
                lambda yes: self.send(target, sig) if yes else None,
            )
            return
        self.send(target, sig)

    def send(self, target: int, sig: str) -> None:
        """Send now (a group's send is confirmed already)."""
        if self.lane is None:
            return
        try:
            self.lane.send(target, sig)
        except TerminalError as e:
            self.app.notify(str(e), severity="warning")
            return
        what = f"group {-target}" if target < 0 else f"pid {target}"
        self.app.notify(f"{sig} sent to {what}")
        self.post_message(self.Sent(target, sig))

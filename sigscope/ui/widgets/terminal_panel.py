"""The Terminal panel: the lane's pty drawn by a VT emulator (pyte), typed into when focused.

The lane's thread hands the screen's bytes over with ``post_message`` (one message per read);
the panel feeds them to a :class:`pyte.Screen` and redraws only the lines pyte marked dirty
(Textual's line API: :meth:`render_line`). While the panel has focus every key goes to the
pty — Ctrl+C, Ctrl+Z, Ctrl+\\, Ctrl+D, Tab included — except ``escape`` (leave the panel),
``f8`` (hang the terminal up) and ctrl+q (quit sigscope: a priority binding of the app).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyte
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from sigscope.terminal import TerminalError, TerminalLane

LEAVE_KEY = "escape"
HANGUP_KEY = "f8"
HELP = "esc: leave · F8: hang up · ctrl+q: quit"

# Keys that are not one character: what an xterm sends for them.
_SPECIAL = {
    "enter": b"\r",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "backspace": b"\x7f",
    "ctrl+h": b"\x08",
    "delete": b"\x1b[3~",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "insert": b"\x1b[2~",
    "ctrl+space": b"\x00",
    "ctrl+@": b"\x00",
    "ctrl+backslash": b"\x1c",
    "ctrl+right_square_bracket": b"\x1d",
    "ctrl+circumflex_accent": b"\x1e",
    "ctrl+underscore": b"\x1f",
}
# pyte's colour names to Rich's.
_COLOURS = {"brown": "yellow", "default": None}


def key_bytes(key: str, character: str | None) -> bytes | None:
    """What a terminal sends for a Textual key, or None for a key it has no bytes for."""
    if key in _SPECIAL:
        return _SPECIAL[key]
    if key.startswith("ctrl+") and len(key) == 6 and key[5].isalpha():
        return bytes([ord(key[5].lower()) - 96])  # ctrl+c -> 0x03 (termios(3): VINTR)
    if character and (character.isprintable() or character in "\x1b"):
        return character.encode()
    return None


def _colour(name: str) -> str | None:
    if name in _COLOURS:
        return _COLOURS[name]
    if name.startswith("bright"):
        return "bright_" + ("yellow" if name[6:] == "brown" else name[6:])
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return "#" + name
    return name


class TerminalPanel(Widget, can_focus=True):
    """The lane's terminal screen; keys go to the pty while it has focus."""

    DEFAULT_CSS = """
    TerminalPanel { height: 1fr; min-height: 6; border: round $primary-darken-2; }
    TerminalPanel:focus { border: round $accent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(HANGUP_KEY, "hangup", "Hang up", tooltip="Close the terminal: SIGHUP"),
    ]

    class Output(Message):
        """Bytes the pty's programs wrote (posted from the lane's thread)."""

        def __init__(self, data: bytes) -> None:
            super().__init__()
            self.data = data

    class Typed(Message):
        """Keys went to the pty (tests and the app can follow what the user typed)."""

        def __init__(self, data: bytes) -> None:
            super().__init__()
            self.data = data

    def __init__(self, lane: TerminalLane | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lane: TerminalLane | None = None
        self.screen_model = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen_model)
        self._lines: dict[int, Strip] = {}
        self._cursor_y = 0
        self.border_title = "Terminal"
        self.border_subtitle = HELP
        self._lane = lane

    def on_mount(self) -> None:
        if self._lane is not None:
            self.attach(self._lane)

    def attach(self, lane: TerminalLane) -> None:
        """Show ``lane`` (a started lane): its output so far, then what comes (once mounted:
        a message posted before would be lost)."""
        self.lane = lane
        rows, cols = lane.size
        self.screen_model.resize(rows, cols)
        self.screen_model.reset()
        self._lines.clear()
        self.stream.feed(lane.on_output(lambda data: self.post_message(self.Output(data))))
        if lane.output_ended:
            self._say_ended()
        self.border_title = f"Terminal {lane.session.tty if lane.session else ''}".strip()
        if lane.strace_problem:
            self.border_subtitle = f"{lane.strace_problem} · {HELP}"
        self.refresh()

    # -- drawing ----------------------------------------------------------------------------
    def on_terminal_panel_output(self, message: Output) -> None:
        if not message.data:  # the pty is done: hung up, or the shell and its jobs are gone
            self._say_ended()
            return
        self.stream.feed(message.data)
        dirty = self.screen_model.dirty
        # The cursor's old and new lines too: it moves without either being rewritten.
        dirty.update((self._cursor_y, self.screen_model.cursor.y))
        for y in dirty:
            self._lines.pop(y, None)
        self.refresh(*(Region(0, y, self.size.width, 1) for y in dirty))
        dirty.clear()
        self._cursor_y = self.screen_model.cursor.y

    def on_resize(self, event: events.Resize) -> None:
        rows, cols = self.content_size.height, self.content_size.width
        if rows <= 0 or cols <= 0:
            return
        self.screen_model.resize(rows, cols)
        self._lines.clear()
        if self.lane is not None:
            self.lane.resize(rows, cols)

    def on_focus(self) -> None:
        self._lines.pop(self.screen_model.cursor.y, None)
        self.refresh()

    def on_blur(self) -> None:
        self.on_focus()

    def render_line(self, y: int) -> Strip:
        strip = self._lines.get(y)
        if strip is None:
            strip = self._draw_line(y)
            self._lines[y] = strip
        return strip

    def _draw_line(self, y: int) -> Strip:
        screen = self.screen_model
        width = self.content_size.width
        if y >= screen.lines:
            return Strip.blank(width)
        row = screen.buffer[y]
        cursor = screen.cursor
        show_cursor = self.has_focus and not cursor.hidden and cursor.y == y
        segments: list[Segment] = []
        text = ""
        style: Style | None = None
        for x in range(min(screen.columns, width)):
            char = row[x]
            s = Style(
                color=_colour(char.fg),
                bgcolor=_colour(char.bg),
                bold=char.bold or None,
                italic=char.italics or None,
                underline=char.underscore or None,
                strike=char.strikethrough or None,
                reverse=(char.reverse != (show_cursor and x == cursor.x)) or None,
            )
            if s != style and text:
                segments.append(Segment(text, style))
                text = ""
            style = s
            text += char.data or " "
        if text:
            segments.append(Segment(text, style))
        return Strip(segments).adjust_cell_length(width)

    def text_lines(self) -> list[str]:
        """The screen as text (for tests and the SVG): one string a line, right-stripped."""
        return [line.rstrip() for line in self.screen_model.display]

    # -- keys -------------------------------------------------------------------------------
    async def on_key(self, event: events.Key) -> None:
        if event.key in (LEAVE_KEY, HANGUP_KEY, "ctrl+q"):
            return  # leave the panel / hang up / quit: the bindings do it
        data = key_bytes(event.key, event.character)
        if data is None or self.lane is None:
            return
        # Stop it here: ctrl+c is the app's "help quit", letters are quick signals, tab moves
        # the focus: in the terminal they are the terminal's.
        event.stop()
        event.prevent_default()
        try:
            self.lane.type(data)
        except TerminalError as e:
            self.border_subtitle = f"{e} · {HELP}"
            return
        self.post_message(self.Typed(data))

    def on_paste(self, event: events.Paste) -> None:
        if self.lane is not None and event.text:
            event.stop()
            try:
                self.lane.type(event.text.replace("\n", "\r"))
            except TerminalError:
                pass

    def action_hangup(self) -> None:
        """Close the pty's master, as closing a terminal window does."""
        if self.lane is None or self.lane.hung_up:
            return
        self.lane.hangup()
        self._say_ended()

    def _say_ended(self) -> None:
        if self.lane is not None and self.lane.hung_up:
            self.border_subtitle = "hung up: SIGHUP went to the shell · R: a fresh lab · esc: leave"
        else:
            self.border_subtitle = "the shell has ended · R: a fresh lab · esc: leave"


LANE_HEIGHT = 16  # the dashboard's lane pane: rows
LANE_TREE_WIDTH = 46  # its session tree: columns


def lane_terminal_size(width: int) -> tuple[int, int]:
    """(rows, cols) inside the lane pane's Terminal panel on a screen ``width`` wide: the pty
    starts at that size, so the panel's first layout resizes nothing and the shell gets no
    SIGWINCH the user did not cause (issue 16). Borders: 2 each way."""
    return (LANE_HEIGHT - 2, max(1, width - LANE_TREE_WIDTH - 2))


class TerminalLanePane(Horizontal):
    """The dashboard's part for a lab with a terminal lane: the session tree beside the
    Terminal panel."""

    DEFAULT_CSS = (
        f"TerminalLanePane {{ height: {LANE_HEIGHT}; }}\n"
        f"TerminalLanePane SessionTree {{ width: {LANE_TREE_WIDTH}; height: 100%; }}\n"
        "TerminalLanePane SessionTree { max-height: 100%; }\n"
        "TerminalLanePane TerminalPanel { width: 1fr; height: 100%; }\n"
    )

    def __init__(self, lane: TerminalLane, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lane = lane

    def compose(self) -> ComposeResult:
        from sigscope.ui.widgets.session_tree import SessionTree

        yield SessionTree(self.lane, id="session-tree")
        yield TerminalPanel(self.lane, id="terminal-panel")

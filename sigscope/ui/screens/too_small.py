"""What a terminal too small for the dashboard shows instead of a broken layout."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_WIDTH = 80
MIN_HEIGHT = 24


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


class TooSmallScreen(ModalScreen[None]):
    """Says how big the terminal must be; the app pops it when the terminal is big enough.

    Modal, so that the dashboard's keys do nothing while it is not visible.
    """

    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; background: $background; }
    TooSmallScreen Static { width: auto; max-width: 100%; height: auto; text-align: center; }
    """

    BINDINGS = [Binding("q", "app.quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static(id="too-small-text")

    def on_mount(self) -> None:
        self._say(self.app.size.width, self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._say(event.size.width, event.size.height)

    def _say(self, width: int, height: int) -> None:
        self.query_one(Static).update(
            f"This terminal is {width}×{height}.\n"
            f"sigscope needs at least {MIN_WIDTH}×{MIN_HEIGHT}.\n"
            "Make the window larger, or press q to quit."
        )

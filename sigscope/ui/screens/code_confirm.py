"""Ask before "show me" runs a lesson's Python: the whole code shown, read to the end first.

A lesson file is untrusted input, and a ``code`` action runs in a lab worker as the learner
(issue 17). So the question shows every line it would run — scrollable, wrapped, with any
character that could hide text made visible — and "Run it" stays disabled until the learner
has scrolled to the end: what runs is what was shown.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from sigscope.course.actions import HIDING


def visible(code: str) -> Text:
    """``code`` as text in which nothing is hidden: controls and bidi marks shown as escapes."""
    out = Text()
    for ch in code:
        if ch in "\n\t" or (ch.isprintable() and ch not in HIDING):
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1], style="bold reverse")
    return out


class CodeConfirmDialog(ModalScreen[bool]):
    """Show ``code`` whole; dismiss True only after it was scrolled to its end and accepted."""

    DEFAULT_CSS = """
    CodeConfirmDialog { align: center middle; }
    CodeConfirmDialog > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 100%; border: thick $warning;
        background: $surface; padding: 0 1;
    }
    CodeConfirmDialog #question { width: 100%; text-style: bold; }
    CodeConfirmDialog #detail { width: 100%; color: $text-muted; }
    CodeConfirmDialog VerticalScroll {
        height: auto; max-height: 16; border: round $panel; background: $boost;
    }
    CodeConfirmDialog #code { width: 100%; }
    CodeConfirmDialog #read-all { width: 100%; color: $warning; }
    CodeConfirmDialog Horizontal { height: auto; align-horizontal: right; }
    CodeConfirmDialog Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("y", "run", "Run it"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: str, detail: str, code: str) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.code = code
        self.read_to_end = False

    def compose(self) -> ComposeResult:
        lines = self.code.count("\n") + 1
        with Vertical():
            yield Label(Text(self.question), id="question")
            yield Label(Text(f"{self.detail} — {lines} lines, all of them below:"), id="detail")
            with VerticalScroll(id="code-scroll"):
                yield Static(visible(self.code), id="code")
            yield Label(Text("Scroll to the end to read it all (↓, PgDn)."), id="read-all")
            with Horizontal():
                yield Button("Cancel (n)", id="no")
                yield Button("Run it (y)", id="yes", variant="warning", disabled=True)

    def on_mount(self) -> None:
        scroll = self.query_one(VerticalScroll)
        scroll.focus()
        self.watch(scroll, "scroll_y", self._scrolled, init=False)
        self.call_after_refresh(self._scrolled)  # code that fits is read at a glance

    def on_resize(self) -> None:
        self.call_after_refresh(self._scrolled)

    def _scrolled(self, _value: float | None = None) -> None:
        scroll = self.query_one(VerticalScroll)
        laid_out = scroll.size.height > 0 and self.query_one("#code", Static).size.height > 0
        if self.read_to_end or not laid_out or scroll.scroll_y < scroll.max_scroll_y:
            return
        self.read_to_end = True
        self.query_one("#yes", Button).disabled = False
        self.query_one("#read-all", Label).update(Text("You have seen every line."))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes":
            self.action_run()
        else:
            self.dismiss(False)

    def action_run(self) -> None:
        if self.read_to_end:  # never what was not shown
            self.dismiss(True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

"""Pick one of a few named choices (a reaping mode, a behaviour for a new worker)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class ChoiceDialog(ModalScreen[str | None]):
    """A titled list of ``(value, label, explanation)``; dismisses the chosen value."""

    DEFAULT_CSS = """
    ChoiceDialog { align: center middle; }
    ChoiceDialog > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ChoiceDialog #choice-title { width: 100%; text-style: bold; }
    ChoiceDialog OptionList { height: auto; max-height: 20; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, choices: list[tuple[str, str, str]], current: str | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        options = []
        width = max((len(label) for _, label, _ in self.choices), default=0) + 7
        for value, label, explanation in self.choices:
            text = Text()
            text.append(label, style="bold")
            if value == self.current:
                text.append(" (now)", style="italic")
            text.pad_right(width - text.cell_len)
            text.append(explanation, style="dim")
            options.append(Option(text, id=value))
        with Vertical():
            yield Label(Text(self.title_text), id="choice-title")
            yield OptionList(*options)

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        values = [c[0] for c in self.choices]
        menu.highlighted = values.index(self.current) if self.current in values else 0
        menu.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_id)

    def action_cancel(self) -> None:
        self.dismiss(None)

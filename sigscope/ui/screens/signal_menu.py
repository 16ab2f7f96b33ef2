"""The send-signal menu (htop's ``k`` / ``F9``): every signal, with what it does by default.

Real-time signals are listed too, as ``SIGRTMIN+n``. The menu opens on the last signal chosen
(SIGTERM the first time), because repeating a signal is the common case in a lesson. Typing a
name or a number (``kill``, ``9``, ``rtmin+2``) jumps to it; arrows move; Enter sends.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from sigscope.signames import SignalError, all_signals, parse_signal

ACTION_WORDS = {
    "Term": "terminate",
    "Core": "terminate + core dump",
    "Ign": "ignore",
    "Stop": "stop",
    "Cont": "continue if stopped",
}


def signal_option(number: int, name: str, action: str, catchable: bool) -> Option:
    label = Text()
    label.append(f"{number:>2} ", style="dim")
    label.append(f"{name:<13}", style="bold")
    label.append(f" {ACTION_WORDS.get(action, action)}", style="")
    if not catchable:
        label.append("  (cannot be caught or ignored)", style="italic red")
    return Option(label, id=str(number))


def find_signal(text: str) -> int | None:
    """The signal a user means by what they typed so far: an exact name or number, else the
    first signal whose name (without ``SIG``) starts with it."""
    text = text.strip()
    if not text:
        return None
    try:
        return parse_signal(text)
    except SignalError:
        pass
    prefix = text.upper().removeprefix("SIG")
    for s in all_signals():
        if s.name.removeprefix("SIG").startswith(prefix):
            return s.number
    return None


class SignalMenu(ModalScreen[int | None]):
    """Pick a signal for ``target`` (a description like ``worker 1 (pid 4242)``)."""

    DEFAULT_CSS = """
    SignalMenu { align: center middle; }
    SignalMenu > Vertical {
        width: 64; max-width: 100%; height: 80%; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    SignalMenu #menu-title { width: 100%; text-style: bold; }
    SignalMenu #menu-hint { width: 100%; color: $text-muted; }
    SignalMenu OptionList { height: 1fr; }
    """

    BINDINGS = [
        Binding("escape", "dismiss_menu", "Cancel"),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
    ]

    def __init__(self, target: str, preselect: int) -> None:
        super().__init__()
        self.target = target
        self.preselect = preselect

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Send a signal to {self.target}"), id="menu-title")
            hint = "type a name or number · ↑↓ move · Enter sends · Esc cancels"
            yield Label(hint, id="menu-hint")
            yield Input(placeholder="e.g. kill, 9, usr1, rtmin+2", id="menu-find", compact=True)
            yield OptionList(
                *(
                    signal_option(s.number, s.name, s.default_action, s.catchable)
                    for s in all_signals()
                ),
                id="signals",
            )

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        try:
            menu.highlighted = menu.get_option_index(str(self.preselect))
        except Exception:  # an unknown preselect: start at the top
            menu.highlighted = 0
        self.query_one(Input).focus()

    @property
    def highlighted_signal(self) -> int | None:
        """The signal Enter would send now."""
        menu = self.query_one(OptionList)
        if menu.highlighted is None:
            return None
        option_id = menu.get_option_at_index(menu.highlighted).id
        return None if option_id is None else int(option_id)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        found = find_signal(event.value)
        if found is not None:
            menu = self.query_one(OptionList)
            menu.highlighted = menu.get_option_index(str(found))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        signum = self.highlighted_signal
        if signum is not None:
            self.dismiss(signum)

    def action_move(self, step: int) -> None:
        menu = self.query_one(OptionList)
        last = menu.option_count - 1
        current = menu.highlighted or 0
        menu.highlighted = max(0, min(last, current + step))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id is not None:
            self.dismiss(int(event.option_id))

    def action_dismiss_menu(self) -> None:
        self.dismiss(None)

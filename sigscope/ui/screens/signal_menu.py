"""The send-signal menu (htop's ``k`` / ``F9``): every signal, with what it does by default.

Real-time signals are listed too, as ``SIGRTMIN+n``. The menu opens on the last signal chosen
(SIGTERM the first time), because repeating a signal is the common case in a lesson. Typing a
name or a number (``kill``, ``9``, ``rtmin+2``) highlights its row and scrolls to it as you
type; arrows move; Enter sends. A line under the box says what Enter will send, so what was
typed always has a visible answer (or a plain "no signal called …").

A count sends the signal several times, as a shell loop or a vim count would: ``5*usr1``,
``5×usr1`` or ``5x usr1`` (a lone ``5`` is signal 5, as ``kill -5`` is), or ``5*`` then the
arrows. Counts go up to :data:`MAX_COUNT`: each send is a system call on the UI's thread.

``NAME=VALUE`` (``rtmin+1=42``) sends the signal queued with an integer value, as
``sigqueue(3)`` does (``si_code`` SI_QUEUE; a ``signalfd`` or ``sigwait`` worker reports it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from sigscope.numbers import NumberError, parse_int
from sigscope.sendspec import SendSpecError, parse_value
from sigscope.signames import SignalError, all_signals, parse_signal, signal_name

ACTION_WORDS = {
    "Term": "terminate",
    "Core": "terminate + core dump",
    "Ign": "ignore",
    "Stop": "stop",
    "Cont": "continue if stopped",
}
MAX_COUNT = 100  # signals per choice: enough to show coalescing, never a UI-freezing flood
# A count in front: ASCII digits (``\d`` would take any Unicode digit), then *, ×, a space, or
# an x that stands alone (``5x usr1``; in ``5xcpu`` the x belongs to SIGXCPU's name).
COUNTED = re.compile(r"\s*([0-9]+)\s*(?:[*×]|[xX](?=\s|$)|\s)\s*(.*)", re.DOTALL)


@dataclass(frozen=True)
class SignalChoice:
    """What the menu was closed with: the signal, and how many times to send it."""

    signum: int
    count: int = 1
    value: int | None = None  # NAME=VALUE: sent queued (sigqueue, SI_QUEUE) with this value


def signal_option(number: int, name: str, action: str, catchable: bool) -> Option:
    label = Text(no_wrap=True, overflow="ellipsis")
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


def split_count(text: str) -> tuple[int, str]:
    """(count, the signal part) of what was typed: ``5*usr1`` -> (5, "usr1"); ``usr1`` ->
    (1, "usr1"); ``9`` -> (1, "9") (a lone number is a signal number, as in ``kill -9``).

    Raises:
        NumberError: a count of 0 or above :data:`MAX_COUNT` (one line, fit to show).
    """
    match = COUNTED.fullmatch(text)
    if match is None:
        return 1, text.strip()
    count = parse_int(match.group(1), what="the count", low=1, high=MAX_COUNT)
    return count, match.group(2).strip()


class SignalMenu(ModalScreen[SignalChoice | None]):
    """Pick a signal (and a count) for ``target`` (a description like ``worker 1 (pid 42)``)."""

    DEFAULT_CSS = """
    SignalMenu { align: center middle; }
    SignalMenu > Vertical {
        width: 72; max-width: 100%; height: 80%; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    SignalMenu #menu-title { width: 100%; text-style: bold; }
    SignalMenu #menu-hint { width: 100%; color: $text-muted; }
    SignalMenu #menu-will { width: 100%; height: 1; text-style: bold; color: $success; }
    SignalMenu #menu-will.-none { color: $error; }
    SignalMenu OptionList { height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    /* The row Enter will send stands out although the focus is in the input box (Textual's
       unfocused highlight is a faint tint). */
    SignalMenu OptionList > .option-list--option-highlighted {
        background: $accent; color: $text; text-style: bold;
    }
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
        self.count = 1
        """How many times Enter sends the highlighted signal (from a typed count)."""
        self.count_error: str | None = None  # a typed count out of range: nothing is sent
        self.name_error: str | None = None  # no signal by the typed name (until ↑↓ pick one)
        self.value: int | None = None  # a typed =VALUE: the signal goes queued with it
        self.value_error: str | None = None  # a =VALUE that is not a C int: nothing is sent

    @property
    def problem(self) -> str | None:
        """Why Enter would send nothing now (a bad count, no such signal), or None."""
        return self.count_error or self.value_error or self.name_error

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Send a signal to {self.target}"), id="menu-title")
            hint = "name or number · 5*usr1: five times · rtmin+1=42: with a value · Esc"
            yield Label(hint, id="menu-hint")
            yield Input(placeholder="e.g. kill, 9, usr1, rtmin+2, 5*usr1", id="menu-find")
            yield Label("", id="menu-will")
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
        self._show_choice()

    @property
    def highlighted_signal(self) -> int | None:
        """The signal Enter would send now."""
        menu = self.query_one(OptionList)
        if menu.highlighted is None:
            return None
        option_id = menu.get_option_at_index(menu.highlighted).id
        return None if option_id is None else int(option_id)

    @property
    def will_send(self) -> str:
        """The line under the input box: what Enter sends, or why it sends nothing."""
        return str(self.query_one("#menu-will", Label).content)

    def _show_choice(self) -> None:
        will = self.query_one("#menu-will", Label)
        signum = self.highlighted_signal
        if self.problem is None and signum is not None:
            times = f" ×{self.count}" if self.count > 1 else ""
            value = "" if self.value is None else f"={self.value} (queued, sigqueue)"
            text = f"Enter sends {signal_name(signum)}{value}{times} to {self.target}"
        else:
            text = self.problem or "nothing highlighted"
        will.update(Text(text))
        will.set_class(self.problem is not None, "-none")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.count_error = self.name_error = self.value_error = None
        self.value = None
        try:
            self.count, query = split_count(event.value)
        except NumberError as e:
            self.count, query = 1, ""
            self.count_error = f"{e} (counts go from 1 to {MAX_COUNT})"
        query, eq, value_text = query.partition("=")
        query = query.strip()
        if eq:
            try:
                self.value = parse_value(value_text)
            except SendSpecError as e:
                self.value_error = str(e)[:70]
        if query:
            found = find_signal(query)
            if found is None:
                self.name_error = f"no signal called {query[:20]!r}: ↑↓ or keep typing"
            else:
                menu = self.query_one(OptionList)
                menu.highlighted = menu.get_option_index(str(found))
                menu.scroll_to_highlight(top=False)
        self._show_choice()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_choice()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        signum = self.highlighted_signal
        if signum is not None and self.problem is None:
            self.dismiss(SignalChoice(signum, self.count, self.value))

    def action_move(self, step: int) -> None:
        menu = self.query_one(OptionList)
        last = menu.option_count - 1
        current = menu.highlighted or 0
        menu.highlighted = max(0, min(last, current + step))
        self.name_error = None  # a row picked with the arrows is the answer now
        self._show_choice()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # a click (or Enter in the list) picks that row; a bad count still blocks
        if event.option_id is not None and self.count_error is None and self.value_error is None:
            self.dismiss(SignalChoice(int(event.option_id), self.count, self.value))

    def action_dismiss_menu(self) -> None:
        self.dismiss(None)

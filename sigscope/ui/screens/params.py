"""Parameters for a new worker: the behaviour's defaults, editable as ``key=value,…``.

A lesson may ask the learner to start, say, ``crash`` with ``how=exit,code=137``; the Spawn…
dialog picks the behaviour, and this one takes its parameters in the same words as
``sigscope trace --behaviour NAME:key=value,…`` (lists of signals separated by ``|``). A
mistake is shown in the dialog, in one line, and the learner can correct it.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from sigscope.lab.behaviours import BEHAVIOURS, BehaviourError, parse_behaviour_spec

MAX_TEXT = 500  # characters: more than any behaviour's parameters need


def format_params(params: dict[str, Any]) -> str:
    """``params`` as ``key=value,…`` text that :func:`parse_behaviour_spec` reads back."""
    parts = []
    for key, value in params.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list):
            text = "|".join(str(v) for v in value)
        else:
            text = str(value)
        parts.append(f"{key}={text}")
    return ",".join(parts)


class ParamsDialog(ModalScreen[dict[str, Any] | None]):
    """Edit the parameters of behaviour ``name``; dismisses them checked, or ``None``."""

    DEFAULT_CSS = """
    ParamsDialog { align: center middle; }
    ParamsDialog > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ParamsDialog #params-title { width: 100%; text-style: bold; }
    ParamsDialog #params-error { color: $error; width: 100%; }
    ParamsDialog .hint { color: $text-muted; width: 100%; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.behaviour = name
        self.defaults = dict(BEHAVIOURS[name].defaults)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"A new {self.behaviour} worker, with parameters"), id="params-title")
            yield Label(Text(BEHAVIOURS[self.behaviour].summary), classes="hint")
            yield Input(
                format_params(self.defaults),
                max_length=MAX_TEXT,
                id="params-input",
                select_on_focus=False,
            )
            yield Label(
                Text("key=value, separated by commas; lists of signals with |. Enter starts it."),
                classes="hint",
            )
            yield Label("", id="params-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            _, params = parse_behaviour_spec(f"{self.behaviour}:{event.value}")
        except BehaviourError as e:
            self.query_one("#params-error", Label).update(Text(str(e)))
            return
        self.dismiss(params)

    def action_cancel(self) -> None:
        self.dismiss(None)

"""ActionButton starts lighter than a Button (issue 14) and looks exactly like one.

Its CSS is a copy of the part of Button's that can apply to it: each check here puts an
ActionButton in an app of its own and a plain Button that does not take the focus (what the
ActionButton was before) in another, and compares every style rule and every rendered cell,
in each state a quick-action button can be in and in each kind of theme.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import Container
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Button

from sigscope.ui.widgets.action_button import BUTTON_CSS, ActionButton


class PlainButton(Button, can_focus=False):
    """What ActionButton was: a Button that never takes the focus, with Button's CSS."""


class OneButton(App[None]):
    CSS = "#actions Button { min-width: 0; }"  # as the dashboard's app.tcss has it

    def __init__(self, make: Callable[[], Widget], theme: str) -> None:
        super().__init__()
        self.make = make
        self.theme_name = theme

    def compose(self) -> ComposeResult:
        with Container(id="actions"):
            yield self.make()

    def on_mount(self) -> None:
        self.theme = self.theme_name


def _set_active(button: Button) -> None:
    button.add_class("-active")


def _set_disabled(button: Button) -> None:
    button.disabled = True


STATES: dict[str, Callable[[Button], None] | None] = {
    "plain": None,
    "pressed": _set_active,
    "disabled": _set_disabled,
}


async def _look(
    make: Callable[[], Widget], theme: str, state: str, hover: bool
) -> tuple[dict[str, Any], list[Any], frozenset[str]]:
    app = OneButton(make, theme)
    async with app.run_test(size=(40, 6)) as pilot:
        button = app.query_one("#b", Button)
        change = STATES[state]
        if change is not None:
            change(button)
        if hover:
            await pilot.hover("#b")
        await pilot.pause()
        rules = button.styles.get_rules()
        region = Region(0, 0, button.size.width, button.size.height)
        lines = [list(strip) for strip in button.render_lines(region)]
        sources = frozenset(where for (_, where) in app.stylesheet.source)
    return rules, lines, sources


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "ansi-dark"])
@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("hover", [False, True], ids=["", "hover"])
async def test_an_action_button_looks_as_a_button_does(theme: str, state: str, hover: bool) -> None:
    def ours() -> Widget:
        return ActionButton("SIGTERM", id="b", compact=True, tooltip="t: SIGTERM")

    def plain() -> Widget:
        return PlainButton("SIGTERM", id="b", compact=True, tooltip="t: SIGTERM")

    our_rules, our_lines, our_sources = await _look(ours, theme, state, hover)
    rules, lines, _ = await _look(plain, theme, state, hover)
    assert our_rules == rules
    assert our_lines == lines
    # ... without Button's own CSS (7 kB of rules for other variants and the flat style).
    assert BUTTON_CSS not in our_sources


@pytest.mark.parametrize("kwargs", [{"flat": True}, {"variant": "primary"}, {}])
async def test_other_buttons_look_as_buttons_do(kwargs: dict[str, Any]) -> None:
    """A flat button or another variant takes Button's CSS (the copy has not their rules); a
    button that is not compact has the copy's borders."""
    our = await _look(lambda: ActionButton("Go", id="b", **kwargs), "textual-dark", "plain", True)
    plain = await _look(lambda: PlainButton("Go", id="b", **kwargs), "textual-dark", "plain", True)
    assert our[:2] == plain[:2]


async def test_an_action_button_is_styled_once_as_it_is_mounted() -> None:
    """Button's watchers add its classes (-style-default, -textual-compact) while it is made,
    each styling it at once: twice more than the once it is styled as it is mounted (28
    passes for the dashboard's buttons)."""
    styled: list[Widget] = []

    class Counting(App[None]):
        def compose(self) -> ComposeResult:
            yield ActionButton("SIGTERM", id="b", compact=True)

    app = Counting()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        apply = app.stylesheet.apply

        def counted(node: Any, *args: Any, **kwargs: Any) -> None:
            styled.append(node)
            apply(node, *args, **kwargs)

        app.stylesheet.apply = counted  # type: ignore[method-assign]
        await app.screen.mount(ActionButton("SIGKILL", id="k", compact=True))
        await pilot.pause()
        button = app.query_one("#k", Button)
        assert styled.count(button) == 1
        assert button.has_class("-style-default", "-textual-compact")  # as Button has them

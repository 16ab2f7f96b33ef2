"""QuietFooter shows what Textual's Footer shows, with fewer styling passes (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from sigscope.ui.widgets.footer import QuietFooter


class WithFooter(App[None]):
    BINDINGS = [
        Binding("k", "bell", "Signal…"),
        Binding("question_mark", "bell", "Help", key_display="?"),
        Binding("x", "bell", "Hidden", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, footer: type[Footer], compact: bool) -> None:
        super().__init__()
        self.footer_type = footer
        self.compact = compact
        self.styled: list[Any] = []

    def compose(self) -> ComposeResult:
        yield self.footer_type(compact=self.compact)

    def on_mount(self) -> None:
        apply = self.stylesheet.apply

        def counted(node: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(node, FooterKey):
                self.styled.append(node)
            apply(node, *args, **kwargs)

        self.stylesheet.apply = counted  # type: ignore[method-assign]


async def _shown(footer: type[Footer], compact: bool) -> tuple[list[Any], list[Any], int]:
    app = WithFooter(footer, compact)
    async with app.run_test(size=(60, 4)) as pilot:
        await pilot.pause()
        await pilot.pause()
        keys = list(app.query(FooterKey))
        assert keys, "the footer shows its keys"
        looks = [
            (key.key, key.compact, sorted(key.classes), key.styles.get_rules(), key.region)
            for key in keys
        ]
        lines = [list(line) for line in app.screen._compositor.render_update(full=True).strips]  # type: ignore[attr-defined]
        passes = len(app.styled)
    return looks, lines, passes


@pytest.mark.parametrize("compact", [False, True])
async def test_the_quiet_footer_shows_what_textuals_does(compact: bool) -> None:
    ours, our_lines, our_passes = await _shown(QuietFooter, compact)
    theirs, lines, passes = await _shown(Footer, compact)
    assert ours == theirs
    assert our_lines == lines
    assert our_passes < passes

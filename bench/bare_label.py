"""The start-up peer: the least a Textual app can be, one label on the screen.

``python -m bench.bare_label`` (bench_dashboard starts it in a pty, next to ``sigscope``).
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Label


class BareLabel(App[None]):
    """One label, no bindings, no CSS: what any Textual app pays before its first frame."""

    def compose(self) -> ComposeResult:
        yield Label("first frame")


if __name__ == "__main__":
    BareLabel().run()

"""The status line: the dashboard's notices, in a row of their own above the buttons.

Textual shows notifications as toasts *over* the screen; on the dashboard that covered the
lesson's step list, the master's ``zombies`` line at the moment a zombie formed, and half the
instructions at 80×24. A notice here takes one row of the layout and covers nothing. When no
notice is up, the line says how to get about (and, as root, says so: the compact layout has no
header to say it in).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

SEVERITY_STYLES = {
    "information": "bold",
    "warning": "bold black on yellow",
    "error": "bold white on red",
}
MAX_NOTICES = 3  # shown at once, newest first; older ones are dropped early
MAX_LENGTH = 300  # characters of one notice: a line, not a log


@dataclass(frozen=True)
class Notice:
    text: str
    severity: str
    until: float  # time.monotonic() at which it goes


class StatusLine(Static):
    """One row: the current notices (newest first), or a hint when there are none."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, hint: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.hint = hint
        self.notices: list[Notice] = []
        self._timer: object | None = None

    def on_mount(self) -> None:
        self._redraw()

    def set_hint(self, hint: str) -> None:
        self.hint = hint
        self._redraw()

    def show_notice(self, text: str, severity: str = "information", timeout: float = 5.0) -> None:
        text = " ".join(text.split())  # one line, whatever the caller wrote
        if len(text) > MAX_LENGTH:
            text = text[: MAX_LENGTH - 1] + "…"
        now = time.monotonic()
        notice = Notice(text, severity, now + max(0.5, timeout))
        # The same words twice say nothing new: the newer copy replaces the older one.
        older = [n for n in self._live(now) if n.text != text]
        self.notices = [notice, *older][:MAX_NOTICES]
        self._redraw()
        self.set_timer(max(0.5, timeout) + 0.05, self._expire)

    @property
    def text(self) -> str:
        """What the line says now (notices, or the hint)."""
        return self._render_text().plain

    def _live(self, now: float) -> list[Notice]:
        return [n for n in self.notices if n.until > now]

    def _expire(self) -> None:
        live = self._live(time.monotonic())
        if live != self.notices:
            self.notices = live
            self._redraw()

    def _render_text(self) -> Text:
        live = self._live(time.monotonic())
        if not live:
            return Text(self.hint, style="dim", no_wrap=True, overflow="ellipsis")
        line = Text(no_wrap=True, overflow="ellipsis")
        for i, notice in enumerate(live):
            if i:
                line.append("  ·  ", style="dim")
            line.append(f" {notice.text} ", style=SEVERITY_STYLES.get(notice.severity, ""))
        return line

    def _redraw(self) -> None:
        self.update(self._render_text())

"""The Code panel's editor: a ``TextArea`` with keys for run, stop and history (issue 17).

A module of its own so that Textual's ``TextArea`` is imported when the Code panel is first
shown, not with the dashboard (issue 14: start-up to first frame); see
:mod:`sigscope.ui.widgets.code_panel` for the panel and its keys.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from textual.binding import Binding, BindingType
from textual.widgets import TextArea


@runtime_checkable
class CodeRunner(Protocol):
    """What the editor's keys call: the Code panel it sits in (which imports this module)."""

    def run_code(self) -> None: ...

    def stop_code(self) -> None: ...

    def history_step(self, step: int) -> None: ...


class CodeEditor(TextArea):
    """The editor: its own keys for run, stop and history (shown in the footer)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+enter,ctrl+o", "run_code", "Run", key_display="ctrl+o"),
        Binding("ctrl+g", "stop_code", "Stop", key_display="ctrl+g"),
        Binding("ctrl+up", "history(-1)", "Older", show=False),
        Binding("ctrl+down", "history(1)", "Newer", show=False),
    ]

    def action_run_code(self) -> None:
        panel = self._panel()
        if panel is not None:
            panel.run_code()

    def action_stop_code(self) -> None:
        panel = self._panel()
        if panel is not None:
            panel.stop_code()

    def action_history(self, step: int) -> None:
        panel = self._panel()
        if panel is not None:
            panel.history_step(step)

    def _panel(self) -> CodeRunner | None:
        for node in self.ancestors:
            if isinstance(node, CodeRunner):
                return node
        return None


__all__ = ["CodeEditor", "CodeRunner"]

"""The dashboard's quick-action button: a click acts, the focus stays where it was."""

from __future__ import annotations

from textual.widgets import Button


class ActionButton(Button, can_focus=False):
    """A quick-action button that never takes the focus: after a click, the arrow keys still
    move the selection in the process tree."""

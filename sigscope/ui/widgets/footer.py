"""The dashboard's footer: Textual's, with its keys made in their final style.

Textual's ``FooterKey`` starts compact (``compact = reactive(True)``) and the footer binds it
to its own ``compact`` (False) once mounted: each key added the class ``-compact`` and took it
away again, and each change styled the key (and its two component classes) once more. The
footer makes its keys again whenever the focus moves (the bindings shown change), 12 of them
on the dashboard, so that was 24 extra styling passes before the first frame (issue 14) and at
every change of focus. :class:`QuietFooter` gives each key the footer's ``compact`` and its
class before it is mounted; the binding then finds nothing to change. (Should Textual rename
what records the binding, the keys are made as before: more passes, the same look.)
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class QuietFooter(Footer):
    """Textual's Footer, whose keys are made compact or not as the footer is."""

    def compose(self) -> ComposeResult:
        compact = self.compact
        for widget in super().compose():
            # Only the keys bound to the footer's compact (the command palette's is not: it
            # stays compact, as in Textual's footer).
            if isinstance(widget, FooterKey) and "compact" in (
                getattr(widget, "_reactive_connect", None) or {}
            ):
                widget.set_reactive(FooterKey.compact, compact)
                widget.set_class(compact, "-compact", update=False)
            yield widget

"""The dashboard's quick-action button: a click acts, the focus stays where it was.

It is a Textual :class:`~textual.widgets.Button` (``Button.Pressed``, the ``Button`` CSS type,
``query(Button)``) that starts lighter (issue 14: start-up to first frame):

- its CSS is the part of ``Button.DEFAULT_CSS`` that can apply to it (the default variant,
  not flat, compact or not; hover, pressed, disabled; the ANSI theme), copied into
  ``ActionButton.DEFAULT_CSS``. Button's own is 7 kB of rules for variants and the flat style
  that no action button has; parsing it was the largest share of the CSS parsed before the
  dashboard's first frame. A button made with ``flat=True`` or another ``variant`` takes
  Button's CSS as before (give those when making it: changed later, its look is not).
- it is not styled before it is in the DOM: Button's watchers add its classes while it is
  made, and each class styled it again at once (two passes per button, 28 for the
  dashboard's 14), before the app styles it anyway when it is mounted.

``tests/ui/test_action_button.py`` checks that it looks exactly as a Button would (every style
rule, in each state and theme), so the copy cannot drift from Textual's unnoticed.
"""

from __future__ import annotations

from textual.css.types import CSSLocation
from textual.widgets import Button

BUTTON_CSS = "Button.DEFAULT_CSS"  # where Textual says Button's DEFAULT_CSS came from


class ActionButton(Button, can_focus=False):
    """A quick-action button that never takes the focus: after a click, the arrow keys still
    move the selection in the process tree."""

    # Button.DEFAULT_CSS (Textual 8.2), less the rules for the flat style and the other
    # variants; "Button" is "ActionButton" (a widget's DEFAULT_CSS is scoped to its type).
    DEFAULT_CSS = """
    ActionButton:ansi.-style-flat, ActionButton:ansi.-style-default {
        border: tall $border-blurred;
        background: ansi_default;

        &:disabled {
            text-opacity: 1;
            text-style: bold dim;
            border: tall $border-blurred !important;
            background: ansi_default !important;
            pointer: not-allowed;
            &:hover {
                background: ansi_default;
            }
        }

        &:hover {
            background: $ansi-background;
            border: tall $border;
        }

        &.-active {
            background: $ansi-background !important;
            border: blank $background !important;
            tint: transparent;
        }
    }

    ActionButton {
        width: auto;
        min-width: 16;
        height: auto;
        line-pad: 1;
        text-align: center;
        content-align: center middle;
        pointer: pointer;

        &.-style-default {
            text-style: bold;
            color: $button-foreground;
            background: $surface;
            border: none;
            border-top: tall $surface-lighten-1;
            border-bottom: tall $surface-darken-1;

            &.-textual-compact {
                border: none !important;
            }

            &:disabled {
                text-opacity: 0.6;
                pointer: not-allowed;
            }

            &:focus {
                text-style: $button-focus-text-style;
                background-tint: $foreground 5%;
            }
            &:hover {
                border-top: tall $surface;
                background: $surface-darken-1;
            }

            &.-active {
                background: $surface;
                border-bottom: tall $surface-lighten-1;
                border-top: tall $surface-darken-1;
                tint: $background 30%;
            }
        }
    }
    """

    def update_node_styles(self, animate: bool = True) -> None:
        # Not in the DOM yet (Button's watchers add its classes while it is made): the app
        # styles it when it is mounted, with whatever classes it has then.
        if self.is_attached:
            super().update_node_styles(animate=animate)

    def _get_default_css(self) -> list[tuple[CSSLocation, str, int, str]]:
        css = super()._get_default_css()
        if self.flat or self.variant != "default":
            return css  # a flat button or another variant: Button's CSS has its rules
        return [entry for entry in css if entry[0][1] != BUTTON_CSS]

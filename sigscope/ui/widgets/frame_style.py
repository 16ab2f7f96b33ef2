"""A line-API widget's Rich style, read once a frame.

``Widget.rich_style`` walks every ancestor's styles (~0.1 ms); a widget that needs it for each
line it renders (and each strip it keeps) reads :attr:`FrameStyled.base_style` instead, which
is computed once while Textual renders the widget's lines for a frame (issue 14).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

# Not a widget class at run time: Textual follows a widget's *first* DOM base for its CSS
# (``DOMNode._css_bases``), so a widget base here would hide ScrollView's own CSS (its
# scrollbars) from ``class Panel(FrameStyled, ScrollView)``.
if TYPE_CHECKING:
    from textual.widget import Widget as _Mixin
else:
    _Mixin = object


class FrameStyled(_Mixin):
    """Put first among a widget's bases: ``class Panel(FrameStyled, ScrollView)``."""

    _frame_style: Style | None = None  # the widget's style while a frame renders

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    @property
    def base_style(self) -> Style:
        """The widget's Rich style (computed once a frame while a frame is rendered)."""
        style = self._frame_style
        return self.rich_style if style is None else style


__all__ = ["FrameStyled"]

"""Growing a line-API widget's scrollable area without laying out the whole screen.

Textual's ``Widget.virtual_size`` is a reactive declared with ``layout=True``: every new row
of the event list or the sequence chart asked for a layout of the whole screen in the next
frame (about 4.7 ms of a 5 ms frame on the dashboard, a third of the frames that drew a signal's
arrow: issue 14's sent → arrow p99). A panel whose own size is fixed by the layout (the
dashboard's panels are all ``1fr`` or fixed heights) is not moved by what it holds; only its
scrollbars and scroll range change, and Textual updates those itself when the scrollbars'
visibility changes (``show_vertical_scrollbar`` and ``show_horizontal_scrollbar`` are layout
reactives too, so the first overflow still lays out, as it must).
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget


def grow(widget: Widget, size: Size) -> None:
    """Set ``widget.virtual_size`` to ``size``; lay out only if its scrollbars come or go."""
    if size == widget.virtual_size:
        return
    if not widget.is_mounted or not widget.size:
        widget.virtual_size = size  # not laid out yet: the first layout will size it
        return
    widget.set_reactive(Widget.virtual_size, size)
    # Scrollbars: shown or hidden as the new size needs (a change there lays out), their thumb
    # resized, and the scroll offsets clamped to the new range.
    widget._scroll_update(size)

"""Frames as soon as they are asked for, at most one per frame period.

Textual draws a screen's changes from a timer (``Screen._update_timer``, 60 a second) that is
paused while nothing changed and resumed by the next refresh. Its loop
(``textual.timer.Timer._run``) skips the ticks it missed while paused by counting one tick too
many, so after a frame drawn at once it sleeps until the tick *after* the next: a change asked
for just after a frame is drawn up to two frame periods (33 ms at 60 Hz) later, one that comes
after a quiet moment at once. For a signal sent while the dashboard is quiet that was most of
the time from ``sent`` to the arrow on the screen.

:class:`FrameTimer` paces frames by when the last one was drawn instead: a frame is drawn at
once if the last began at least a period ago, else when that period ends. It is still paused
while nothing changed (no wake-ups then), and still draws at most ``1 / period`` frames a
second. :class:`PromptFrames` gives a screen that timer; Textual creates its own lazily in
the ``_update_timer`` property, which this overrides. Should Textual rename it, the screen
keeps Textual's pacing and nothing else changes (``tests/ui/test_ui_frames.py`` then fails).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import _time
from textual._compositor import Compositor
from textual.geometry import Region
from textual.screen import UPDATE_PERIOD, Screen
from textual.strip import Strip
from textual.timer import EventTargetGone, Timer


class FrameTimer(Timer):
    """A repeating timer whose tick comes as soon as it is resumed, unless the last tick
    began less than one interval ago (then when that interval ends)."""

    async def _run(self) -> None:
        interval = self._interval
        count = 0
        while self._repeat is None or count <= self._repeat:
            await self._active.wait()
            if self._reset:  # (reset means "from now": nothing to catch up here)
                self._reset = False
            began = _time.get_time()
            count += 1
            try:
                await self._tick(next_timer=began, count=count)
            except EventTargetGone:
                break
            rest = began + interval - _time.get_time()
            if rest > 0:
                await _time.sleep(rest)


class CroppedCompositor(Compositor):
    """Textual's compositor, which renders only the widgets a partial update touches.

    For a partial update (some lines of some widgets changed), Textual's
    ``Compositor._get_renders`` renders every visible widget whose *clip* overlaps the area to
    update; the clip of a widget is its container's visible area, so that is every widget on
    the screen, each in full, and most of it thrown away (the frame that shows the tree's ages
    advancing, once a second, rendered all twelve of the dashboard's widgets). This one
    renders a widget only if its own visible area (its region within its clip) meets the area
    to update and, there, is not behind a widget in front (containers behind their
    children), and of it only the lines the update writes. What it leaves out lies outside
    every line and column the update writes, or is covered there: ``ChopsUpdate`` writes only
    within the updated spans, skips what nothing drew, and the compositor paints front to back
    with the first widget drawn at a place winning it (nothing is blended).
    """

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if not crop:
            yield from super()._get_renders(crop)
            return
        _rich_traceback_guard = True  # noqa: F841 (as Textual's: no traceback from here up)
        intersection = Region.intersection
        touches = crop.overlaps
        drawn: list[Region] = []  # what the widgets yielded so far show (front to back)
        for widget, (region, clip) in self.visible_widgets.items():
            shown = intersection(region, clip)
            if not (shown.width and shown.height and touches(shown)):
                continue
            updated = intersection(shown, crop)
            if any(front.contains_region(updated) for front in drawn):
                continue  # behind a widget in front, wherever the update writes
            drawn.append(shown)
            # Only its lines the update writes, each whole: passed on as the widget's clip,
            # the lines it yields are placed from there (as for a widget a scrolled
            # container clips).
            part = intersection(shown, Region(shown.x, crop.y, shown.width, crop.height))
            lines = Region(part.x - region.x, part.y - region.y, part.width, part.height)
            yield region, part, widget.render_lines(lines)


class PromptFrames(Screen[None]):
    """A screen drawn by a :class:`FrameTimer` (see the module's docstring), and composed by
    a :class:`CroppedCompositor`."""

    _frame_timer: FrameTimer | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._compositor = CroppedCompositor()

    @property
    def _update_timer(self) -> Timer:
        if self._frame_timer is None:
            timer = FrameTimer(
                self,
                UPDATE_PERIOD,
                name="screen_update",
                callback=self._on_timer_update,
                pause=True,
            )
            timer._start()
            self._timers.add(timer)
            self._frame_timer = timer
        return self._frame_timer


__all__ = ["FrameTimer", "PromptFrames"]

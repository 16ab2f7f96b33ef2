"""The dashboard's frames come as soon as they are asked for, at most one a period
(sigscope/ui/frames.py). Textual's own update timer, after a frame drawn at once, waits for the
tick after the next: a change asked for just after a frame waited up to two periods. These run
a FrameTimer with a long period (0.4 s), so the machine's load cannot blur one period into two.
"""

from __future__ import annotations

import asyncio
import time

from textual.app import App
from textual.widgets import Label

from sigscope.ui.dashboard import DashboardScreen
from sigscope.ui.frames import FrameTimer, PromptFrames

PERIOD = 0.4


class _Pacer:
    """A FrameTimer paused after each tick, as the screen's update timer is."""

    def __init__(self, app: App[None]) -> None:
        self.ticks: list[float] = []
        self.ticked = asyncio.Event()
        self.timer = FrameTimer(app, PERIOD, callback=self._tick, pause=True)
        self.timer._start()

    def _tick(self) -> None:
        self.timer.pause()
        self.ticks.append(time.monotonic())
        self.ticked.set()

    async def ask(self) -> float:
        """Resume (as a refresh does); how long until the next tick."""
        self.ticked.clear()
        asked = time.monotonic()
        self.timer.resume()
        await asyncio.wait_for(self.ticked.wait(), timeout=10)
        return self.ticks[-1] - asked


async def test_a_frame_after_a_quiet_moment_is_drawn_at_once() -> None:
    app: App[None] = App()
    async with app.run_test():
        pacer = _Pacer(app)
        try:
            assert await pacer.ask() < PERIOD / 2  # the first: nothing drawn before it
            await asyncio.sleep(PERIOD * 1.5)  # quiet for longer than a period
            assert await pacer.ask() < PERIOD / 2
        finally:
            pacer.timer.stop()


async def test_a_frame_asked_for_just_after_one_waits_one_period_not_two() -> None:
    app: App[None] = App()
    async with app.run_test():
        pacer = _Pacer(app)
        try:
            started = time.monotonic()
            await pacer.ask()
            # Quiet, then a frame asked for just past a whole number of periods since the
            # timer began (where Textual's own timer then skips to the end of the second
            # period after it), then another asked for just after that one.
            await asyncio.sleep(max(0.0, started + PERIOD * 3.125 - time.monotonic()))
            await pacer.ask()
            drawn = pacer.ticks[-1]
            await asyncio.sleep(PERIOD / 4)
            await pacer.ask()
            gap = pacer.ticks[-1] - drawn
            # Never two frames within a period; the next when that period ends.
            assert PERIOD * 0.95 <= gap < PERIOD * 1.6, gap
            assert len(pacer.ticks) == 3
        finally:
            pacer.timer.stop()


async def test_a_paused_frame_timer_does_not_tick() -> None:
    app: App[None] = App()
    async with app.run_test():
        pacer = _Pacer(app)
        try:
            await pacer.ask()
            await asyncio.sleep(PERIOD * 2.5)
            assert len(pacer.ticks) == 1  # nothing asked for, nothing drawn
        finally:
            pacer.timer.stop()


class _Screen(PromptFrames):
    def compose(self):  # type: ignore[no-untyped-def]
        yield Label("frames")


async def test_the_dashboard_screen_is_drawn_by_a_frame_timer() -> None:
    # Should Textual rename the property the screen's timer lives in, this fails: the
    # dashboard would silently be back on Textual's pacing.
    assert issubclass(DashboardScreen, PromptFrames)

    class Shown(App[None]):
        def on_mount(self) -> None:
            self.push_screen(_Screen())

    app = Shown()
    async with app.run_test() as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, _Screen)
        label = screen.query_one(Label)
        label.update("changed")
        await pilot.pause(0.1)
        assert isinstance(screen._update_timer, FrameTimer)
        assert str(label.render()) == "changed"

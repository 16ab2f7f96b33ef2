"""The demo's narrator as a part: in a tiny app of its own (no lab, no dashboard), it plays a
lesson on its own clock and asks for what it needs with messages; the demo mounts it, hidden,
in the dashboard screen."""

from __future__ import annotations

from functools import partial
from typing import Any, cast

from textual.app import App, ComposeResult

from sigscope.course.lesson import parse_lesson
from sigscope.course.run import LessonRun
from sigscope.ui.models.narration import Narration
from sigscope.ui.widgets.demo_narrator import DemoNarrator
from tests.ui import helpers
from tests.unit.test_narration import LESSON, FakeRun

until = partial(helpers.until, timeout=30.0)


class Host(App[None]):
    """What the narrator talks to: records its messages."""

    def __init__(self, narrator: DemoNarrator) -> None:
        super().__init__()
        self.narrator = narrator
        self.heard: list[tuple[Any, ...]] = []

    def compose(self) -> ComposeResult:
        yield self.narrator

    def on_demo_narrator_perform(self, message: DemoNarrator.Perform) -> None:
        self.heard.append(("perform", message.index))

    def on_demo_narrator_changed(self, message: DemoNarrator.Changed) -> None:
        self.heard.append(("changed", message.step))

    def on_demo_narrator_restart(self, message: DemoNarrator.Restart) -> None:
        self.heard.append(("restart",))


async def test_the_narrator_plays_by_itself_and_asks_with_messages() -> None:
    run = FakeRun(parse_lesson(LESSON, "paced.toml"))
    lesson_run = cast(LessonRun, run)
    narrator = DemoNarrator(Narration(100.0, loop=True, hold_floor=0.0))
    app = Host(narrator)
    async with app.run_test() as pilot:
        assert not narrator.display and not narrator.region.area  # it draws nothing
        assert narrator.begin(lesson_run)  # the pane must show step 1 (the app draws it)
        await until(pilot, lambda: ("perform", 0) in app.heard, "step 1 asked for")
        # The app performs it (here: the run just moves on) and says how it went.
        run.complete()
        narrator.show_me_ended(lesson_run, 0, True)
        assert narrator.narration.phase == "holding"
        narrator.after_show_me(lesson_run, 0)
        app.heard.clear()
        # By itself: the hold ends, step 2 (prose) is read, step 3's prediction is locked and
        # shown, then the lab is asked to act; each time the pane changed, it said so.
        await until(pilot, lambda: ("perform", 2) in app.heard, "step 3 asked for")
        assert run.predictions == {2: "2"}
        assert app.heard.count(("changed", True)) >= 3, app.heard
        run.complete()
        narrator.show_me_ended(lesson_run, 2, True)
        narrator.after_show_me(lesson_run, 2)
        await until(pilot, lambda: ("restart",) in app.heard, "a kiosk's fresh lab asked for")
        assert narrator.narration.rounds == 1


def test_a_newer_change_keeps_an_older_step_change() -> None:
    older, newer = DemoNarrator.Changed(step=True), DemoNarrator.Changed(step=False)
    assert older.can_replace(newer) and newer.step

"""The demo's narration without Textual or a lab: its phases, pauses, holds and keys, on a
clock the test moves by hand and a run that moves as a LessonRun does (tests/ui/test_ui_demo.py
plays real lessons on real labs)."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace
from typing import Any, cast

import pytest

from sigscope.course.lesson import Lesson, parse_lesson
from sigscope.course.run import LessonRun
from sigscope.ui.models.narration import (
    END_PAUSE,
    HOLD_SECONDS,
    MAX_SPEED,
    MIN_HOLD,
    MIN_SPEED,
    PREDICT_SECONDS,
    Narration,
    Perform,
    Restart,
    Say,
    narration_seconds,
)

LESSON = """
title = "Paced"
sources = ["kill(2)"]
[lab]
workers = 2
[[steps]]
title = "A handler"
text = "Send SIGUSR1 to worker 0."
sources = ["kill(2)"]
expect = { received = "SIGUSR1", worker = 0 }
solution = [{ send = "USR1@worker:0" }]
[[steps]]
title = "Read"
text = "Nothing to do here."
sources = ["kill(2)"]
[[steps]]
title = "Predict"
text = "Kill worker 0."
sources = ["kill(2)"]
predict = "How many live workers will the master have a moment later?"
answer = "live_workers"
expect = { all = [
  { reaped = { sig = "SIGKILL", worker = 0 } },
  { spawned = { worker = 0 } },
  { live_workers = 2 },
] }
solution = [{ predict = "2" }, { send = "KILL@worker:0" }]
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeRun:
    """What the narration uses of a LessonRun, moving as it does (no lab)."""

    def __init__(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.index = 0
        self.done_steps: set[int] = set()
        self.predictions: dict[int, str] = {}
        self.outcomes: dict[int, Any] = {}
        self.progress = SimpleNamespace(hints={})

    @property
    def current_step(self) -> Any:
        return self.lesson.steps[self.index]

    @property
    def done(self) -> frozenset[int]:
        return frozenset(self.done_steps)

    @property
    def awaiting_prediction(self) -> bool:
        step = self.current_step
        return (
            step.predict is not None
            and self.index not in self.predictions
            and self.index not in self.done_steps
        )

    def predict(self, text: str) -> bool:
        if not self.awaiting_prediction:
            return False
        self.predictions[self.index] = text
        return True

    def next(self) -> bool:
        if not self.current_step.checked:
            self.done_steps.add(self.index)
        if self.index + 1 >= len(self.lesson.steps):
            return False
        self.index += 1
        return True

    def back(self) -> bool:
        if self.index == 0:
            return False
        self.index -= 1
        return True

    def complete(self) -> list[int]:
        """What a show me that worked does: the step is done, the run on the next one."""
        done = self.index
        self.done_steps.add(done)
        self.index = min(done + 1, len(self.lesson.steps) - 1)
        return [done]


def playing(speed: float = 1.0, loop: bool = False) -> tuple[Narration, FakeRun, Clock]:
    clock = Clock()
    narration = Narration(speed, loop, clock=clock)
    run = FakeRun(parse_lesson(LESSON, "paced.toml"))
    narration.begin(cast(LessonRun, run))
    return narration, run, clock


def wait(narration: Narration, clock: Clock, seconds: float) -> list[Any]:
    """Let ``seconds`` pass in ticks of a tenth, as the narrator's timer does."""
    cues: list[Any] = []
    for _ in range(round(seconds * 10)):
        clock.now += 0.1
        cues += narration.tick()
    return cues


def perform(narration: Narration, run: FakeRun, ok: bool = True) -> None:
    """The host's part: the show me ends (it worked, or not), then its end is announced."""
    index = run.index
    if ok:
        run.complete()
    narration.show_me_ended(cast(LessonRun, run), index, ok)
    narration.after_show_me(cast(LessonRun, run), index)


def test_a_step_is_narrated_then_performed_then_held_then_the_next_one() -> None:
    narration, run, clock = playing()
    pause = narration_seconds(f"{run.lesson.steps[0].text} ")
    assert narration.phase == "narrating" and narration.remaining == pause
    assert narration.state_text() == f"▶ showing it in {pause:.0f}s · speed 1×"
    assert wait(narration, clock, pause - 0.2) == [] and narration.phase == "narrating"
    scene = narration.scene  # what the pane shows: its host redraws it when this moves
    cues = wait(narration, clock, 0.3)
    assert cues == [Perform(cast(LessonRun, run), 0)] and narration.phase == "performing"
    assert narration.state_text() == "▶ on the lab… · speed 1×"
    assert narration.scene == scene  # the step stays as it was while the lab acts
    perform(narration, run)
    assert narration.scene == scene + 1
    # The run is on step 2 already; the finished step 1 is what is on screen while held.
    assert (narration.phase, narration.held, run.index) == ("holding", 0, 1)
    view = narration.held_view(cast(LessonRun, run))
    assert view is not None and view.index == 0 and view.current_step.title == "A handler"
    assert narration.index_on_screen == 0
    assert wait(narration, clock, HOLD_SECONDS - 0.2) == [] and narration.phase == "holding"
    wait(narration, clock, 0.3)
    assert (narration.phase, narration.held, narration.index_on_screen) == ("narrating", None, 1)
    assert narration.held_view(cast(LessonRun, run)) is None
    phases = [(phase, index) for _, phase, index in narration.history]
    assert phases == [("narrating", 0), ("performing", 0), ("holding", 0), ("narrating", 1)]


def test_a_fast_demo_still_holds_an_outcome_for_the_floor_of_wall_time() -> None:
    narration, run, clock = playing(speed=100.0)
    wait(narration, clock, 0.1)  # 3 s of narration at speed 100
    assert narration.phase == "performing"
    perform(narration, run)
    assert narration.phase == "holding"
    wait(narration, clock, MIN_HOLD - 0.2)
    assert narration.phase == "holding"  # 6 s at speed 100 is long over; the floor is not
    wait(narration, clock, 0.3)
    assert narration.phase == "narrating"


def test_a_paused_countdown_stands_still() -> None:
    narration, run, clock = playing()
    assert narration.toggle_pause() == [Say("Paused (space resumes)", 2)]
    left = narration.remaining
    assert wait(narration, clock, 60) == [] and narration.remaining == left
    assert narration.state_text().startswith("⏸ paused")
    assert narration.toggle_pause() == [Say("Playing", 2)]
    wait(narration, clock, 1)
    assert narration.remaining == pytest.approx(left - 1)


def test_a_prediction_is_locked_and_shown_before_the_lab_acts() -> None:
    narration, run, clock = playing(speed=100.0)
    run.index = 2
    narration.begin(cast(LessonRun, run))
    # A step that asks is read for at least the floor, however fast.
    assert narration.floor_left == MIN_HOLD
    wait(narration, clock, MIN_HOLD + 0.1)
    assert narration.phase == "predicting" and run.predictions == {2: "2"}
    assert narration.state_text().startswith("▶ predicted; the lab acts in")
    cues = wait(narration, clock, max(MIN_HOLD, PREDICT_SECONDS / 100) + 0.1)
    assert cues == [Perform(cast(LessonRun, run), 2)]


def test_the_end_then_finished_or_again_on_a_fresh_lab() -> None:
    for loop in (False, True):
        narration, run, clock = playing(loop=loop)
        run.index = 2
        narration.begin(cast(LessonRun, run))
        narration.answers[2] = "2"
        assert narration.next() == [] and narration.phase == "predicting"
        assert narration.next() == [Perform(cast(LessonRun, run), 2)]
        index = run.index
        run.complete()  # the last step: the run stays on it
        narration.show_me_ended(cast(LessonRun, run), index, True)
        assert narration.after_show_me(cast(LessonRun, run), index) == []
        assert narration.phase == "holding" and narration.held == 2
        cues = wait(narration, clock, HOLD_SECONDS + 0.1)
        said = "Demo finished" + (": starting again on a fresh lab…" if loop else ".")
        assert cues == [Say(said, 5)] and narration.phase == "ending"
        assert narration.rounds == 1
        assert narration.state_text().startswith("▶ again soon" if loop else "■ the end")
        cues = wait(narration, clock, END_PAUSE + 0.1)
        if loop:
            assert cues == [Restart()] and narration.answers == {}
            fresh = FakeRun(run.lesson)
            narration.begin(cast(LessonRun, fresh))
            assert narration.phase == "narrating" and narration.index_on_screen == 0
        else:
            assert cues == [] and narration.phase == "finished"
            assert narration.next() == [Say("That was the last step (← goes back).", 2)]


def test_a_failed_show_me_does_not_stall_the_demo() -> None:
    narration, run, clock = playing()
    assert narration.next() == [Perform(cast(LessonRun, run), 0)]
    perform(narration, run, ok=False)  # its error is the host's to show
    assert narration.phase == "narrating" and run.index == 1 and narration.held is None


def test_the_presenters_keys() -> None:
    narration, run, clock = playing()
    assert narration.back() == [Say("This is the first step.", 2)]
    assert narration.phase == "narrating"
    narration.next()
    assert narration.next() == [Say("Still showing this step on the lab…", 2)]
    assert narration.back() == [Say("Still showing this step on the lab…", 2)]
    perform(narration, run)
    assert narration.phase == "holding" and run.index == 1
    # Back from a hold: the held step, narrated again.
    assert narration.back() == []
    assert (narration.phase, narration.held, run.index) == ("narrating", None, 0)
    # Next on a done step: on to the next one without performing it again; a prose-only step
    # is read and passed.
    assert narration.next() == [] and run.index == 1
    assert narration.next() == [] and run.index == 2 and 1 in run.done
    # The speed, within its bounds.
    assert narration.faster() == [Say("Speed 1.5×", 2)]
    for _ in range(30):
        narration.faster()
    assert narration.speed == MAX_SPEED
    for _ in range(30):
        narration.slower()
    assert narration.speed == MIN_SPEED
    assert Narration(1000).speed == MAX_SPEED and Narration(0.01).speed == MIN_SPEED


def test_the_narration_imports_no_textual() -> None:
    code = (
        "import json, sys\n"
        "import sigscope.ui.models.narration\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []

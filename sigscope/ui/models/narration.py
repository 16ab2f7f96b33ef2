"""The demo's narration without Textual: which phase a self-playing lesson is in, for how long.

For each step the narration shows the text for a *narration pause* (longer for longer text,
divided by the speed), then asks for the step's solution to be performed on the live lab,
then **holds on the outcome**: the finished step stays on screen (with its answer, or "you
predicted X — the lab shows Y") for :func:`hold_seconds` — scaled by the speed, but never
below a floor of wall-clock time, so a fast demo still lets the room read it. A step that asks
for a prediction first shows the prediction, locked, for a while before the lab acts. Only
then the next step (or the end). With ``loop`` (a kiosk), the lesson starts again on a fresh
lab at the end — after the last outcome has been on screen, never before.

:class:`Narration` is the state and the decisions: it moves the
:class:`~sigscope.course.run.LessonRun` on (next, back, a locked prediction) and answers each
call with the :data:`Cue` s its host must act on (perform the step, start again on a fresh lab,
say something). It reads the time from the clock it is given and never waits: the host calls
:meth:`Narration.tick` (the demo's narrator widget does, every :data:`TICK`), so the pacing is
tested here with a clock that tests move by hand.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from sigscope.course.run import ShowMeFailed

if TYPE_CHECKING:
    from sigscope.course.lesson import Step
    from sigscope.course.run import LessonRun

READING_RATE = 15.0  # characters a second: the audience reads, the presenter talks over it
MIN_PAUSE = 3.0  # seconds (at speed 1) for a step of a few words
MAX_PAUSE = 30.0  # seconds (at speed 1): a long step should not stall the room
HOLD_SECONDS = 6.0  # seconds (at speed 1) a step's outcome stays before the next step
PREDICT_SECONDS = 4.0  # seconds (at speed 1) a locked prediction shows before the lab acts
MIN_HOLD = 2.0  # seconds of wall-clock time, at any speed: the floor of a hold
END_PAUSE = 8.0  # seconds (at speed 1) on the finished lesson before a kiosk starts again
TICK = 0.1  # seconds between updates of the countdown
SPEED_STEP = 1.5
MIN_SPEED = 0.25
MAX_SPEED = 100.0
HISTORY = 1000  # phase changes kept (a kiosk loops for days)
# The phases: starting | narrating | predicting | performing | holding | ending | finished
COUNTING = frozenset({"narrating", "predicting", "holding", "ending"})  # a pause runs down


def narration_seconds(text: str) -> float:
    """How long a step's text stays up before its solution is performed, at speed 1."""
    return min(MAX_PAUSE, max(MIN_PAUSE, len(text) / READING_RATE))


def hold_seconds(speed: float, seconds: float = HOLD_SECONDS, floor: float = MIN_HOLD) -> float:
    """Wall-clock seconds an outcome (or a locked prediction) stays on screen at ``speed``."""
    return max(floor, seconds / speed)


@dataclass(frozen=True)
class Perform:
    """Perform step ``index`` of ``run`` on the lab now (as "show me" does), then tell the
    narration how it went (:meth:`Narration.show_me_ended`, :meth:`Narration.after_show_me`)."""

    run: LessonRun
    index: int


@dataclass(frozen=True)
class Restart:
    """A kiosk's lesson is over: start it again on a fresh lab (then :meth:`Narration.begin`)."""


@dataclass(frozen=True)
class Say:
    """A notice for the presenter and the room."""

    text: str
    timeout: float


Cue = Perform | Restart | Say


class HeldStep:
    """The run as the pane shows it while the demo holds on step ``index``'s outcome.

    Completing a step moves the run on to the next one at once; the room still has to see the
    finished step — its text, its ✓, the answer the lab gave or the prediction beside what the
    lab showed. Everything else is the run's own (read through)."""

    def __init__(self, run: LessonRun, index: int, answer: str | None) -> None:
        self._run = run
        self._index = index
        self._answer = answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)

    @property
    def index(self) -> int:
        return self._index

    @property
    def current_step(self) -> Step:
        step = self._run.lesson.steps[self._index]
        if step.question is not None and self._answer is not None:
            return replace(step, question=f"{step.question}  \n**The lab says:** {self._answer}")
        return step

    @property
    def awaiting_prediction(self) -> bool:
        return False

    @property
    def prediction(self) -> str | None:
        return self._run.predictions.get(self._index)

    @property
    def outcome(self) -> Any:
        return self._run.outcomes.get(self._index)

    @property
    def notice(self) -> str | None:
        return None

    @property
    def hints_shown(self) -> list[str]:
        return self.current_step.hints[: self._run.progress.hints.get(self._index, 0)]


def perform_solution(run: LessonRun, index: int, answers: dict[int, str | None]) -> list[int]:
    """Step ``index``'s solution on the lab, as "show me" does, keeping in ``answers`` the
    answer it gives to a question (shown while the demo holds on the step). Blocks while the
    lab reacts (run it in a thread); returns the steps completed.

    Raises:
        ShowMeFailed: the lab did not do what the solution expects, or refused its answer.
        LabError: the lab ended or was replaced while it ran.
    """
    step = run.current_step
    if not any(action.kind == "answer" for action in step.solution):
        return run.show_me()
    # Action by action (LessonRun.perform), so that the answer the lab gives is known here;
    # an answered question completes the step (no expectation wait).
    completed: list[int] = []
    for action in step.solution:
        if action.kind != "answer":
            completed += run.perform(action)
            continue
        value = action.value
        if value is True:
            shown = run.expected_answers()
            if not shown:
                raise ShowMeFailed(f"step {index + 1}: the lab shows no answer yet")
            value = str(shown[0])
        answers[index] = str(value)
        if not run.answer(str(value)):
            raise ShowMeFailed(f"step {index + 1}: the lab does not accept {value!r}")
        completed.append(index)
    return completed


class Narration:
    """A lesson that plays itself: its phase, its countdown, its speed and its history.

    Args:
        speed: pauses are divided by this (clamped to ``MIN_SPEED``..``MAX_SPEED``).
        loop: at the end, start again (a kiosk) instead of finishing.
        hold_floor: wall-clock seconds an outcome, a locked prediction or a question stays up
            at any speed.
        clock: now, in seconds (``time.monotonic``; a test's own).
    """

    def __init__(
        self,
        speed: float = 1.0,
        loop: bool = False,
        *,
        hold_floor: float = MIN_HOLD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.speed = min(MAX_SPEED, max(MIN_SPEED, speed))
        self.loop = loop
        self.hold_floor = hold_floor
        self.clock = clock
        self.run: LessonRun | None = None
        """The run being played (None: no lab yet, or it could not start)."""
        self.paused = False
        self.phase = "starting"
        self.remaining = 0.0
        """Seconds of the current pause left, at speed 1."""
        self.floor_left = 0.0
        """Wall-clock seconds the current pause must still last."""
        self.rounds = 0
        """How many times the lesson has been played to its end."""
        self.held: int | None = None
        """The step whose outcome is on screen (holding)."""
        self.history: deque[tuple[float, str, int]] = deque(maxlen=HISTORY)
        """(clock time, phase, step index) at each change of phase: what was on screen when
        (the pacing test reads it)."""
        self.answers: dict[int, str | None] = {}
        """Step -> the answer its solution gave (written by :func:`perform_solution`)."""
        self.scene = 0
        """How many times what the pane shows has changed (a step narrated, a prediction
        locked, an outcome held, the end): the host redraws the pane when this moves."""
        self.last_tick = clock()

    # -- what is on screen -------------------------------------------------------------------
    @property
    def index_on_screen(self) -> int | None:
        """The held step while its outcome is shown, else the run's current one."""
        if self.held is not None:
            return self.held
        return self.run.index if self.run is not None else None

    def held_view(self, run: LessonRun | None) -> LessonRun | None:
        """What the pane shows of ``run`` while an outcome is held (None: the run itself)."""
        if self.held is None or run is None:
            return None
        return cast("LessonRun", HeldStep(run, self.held, self.answers.get(self.held)))

    @property
    def seconds_left(self) -> float:
        """Wall-clock seconds until the current pause is over (at the current speed)."""
        return max(0.0, self.remaining / self.speed, self.floor_left)

    def state_text(self) -> str:
        """Playing or paused, what comes next and when, the speed."""
        left = self.seconds_left
        if self.paused:
            state = "⏸ paused"
        elif self.phase == "narrating":
            state = f"▶ showing it in {left:.0f}s"
        elif self.phase == "predicting":
            state = f"▶ predicted; the lab acts in {left:.0f}s"
        elif self.phase == "performing":
            state = "▶ on the lab…"
        elif self.phase == "holding":
            state = f"▶ the outcome; next in {left:.0f}s"
        elif self.phase == "ending":
            state = "▶ again soon" if self.loop else "■ the end"
        else:
            state = "■ the end"
        return f"{state} · speed {self.speed:.2g}×"

    # -- the clock ---------------------------------------------------------------------------
    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        index = self.index_on_screen
        self.history.append((self.clock(), phase, -1 if index is None else index))

    def _wait(self, seconds: float, floor: float = 0.0) -> None:
        """Start a pause of ``seconds`` at speed 1 that lasts at least ``floor`` wall seconds."""
        self.remaining = seconds
        self.floor_left = floor
        self.last_tick = self.clock()

    def tick(self) -> list[Cue]:
        """Count the time since the last tick down (unless paused); go on when it is over."""
        now = self.clock()
        elapsed, self.last_tick = now - self.last_tick, now
        if self.paused or self.phase not in COUNTING:
            return []
        self.remaining -= elapsed * self.speed
        self.floor_left -= elapsed
        if self.remaining <= 0 and self.floor_left <= 0:
            return self.go_on()
        return []

    # -- playing -----------------------------------------------------------------------------
    def begin(self, run: LessonRun | None) -> None:
        """Play ``run`` (a fresh lab's) from its current step; None: no run (yet)."""
        self.run = run
        self.held = None
        if run is not None:
            self._narrate()

    def _narrate(self) -> None:
        """Show the current step and start its narration pause."""
        run = self.run
        if run is None:
            return
        self.held = None
        self._set_phase("narrating")
        step = run.current_step
        asks = " ".join(x for x in (step.question, step.predict) if x)
        # A question or a prediction is read before the lab answers it, however fast the demo.
        self._wait(narration_seconds(f"{step.text} {asks}"), self.hold_floor if asks else 0.0)
        self.scene += 1

    def go_on(self) -> list[Cue]:
        """The pause is over: predict, perform the step, show the next one, or end."""
        run = self.run
        if self.phase == "ending":
            if self.loop:
                return self._restart()
            self._set_phase("finished")
            return []
        if run is None:
            return []
        if self.phase == "holding":
            return self._after_hold(run)
        step = run.current_step
        if self.phase == "narrating" and run.awaiting_prediction and self._predict(run):
            return []
        if step.solution and run.index not in run.done:
            self._set_phase("performing")
            return [Perform(run, run.index)]
        return self._advance(run)  # prose only (or done already): read, then on

    def _predict(self, run: LessonRun) -> bool:
        """Lock the solution's prediction and show it before the lab acts (the room must see
        what was predicted before the outcome); False if the solution predicts nothing."""
        first = run.current_step.solution[0] if run.current_step.solution else None
        if first is None or first.kind != "predict" or not run.predict(str(first.value)):
            return False
        self._set_phase("predicting")
        self._wait(PREDICT_SECONDS, self.hold_floor)
        self.scene += 1
        return True

    def _advance(self, run: LessonRun) -> list[Cue]:
        last = run.index + 1 >= len(run.lesson.steps)
        run.next()  # (on the last step: marks a prose-only one as read)
        if last:
            return self._end()
        self._narrate()
        return []

    def show_me_ended(self, run: LessonRun, index: int, ok: bool) -> None:
        """A "show me" of ``run``'s step ``index`` has ended (``ok``: without an error): hold on
        its outcome if it was the narration's own and completed the step. Call it before the
        pane is redrawn, which must show the finished step, not the next one."""
        if self.phase == "performing" and ok and index in run.done:
            self.held = index
            self._set_phase("holding")
            self._wait(HOLD_SECONDS, self.hold_floor)
            self.scene += 1

    def after_show_me(self, run: LessonRun, index: int) -> list[Cue]:
        """Once the end of a "show me" has been announced: go on if it did not complete the
        step (its error is shown; a kiosk must not stall on it)."""
        if self.phase != "performing":
            return []
        if run.index == index:
            return self._advance(run)
        self._narrate()
        return []

    def _after_hold(self, run: LessonRun) -> list[Cue]:
        held, self.held = self.held, None
        if held is not None and held + 1 >= len(run.lesson.steps):
            return self._end()
        self._narrate()
        return []

    def _end(self) -> list[Cue]:
        self.held = None
        self._set_phase("ending")
        self.rounds += 1
        self._wait(END_PAUSE)
        self.scene += 1
        return [
            Say("Demo finished" + (": starting again on a fresh lab…" if self.loop else "."), 5)
        ]

    def _restart(self) -> list[Cue]:
        """Kiosk: the lesson from step 1 on a fresh lab (if it cannot start, try again after a
        pause)."""
        self.answers.clear()
        self._wait(END_PAUSE)
        return [Restart()]

    # -- the presenter's keys ----------------------------------------------------------------
    def next(self) -> list[Cue]:
        """Skip the current pause (a narration, a prediction, a hold, the end)."""
        if self.phase == "performing":
            return [Say("Still showing this step on the lab…", 2)]
        if self.phase == "finished":
            return [Say("That was the last step (← goes back).", 2)]
        self._wait(0.0)
        return self.go_on()

    def back(self) -> list[Cue]:
        """The step before, narrated again (from a hold: the held step)."""
        run = self.run
        if run is None:
            return []
        if self.phase == "performing":
            return [Say("Still showing this step on the lab…", 2)]
        if self.phase == "holding":
            self.held = None  # the run is already on the next step: back is the held one
        said: list[Cue] = [] if run.back() else [Say("This is the first step.", 2)]
        self._narrate()
        return said

    def toggle_pause(self) -> list[Cue]:
        self.paused = not self.paused
        return [Say("Paused (space resumes)" if self.paused else "Playing", 2)]

    def faster(self) -> list[Cue]:
        self.speed = min(MAX_SPEED, self.speed * SPEED_STEP)
        return [Say(f"Speed {self.speed:.2g}×", 2)]

    def slower(self) -> list[Cue]:
        self.speed = max(MIN_SPEED, self.speed / SPEED_STEP)
        return [Say(f"Speed {self.speed:.2g}×", 2)]

"""Demo mode: a lesson that plays itself, for a lecture hall or a kiosk.

For each step :class:`DemoApp` shows the text for a *narration pause* (longer for longer text,
divided by the speed), then performs the step's solution on the live lab ("show me", in a
daemon thread), then **holds on the outcome**: the finished step stays in the pane (with its
answer, or "you predicted X — the lab shows Y") while the chart shows what the lab did, for
:func:`hold_seconds` — scaled by the speed, but never below a floor of wall-clock time, so a
fast demo still lets the room read it. A step that asks for a prediction first shows the
prediction, locked, for a while before the lab acts. Only then the next step (or the end).

The presenter can skip a pause or a hold (next), go back a step, pause and resume, and change
the speed. With ``loop`` (a kiosk), the lesson starts again on a fresh lab at the end — after
the last outcome has been on screen, never before.

The layout is for a projector at 100×30: the process tree, the sequence chart and the lesson
text; below the chart, the panels the current step needs (``Step.needed_panels``: the master
panel for a step about the master's status, the event list, timers, dispositions). The
dashboard screen sets ``-full``/``-compact`` from the terminal's size; the demo configures it
with the one fixed layout ``-demo`` instead (``DashboardScreen.fixed_layout``, ``demo.tcss``).

Where things live: :class:`DemoApp` is a :class:`~sigscope.ui.lesson_app.LessonApp` (the pane,
the checks, "show me") that configures the screen's layout, swaps the presenter's keys in, and
paces the steps with its own timer (started in ``dashboard_ready``). It extends the lesson's
``start_lab``, ``show_me_done``, ``after_show_me``, ``perform_step``, ``show_needed_panels``
and ``_refresh_pane`` with ``super()`` calls; it overrides no handler Textual would call twice.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, cast

from textual.binding import Binding, BindingType
from textual.containers import Container

from sigscope.course.lesson import Lesson, Step
from sigscope.course.run import LessonRun, ShowMeFailed
from sigscope.lab.controller import LabError
from sigscope.ui.commands import COMMANDS
from sigscope.ui.lesson_app import LESSON_COMMANDS, LessonApp, ShowMeDone, _quiet

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
# Where a step's needed panels go, below the chart (top first): lesson names -> panel keys.
DEMO_PANELS = {
    "master": "master",
    "timers": "timers",
    "events": "log",
    "dispositions": "dispositions",
}
HISTORY = 1000  # phase changes kept (a kiosk loops for days)


def narration_seconds(text: str) -> float:
    """How long a step's text stays up before its solution is performed, at speed 1."""
    return min(MAX_PAUSE, max(MIN_PAUSE, len(text) / READING_RATE))


def hold_seconds(speed: float, seconds: float = HOLD_SECONDS, floor: float = MIN_HOLD) -> float:
    """Wall-clock seconds an outcome (or a locked prediction) stays on screen at ``speed``."""
    return max(floor, seconds / speed)


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


class DemoApp(LessonApp):
    """A lesson played by itself, with presenter keys."""

    CSS_PATH = [
        Path(__file__).with_name("app.tcss"),
        Path(__file__).with_name("lesson.tcss"),
        Path(__file__).with_name("demo.tcss"),
    ]
    # Priority: the tree would otherwise take the arrows and page keys (presenter remotes
    # send PageDown/PageUp or the arrows).
    BINDINGS: ClassVar[list[BindingType]] = [
        *(_quiet(c) for c in COMMANDS if c.footer and c.action not in ("help", "quit")),
        *(_quiet(c) for c in LESSON_COMMANDS),
        Binding("right,right_square_bracket,pagedown", "demo_next", "Next", priority=True),
        Binding("left,left_square_bracket,pageup", "demo_back", "Back", priority=True),
        Binding("space", "demo_pause", "Pause/resume", priority=True),
        Binding("plus,equals_sign", "demo_faster", "Faster", priority=True),
        Binding("minus,underscore", "demo_slower", "Slower", priority=True),
    ]
    PANE_KEYS = "→ next · ← back · space pause · + faster · - slower · q quit"

    def __init__(
        self,
        lesson: Lesson,
        folder: Path,
        speed: float = 1.0,
        loop: bool = False,
        *,
        hold_floor: float = MIN_HOLD,
    ) -> None:
        super().__init__(lesson, folder, save_progress=False)
        self.speed = min(MAX_SPEED, max(MIN_SPEED, speed))
        self.loop = loop
        self.hold_floor = hold_floor
        self.paused = False
        # starting | narrating | predicting | performing | holding | ending | finished
        self.phase = "starting"
        self.remaining = 0.0  # seconds of the current pause left, at speed 1
        self.floor_left = 0.0  # wall-clock seconds the current hold must still last
        self.rounds = 0  # how many times the lesson has been played to its end
        self.held: int | None = None  # the step whose outcome is on screen (holding)
        self.history: deque[tuple[float, str, int]] = deque(maxlen=HISTORY)
        """(monotonic time, phase, step index) at each change of phase: what was on screen
        when (the pacing test reads it)."""
        self._answers: dict[int, str | None] = {}
        self._last_tick = time.monotonic()
        self.dashboard.fixed_layout = "demo"  # demo.tcss: one layout, for a projector

    def dashboard_ready(self) -> None:
        self._last_tick = time.monotonic()
        self.set_interval(TICK, self._tick)
        super().dashboard_ready()

    # -- the panels a step needs -------------------------------------------------------------
    @property
    def needed_panels(self) -> tuple[str, ...]:
        """What the step on screen needs (the held step while its outcome is shown)."""
        run = self.lesson_run
        if run is None:
            return ()
        index = self.held if self.held is not None else run.index
        return run.lesson.steps[index].needed_panels

    @property
    def step_on_screen(self) -> Step | None:
        """The held step while its outcome is shown, else the current one."""
        run = self.lesson_run
        if run is None:
            return None
        return run.lesson.steps[self.held] if self.held is not None else run.current_step

    def show_needed_panels(self) -> None:
        """Show the step's needed panels below the chart, in a fixed order (the demo's grid
        places them in DOM order: tree, pane, chart, then these); hide the others."""
        self.show_status_rows()
        needed = [key for name, key in DEMO_PANELS.items() if name in self.needed_panels]
        if tuple(needed) == self.slots:
            return
        self.slots = tuple(needed)
        body = self.dashboard.query_one("#body", Container)
        after = self.panel("chart")
        body.set_class(len(needed) > 1, "-two-needs")  # each takes less (demo.tcss)
        body.set_class(needed == ["log"], "-log-need")  # its row is sized (demo.tcss)
        for key in DEMO_PANELS.values():
            self.panel(key).set_class(key in needed, "-need")
        for key in needed:
            body.move_child(self.panel(key), after=after)
            after = self.panel(key)

    # -- playing -----------------------------------------------------------------------------
    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        run = self.lesson_run
        index = self.held if self.held is not None else (run.index if run is not None else -1)
        self.history.append((time.monotonic(), phase, index))

    def _wait(self, seconds: float, floor: float = 0.0) -> None:
        """Start a pause of ``seconds`` at speed 1 that lasts at least ``floor`` wall seconds."""
        self.remaining = seconds
        self.floor_left = floor
        self._last_tick = time.monotonic()

    def start_lab(self) -> None:
        self.held = None
        super().start_lab()
        if self.lesson_run is not None:
            self._narrate()

    def _narrate(self) -> None:
        """Show the current step and start its narration pause."""
        run = self.lesson_run
        if run is None:
            return
        self.held = None
        self._set_phase("narrating")
        step = run.current_step
        asks = " ".join(x for x in (step.question, step.predict) if x)
        # A question or a prediction is read before the lab answers it, however fast the demo.
        self._wait(narration_seconds(f"{step.text} {asks}"), self.hold_floor if asks else 0.0)
        self._refresh_pane()

    def _refresh_pane(self) -> None:
        run = self.lesson_run
        if self.held is not None and run is not None and self.pane.is_attached:
            self.pane.show(cast(LessonRun, HeldStep(run, self.held, self._answers.get(self.held))))
            self.show_needed_panels()
            return
        super()._refresh_pane()

    def _tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if not self.paused and self.phase in ("narrating", "predicting", "holding", "ending"):
            self.remaining -= elapsed * self.speed
            self.floor_left -= elapsed
            if self.remaining <= 0 and self.floor_left <= 0:
                self._go_on()
        self._show_state()

    def _go_on(self) -> None:
        """The pause is over: predict, perform the step, show the next one, or end."""
        run = self.lesson_run
        if self.phase == "ending":
            if self.loop:
                self.restart_demo()
            else:
                self._set_phase("finished")
            return
        if run is None:
            return
        if self.phase == "holding":
            self._after_hold(run)
            return
        step = run.current_step
        if self.phase == "narrating" and run.awaiting_prediction and self._predict(run):
            return
        if step.solution and run.index not in run.done:
            self._set_phase("performing")
            self.showing_me = True
            self.select_solution_target(step)
            self.perform_step(run, run.index)
        else:  # prose only (or done already): read, then on
            self._advance(run)

    def _predict(self, run: LessonRun) -> bool:
        """Lock the solution's prediction and show it before the lab acts (the room must see
        what was predicted before the outcome); False if the solution predicts nothing."""
        first = run.current_step.solution[0] if run.current_step.solution else None
        if first is None or first.kind != "predict" or not run.predict(str(first.value)):
            return False
        self._set_phase("predicting")
        self._wait(PREDICT_SECONDS, self.hold_floor)
        self._refresh_pane()
        return True

    def _advance(self, run: LessonRun) -> None:
        last = run.index + 1 >= len(run.lesson.steps)
        if last:
            run.next()  # marks a prose-only last step as read
            self._end()
        else:
            run.next()
            self._narrate()

    def perform_step(self, run: LessonRun, index: int) -> None:
        """The step's solution in a daemon thread, as "show me" does (see LessonApp), keeping
        the answer it gives to a question, to show it while the demo holds on the step."""
        threading.Thread(
            target=self._perform_demo, args=(run, index), name="demo-step", daemon=True
        ).start()

    def _perform_demo(self, run: LessonRun, index: int) -> None:
        error = None
        completed: list[int] = []
        step = run.current_step
        try:
            if any(action.kind == "answer" for action in step.solution):
                # Action by action (LessonRun.perform), so that the answer the lab gives is
                # known here; an answered question completes the step (no expectation wait).
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
                    self._answers[index] = str(value)
                    if not run.answer(str(value)):
                        raise ShowMeFailed(f"step {index + 1}: the lab does not accept {value!r}")
                    completed.append(index)
            else:
                completed = run.show_me()
        except ShowMeFailed as e:
            error = str(e)
        except LabError as e:  # the lab ended or was replaced while it ran
            error = f"the lab went away ({e})"
        self.post_message(ShowMeDone(run, index, completed, error))

    def show_me_done(self, message: ShowMeDone) -> None:
        # Before the lesson's, whose refresh of the pane must already show the finished step,
        # not the next one.
        if (
            self.phase == "performing"
            and message.error is None
            and message.index in message.run.done
        ):
            self.held = message.index
            self._set_phase("holding")
            self._wait(HOLD_SECONDS, self.hold_floor)
        super().show_me_done(message)

    def after_show_me(self, run: LessonRun, index: int, ok: bool) -> None:
        if self.phase == "holding":
            self._refresh_pane()
            return
        if self.phase != "performing":
            return
        # The error is shown; a kiosk must not stall on it.
        if run.index == index:
            self._advance(run)
        else:
            self._narrate()

    def _after_hold(self, run: LessonRun) -> None:
        held, self.held = self.held, None
        if held is not None and held + 1 >= len(run.lesson.steps):
            self._end()
        else:
            self._narrate()

    def _end(self) -> None:
        self.held = None
        self._set_phase("ending")
        self.rounds += 1
        self._wait(END_PAUSE)
        self.notify(
            "Demo finished" + (": starting again on a fresh lab…" if self.loop else "."),
            timeout=5,
        )
        self._refresh_pane()

    def restart_demo(self) -> None:
        """Kiosk: the lesson from step 1 on a fresh lab."""
        self._clear_progress = True
        self._answers.clear()
        self._wait(END_PAUSE)  # if the lab cannot start, try again after a pause
        self.start_lab()

    # -- presenter keys ----------------------------------------------------------------------
    def action_demo_next(self) -> None:
        if self.phase == "performing":
            self.notify("Still showing this step on the lab…", timeout=2)
        elif self.phase == "finished":
            self.notify("That was the last step (← goes back).", timeout=2)
        else:
            self._wait(0.0)
            self._go_on()
            self._show_state()

    def action_demo_back(self) -> None:
        run = self.lesson_run
        if run is None:
            return
        if self.phase == "performing":
            self.notify("Still showing this step on the lab…", timeout=2)
            return
        if self.phase == "holding":
            self.held = None  # the run is already on the next step: back is the held one
        if not run.back():
            self.notify("This is the first step.", timeout=2)
        self._narrate()

    def action_demo_pause(self) -> None:
        self.paused = not self.paused
        self.notify("Paused (space resumes)" if self.paused else "Playing", timeout=2)
        self._show_state()

    def action_demo_faster(self) -> None:
        self.speed = min(MAX_SPEED, self.speed * SPEED_STEP)
        self.notify(f"Speed {self.speed:.2g}×", timeout=2)
        self._show_state()

    def action_demo_slower(self) -> None:
        self.speed = max(MIN_SPEED, self.speed / SPEED_STEP)
        self.notify(f"Speed {self.speed:.2g}×", timeout=2)
        self._show_state()

    def _show_state(self) -> None:
        """The pane's bottom border: playing or paused, the speed, what comes next."""
        left = max(0.0, self.remaining / self.speed, self.floor_left)
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
        self.pane.border_subtitle = f"{state} · speed {self.speed:.2g}×"

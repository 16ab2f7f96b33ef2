"""Demo mode: a lesson that plays itself, for a lecture hall or a kiosk.

For each step :class:`DemoApp` shows the text for a *narration pause* (longer for longer text,
divided by the speed), then performs the step's solution on the live lab ("show me", in a thread
worker) and waits for its expectation, then goes on to the next step. The presenter can skip the
pause (next), go back a step, pause and resume, and change the speed. With ``loop`` (a kiosk),
the lesson starts again on a fresh lab at the end.

The layout is for a projector at 100×30: the process tree, the sequence chart and the lesson
text, nothing else. The dashboard sets the classes ``-full``/``-compact`` on its screen from the
terminal's size; the demo replaces them with ``-demo`` (see ``demo.tcss``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType

from sigscope.course.lesson import Lesson
from sigscope.course.run import LessonRun
from sigscope.ui.commands import COMMANDS
from sigscope.ui.lesson_app import LESSON_COMMANDS, LessonApp, _quiet

READING_RATE = 15.0  # characters a second: the audience reads, the presenter talks over it
MIN_PAUSE = 3.0  # seconds (at speed 1) for a step of a few words
MAX_PAUSE = 30.0  # seconds (at speed 1): a long step should not stall the room
END_PAUSE = 8.0  # seconds (at speed 1) on the finished lesson before a kiosk starts again
TICK = 0.1  # seconds between updates of the countdown
SPEED_STEP = 1.5
MIN_SPEED = 0.25
MAX_SPEED = 100.0


def narration_seconds(text: str) -> float:
    """How long a step's text stays up before its solution is performed, at speed 1."""
    return min(MAX_PAUSE, max(MIN_PAUSE, len(text) / READING_RATE))


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
        self, lesson: Lesson, folder: Path, speed: float = 1.0, loop: bool = False
    ) -> None:
        super().__init__(lesson, folder, save_progress=False)
        self.speed = min(MAX_SPEED, max(MIN_SPEED, speed))
        self.loop = loop
        self.paused = False
        self.phase = "starting"  # narrating | performing | ending | finished
        self.remaining = 0.0  # seconds of narration left, at speed 1
        self.rounds = 0  # how many times the lesson has been played to its end
        self._last_tick = time.monotonic()

    async def on_mount(self) -> None:  # type: ignore[override]  # Textual awaits either
        self.screen_stack[0].add_class("-demo")
        self._last_tick = time.monotonic()
        self.set_interval(TICK, self._tick)

    def _apply_layout(self, width: int, height: int) -> None:
        super()._apply_layout(width, height)
        main = self.screen_stack[0]
        main.remove_class("-full", "-compact")
        main.add_class("-demo")

    # -- playing -----------------------------------------------------------------------------
    def start_lab(self) -> None:
        super().start_lab()
        if self.lesson_run is not None:
            self._narrate()

    def _narrate(self) -> None:
        """Show the current step and start its narration pause."""
        run = self.lesson_run
        if run is None:
            return
        self.phase = "narrating"
        self.remaining = narration_seconds(run.current_step.text)
        self._last_tick = time.monotonic()
        self._refresh_pane()

    def _tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if not self.paused and self.phase in ("narrating", "ending"):
            self.remaining -= elapsed * self.speed
            if self.remaining <= 0:
                self._go_on()
        self._show_state()

    def _go_on(self) -> None:
        """The pause is over: perform the step, or (at the end) start again."""
        run = self.lesson_run
        if self.phase == "ending":
            if self.loop:
                self.restart_demo()
            else:
                self.phase = "finished"
            return
        if run is None:
            return
        if run.current_step.solution and run.index not in run.done:
            self.phase = "performing"
            self.showing_me = True
            self.perform_step(run, run.index)
        else:  # prose only (or done already): read, then on
            self._advance(run)

    def _advance(self, run: LessonRun) -> None:
        last = run.index + 1 >= len(run.lesson.steps)
        if last:
            run.next()  # marks a prose-only last step as read
            self._end()
        else:
            run.next()
            self._narrate()

    def after_show_me(self, run: LessonRun, index: int, ok: bool) -> None:
        if self.phase != "performing":
            return
        if not ok:  # the error is shown; a kiosk must not stall on it
            if run.index == index:
                self._advance(run)
            else:
                self._narrate()
            return
        if run.index != index:  # done, and the run moved on to the next step
            self._narrate()
        elif index + 1 >= len(run.lesson.steps):
            self._end()
        else:  # pragma: no cover - a completed step that is not the last always moves on
            self._advance(run)

    def _end(self) -> None:
        self.phase = "ending"
        self.rounds += 1
        self.remaining = END_PAUSE
        self.notify(
            "Demo finished" + (": starting again on a fresh lab…" if self.loop else "."),
            timeout=5,
        )
        self._refresh_pane()

    def restart_demo(self) -> None:
        """Kiosk: the lesson from step 1 on a fresh lab."""
        self._clear_progress = True
        self.remaining = END_PAUSE  # if the lab cannot start, try again after a pause
        self.start_lab()

    # -- presenter keys ----------------------------------------------------------------------
    def action_demo_next(self) -> None:
        if self.phase == "performing":
            self.notify("Still showing this step on the lab…", timeout=2)
        elif self.phase == "finished":
            self.notify("That was the last step (← goes back).", timeout=2)
        else:
            self.remaining = 0.0
            self._go_on()
            self._show_state()

    def action_demo_back(self) -> None:
        run = self.lesson_run
        if run is None:
            return
        if self.phase == "performing":
            self.notify("Still showing this step on the lab…", timeout=2)
            return
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
        if self.paused:
            state = "⏸ paused"
        elif self.phase == "narrating":
            state = f"▶ showing it in {max(0.0, self.remaining / self.speed):.0f}s"
        elif self.phase == "performing":
            state = "▶ on the lab…"
        elif self.phase == "ending":
            state = "▶ again soon" if self.loop else "■ the end"
        else:
            state = "■ the end"
        self.pane.border_subtitle = f"{state} · speed {self.speed:.2g}×"

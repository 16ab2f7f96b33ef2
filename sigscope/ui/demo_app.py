"""Demo mode: a lesson that plays itself, for a lecture hall or a kiosk.

For each step the demo shows the text for a *narration pause* (longer for longer text, divided
by the speed), then performs the step's solution on the live lab ("show me", in a daemon
thread), then **holds on the outcome**: the finished step stays in the pane (with its answer,
or "you predicted X — the lab shows Y") while the chart shows what the lab did, for
:func:`~sigscope.ui.models.narration.hold_seconds` — scaled by the speed, but never below a
floor of wall-clock time, so a fast demo still lets the room read it. A step that asks for a
prediction first shows the prediction, locked, for a while before the lab acts. Only then the
next step (or the end).

The presenter can skip a pause or a hold (next), go back a step, pause and resume, and change
the speed. With ``loop`` (a kiosk), the lesson starts again on a fresh lab at the end — after
the last outcome has been on screen, never before.

The layout is for a projector at 100×30: the process tree, the sequence chart and the lesson
text; below the chart, the panels the current step needs (``Step.needed_panels``: the master
panel for a step about the master's status, the event list, timers, dispositions). The
dashboard screen sets ``-full``/``-compact`` from the terminal's size; the demo configures it
with the one fixed layout ``-demo`` instead (``DashboardScreen.fixed_layout``, ``demo.tcss``).

Where things live: the narration (its phases, pauses, holds, speed, and what the presenter's
keys do to them) is :class:`~sigscope.ui.models.narration.Narration`, without Textual, played
by a part of the dashboard screen, :class:`~sigscope.ui.widgets.demo_narrator.DemoNarrator`
(its clock; it asks for what it needs with messages). :class:`DemoApp` is the wiring: a
:class:`~sigscope.ui.lesson_app.LessonApp` (the pane, the checks, "show me") that configures
the screen's layout, mounts the narrator, binds the presenter's keys to it, performs the steps
it asks for and draws what it says is on screen. It extends the lesson's ``start_lab``,
``show_me_done``, ``after_show_me``, ``perform_step``, ``show_needed_panels`` and
``_refresh_pane``; it overrides no handler Textual would call twice.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Container

from sigscope.course.lesson import Lesson, Step
from sigscope.course.run import LessonRun, ShowMeFailed
from sigscope.lab.controller import LabError
from sigscope.ui.commands import COMMANDS
from sigscope.ui.lesson_app import LESSON_COMMANDS, LessonApp, ShowMeDone, _quiet
from sigscope.ui.models.narration import MIN_HOLD, Narration, perform_solution
from sigscope.ui.widgets.demo_narrator import DemoNarrator

# Where a step's needed panels go, below the chart (top first): lesson names -> panel keys.
DEMO_PANELS = {
    "master": "master",
    "timers": "timers",
    "events": "log",
    "dispositions": "dispositions",
}


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
        self.narrator = DemoNarrator(
            Narration(speed, loop, hold_floor=hold_floor), id="demo-narrator"
        )
        self.dashboard.fixed_layout = "demo"  # demo.tcss: one layout, for a projector

    @property
    def narration(self) -> Narration:
        """The narration's state (phase, speed, pause, the held step, its history)."""
        return self.narrator.narration

    @property
    def phase(self) -> str:
        """The narration's phase (what a test that timed out says it was)."""
        return self.narration.phase

    def dashboard_ready(self) -> None:
        self.dashboard.mount(self.narrator)  # its clock runs from its mount on
        super().dashboard_ready()

    # -- the panels a step needs -------------------------------------------------------------
    def _index_on_screen(self, run: LessonRun) -> int:
        held = self.narration.held
        return held if held is not None else run.index

    @property
    def needed_panels(self) -> tuple[str, ...]:
        """What the step on screen needs (the held step while its outcome is shown)."""
        run = self.lesson_run
        if run is None:
            return ()
        return run.lesson.steps[self._index_on_screen(run)].needed_panels

    @property
    def step_on_screen(self) -> Step | None:
        """The held step while its outcome is shown, else the current one."""
        run = self.lesson_run
        if run is None:
            return None
        return run.lesson.steps[self._index_on_screen(run)]

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

    # -- drawing what the narration says is on screen ----------------------------------------
    def _refresh_pane(self) -> None:
        held = self.narration.held_view(self.lesson_run)
        if held is not None and self.pane.is_attached:
            self.pane.show(held)
            self.show_needed_panels()
            return
        super()._refresh_pane()

    def show_narration(self, step: bool) -> None:
        """The narration's state on the pane's bottom border (playing or paused, what comes
        next and when, the speed) and, with ``step``, the pane as the narration has it."""
        if step:
            self._refresh_pane()
        state = self.narration.state_text()
        if self.pane.border_subtitle != state:
            self.pane.border_subtitle = state

    def on_demo_narrator_changed(self, message: DemoNarrator.Changed) -> None:
        self.show_narration(message.step)

    # -- the lab and the steps performed on it -----------------------------------------------
    def start_lab(self) -> None:
        self.narrator.begin(None)  # nothing held: the lesson's own refresh shows the new run
        super().start_lab()
        if self.lesson_run is not None:
            self.show_narration(self.narrator.begin(self.lesson_run))

    def on_demo_narrator_restart(self, message: DemoNarrator.Restart) -> None:
        # Kiosk: the lesson from step 1 on a fresh lab.
        self._clear_progress = True
        self.start_lab()

    def on_demo_narrator_perform(self, message: DemoNarrator.Perform) -> None:
        run, index = message.run, message.index
        if run is not self.lesson_run:
            return  # a run of a lab that has since been reset or replaced
        if self.showing_me:
            return  # a show me (w) is on this step already: its end goes on as this one's would
        if run.index != index or index in run.done:
            # A check completed the step while the message came: its outcome is on the lab.
            self.post_message(ShowMeDone(run, index, [], None))
            return
        self.showing_me = True
        self.select_solution_target(run.current_step)
        self.perform_step(run, index)

    def perform_step(self, run: LessonRun, index: int) -> None:
        """The step's solution in a daemon thread, as "show me" does (see LessonApp), keeping
        the answer it gives to a question, to show it while the demo holds on the step."""
        threading.Thread(
            target=self._perform_demo, args=(run, index), name="demo-step", daemon=True
        ).start()

    def _perform_demo(self, run: LessonRun, index: int) -> None:
        error = None
        completed: list[int] = []
        try:
            completed = perform_solution(run, index, self.narration.answers)
        except ShowMeFailed as e:
            error = str(e)
        except LabError as e:  # the lab ended or was replaced while it ran
            error = f"the lab went away ({e})"
        self.post_message(ShowMeDone(run, index, completed, error))

    def show_me_done(self, message: ShowMeDone) -> None:
        # Before the lesson's, whose refresh of the pane must already show the finished step,
        # not the next one.
        self.narrator.show_me_ended(message.run, message.index, message.error is None)
        super().show_me_done(message)

    def after_show_me(self, run: LessonRun, index: int, ok: bool) -> None:
        moved = self.narrator.after_show_me(run, index)
        self.show_narration(moved or self.narration.held is not None)

    # -- presenter keys ----------------------------------------------------------------------
    def action_demo_next(self) -> None:
        self.show_narration(self.narrator.next())

    def action_demo_back(self) -> None:
        self.show_narration(self.narrator.back())

    def action_demo_pause(self) -> None:
        self.show_narration(self.narrator.toggle_pause())

    def action_demo_faster(self) -> None:
        self.show_narration(self.narrator.faster())

    def action_demo_slower(self) -> None:
        self.show_narration(self.narrator.slower())

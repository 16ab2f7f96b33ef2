"""The demo's narrator: the part of the dashboard screen that plays a lesson by itself.

It keeps the :class:`~sigscope.ui.models.narration.Narration` (the phases, the pauses, the
holds, the speed) and its clock: every :data:`~sigscope.ui.models.narration.TICK` it counts the
current pause down. It draws nothing itself (it is never displayed): the lesson pane shows the
step it says is on screen, and its state on the pane's bottom border. What the narration needs
done it asks for with messages, which bubble up to the app: :class:`DemoNarrator.Perform` (the
step's solution, on the lab, as "show me" does), :class:`DemoNarrator.Restart` (a kiosk's
fresh lab), :class:`DemoNarrator.Changed` (it moved on by itself: redraw the pane and the
state). The app tells it what it needs to know by calling it (a fresh run, the presenter's
keys, the end of a "show me"), and redraws after each call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message
from textual.widget import Widget

from sigscope.ui.models.narration import TICK, Cue, Narration, Say
from sigscope.ui.models.narration import Perform as PerformCue
from sigscope.ui.models.narration import Restart as RestartCue

if TYPE_CHECKING:
    from sigscope.course.run import LessonRun


class DemoNarrator(Widget):
    """A lesson played by itself: the narration and its clock (mount it in the screen)."""

    DEFAULT_CSS = "DemoNarrator { display: none; }"

    @dataclass
    class Perform(Message):
        """Perform step ``index`` of ``run`` on the lab now, then post the lesson's
        ``ShowMeDone`` as "show me" does (it ends in :meth:`DemoNarrator.show_me_ended`)."""

        run: LessonRun
        index: int

    class Restart(Message):
        """A kiosk's lesson is over: start it on a fresh lab (then :meth:`DemoNarrator.begin`)."""

    @dataclass
    class Changed(Message):
        """The narration moved on by itself: redraw its state (and, with ``step``, the pane)."""

        step: bool

        def can_replace(self, message: Message) -> bool:
            # Textual asks the older of two waiting messages whether the newer replaces it:
            # the newer says what is on screen now, and keeps a step change of the older.
            if isinstance(message, DemoNarrator.Changed):
                message.step = message.step or self.step
                return True
            return False

    def __init__(self, narration: Narration, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.narration = narration
        self._told: tuple[int, str] | None = None  # (scene, state) the last Changed said

    def on_mount(self) -> None:
        self.narration.last_tick = self.narration.clock()
        self.set_interval(TICK, self._tick)

    def _tick(self) -> None:
        self.play(self.narration.tick())
        now = (self.narration.scene, self.narration.state_text())
        told, self._told = self._told, now
        if now != told:
            self.post_message(self.Changed(step=told is None or now[0] != told[0]))

    def play(self, cues: list[Cue]) -> None:
        """Act on what the narration asked for: say it, or ask the app with a message."""
        for cue in cues:
            if isinstance(cue, Say):
                self.notify(cue.text, timeout=cue.timeout)
            elif isinstance(cue, PerformCue):
                self.post_message(self.Perform(cue.run, cue.index))
            elif isinstance(cue, RestartCue):
                self.post_message(self.Restart())

    # -- what the app tells it (it redraws after each) ---------------------------------------
    def _told_by_app(self, act: Callable[[], list[Cue] | None]) -> bool:
        """Do what the app asked; True if what the pane shows changed. The app redraws after
        each call, so the next tick does not ask it to again."""
        scene = self.narration.scene
        self.play(act() or [])
        self._told = (self.narration.scene, self.narration.state_text())
        return self.narration.scene != scene

    def begin(self, run: LessonRun | None) -> bool:
        """Play ``run`` (a fresh lab's) from its current step; None: no run (yet)."""
        return self._told_by_app(lambda: self.narration.begin(run))

    def show_me_ended(self, run: LessonRun, index: int, ok: bool) -> bool:
        """A "show me" ended: hold on its outcome if it was the narration's own."""
        return self._told_by_app(lambda: self.narration.show_me_ended(run, index, ok))

    def after_show_me(self, run: LessonRun, index: int) -> bool:
        """Its end is announced: go on if it did not complete the step."""
        return self._told_by_app(lambda: self.narration.after_show_me(run, index))

    def next(self) -> bool:
        return self._told_by_app(self.narration.next)

    def back(self) -> bool:
        return self._told_by_app(self.narration.back)

    def toggle_pause(self) -> bool:
        return self._told_by_app(self.narration.toggle_pause)

    def faster(self) -> bool:
        return self._told_by_app(self.narration.faster)

    def slower(self) -> bool:
        return self._told_by_app(self.narration.slower)

"""Lesson mode: the dashboard on a lesson's lab, with a pane that teaches and checks.

:class:`LessonApp` is the dashboard (:class:`~sigscope.ui.app.SigscopeApp`) plus a
:class:`~sigscope.course.run.LessonRun`. The run is checked whenever the lab says something (an
event, a snapshot), so a step completes by itself as soon as the learner's own action makes its
expectation true. "Show me" performs the solution: it blocks while the lab reacts, so it runs
in a daemon thread and posts its outcome back (never starting a lab from that thread: the
master's ``PR_SET_PDEATHSIG`` follows the thread that forked it). Progress goes to the
learner's XDG state directory through the engine's ``ProgressStore`` at every change, so a
restart of the app (or of the lab, R) resumes where the learner was.

Where things live: the pane is a part of the dashboard screen (:mod:`sigscope.ui.dashboard`),
which composes it after the tree, routes the lab's events and scans to it and lays a terminal
lane out around it; the pane answers with a message on which this app checks the run. This
class configures the screen (its pane, the panels' order, the terminal's place) in
``__init__``, adds the lesson's keys, and arranges the panels a step needs beside the chart.
It overrides no private method of the shell: it extends ``start_lab`` and ``dashboard_ready``
(calling ``super()``), and Textual's own ``check_action``, ``get_system_commands`` and
``action_help``.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Tab, Tabs

from sigscope.course.catalog import LessonFolderError, lesson_index
from sigscope.course.lesson import LabSetup, Lesson, Step, load_lesson
from sigscope.course.problems import LessonInvalid
from sigscope.course.progress import ProgressStore
from sigscope.course.run import LessonRun, ShowMeFailed
from sigscope.lab.controller import Lab, LabError
from sigscope.ui.app import SigscopeApp, run_app
from sigscope.ui.commands import COMMANDS, QUICK_SIGNALS, Command, help_keys
from sigscope.ui.dashboard import SECONDARY, SESSION_TAB
from sigscope.ui.screens.code_confirm import CodeConfirmDialog
from sigscope.ui.screens.help import HelpScreen
from sigscope.ui.screens.lesson_picker import LessonPicker
from sigscope.ui.settings import LabSettings
from sigscope.ui.widgets.dispositions import DispositionsPanel
from sigscope.ui.widgets.lesson_pane import LessonPane

CHECK_DEBOUNCE = 0.05  # seconds: one check for a burst of events, not one per event

LESSON_COMMANDS: tuple[Command, ...] = (
    Command("right_square_bracket", "lesson_next", "Lesson: next step", "Next", "]"),
    Command("left_square_bracket", "lesson_back", "Lesson: previous step", None, "["),
    Command("g", "lesson_hint", "Lesson: reveal the next hint", "Hint", "g"),
    Command("w", "show_me", "Lesson: show me (perform this step on the lab)", "Show me", "w"),
    Command("slash", "lesson_answer", "Lesson: type the answer to the question", None, "/"),
    Command(
        "ctrl+r",
        "reset_lesson",
        "Lesson: start again (a fresh lab, progress cleared)",
        "Reset",
        "ctrl+r",
    ),
    Command("L", "lessons", "Lesson: choose another lesson…", None, "L"),
)

# The dashboard's keys that keep their footer label in lesson mode (the rest still work, and
# are in the help screen and palette): at 80 columns the footer has room for about nine.
FOOTER_KEPT = frozenset({"signal_menu", "help", "quit"})


# Keys that move the focus act before the keys typed after them are handed on: a terminal
# delivers "/SI_KERNEL" typed quickly in one read, and every key is forwarded to the widget
# that has the focus when it arrives, so after a plain binding's `/` the rest went to the tree
# (S saved an SVG, L opened the lesson picker) and the box got "_KERNEL" (issue 16). A
# priority binding runs first; check_action declines it where `/` is typed (an input, the
# Terminal panel), and the key then goes there as before.
EARLY_ACTIONS = frozenset({"lesson_answer"})


def _early(binding: Binding) -> Binding:
    return replace(binding, priority=True)


def _quiet(command: Command) -> Binding:
    """The dashboard's binding for ``command``, without its footer label."""
    return Binding(command.keys, command.action, command.footer or command.title, show=False)


# The lesson layout (full) has two places beside the chart, under the tree: by default the
# master panel and the event list; a step that needs another panel (``Step.needed_panels``: the
# dispositions panel for "the signal stays pending", timers, events, master) gets it there while
# it runs. Lesson panel names -> the dashboard's panel keys.
SLOT_PANELS = {
    "master": "master",
    "events": "log",
    "dispositions": "dispositions",
    "timers": "timers",
}
DEFAULT_SLOTS = ("master", "log")
# The upper place is short (11 rows): the master panel fits it; taller panels go below.
SLOT_ORDER = {"master": 0, "timers": 1, "log": 2, "dispositions": 3}


def slots_for(needed: Iterable[str]) -> tuple[str, ...]:
    """The dashboard panels to show beside the chart (top first) for a step needing ``needed``.

    One needed panel that wants height (the dispositions' 31 rows, the events) takes both
    places; otherwise the needed ones come first and the defaults fill the rest.
    """
    wanted: list[str] = []
    for name in needed:
        key = SLOT_PANELS.get(name)
        if key is not None and key not in wanted:
            wanted.append(key)
    if len(wanted) == 1 and wanted[0] in ("dispositions", "log"):
        return (wanted[0],)
    chosen = (wanted + [d for d in DEFAULT_SLOTS if d not in wanted])[:2]
    return tuple(sorted(chosen, key=SLOT_ORDER.__getitem__))


def checks_status(step: Step) -> bool:
    """Whether ``step`` is checked on a master ``status`` event: the event list folds those
    rows by default (they bury the rest), so a step that says "find its status event" must
    unfold them while it is on screen (issue 19)."""
    from sigscope.course.predicates import All, Any_, EventMatch, Not, Predicate

    def about_status(pred: Predicate | None) -> bool:
        if isinstance(pred, All | Any_):
            return any(about_status(part) for part in pred.parts)
        if isinstance(pred, Not):
            return about_status(pred.part)
        return isinstance(pred, EventMatch) and pred.kind == "status"

    return about_status(step.expect) or about_status(step.missed.when if step.missed else None)


NEEDED_MARK = "◆"  # on the tab of a panel the current step needs (compact layout)
QUICK_KEYS = {sig: key for key, sig in QUICK_SIGNALS}
MASTER_KEYS = {"SIGTTIN": "+", "SIGTTOU": "-"}


def _target_words(target: str) -> str:
    if target == "worker":
        return "the first live worker"
    return target.replace(":", " ")


def _typed_words(text: str) -> str:
    """A type action's keys as a person presses them: ``sleep 1\\n`` is "type sleep 1, Enter",
    ``^Z`` "press ctrl+z"."""
    words = re.sub(r"\^([A-Za-z])", lambda m: f"\0ctrl+{m[1].lower()}\0", text)
    parts = [p.strip() for p in words.replace("\\n", "\0Enter\0").split("\0") if p.strip()]
    keys = {"Enter"} | {p for p in parts if p.startswith("ctrl+")}
    if all(p in keys for p in parts):
        return "press " + ", ".join(parts)
    return "type " + ", ".join(parts)


def describe_solution(actions: Iterable[Any]) -> str:
    """What "show me" does, with the keys the learner would have pressed: "show me" that only
    acts teaches nothing about the keys (issue 19)."""
    parts: list[tuple[str, int]] = []  # (what, how many times in a row)
    for action in actions:
        kind, value = action.kind, action.value
        if kind == "send":
            sig, target = value.sig, _target_words(value.target)
            if value.target == "master" and sig in MASTER_KEYS:
                how = f"the key is {MASTER_KEYS[sig]}"
            elif sig in QUICK_KEYS:
                how = f"the key is {QUICK_KEYS[sig]} on {target}"
            else:
                how = f"select {target}, press k, type {sig[3:].lower()}, enter"
            text = f"{sig} to {target} ({how})"
        elif kind == "reaping":
            text = f"reaping {value} (the key is m, then {value})"
        elif kind == "spawn":
            text = f"a new {value[0]} worker (the key is n, then {value[0]})"
        elif kind == "code":
            text = "Python in the Code panel (the key is e; type it, then ctrl+o)"
        elif kind == "type":
            text = f"{_typed_words(value.text)} in the Terminal panel (F7)"
        elif kind == "hangup":
            text = "hang the terminal up (F8 in the Terminal panel)"
        elif kind in ("answer", "predict"):
            what = "the answer" if kind == "answer" else "a prediction"
            typed = "what the lab shows" if value is True else str(value)
            text = f"{what}: {typed} (the key is /, then type it)"
        else:
            continue  # waits and checks: nothing the learner presses
        if parts and parts[-1][0] == text:
            # Three sends of one signal: "3 × SIGUSR1 to worker 0 (…)", not three times.
            parts[-1] = (text, parts[-1][1] + 1)
        else:
            parts.append((text, 1))
    return "; ".join(f"{n} × {text}" if n > 1 else text for text, n in parts)


def lesson_help_keys() -> list[tuple[str, str]]:
    return [(c.shown_keys or c.keys, c.title) for c in LESSON_COMMANDS] + help_keys()


@dataclass(frozen=True)
class LessonSettings(LabSettings):
    """Lab settings that make the lesson's own lab (slots of behaviours included)."""

    setup: LabSetup | None = None
    # (rows, cols) the lesson layout gives the Terminal panel: the pty starts that size
    terminal_size: tuple[int, int] | None = None

    @classmethod
    def for_lesson(cls, lesson: Lesson) -> LessonSettings:
        s = lesson.setup
        return cls(s.workers, s.behaviour, dict(s.params), s.reaping, s.grace, setup=s)

    def check(self) -> None:
        if self.setup is None:
            super().check()
        else:
            self.setup.make_lab()  # a lesson's lab (slots, its cap): Lab() checks it all

    def make_source(self) -> Lab:
        if self.setup is None:
            return super().make_source()
        lab = self.setup.make_lab()
        if lab.terminal_settings is not None and self.terminal_size is not None:
            rows, cols = self.terminal_size
            if rows > 0 and cols > 0:
                lab.terminal_settings = replace(lab.terminal_settings, rows=rows, cols=cols)
        return lab


def terminal_panel_size(mode: str, width: int, height: int) -> tuple[int, int]:
    """The Terminal panel's inside in a terminal lesson's layout (lesson.tcss, ``-terminal``):
    its pty starts at that size, so the panel's first resize changes nothing and the shell gets
    no SIGWINCH the learner did not cause (issue 16). Full: header, status line and footer
    take 3 rows, the panel is the upper half of the rest, beside the pane's 44 columns; compact:
    10 rows, the whole width. Borders: 2 each way."""
    if mode == "full":
        return ((height - 3) // 2 - 2, width - 44 - 2)
    return (10 - 2, width - 2)


@dataclass
class ShowMeDone(Message):
    """The outcome of a "show me" (run in a daemon thread)."""

    run: LessonRun
    index: int
    completed: list[int]
    error: str | None


class LessonApp(SigscopeApp):
    """The dashboard with a lesson pane (or, with no lesson given, the picker first)."""

    CSS_PATH = [  # type: ignore[assignment]
        Path(__file__).with_name("app.tcss"),
        Path(__file__).with_name("lesson.tcss"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        *(_quiet(c) for c in COMMANDS if c.footer and c.action not in FOOTER_KEPT),
        *(
            _early(c.binding()) if c.action in EARLY_ACTIONS else c.binding()
            for c in LESSON_COMMANDS
        ),
    ]

    PANE_KEYS = "] next · [ back · g hint · w show me · / answer · ctrl+r reset · L lessons"
    EVERY_SCAN = True  # the run is checked at every scan, as it always was

    lab: Lab | None  # a lesson always runs sigscope's own lab (LessonSettings.make_source)

    def __init__(
        self,
        lesson: Lesson | None,
        folder: Path,
        store: ProgressStore | None = None,
        *,
        save_progress: bool = True,
    ) -> None:
        super().__init__(LessonSettings.for_lesson(lesson) if lesson else LessonSettings())
        self.lesson = lesson
        self.folder = folder
        # A demo keeps its progress in memory: playing must not tick a learner's steps.
        self.store = (store or ProgressStore()) if save_progress else None
        self.lesson_run: LessonRun | None = None
        self.showing_me = False
        # What the learner has accepted that show me may type into the terminal's shell: a
        # lesson's every typed line (the lines themselves, not a lesson id another file could
        # reuse).
        self._typing_accepted: set[tuple[str, ...]] = set()
        self._show_me_said = ""  # the last "show me" notice (said again once it has done)
        self._check_timer: Any = None
        self._clear_progress = False
        self.pane = LessonPane(id="lesson", classes="secondary", keys=self.PANE_KEYS)
        self.slots: tuple[str, ...] = ()  # the panels beside the chart (show_needed_panels)
        self._marked_tabs: set[str] | None = None  # the tabs marked as needed (compact layout)
        self._asking: int | None = None  # the step asking now (_ask_from_terminal)
        self._answer_from: Widget | None = None  # where the focus was when a step asked
        self.pane.border_title = "Lesson"
        # The dashboard, configured for a lesson: the pane after the tree (its tab first), the
        # master panel after the chart (the places beside the chart are chosen per step:
        # show_needed_panels), a terminal lane laid out in the grid around the pane.
        dashboard = self.dashboard
        dashboard.add_pane(self.pane, "Lesson")
        dashboard.panel_order = ("chart", "master", "log", "dispositions", "timers")
        dashboard.terminal_in_grid = True
        dashboard.add_class("-lesson")

    # -- layout ----------------------------------------------------------------------------
    def dashboard_ready(self) -> None:
        # Before the shell's own (which starts the lab after the first frame).
        self.show_needed_panels()  # the default places until a step needs others
        disp = self.panel("dispositions")
        if isinstance(disp, DispositionsPanel):
            # A step names the signals it is about: they are on screen even in a short panel.
            disp.elide_quiet = True
        if self.lesson is None:
            self.pane.show(None, "Choose a lesson (L)")
            self.call_after_refresh(self.action_lessons)
        super().dashboard_ready()

    def _mark_needed_tabs(self, needed: Iterable[str]) -> None:
        """The compact layout shows one panel at a time, under tabs: the tabs of the panels
        the current step needs carry a mark, so the learner knows where to look."""
        keys = {SLOT_PANELS.get(name, name) for name in needed}
        if keys == self._marked_tabs:
            return  # the pane is refreshed at every check: relabel only on a change
        self._marked_tabs = keys
        tabs = self.dashboard.query_one("#panel-tabs", Tabs)
        # The panels' tabs, and a terminal lab's Session tab (the session tree, at 80x24).
        titles = [(f"tab-{p.key}", p.key, p.title) for p in SECONDARY]
        for tab_id, key, title in [*titles, (SESSION_TAB, "session", "Session")]:
            try:
                tab = tabs.query_one(f"#{tab_id}", Tab)
            except NoMatches:
                continue
            label = f"{title} {NEEDED_MARK}" if key in keys else title
            if tab.label_text != label:
                tab.label = label

    # -- the lab and the run ---------------------------------------------------------------
    def start_lab(self) -> None:
        """A fresh lab for the lesson, and a run on it that resumes the saved progress."""
        if self.lesson is None:
            return  # the picker is up: no lab until a lesson is chosen
        self.showing_me = False
        if isinstance(self.settings, LessonSettings):
            size = terminal_panel_size(self.layout_mode, self.size.width, self.size.height)
            self.settings = replace(self.settings, terminal_size=size)
        super().start_lab()
        # A terminal lab's Session tab is mounted now: mark it too, if the step needs it.
        self._marked_tabs = None
        self.call_after_refresh(lambda: self._mark_needed_tabs(self.needed_panels))
        lab = self.lab
        if lab is None:
            self.lesson_run = None
            self.pane.show(None, "The lab could not start: press R to try again")
            return
        sampler_latest = self._latest_snapshot
        run = LessonRun(self.lesson, lab, snapshot=sampler_latest, store=self.store)
        if self._clear_progress:
            self._clear_progress = False
            run.reset()
        self.lesson_run = run
        self.title = self.titled(f"sigscope — {self.lesson.title}")  # keeps the root warning
        self._refresh_pane()
        lane = lab.terminal
        if lane is not None and lane.strace_problem:
            # A terminal lesson checks what strace reports (received, exit): say so at once.
            self.notify(
                f"{lane.strace_problem}: steps that check them cannot tick (] skips one)",
                severity="warning",
                timeout=15,
            )

    def _latest_snapshot(self) -> Any:
        lab = self.lab
        return lab.latest_snapshot if lab is not None else None

    def open_lesson(self, lesson: Lesson) -> None:
        """Switch to ``lesson``: its own lab, its saved progress."""
        self.lesson = lesson
        self.settings = LessonSettings.for_lesson(lesson)
        self.start_lab()
        self.notify(f"Lesson: {lesson.title}", timeout=3)

    def _refresh_pane(self) -> None:
        if self.pane.is_attached:
            self.pane.show(self.lesson_run)
            self.show_needed_panels()
            self._ask_from_terminal()

    def _ask_from_terminal(self) -> None:
        """A step that begins asking (a question, a prediction) while the Terminal panel has
        the focus takes it to the answer box: in the panel every key goes to the shell, so the
        `/` that opens the box was typed into bash (issue 16). Once, when the asking begins: a
        learner who goes back into the terminal to look something up keeps it."""
        from sigscope.ui.widgets.terminal_panel import TerminalPanel

        run = self.lesson_run
        asking = None
        if run is not None and (run.awaiting_prediction or self._asks_question(run)):
            asking = run.index
        if asking == self._asking:
            return
        self._asking = asking
        if asking is not None and isinstance(self.focused, TerminalPanel):
            self._answer_from = self.focused
            self.action_lesson_answer()
            what = "predict" if run is not None and run.awaiting_prediction else "answer"
            # A question may need the terminal first (lesson 31: run ps, then answer). After
            # the box's own "Typing into…" notice: the newest comes first on the status line.
            said = f"Step {asking + 1}: {what} here, then Enter · F7: back to the terminal"
            self.call_after_refresh(self.notify, said)

    @staticmethod
    def _asks_question(run: LessonRun) -> bool:
        return run.current_step.question is not None and run.index not in run.done

    @property
    def needed_panels(self) -> tuple[str, ...]:
        """What the current step needs on screen (``Step.needed_panels``), and then what the
        step before it needed if that one is done: a step ticks, and the next one shows, at the
        very moment its outcome appears (six signals pending in the dispositions panel), so
        the outcome's panels stay while the next step is read."""
        run = self.lesson_run
        if run is None:
            return ()
        needed = run.current_step.needed_panels
        if run.index > 0 and run.index - 1 in run.done:
            before = run.lesson.steps[run.index - 1].needed_panels
            needed += tuple(p for p in before if p not in needed)
        return needed

    @property
    def step_on_screen(self) -> Step | None:
        """The step whose text the pane shows (the demo holds a finished one a while)."""
        run = self.lesson_run
        return run.current_step if run is not None else None

    def show_status_rows(self) -> None:
        """Unfold the event list's status rows when the step on screen is checked on a status
        event. They stay unfolded after it: the step ticks (and the next one shows) the moment
        that event arrives, which is when the learner starts looking for it."""
        step = self.step_on_screen
        log = self.event_log
        if step is not None and checks_status(step) and not log.show_status:
            log.action_toggle_status()

    def show_needed_panels(self) -> None:
        """Put the panels the current step needs beside the chart (the full layout's grid
        places in DOM order: tree, pane, chart, then the upper and the lower place)."""
        self.show_status_rows()
        needed = self.needed_panels
        self._mark_needed_tabs(needed)
        slots = slots_for(needed)
        if slots == self.slots:
            return
        self.slots = slots
        body = self.dashboard.query_one("#body", Container)
        after: Widget = self.panel("chart")
        for key in SLOT_PANELS.values():
            panel = self.panel(key)
            panel.set_class(key in slots, "-slot")
            panel.set_class(slots == (key,), "-span")
        for key in slots:
            body.move_child(self.panel(key), after=after)
            after = self.panel(key)

    # -- checking ----------------------------------------------------------------------------
    def on_lesson_pane_lab_changed(self, message: LessonPane.LabChanged) -> None:
        # The pane, a part of the dashboard, heard an event or a scan of the current lab.
        self._check_soon()

    def _check_soon(self) -> None:
        if self._check_timer is None:
            self._check_timer = self.set_timer(CHECK_DEBOUNCE, self.check_lesson)

    def check_lesson(self) -> list[int]:
        """Check the run against the lab now; tick and announce what just completed."""
        self._check_timer = None
        run = self.lesson_run
        if run is None or not self.pane.is_attached:
            return []
        if self.showing_me:
            # The solution's thread checks by itself; a check from here could complete the
            # step under it and move the window its `until` actions are watching (then they
            # wait for evidence that now belongs to the previous step, and time out).
            return []
        completed = run.check()
        self._announce(run, completed)
        return completed

    def _announce(self, run: LessonRun, completed: Iterable[int]) -> None:
        completed = list(completed)
        for index in completed:
            step = run.lesson.steps[index]
            title = f": {step.title}" if step.title else ""
            self.notify(f"✓ Step {index + 1} done{title}", timeout=4)
        if completed and run.finished:
            self.notify(f"Lesson complete: {run.lesson.title} 🎉", timeout=8)
        self._refresh_pane()

    # -- the learner's actions ---------------------------------------------------------------
    def _active_run(self) -> LessonRun | None:
        if self.lesson_run is None:
            self.notify("No lesson is open: press L to choose one.", severity="warning")
        return self.lesson_run

    def action_lesson_next(self) -> None:
        run = self._active_run()
        if run is None:
            return
        if not run.next():
            self.notify("This is the last step." + (" Well done!" if run.finished else ""))
        self._refresh_pane()

    def action_lesson_back(self) -> None:
        run = self._active_run()
        if run is None:
            return
        if not run.back():
            self.notify("This is the first step.")
        self._refresh_pane()

    def action_lesson_hint(self) -> None:
        run = self._active_run()
        if run is None:
            return
        hint = run.hint()
        if hint is None:
            more = " Press w to see it done." if run.current_step.solution else ""
            self.notify("No more hints for this step." + more, severity="warning")
        self._refresh_pane()

    def action_lesson_answer(self) -> None:
        run = self._active_run()
        if run is None:
            return
        if not self._asks_question(run) and not run.awaiting_prediction:
            self.notify("This step asks no question.", severity="warning")
            return
        self._show_lesson_pane()
        # At once, not as Widget.focus does (after the messages already queued): keys typed
        # right after `/` went to the tree ("/SI_KERNEL": S saved an SVG, L opened the lesson
        # picker, the box got "_KERNEL"; issue 16).
        self.dashboard.set_focus(self.pane.answer_box)

    def _show_lesson_pane(self) -> None:
        """In the compact layout the pane is a tab: bring it forward."""
        self.dashboard.query_one("#panel-tabs", Tabs).active = "tab-lesson"

    @on(Input.Submitted, "#lesson-answer")
    def _answered(self, event: Input.Submitted) -> None:
        event.stop()
        run = self.lesson_run
        reply = event.value.strip()
        if run is None or not reply:
            return
        index = run.index
        if run.awaiting_prediction:  # predict, then see: lock it; the step's window starts now
            if run.predict(reply):
                event.input.clear()
                self._focus_after_answer()
                self._refresh_pane()
            return
        if run.answer(reply):
            event.input.clear()
            self._focus_after_answer()
            self._announce(run, [index])
        else:
            self.notify(f"{reply!r} is not it. Try again, or g for a hint.", severity="warning")

    def _focus_after_answer(self) -> None:
        """Back to the Terminal panel if the question took the focus from it (the learner acts
        there next: Ctrl+C after "predict, then press Ctrl+C"), else to the tree."""
        back, self._answer_from = self._answer_from, None
        if back is not None and back.is_attached and back.display:
            self.dashboard.set_focus(back)
        else:
            self.action_focus_tree()

    def action_show_me(self, code_accepted: bool = False) -> None:
        run = self._active_run()
        if run is None or self._running_lab() is None:
            return
        if self.showing_me:
            self.notify("Already showing this step…", severity="warning")
            return
        if not run.current_step.solution:
            self.notify("Nothing to do in this step: read it, then ] for the next.")
            return
        codes = [a.value for a in run.current_step.solution if a.kind == "code"]
        if codes and not code_accepted:
            # A lesson file is untrusted input: its Python runs only when the learner, having
            # seen it, says yes (issue 17), and as root the question says what that means.
            root = " as root: it can change or kill anything on this machine" * (os.geteuid() == 0)
            self.push_screen(
                CodeConfirmDialog(
                    "Show me runs Python from the lesson file",
                    f"In the first playground worker{root}",
                    "\n\n".join(codes),
                ),
                lambda yes: self.action_show_me(code_accepted=True) if yes else None,
            )
            return
        typing = any(a.kind == "type" for a in run.current_step.solution)
        steps = run.lesson.steps
        every = tuple(a.value.text for s in steps for a in s.solution if a.kind == "type")
        if typing and every not in self._typing_accepted:
            # Typing into a real shell runs commands as the learner: like a lesson's Python,
            # only once seen and accepted — every line the lesson types, asked once for it.
            root = " as root: it can change or kill anything on this machine" * (os.geteuid() == 0)
            self.push_screen(
                CodeConfirmDialog(
                    "Show me types commands from the lesson file into the terminal's shell",
                    f"In this lesson's steps, one by one{root} (\\n is Enter, ^C ctrl+c)",
                    "\n".join(every),
                ),
                lambda yes: self._accept_typing(every) if yes else None,
            )
            return
        self.showing_me = True
        keys = describe_solution(run.current_step.solution)
        self._show_me_said = f"Show me, step {run.index + 1}: " + (keys or "on the lab…")
        self.notify(self._show_me_said, timeout=10)
        self.select_solution_target(run.current_step)
        self.perform_step(run, run.index)

    def _accept_typing(self, lines: tuple[str, ...]) -> None:
        self._typing_accepted.add(lines)
        self.action_show_me(code_accepted=True)

    def select_solution_target(self, step: Step) -> None:
        """Select the process the step's first send goes to, as the learner would have done to
        press the key "show me" names: the panels that follow the selection (dispositions,
        timers) then show that process, e.g. worker 0's pending set rather than the master's."""
        lab = self.lab
        send = next((a.value for a in step.solution if a.kind == "send"), None)
        if lab is None or send is None:
            return
        try:
            pid = lab.resolve(send.target).pid
        except LabError:
            return  # gone already: the send itself will say so
        self.process_tree.select_pid(pid)

    def perform_step(self, run: LessonRun, index: int) -> None:
        """Run the step's solution in a daemon thread (it blocks while the lab reacts).

        Not a Textual thread worker: those run on asyncio's default executor, which
        ``asyncio.run`` joins on the way out, so quitting during a "show me" whose effect never
        comes would hang the terminal for the run's whole timeout (about 10 s; measured). A
        daemon thread only touches the (closed) lab and posts a message that nobody reads.
        """
        threading.Thread(
            target=self._perform, args=(run, index), name="show-me", daemon=True
        ).start()

    def _perform(self, run: LessonRun, index: int) -> None:
        error = None
        completed: list[int] = []
        try:
            completed = run.show_me()
        except ShowMeFailed as e:
            error = str(e)
        except LabError as e:  # the lab ended or was replaced while it ran
            error = f"the lab went away ({e})"
        self.post_message(ShowMeDone(run, index, completed, error))

    def on_show_me_done(self, message: ShowMeDone) -> None:
        if message.run is not self.lesson_run:
            return  # a run of a lab that has since been reset or replaced
        self.show_me_done(message)

    def show_me_done(self, message: ShowMeDone) -> None:
        """A "show me" of the current run has ended: say how, and check what it did."""
        self.showing_me = False
        if message.error is not None:
            self.notify(f"Show me: {message.error}", severity="error", timeout=8)
        self._announce(message.run, message.completed)
        if message.completed and message.error is None and self._show_me_said:
            # Said again, so that it comes before "Step N done" on the status line (newest
            # first): at 80 columns the keys it names were cut off behind the tick, which the
            # step list shows anyway. The line keeps one copy of a notice.
            self.notify(self._show_me_said, timeout=8)
        self._check_soon()  # what happened while the solution ran (e.g. the learner's own keys)
        self.after_show_me(message.run, message.index, message.error is None)

    def after_show_me(self, run: LessonRun, index: int, ok: bool) -> None:
        """Called once a "show me" has ended (the demo goes on from here)."""

    def action_reset_lesson(self) -> None:
        if self.lesson is None:
            return
        self._clear_progress = True
        self.start_lab()
        self.notify("Lesson reset: a fresh lab, back to step 1.", timeout=3)

    def action_lessons(self) -> None:
        try:
            entries = lesson_index(self.folder, self.store)
        except LessonFolderError as e:
            self.notify(f"No lessons: {e}", severity="error")
            if self.lesson is None:
                self.exit(return_code=2)
            return

        def chosen(path: Path | None) -> None:
            if path is None:
                if self.lesson is None:
                    self.exit()  # the picker was the way in: nothing chosen, nothing to do
                return
            try:
                lesson = load_lesson(path)
            except LessonInvalid as e:
                self.notify(f"That lesson cannot be opened: {e.problems[0]}", severity="error")
                return
            self.open_lesson(lesson)

        self.push_screen(LessonPicker(entries, self.lesson.id if self.lesson else None), chosen)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(lesson_help_keys()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the picker is up (or before any lesson), only its own keys, help and quit:
        the dashboard's and the lesson's keys would act on a lab that is not shown."""
        if action in ("quit", "help", "command_palette") or action.startswith("app."):
            return True
        if action in EARLY_ACTIONS and (self.screen is not self.dashboard or self._focus_types()):
            return False  # typed there, or a dialog's (a priority binding would take it)
        return not (self.lesson is None or isinstance(self.screen, LessonPicker))

    def _focus_types(self) -> bool:
        """Whether the focused widget takes printable keys as text."""
        from textual.widgets import TextArea

        from sigscope.ui.widgets.terminal_panel import TerminalPanel

        return isinstance(self.focused, Input | TextArea | TerminalPanel)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for command in LESSON_COMMANDS:
            yield SystemCommand(
                command.title,
                f"key: {command.shown_keys or command.keys}",
                functools.partial(self.run_action, command.action),
            )


def run_lesson_app(app: LessonApp) -> int:
    """Run a lesson (or demo) app until the user quits; its lab is closed on every way out."""
    return run_app(app)

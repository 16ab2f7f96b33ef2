"""Lesson mode, driven with Pilot against real labs: the pane's keys (next, back, hint, show me,
answer, reset), steps that tick themselves when the learner acts, progress resumed after a
restart of the app, the picker, the palette and help, both layouts, and the CLI's bad names.

Progress goes to a temporary ``XDG_STATE_HOME``. Every wait has a generous deadline: the
machine is shared, and nothing here asserts a timing.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Footer, Input, OptionList, Tab, Tabs
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from sigscope.cli import main
from sigscope.course.actions import compile_action
from sigscope.course.catalog import resolve_lesson
from sigscope.course.lesson import Lesson
from sigscope.course.progress import ProgressStore
from sigscope.lab.controller import Lab
from sigscope.paths import bundled_lessons
from sigscope.ui.lesson_app import (
    LESSON_COMMANDS,
    NEEDED_MARK,
    LessonApp,
    describe_solution,
    lesson_help_keys,
    slots_for,
)
from sigscope.ui.screens.help import HelpScreen
from sigscope.ui.screens.lesson_picker import LessonPicker
from tests.ui.helpers import laid_out, palette_choice, until

WAIT = 30.0  # seconds: generous, the machine is shared and slow
FOLDER = bundled_lessons()


class RecordingLessonApp(LessonApp):
    """The real lesson app, recording the notifications it shows."""

    def __init__(self, lesson: Lesson | None, folder: Path = FOLDER) -> None:
        super().__init__(lesson, folder)
        self.said: list[tuple[str, str]] = []

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.said.append((str(message), str(kwargs.get("severity", "information"))))
        super().notify(message, *args, **kwargs)


def lesson_one() -> Lesson:
    return resolve_lesson("1", FOLDER)


async def lab_ready(pilot: Pilot[Any], workers: int = 2) -> Lab:
    """The lesson's lab is up and each worker has installed its handlers."""
    app = pilot.app
    assert isinstance(app, LessonApp)
    await until(pilot, lambda: app.lab is not None and app.lesson_run is not None, "the lab")
    lab = app.lab
    assert lab is not None
    for i in range(workers):
        await asyncio.to_thread(lab.wait_until, functools.partial(_worker, lab, i), WAIT)
        pid = lab.worker(i).pid
        await asyncio.to_thread(lab.wait_for, kind="ready", pid=pid, timeout=WAIT)
    return lab


def _worker(lab: Lab, index: int) -> bool:
    try:
        lab.worker(index)
    except Exception:
        return False
    return True


def said(app: RecordingLessonApp, text: str, severity: str | None = None) -> bool:
    return any(text in m and (severity is None or s == severity) for m, s in app.said)


# -- the learner's own actions, and progress across restarts -------------------------------------


async def test_a_step_ticks_itself_and_progress_is_resumed(state_home: Path) -> None:
    app = RecordingLessonApp(lesson_one())
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await lab_ready(pilot)
        run = app.lesson_run
        assert run is not None and run.index == 0 and run.done == frozenset()
        assert app.pane.markdown_shown.startswith(run.lesson.steps[0].text[:20])
        lab.send("worker:0", "USR1")  # what the step asks, done by the learner (not show me)
        await until(pilot, lambda: 0 in run.done, "step 1 done by itself")
        await until(pilot, lambda: said(app, "✓ Step 1 done"), "the notification")
        await until(pilot, lambda: app.pane.checklist_shown.startswith("✓"), "the tick")
        assert run.index == 1
        assert app.pane.markdown_shown.startswith(run.lesson.steps[1].text[:20])
        await pilot.press("q")
    assert (state_home / "sigscope" / "progress.json").is_file()
    again = RecordingLessonApp(lesson_one())
    async with again.run_test(size=(120, 40)) as pilot:
        await lab_ready(pilot)
        resumed = again.lesson_run
        assert resumed is not None and resumed.index == 1 and resumed.done == {0}
        assert again.pane.checklist_shown.startswith("✓")
        await pilot.press("q")


async def test_next_back_and_hints() -> None:
    app = RecordingLessonApp(lesson_one())
    async with app.run_test(size=(120, 40)) as pilot:
        await lab_ready(pilot)
        run = app.lesson_run
        assert run is not None
        hints = run.lesson.steps[0].hints
        assert len(hints) >= 2
        await pilot.press("g")
        await until(pilot, lambda: hints[0] in app.pane.markdown_shown, "hint 1 shown")
        assert hints[1] not in app.pane.markdown_shown
        await pilot.press("g")
        await until(pilot, lambda: hints[1] in app.pane.markdown_shown, "hint 2 shown")
        for _ in hints[2:]:
            await pilot.press("g")
        await pilot.press("g")
        await until(pilot, lambda: said(app, "No more hints", "warning"), "no more hints")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: said(app, "first step"), "first step")
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: run.index == 1, "step 2")
        assert run.lesson.steps[1].text[:20] in app.pane.markdown_shown
        assert hints[0] not in app.pane.markdown_shown  # hints belong to their step
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: run.index == 0, "back to step 1")
        assert hints[1] in app.pane.markdown_shown  # revealed hints are remembered
        assert run.done == frozenset()  # skipping a checked step does not do it
        await pilot.press("q")


async def test_show_me_answer_and_reset() -> None:
    app = RecordingLessonApp(lesson_one())
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await lab_ready(pilot)
        run = app.lesson_run
        assert run is not None
        await pilot.press("w")
        await until(pilot, lambda: 0 in run.done, "show me did step 1")
        await until(pilot, lambda: said(app, "✓ Step 1 done"), "its tick")
        await until(pilot, lambda: not app.showing_me, "show me over")
        await pilot.press("w")  # SIGTERM to worker 1, reaped
        await until(pilot, lambda: 1 in run.done, "show me did step 2")
        await until(pilot, lambda: not app.showing_me, "show me over")
        assert run.index == 2 and run.current_step.question is not None
        # The question step: the answer box is shown; / puts the cursor in it.
        await until(pilot, lambda: app.pane.has_class("-question"), "the answer box")
        await pilot.press("slash")
        box = app.pane.query_one("#lesson-answer", Input)
        await until(pilot, lambda: app.focused is box, "the answer box focused")
        await pilot.press("1", "5", "enter")  # the signal number, not the shell's status
        await until(pilot, lambda: said(app, "'15' is not it", "warning"), "wrong answer")
        assert 2 not in run.done
        box.value = ""
        await pilot.press("1", "4", "3", "enter")
        await until(pilot, lambda: 2 in run.done, "the right answer")
        assert app.focused is app.process_tree and run.index == 3
        # Reset: a fresh lab, back to step 1, progress cleared (also on disk).
        old_master = lab.master_pid
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.lab is not None and app.lab.master_pid != old_master, "lab")
        assert not lab.running
        fresh = app.lesson_run
        assert fresh is not None and fresh.index == 0 and fresh.done == frozenset()
        assert ProgressStore().load(fresh.lesson.id).done == set()
        await until(pilot, lambda: not app.pane.checklist_shown.startswith("✓"), "no ticks")
        assert not [m for m, s in app.said if s == "error"]
        await pilot.press("q")


async def test_a_terminal_lesson_shows_the_terminal_and_show_me_types_into_it() -> None:
    """Lesson 29 asks for a terminal ([lab] terminal = true): the lesson app's lab has a lane,
    the Terminal panel is on screen, and show me types the step's keys into the pty (the job
    it starts is seen by the lane: the step ticks) — once the learner has seen and accepted
    every line the lesson types into the shell (asked once: the next show me just types)."""
    from sigscope.ui.screens.code_confirm import CodeConfirmDialog
    from sigscope.ui.widgets.terminal_panel import TerminalPanel

    app = RecordingLessonApp(resolve_lesson("29", FOLDER))
    async with app.run_test(size=(120, 50)) as pilot:
        await lab_ready(pilot, workers=0)
        lab = app.lab
        assert lab is not None and lab.terminal is not None
        await until(pilot, lambda: bool(app.query(TerminalPanel)), "the Terminal panel")
        run = app.lesson_run
        assert run is not None
        await pilot.press("w")
        dialog = await until(
            pilot, lambda: isinstance(app.screen, CodeConfirmDialog) and app.screen, "the question"
        )
        assert "sleep 300 &\\n" in dialog.code and "^C" in dialog.code
        assert "sleep 300 &" not in lab.terminal.transcript()  # nothing typed before a yes
        await until(pilot, lambda: dialog.read_to_end, "the lines shown to the end")
        await pilot.press("y")
        await until(pilot, lambda: 0 in run.done, "show me did step 1")
        assert "sleep 300 &" in lab.terminal.transcript()
        await until(pilot, lambda: not app.showing_me, "show me over")
        await pilot.press("w")  # accepted once for the lesson: no second question
        await until(pilot, lambda: 1 in run.done, "show me did step 2")
        assert not isinstance(app.screen, CodeConfirmDialog)
        assert not [m for m, s in app.said if s == "error"]
        await pilot.press("q")


async def test_a_terminal_lesson_without_strace_says_so(bare_path: Path) -> None:
    """No strace on PATH: the lane still runs, and the lesson says at once that its checks of
    received signals and exits cannot tick."""
    app = RecordingLessonApp(resolve_lesson("29", FOLDER))
    async with app.run_test(size=(120, 50)) as pilot:
        await lab_ready(pilot, workers=0)
        await until(pilot, lambda: said(app, "strace is not installed", "warning"), "the notice")
        await pilot.press("q")


async def test_quitting_during_show_me_does_not_wait_for_it(tmp_path: Path) -> None:
    """A "show me" whose effect never comes blocks its thread for the run's timeout; quitting
    must neither wait for it (a daemon thread, not asyncio's executor that exit joins) nor
    leave the lab behind."""
    never = (
        'title = "Never"\nsources = ["signal(7)"]\n[lab]\nworkers = 1\n'
        '[[steps]]\ntext = "x"\nsources = ["signal(7)"]\n'
        'expect = { received = "SIGUSR2", worker = 0 }\n'
        'solution = [{ send = "USR1@worker:0" }]\n'
    )
    (tmp_path / "01-never.toml").write_text(never)
    app = RecordingLessonApp(resolve_lesson("never", tmp_path), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await lab_ready(pilot, workers=1)
        await pilot.press("w")
        showing = await until(
            pilot,
            lambda: [t for t in threading.enumerate() if t.name == "show-me" and t.is_alive()],
            "the show-me thread",
        )
        assert all(t.daemon for t in showing)
        await pilot.press("q")
    assert not lab.running


# -- the picker, the palette, help, layouts -------------------------------------------------------


async def test_the_picker_opens_a_lesson() -> None:
    app = RecordingLessonApp(None)
    async with app.run_test(size=(120, 40)) as pilot:
        picker = await until(
            pilot, lambda: isinstance(app.screen, LessonPicker) and app.screen, "the picker"
        )
        assert app.lab is None  # no lab until a lesson is chosen
        # The screen is current a moment before its list is composed (seen under load).
        menu = await until(pilot, lambda: next(iter(picker.query(OptionList)), None), "the list")
        assert menu.option_count == len(list(FOLDER.glob("*.toml")))
        await pilot.press("down")  # from lesson 1 (nothing done yet) to lesson 2
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, LessonPicker), "picker closed")
        await lab_ready(pilot, workers=0)
        assert app.lesson is not None and app.lesson.id.startswith("02-")
        assert app.lesson_run is not None and app.lesson_run.lesson is app.lesson
        # L opens it again; Esc goes back to the lesson (it does not quit).
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LessonPicker), "the picker again")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LessonPicker), "picker closed")
        assert app.lesson.id.startswith("02-") and app.is_running
        await pilot.press("q")


async def test_escape_from_the_first_picker_quits() -> None:
    app = RecordingLessonApp(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LessonPicker), "the picker")
        await pilot.press("escape")
        await until(pilot, lambda: not app.is_running, "the app quit")
    assert app.lab is None


async def test_every_lesson_action_is_in_the_palette_help_and_bindings() -> None:
    app = RecordingLessonApp(lesson_one())
    async with app.run_test(size=(120, 40)) as pilot:
        await lab_ready(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        keys = set(app.active_bindings)
        for command in LESSON_COMMANDS:
            assert command.title in titles
            assert command.keys.split(",")[0] in keys
        helped = {what for _, what in lesson_help_keys()}
        assert all(c.title in helped for c in LESSON_COMMANDS)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert ("g", "Lesson: reveal the next hint") in help_screen.keys
        await pilot.press("escape")
        # The footer shows the lesson's keys.
        shown = {b.description for _, b, _, _ in app.active_bindings.values() if b.show}
        assert {"Next", "Hint", "Show me", "Reset"} <= shown
        # The palette runs a lesson action by name.
        await pilot.press("ctrl+p")
        await pilot.pause()
        for ch in "reveal the next hint":
            await pilot.press("space" if ch == " " else ch)
        await until(pilot, lambda: "reveal the next hint" in palette_choice(app), "the command")
        await pilot.press("enter")
        run = app.lesson_run
        assert run is not None
        await until(pilot, lambda: run.hints_shown, "a hint from the palette")
        await pilot.press("q")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_pane_fits_both_layouts(size: tuple[int, int]) -> None:
    app = RecordingLessonApp(lesson_one())
    async with app.run_test(size=size) as pilot:
        await lab_ready(pilot)
        await laid_out(pilot)
        screen = app.screen.region
        pane = app.pane.region
        assert pane.width >= 40 and pane.height >= 8, pane
        assert screen.contains_region(pane)
        tree = app.process_tree.region
        assert tree.height >= 4 and not tree.overlaps(pane)
        if size == (120, 40):
            chart = app.panel("chart").region
            assert chart.width >= 30 and not chart.overlaps(pane)
            assert app.pane.query_one("#lesson-checklist").region.height == len(
                app.lesson_run.lesson.steps  # type: ignore[union-attr]
            )
        await pilot.press("q")


async def test_the_pane_follows_a_resize_both_ways() -> None:
    app = RecordingLessonApp(lesson_one())
    async with app.run_test(size=(120, 40)) as pilot:
        await lab_ready(pilot)
        assert app.layout_mode == "full"
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: app.layout_mode == "compact", "the compact layout")
        await laid_out(pilot)
        assert app.pane.region.height >= 8 and app.screen.region.contains_region(app.pane.region)
        await pilot.resize_terminal(120, 40)
        await until(pilot, lambda: app.layout_mode == "full", "the full layout")
        await laid_out(pilot)
        assert app.pane.region.width >= 40 and app.pane.region.height >= 30
        await pilot.press("q")


# -- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, words",
    [
        (["lesson", "no-such-lesson"], "no lesson 'no-such-lesson'; try one of: 01-"),
        (["demo", "99"], "no lesson '99'"),
        (["lesson", "1", "--lessons-dir", "/no/such/folder"], "no lessons folder"),
    ],
)
def test_bad_lesson_names_are_one_line(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_broken_lesson_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "01-broken.toml").write_text(
        'title = "x"\nsources = ["signal(7)"]\n[[steps]]\nsources = ["signal(7)"]\ntext = 3\n'
    )
    assert main(["lesson", "1", "--lessons-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "01-broken.toml:5: text must be a string" in err and err.count("\n") == 1


@pytest.mark.parametrize("speed", ["0", "-1", "fast", "nan", "1000"])
def test_bad_demo_speeds_are_one_line(speed: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["demo", "1", "--speed", speed])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--speed" in err and err.count("\n") == 1


# -- issue 19: the lesson is never covered, and the panels a step names are on screen ----------


def visible_toasts(app: LessonApp) -> list[Any]:
    return [t for t in app.screen_stack[0].query(Toast) if t.display and t.region.area]


@pytest.mark.parametrize("size", [(120, 40), (100, 30), (80, 24)])
async def test_step_done_and_show_me_cover_nothing(size: tuple[int, int]) -> None:
    """ "Step N done", "show me" and the root warning: on the status line, never a toast over
    the step list or the panels the step is about; "show me" names the key it stands for."""
    app = RecordingLessonApp(lesson_one())
    async with app.run_test(size=size) as pilot:
        await lab_ready(pilot)
        run = app.lesson_run
        assert run is not None
        await pilot.press("w")
        await until(pilot, lambda: said(app, "the key is u on worker 0"), "the key named")
        await until(pilot, lambda: 0 in run.done, "show me did step 1")
        await until(pilot, lambda: "Step 1 done" in app.status_line.text, "the tick, on the line")
        await laid_out(pilot)
        assert not visible_toasts(app)
        status = app.status_line.region
        # The keys "show me" names are within the line's width, even at 80 columns (they came
        # after the tick and were cut); the tick follows, and is in the step list anyway.
        await until(
            pilot, lambda: app.status_line.text.lstrip().startswith("Show me"), "show me first"
        )
        assert "the key is u on worker 0" in app.status_line.text[: status.width - 2]
        assert app.status_line.text.count("Show me") == 1
        width, height = size
        assert status.height == 1 and status.right <= width and status.bottom <= height
        on_screen = [app.pane, app.process_tree] + [
            app.panel(k) for k in ("chart", "master", "log", "dispositions", "timers")
        ]
        for widget in on_screen:
            if widget.display and widget.region.area:
                assert not status.overlaps(widget.region), widget.id
        # The two keys a newcomer needs most are in the footer at every size.
        footer = app.screen.query_one(Footer)
        await until(pilot, lambda: list(footer.query(FooterKey)), "the footer's keys")
        keys = {k.description: k.region for k in footer.query(FooterKey)}
        for label in ("Help", "Quit"):
            assert label in keys and keys[label].right <= width, (label, keys)
        if size == (120, 40) and os_is_root():
            assert "ROOT" in app.title  # in the header, where it stays; no toast at start
        await pilot.press("q")


def os_is_root() -> bool:
    import os

    return os.geteuid() == 0


async def test_a_step_that_needs_dispositions_shows_them_at_120x40() -> None:
    lesson = resolve_lesson("04", FOLDER)
    assert "dispositions" in lesson.steps[0].needed_panels
    app = RecordingLessonApp(lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        await lab_ready(pilot, workers=0)  # the learner starts the masked worker
        run = app.lesson_run
        assert run is not None and run.index == 0
        disp = app.panel("dispositions")
        await until(pilot, lambda: disp.display and disp.region.height > 0, "dispositions shown")
        await laid_out(pilot)
        shown = [app.pane, app.process_tree, app.panel("chart"), disp]
        for widget in shown:
            assert app.screen.region.contains_region(widget.region), widget.id
        for i, a in enumerate(shown):
            for b in shown[i + 1 :]:
                assert not a.region.overlaps(b.region), (a.id, b.id)
        # Alone, it takes both places beside the chart: room for SIGUSR1 and SIGTERM's rows.
        assert disp.region.height >= 20, disp.region
        # In the compact layout (one panel at a time) its tab carries the mark instead.
        tab = app.screen_stack[0].query_one("#tab-dispositions", Tab)
        assert tab.label_text.endswith(NEEDED_MARK)
        assert (
            not app.screen_stack[0].query_one("#tab-master", Tab).label_text.endswith(NEEDED_MARK)
        )
        # The next step needs the events too: both are shown, the master panel is not.
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: run.index == 1, "step 2")
        log = app.panel("log")
        await until(pilot, lambda: log.display and log.region.height > 0, "events shown")
        await laid_out(pilot)
        assert disp.display and not app.panel("master").display
        assert not log.region.overlaps(disp.region)
        assert disp.region.height >= 13  # the title, the header and signals 1 to 11
        # Back to a step that names no panel of its own: the default places again.
        await pilot.press("left_square_bracket", "left_square_bracket")
        await until(pilot, lambda: run.index == 0, "step 1 again")
        await laid_out(pilot)
        assert disp.display


def test_slots_and_show_me_words() -> None:
    assert slots_for(()) == ("master", "log")
    assert slots_for(("tree", "chart")) == ("master", "log")
    assert slots_for(("tree", "dispositions")) == ("dispositions",)
    assert slots_for(("dispositions", "events")) == ("log", "dispositions")
    assert slots_for(("master", "dispositions")) == ("master", "dispositions")
    assert slots_for(("timers",)) == ("master", "timers")
    actions = [compile_action(a) for a in ({"send": "USR1@worker:0"},) * 3]
    assert describe_solution(actions) == "3 × SIGUSR1 to worker 0 (the key is u on worker 0)"
    words = describe_solution(
        [
            compile_action({"send": "TTIN"}),
            compile_action({"send": "USR2@worker:1"}),
            compile_action({"reaping": "off"}),
            compile_action({"answer": "143"}),
        ]
    )
    assert "the key is +" in words
    assert "press k, type usr2" in words
    assert "the key is m, then off" in words
    assert "143 (the key is /" in words
    typed = [{"type": "sleep 302\\n"}, {"type": "^Z"}, {"hangup": True}]
    assert describe_solution([compile_action(a) for a in typed]) == (
        "type sleep 302, Enter in the Terminal panel (F7); press ctrl+z in the Terminal panel "
        "(F7); hang the terminal up (F8 in the Terminal panel)"
    )


async def test_a_step_that_checks_a_status_event_unfolds_the_status_rows() -> None:
    """Lesson 11 step 4 says "find its status event": the event list folds status rows by
    default, so once that step is on screen they are unfolded, and they stay unfolded after
    it ticks (the next step shows at the moment the learner looks for the event)."""
    lesson = resolve_lesson("11", FOLDER)
    index = next(i for i, s in enumerate(lesson.steps) if "status report" in s.title)
    app = RecordingLessonApp(lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        await lab_ready(pilot)
        run = app.lesson_run
        assert run is not None
        log = app.event_log
        await laid_out(pilot)
        assert not log.show_status  # folded on a step that is not about them
        for _ in range(index):
            await pilot.press("right_square_bracket")
        await until(pilot, lambda: run.index == index, "the status step")
        await until(pilot, lambda: log.show_status, "status rows unfolded")
        await pilot.press("w")
        await until(pilot, lambda: index in run.done, "show me did the status step")
        await until(
            pilot,
            lambda: any(e.get("kind") == "status" for e in log.shown_events),
            "the status event listed",
        )
        assert run.index == index + 1 and log.show_status
        await pilot.press("q")


async def test_show_me_selects_the_process_it_sends_to() -> None:
    """Lesson 13 step 2 says "watch its pending set in the dispositions panel" about worker 0;
    "show me" sent to worker 0 while the master stayed selected, so the panel showed the
    master's empty set. It selects the target, as the learner would to press the key."""
    lesson = resolve_lesson("13", FOLDER)
    app = RecordingLessonApp(lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await lab_ready(pilot, workers=1)
        run = app.lesson_run
        assert run is not None
        worker = lab.worker(0).pid
        await until(pilot, lambda: app.process_tree.selected_pid is not None, "a selection")
        assert app.process_tree.selected_pid == lab.master_pid
        await pilot.press("w")  # step 1: SIGSTOP to worker 0
        await until(pilot, lambda: 0 in run.done and not app.showing_me, "step 1 shown")
        assert app.process_tree.selected_pid == worker
        disp = app.panel("dispositions")
        await until(pilot, lambda: run.index == 1 and disp.display, "step 2, dispositions shown")
        assert disp.pid == worker
        await pilot.press("w")  # step 2: the bursts; both stay pending in the stopped worker
        await until(pilot, lambda: 1 in run.done, "step 2 shown")
        assert disp.pid == worker
        await pilot.press("q")


async def test_every_pending_signal_of_the_step_is_on_screen() -> None:
    """Lesson 11's "Six pending at once" stops the master and sends it six signals; the
    dispositions panel (the demo's share of 100×30; both places beside the chart at 120×40)
    drew signals in number order, so pending ones past its height (USR2, TERM, WINCH) were off
    screen. Quiet rows are left out instead, and said so."""
    from sigscope.signames import signal_name

    lesson = resolve_lesson("11", FOLDER)
    index = next(i for i, s in enumerate(lesson.steps) if "pending at once" in s.title)
    app = RecordingLessonApp(lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await lab_ready(pilot)
        run = app.lesson_run
        assert run is not None
        for _ in range(index):
            await pilot.press("right_square_bracket")
        await until(pilot, lambda: run.index == index, "the six-pending step")
        await pilot.press("w")
        await until(pilot, lambda: index in run.done and not app.showing_me, "the step done")
        disp = app.panel("dispositions")

        def pending() -> set[int]:
            snapshot = app.lab.latest_snapshot if app.lab is not None else None
            view = snapshot.by_pid(lab.master_pid) if snapshot is not None else None
            if view is None:
                return set()
            return {s for s in view.masks.pending | view.masks.shared_pending if s < 32}

        await until(pilot, lambda: len(pending()) >= 6, "six pending in the master")
        assert disp.pid == lab.master_pid  # show me selected the master it sends to

        def lines() -> list[str]:
            return disp.render().plain.splitlines()[: disp.content_region.height]

        def missing() -> list[str]:
            shown = " ".join(lines())
            names = [signal_name(sig) for sig in pending()]
            return [n for n in names if f" {n[3:]} " not in shown and f" {n} " not in shown]

        # The panel redraws from the sampler's snapshots: each pending signal gets its row.
        await until(pilot, lambda: not missing(), "every pending signal in the panel")
        height = disp.content_region.height
        assert 0 < height < 34  # too short for every row: the case in question
        shown = " ".join(lines())
        assert "quiet rows left out" in shown
        await pilot.press("q")


def _post_keys(app: LessonApp, keys: str) -> None:
    """Keys as a terminal delivers them: all at once, in one read (Pilot.press waits for the
    app to be idle after each key, so it never sees a key arrive before the last one's
    effect)."""
    from textual import events

    names = {"/": "slash", "_": "underscore"}
    for ch in keys:
        app.post_message(events.Key(names.get(ch, ch), ch))


async def test_a_terminal_lesson_as_a_student_meets_it() -> None:
    """Lesson 29 at 120x40 (issue 16): the terminal, the session tree and the chart, not the
    lab's master; no SIGWINCH the learner did not cause; the focus starts outside the terminal;
    a prediction step that begins while the Terminal panel has the focus takes it to the
    answer box and gives it back; the outcome stays on screen on the next step; "kernel" is
    an si_code answer; and an answer typed all at once right after `/` arrives whole."""
    from sigscope.ui.widgets.session_tree import SessionTree
    from sigscope.ui.widgets.terminal_panel import TerminalPanel

    app = RecordingLessonApp(resolve_lesson("29", FOLDER))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await lab_ready(pilot, workers=0)
        lane = lab.terminal
        run = app.lesson_run
        assert lane is not None and run is not None
        terminal = await until(pilot, lambda: app.query(TerminalPanel).first(), "the terminal")
        await laid_out(pilot)
        body = app.screen.query_one("#body")
        assert terminal.parent is body and app.query_one(SessionTree).parent is body
        assert not app.process_tree.display and not app.panel("master").display
        assert app.pane.region.height >= 35  # the pane has the body's height
        # The pty started at the panel's size: its first layout resized nothing.
        started = next(e for e in lab.events(0) if e.get("action") == "started")
        size = (terminal.content_size.height, terminal.content_size.width)
        assert (started["rows"], started["cols"]) == size == lane.size
        await until(pilot, lambda: isinstance(app.focused, SessionTree), "the session tree")

        await pilot.press("f7")
        assert app.focused is terminal
        await pilot.press("slash")  # typed into bash: the lesson's priority `/` declines there
        await until(pilot, lambda: "/" in lane.transcript(), "the / echoed by the terminal")
        assert app.focused is terminal
        await pilot.press("backspace")
        lane.type("sleep 300 &\r")
        await until(pilot, lambda: 0 in run.done, "step 1")
        lane.type("sleep 301 | sleep 302\r")
        await until(pilot, lambda: 1 in run.done, "step 2")
        box = app.pane.answer_box
        await until(pilot, lambda: app.focused is box, "the prediction box has the focus")
        await pilot.press("2", "enter")
        assert run.prediction == "2" and app.focused is terminal
        await pilot.press("ctrl+c")  # into the pty: the terminal sends SIGINT
        await until(pilot, lambda: 2 in run.done, "step 3", timeout=60)
        assert "You predicted **2** — the lab shows **2** ✓" in app.pane.markdown_shown
        # Step 4 asks a question: the focus went to the box again. A wrong answer, then the
        # right one typed in one go after esc and `/`.
        await until(pilot, lambda: app.focused is box, "the answer box has the focus")
        await pilot.press(*"user", "enter")
        await until(pilot, lambda: said(app, "'user' is not it", "warning"), "refused")
        await pilot.press("escape")
        assert isinstance(app.focused, SessionTree)
        _post_keys(app, "/SI_KERNEL")
        await until(pilot, lambda: box.value == "SI_KERNEL", "the whole answer in the box")
        assert not isinstance(app.screen, LessonPicker)  # the L went into the box
        await pilot.press("enter")
        await until(pilot, lambda: 3 in run.done, "step 4")
        assert app.focused is terminal  # given back: the next step types in the terminal
        received = [e for e in lab.events(0) if e.get("kind") == "received"]
        assert not [e for e in received if e.get("sig") == "SIGWINCH"], received
        await pilot.press("escape", "q")


async def test_a_terminal_lessons_signal_keys_act_on_the_session_trees_row() -> None:
    """In a terminal lesson the lab's tree and master are hidden: the dashboard's signal keys,
    pressed wherever the focus is, act on the session tree's row (what the learner sees),
    never on the hidden tree's selection (the master: `t` used to offer to end the lab)."""
    from sigscope.ui.screens.confirm import ConfirmDialog
    from sigscope.ui.screens.signal_menu import SignalMenu
    from sigscope.ui.widgets.session_tree import SessionTree

    app = RecordingLessonApp(resolve_lesson("29", FOLDER))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await lab_ready(pilot, workers=0)
        lane = lab.terminal
        assert lane is not None
        tree = await until(pilot, lambda: app.query(SessionTree).first(), "the session tree")
        c = lab.cursor()
        lane.type("sleep 300 &\r")
        job = await until(
            pilot,
            lambda: next(
                (e["pid"] for e in lab.events(c) if e.get("argv") == ["sleep", "300"]), None
            ),
            "the sleep",
        )
        await until(pilot, lambda: job in [t for t, _ in tree.rows], "the sleep's row")
        tree.focus()
        while tree.selected != job:
            before = tree.cursor
            await pilot.press("down")
            assert tree.cursor != before, "the sleep's row is not reachable"
        app.set_focus(None)  # keys go to the app, as from the chart or the pane
        await pilot.press("k")
        menu = await until(pilot, lambda: isinstance(app.screen, SignalMenu) and app.screen, "menu")
        assert menu.target == f"pid {job}"
        await pilot.press("escape")
        await pilot.press("space")
        await until(pilot, lambda: said(app, "Tags are for the lab's tree"), "no tag")
        assert not app.process_tree.tagged
        c = lab.cursor()
        await pilot.press("u")  # SIGUSR1: no handler in sleep, so its default action ends it
        await until(
            pilot,
            lambda: any(
                e["kind"] == "exit" and e["pid"] == job and e.get("sig") == "SIGUSR1"
                for e in lab.events(c)
            ),
            "the sleep killed by SIGUSR1",
        )
        assert not isinstance(app.screen, ConfirmDialog) and lab.running
        sent = [e for e in lab.events(c) if e["kind"] == "sent"]
        assert [(e["target"], e["sig"]) for e in sent] == [(job, "SIGUSR1")]
        await pilot.press("q")


async def test_a_terminal_lesson_at_80x24_shows_the_pane_and_the_terminal() -> None:
    """At 80x24 the lane's pane no longer squeezes the lesson out: the tabs (the lesson
    first), the terminal, the step's text; the lab's master tabs are hidden."""
    from sigscope.ui.widgets.terminal_panel import TerminalPanel

    app = RecordingLessonApp(resolve_lesson("29", FOLDER))
    async with app.run_test(size=(80, 24)) as pilot:
        lab = await lab_ready(pilot, workers=0)
        terminal = await until(pilot, lambda: app.query(TerminalPanel).first(), "the terminal")
        await laid_out(pilot)
        assert app.layout_mode == "compact"
        assert app.pane.display and app.pane.region.height >= 8
        assert terminal.region.height == 10 and terminal.region.width == 80
        started = next(e for e in lab.events(0) if e.get("action") == "started")
        inside = (terminal.content_size.height, terminal.content_size.width)
        assert (started["rows"], started["cols"]) == (8, 78) == inside
        assert not app.screen.query_one("#tab-master", Tab).display
        # The session tree is a tab of its own here, marked: the step needs it. While another
        # tab is shown, a signal key says where the tree is, and never reaches the master.
        from sigscope.ui.widgets.session_tree import SessionTree

        tabs = app.screen.query_one("#panel-tabs", Tabs)
        tab = await until(pilot, lambda: tabs.query("#tab-session").first(), "the Session tab")
        await until(pilot, lambda: tab.label_text == "Session ◆", "the tab marked")
        session = app.query_one(SessionTree)
        assert not session.display
        c = lab.cursor()
        await pilot.press("t")
        await until(pilot, lambda: said(app, "open the Session tab"), "the notice")
        assert lab.running and not [e for e in lab.events(c) if e["kind"] == "sent"]
        tabs.active = "tab-session"
        await until(pilot, lambda: session.display and session.region.height >= 6, "the tree")
        assert not app.pane.display and terminal.region.height == 10
        await pilot.press("q")


def test_terminal_lessons_name_the_terminal_and_the_session_tree(tmp_path: Path) -> None:
    """Every step of the terminal lessons names the Terminal panel and the session tree; a
    check of the lane's processes needs the session tree by itself (not the lab's tree or the
    Dispositions panel, which show the lab's master); the two names need [lab] terminal."""
    from sigscope.course.lesson import load_lesson
    from sigscope.course.problems import LessonInvalid

    for number in ("28", "29", "30", "31", "32"):
        lesson = resolve_lesson(number, FOLDER)
        assert lesson.setup.terminal
        for step in lesson.steps:
            assert {"terminal", "session"} <= set(step.needed_panels), (number, step.title)
            assert "dispositions" not in step.needed_panels, (number, step.title)
    step5 = resolve_lesson("29", FOLDER).steps[4]  # caught SIGINT, role job
    assert "session" in step5.needed_panels and "tree" not in step5.needed_panels
    path = tmp_path / "99-no-terminal.toml"
    path.write_text(
        'title = "t"\nsources = ["signal(7)"]\n[lab]\nworkers = 0\n'
        '[[steps]]\ntext = "x"\nsources = ["signal(7)"]\npanels = ["session"]\n'
    )
    with pytest.raises(LessonInvalid) as caught:
        load_lesson(path)
    assert "the session panel needs a terminal" in str(caught.value.problems[0])

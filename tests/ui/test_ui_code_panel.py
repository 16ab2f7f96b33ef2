"""The Code panel (issue 17), driven with Pilot against a real lab with a playground worker:
type, run, history, the dispositions panel following ``signal.signal``, Stop, and the root
confirmation."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot

from sigscope.lab.controller import Lab
from sigscope.ui.app import SigscopeApp
from sigscope.ui.screens.code_confirm import CodeConfirmDialog
from sigscope.ui.screens.confirm import ConfirmDialog
from sigscope.ui.settings import LabSettings
from sigscope.ui.widgets.code_panel import CodeEditor, CodePanel, highlighting_available
from sigscope.ui.widgets.dispositions import DispositionsPanel
from tests.ui.helpers import spy, until

WAIT = 20.0
ROOT = os.geteuid() == 0


async def event(lab: Lab, since: int = 0, **fields: Any) -> dict[str, Any]:
    return await asyncio.to_thread(lab.wait_for, timeout=WAIT, since=since, **fields)


def playground_app() -> SigscopeApp:
    return SigscopeApp(LabSettings(workers=1, behaviour="playground"))


async def code_panel_and_lab(pilot: Pilot[Any], app: SigscopeApp) -> tuple[CodePanel, Lab]:
    panel = await until(pilot, lambda: app.query(CodePanel).first(), "the Code panel")
    lab = await until(pilot, lambda: app.lab, "the lab")
    return panel, lab


async def type_code(pilot: Pilot[Any], panel: CodePanel, code: str) -> None:
    """Type as a person does: into the focused editor, key by key (Enter for newlines)."""
    panel.editor.focus()
    await pilot.pause()
    for line_no, line in enumerate(code.split("\n")):
        if line_no:
            await pilot.press("enter")
            # The editor auto-indents after Enter; the code gives its own indentation.
            panel.editor.action_delete_to_start_of_line()
        await pilot.press(*[_key(ch) for ch in line])


def _key(ch: str) -> str:
    names = {
        " ": "space", "(": "left_parenthesis", ")": "right_parenthesis", ".": "full_stop",
        ",": "comma", "=": "equals_sign", ":": "colon", "_": "underscore", "'": "apostrophe",
        "+": "plus", "1": "1",
    }  # fmt: skip
    return names.get(ch, ch)


async def submit(pilot: Pilot[Any], panel: CodePanel, lab: Lab, code: str) -> int:
    """Open the Code panel (e), put ``code`` in its editor and run it (ctrl+o); return the
    lab's event cursor from before."""
    await pilot.press("e")
    since = lab.cursor()
    panel.editor.load_text(code)
    await pilot.press("ctrl+o")
    return since


async def show_me(pilot: Pilot[Any], app: Any) -> tuple[Lab, Any, int, CodeConfirmDialog]:
    """Once a lesson's lab runs, press w (show me): the lab, the lesson run, the event cursor
    before the press, and the dialog that asks before the lesson's Python runs."""
    lab = await until(pilot, lambda: app.lab and app.lab.running and app.lab, "the lab")
    run = await until(pilot, lambda: app._active_run(), "the lesson run")
    since = lab.cursor()
    await pilot.press("w")
    dialog = await until(
        pilot, lambda: isinstance(app.screen, CodeConfirmDialog) and app.screen, "the question"
    )
    return lab, run, since, dialog


async def confirm_root(pilot: Pilot[Any], app: SigscopeApp) -> None:
    """As root, the first run asks first; the dialog names the risk."""
    if not ROOT:
        return
    dialog = await until(
        pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, "the root dialog"
    )
    assert "as root" in dialog.detail and "not sandboxed" in dialog.detail
    await pilot.press("y")
    # The focus is back in the editor: on the tree, the next letters would be signal keys.
    await until(pilot, lambda: isinstance(app.focused, CodeEditor), "the editor focused again")


async def test_type_run_and_the_dispositions_panel_follows_signal_signal() -> None:
    app = playground_app()
    async with app.run_test(size=(140, 44)) as pilot:
        panel, lab = await code_panel_and_lab(pilot, app)
        await until(pilot, lambda: panel.has_class("-shown"), "the panel shown for a playground")
        assert panel.index == 0
        pid = lab.worker(0).pid
        # Select the worker in the tree: the dispositions panel shows it. (Through the tree: the
        # lab starts after the first frame, and the tree's first selection, the master, may
        # still be on its way to the panels.)
        await until(pilot, lambda: app.process_tree.select_pid(pid), "the worker in the tree")
        disp = app.query_one(DispositionsPanel)
        await until(pilot, lambda: disp._sets is not None, "the first scan of the worker")
        assert 10 not in disp._sets["ignored"]  # SIGUSR1 not ignored yet

        await pilot.press("e")  # the Code key focuses the editor
        await until(pilot, lambda: isinstance(app.focused, CodeEditor), "the editor focused")
        since = lab.cursor()
        await type_code(pilot, panel, "signal.signal(signal.SIGUSR1, signal.SIG_IGN)")
        assert panel.editor.text == "signal.signal(signal.SIGUSR1, signal.SIG_IGN)"
        await pilot.press("ctrl+o")
        await confirm_root(pilot, app)
        done = await event(lab, since, kind="snippet", action="finished")
        assert done["pid"] == pid
        # The panel shows what came back; the dispositions panel shows SIGUSR1 ignored.
        await until(pilot, lambda: "SIG_IGN" in "\n".join(panel.output.lines), "the output")
        await until(pilot, lambda: 10 in disp._sets["ignored"], "SIGUSR1 shown as ignored")


async def test_history_and_output_and_errors() -> None:
    app = playground_app()
    async with app.run_test(size=(140, 44)) as pilot:
        panel, lab = await code_panel_and_lab(pilot, app)
        await pilot.press("e")
        for n, code in enumerate(("print(1 + 1)", "1 / 0")):
            since = lab.cursor()
            panel.editor.load_text(code)
            await pilot.press("ctrl+o")
            if n == 0:
                await confirm_root(pilot, app)
            await event(lab, since, kind="snippet", action="raised" if n else "finished")
        await until(pilot, lambda: "2" in panel.output.lines, "print's output")
        await until(
            pilot,
            lambda: any("ZeroDivisionError" in line for line in panel.output.lines),
            "the exception",
        )
        # History: ctrl+up walks back, ctrl+down forward to the draft.
        panel.editor.load_text("draft")
        await pilot.press("ctrl+up")
        assert panel.editor.text == "1 / 0"
        await pilot.press("ctrl+up")
        assert panel.editor.text == "print(1 + 1)"
        await pilot.press("ctrl+up")  # at the oldest: stays
        assert panel.editor.text == "print(1 + 1)"
        await pilot.press("ctrl+down", "ctrl+down")
        assert panel.editor.text == "draft"


async def test_a_running_snippet_shows_and_stop_ends_it() -> None:
    app = playground_app()
    async with app.run_test(size=(140, 44)) as pilot:
        panel, lab = await code_panel_and_lab(pilot, app)
        since = await submit(pilot, panel, lab, "time.sleep(30)")
        await confirm_root(pilot, app)
        await event(lab, since, kind="snippet", action="started")
        state = app.query_one("#code-state")
        await until(pilot, lambda: state.has_class("-running"), "the running state")
        assert "running snippet" in str(state.render())
        await pilot.press("ctrl+g")
        await event(lab, since, kind="snippet", action="stopped")
        await until(pilot, lambda: not state.has_class("-running"), "idle again")


async def test_without_a_playground_worker_the_panel_says_how_to_get_one() -> None:
    app = SigscopeApp(LabSettings(workers=1, behaviour="idle"))
    async with app.run_test(size=(140, 44)) as pilot:
        panel = await until(pilot, lambda: app.query(CodePanel).first(), "the Code panel")
        await until(pilot, lambda: app.lab, "the lab")
        assert not panel.has_class("-shown")
        await pilot.press("e")
        assert panel.has_class("-shown")
        assert "No playground worker" in str(app.query_one("#code-state").render())


@pytest.mark.skipif(not ROOT, reason="the root confirmation is asked only of root")
async def test_as_root_saying_no_runs_nothing() -> None:
    app = playground_app()
    async with app.run_test(size=(140, 44)) as pilot:
        panel, lab = await code_panel_and_lab(pilot, app)
        since = await submit(pilot, panel, lab, "print('should not run')")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the root dialog")
        runs = spy(lab, "run_code")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmDialog), "the dialog closed")
        await pilot.pause()
        assert runs == []
        assert not [e for e in lab.events(since) if e["kind"] == "snippet"]
        assert not panel.root_accepted


async def test_highlighting_or_a_plain_editor_that_says_so() -> None:
    """Python highlighting needs tree-sitter (textual[syntax]); without it the editor is
    plain and the panel says why (this venv has no tree-sitter: measured)."""
    app = playground_app()
    async with app.run_test(size=(140, 44)) as pilot:
        panel = await until(pilot, lambda: app.query(CodePanel).first(), "the Code panel")
        await until(pilot, lambda: panel.has_class("-shown"), "the panel")
        state = str(app.query_one("#code-state").render())
        if highlighting_available():
            assert panel.editor.language == "python"
            assert "no highlighting" not in state
        else:
            assert panel.editor.language is None
            assert "no highlighting (textual[syntax] missing)" in state


async def test_show_me_asks_before_it_runs_a_lessons_python(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lesson file is untrusted: show me shows its code and runs it only on yes; no runs
    nothing, yes completes the step on the live lab."""
    from sigscope.course.catalog import resolve_lesson
    from sigscope.paths import bundled_lessons
    from sigscope.ui.lesson_app import LessonApp

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = bundled_lessons()
    app = LessonApp(resolve_lesson("19", folder), folder)
    async with app.run_test(size=(140, 44)) as pilot:
        lab, run, since, dialog = await show_me(pilot, app)
        assert "Python from the lesson file" in dialog.question
        assert "signal.signal(signal.SIGUSR1, on_usr1)" in dialog.code
        assert ("as root" in dialog.detail) == ROOT
        runs = spy(lab, "run_code")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is not dialog, "the question closed")
        await pilot.pause()
        assert runs == []
        assert not [e for e in lab.events(since) if e["kind"] == "snippet"]
        assert 0 not in run.done
        await pilot.press("w")
        dialog = await until(
            pilot,
            lambda: isinstance(app.screen, CodeConfirmDialog) and app.screen,
            "the question again",
        )
        await pilot.press("end")
        await until(pilot, lambda: dialog.read_to_end, "the code read to its end")
        await pilot.press("y")
        await until(pilot, lambda: 0 in run.done, "step 1 done by its code")
        # Only yes ran it: one snippet started, the one the step's check saw end.
        assert len(runs) == 1
        started = [
            e for e in lab.events(since) if e["kind"] == "snippet" and e.get("action") == "started"
        ]
        assert len(started) == 1, started


LONG_CODE_LESSON = """
title = "A long code action"
sources = ["sigscope: sigscope/lab/behaviours/playground.py"]
[lab]
workers = 1
behaviour = "playground"
[[steps]]
text = "Show me runs a long snippet."
sources = ["sigscope: sigscope/lab/behaviours/playground.py"]
expect = { event = { kind = "report", marker = "end" } }
hints = ["Press w."]
solution = [{ code = '''
PADDING
report(marker="end")
''' }]
"""


async def test_show_me_shows_every_line_before_run_it_is_possible(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dialog used to cut the code at 400 characters while 16 KiB ran: a lesson could
    hide its last line. Now every line is in the dialog, and "Run it" waits until the
    learner has scrolled to the end; a bidi override is shown, not obeyed."""
    from sigscope.course import load_lesson
    from sigscope.ui.lesson_app import LessonApp
    from sigscope.ui.screens.code_confirm import visible

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = tmp_path / "lessons"
    folder.mkdir()
    padding = "\n".join(f"# harmless comment {i}" for i in range(60))
    path = folder / "01-long.toml"
    path.write_text(LONG_CODE_LESSON.replace("PADDING", padding))
    app = LessonApp(load_lesson(path), folder)
    async with app.run_test(size=(120, 40)) as pilot:
        lab, run, since, dialog = await show_me(pilot, app)
        assert 'report(marker="end")' in dialog.code
        scroll = dialog.query_one("#code-scroll", VerticalScroll)
        await until(
            pilot, lambda: scroll.max_scroll_y > 0, "the code laid out, taller than its box"
        )
        await pilot.pause()  # the dialog's own look after its layout
        assert not dialog.read_to_end
        runs = spy(lab, "run_code")
        await pilot.press("y")  # refused: the last lines were never on screen
        await pilot.pause()
        assert app.screen is dialog and runs == []
        assert not [e for e in lab.events(since) if e["kind"] == "snippet"]
        await pilot.press("end")
        await until(pilot, lambda: dialog.read_to_end, "scrolled to the end")
        await pilot.press("y")
        await until(pilot, lambda: 0 in run.done, "the step done by its code")
    assert "\\u202e" in str(visible("a\u202eb"))


async def test_the_timers_panel_follows_an_alarm_set_in_the_code() -> None:
    from sigscope.ui.widgets.timers import TimersPanel

    app = playground_app()
    async with app.run_test(size=(140, 44)) as pilot:
        panel, lab = await code_panel_and_lab(pilot, app)
        pid = lab.worker(0).pid
        timers = app.query_one(TimersPanel)
        assert "alarm" not in timers.timers.get(pid, {})
        since = await submit(
            pilot, panel, lab, "signal.signal(signal.SIGALRM, lambda s, f: None)\nsignal.alarm(20)"
        )
        await confirm_root(pilot, app)
        await event(lab, since, kind="timer", action="armed")
        state = await until(pilot, lambda: timers.timers.get(pid, {}).get("alarm"), "the alarm")
        assert state.action == "armed" and 19 < state.value <= 20

"""The lesson pane in the real lesson app at 120x40: a step's sources under its text (dim, never
parsed as markup), *predict, then see* (the prompt, the locked prediction, then the prediction
beside what the lab shows), the missed-window notice, and code blocks that are never cut on the
right. Real labs, real signals; progress goes to a temporary state directory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static
from textual.widgets._markdown import MarkdownFence

from sigscope.course import parse_lesson
from sigscope.ui.lesson_app import LessonApp
from sigscope.ui.widgets.lesson_pane import StepProgress
from tests.ui.helpers import until

WAIT = 30.0
CODE = "pid, status = os.waitpid(-1, os.WNOHANG)  # reap one child, if one has ended: 0 if none"

LESSON = f'''\
title = "Pane"
sources = ["signal(7)"]
[lab]
workers = 1
[[steps]]
text = """
Reap like this:

```python
{CODE}
```
"""
sources = ["waitpid(2) \\"WNOHANG\\"", "TLPI §26.1.2 [bold]not markup[/bold]"]
predict = "How many times will the handler run?"
expect = {{ received = "SIGUSR1", worker = 0 }}
answer = {{ count = {{ received = "SIGUSR1" }} }}
hints = ["h"]
solution = [{{ predict = "1" }}, {{ send = "USR1@worker:0" }}]
[[steps]]
text = "Two USR1, no USR2 between."
sources = ["signal(7)"]
expect = {{ received = "SIGUSR1", worker = 0, times = 2 }}
missed = {{ when = {{ received = "SIGUSR2" }}, text = "A SIGUSR2 came between." }}
hints = ["h"]
solution = [{{ send = "USR1@worker:0" }}, {{ send = "USR1@worker:0" }}]
'''


async def test_sources_prediction_missed_and_code_in_the_pane(tmp_path: Path) -> None:
    lesson = parse_lesson(LESSON, "pane.toml", tmp_path / "pane.toml")
    app = LessonApp(lesson, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None and app.lesson_run is not None, "lab")
        run, lab = app.lesson_run, app.lab
        assert run is not None and lab is not None
        pid = await asyncio.to_thread(lambda: lab.worker(0).pid)
        await asyncio.to_thread(lab.wait_for, kind="ready", pid=pid, timeout=WAIT)
        pane = app.pane

        # Sources, dim, as plain text.
        await until(pilot, lambda: pane.sources_shown, "the sources")
        assert pane.sources_shown.splitlines() == [
            "Sources:",
            '· waitpid(2) "WNOHANG"',
            "· TLPI §26.1.2 [bold]not markup[/bold]",
        ]
        # The code block wraps inside the pane: nothing is hidden to the right.
        fence = pane.query_one(MarkdownFence)
        await until(pilot, lambda: fence.size.width > 0, "the fence laid out")
        assert fence.max_scroll_x == 0
        assert fence.size.width < len(CODE)  # the pane is narrower than the line…
        assert fence.size.height >= 2  # …so it takes more than one row

        # Predict first: the prompt and the input box.
        assert "**Predict first:** How many times" in pane.markdown_shown
        box = pane.query_one("#lesson-answer", Input)
        assert box.display and "prediction" in box.placeholder
        await pilot.press("slash")
        await until(pilot, lambda: box.has_focus, "the box focused")
        for key in "3":
            await pilot.press(key)
        await pilot.press("enter")
        await until(pilot, lambda: run.prediction == "3", "the prediction locked")
        await until(pilot, lambda: "(locked)" in pane.markdown_shown, "the locked prediction")
        lab.send("worker:0", "USR1")
        await until(pilot, lambda: 0 in run.done, "step 1 done")
        await until(pilot, lambda: run.index == 1, "step 2")
        run.back()
        app._refresh_pane()
        await until(
            pilot,
            lambda: "You predicted **3** — the lab shows **1** ✗" in pane.markdown_shown,
            "the prediction beside the lab",
        )
        run.next()

        # Missed: a USR2 between the USR1s restarts the window, and the pane says so.
        for sig in ("USR1", "USR2"):
            mark = lab.cursor()
            lab.send("worker:0", sig)
            await asyncio.to_thread(
                lab.wait_for, kind="received", sig=f"SIG{sig}", since=mark, timeout=WAIT
            )
        await until(pilot, lambda: run.notice is not None, "the miss noticed")
        app._refresh_pane()
        await until(
            pilot,
            lambda: "**Missed:** A SIGUSR2 came between." in pane.markdown_shown,
            "the notice shown",
        )
        assert run.index == 1 and 1 not in run.done
        await pilot.press("q")


async def test_the_status_line_is_redrawn_only_when_it_changes(tmp_path: Path) -> None:
    """The app shows the run after every check (a snapshot a second, idle): redrawing the
    unchanged status line laid the screen out and sent its lines to a served page each
    second. It is redrawn when the step, its tick or the count done changes."""
    lesson = parse_lesson(LESSON, "pane.toml", tmp_path / "pane.toml")
    app = LessonApp(lesson, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None and app.lesson_run is not None, "lab")
        run = app.lesson_run
        assert run is not None
        status = app.pane.query_one("#lesson-status", Static)
        await until(pilot, lambda: "Step 1/2" in str(status.render()), "step 1 shown")
        drawn: list[str] = []
        update = status.update

        def counted(content: Any = "", **kwargs: Any) -> None:
            drawn.append(str(content))
            update(content, **kwargs)

        status.update = counted  # type: ignore[method-assign]
        for _ in range(3):
            app.pane.show(run)
        assert drawn == []
        run.next()
        app.pane.show(run)
        app.pane.show(run)
        assert len(drawn) == 1 and drawn[0].startswith("Step 2/2")
        await pilot.press("q")


async def test_the_progress_bar_does_not_wake_every_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual's ProgressBar calls its update() every second for an ETA the pane never shows;
    the pane's bar pauses that timer, and still moves when a step is done."""
    ticks: list[float] = []
    update = StepProgress.update

    def counted(self: StepProgress, **kwargs: Any) -> None:
        if not kwargs:  # the timer's call: update() with nothing to update
            ticks.append(asyncio.get_running_loop().time())
        update(self, **kwargs)

    monkeypatch.setattr(StepProgress, "update", counted)
    lesson = parse_lesson(LESSON, "pane.toml", tmp_path / "pane.toml")
    app = LessonApp(lesson, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None and app.lesson_run is not None, "lab")
        run, lab = app.lesson_run, app.lab
        assert run is not None and lab is not None
        bar = app.pane.query_one("#lesson-progress", StepProgress)
        mounted = len(ticks)  # (ProgressBar's on_mount calls it once)
        await asyncio.sleep(2.5)
        assert len(ticks) == mounted
        # Step 1 done: the bar moves.
        pid = await asyncio.to_thread(lambda: lab.worker(0).pid)
        await asyncio.to_thread(lab.wait_for, kind="ready", pid=pid, timeout=WAIT)
        assert run.predict("1")
        lab.send("worker:0", "USR1")
        await until(pilot, lambda: 0 in run.done, "step 1 done")
        await until(pilot, lambda: bar.progress == 50, "the bar at half")
        await pilot.press("q")

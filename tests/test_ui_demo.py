"""Demo mode, driven with Pilot against real labs: every presenter key (next, back, pause,
resume, faster, slower), a whole lesson played to its end, and a kiosk loop onto a fresh lab.

The narration pauses are long at speed 1 (seconds per step) and tiny at speed 100, so the key
tests run at speed 1 (nothing moves unless a key says so) and the playing tests at speed 100.
Waits have generous deadlines; nothing asserts a timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from sigscope.cli import main
from sigscope.paths import bundled_lessons
from sigscope.ui.demo_app import MIN_PAUSE, DemoApp, narration_seconds
from sigscope.ui.lesson_app import resolve_lesson

WAIT = 60.0  # seconds: a whole lesson on a shared, loaded machine
FOLDER = bundled_lessons()

TINY = """
title = "Tiny"
[lab]
workers = 1
[[steps]]
title = "A handler"
text = "Send SIGUSR1 to worker 0."
expect = { received = "SIGUSR1", worker = 0 }
solution = [{ send = "USR1@worker:0" }]
[[steps]]
title = "The end"
text = "That is all."
"""


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


async def until(pilot: Pilot[Any], condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            app = pilot.app
            raise AssertionError(f"timed out waiting for {what} (phase {app.phase})")  # type: ignore[attr-defined]
        await pilot.pause(0.05)


def tiny_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "01-tiny.toml").write_text(TINY)
    return folder


def test_narration_grows_with_the_text() -> None:
    assert narration_seconds("short") == MIN_PAUSE
    assert narration_seconds("x" * 300) > narration_seconds("x" * 100) > MIN_PAUSE


async def test_every_presenter_key(state_home: Path) -> None:
    app = DemoApp(resolve_lesson("1", FOLDER), FOLDER, speed=1.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.phase == "narrating" and app.lab is not None, "step 1")
        run = app.lesson_run
        assert run is not None and run.index == 0
        # Pause: the countdown stops; resume: it runs again.
        await pilot.press("space")
        assert app.paused
        frozen = app.remaining
        await pilot.pause(0.5)
        assert app.remaining == frozen and "paused" in str(app.pane.border_subtitle)
        await pilot.press("space")
        assert not app.paused
        await until(pilot, lambda: app.remaining < frozen, "the countdown running again")
        # Faster and slower.
        await pilot.press("plus")
        assert app.speed == pytest.approx(1.5)
        await pilot.press("plus")
        assert app.speed == pytest.approx(2.25)
        await pilot.press("minus", "minus", "minus")
        assert app.speed == pytest.approx(1 / 1.5)
        assert "speed 0.67×" in str(app.pane.border_subtitle)
        # Next: no more waiting; the step is performed on the lab and ticks.
        lab = app.lab
        assert lab is not None
        await pilot.press("right")
        await until(pilot, lambda: 0 in run.done, "step 1 performed")
        await until(pilot, lambda: app.phase == "narrating" and run.index == 1, "step 2 shown")
        await until(pilot, lambda: app.pane.checklist_shown.startswith("✓"), "the tick")
        assert lab.events(0) and any(
            e.get("kind") == "received" and e.get("sig") == "SIGUSR1" for e in lab.events(0)
        )
        # Back: the previous step again, narrated.
        await pilot.press("left")
        await until(pilot, lambda: run.index == 0 and app.phase == "narrating", "back to 1")
        assert run.lesson.steps[0].text[:20] in app.pane.markdown_shown
        # The other keys of a presenter's remote do the same.
        await pilot.press("pagedown")  # step 1 is done: on to step 2 without doing it again
        await until(pilot, lambda: run.index == 1 and app.phase == "narrating", "step 2 again")
        await pilot.press("pageup")
        await until(pilot, lambda: run.index == 0, "pageup: back")
        await pilot.press("q")


async def test_a_demo_plays_a_whole_lesson(state_home: Path) -> None:
    lesson = resolve_lesson("1", FOLDER)
    app = DemoApp(lesson, FOLDER, speed=100.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.phase in ("ending", "finished"), "the end of the lesson")
        run = app.lesson_run
        assert run is not None and run.finished
        assert run.done == set(range(len(lesson.steps)))
        await until(pilot, lambda: app.phase == "finished", "finished, not looping")
        assert app.rounds == 1
        await pilot.press("q")
    # A demo does not tick a learner's progress.
    assert not (state_home / "sigscope" / "progress.json").exists()


LESSON_FILES = [pytest.param(p, id=p.stem[:2]) for p in sorted(FOLDER.glob("*.toml"))]


@pytest.mark.parametrize("path", LESSON_FILES)
async def test_every_lesson_plays_to_its_end_without_an_error(path: Path) -> None:
    """The demo, like a learner pressing w at each step, gets through every bundled lesson."""
    lesson = resolve_lesson(path.stem, FOLDER)
    errors: list[str] = []

    class Recording(DemoApp):
        def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
            if kwargs.get("severity") == "error":
                errors.append(str(message))
            super().notify(message, *args, **kwargs)

    app = Recording(lesson, FOLDER, speed=100.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.phase in ("ending", "finished"), f"the end of {path.stem}")
        run = app.lesson_run
        assert run is not None and run.finished, (sorted(run.done) if run else None, errors)
        assert errors == []
        await pilot.press("q")


async def test_the_kiosk_loops_onto_a_fresh_lab(tmp_path: Path) -> None:
    folder = tiny_folder(tmp_path)
    app = DemoApp(resolve_lesson("tiny", folder), folder, speed=100.0, loop=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.rounds >= 1, "the first round")
        first = app.lab
        assert first is not None
        await until(pilot, lambda: app.rounds >= 2, "the second round")
        assert app.lab is not first and not first.running
        run = app.lesson_run
        assert run is not None and run.lab is app.lab
        await pilot.press("q")


def test_demo_needs_a_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["demo"])
    assert e.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1

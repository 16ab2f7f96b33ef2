"""Demo mode, driven with Pilot against real labs: every presenter key (next, back, pause,
resume, faster, slower), a whole lesson played to its end, and a kiosk loop onto a fresh lab.

The narration pauses are long at speed 1 (seconds per step) and tiny at speed 100, so the key
tests run at speed 1 (nothing moves unless a key says so) and the playing tests at speed 100.
Waits have generous deadlines; nothing asserts a timing.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest

from sigscope.cli import main
from sigscope.course.catalog import resolve_lesson
from sigscope.paths import bundled_lessons
from sigscope.ui.demo_app import DemoApp
from sigscope.ui.models.narration import (
    HOLD_SECONDS,
    MIN_HOLD,
    MIN_PAUSE,
    PREDICT_SECONDS,
    TICK,
    hold_seconds,
    narration_seconds,
)
from tests.ui import helpers

WAIT = 60.0  # seconds: a whole lesson on a shared, loaded machine
until = partial(helpers.until, timeout=WAIT)
FOLDER = bundled_lessons()


def demo_lesson(title: str, workers: int, steps: str) -> str:
    """A lesson whose first step is a handler running on worker 0, then ``steps``."""
    head = f'title = "{title}"\nsources = ["kill(2)"]\n[lab]\nworkers = {workers}\n'
    return head + HANDLER_STEP + steps


HANDLER_STEP = """[[steps]]
title = "A handler"
text = "Send SIGUSR1 to worker 0."
sources = ["kill(2)"]
expect = { received = "SIGUSR1", worker = 0 }
solution = [{ send = "USR1@worker:0" }]
"""

TINY = demo_lesson(
    "Tiny",
    1,
    """[[steps]]
title = "The end"
text = "That is all."
sources = ["kill(2)"]
""",
)

# Three kinds of outcome to hold on: a handler ran, a question the lab answers, a prediction
# beside what the lab shows (and a step that needs the master panel).
PACED = demo_lesson(
    "Paced",
    2,
    """[[steps]]
title = "Ask"
text = "Worker 1 is killed by SIGTERM."
sources = ["kill(2)"]
question = "What would echo $? print in bash?"
answer = "shell_code"
solution = [
  { send = "TERM@worker:1" },
  { until = { reaped = { sig = "SIGTERM", worker = 1 } } },
  { answer = true },
]
[[steps]]
title = "Predict"
text = "Kill worker 0."
sources = ["kill(2)"]
panels = ["master"]
predict = "How many live workers will the master have a moment later?"
answer = "live_workers"
expect = { all = [
  { reaped = { sig = "SIGKILL", worker = 0 } },
  { spawned = { worker = 0 } },
  { live_workers = 2 },
] }
solution = [{ predict = "2" }, { send = "KILL@worker:0" }]
""",
)


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
        assert app.narration.paused
        frozen, ticked = app.narration.remaining, app.narration.last_tick
        # The countdown's timer runs on while paused: three of its ticks, and nothing counted.
        await until(
            pilot, lambda: app.narration.last_tick >= ticked + 3 * TICK, "three ticks, paused"
        )
        assert app.narration.remaining == frozen and "paused" in str(app.pane.border_subtitle)
        await pilot.press("space")
        assert not app.narration.paused
        await until(pilot, lambda: app.narration.remaining < frozen, "the countdown running again")
        # Faster and slower.
        await pilot.press("plus")
        assert app.narration.speed == pytest.approx(1.5)
        await pilot.press("plus")
        assert app.narration.speed == pytest.approx(2.25)
        await pilot.press("minus", "minus", "minus")
        assert app.narration.speed == pytest.approx(1 / 1.5)
        assert "speed 0.67×" in str(app.pane.border_subtitle)
        # Next: no more waiting; the step is performed on the lab and ticks, and the demo holds
        # on its outcome (step 1 still in the pane, ticked); next again skips the hold.
        lab = app.lab
        assert lab is not None
        await pilot.press("right")
        await until(pilot, lambda: 0 in run.done, "step 1 performed")
        await until(pilot, lambda: app.phase == "holding", "the hold on step 1's outcome")
        assert app.narration.held == 0 and run.lesson.steps[0].text[:20] in app.pane.markdown_shown
        await until(pilot, lambda: app.pane.checklist_shown.startswith("✓"), "the tick")
        await pilot.press("right")
        await until(pilot, lambda: app.phase == "narrating" and run.index == 1, "step 2 shown")
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
        assert app.narration.rounds == 1
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

    # This test is about getting through, not pacing (the hold test below is): a short floor
    # keeps 18 lessons from waiting seconds on every step.
    app = Recording(lesson, FOLDER, speed=100.0, hold_floor=0.05)
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
        await until(pilot, lambda: app.narration.rounds >= 1, "the first round")
        first = app.lab
        assert first is not None
        await until(pilot, lambda: app.narration.rounds >= 2, "the second round")
        assert app.lab is not first and not first.running
        run = app.lesson_run
        assert run is not None and run.lab is app.lab
        await pilot.press("q")


def test_demo_needs_a_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["demo"])
    assert e.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


async def test_each_outcome_stays_on_screen_for_its_hold_at_speed_2(tmp_path: Path) -> None:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "01-paced.toml").write_text(PACED)
    lesson = resolve_lesson("paced", folder)
    speed = 2.0
    hold, predict_hold = hold_seconds(speed), hold_seconds(speed, PREDICT_SECONDS)
    assert hold == max(MIN_HOLD, HOLD_SECONDS / speed) and predict_hold >= MIN_HOLD
    app = DemoApp(lesson, folder, speed=speed)
    seen: list[tuple[str, int | None, str, bool, bool]] = []  # phase, held, pane, master, live
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen.region

        def sample() -> bool:
            master = app.panel("master")
            shown = bool(master.display) and screen.contains_region(master.region)
            running = app.lab is not None and app.lab.running
            seen.append((app.phase, app.narration.held, app.pane.markdown_shown, shown, running))
            return app.phase == "finished"

        await until(pilot, sample, "the end of the paced lesson")
        await pilot.press("q")
    history = list(app.narration.history)
    phases = [(phase, index) for _, phase, index in history]
    # Each performed step is held, then the next step (or the end) comes.
    for index in range(3):
        assert ("holding", index) in phases, phases
    assert ("predicting", 2) in phases and phases[-2:] == [("ending", 2), ("finished", 2)]
    for (t, phase, index), (t_next, _, _) in zip(history, history[1:], strict=False):
        if phase == "holding":
            assert t_next - t >= hold, f"step {index + 1}'s outcome held {t_next - t:.2f}s"
        if phase == "predicting":
            assert t_next - t >= predict_hold, f"step {index + 1}'s prediction {t_next - t:.2f}s"
    # A question (or a prediction) was up for at least the floor before the lab answered.
    for (t, phase, index), (t_next, _, _) in zip(history, history[1:], strict=False):
        if phase == "narrating" and index in (1, 2):
            assert t_next - t >= MIN_HOLD, f"step {index + 1}'s question {t_next - t:.2f}s"
    # What was on screen while held: the finished step itself, with what the lab said.
    steps = lesson.steps

    def while_held(index: int) -> list[str]:
        return [pane for phase, held, pane, _, _ in seen if phase == "holding" and held == index]

    assert all(steps[0].text in pane for pane in while_held(0)) and while_held(0)
    assert any("The lab says:** 143" in pane for pane in while_held(1))
    assert any("You predicted **2** — the lab shows **2** ✓" in pane for pane in while_held(2))
    # The prediction was on screen, locked, before the lab acted.
    assert any(phase == "predicting" and "(locked)" in pane for phase, _, pane, _, _ in seen)
    # The step about the master's workers has the master panel on screen; the first does not.
    assert all(master for phase, held, _, master, _ in seen if phase == "holding" and held == 2)
    assert not any(master for phase, held, _, master, _ in seen if held == 0)
    # The lab was not ended under the last outcome.
    assert all(live for phase, held, _, _, live in seen if phase == "holding" and held == 2)


TWO_PANELS = """
title = "Two panels"
sources = ["kill(2)"]
[lab]
workers = 2
[[steps]]
title = "Status"
text = "Send SIGUSR1 to the master and find its status event."
sources = ["kill(2)"]
panels = ["master", "events"]
expect = { all = [{ received = "SIGUSR1", role = "master" }, { event = { kind = "status" } }] }
solution = [{ send = "USR1@master" }]
"""


@pytest.mark.parametrize("size", [(100, 30), (120, 40)])
async def test_two_needed_panels_leave_the_chart_room_for_its_arrows(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """At 100×30 a step needing the master panel and the events (lesson 11's status step) left
    the chart no row at all: the tree, the chart (its lane header and at least two rows of
    arrows), and both panels are on screen, none over another."""
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "01-two.toml").write_text(TWO_PANELS)
    app = DemoApp(resolve_lesson("two", folder), folder, speed=1.0)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.phase == "narrating" and app.lab is not None, "step 1")
        master, log, chart = app.panel("master"), app.panel("log"), app.panel("chart")
        await until(pilot, lambda: master.display and log.display, "both panels shown")
        shown = [app.process_tree, chart, master, log, app.pane]
        await until(pilot, lambda: all(w.region.area for w in shown), "all laid out")
        screen = app.screen.region
        for widget in shown:
            assert screen.contains_region(widget.region), widget.id
        for i, a in enumerate(shown):
            for b in shown[i + 1 :]:
                assert not a.region.overlaps(b.region), (a.id, b.id)
        # A border (2), the lane names and pids (2), two arrows with their captions (4).
        assert chart.region.height >= 8, chart.region
        # The master panel keeps its lines about workers and zombies; the events show rows.
        assert master.region.height >= 6, master.region
        assert log.region.height >= 6, log.region
        assert log.table.region.height >= 3, log.table.region  # rows, not filters and details
        await pilot.press("q")


async def test_the_event_list_alone_shows_its_rows_at_100x30(tmp_path: Path) -> None:
    """A step needing only the events got a 4-line list (header and one row): an "auto" grid
    row measured it so, whatever its height."""
    folder = tmp_path / "lessons"
    folder.mkdir()
    one = TWO_PANELS.replace('panels = ["master", "events"]', 'panels = ["events"]').replace(
        ', { event = { kind = "status" } }',
        "",  # a status event needs the master panel too
    )
    (folder / "01-two.toml").write_text(one)
    app = DemoApp(resolve_lesson("two", folder), folder, speed=1.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.phase == "narrating" and app.lab is not None, "step 1")
        log, chart = app.panel("log"), app.panel("chart")
        await until(pilot, lambda: log.display, "the events shown")
        await until(pilot, lambda: log.region.area and log.table.region.area, "the list laid out")
        assert app.screen.region.contains_region(log.region)
        assert not log.region.overlaps(chart.region) and chart.region.height >= 8
        assert log.table.region.height >= 5, log.region
        await pilot.press("q")

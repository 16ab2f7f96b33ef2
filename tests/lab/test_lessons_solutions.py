"""Every bundled lesson is a test: its solution, run on a live lab, meets every step.

For each lesson file, a lab is started as the lesson describes, and each step's solution is
performed ("show me") headlessly. The test fails if a step's expectation does not come true,
if a checked step completes while nobody does anything (for IDLE seconds before its solution,
and for a *predict* step also before the prediction is locked), or if a question accepts a
wrong answer. There is no exemption: a step that needs no action is a reading step (no
``expect``, ``question`` or ``predict``), and says so. So a lesson that stops being true on
this machine, or a step that ticks by itself, fails the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sigscope.commands.lessons import check_paths
from sigscope.course import Lesson, LessonRun, ShowMeFailed, load_lesson
from sigscope.lab.controller import LabTimeout
from sigscope.paths import bundled_lessons

LESSONS = sorted(bundled_lessons().glob("*.toml"))
IDLE = 0.5  # seconds of doing nothing during which a checked step must not complete
WRONG = "-1000"  # no question's answer: a count, a code, a signal or a word


def test_the_bundled_lessons_are_there() -> None:
    assert len(LESSONS) >= 8, [p.name for p in LESSONS]
    numbers = [int(p.name.split("-")[0]) for p in LESSONS]
    assert numbers == sorted(set(numbers))


def test_every_checked_step_has_a_hint() -> None:
    missing = [
        f"{path.name} step {i + 1}"
        for path in LESSONS
        for i, step in enumerate(load_lesson(path).steps)
        if step.checked and not step.hints
    ]
    assert missing == []


def test_every_bundled_lesson_passes_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_paths([bundled_lessons()]) == 0, capsys.readouterr().out


def describe(run: LessonRun) -> str:
    """What the lab did during the run, for a failure message: events and process states."""
    lines = ["events since the lesson began:"]
    for e in run.lab.events(run.origin):
        fields = {k: v for k, v in e.items() if k not in ("t", "params", "starttime", "workers")}
        lines.append(f"  {fields}")
    world = run.world()
    lines.append("processes: " + ", ".join(f"{p.role}{p.index}:{p.state}" for p in world.processes))
    return "\n".join(lines)


def idle_check(run: LessonRun, index: int) -> str | None:
    """Check as the dashboard does (on every event) for IDLE seconds while nobody acts: what
    is wrong if the step completes."""
    completed: list[int] = []

    def moved() -> bool:
        completed.extend(run.check())
        return bool(completed) or index in run.done

    try:
        run.lab.wait_until(moved, timeout=IDLE)
    except LabTimeout:
        return None
    return "completed with no action at all (make it a reading step, or check what happens after)"


def audit(lesson: Lesson, path: Path) -> list[str]:
    """Every strictness problem of one lesson, run on a live lab: one line a step. A step
    whose solution fails ends the run (the steps after it depend on it)."""
    problems: list[str] = []
    with lesson.make_lab() as lab:
        run = LessonRun(lesson, lab)
        for i, step in enumerate(lesson.steps):
            where = f"{path.name} step {i + 1} ({step.title or step.text[:40]!r})"
            if run.index != i:
                problems.append(f"{where}: the run is at step {run.index + 1}")
                break
            if not step.checked:
                run.next()
                continue
            bad = idle_check(run, i)
            if bad is None and step.predict is not None:
                run.perform(step.solution[0])  # lock the prediction: the window starts now
                bad = idle_check(run, i)
                if bad is not None:
                    bad = "after the prediction, " + bad
            if bad is not None:
                problems.append(f"{where}: {bad}")
            if step.question is not None and run.answer(WRONG):
                problems.append(f"{where}: the wrong answer {WRONG!r} was accepted")
            if i in run.done:
                continue
            try:
                run.show_me(timeout=15)
            except ShowMeFailed as e:
                problems.append(f"{where}: show me failed: {e}\n{describe(run)}")
                break
            if i not in run.done:
                problems.append(f"{where}: not done after its solution")
                break
            if step.predict is not None and i not in run.outcomes:
                problems.append(f"{where}: no prediction outcome after its solution")
        else:
            if not run.finished:
                problems.append(f"{path.name}: not finished after every solution")
    return problems


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_solution_meets_every_step(path: Path) -> None:
    problems = audit(load_lesson(path), path)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_a_step_that_ticks_by_itself_fails_the_audit(tmp_path: Path) -> None:
    """The audit itself: a "look at" step whose expectation already holds is caught, and so is
    a question that takes any answer."""
    path = tmp_path / "01-lazy.toml"
    path.write_text(
        'title = "Lazy"\nsources = ["signal(7)"]\n[lab]\nworkers = 1\n'
        '[[steps]]\ntext = "Look at the workers."\nsources = ["signal(7)"]\n'
        'expect = { live_workers = 1 }\nhints = ["h"]\nsolution = [{ wait = 0 }]\n'
        '[[steps]]\ntext = "Any answer."\nsources = ["signal(7)"]\nquestion = "?"\n'
        'answer = { value = "-1000" }\nhints = ["h"]\nsolution = [{ answer = "-1000" }]\n'
    )
    problems = audit(load_lesson(path), path)
    assert len(problems) == 2, problems
    assert "completed with no action at all" in problems[0]
    assert "the wrong answer '-1000' was accepted" in problems[1]


def test_the_readme_example_is_a_lesson_that_works(tmp_path: Path) -> None:
    """lessons/README.md's complete example is checked and run like a bundled lesson."""
    readme = (bundled_lessons() / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "00-example.toml"
    path.write_text(example)
    test_solution_meets_every_step(path)

"""Every bundled lesson is a test: its solution, run on a live lab, meets every step.

For each lesson file, a lab is started as the lesson describes, and each step's solution is
performed ("show me") headlessly. The test fails if a step's expectation does not come true,
if a step is already true before its solution is done (a step the learner could not fail),
or if a question accepts a wrong answer. So a lesson that stops being true on this machine
fails the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sigscope.course import LessonRun, ShowMeFailed, load_lesson
from sigscope.course.commands import check_paths
from sigscope.paths import bundled_lessons

LESSONS = sorted(bundled_lessons().glob("*.toml"))
PASSIVE = {"wait", "until", "answer"}  # actions that do nothing to the lab


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


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_solution_meets_every_step(path: Path) -> None:
    lesson = load_lesson(path)
    with lesson.make_lab() as lab:
        run = LessonRun(lesson, lab)
        for i, step in enumerate(lesson.steps):
            assert run.index == i, f"step {i + 1}: the run is at step {run.index + 1}"
            where = f"{path.name} step {i + 1} ({step.title or step.text[:40]!r})"
            if not step.checked:
                run.next()
                continue
            if step.question is not None:
                assert not run.answer("-1000"), f"{where}: a wrong answer was accepted"
            elif any(a.kind not in PASSIVE for a in step.solution):
                assert run.check() == [], f"{where}: true before its solution was done"
            try:
                run.show_me(timeout=15)
            except ShowMeFailed as e:
                pytest.fail(f"{where}: {e}\n{describe(run)}", pytrace=False)
            assert i in run.done, f"{where}: not done after its solution"
        assert run.finished


def test_the_readme_example_is_a_lesson_that_works(tmp_path: Path) -> None:
    """lessons/README.md's complete example is checked and run like a bundled lesson."""
    readme = (bundled_lessons() / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "00-example.toml"
    path.write_text(example)
    test_solution_meets_every_step(path)

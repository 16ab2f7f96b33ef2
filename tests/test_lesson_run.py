"""LessonRun, the object the dashboard's lesson pane drives: a learner's own actions complete
steps, hints come one at a time, next/back/reset move, progress is saved and resumed, and the
observer's snapshots can stand in for /proc reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigscope.course import LessonRun, ProgressStore, ShowMeFailed, load_lesson, parse_lesson
from sigscope.lab import Lab
from sigscope.observe.sampler import Sampler
from sigscope.paths import bundled_lessons

LESSON = bundled_lessons() / "01-kill-and-default-actions.toml"


def wait_for_step(run: LessonRun, index: int, timeout: float = 10) -> list[int]:
    """Check as events arrive until step ``index`` is done (as the pane does on each event)."""
    completed: list[int] = []

    def done() -> bool:
        completed.extend(run.check())
        return index in run.done

    run.lab.wait_until(done, timeout=timeout)
    return completed


def test_the_learners_own_signals_complete_steps(tmp_path: Path) -> None:
    lesson = load_lesson(LESSON)
    with lesson.make_lab() as lab:
        run = LessonRun(lesson, lab, store=ProgressStore(tmp_path / "p.json"))
        assert run.check() == []
        for i in (0, 1):  # before its handlers are installed, USR1 would kill a worker
            lab.wait_for(kind="ready", pid=lab.worker(i).pid, timeout=10)
        lab.send("worker:1", "USR1")  # the wrong worker: step 1 wants worker 0
        lab.wait_for(kind="received", sig="SIGUSR1", timeout=10)
        assert run.check() == [] and run.index == 0
        lab.send("worker:0", "USR1")
        assert wait_for_step(run, 0) == [0]
        assert run.index == 1
        lab.send("worker:1", "TERM")
        wait_for_step(run, 1)
        assert run.index == 2 and run.current_step.question is not None
        assert run.expected_answers() == [143]
        assert not run.answer("15")
        assert not run.answer("-15")
        assert run.answer(" 143 ")
        assert run.done == {0, 1, 2} and run.index == 3
        assert run.fraction == 3 / len([s for s in lesson.steps if s.checked])


def test_hints_next_back_and_progress_resume(tmp_path: Path) -> None:
    lesson = load_lesson(LESSON)
    store = ProgressStore(tmp_path / "state" / "progress.json")
    with lesson.make_lab() as lab:
        run = LessonRun(lesson, lab, store=store)
        hints = lesson.steps[0].hints
        assert len(hints) >= 2
        assert run.hint() == hints[0]
        assert run.hints_shown == hints[:1]
        assert run.hint() == hints[1]
        for _ in hints[2:]:
            run.hint()
        assert run.hint() is None
        run.show_me()
        assert run.index == 1
        assert run.back() and run.index == 0
        assert not run.back()
        assert run.next() and run.index == 1
        assert run.hints_shown == []
    with lesson.make_lab() as lab:  # a restart: progress comes back from the file
        again = LessonRun(lesson, lab, store=store)
        assert again.index == 1 and again.done == {0}
        again.back()
        assert again.hints_shown == hints
        again.reset()
        assert again.index == 0 and again.done == frozenset() and again.hints_shown == []
    assert LessonRun(lesson, lab, store=store).done == frozenset()


def test_reset_onto_a_fresh_lab(tmp_path: Path) -> None:
    lesson = load_lesson(LESSON)
    with lesson.make_lab() as first:
        run = LessonRun(lesson, first)
        run.show_me()
        run.show_me()
        assert run.index == 2
    with lesson.make_lab() as second:
        run.reset(second)
        assert run.lab is second and run.index == 0
        assert run.check() == []  # what the first lab showed does not count on the second
        run.show_me()
        assert run.done == {0}


def test_show_me_says_what_went_wrong() -> None:
    lesson = parse_lesson(
        b'title = "t"\n[lab]\nworkers = 1\n[[steps]]\ntext = "x"\n'
        b'expect = { received = "SIGUSR1", worker = 0 }\n'
        b'solution = [{ send = "USR1@worker:5" }]\n',
        "inline.toml",
    )
    with lesson.make_lab() as lab:
        run = LessonRun(lesson, lab)
        with pytest.raises(ShowMeFailed, match="no live worker 5"):
            run.show_me(timeout=1)
        assert run.done == frozenset()


def test_state_predicates_read_the_observers_snapshot() -> None:
    """With the sampler's latest snapshot as the source, a zombie is seen the same way."""
    lesson = load_lesson(bundled_lessons() / "09-zombies-and-orphans.toml")
    with lesson.make_lab() as lab, Sampler(lab, interval=0.05) as sampler:
        run = LessonRun(lesson, lab, snapshot=lambda: sampler.latest)
        run.show_me()
        assert run.done == {0}
        step = lesson.steps[0]
        assert step.expect is not None
        world = run.world()
        zombie = [p for p in world.processes if p.role == "worker" and p.index == 0]
        assert [p.state for p in zombie] == ["Z"]


def test_a_broken_lesson_never_reaches_a_lab(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('title = "x"\n[[steps]]\ntext = "t"\nexpect = { nope = 1 }\n')
    from sigscope.course import LessonInvalid

    with pytest.raises(LessonInvalid) as info:
        load_lesson(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:4: unknown predicate 'nope' (known: received, sent, reaped, spawned, exited, "
        "stopped, continued, event, state, pending, blocked, ignored, caught, live_workers, "
        "reaping, wakeups, all, any, not)",
        f"{path}:2: missing solution: step 1 is checked, so it needs solution = [...]",
    ][::-1]


def test_lab_is_used_as_given() -> None:
    lesson = load_lesson(LESSON)
    lab = lesson.make_lab()
    assert isinstance(lab, Lab)
    assert lab.config["workers"] == lesson.setup.workers


@pytest.mark.parametrize(
    "reply, want, ok",
    [
        ("−9", -9, True),
        ("-9", -9, True),
        ("9", -9, False),
        ("kill", "SIGKILL", True),
        ("9", "SIGKILL", True),
        ("SIGTERM", "SIGKILL", False),
        ("Signaled", "signalled", True),
        ("MAINTHREAD", "MainThread", True),
        ("yes", True, True),
        ("no", True, False),
    ],
)
def test_replies_are_compared_as_what_they_are(reply: str, want: object, ok: bool) -> None:
    from sigscope.course.questions import same

    assert same(reply, want) is ok

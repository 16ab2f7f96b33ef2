"""``sigscope lesson [NAME]``: a lesson in the dashboard, checked step by step on the live lab.

The lab comes from the lesson file, so this command takes no lab options. A name that matches no
lesson, or a broken lesson file, is one line on stderr and exit status 2 before any process
starts (and before Textual is imported).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sigscope.commands._common import EXIT_USAGE
from sigscope.commands._lab_options import check_worker_cap
from sigscope.commands.lessons import add_lessons_dir_option
from sigscope.paths import LESSONS_ENV as ENV

if TYPE_CHECKING:
    from sigscope.course.lesson import Lesson

# The lessons (sigscope.course) are imported when a command runs, not when the parser is built:
# the dashboard's start-up does not wait for them (issue 14).


def add_parser(sub: Any) -> None:
    """Add ``lesson`` to the ``sigscope`` parser's subparsers."""
    lesson = sub.add_parser(
        "lesson",
        help="learn: a lesson in the dashboard, checked step by step on the live lab",
        description="Open a lesson in the dashboard: its text, a checklist of steps, hints, "
        "'show me' and reset. Steps complete by themselves when the lab shows what they ask; "
        "progress is saved and resumed. With no NAME, choose from a list. NAME is a lesson's "
        f"number, id or file name (sigscope lessons lists them; --lessons-dir or ${ENV} "
        "point at a teacher's own folder).",
    )
    lesson.add_argument("name", nargs="?", metavar="NAME", help="the lesson (default: choose)")
    add_lessons_dir_option(lesson)


def open_lesson(prog: str, name: str, folder: Path) -> Lesson | None:
    """The lesson ``name`` of ``folder``, or None after one line on stderr saying why not."""
    from sigscope.course.catalog import LessonNotFound, lookup_problem, resolve_lesson
    from sigscope.course.problems import LessonInvalid

    try:
        return resolve_lesson(name, folder)
    except (LessonNotFound, LessonInvalid) as e:
        print(f"{prog}: error: {lookup_problem(e)}", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    from sigscope.course.catalog import lessons_dir

    check_worker_cap()
    folder = lessons_dir(args.lessons_dir)
    if not os.path.isdir(folder):  # (Path.is_dir raises for a name too long or EACCES)
        print(f"sigscope lesson: error: no lessons folder {str(folder)!r}", file=sys.stderr)
        return EXIT_USAGE
    lesson = None
    if args.name is not None:
        lesson = open_lesson("sigscope lesson", args.name, folder)
        if lesson is None:
            return EXIT_USAGE
    from sigscope.ui.lesson_app import LessonApp, run_lesson_app

    return run_lesson_app(LessonApp(lesson, folder))

"""``sigscope lesson [NAME]`` and ``sigscope demo NAME``: a lesson in the dashboard, taught or
played by itself.

Kept out of ``sigscope/cli.py`` (which only wires them in) and free of Textual at import: the
apps are imported when a command runs. The lab comes from the lesson file, so these commands
take no lab options. A name that matches no lesson, or a broken lesson file, is one line on
stderr and exit status 2 before any process starts.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

from sigscope.course.catalog import ENV, lessons_dir, printable
from sigscope.course.commands import add_lessons_dir_option
from sigscope.numbers import NumberError, parse_float

EXIT_USAGE = 2
MAX_SPEED = 100.0


def speed_factor(text: str) -> float:
    try:
        value = parse_float(text)  # ASCII only: float() takes '١.٥' and '1_0'
    except NumberError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 0.5, 1, 2)") from None
    if not (math.isfinite(value) and 0 < value <= MAX_SPEED):
        raise argparse.ArgumentTypeError(f"{text!r}: the speed must be above 0, at most 100")
    return value


def add_play_parsers(sub: Any) -> None:
    """Add ``lesson`` and ``demo`` to the ``sigscope`` parser's subparsers."""
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

    demo = sub.add_parser(
        "demo",
        help="present: a lesson that plays itself, with presenter keys",
        description="Play a lesson by itself in a presentation layout: each step's text is "
        "shown for a while (longer for longer text), then its solution is performed on the "
        "live lab and its expectation awaited. Keys: → / ] next, ← / [ back, space pause, "
        "+ faster, - slower.",
    )
    demo.add_argument("name", metavar="NAME", help="the lesson (number, id or file name)")
    demo.add_argument(
        "--speed",
        type=speed_factor,
        default=1.0,
        metavar="FACTOR",
        help="narration pauses are divided by this (default 1; 2 is twice as fast)",
    )
    demo.add_argument(
        "--loop",
        action="store_true",
        help="kiosk: at the end, start the lesson again on a fresh lab",
    )
    demo.add_argument(
        "--allow-code",
        action="store_true",
        help="let the demo run the lesson's own Python (its code actions, in a playground "
        "worker) without asking: code from the lesson file runs as you",
    )
    add_lessons_dir_option(demo)


def run_lesson(args: argparse.Namespace) -> int:
    from sigscope.course.problems import LessonInvalid
    from sigscope.ui.lesson_app import (
        LessonApp,
        LessonNotFound,
        lesson_error,
        resolve_lesson,
        run_lesson_app,
    )

    folder = lessons_dir(args.lessons_dir)
    if not os.path.isdir(folder):  # (Path.is_dir raises for a name too long or EACCES)
        print(f"sigscope lesson: error: no lessons folder {str(folder)!r}", file=sys.stderr)
        return EXIT_USAGE
    lesson = None
    if args.name is not None:
        try:
            lesson = resolve_lesson(args.name, folder)
        except (LessonNotFound, LessonInvalid) as e:
            return lesson_error("sigscope lesson", e)
    return run_lesson_app(LessonApp(lesson, folder))


def run_demo(args: argparse.Namespace) -> int:
    from sigscope.course.problems import LessonInvalid
    from sigscope.ui.demo_app import DemoApp
    from sigscope.ui.lesson_app import LessonNotFound, lesson_error, resolve_lesson, run_lesson_app

    folder = lessons_dir(args.lessons_dir)
    if not os.path.isdir(folder):  # (Path.is_dir raises for a name too long or EACCES)
        print(
            f"sigscope demo: error: no lessons folder {printable(str(folder))!r}", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        lesson = resolve_lesson(args.name, folder)
    except (LessonNotFound, LessonInvalid) as e:
        return lesson_error("sigscope demo", e)
    runs_code = any(a.kind == "code" for step in lesson.steps for a in step.solution or ())
    if runs_code and not args.allow_code:
        # A demo performs every solution unasked; a lesson file's Python (issue 17) only
        # runs when its user said so, here once for the whole demo.
        who = "root" if os.geteuid() == 0 else "you"
        print(
            f"sigscope demo: error: this lesson runs Python from its file (as {who}) in a "
            "playground worker; add --allow-code to let the demo run it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return run_lesson_app(DemoApp(lesson, folder, speed=args.speed, loop=args.loop))

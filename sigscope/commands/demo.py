"""``sigscope demo NAME``: a lesson that plays itself in a presentation layout.

The lab comes from the lesson file, so this command takes no lab options. A name that matches no
lesson, a broken lesson file, or a lesson whose Python would run without ``--allow-code``, is one
line on stderr and exit status 2 before any process starts.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

from sigscope.commands._common import EXIT_USAGE
from sigscope.commands._lab_options import check_worker_cap
from sigscope.commands.lessons import add_lessons_dir_option
from sigscope.numbers import NumberError, parse_float

MAX_SPEED = 100.0


def speed_factor(text: str) -> float:
    try:
        value = parse_float(text)  # ASCII only: float() takes '١.٥' and '1_0'
    except NumberError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 0.5, 1, 2)") from None
    if not (math.isfinite(value) and 0 < value <= MAX_SPEED):
        raise argparse.ArgumentTypeError(f"{text!r}: the speed must be above 0, at most 100")
    return value


def add_parser(sub: Any) -> None:
    """Add ``demo`` to the ``sigscope`` parser's subparsers."""
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


def run(args: argparse.Namespace) -> int:
    from sigscope.commands.lesson import open_lesson
    from sigscope.course.catalog import lessons_dir, printable

    check_worker_cap()
    folder = lessons_dir(args.lessons_dir)
    if not os.path.isdir(folder):  # (Path.is_dir raises for a name too long or EACCES)
        print(
            f"sigscope demo: error: no lessons folder {printable(str(folder))!r}", file=sys.stderr
        )
        return EXIT_USAGE
    lesson = open_lesson("sigscope demo", args.name, folder)
    if lesson is None:
        return EXIT_USAGE
    runs_code = any(a.kind == "code" for step in lesson.steps for a in step.solution or ())
    types = any(a.kind == "type" for step in lesson.steps for a in step.solution or ())
    if (runs_code or types) and not args.allow_code:
        # A demo performs every solution unasked; a lesson file's Python (issue 17), or the
        # commands it types into a shell (issue 16), only run when its user said so, here
        # once for the whole demo.
        who = "root" if os.geteuid() == 0 else "you"
        what = "runs Python from its file" if runs_code else "types commands from its file"
        where = "a playground worker" if runs_code else "a real shell"
        print(
            f"sigscope demo: error: this lesson {what} (as {who}) in {where}; add --allow-code "
            "to let the demo run it",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from sigscope.ui.demo_app import DemoApp
    from sigscope.ui.lesson_app import run_lesson_app

    return run_lesson_app(DemoApp(lesson, folder, speed=args.speed, loop=args.loop))

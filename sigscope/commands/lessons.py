"""``sigscope lessons``: list the lessons with progress, or ``--check`` lesson files.

``--check`` prints every problem as ``file:line: message`` on stdout (one a line, like a
compiler, so editors can jump to it) and exits 1 if there is any; a path that does not
exist is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sigscope.commands._common import EXIT_USAGE
from sigscope.paths import LESSONS_ENV as ENV

if TYPE_CHECKING:
    from sigscope.course.problems import Problem

# The lessons (sigscope.course) are imported when a command runs, not when the parser is built:
# the dashboard's start-up does not wait for them (issue 14).

EXIT_PROBLEMS = 1


def add_parser(sub: Any) -> None:
    """Add the ``lessons`` subcommand to the ``sigscope`` parser's subparsers."""
    parser = sub.add_parser(
        "lessons",
        help="list the lessons and your progress; --check validates lesson files",
        description="List the lessons with your progress, or check lesson files (--check): "
        "every problem is printed as file:line: message, and the exit status is 1 if "
        f"there is any. The lessons come from --lessons-dir, else ${ENV}, else the ones "
        "that ship with sigscope.",
    )
    parser.add_argument(
        "--check",
        nargs="*",
        metavar="PATH",
        help="check these lesson files or folders (default: the lessons folder)",
    )
    add_lessons_dir_option(parser)


def add_lessons_dir_option(parser: argparse.ArgumentParser) -> None:
    """``--lessons-dir``, for every command that finds lessons (``lessons``, ``lesson``,
    ``demo``)."""
    parser.add_argument(
        "--lessons-dir",
        metavar="DIR",
        help=f"a folder of lesson files (default: ${ENV}, else the bundled lessons)",
    )


def run(args: argparse.Namespace) -> int:
    from sigscope.course.catalog import LessonFolderError, lessons_dir

    folder = lessons_dir(args.lessons_dir)
    try:
        if args.check is not None:
            return check_paths(args.check or [folder])
        if not os.path.isdir(folder):  # (Path.is_dir raises for a name too long or EACCES)
            print(f"sigscope lessons: error: no lessons folder {str(folder)!r}", file=sys.stderr)
            return EXIT_USAGE
        return list_lessons(folder)
    except LessonFolderError as e:
        print(f"sigscope lessons: error: {e}", file=sys.stderr)
        return EXIT_USAGE


def check_paths(paths: list[str] | list[Path]) -> int:
    """Check every lesson file under ``paths``; print each problem; 1 if any, 2 if a path is
    missing."""
    from sigscope.course.catalog import lesson_files, printable
    from sigscope.course.lesson import load_lesson
    from sigscope.course.problems import LessonInvalid

    for p in paths:
        if not os.path.exists(p):  # (Path.exists raises for a name too long or EACCES)
            print(
                f"sigscope lessons: error: no such file or folder: {printable(str(p))}",
                file=sys.stderr,
            )
            return EXIT_USAGE
    files = lesson_files(paths)
    problems: list[Problem] = []
    bad_files = 0
    for f in files:
        try:
            load_lesson(f)
        except LessonInvalid as e:
            bad_files += 1
            problems.extend(e.problems)
    for problem in problems:
        print(problem)
    if not files:
        print(
            "sigscope lessons: no lesson files (*.toml) in "
            + ", ".join(printable(str(p)) for p in paths),
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    if problems:
        print(
            f"{len(problems)} problem{'s' * (len(problems) != 1)} in {bad_files} of "
            f"{len(files)} lesson file{'s' * (len(files) != 1)}",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    print(f"{len(files)} lesson file{'s' * (len(files) != 1)} OK", file=sys.stderr)
    return 0


def list_lessons(folder: Path) -> int:
    """One line per lesson: id, steps done of the checked ones, title."""
    from sigscope.course.catalog import lesson_index, printable

    entries = lesson_index(folder)
    if not entries:
        print(f"no lessons in {folder}")
        return 0
    width = max(len(e.name) for e in entries)
    for e in entries:  # names and titles printable only: a lesson file must not drive the tty
        if e.lesson is None:
            print(
                f"{e.name:<{width}}  (invalid: {len(e.problems)} problem(s); "
                f"see sigscope lessons --check {printable(str(e.path))})"
            )
            continue
        mark = "✓" if e.checked and e.done == e.checked else ("…" if e.done else " ")
        print(f"{e.name:<{width}}  {mark} {e.done:>2}/{e.checked:<2}  {e.title}")
    return 0

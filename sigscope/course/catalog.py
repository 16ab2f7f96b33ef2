"""Where lessons are found: a teacher's folder (``--lessons-dir`` or ``$SIGSCOPE_LESSONS``),
else the lessons that ship with sigscope."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sigscope.course.lesson import Lesson, load_lesson
from sigscope.course.problems import LessonInvalid, Problem
from sigscope.course.progress import LessonProgress, ProgressStore, find_saved
from sigscope.numbers import is_int
from sigscope.paths import LESSONS_ENV, bundled_lessons

ENV = LESSONS_ENV


def lessons_dir(option: str | Path | None = None) -> Path:
    """The folder of lessons: the option, else ``$SIGSCOPE_LESSONS``, else the bundled one."""
    if option:
        return Path(option)
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    return bundled_lessons()


def lesson_files(paths: Iterable[str | Path]) -> list[Path]:
    """Lesson files among ``paths``: a folder stands for its ``*.toml`` files, in name order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if os.path.isdir(p):  # (Path.is_dir raises for a name too long or EACCES)
            try:
                names = sorted(p.iterdir())
            except OSError as e:
                raise LessonFolderError(f"cannot read folder {str(p)!r}: {e.strerror}") from None
            out.extend(f for f in names if f.suffix == ".toml" and f.is_file())
        else:
            out.append(p)
    return out


class LessonFolderError(OSError):
    """A lessons folder that cannot be listed; the message is fit to show a user."""


def find_lesson(name: str, folder: Path) -> Path | None:
    """A lesson by file name, id (``01-kill-and-default-actions``), number (``1``) or the id
    without its number (``kill-and-default-actions``)."""
    try:
        files = lesson_files([folder]) if os.path.isdir(folder) else []
    except LessonFolderError:
        return None
    wanted = name.strip().removesuffix(".toml")
    for f in files:
        stem = f.stem
        number, _, rest = stem.partition("-")
        if wanted in (stem, rest) or (
            is_int(wanted) and is_int(number) and int(wanted) == int(number)
        ):
            return f
    return None


@dataclass(frozen=True)
class LessonEntry:
    """One lesson as a picker or ``sigscope lessons`` shows it: loaded, or why it is not."""

    path: Path
    lesson: Lesson | None
    problems: tuple[Problem, ...] = ()
    checked: int = 0  # steps the lab checks
    done: int = 0  # of those, done (saved progress)

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def title(self) -> str:
        """The title, without control characters (a lesson file must not drive the terminal)."""
        return printable(self.lesson.title if self.lesson else "")

    @property
    def summary(self) -> str:
        """The summary's first paragraph as one line, without control characters."""
        raw = self.lesson.summary if self.lesson else ""
        return printable(" ".join(raw.split("\n\n", 1)[0].split()))

    @property
    def name(self) -> str:
        """The file's id, fit to print: a file name may hold any byte but "/" and NUL."""
        return printable(self.id)


def printable(text: str) -> str:
    """``text`` with every control character (escape sequences, newlines) made a space."""
    return "".join(c if c.isprintable() else " " for c in text)


def lesson_index(folder: Path, store: ProgressStore | None = None) -> list[LessonEntry]:
    """Every lesson file of ``folder`` in order, with its saved progress; broken files are
    entries too (with their problems), so that a picker can show why one cannot be opened.

    Raises:
        LessonFolderError: the folder cannot be listed.
    """
    store = store or ProgressStore()
    saved = store.raw()
    entries = []
    for f in lesson_files([folder]):
        try:
            lesson = load_lesson(f)
        except LessonInvalid as e:
            entries.append(LessonEntry(f, None, tuple(e.problems)))
            continue
        checked = [i for i, s in enumerate(lesson.steps) if s.checked]
        found = find_saved(saved, lesson.id, lesson.renamed_from)
        progress = None if found is None else LessonProgress.from_json(found)
        done = sum(1 for i in checked if progress is not None and i in progress.done)
        entries.append(LessonEntry(f, lesson, (), len(checked), done))
    return entries


class LessonNotFound(Exception):
    """No lesson by that name: the message names a few that exist and fits on one line."""


def resolve_lesson(name: str, folder: Path) -> Lesson:
    """The lesson called ``name`` in ``folder`` (file name, id, number or id without number).

    Raises:
        LessonNotFound: with a message that fits on one line.
        LessonInvalid: the file exists but is broken.
    """
    path = find_lesson(name, folder)
    if path is None:
        try:
            names = [f.stem for f in lesson_files([folder])] if os.path.isdir(folder) else []
        except LessonFolderError:
            names = []
        some = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
        where = f"; try one of: {some}" if names else f" (no lessons in {folder})"
        raise LessonNotFound(f"no lesson {name!r}{where} (sigscope lessons lists them)")
    return load_lesson(path)


def lookup_problem(error: LessonNotFound | LessonInvalid) -> str:
    """What :func:`resolve_lesson` raised, as one line to show a user (no program name)."""
    if isinstance(error, LessonInvalid):
        first = error.problems[0] if error.problems else "invalid lesson"
        return f"{first} (see sigscope lessons --check)"
    return str(error)

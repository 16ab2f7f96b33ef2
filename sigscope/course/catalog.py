"""Where lessons are found: a teacher's folder (``--lessons-dir`` or ``$SIGSCOPE_LESSONS``),
else the lessons that ship with sigscope."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sigscope.paths import bundled_lessons

ENV = "SIGSCOPE_LESSONS"


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
        if p.is_dir():
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
        files = lesson_files([folder]) if folder.is_dir() else []
    except LessonFolderError:
        return None
    wanted = name.strip().removesuffix(".toml")
    for f in files:
        stem = f.stem
        number, _, rest = stem.partition("-")
        if wanted in (stem, rest) or (
            wanted.isdigit() and number.isdigit() and int(wanted) == int(number)
        ):
            return f
    return None

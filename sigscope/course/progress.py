"""Progress through lessons, kept as JSON in the user's state directory (XDG).

One small file, ``$XDG_STATE_HOME/sigscope/progress.json``, maps a lesson's id (its file
name without ``.toml``) to the steps done and the step the learner was on. A missing or
damaged file is an empty record, never an error: progress is a convenience.

A lesson renamed (renumbered) names its earlier ids in ``renamed_from``: progress saved under
one of them is found, and saved again under the new id.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigscope.numbers import is_int
from sigscope.paths import state_dir

VERSION = 1
MAX_BYTES = 4 * 1024 * 1024  # far more than any learner's progress; more is damage


@dataclass
class LessonProgress:
    done: set[int] = field(default_factory=set)
    current: int = 0
    hints: dict[int, int] = field(default_factory=dict)  # step -> hints revealed

    def to_json(self) -> dict[str, Any]:
        return {
            "done": sorted(self.done),
            "current": self.current,
            "hints": {str(k): v for k, v in sorted(self.hints.items())},
        }

    @classmethod
    def from_json(cls, raw: Any) -> LessonProgress:
        if not isinstance(raw, dict):
            return cls()
        done_raw = raw.get("done", [])
        if not isinstance(done_raw, list):
            done_raw = []
        done = {
            i
            for i in done_raw[:10_000]
            if isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 10_000
        }
        current = raw.get("current", 0)
        hints_raw = raw.get("hints", {})
        hints = {}
        if isinstance(hints_raw, dict):
            for k, v in hints_raw.items():
                if is_int(str(k)) and isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                    hints[int(k)] = v
        if isinstance(current, bool) or not isinstance(current, int) or current < 0:
            current = 0
        return cls(done, current, hints)


class ProgressStore:
    """Reads and writes ``progress.json``; each save replaces the file atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else state_dir() / "progress.json"

    def _read(self) -> dict[str, Any]:
        try:
            if not self.path.is_file():  # a FIFO planted there would block the read
                return {}
            with open(self.path, "rb") as f:
                text = f.read(MAX_BYTES + 1)
            if len(text) > MAX_BYTES:
                return {}
            data = json.loads(text)
        except (OSError, ValueError, RecursionError):
            return {}
        lessons = data.get("lessons") if isinstance(data, dict) else None
        return lessons if isinstance(lessons, dict) else {}

    def raw(self) -> dict[str, Any]:
        """Every lesson's saved entry, as read (see :func:`find_saved`)."""
        return self._read()

    def load(self, lesson_id: str, renamed_from: Iterable[str] = ()) -> LessonProgress:
        """The progress saved under ``lesson_id``, else under the newest of its old ids."""
        return LessonProgress.from_json(find_saved(self._read(), lesson_id, renamed_from))

    def all(self) -> dict[str, LessonProgress]:
        return {k: LessonProgress.from_json(v) for k, v in self._read().items()}

    def save(
        self, lesson_id: str, progress: LessonProgress, renamed_from: Iterable[str] = ()
    ) -> None:
        """Save under ``lesson_id``; the entries under its old ids are dropped (they are this
        lesson's, and another lesson may take an old id later)."""
        lessons = self._read()
        for old in renamed_from:
            lessons.pop(old, None)
        lessons[lesson_id] = progress.to_json()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"version": VERSION, "lessons": lessons}, f, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def find_saved(saved: dict[str, Any], lesson_id: str, renamed_from: Iterable[str] = ()) -> Any:
    """The entry of ``saved`` for a lesson: under its id, else under an id it had before
    (the last one listed in ``renamed_from`` is taken as the most recent)."""
    if lesson_id in saved:
        return saved[lesson_id]
    for old in reversed(list(renamed_from)):
        if old in saved:
            return saved[old]
    return None

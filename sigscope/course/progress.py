"""Progress through lessons, kept as JSON in the user's state directory (XDG).

One small file, ``$XDG_STATE_HOME/sigscope/progress.json``, maps a lesson's id (its file
name without ``.toml``) to the steps done and the step the learner was on. A missing or
damaged file is an empty record, never an error: progress is a convenience.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigscope.paths import state_dir

VERSION = 1


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
        done = {i for i in raw.get("done", []) if isinstance(i, int) and not isinstance(i, bool)}
        current = raw.get("current", 0)
        hints_raw = raw.get("hints", {})
        hints = {}
        if isinstance(hints_raw, dict):
            for k, v in hints_raw.items():
                if str(k).isdigit() and isinstance(v, int) and v >= 0:
                    hints[int(k)] = v
        return cls(done, current if isinstance(current, int) and current >= 0 else 0, hints)


class ProgressStore:
    """Reads and writes ``progress.json``; each save replaces the file atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else state_dir() / "progress.json"

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        lessons = data.get("lessons") if isinstance(data, dict) else None
        return lessons if isinstance(lessons, dict) else {}

    def load(self, lesson_id: str) -> LessonProgress:
        return LessonProgress.from_json(self._read().get(lesson_id))

    def all(self) -> dict[str, LessonProgress]:
        return {k: LessonProgress.from_json(v) for k, v in self._read().items()}

    def save(self, lesson_id: str, progress: LessonProgress) -> None:
        lessons = self._read()
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

"""Where sigscope finds its files, installed or run from a source checkout."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
LESSONS_ENV = "SIGSCOPE_LESSONS"  # a teacher's folder of lessons (sigscope.course.catalog)


def bundled_lessons() -> Path:
    """The lessons that ship with sigscope.

    A wheel carries the top-level ``lessons/`` folder as ``sigscope/lessons``; an editable
    install or a source checkout has it beside the package.
    """
    inside = PACKAGE / "lessons"
    if inside.is_dir():
        return inside
    return PACKAGE.parent / "lessons"


def state_dir() -> Path:
    """Where progress is kept: ``$XDG_STATE_HOME/sigscope`` (default ~/.local/state/sigscope)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "sigscope"

"""Lessons: TOML files → steps whose expectations are checked against the live lab.

No Textual here: the CLI, the tests and the dashboard's lesson pane all use these objects.
"""

from __future__ import annotations

from sigscope.course.catalog import (
    LessonEntry,
    LessonFolderError,
    find_lesson,
    lesson_files,
    lesson_index,
    lessons_dir,
)
from sigscope.course.lesson import LabSetup, Lesson, Step, load_lesson, parse_lesson
from sigscope.course.problems import LessonInvalid, Problem
from sigscope.course.progress import LessonProgress, ProgressStore
from sigscope.course.run import LessonRun, ShowMeFailed

__all__ = [
    "LabSetup",
    "Lesson",
    "LessonEntry",
    "LessonFolderError",
    "LessonInvalid",
    "LessonProgress",
    "LessonRun",
    "Problem",
    "ProgressStore",
    "ShowMeFailed",
    "Step",
    "find_lesson",
    "lesson_files",
    "lesson_index",
    "lessons_dir",
    "load_lesson",
    "parse_lesson",
]

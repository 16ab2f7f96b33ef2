"""The trace controller's role was renamed from ``ui`` to ``controller`` (issue 13): a lesson
written with the old name still compiles, to the new one, and other unknown roles are refused."""

from __future__ import annotations

import pytest

from sigscope.course.predicates import compile_predicate
from sigscope.course.problems import SpecError


def test_a_lesson_that_says_role_ui_means_the_controller() -> None:
    old = compile_predicate({"sent": "SIGTERM", "role": "ui"})
    new = compile_predicate({"sent": "SIGTERM", "role": "controller"})
    assert old.role == new.role == "controller"  # type: ignore[attr-defined]
    assert str(old) == str(new)


def test_an_unknown_role_is_still_refused() -> None:
    with pytest.raises(SpecError, match="role must be one of"):
        compile_predicate({"sent": "SIGTERM", "role": "browser"})

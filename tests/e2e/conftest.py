"""Fixtures of the end-to-end tier."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.e2e.test_e2e_terminal import Terminal


@pytest.fixture
def terminal() -> Iterator[Callable[[list[str]], Terminal]]:
    """Start commands in real terminals (tmux, each its own server); all closed afterwards."""
    made: list[Terminal] = []

    def make(command: list[str]) -> Terminal:
        term = Terminal(command)
        made.append(term)
        return term

    yield make
    for term in made:
        term.close()

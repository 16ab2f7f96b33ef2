"""``sigscope lessons`` as a teacher runs it (the installed entry point, in a subprocess): exit
statuses, and hostile file names and titles that never reach the terminal as escapes. The
checker itself, called in-process, is tests/unit/test_lessons_check.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sigscope.course import ProgressStore
from tests.unit.test_lessons_check import BROKEN, EXPECTED, GOOD_TEXT


def test_installed_command_exit_status() -> None:
    """The real `sigscope` entry point, as a teacher would run it."""
    bad = subprocess.run(
        [sys.executable, "-m", "sigscope", "lessons", "--check", str(BROKEN)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert len(bad.stdout.splitlines()) == len(EXPECTED)
    usage = subprocess.run(
        [sys.executable, "-m", "sigscope", "lessons", "--chekc"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr


def test_hostile_names_and_titles_never_reach_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lesson file named with an escape sequence, and a title with one and with Rich markup:
    `sigscope lessons`, `--check` and the picker's lines show them inert."""
    from sigscope.course import lesson_index
    from sigscope.ui.screens.lesson_picker import entry_label

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = tmp_path / "course"
    folder.mkdir()
    title = "[bold red]Loud[/bold red] \\u001b]0;pwned\\u0007 \\u001b[2J"
    (folder / "01-\x1b[31mred.toml").write_text(
        GOOD_TEXT.replace('title = "A good lesson"', f'title = "{title}"')
    )
    (folder / "02-\x1b[2Jbroken.toml").write_text('title = "x"\n')
    for args in (["lessons", "--lessons-dir", str(folder)], ["lessons", "--check", str(folder)]):
        done = subprocess.run(
            [sys.executable, "-m", "sigscope", *args], capture_output=True, text=True, timeout=60
        )
        assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout, args
        assert "Traceback" not in done.stderr
        assert "broken" in done.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "sigscope", "lessons", "--lessons-dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "[bold red]Loud[/bold red]" in listing  # shown as written, not as markup
    entries = lesson_index(folder, ProgressStore(tmp_path / "p.json"))
    for entry in entries:
        label = entry_label(entry, 20)
        assert "\x1b" not in label.plain and "\x07" not in label.plain
    assert "[bold red]Loud[/bold red]" in entry_label(entries[0], 20).plain

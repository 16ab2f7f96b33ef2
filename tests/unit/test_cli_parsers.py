"""The ``sigscope`` command line as assembled from :mod:`sigscope.commands` (issue 13).

- every command module builds its parser on its own, and ``cli`` assembles them all, in the
  order ``sigscope --help`` has always listed them (design.md "Contracts");
- ``--help`` of ``sigscope`` and of each command exits 0 and describes that command;
- bad input is one line on stderr and exit status 2: in-process for many cases, and through the
  real command (a subprocess) for a few, where a traceback or usage block would show;
- lesson lookup fails before Textual is even imported (it lives in ``course/catalog.py`` now).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigscope import cli
from sigscope.commands import _common, dashboard
from sigscope.commands._common import Parser
from sigscope.course.catalog import LessonNotFound, lookup_problem, resolve_lesson
from sigscope.course.problems import LessonInvalid

# design.md "Contracts": the commands, in the order `sigscope --help` lists them.
CONTRACT = ["trace", "lessons", "serve", "attach", "replay", "lesson", "demo"]
ROOT = Path(__file__).resolve().parents[2]


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``sigscope ARGV`` in this process: (exit status, stdout, stderr)."""
    try:
        status = cli.main(argv)
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def test_the_commands_are_the_contract_in_order() -> None:
    assert list(cli.COMMANDS) == CONTRACT
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == CONTRACT
    for name, module in cli.COMMANDS.items():
        assert module.__name__ == f"sigscope.commands.{name}", (name, module)


@pytest.mark.parametrize("name", CONTRACT)
def test_each_command_builds_its_parser_alone(name: str) -> None:
    """A command's add_parser needs nothing but a subparsers action: no order, no other
    command, and its parser errs in one line like the rest."""
    top = Parser(prog="sigscope")
    sub = top.add_subparsers(dest="command", parser_class=Parser)
    cli.COMMANDS[name].add_parser(sub)
    assert list(sub.choices) == [name]
    parser = sub.choices[name]
    assert isinstance(parser, Parser)
    assert parser.prog == f"sigscope {name}"
    assert parser.description, f"{name} has no description for its --help"
    assert callable(cli.COMMANDS[name].run)


def test_the_dashboard_options_are_the_top_level_parser() -> None:
    parser = Parser(prog="sigscope")
    dashboard.add_options(parser)
    args = parser.parse_args(["--workers", "3", "--behaviour", "stubborn", "--record", "x"])
    assert (args.workers, args.behaviour[0], args.record) == (3, "stubborn", "x")
    assert (args.reaping, args.grace) == ("handler", 5.0)


@pytest.mark.parametrize("argv", [[]] + [[name] for name in CONTRACT])
def test_help_exits_0_and_describes_the_command(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_main([*argv, "--help"], capsys)
    assert status == 0 and err == ""
    prog = " ".join(["sigscope", *argv])
    assert out.startswith(f"usage: {prog} "), out[:200]
    if not argv:  # the top level lists every command with its one-line help
        for name in CONTRACT:
            assert f"    {name} " in out, name


def test_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    from sigscope import __version__

    status, out, _ = run_main(["--version"], capsys)
    assert (status, out) == (0, f"sigscope {__version__}\n")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--bogus"], "sigscope: error: unrecognized arguments: --bogus (see sigscope --help)"),
        (
            ["nope"],
            "sigscope: error: argument COMMAND: invalid choice: 'nope' (choose from "
            + ", ".join(repr(n) for n in CONTRACT)
            + ") (see sigscope --help)",
        ),
        (
            ["--workers", "-1"],
            "sigscope: error: argument --workers: -1 workers: choose from 0 to 512 "
            "(see sigscope --help)",
        ),
        (
            ["trace", "--workers", "x"],
            "sigscope trace: error: argument --workers: 'x' is not a whole number "
            "(see sigscope trace --help)",
        ),
        (
            ["trace", "--duration", "-1"],
            "sigscope trace: error: argument --duration: '-1': seconds must be 0 or more "
            "(see sigscope trace --help)",
        ),
        (
            ["trace", "--reaping", "x"],
            "sigscope trace: error: argument --reaping: invalid choice: 'x' (choose from "
            "'handler', 'off', 'ignore') (see sigscope trace --help)",
        ),
        (["trace", "--run", "x"], "sigscope trace: error: --run needs --behaviour playground"),
        (
            ["attach", "x"],
            "sigscope attach: error: argument PID: 'x' is not a pid (a whole number) "
            "(see sigscope attach --help)",
        ),
        (
            ["attach", "1"],
            "sigscope attach: error: pid 1 is off-limits: sigscope never attaches to init or below",
        ),
        (
            ["replay", "f", "--speed", "0"],
            "sigscope replay: error: argument --speed: speed 0 is out of range (0.1 to 100) "
            "(see sigscope replay --help)",
        ),
        (
            ["demo", "1", "--speed", "0"],
            "sigscope demo: error: argument --speed: '0': the speed must be above 0, at most "
            "100 (see sigscope demo --help)",
        ),
        (
            ["demo"],
            "sigscope demo: error: the following arguments are required: NAME "
            "(see sigscope demo --help)",
        ),
        (
            ["lessons", "--check", "/nonexistent-h13"],
            "sigscope lessons: error: no such file or folder: /nonexistent-h13",
        ),
        (
            ["lesson", "--lessons-dir", "/nonexistent-h13"],
            "sigscope lesson: error: no lessons folder '/nonexistent-h13'",
        ),
        (
            ["demo", "1", "--lessons-dir", "/nonexistent-h13"],
            "sigscope demo: error: no lessons folder '/nonexistent-h13'",
        ),
        (
            ["serve", "--port", "x"],
            "sigscope serve: error: argument --port: a port must be a whole number "
            "(digits 0-9), not x (see sigscope serve --help)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIGSCOPE_MAX_WORKERS", raising=False)
    status, out, err = run_main(argv, capsys)
    assert (status, out, err) == (2, "", line + "\n")


@pytest.mark.parametrize("argv", [["lesson", "1"], ["demo", "1"], ["trace"], []])
def test_a_bad_worker_cap_is_refused_before_anything_starts(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGSCOPE_MAX_WORKERS", "lots")
    status, out, err = run_main(argv, capsys)
    assert (status, out) == (2, "")
    assert err == (
        "sigscope: error: SIGSCOPE_MAX_WORKERS must be a whole number (digits 0-9), not lots\n"
    )


def test_unwritable_says_why_in_words(tmp_path: Path) -> None:
    assert _common.unwritable(str(tmp_path / "new.jsonl")) is None
    assert _common.unwritable(str(tmp_path)) == "it is a folder"
    assert _common.unwritable(str(tmp_path / "no" / "x")) == "No such file or directory"
    (tmp_path / "link").symlink_to(tmp_path / "new.jsonl")
    assert "symbolic link" in (_common.unwritable(str(tmp_path / "link")) or "")
    assert _common.unwritable("/dev/null") == "it is not a regular file"


# -- lesson lookup (course/catalog.py) -----------------------------------------------------------


def test_lesson_lookup_by_number_id_and_name(tmp_path: Path) -> None:
    from sigscope.paths import bundled_lessons

    folder = bundled_lessons()
    first = sorted(folder.glob("01-*.toml"))[0]
    for name in ("1", "01", first.stem, first.name, first.stem.partition("-")[2]):
        assert resolve_lesson(name, folder).id == first.stem, name
    with pytest.raises(LessonNotFound) as e:
        resolve_lesson("no-such-lesson", folder)
    message = lookup_problem(e.value)
    assert message.startswith(f"no lesson 'no-such-lesson'; try one of: {first.stem}, ")
    assert message.endswith(" (sigscope lessons lists them)") and "\n" not in message
    with pytest.raises(LessonNotFound) as e:
        resolve_lesson("x", tmp_path)
    assert lookup_problem(e.value) == (
        f"no lesson 'x' (no lessons in {tmp_path}) (sigscope lessons lists them)"
    )


def test_a_broken_lesson_is_its_first_problem_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "01-broken.toml").write_text('title = "x"\n[[step\n')
    with pytest.raises(LessonInvalid) as e:
        resolve_lesson("1", tmp_path)
    message = lookup_problem(e.value)
    assert message.startswith(str(tmp_path / "01-broken.toml"))
    assert message.endswith(" (see sigscope lessons --check)") and "\n" not in message


# -- through the real command ---------------------------------------------------------------------


def sigscope(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SIGSCOPE_MAX_WORKERS"}
    return subprocess.run(
        [sys.executable, "-m", "sigscope", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        (["--bogus"], "sigscope: error: unrecognized arguments: --bogus"),
        (["trace", "--bogus", "1"], "sigscope: error: unrecognized arguments: --bogus 1"),
        (["lessons", "--check", "--nope"], "sigscope: error: unrecognized arguments: --nope"),
        (["replay"], "sigscope replay: error: the following arguments are required: FILE"),
        (["attach", "--strace"], "sigscope attach: error: the following arguments are required"),
        (["serve", "--max-connections"], "sigscope serve: error: argument --max-connections"),
    ],
)
def test_the_command_says_bad_options_in_one_line(argv: list[str], start: str) -> None:
    done = sigscope(*argv)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.startswith(start) and done.stderr.count("\n") == 1, done.stderr


def test_an_unknown_lesson_fails_before_textual_is_imported() -> None:
    """Lookup is in course/: `sigscope lesson NAME` with a bad NAME answers without loading the
    UI (quick, and proof that the command does not need ui/ to find a lesson)."""
    code = (
        "import sys\n"
        "from sigscope.cli import main\n"
        "status = main(['lesson', 'no-such-lesson'])\n"
        "print(status, 'textual' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.stdout == "2 False\n", done
    assert done.stderr.startswith("sigscope lesson: error: no lesson 'no-such-lesson'; try one")
    assert done.stderr.count("\n") == 1

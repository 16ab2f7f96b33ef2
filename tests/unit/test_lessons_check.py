"""`sigscope lessons --check` on a folder of deliberately broken lessons: every kind of mistake,
each reported as ``file:line: message`` with the right line, and the right exit status.

Also: hostile files (too large, not UTF-8, not a regular file) are refused with one line, the
listing shows progress, and a teacher's folder is found through --lessons-dir and
$SIGSCOPE_LESSONS.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from sigscope.cli import main
from sigscope.course import (
    LessonInvalid,
    LessonProgress,
    ProgressStore,
    load_lesson,
    parse_lesson,
)
from sigscope.course.actions import KINDS as ACTIONS
from sigscope.course.lesson import MAX_BYTES
from sigscope.lab.behaviours import BEHAVIOURS
from sigscope.signames import RTMAX, RTMIN

BROKEN = Path(__file__).parents[1] / "data" / "broken_lessons"
REPO = Path(__file__).resolve().parents[2]
# A lesson that uses every kind of step (kept here, not in lessons/: the bundled lessons are
# checked by the solutions test, and this one must not change when they are rewritten).
GOOD_TEXT = """\
title = "A good lesson"
summary = "SIGKILL cannot be caught."
sources = ["signal(7)", "TLPI §20.2"]
renamed_from = ["07-old-name"]

[lab]
workers = 1

[[steps]]
title = "Reading"
text = "A reading step: nothing to check."
sources = ["signal(7) \\"Standard signals\\""]

[[steps]]
text = "Send SIGTERM to worker 0."
sources = ["kill(2)", "PEP 475", "Python docs: signal.signal"]
panels = ["tree"]
expect = { reaped = { sig = "SIGTERM", worker = 0 } }
missed = { when = { reaped = { sig = "SIGKILL" } }, text = "That was SIGKILL; try SIGTERM." }
hints = ["Which signal asks politely?"]
solution = [{ send = "TERM@worker:0" }]

[[steps]]
text = "What will $? be for a SIGKILL?"
sources = ["bash(1) \\"EXIT STATUS\\"", "https://docs.python.org/3/library/os.html"]
predict = "What will a shell's $? show?"
expect = { reaped = { sig = "SIGKILL" } }
answer = "shell_code"
hints = ["128 + N."]
solution = [{ predict = "137" }, { send = "KILL@worker:0" }]

[[steps]]
text = "How did it end?"
sources = ["waitpid(2)", "gunicorn docs: signals", "sigscope: sigscope/lab/master.py"]
question = "How did the last worker end?"
answer = "how"
hints = ["It did not exit by itself."]
solution = [{ answer = "signalled" }]
"""


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good" / "01-good.toml"
    path.parent.mkdir()
    path.write_text(GOOD_TEXT)
    return path


KNOWN = ", ".join(sorted(BEHAVIOURS))
PREDICATES = (
    "received, sent, reaped, spawned, exited, stopped, continued, event, foreground, group, "
    "state, pending, blocked, ignored, caught, live_workers, reaping, wakeups, all, any, not"
)

EXPECTED = [
    "bad-signal.toml:9: bad signal name 'SIGFOO': unknown signal 'SIGFOO' "
    "(e.g. TERM, SIGUSR1, RTMIN+2, 15)",
    "bad-signal.toml:11: bad signal name 'RTMIN+99': 'RTMIN+99' is out of range: real-time "
    f"signals are RTMIN+0 to RTMIN+{RTMAX - RTMIN}",
    "bad-target.toml:7: bad target: worker must be an index 0-511, not 'zero'",
    "bad-target.toml:9: bad target 'workr:0' (master, worker, or worker:N) in 'TERM@workr:0'",
    "deep-nesting.toml:2: values nest too deeply",
    "deep-predicates.toml:7: predicates nest too deeply (more than 8 levels)",
    "missing-solution.toml:4: missing solution: step 1 is checked, so it needs solution = [...]",
    'missing-solution.toml:14: the solution of a question must include {answer = "..."}',
    'missing-text.toml:4: missing text: step 1 needs text = "..."',
    "missing-text.toml:11: text is empty: step 2 needs something to say",
    "new-keys.toml:3: unknown source form 'the internet' (forms: name(N) [text] for a man page; "
    "TLPI §N.N or TLPI ch. N; PEP N; Python docs: TEXT or https://docs.python.org/3/...; "
    "PROGRAM docs: TEXT; tests/test_lesson_facts.py::test_name; sigscope: PATH)",
    'new-keys.toml:4: renamed_from must be a list of up to 20 lesson ids, e.g. ["03-pause"]',
    "new-keys.toml:6: step 1 makes claims but names no sources",
    "new-keys.toml:14: step 2 makes claims but names no sources",
    "new-keys.toml:19: missing answer: a prediction is compared with answer = ... "
    "(what the lab shows)",
    "new-keys.toml:19: a prediction needs expect = {...}: what the lab must show before it is "
    "compared",
    'new-keys.toml:29: the solution of a prediction must begin with {predict = "..."} (and have '
    "only that one): what show me types before it acts",
    "new-keys.toml:34: unknown panel 'graph' (panels: terminal, session, tree, chart, events, "
    "dispositions, timers, master)",
    f"new-keys.toml:36: unknown predicate 'recieved' (known: {PREDICATES})",
    'new-keys.toml:38: a {predict = "..."} action needs predict = "..." in the same step',
    "new-keys.toml:45: missed applies to a step with expect = {...}",
    "new-keys.toml:53: missed wants an event predicate in when (a state never ends)",
    "no-terminal.toml:10: the foreground predicate needs a terminal: add terminal = true to [lab]",
    "no-terminal.toml:10: role 'job' needs a terminal: add terminal = true to [lab]",
    "no-terminal.toml:12: a type action needs a terminal: add terminal = true to [lab]",
    "no-terminal.toml:12: a hangup action needs a terminal: add terminal = true to [lab]",
    'no-title-no-steps.toml:1: missing title: a lesson needs title = "..."',
    "no-title-no-steps.toml:1: missing steps: a lesson needs at least one [[steps]] table",
    "no-title-no-steps.toml:3: unknown key 'author' "
    "(known: title, summary, sources, renamed_from, lab, steps)",
    "over-caps.toml:4: this lesson may have 446464004 processes alive at once (the master, its "
    "workers, what they fork, every spawn); a lesson may have 128",
    "over-caps.toml:4: this lesson's workers may allocate 1536 MiB together (busy-c buffers, "
    "every spawn counted); a lesson may use 512 MiB",
    "over-caps.toml:7: orphan-maker: parameter 'count' is 1000; a lesson may ask for 1 to 16",
    "over-caps.toml:10: busy-c: parameter 'mb' is 1024; a lesson may ask for 1 to 256",
    "over-caps.toml:23: alarm: parameter 'seconds' is 3600; a lesson may ask for 1 to 60",
    # tomllib's wording is Python's; the line is what matters (checked exactly below)
    "syntax-error.toml:5: TOML syntax error: *",
    "terminal-keys.toml:5: terminal must be true or false, not 'yes'",
    'terminal-keys.toml:10: foreground must be "job" (a job got the terminal) or "shell" (the '
    "shell got it back), not 'jobs'",
    "terminal-keys.toml:17: group has no field 'size' (fields: new, gone, members)",
    "terminal-keys.toml:19: hangup wants true, not 1",
    "terminal-keys.toml:26: type has control or hiding characters (U+0003): write keys as ^C, "
    "^Z, ^D, \\n",
    "terminal-keys.toml:26: 'ls\\\\q': unknown escape \\q (\\n \\r \\t \\\\ \\^ \\e)",
    f"unknown-behaviour.toml:6: unknown behaviour 'sleepy' (known: {KNOWN})",
    "unknown-behaviour.toml:10: idle: unknown parameter 'colour' (parameters: none)",
    f"unknown-behaviour.toml:15: unknown behaviour 'dozing' (known: {KNOWN})",
    f"unknown-behaviour.toml:16: unknown behaviour 'dozing' (known: {KNOWN})",
    f"unknown-predicate.toml:7: unknown predicate 'recieved' (known: {PREDICATES})",
    "wrong-types.toml:1: title must be a non-empty string, not a number",
    "wrong-types.toml:5: workers must be a whole number 0-64, not 'two'",
    "wrong-types.toml:6: reaping must be one of handler, off, ignore, not 'sometimes'",
    "wrong-types.toml:7: grace must be seconds from 0 to 60, not -1",
    'wrong-types.toml:12: an expectation must be a table like {received = "SIGTERM"}, not 5',
    "wrong-types.toml:13: hints must be a list of non-empty strings",
    "wrong-types.toml:14: solution must be a non-empty list of actions, "
    'e.g. [{send = "TERM@worker:0"}]',
    "wrong-types.toml:20: unknown answer source 'how_many' (known: shell_code, exitcode, "
    "signal, status, how, live_workers, reaping, or a table: {count = {...}}, {value = ...})",
    "wrong-types.toml:21: answer wants a string, a number or true, not ['a', 'list']",
    f"wrong-types.toml:21: unknown action 'fly' (known: {', '.join(ACTIONS)})",
    "wrong-types.toml:21: wait wants seconds from 0 to 30, not -3",
]


def same_lines(got: list[str], expected: list[str]) -> None:
    assert len(got) == len(expected), "\n".join(got)
    for line, want in zip(got, expected, strict=True):
        if want.endswith("*"):
            assert line.startswith(want[:-1]), line
        else:
            assert line == want


def test_every_problem_with_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "--check", str(BROKEN)]) == 1
    out, err = capsys.readouterr()
    prefix = f"{BROKEN}/"
    lines = out.splitlines()
    assert all(line.startswith(prefix) for line in lines)
    same_lines([line.removeprefix(prefix) for line in lines], EXPECTED)
    files = len(list(BROKEN.glob("*.toml")))
    assert err.strip() == f"{len(EXPECTED)} problems in {files} of {files} lesson files"


def test_syntax_error_line_and_column(capsys: pytest.CaptureFixture[str]) -> None:
    path = BROKEN / "syntax-error.toml"
    assert main(["lessons", "--check", str(path)]) == 1
    out = capsys.readouterr().out.strip()
    assert re.fullmatch(rf"{re.escape(str(path))}:5: TOML syntax error: .+ \(column 33\)", out)


def test_each_file_alone_gives_its_own_lines(capsys: pytest.CaptureFixture[str]) -> None:
    for path in sorted(BROKEN.glob("*.toml")):
        assert main(["lessons", "--check", str(path)]) == 1
        lines = capsys.readouterr().out.splitlines()
        mine = [e for e in EXPECTED if e.startswith(path.name + ":")]
        same_lines([line.removeprefix(str(BROKEN) + "/") for line in lines], mine)


def test_a_good_lesson_passes(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "--check", str(good)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == "1 lesson file OK"


@pytest.mark.parametrize(
    "source",
    [
        "signal(7)",
        'sigaction(2) "SA_RESTART"',
        'proc(5) "/proc/pid/status"',
        'bash(1) "JOB CONTROL"',
        "pthread_sigmask(3p)",
        "TLPI §20.10",
        "TLPI ch. 22",
        "TLPI §22.8 Synchronously waiting",
        "PEP 475",
        "Python docs: signal.siginterrupt",
        "https://docs.python.org/3/library/signal.html#signal.set_wakeup_fd",
        "gunicorn docs: signals",
        "nginx docs: control",
        "tests/test_lesson_facts.py::test_anything",  # not a checkout: not looked up
        "sigscope: sigscope/lab/master.py",
    ],
)
def test_accepted_source_forms(source: str) -> None:
    from sigscope.course.sources import check_source

    assert check_source(source, None) is None


@pytest.mark.parametrize(
    "source",
    [
        "",
        "the internet",
        "signal",
        "signal(77)",
        "TLPI",
        "TLPI page 12",
        "PEP",
        "https://example.com/signals",
        "docs.python.org",
        "tests/test_lesson_facts.py",
        "sigscope: /etc/passwd",
        "sigscope: ../../etc/passwd",
        "signal(7)\x1b[31m",
    ],
)
def test_refused_source_forms(source: str) -> None:
    from sigscope.course.sources import check_source

    assert check_source(source, None) is not None


def test_an_experiment_must_exist_in_a_checkout(tmp_path: Path) -> None:
    """In a source checkout (lessons/ beside sigscope/ and tests/), a source naming an
    experiment is looked up in the test file with ast, and a sigscope: path must exist."""
    (tmp_path / "sigscope").mkdir()
    (tmp_path / "sigscope" / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "sigscope" / "lab").mkdir()
    (tmp_path / "sigscope" / "lab" / "master.py").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_lesson_facts.py").write_text(
        "def test_real() -> None:\n    pass\n\nclass TestGroup:\n    def test_inner(self):\n"
        "        pass\n"
    )
    (tmp_path / "lessons").mkdir()
    lesson = tmp_path / "lessons" / "01-x.toml"
    body = GOOD_TEXT.replace(
        'sources = ["signal(7)", "TLPI §20.2"]',
        'sources = ["tests/test_lesson_facts.py::test_real", '
        '"tests/test_lesson_facts.py::TestGroup::test_inner", '
        '"tests/test_lesson_facts.py::test_imagined", "tests/test_other.py::test_x", '
        '"sigscope: sigscope/nowhere.py"]',
    )
    lesson.write_text(body)
    with pytest.raises(LessonInvalid) as info:
        load_lesson(lesson)
    assert [str(p).removeprefix(str(lesson) + ":") for p in info.value.problems] == [
        "3: experiment tests/test_lesson_facts.py::test_imagined: no such test in "
        "tests/test_lesson_facts.py",
        "3: experiment tests/test_other.py::test_x: no such test file in this repository",
        "3: source 'sigscope: sigscope/nowhere.py': no such file in this repository: "
        "sigscope/nowhere.py",
    ]
    lesson.write_text(
        body.replace(', "tests/test_lesson_facts.py::test_imagined"', "")
        .replace(', "tests/test_other.py::test_x"', "")
        .replace(', "sigscope: sigscope/nowhere.py"', "")
    )
    assert load_lesson(lesson).sources[0] == "tests/test_lesson_facts.py::test_real"
    # site-packages can hold sigscope/ and someone else's tests/: without pyproject.toml, it is
    # no checkout, and experiments are not looked up there (an installed wheel's lessons load).
    (tmp_path / "pyproject.toml").unlink()
    lesson.write_text(body)
    assert load_lesson(lesson).sources[2] == "tests/test_lesson_facts.py::test_imagined"


def test_the_new_keys_are_read(good: Path) -> None:
    lesson = load_lesson(good)
    reading, send, predict, question = lesson.steps
    assert lesson.renamed_from == ("07-old-name",)
    assert lesson.sources == ("signal(7)", "TLPI §20.2")
    assert reading.reading and not reading.checked and reading.needed_panels == ()
    assert send.sources == ("kill(2)", "PEP 475", "Python docs: signal.signal")
    assert send.missed is not None and send.missed.text.startswith("That was SIGKILL")
    assert send.needed_panels == ("tree", "chart")
    assert predict.predict == "What will a shell's $? show?" and predict.checked
    assert [a.kind for a in predict.solution] == ["predict", "send"]
    assert question.question and not question.predict


def test_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "--check", "/no/such/lesson.toml"]) == 2
    assert capsys.readouterr().err.strip() == (
        "sigscope lessons: error: no such file or folder: /no/such/lesson.toml"
    )


def test_empty_folder_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "--check", str(tmp_path)]) == 1
    assert "no lesson files" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("huge.toml", b"# " + b"x" * MAX_BYTES + b"\n", f"file too large ({MAX_BYTES + 1}"),
        ("binary.toml", b'title = "ok"\n\xff\xfe\x00\n', "not UTF-8 text"),
        ("nul.toml", b'title = "a\x00b"\n', "TOML syntax error"),
    ],
)
def test_hostile_files_are_refused(
    tmp_path: Path, name: str, data: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LessonInvalid) as info:
        load_lesson(path)
    (problem,) = info.value.problems
    assert message in problem.message
    assert main(["lessons", "--check", str(path)]) == 1
    assert capsys.readouterr().out.startswith(f"{path}:")


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(LessonInvalid, match="not a regular file"):
        load_lesson(fifo)


@pytest.fixture
def course(tmp_path: Path, good: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A teacher's folder holding one good lesson, 01-first.toml; progress is kept under
    tmp_path/state (XDG_STATE_HOME)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "01-first.toml").write_bytes(good.read_bytes())
    return folder


def test_listing_shows_progress(
    tmp_path: Path, course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (course / "02-broken.toml").write_text('title = "x"\n')
    lesson = load_lesson(course / "01-first.toml")
    checked = [i for i, s in enumerate(lesson.steps) if s.checked]
    ProgressStore().save("01-first", LessonProgress(done=set(checked[:2]), current=2))
    assert (tmp_path / "state" / "sigscope" / "progress.json").is_file()
    assert main(["lessons", "--lessons-dir", str(course)]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first.split()[:3] == ["01-first", "…", f"2/{len(checked)}"]
    assert lesson.title in first
    assert second.startswith("02-broken") and "invalid" in second


def test_env_var_names_the_teachers_folder(
    course: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGSCOPE_LESSONS", str(course))
    assert main(["lessons"]) == 0
    assert capsys.readouterr().out.split()[0] == "01-first"
    monkeypatch.setenv("SIGSCOPE_LESSONS", str(BROKEN))
    assert main(["lessons", "--check"]) == 1  # --check with no PATH checks that folder
    assert capsys.readouterr().out.count("\n") == len(EXPECTED)
    assert main(["lessons", "--lessons-dir", str(course.parent / "nowhere")]) == 2


# -- any structure at all: a lesson or a list of problems, never a crash -----------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sigscope.course.predicates import VOCABULARY  # noqa: E402
from tests.conftest import examples  # noqa: E402

WORDS = [
    *VOCABULARY,
    *("title", "summary", "lab", "steps", "text", "expect", "question", "answer", "hints"),
    *("solution", "send", "spawn", "wait", "until", "reaping", "worker", "role", "times"),
    *("workers", "behaviour", "params", "slots", "grace", "kind", "sig", "count", "value"),
    *("last", "field", "SIGTERM", "KILL@worker:0", "idle", "Z", "shell_code", "x"),
    *("sources", "predict", "panels", "missed", "renamed_from", "when", "signal(7)", "PEP 475"),
    *("orphan-maker", "busy-c", "count", "linger", "mb", "tree", "chart", "tests/x.py::test_x"),
]
scalars = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=8),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(WORDS), inner, max_size=4),
    ),
    max_leaves=25,
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "title": values,
        "summary": values,
        "lab": values,
        "sources": values,
        "renamed_from": values,
        "steps": st.lists(st.dictionaries(st.sampled_from(WORDS), values, max_size=6), max_size=4),
    },
).flatmap(
    lambda d: st.dictionaries(st.sampled_from(WORDS), values, max_size=2).map(
        lambda extra: {**extra, **d}
    )
)


def toml_value(v: object) -> str:
    """A tiny TOML writer (inline forms only) for the fuzz test."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    assert isinstance(v, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_document_is_a_lesson_or_problems_never_a_crash(doc: dict) -> None:
    text = "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items()) + "\n"
    try:
        lesson = parse_lesson(text, "fuzz.toml")
    except LessonInvalid as e:
        assert e.problems
        lines = text.count("\n") + 1
        for problem in e.problems:
            assert problem.file == "fuzz.toml"
            assert 1 <= problem.line <= lines, (problem, text)
            assert problem.message and "\n" not in problem.message
    else:
        assert lesson.title and lesson.steps


def test_a_hostile_value_does_not_flood_the_terminal() -> None:
    long_key = "k" * 5000
    with pytest.raises(LessonInvalid) as info:
        parse_lesson(
            f'title = "t"\nsources = ["PEP 1"]\n"{long_key}" = 1\n'
            '[[steps]]\ntext = "x"\nsources = ["PEP 1"]\n',
            "long.toml",
        )
    (problem,) = info.value.problems
    assert problem.line == 3
    assert len(problem.message) == 300 and problem.message.endswith("…")


def test_an_unreadable_folder_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """(Tests run as root here, which no permission stops: the refusal is simulated.)"""

    def refuse(self: Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "iterdir", refuse)
    assert main(["lessons", "--check", str(BROKEN)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"sigscope lessons: error: cannot read folder {str(BROKEN)!r}: Permission denied"
    )
    assert main(["lessons", "--lessons-dir", str(BROKEN)]) == 2


def test_lesson_index_for_a_picker(tmp_path: Path, good: Path) -> None:
    from sigscope.course import lesson_index

    (tmp_path / "01-good.toml").write_bytes(good.read_bytes())
    (tmp_path / "02-bad.toml").write_text('title = "\\u001b[31mred"\n')
    store = ProgressStore(tmp_path / "progress.json")
    store.save("01-good", LessonProgress(done={1}, current=2))
    entry, bad = lesson_index(tmp_path, store)
    checked = sum(1 for s in load_lesson(good).steps if s.checked)
    assert (entry.id, entry.done, entry.checked) == ("01-good", 1, checked)
    assert entry.lesson is not None and entry.title == entry.lesson.title
    assert bad.lesson is None and bad.title == ""
    assert [str(p) for p in bad.problems] == [
        f"{tmp_path}/02-bad.toml:1: the lesson's summary makes claims but names no sources",
        f"{tmp_path}/02-bad.toml:1: missing steps: a lesson needs at least one [[steps]] table",
    ]


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_any_bytes_are_a_lesson_or_one_line_problems(data: bytes) -> None:
    """Random bytes (and random TOML-ish text below): never a traceback, every problem one
    line with a line number inside the file."""
    try:
        parse_lesson(data, "bytes.toml")
    except LessonInvalid as e:
        assert e.problems
        for problem in e.problems:
            assert problem.message and "\n" not in problem.message
            assert 1 <= problem.line <= data.count(b"\n") + 1


toml_ish = st.lists(
    st.one_of(
        st.sampled_from(["[[steps]]", "[lab]", "[[lab.slots]]", "[x.y]", "a = 1", 'text = "t"']),
        st.builds(lambda k, v: f"{k} = {toml_value(v)}", st.sampled_from(WORDS), values),
        st.text(max_size=30),
    ),
    max_size=25,
).map("\n".join)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toml_ish)
def test_random_toml_lines_never_crash_the_checker(text: str) -> None:
    try:
        parse_lesson(text, "lines.toml")
    except LessonInvalid as e:
        for problem in e.problems:
            assert "\n" not in problem.message


def hostile_shapes(size: int) -> list[bytes]:
    return [
        b"x = [" + b"1," * (size // 2 - 8) + b"]\n",
        b"[[steps]]\n" * (size // 10),
        b'title = "' + b"\\u001b" * (size // 7) + b'"\n',
        b"a = [" * 200 + b"]" * 200,
        bytes(range(256)) * (size // 256),
    ]


def test_hostile_inputs_take_bounded_time_and_memory() -> None:
    """Files of the worst shapes we know: the largest a lesson may be is refused (or read) in
    bounded time; an eighth of it (tracemalloc is slow) never holds more than a bounded multiple
    of the file in memory, so the whole one does not either."""
    import time
    import tracemalloc

    for data in hostile_shapes(MAX_BYTES):
        started = time.monotonic()
        with pytest.raises(LessonInvalid) as info:
            parse_lesson(data, "big.toml")
        assert all("\n" not in p.message for p in info.value.problems)
        assert time.monotonic() - started < 15, data[:20]
    size = MAX_BYTES // 8
    for data in hostile_shapes(size):
        tracemalloc.start()
        try:
            parse_lesson(data, "big.toml")
        except LessonInvalid:
            pass
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 100 * size, (data[:20], peak)


# -- caps: what a lesson file may start ----------------------------------------------------------

from sigscope.lab.behaviours import LESSON_BOUNDS, lesson_cost  # noqa: E402


def test_every_bound_names_a_real_parameter() -> None:
    for name, bounds in LESSON_BOUNDS.items():
        assert name in BEHAVIOURS
        for key in bounds:
            assert key in BEHAVIOURS[name].defaults, (name, key)


@pytest.mark.parametrize(
    "name, key, value",
    [(n, k, hi * 2 + 1) for n, b in LESSON_BOUNDS.items() for k, (_, hi) in b.items()],
)
def test_each_parameter_over_its_lesson_cap_is_refused(name: str, key: str, value: float) -> None:
    if isinstance(BEHAVIOURS[name].defaults[key], int):
        value = int(value)
    text = (
        f'title = "t"\nsources = ["PEP 1"]\n[lab]\nworkers = 1\nbehaviour = "{name}"\n'
        f"params = {{ {key} = {value!r} }}\n"
        '[[steps]]\ntext = "x"\nsources = ["PEP 1"]\n'
    )
    with pytest.raises(LessonInvalid) as info:
        parse_lesson(text, "cap.toml")
    messages = [str(p) for p in info.value.problems]
    assert any(
        m.startswith(f"cap.toml:6: {name}: parameter {key!r}")
        and "a lesson may ask for" in m
        or m.startswith(f"cap.toml:6: {name}: parameter {key!r} must")  # the lab's own bound
        for m in messages
    ), messages


def test_totals_count_workers_what_they_fork_and_spawns() -> None:
    assert lesson_cost("idle", {}).processes == 1
    # 1 worker + 2 orphans a batch, batches for 5 s of linger at one per 0.5 s: 1 + 2 * 11
    assert lesson_cost("orphan-maker", {"count": 2, "linger": 5.0, "stay": 0.5}).processes == 23
    assert lesson_cost("busy-c", {"mb": 64}).memory_mb == 64
    assert lesson_cost("threads", {"count": 16}).processes == 1  # threads are not processes
    head = 'title = "t"\nsources = ["PEP 1"]\n[lab]\nworkers = {}\nbehaviour = "busy-c:mb={}"\n'
    step = '[[steps]]\ntext = "x"\nsources = ["PEP 1"]\n'
    parse_lesson(head.format(2, 256) + step, "ok.toml")  # 512 MiB: at the cap
    with pytest.raises(LessonInvalid, match="may allocate 768 MiB"):
        parse_lesson(head.format(3, 256) + step, "over.toml")
    parse_lesson(head.format(64, 1) + step, "ok.toml")  # 65 processes
    spawns = (
        "hints = ['h']\nexpect = { received = 'SIGUSR1' }\nsolution = ["
        + ", ".join(
            ['{ spawn = "orphan-maker:count=16,linger=60,stay=60" }'] * 3
            + ['{ send = "USR1@worker:0" }']
        )
        + "]\n"
    )
    with pytest.raises(LessonInvalid, match="may have 164 processes"):
        parse_lesson(head.format(64, 1) + step + spawns, "spawns.toml")


def test_a_ttin_to_the_master_counts_as_one_more_worker() -> None:
    """A TTIN sent by a solution starts a worker for good, like a spawn: two of them to one
    busy-c worker of 256 MiB passed the checker (768 MiB), and a slot beyond ``workers`` (the
    one a TTIN starts) could hide a costlier behaviour than the lab's."""
    head = 'title = "t"\nsources = ["PEP 1"]\n[lab]\nworkers = 1\nbehaviour = "{}"\n'
    step = (
        '[[steps]]\ntext = "x"\nsources = ["PEP 1"]\nhints = ["h"]\n'
        "expect = {{ live_workers = 3 }}\nsolution = [{}]\n"
    )
    ttins = ", ".join(['{ send = "TTIN" }'] * 2)
    parse_lesson(head.format("busy-c:mb=128") + step.format(ttins), "ok.toml")  # 384 MiB
    with pytest.raises(LessonInvalid, match="may allocate 768 MiB"):
        parse_lesson(head.format("busy-c:mb=256") + step.format(ttins), "over.toml")
    slots = "".join(
        '[[lab.slots]]\nbehaviour = "busy-c"\nparams = { mb = 256 }\n' for _ in range(3)
    )
    cheap = 'title = "t"\nsources = ["PEP 1"]\n[lab]\nworkers = 0\nbehaviour = "idle"\n'
    with pytest.raises(LessonInvalid, match="may allocate 768 MiB"):
        parse_lesson(cheap + slots + step.format(", ".join(['{ send = "TTIN" }'] * 3)), "s.toml")
    # A TTIN to a worker is only a signal it receives: it starts nothing.
    parse_lesson(head.format("busy-c:mb=256") + step.format('{ send = "TTIN@worker:0" }'), "w.toml")


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\x1b", "\r", "\x00"])
def test_lesson_code_that_could_hide_what_runs_is_refused(char: str) -> None:
    """Show me displays a lesson's Python before it runs: a bidi override ("Trojan Source")
    or a control character would let the text shown differ from the code run."""
    from sigscope.course.actions import compile_action
    from sigscope.course.problems import SpecError

    assert compile_action({"code": "x = 1\n\treport(x=x)"}).kind == "code"
    with pytest.raises(SpecError, match="hide or reorder"):
        compile_action({"code": f"x = 1  # {char} harmless\n"})


def test_the_terminal_predicates_read_the_lanes_events() -> None:
    """foreground = "job"/"shell" and group = {new, members, gone} over the terminal lane's
    events (sigscope/events.py): the shell (pid 100) leads its own group, which is no job's."""
    from sigscope.course.predicates import compile_predicate
    from sigscope.course.world import World

    class Lane:
        shell_pid = 100

    class FakeLab:
        terminal = Lane()

    def fg(pgid: int) -> dict:
        return {"kind": "foreground", "pid": 100, "role": "shell", "pgid": pgid}

    def group(pgid: int, members: list[int], added: list[int], removed: list[int]) -> dict:
        role = "shell" if pgid == 100 else "job"
        fields = {"pgid": pgid, "members": members, "added": added, "removed": removed}
        return {"kind": "group", "pid": pgid, "role": role, **fields}

    events = [
        group(100, [100, 201], [201], []),  # a job still in the shell's group: not a job's group
        fg(200),
        group(200, [200], [200], []),
        group(200, [200, 201], [201], []),
        group(200, [], [], [200, 201]),
        fg(100),
        fg(-1),  # hung up: nobody's
    ]
    world = World(FakeLab(), events, 0, 0, [])  # type: ignore[arg-type]

    def count(spec: dict) -> int:
        return compile_predicate(spec).count(world)  # type: ignore[attr-defined]

    assert count({"foreground": "job"}) == 1 and count({"foreground": "shell"}) == 1
    assert count({"group": {"new": True}}) == 1 and count({"group": {"new": False}}) == 2
    assert count({"group": {"members": 2}}) == 1 and count({"group": {"members": 1}}) == 1
    assert count({"group": {"gone": True}}) == 1 and count({"group": {"gone": False}}) == 2


def test_a_terminal_lesson_opens_no_shell_where_no_learner_code_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A terminal is a real shell: a session that runs no learner code (SIGSCOPE_CODE=off, as
    serve's pages without --allow-code) makes no lab for a terminal lesson, and a demo, which
    types unasked, needs --allow-code (nothing is started in either case)."""
    from sigscope.lab.errors import LabError
    from sigscope.paths import bundled_lessons

    lesson = load_lesson(bundled_lessons() / "28-process-groups-and-sessions.toml")
    monkeypatch.setenv("SIGSCOPE_CODE", "off")
    with pytest.raises(LabError, match="opens a real shell"):
        lesson.make_lab()
    monkeypatch.setenv("SIGSCOPE_CODE", "on")
    lab = lesson.make_lab()  # made, not started
    try:
        assert lab.terminal_settings is not None
    finally:
        lab.close()
    assert main(["demo", "29"]) == 2
    assert "types commands from its file" in capsys.readouterr().err

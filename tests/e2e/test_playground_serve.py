"""Where the playground may not run: ``sigscope serve`` without ``--allow-code`` (and never off
loopback), a session with code off, and ``attach`` (issue 17)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from sigscope.lab import Lab, LabError
from sigscope.lab.code import CODE_ENV
from sigscope.serving.rules import ServeSettings
from sigscope.sources.attach import AttachedTree, AttachError
from tests.e2e.test_serve import one_line_error, run_serve


def test_serve_refuses_the_playground_without_allow_code() -> None:
    line = one_line_error(run_serve("--port", "0", "--behaviour", "playground"))
    assert "serve refuses it without --allow-code" in line


def test_serve_allows_code_only_on_loopback() -> None:
    line = one_line_error(run_serve("--port", "0", "--allow-code", "--host", "0.0.0.0"))
    assert "--allow-code serves only on loopback" in line


def test_serve_with_allow_code_warns_and_its_pages_may_run_code() -> None:
    process = subprocess.Popen(
        [sys.executable, "-P", "-m", "sigscope", "serve", "--port", "0", "--allow-code",
         "--behaviour", "playground"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stderr.readline()  # the server writes its lines and waits: no hang
            if not line:
                break
            seen.append(line)
            if "sigscope serve: serving " in line:
                break
        text = "".join(seen)
        assert re.search(r"warning: --allow-code: every page can run any Python as \S+", text)
        assert "sigscope serve: serving " in text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_each_page_is_told_whether_it_may_run_code() -> None:
    off = ServeSettings().app_argv()
    on = ServeSettings(allow_code=True, behaviour="playground").app_argv()
    assert off[4] == "--code=off" and on[4] == "--code=on"


def test_a_served_page_app_turns_code_off_before_anything_runs() -> None:
    """main_page sets the session's code switch from its first argument; then a lab it
    starts has no code directory. Checked in a child Python, as a page's app would be."""
    script = (
        "import os, sys\n"
        "import sigscope.ui.app\n"
        "sigscope.ui.app.run = lambda settings: print(os.environ['SIGSCOPE_CODE']) or 0\n"
        "from sigscope.commands.serve import main_page\n"
        "main_page(sys.argv[1:])\n"
    )
    for first, want in (("--code=off", "off"), ("--code=on", "on"), ("--code=of", "")):
        out = subprocess.run(
            [sys.executable, "-c", script, first, "dashboard", "--workers", "2"],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != CODE_ENV},
        )
        assert out.stdout.strip() == want, out
    # With no word at all, code is off (the server always says one; a page never guesses on).
    out = subprocess.run(
        [sys.executable, "-c", script, "dashboard"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != CODE_ENV},
    )
    assert out.stdout.strip() == "off", out


def test_a_lab_with_code_off_has_no_code_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CODE_ENV, "off")
    with Lab(workers=1, behaviour="playground") as lab:
        assert lab.code_dir is None
        with pytest.raises(LabError, match="runs no code"):
            lab.run_code("worker:0", "print(1)")
        # The worker itself says it has nothing to run (no socket to reach it).
        lab.wait_for(kind="error", pid=lab.worker(0).pid, timeout=10)


def test_attach_runs_no_code() -> None:
    with subprocess.Popen(["sleep", "60"]) as child:
        try:
            tree = AttachedTree(child.pid)
            with pytest.raises(AttachError, match="attach mode runs no code"):
                tree.run_code(child.pid, "print(1)")
        finally:
            child.kill()


def test_demo_refuses_a_lessons_python_without_allow_code() -> None:
    """A demo performs every solution unasked: a lesson file's Python needs --allow-code."""
    result = subprocess.run(
        [sys.executable, "-m", "sigscope", "demo", "19"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    line = one_line_error(result)
    assert "runs Python from its file" in line and "--allow-code" in line
    assert ("as root" in line) == (os.geteuid() == 0)


@pytest.mark.parametrize("word", ["off", "OFF", "0", "no", "false", "of", ""])
def test_any_word_but_on_turns_code_off(word: str) -> None:
    """Fail safe: a typo or another spelling of 'no' must not mean 'run code'."""
    from sigscope.lab.code import CODE_ENV, code_allowed

    assert not code_allowed({CODE_ENV: word})
    assert code_allowed({CODE_ENV: "on"}) and code_allowed({CODE_ENV: " On "})
    assert code_allowed({})  # the dashboard's own default: the learner's machine, the learner

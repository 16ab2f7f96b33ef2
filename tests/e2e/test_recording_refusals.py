"""Recordings are untrusted input (issue 11), at the command line: ``sigscope replay`` of any file
that is not a recording says ``FILE:LINE: what is wrong`` on one line and exits 2, before any
screen opens — never a traceback, never a hang, never unbounded memory (its peak RSS is
measured). The installed command, run as a person would; the loader's properties over random
input are tests/unit/test_recording_properties.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sigscope.sources.record import MAX_LINE

HEADER = '{"kind": "recording", "version": 1, "t": 1, "config": {}}\n'
SPAWN = '{"t": 2, "pid": 10, "role": "master", "kind": "spawn", "child": 11, "index": 0}\n'


# Peak RSS is read by a small Python in between: wait4's ru_maxrss for a child that was
# vfork-ed (subprocess's default) and exec-ed starts at the *parent's* high-water mark
# (fs/exec.c keeps the old mm's hiwater_rss in signal->maxrss), so measured straight from
# pytest it reports pytest's own size after a long run (CI saw 305 MB for a 60 MB process).
# The go-between is small, so what it reports is sigscope's own peak.
MEASURE = """
import os, subprocess, sys, time
timeout = float(sys.argv[1])
proc = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
deadline = time.monotonic() + timeout
while True:
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() > deadline:
        proc.kill()
        os.wait4(proc.pid, 0)
        print("timeout", flush=True)
        sys.exit(0)
    time.sleep(0.01)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, flush=True)
"""


def run_measured(args: list[str], timeout: float = 30) -> tuple[int, str, float, int]:
    """Run ``sigscope ARGS`` with its output captured; return (exit status, stderr, seconds,
    peak RSS in KiB of that one process, from wait4's rusage in a small go-between)."""
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-I", "-c", MEASURE, str(timeout), "sigscope", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout + 30,
        check=True,
    )
    elapsed = time.monotonic() - t0
    report = done.stdout.decode().split()
    if report == ["timeout"]:
        pytest.fail(f"sigscope {' '.join(args)} did not end within {timeout} s")
    code, rss = (int(x) for x in report)
    return code, done.stderr.decode(errors="replace"), elapsed, rss


def refused(args: list[str], where: str) -> tuple[str, float, int]:
    code, stderr, elapsed, rss = run_measured(args)
    assert code == 2, (code, stderr)
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert where in lines[0], lines[0]
    return lines[0], elapsed, rss


@pytest.mark.parametrize("json_flag", [["--json"], []])
def test_replay_of_dev_zero_is_refused_at_once(json_flag: list[str]) -> None:
    line, elapsed, rss = refused(["replay", "/dev/zero", *json_flag], "/dev/zero")
    assert "not a regular file" in line
    assert elapsed < 5  # measured ~0.3 s here (mostly Python's start-up); it used to grow
    assert rss < 200 * 1024  # KiB: a Python with sigscope imported, nothing read


@pytest.mark.parametrize("json_flag", [["--json"], []])
def test_replay_of_a_fifo_does_not_hang(tmp_path: Path, json_flag: list[str]) -> None:
    fifo = tmp_path / "rec.fifo"
    os.mkfifo(fifo)
    line, elapsed, _ = refused(["replay", str(fifo), *json_flag], str(fifo))
    assert "not a regular file" in line


def test_a_long_line_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    with open(path, "wb") as f:
        f.write(HEADER.encode())
        f.write(b"a" * (MAX_LINE * 40))  # 40 MiB, no newline
    line, _, rss = refused(["replay", "--json", str(path)], f"{path}:2:")
    assert "line too long" in line
    assert rss < 200 * 1024


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("json_flag", [["--json"], []])
@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        (deep(100_000) + "\n", ":1:", "nested too deeply"),
        (HEADER + deep(100_000) + "\n", ":2:", "nested too deeply"),
        (
            HEADER + '{"t": 1, "pid": 2, "role": "ui", "kind": "x", "a": ' + deep(50) + "}\n",
            ":2:",
            "nested too deeply",
        ),  # fmt: skip
        ('{"kind": "recording", "version": 1, "t": 1, "config": [1]}\n', ":1:", "config"),
        ('{"kind": "recording", "version": 1, "t": 1, "config": "x"}\n', ":1:", "config"),
        (HEADER + '{"t": 2, "pid": 10, "role": "master", "kind": "spawn"}\n', ":2:", "child"),
        (
            HEADER + '{"t": 2, "pid": 10, "role": "master", "kind": "spawn", "child": "x"}\n',
            ":2:",
            "child",
        ),  # fmt: skip
        (HEADER + SPAWN.replace('"index": 0', '"index": "zero"'), ":2:", "index"),
        (HEADER + '{"t": true, "pid": 10, "role": "master", "kind": "start"}\n', ":2:", "t"),
        (HEADER + '{"t": 1, "pid": 10, "role": "master", "kind": "x", "v": NaN}\n', ":2:", "NaN"),
        (HEADER + '{"t": 1, "pid": 10, "role": ["m"], "kind": "start"}\n', ":2:", "role"),
        (HEADER + '{"t": 1, "pid": 10, "role": "m", "kind": "sent", "sig": 15}\n', ":2:", "sig"),
        (
            HEADER
            + '{"t": 1, "pid": 10, "role": "m", "kind": "n", "text": "\\u001b]0;x\\u0007"}\n',
            ":2:",
            "control character",
        ),  # fmt: skip
        (HEADER + '{"t": 1, "kind": "snapshot", "processes": "ab"}\n', ":2:", "snapshot"),
        (HEADER + '{"t": 1, "pid": 10, "role": "m", "kind": "x", "v": 1e999}\n', ":2:", "finite"),
        (
            HEADER + '{"t": 1, "pid": 10, "role": "m", "kind": "status", "backoff": [1]}\n',
            ":2:",
            "backoff",
        ),  # fmt: skip
        (
            HEADER + '{"t": 1, "pid": 10, "role": "m", "kind": "timer", "previous": "x"}\n',
            ":2:",
            "previous",
        ),  # fmt: skip
        (
            HEADER + '{"t": 1, "kind": "snapshot", "processes": [{"pid": 1, "masks": '
            '{"sigq": [0, 1], "pending": "' + "f" * 5000 + '"}}]}\n',
            ":2:",
            "mask",
        ),  # fmt: skip
    ],
)
def test_untrusted_recordings_are_one_line_and_exit_2(
    tmp_path: Path, body: str, where: str, says: str, json_flag: list[str]
) -> None:
    """With --json, and on the dashboard's path (no --json): refused before any screen."""
    path = tmp_path / "bad.jsonl"
    path.write_text(body)
    line, _, _ = refused(["replay", str(path), *json_flag], f"{path}{where}")
    assert says in line


@pytest.mark.parametrize("json_flag", [["--json"], []])
def test_a_file_that_fails_to_read_is_one_line(json_flag: list[str]) -> None:
    """A regular file whose read fails (EIO: /proc/self/mem at offset 0 is not mapped) was a
    traceback; it is one line with the file and its line, exit 2."""
    line, _, _ = refused(["replay", "/proc/self/mem", *json_flag], "/proc/self/mem:1:")
    assert "cannot read" in line


def test_control_characters_in_a_file_name_never_reach_the_terminal(tmp_path: Path) -> None:
    """A recording's name from a shared folder (``sigscope replay *``) may hold escape
    sequences: the error line shows them escaped."""
    path = tmp_path / "rec\x1b]0;owned\x07.jsonl"
    path.write_text("not json\n")
    line, _, _ = refused(["replay", str(path)], ":1:")
    assert "\x1b" not in line and "\x07" not in line
    assert "\\x1b" in line

"""Recordings are untrusted input (issue 11): any file, any bytes, any JSON gets either a
recording the replay can play, or one ``FILE:LINE: what is wrong`` line and exit 2 — never a
traceback, never a hang, never unbounded memory. Before any screen opens, too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigscope.observe.sequence import SequenceModel, describe
from sigscope.sources.record import MAX_LINE, RecordingError, load
from sigscope.sources.replay import Replay
from sigscope.ui.models.master import MasterState, apply_event

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


def test_a_folder_is_not_a_recording(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="a folder"):
        load(tmp_path)


# -- properties -----------------------------------------------------------------------------------

MEMORY_BOUND = 32 << 20  # bytes: far above what a few kilobytes of input can justify


def check_bounded(path: Path) -> None:
    """load() gives a recording the replay plays through, or a RecordingError saying where;
    never another exception, never a big allocation."""
    tracemalloc.start()
    try:
        try:
            recording = load(path)
        except RecordingError as e:
            message = str(e)
            assert message.startswith(f"{path}:") and "\n" not in message
            return
        replay = Replay(recording)
        replay.play_all()  # the tree model (track_event) reads every field it relies on
        replay.jump(0)
        # The dashboard's models (no screen needed): the chart, its captions, the master panel.
        chart = SequenceModel()
        panel = MasterState()
        for event in recording.events:
            json.dumps(event)  # what `replay --json` prints
            describe(event)
            chart.add(event)
            panel = apply_event(panel, event, replay.master_pid)
        _, peak = tracemalloc.get_traced_memory()
        assert peak < MEMORY_BOUND
    finally:
        tracemalloc.stop()


PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(data=st.binary(max_size=4096))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.jsonl"
    path.write_bytes(data)
    check_bounded(path)


@PROPERTY
@given(data=st.binary(max_size=2048))
def test_random_bytes_after_a_valid_header(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.jsonl"
    path.write_bytes(HEADER.encode() + data)
    check_bounded(path)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = ("child", "index", "sig", "status", "exitcode", "code", "target", "text", "how",
          "reaping", "starttime", "behaviour", "timer", "value", "processes", "masks",
          "state")  # fmt: skip
KINDS = ("spawn", "fork", "reaped", "gone", "received", "sent", "exit", "ready", "mode", "state",
         "snapshot", "start", "timer", "status", "note", "error", "ended")  # fmt: skip


@st.composite
def events(draw: Any) -> dict[str, Any]:
    """Mostly event-shaped objects (the kinds and fields the replay reads), with random
    values; sometimes any JSON at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(JSON)  # type: ignore[no-any-return]
    obj: dict[str, Any] = {
        "t": draw(st.integers(0, 10**12) | JSON),
        "pid": draw(st.integers(1, 50) | JSON),
        "role": draw(st.sampled_from(["master", "worker", "ui", "orphan"]) | JSON),
        "kind": draw(st.sampled_from(KINDS) | JSON),
    }
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=5)):
        obj[key] = draw(st.integers(0, 60) | JSON)
    for key in draw(st.lists(st.sampled_from(["t", "pid", "role", "kind"]), max_size=1)):
        del obj[key]
    return obj


@PROPERTY
@given(
    config=JSON,
    lines=st.lists(events(), max_size=12),
)
def test_random_json_values_as_lines(tmp_path: Path, config: Any, lines: list[Any]) -> None:
    path = tmp_path / "random.jsonl"
    head = {"kind": "recording", "version": 1, "t": 1, "config": config}
    path.write_text("\n".join(json.dumps(v) for v in [head, *lines]) + "\n")
    check_bounded(path)

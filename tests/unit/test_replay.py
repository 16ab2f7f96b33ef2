"""Recordings and replays with no process: a damaged or foreign file gets one clear line with
its line number. (Recordings of real labs replayed: tests/lab/test_replay_recorded.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from sigscope.sources.record import RecordingError, load


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    return path


HEADER = '{"kind": "recording", "version": 1, "t": 1, "config": {}}\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", ":1: empty file, not a sigscope recording"),
        ("not json\n", ":1: not JSON"),
        ('{"hello": 1}\n', ":1: not a sigscope recording"),
        ('{"kind": "recording", "version": 99}\n', ":1: recording version 99"),
        (HEADER + "[1, 2]\n", ":2: expected a JSON object"),
        (HEADER + '{"t": 1, "pid": 2, "kind": "sent"}\n', ":2: an event needs role"),
        (HEADER + '{"t": "x", "pid": 2, "role": "ui", "kind": "sent"}\n', ":2: an event's t"),
        (HEADER + '{"t": 1, "kind": "snapshot", "processes": [{}]}\n', ":2: bad snapshot"),
        (HEADER + '{"t": 1, "pid": 2, "role": "ui", "kind": "x"}\n{oops\n', ":3: not JSON"),
    ],
)
def test_damaged_or_foreign_files_say_where(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RecordingError) as e:
        load(path)
    assert str(e.value).startswith(str(path)) and message in str(e.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot read: No such file"):
        load(tmp_path / "nope.jsonl")


def test_a_machine_up_for_days_records_start_times_past_pid_max(tmp_path: Path) -> None:
    """An event's starttime counts clock ticks since boot (proc(5) field 22): at 100 Hz it
    passes pid_max (4194304) after ~11.7 hours of uptime, as on CI's machine. It loads; a pid
    past pid_max does not."""
    ten_days = 10 * 86_400 * 100
    fork = '{"t": 1, "pid": 2, "role": "worker", "kind": "fork", "child": 3, "starttime": %d}\n'
    recording = load(_write(tmp_path, HEADER + fork % ten_days))
    assert recording.entries[0]["starttime"] == ten_days  # type: ignore[index]
    too_big = HEADER + fork.replace('"child": 3', '"child": 4194305') % 1
    with pytest.raises(RecordingError, match="an event's child must be a whole number 0-4194304"):
        load(_write(tmp_path, too_big))

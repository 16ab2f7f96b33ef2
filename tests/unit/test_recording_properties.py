"""Recordings are untrusted input (issue 11): any file, any bytes, any JSON gets either a
recording the replay can play, or a RecordingError saying ``FILE:LINE: what is wrong`` — never
another exception, never unbounded memory. (What ``sigscope replay`` makes of such files, one
line and exit 2, is tests/e2e/test_recording_refusals.py.)"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigscope.observe.sequence import SequenceModel, describe
from sigscope.sources.record import RecordingError, load
from sigscope.sources.replay import Replay
from sigscope.ui.models.master import MasterState, apply_event
from tests.conftest import examples

HEADER = '{"kind": "recording", "version": 1, "t": 1, "config": {}}\n'


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
    max_examples=examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
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

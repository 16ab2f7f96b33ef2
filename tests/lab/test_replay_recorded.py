"""Recordings of real labs: what ``sigscope trace --record`` wrote replays to the same events it
printed, plays, pauses, steps and jumps; a real sampler's snapshot survives its JSON form.
(Damaged and foreign files, with no process: tests/unit/test_replay.py.)"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from sigscope.lab import Lab
from sigscope.observe.sampler import Sampler
from sigscope.sources.record import load, snapshot_from_json, snapshot_to_json
from sigscope.sources.replay import Replay, ReplayError
from tests.conftest import record_trace


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    path = tmp_path_factory.mktemp("rec") / "trace.jsonl"
    sends = ["0.3:USR1@worker:0", "0.6:TTIN", "1.0:TERM"]
    printed = record_trace(path, "--workers", "2", *(a for s in sends for a in ("--send", s)))
    return path, printed


def test_a_trace_recording_replays_to_the_same_events(recorded) -> None:  # type: ignore[no-untyped-def]
    path, printed = recorded
    recording = load(path)
    assert recording.header["config"]["workers"] == 2
    assert recording.snapshots, "the observer's snapshots are recorded too"
    replay = Replay(recording)
    replay.play_all()
    assert replay.events() == recording.events == printed
    # The tree is rebuilt from the events: three workers were spawned and all were reaped.
    workers = [p for p in replay.processes.values() if p.role == "worker"]
    assert len(workers) == 3 and not any(p.alive for p in workers)
    assert replay.master_pid == next(e["pid"] for e in printed if e["role"] == "master")
    with pytest.raises(ReplayError, match="nothing in it can be signalled"):
        replay.send("master", "TERM")


def test_play_pause_speed_step_and_jump(recorded) -> None:  # type: ignore[no-untyped-def]
    path, _ = recorded
    replay = Replay(load(path))
    resets = []
    replay.on_reset(lambda: resets.append(True))
    assert replay.step() and replay.position == 1
    replay.jump(10)
    assert replay.position == 10 and len(replay.events()) <= 10
    replay.jump(3)  # backwards: starts again from the top
    assert resets == [True] and replay.position == 3
    done = threading.Event()
    replay.subscribe(lambda e: done.set() if e["kind"] == "ended" else None)
    assert replay.set_speed(1000) == 100.0  # capped
    replay.play()
    assert done.wait(30), "playback did not reach the end"
    replay.pause()
    assert replay.at_end and replay.ended.is_set()
    replay.close()


def test_snapshots_round_trip() -> None:
    with Lab(workers=1) as lab:
        lab.wait_for(kind="ready", timeout=10)
        snapshot = Sampler(lab).scan()
        back = snapshot_from_json(json.loads(json.dumps(snapshot_to_json(snapshot))))
        assert back == snapshot
        assert back.by_pid(lab.master_pid) == snapshot.by_pid(lab.master_pid)

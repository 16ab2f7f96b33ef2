"""A replay in the dashboard (tests/data/lab-recording.jsonl, played with Pilot): it offers only
replay controls, and every panel shows the recorded state at the play head — ages in recorded
time, the master's wanted count after the recorded TTIN, the last recorded dispositions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Static

from sigscope.observe.sampler import Snapshot
from sigscope.sources.record import load
from sigscope.ui.replay_app import ReplayApp, replay_help_keys
from sigscope.ui.screens.help import HelpScreen
from sigscope.ui.settings import ReplaySettings
from sigscope.ui.widgets.dispositions import DispositionsPanel
from sigscope.ui.widgets.process_tree import format_age
from tests.ui.helpers import until

RECORDING = Path(__file__).parents[1] / "data" / "lab-recording.jsonl"
LAB_WORDS = ("TERM", "KILL", "Restart", "TTIN", "TTOU", "Reaping", "Spawn", "Signal…", "Code")


def entries() -> list[Any]:
    return list(load(RECORDING).entries)


def index_of(predicate: Callable[[Any], bool]) -> int:
    for i, entry in enumerate(entries()):
        if not isinstance(entry, Snapshot) and predicate(entry):
            return i
    raise AssertionError("not in the recording")


def t_of(entry: Any) -> int:
    return entry.t if isinstance(entry, Snapshot) else int(entry["t"])


def shown_bindings(app: ReplayApp) -> dict[str, str]:
    """key -> footer label of every binding the footer shows now."""
    return {
        key: active.binding.description
        for key, active in app.screen.active_bindings.items()
        if active.binding.show
    }


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_a_replay_offers_replay_controls_only(size: tuple[int, int]) -> None:
    app = ReplayApp(ReplaySettings(RECORDING), paused=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        footer = shown_bindings(app)
        assert footer.get("space") == "Play/Pause"
        assert {"Step", "Slower", "Faster"} <= set(footer.values())
        for word in LAB_WORDS:
            assert not any(word in label for label in footer.values()), (word, footer)
        buttons = [str(b.label) for b in app.screen.query(Button) if b.display]
        assert "Play" in buttons  # paused: the button offers to play
        for word in LAB_WORDS:
            assert not any(word in b for b in buttons), (word, buttons)
        # The lab's keys do nothing here: no signal, no "restarting", no "not running".
        generation = app.generation
        notices: list[str] = []
        original = app.notify
        app.notify = lambda message, *a, **k: notices.append(str(message))  # type: ignore[method-assign]
        await pilot.press("t", "x", "R", "k", "plus", "m", "n", "e")
        await pilot.pause()
        app.notify = original  # type: ignore[method-assign]
        assert app.generation == generation and notices == []
        assert len(app.screen_stack) == 1  # no signal menu, no dialog
        # A replay button works like its key.
        assert app.replay is not None and app.replay.position == 0
        await pilot.click("#btn-replay-step")
        await until(pilot, lambda: app.replay is not None and app.replay.position == 1, "a step")
        await pilot.press("q")


async def test_help_lists_the_replay_keys_and_no_lab_key() -> None:
    keys = dict(replay_help_keys())
    assert keys["space"] == "Replay: play or pause"
    for key in (".", "[", "]", "b", "j", "g", "G", "?", "q / ctrl+q"):
        assert key in keys, key
    assert not any(k in keys for k in ("t", "x", "R", "+", "-", "m", "n", "e", "k / F9"))
    app = ReplayApp(ReplaySettings(RECORDING), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        assert isinstance(app.screen, HelpScreen) and app.screen.keys == replay_help_keys()
        words = " ".join(str(s.content) for s in app.screen.query(Static))
        assert "nothing in it can be signalled" in words and "quick keys" not in words
        await pilot.press("escape")
        await pilot.press("q")


async def test_b_and_j_step_through_a_short_recording() -> None:
    app = ReplayApp(ReplaySettings(RECORDING), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        replay = app.replay
        assert replay is not None
        tenth = replay.length // 10
        assert 1 <= tenth < replay.length // 2  # a step, not a jump to an end
        await pilot.press("j")
        assert app.replay is not None and app.replay.position == tenth
        await pilot.press("j")
        assert app.replay.position == 2 * tenth
        await pilot.press("b")
        # Backwards is a fresh replay, delivered up to the target.
        assert app.replay is not None and app.replay.position == tenth
        await pilot.press("G")
        assert app.replay.at_end
        await pilot.press("b")
        assert app.replay is not None and app.replay.position == app.replay.length - tenth
        await pilot.press("q")


async def test_ages_count_recorded_time_at_the_play_head() -> None:
    recorded = entries()
    spawn = index_of(lambda e: e.get("kind") == "spawn" and e.get("index") == 0)
    worker = int(recorded[spawn]["child"])
    ttin_spawn = index_of(lambda e: e.get("kind") == "spawn" and e.get("index") == 2)
    head = ttin_spawn + 1  # just after the TTIN's spawn
    expected = (t_of(recorded[head - 1]) - t_of(recorded[spawn])) / 1e9
    assert 0.5 < expected < 60  # the recording's own span: not the replay's wall clock
    app = ReplayApp(ReplaySettings(RECORDING), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.replay is not None
        app.replay.jump(head)
        row = await until(pilot, lambda: app.process_tree.row_for(worker), "worker 0's row")
        assert row.age == pytest.approx(expected, abs=1e-6)
        # Paused: the recorded clock stands still however long the room looks at it. Wall
        # time passing is the subject here, so the wait is for it: more than the tree's 1 s
        # age tick, the app running meanwhile.
        looked = time.monotonic()
        await until(pilot, lambda: time.monotonic() - looked > 1.2, "1.2 s of wall time")
        row = await until(pilot, lambda: app.process_tree.row_for(worker), "worker 0's row")
        assert row.age == pytest.approx(expected, abs=1e-6)
        assert format_age(expected) in app.export_screenshot().replace("&#160;", " ")
        # The master wants three workers after the recorded TTIN (no status in the file).
        await until(pilot, lambda: app.master_panel.state.target == 3, "3 wanted")
        await pilot.press("q")


async def test_wanted_follows_the_recording_back_and_forth() -> None:
    ttin_spawn = index_of(lambda e: e.get("kind") == "spawn" and e.get("index") == 2)
    app = ReplayApp(ReplaySettings(RECORDING), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.replay is not None
        app.replay.jump(ttin_spawn)  # the TTIN is in, its spawn not yet
        await until(pilot, lambda: app.master_panel.state.target == 2, "2 wanted")
        await pilot.press("full_stop")  # the spawn into slot 2
        await until(pilot, lambda: app.master_panel.state.target == 3, "3 wanted")
        await pilot.press("g")
        await until(pilot, lambda: app.master_panel.state.target is None, "a fresh start")
        await pilot.press("q")


async def test_dispositions_at_the_end_are_the_last_recorded_ones() -> None:
    recorded = entries()
    last_scan = max(i for i, e in enumerate(recorded) if isinstance(e, Snapshot))
    master = recorded[last_scan].processes[0]
    assert master.role == "master" and master.masks.caught
    app = ReplayApp(ReplaySettings(RECORDING), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("G")
        panel = app.panel("dispositions")
        assert isinstance(panel, DispositionsPanel)
        await until(pilot, lambda: app.process_tree.row_for(master.pid), "the master's row")
        app.process_tree.select_pid(master.pid)
        await until(pilot, lambda: panel.pid == master.pid, "the master selected")
        text = str(panel.render())
        assert "not in the latest" not in text
        assert f"state {master.state}" in text
        chld = next(line for line in text.splitlines() if line.startswith("17 "))
        assert "●" in chld or "handler" in chld  # the master's SIGCHLD handler
        await pilot.press("q")


def with_exiting_master_scan(tmp_path: Path) -> Path:
    """The recording plus, after the master's `exit` event, a scan of it mid-exit as measured
    on this machine (`sigscope trace --record` three times out of three): state R and no
    handler left (Python resets its handlers as it finalizes), only SIGPIPE/SIGXFSZ ignored."""
    lines = RECORDING.read_text().splitlines()
    out: list[str] = []
    for line in lines:
        out.append(line)
        entry = json.loads(line)
        if entry.get("kind") == "exit" and entry.get("role") == "master":
            scan = next(
                json.loads(x) for x in reversed(out) if json.loads(x).get("kind") == "snapshot"
            )
            master = dict(scan["processes"][0], state="R")
            master["masks"] = dict(master["masks"], caught="0000000000000000")
            out.append(json.dumps({**scan, "t": entry["t"] + 1, "processes": [master]}))
    path = tmp_path / "exiting.jsonl"
    path.write_text("\n".join(out) + "\n")
    return path


async def test_an_exiting_master_shows_the_dispositions_it_worked_with(tmp_path: Path) -> None:
    recording = with_exiting_master_scan(tmp_path)
    app = ReplayApp(ReplaySettings(recording), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("G")
        panel = app.panel("dispositions")
        assert isinstance(panel, DispositionsPanel) and app.replay is not None
        master = app.replay.master_pid
        await until(pilot, lambda: app.process_tree.row_for(master), "the master's row")
        app.process_tree.select_pid(master)
        await until(pilot, lambda: panel.pid == master, "the master selected")
        text = str(panel.render())
        assert "state S" in text and "as it was before it exited" in text
        chld = next(line for line in text.splitlines() if line.startswith("17 "))
        assert "●" in chld or "handler" in chld  # not the blank row of the mid-exit scan
        await pilot.press("q")

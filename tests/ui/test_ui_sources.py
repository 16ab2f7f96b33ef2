"""The dashboard on a recording (no live process) and on an attached tree (one we did not
start), driven with Pilot; bad input to both commands is one line and exit status 2."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from sigscope.ui.app import LAB_ONLY_ACTIONS, LAB_ONLY_BUTTONS, SigscopeApp
from sigscope.ui.replay_app import ReplayApp
from sigscope.ui.settings import AttachSettings, ReplaySettings
from tests.conftest import record_trace
from tests.ui.helpers import until


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "lab.jsonl"
    sends = ["0.3:USR1@worker:0", "0.6:KILL@worker:1", "1.2:TERM"]
    record_trace(path, "--workers", "2", *(a for s in sends for a in ("--send", s)))
    return path


async def test_replay_plays_pauses_steps_jumps_and_refuses_to_signal(recording: Path) -> None:
    app = ReplayApp(ReplaySettings(recording), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        replay = app.replay
        assert replay is not None and replay.position == 0 and not replay.playing
        await pilot.press("full_stop")
        await until(pilot, lambda: app.replay is not None and app.replay.position == 1)
        await pilot.press("j")  # a tenth of the recording ahead
        await until(pilot, lambda: app.replay is not None and app.replay.position > 1)
        await pilot.press("G")  # to the end
        await until(pilot, lambda: app.replay is not None and app.replay.at_end)
        # The tree was rebuilt from the events: the master and three workers, all gone.
        rows = {r.pid: r for r in app.process_tree.rows_shown}
        assert any(r.role == "master" for r in rows.values())
        assert sum(1 for r in rows.values() if r.role.strip().startswith("worker")) == 3
        await pilot.press("g")  # back to the start: a fresh replay, every panel cleared
        await until(pilot, lambda: app.replay is not None and app.replay.position == 0)
        await pilot.press("right_square_bracket")
        assert app.replay is not None and app.replay.speed == 2.0
        await pilot.press("space")
        await until(pilot, lambda: app.replay is not None and app.replay.at_end)
        # The ended event reaches the app as a message, a moment after the last delivery.
        await until(
            pilot, lambda: "The recorded lab ended here" in str(app.query_one("#banner").render())
        )
        # A recording has nothing to signal: the menu's send is refused in plain words.
        app.send_signal([app.replay.master_pid], 10)
        await pilot.pause()
        await until(
            pilot,
            lambda: (
                "cannot be signalled" in app.status_line.text
                or "not running" in app.status_line.text
            ),
        )
        await pilot.press("q")


async def test_attach_shows_a_tree_and_sends_only_into_it() -> None:
    script = (
        "import os, time\nfor _ in range(2):\n    os.fork() or time.sleep(60)\ntime.sleep(60)\n"
    )
    root = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        app = SigscopeApp(AttachSettings(root.pid))
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: len(app.process_tree.rows_shown) >= 3)
            assert f"attached to pid {root.pid}" in app.sub_title
            # Not our lab: no TTIN/TTOU, reaping, spawn or restart, neither as buttons nor
            # footer keys nor palette commands, and their keys do nothing.
            for button in LAB_ONLY_BUTTONS:
                assert not app.query(f"#{button}"), button
            assert app.query("#btn-SIGTERM")  # signalling one process of the tree still is
            shown = {ab.binding.action.split("(")[0] for ab in app.screen.active_bindings.values()}
            assert not shown & LAB_ONLY_ACTIONS, shown
            assert "signal_menu" in shown
            titles = " ".join(c.title for c in app.get_system_commands(app.screen))
            assert "SIGTTIN" not in titles and "Restart" not in titles
            tree_before = app.lab
            await pilot.press("plus", "m", "n", "R")  # returns once the keys are handled
            await pilot.pause()
            assert app.screen is app.screen_stack[0] and app.lab is tree_before
            pids = [r.pid for r in app.process_tree.rows_shown]
            child = next(p for p in pids if p != root.pid)
            app.send_signal([child], 15)
            await until(
                pilot,
                lambda: (
                    child
                    not in {
                        r.pid
                        for r in app.process_tree.rows_shown
                        if r.state not in ("gone", "reaped", "Z")
                    }
                ),
            )
            app.action_reaping()  # lab-only: refused in words
            await pilot.pause()
            await pilot.press("escape")
            await pilot.press("q")
    finally:
        from sigscope import procfs
        from tests.conftest import kill_and_reap

        kids = set(procfs.descendants_of(root.pid))
        root.kill()
        root.wait()
        kill_and_reap(kids)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["attach", "1"], "off-limits"),
        (["attach", "4000000"], "no process has pid 4000000"),
        (["attach", "x"], "is not a pid"),
        (["replay", "/nonexistent.jsonl"], "cannot read"),
        (["replay", __file__], ":1: not JSON"),
    ],
)
def test_bad_input_is_one_line(args: list[str], message: str) -> None:
    out = subprocess.run(["sigscope", *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr


def test_replay_json_prints_the_recorded_events(recording: Path) -> None:
    out = subprocess.run(
        ["sigscope", "replay", str(recording), "--json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.count("\n") == sum(
        1 for line in recording.read_text().splitlines()[1:] if '"kind":"snapshot"' not in line
    )


_ = asyncio

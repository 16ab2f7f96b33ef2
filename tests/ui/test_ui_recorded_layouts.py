"""The main layouts on a *recorded* lab (tests/data/lab-recording.jsonl: reaping off, a worker
killed into a zombie, a TTIN, then TERM), so what is on screen does not depend on timing: at
120×40 every panel shows the zombie moment; at 80×24 the tree and tabs do."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigscope.observe.sampler import Snapshot
from sigscope.sources.record import load
from sigscope.ui.replay_app import ReplayApp
from sigscope.ui.settings import ReplaySettings
from tests.ui.helpers import until

RECORDING = Path(__file__).parents[1] / "data" / "lab-recording.jsonl"


def zombie_moment() -> tuple[int, int]:
    """(entry index just after the first snapshot showing a Z, that zombie's pid)."""
    for i, entry in enumerate(load(RECORDING).entries):
        if isinstance(entry, Snapshot):
            zombies = [p.pid for p in entry.processes if p.state == "Z"]
            if zombies:
                return i + 1, zombies[0]
    raise AssertionError("the recording shows no zombie")


def screen_text(app: ReplayApp) -> str:
    return app.export_screenshot().replace("&#160;", " ")


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (
            (120, 40),
            [
                "Processes",
                "Signals",
                "Events",
                "Master",
                "Dispositions",
                "Timers",
                "SIGKILL",
                "zombies",
            ],
        ),
        ((80, 24), ["Processes", "Events", "Signals", "Master"]),
    ],
)
async def test_layouts_show_the_recorded_zombie(size: tuple[int, int], expected: list[str]) -> None:
    position, zombie = zombie_moment()
    app = ReplayApp(ReplaySettings(RECORDING), paused=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert app.replay is not None
        app.replay.jump(position)
        # The events reach the app as messages; the tree shows what they say.
        await until(
            pilot,
            lambda: (row := app.process_tree.row_for(zombie)) is not None and row.state == "Z",
            f"{zombie} shown as a zombie",
        )
        assert app.layout_mode == ("full" if size == (120, 40) else "compact")
        # The scan that shows the zombie and the events up to it (the kill) come as separate
        # messages, and the panels draw a batch of events a moment later: wait for all of it.
        words = [*expected, str(zombie)]
        await until(
            pilot,
            lambda: all(word in screen_text(app) for word in words),
            f"{words} on the {size} screen",
        )
        await pilot.press("q")

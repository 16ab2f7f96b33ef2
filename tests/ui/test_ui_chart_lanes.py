"""The chart's lanes in the lesson layout at 120×40, on a real lab of four workers: every lane,
arrowhead and mark is inside the chart (none falls off the side), a zombie's ``Z`` is drawn on
its lane, a worker that replaces a dead one gets a lane of its own (the old one ends at its
reap), and no label is cut: a long one wraps onto the row's next line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sigscope.course.catalog import resolve_lesson
from sigscope.lab.controller import Lab
from sigscope.ui.lesson_app import LessonApp
from sigscope.ui.widgets.sequence_chart import SequenceChart
from tests.ui.helpers import until

WAIT = 30.0

LESSON = '''title = "Four workers"
summary = """
Four idle workers, and a master that does not reap (yet).
"""
sources = ["kill(2)"]

[lab]
workers = 4
behaviour = "idle"
reaping = "off"

[[steps]]
title = "Make a zombie"
text = """
Kill worker 3 with SIGKILL.
"""
expect = { sent = "SIGKILL", worker = 3 }
hints = ["Send SIGKILL."]
solution = [{ send = "KILL@worker:3" }]
sources = ["kill(2)"]
'''


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "01-four-workers.toml").write_text(LESSON)
    return lessons


def drawn(chart: SequenceChart) -> list[str]:
    """The chart's lines as on screen (the header included)."""
    return [chart.render_line(y).text for y in range(chart.size.height)]


async def test_four_workers_and_a_respawn_fit_the_lesson_layout(folder: Path) -> None:
    app = LessonApp(resolve_lesson("1", folder), folder, save_progress=False)
    async with app.run_test(size=(120, 40)) as pilot:
        lab: Lab = await until(pilot, lambda: app.lab, "the lab")
        for i in range(4):
            await asyncio.to_thread(lab.wait_for, kind="ready", index=i, timeout=WAIT)
        chart = app.panel("chart")
        assert isinstance(chart, SequenceChart)
        chart.focus()
        w3 = lab.worker(3).pid
        lab.send(w3, "USR1")
        await asyncio.to_thread(lab.wait_for, kind="received", pid=w3, timeout=WAIT)
        since = lab.cursor()
        lab.send(w3, "KILL")
        # The sampler sees the zombie; the chart draws a Z on worker 3's lane.
        zombie = await until(
            pilot,
            lambda: next((r for r in chart.rows if r.glyph == "Z"), None),
            "the zombie's mark",
        )
        assert zombie.receiver == "w3"
        # Reap it: the master forks a replacement with a new pid, which gets its own lane.
        lab.set_reaping("handler")
        await asyncio.to_thread(lab.wait_for, kind="ready", index=3, since=since, timeout=WAIT)
        new = lab.worker(3).pid
        assert new != w3
        await until(pilot, lambda: chart.model.lane("w3.1") is not None, "the new lane")
        await until(pilot, lambda: chart.model.held == 0, "the reorder window to empty")
        await pilot.pause()
        old_lane, new_lane = chart.model.lane("w3"), chart.model.lane("w3.1")
        assert old_lane is not None and new_lane is not None
        assert (old_lane.pid, new_lane.pid) == (w3, new)
        assert old_lane.end_t is not None and new_lane.end_t is None

        g = chart._geometry()
        width = chart.size.width - 1  # the vertical scrollbar
        assert not g.overflow and g.span <= width
        # Every lane has a column inside the chart, named in the header.
        assert {la.key for la in chart.model.lanes} <= set(g.index)
        header = chart._header_text(0).plain
        for lane in g.lanes:
            title = lane.title if lane is not None else f"+{len(g.folded)}"
            assert title[: g.width - 1] in header[:width]  # "ker" for kernel in a narrow one
        # Every arrow's head and every mark is drawn inside the chart, on its lane.
        for row in chart.rows:
            lanes = chart._row_lanes(row).plain
            heads = [i for i, c in enumerate(lanes) if c in "▶◀↺"]
            if row.kind == "arrow":
                assert heads and max(heads) < width, (row.label(), lanes)
            else:
                at = g.centre(row.receiver)
                assert lanes[at] == row.glyph[:1] and at < width
        # No label is cut: each wraps onto whole lines that together say all of it.
        for row in chart.rows:
            lines = chart._label_lines(row)
            assert " ".join(line.plain for line in lines).split() == row.label().split()
        # On screen: the zombie's Z and the kill's arrowhead into worker 3's lane.
        await pilot.press("home")
        screen = "\n".join(drawn(chart))
        assert "▶" in screen
        text = app.export_screenshot()
        assert "zombie" in text
        await pilot.press("q")

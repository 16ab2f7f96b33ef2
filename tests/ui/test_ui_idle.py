"""An idle dashboard draws nothing it did not change (issue 14).

A real lab of two idle workers, nothing sent: over two seconds the sequence chart renders no
line at all, and the process tree renders only rows whose text changed, which is each row's
AGE once a second. Renders are counted where Textual asks a line-API widget for a line
(``render_line``): a line served from Textual's own cache is not counted, and a panel that
calls ``refresh()`` for nothing is. A signal sent afterwards must be drawn, so the counters
are seen to count.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from sigscope.sources.settings import LabSettings
from sigscope.ui.app import SigscopeApp
from sigscope.ui.widgets.process_tree import ProcessTree
from sigscope.ui.widgets.sequence_chart import SequenceChart
from tests.ui.helpers import until

IDLE_SECONDS = 2.0


def count_lines(widget: Any) -> Counter[int]:
    """Count the lines Textual asks ``widget`` to render, by screen line."""
    counts: Counter[int] = Counter()
    render_line = widget.render_line

    def counted(y: int) -> Any:
        counts[y] += 1
        return render_line(y)

    widget.render_line = counted  # on the instance: Textual looks it up there
    return counts


def settled(app: SigscopeApp) -> bool:
    """Started and quiet: both workers sleeping in the tree, the master's status answered,
    nothing waiting in the event list or in the chart's reorder window, no notice shown."""
    rows = app.process_tree.rows_shown
    workers = [r for r in rows if r.role.startswith("worker") and r.state == "S"]
    chart = app.panel("chart")
    log = app.event_log
    return (
        len(workers) == 2
        and app.master_panel.state.target == 2
        and isinstance(chart, SequenceChart)
        and chart.model.held == 0
        and not log._pending
        and app._tree_timer is None
        and app._status_timer is None
        and not app.status_line.has_class("-notice")
    )


async def test_an_idle_dashboard_redraws_only_the_ages() -> None:
    app = SigscopeApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: settled(app), "an idle, settled dashboard")
        chart = app.panel("chart")
        tree = app.process_tree
        assert isinstance(chart, SequenceChart) and isinstance(tree, ProcessTree)
        since = app.lab.cursor() if app.lab is not None else 0
        chart_lines, tree_lines = count_lines(chart), count_lines(tree)
        ages = {r.pid: r.age for r in tree.rows_shown}
        start = time.monotonic()
        await pilot.pause(IDLE_SECONDS)  # the window measured, not a wait for something
        elapsed = time.monotonic() - start
        assert app.lab is not None
        quiet = app.lab.events(since)
        assert not quiet, f"not idle: the lab said {quiet[:3]}"
        assert sum(chart_lines.values()) == 0, f"the idle chart rendered {dict(chart_lines)}"
        # The header (line 0) never; each row at most once per second its AGE turned over.
        rows = len(tree.rows_shown)
        per_row = int(elapsed) + 2
        assert 0 not in tree_lines, f"the header was redrawn: {dict(tree_lines)}"
        assert set(tree_lines) <= set(range(1, rows + 1)), dict(tree_lines)
        assert all(n <= per_row for n in tree_lines.values()), (dict(tree_lines), elapsed)
        # The ages did move on (the tick runs): the tree is not simply frozen.
        assert any(r.age != ages.get(r.pid) for r in tree.rows_shown)

        # And the counters count: a signal to a worker is drawn in the chart.
        worker = next(r for r in tree.rows_shown if r.role == "worker 0")
        app.lab.send(worker.pid, "USR1")
        await asyncio.to_thread(app.lab.wait_for, kind="received", pid=worker.pid, timeout=30)
        await until(pilot, lambda: sum(chart_lines.values()) > 0, "the chart drawing the signal")
        await pilot.press("q")

"""A new row grows a panel's scrollable area without laying out the whole screen (issue 14:
sent → arrow drawn).

Textual's ``virtual_size`` asks for a layout of every widget on the screen whenever it
changes: on the dashboard that was ~4.7 ms of a frame for each new row of the event list or
the chart. ``sigscope.ui.widgets.virtual_size.grow`` lays out only when a scrollbar comes or
goes. The screen must look exactly as a full layout would make it: same cells, same
scrollbar thumbs, same scroll range.
"""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.screen import Screen

from sigscope.ui.widgets.event_log import EventLog
from sigscope.ui.widgets.sequence_chart import SequenceChart
from tests.ui.helpers import until
from tests.ui.test_ui_widgets import S, ev


class Panels(App[None]):
    CSS = "SequenceChart { height: 10; } EventLog { height: 14; }"

    def compose(self) -> ComposeResult:
        yield SequenceChart()
        yield EventLog()


def _looks(app: Panels) -> tuple[Any, ...]:
    """What is on screen (every cell) and each panel's scroll state."""
    chops = app.screen._compositor.render_update(full=True)
    state = []
    for widget in (app.query_one(SequenceChart), app.query_one(EventLog).table):
        bar = widget.vertical_scrollbar
        state.append(
            (
                widget.virtual_size,
                widget.max_scroll_y,
                widget.scroll_y,
                widget.show_vertical_scrollbar,
                bar.window_virtual_size if widget.show_vertical_scrollbar else None,
                bar.window_size if widget.show_vertical_scrollbar else None,
            )
        )
    return chops.render_segments(app.console), tuple(state)


async def test_rows_added_to_full_panels_lay_out_nothing_and_look_as_a_layout_would() -> None:
    # Signals to a worker a second apart, each a row of its own in both panels (the chart
    # folds a quick run of the same signal into one row).
    events = [
        ev("sent", 1_000 * S + i * S, 1, role="ui", sig=("SIGUSR1", "SIGUSR2")[i % 2], target=50)
        for i in range(200)
    ]
    app = Panels()
    async with app.run_test(size=(100, 30)) as pilot:
        chart, log = app.query_one(SequenceChart), app.query_one(EventLog)
        layouts: list[int] = []
        refresh_layout = Screen._refresh_layout

        def counted(screen: Screen[Any], *args: Any, **kwargs: Any) -> Any:
            layouts.append(1)
            return refresh_layout(screen, *args, **kwargs)

        app.screen._refresh_layout = counted.__get__(app.screen)  # type: ignore[method-assign]
        given = 0

        def give(n: int) -> None:
            nonlocal given
            for event in events[given : given + n]:
                chart.add_event(event)
                log.add_event(event)
            given += n
            chart.flush()

        async def shown() -> None:
            # The event list adds what it was given at its next flush (a timer).
            await until(pilot, lambda: len(log.table.rows) == given, "the rows in the list")
            await pilot.pause()

        # Until both panels overflow: the scrollbars appear, which is a layout.
        while not (chart.show_vertical_scrollbar and log.table.show_vertical_scrollbar):
            assert given < len(events) // 2, "the panels never overflowed"
            give(1)
            await shown()
        layouts.clear()
        rows = (len(chart.rows), len(log.table.rows))
        heights = (chart.virtual_size.height, log.table.virtual_size.height)
        for _ in range(12):
            give(2)
            await shown()
        assert len(chart.rows) > rows[0]
        assert len(log.table.rows) > rows[1]
        assert chart.virtual_size.height > heights[0]
        assert log.table.virtual_size.height > heights[1]
        assert layouts == []
        grown = _looks(app)
        app.screen.refresh(layout=True)
        await until(pilot, lambda: layouts, "the layout asked for")
        await pilot.pause()
        assert _looks(app) == grown

"""The event list reads as sentences: at 120×40 every row says what happened in a whole
sentence (wrapped, never cut), the same words as the chart's captions; the master's periodic
``status`` rows are folded until asked for (``v``); raw fields come on demand (``r``), as JSON,
never as Python dicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from sigscope.lab.controller import Lab
from sigscope.observe.sequence import describe
from sigscope.sources.record import load
from sigscope.ui.replay_app import ReplayApp
from sigscope.ui.settings import ReplaySettings
from sigscope.ui.widgets.event_log import EventLog
from tests.ui.helpers import until

RECORDING = Path(__file__).parents[1] / "data" / "lab-recording.jsonl"
WAIT = 30.0


async def test_every_row_is_a_whole_sentence_at_120x40() -> None:
    app = ReplayApp(ReplaySettings(RECORDING), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.replay is not None
        entries = load(RECORDING).entries
        app.replay.jump(len(entries))
        log = app.event_log
        await until(pilot, lambda: log.table.rows and log.table.rows[-1]["kind"] == "ended", "end")
        table = log.table
        width = table._text_width()
        assert table.size.width < 60  # a narrow panel: sentences must wrap to be whole
        for event in table.rows:
            lines = table.row_lines(event, width)
            assert len(lines) == table.row_height(event, width)
            assert all(line.cell_len <= width for line in lines)
            said = " ".join(line.plain[8:].strip() for line in lines)
            assert said == describe(event)
        # On screen, the whole sentence of the last rows (the table follows the newest).
        screen = [table.render_line(y).text.rstrip() for y in range(table.size.height)]
        assert not any(line.endswith("…") for line in screen)
        words = " ".join(line[8:].strip() for line in screen).split()
        assert words[-4:] == ["the", "lab", "has", "ended"]
        reaped = ["reaped:", "pid", "28470", "exited", "with", "code", "0"]
        assert any(words[i : i + len(reaped)] == reaped for i in range(len(words)))
        await pilot.press("q")


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield EventLog(id="log")


def lab_events_with_a_status() -> list[dict[str, Any]]:
    """A real lab's stream, with two of the master's status reports among the rest."""
    with Lab(workers=1) as lab:
        lab.wait_all(1, kind="ready", timeout=WAIT)
        lab.request_status()
        lab.wait_for(kind="status", timeout=WAIT)
        since = lab.cursor()
        lab.send("worker:0", "USR1")
        lab.wait_for(kind="received", sig="SIGUSR1", since=since, timeout=WAIT)
        since = lab.cursor()
        lab.request_status()
        lab.wait_for(kind="status", since=since, timeout=WAIT)
        return lab.events()


async def test_status_rows_fold_until_asked_and_raw_fields_on_demand() -> None:
    events = lab_events_with_a_status()
    statuses = [e for e in events if e["kind"] == "status"]
    assert len(statuses) >= 2
    app = LogApp()
    async with app.run_test(size=(120, 40)) as pilot:
        log = app.query_one(EventLog)
        for event in events:
            log.add_event(event)
        await until(pilot, lambda: len(log.shown_events) == len(events) - len(statuses), "rows")
        assert not any(e["kind"] == "status" for e in log.shown_events)
        header = str(log.query_one("#log-header").render())
        assert header.endswith(f"+{len(statuses)} status rows: v")
        # A key on the list shows them, and again folds them.
        log.table.focus()
        await pilot.pause()
        await pilot.press("v")
        await until(pilot, lambda: len(log.shown_events) == len(events), "status rows shown")
        assert "v: hide status rows" in str(log.query_one("#log-header").render())
        await pilot.press("v")
        await until(pilot, lambda: len(log.shown_events) < len(events), "folded again")

        # The worker's start event: a sentence first, no Python dict in the details.
        shown = log.shown_events
        start = next(
            i for i, e in enumerate(shown) if e["kind"] == "start" and e["role"] == "worker"
        )

        def details() -> str:
            return str(log.query_one("#log-details").render())

        log.table.move_to(start)
        sentence = describe(log.shown_events[start])
        await until(pilot, lambda: details().startswith(sentence), "the start event's details")
        assert "{'" not in details() and "r: every field" in details()
        await pilot.press("r")
        # JSON, as recorded
        await until(pilot, lambda: '"inherited": {"blocked": ' in details(), "every field")
        await pilot.press("r")
        await until(pilot, lambda: '"inherited"' not in details(), "the sentence again")


async def test_rows_that_arrive_together_are_listed_in_time_order() -> None:
    """A recording replayed listed "1.590 pid … left" above "1.573 reaped …" (the sampler's
    event came through the pipe first): events that reach the list together go by time."""
    events = [e for e in load(RECORDING).events if e.get("kind") != "status"]
    events = events[:40]
    shuffled = events[::-1]  # all in one batch, newest first
    app = LogApp()
    async with app.run_test(size=(120, 40)) as pilot:
        log = app.query_one(EventLog)
        for event in shuffled:
            log.add_event(event)
        await until(pilot, lambda: len(log.shown_events) == len(events), "rows")
        times = [e["t"] for e in log.shown_events]
        assert times == sorted(times)


async def test_the_event_log_pid_filter_takes_only_ascii_digits() -> None:
    """The event log's pid filter (a text box): "²" passed isdigit() and int() refused it."""
    from textual.app import App
    from textual.widgets import Input

    from sigscope.ui.widgets.event_log import EventLog

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield EventLog(id="log")

    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(EventLog)
        # The filter boxes are mounted just after the first frame (issue 14).
        await until(pilot, lambda: app.query("#log-pid"), "the pid filter box")
        box = app.query_one("#log-pid", Input)
        box.focus()
        await pilot.press("4", "2")
        await pilot.pause()
        assert log.pid_filter == 42
        box.value = "²"  # as if pasted: Input.Changed runs the filter
        await pilot.pause()
        assert log.pid_filter is None and box.value == "²"


async def test_a_filter_set_before_the_filter_boxes_exist_is_shown_in_them() -> None:
    """The boxes are mounted just after the first frame (issue 14): a filter set before that
    (a row selected at once) is kept, and the boxes are made showing it."""
    from textual.widgets import Input

    from sigscope.ui.widgets.event_log import EventLog

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield EventLog(id="log")

        def on_mount(self) -> None:
            log = self.query_one(EventLog)
            assert not log.query("#log-pid")  # (else this test shows nothing)
            log.set_filter(42, "SIGTERM")

    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(EventLog)
        await until(pilot, lambda: app.query("#log-sig"), "the filter boxes")
        assert app.query_one("#log-pid", Input).value == "42"
        assert app.query_one("#log-sig", Input).value == "SIGTERM"
        await pilot.pause()
        assert (log.pid_filter, log.sig_filter) == (42, "SIGTERM")


async def test_a_storms_rows_are_wrapped_once_per_sentence() -> None:
    # Each new row's height needs its sentence wrapped, and a storm is the same sentence
    # thousands of times: wrapping each row anew was ~13 ms a flush in a narrow panel (issue 14).
    from sigscope.ui.widgets import event_log

    app = LogApp()
    async with app.run_test(size=(30, 20)) as pilot:
        log = app.query_one(EventLog)
        event_log._wrap.cache_clear()
        sent = {"pid": 100, "role": "ui", "kind": "sent", "sig": "SIGUSR1", "target": 1234}
        log.add_events([{**sent, "t": 1_000_000 + i} for i in range(1000)])
        await until(pilot, lambda: len(log.table.rows) == 1000, "the storm's rows listed")
        width = log.table._text_width()
        assert log.table.row_height(log.table.rows[-1], width) > 1  # wrapped, not cut
        assert event_log._wrap.cache_info().misses == 1
        await pilot.pause()
        lines = [log.table.render_line(y).text.rstrip() for y in range(log.table.size.height)]
        assert "1234" in " ".join(lines)

"""The dashboard's data flow (issue 14): events come in batches, none lost; an idle dashboard
draws nothing it did not change.

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

from sigscope.lab.controller import Lab
from sigscope.ui.app import SLICE, SigscopeApp
from sigscope.ui.messages import LabEvents
from sigscope.ui.models.tree import format_age
from sigscope.ui.settings import LabSettings
from sigscope.ui.widgets.process_tree import ProcessTree
from sigscope.ui.widgets.sequence_chart import SequenceChart
from tests.ui.helpers import spy, until

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
        and app.dashboard._tree_timer is None
        and app.dashboard._status_timer is None
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


async def test_an_idle_dashboards_lab_is_scanned_once_a_second_and_a_key_brings_four_back() -> None:
    """The dashboard's own lab sampler idles at 1 Hz (htop: every 1.5 s), and a signal sent
    from the keyboard wakes it at once: the worker's count is drawn, and scans come at 4 Hz."""
    app = SigscopeApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: settled(app), "an idle, settled dashboard")
        lab = app.lab
        assert isinstance(lab, Lab) and lab.sampler is not None
        sampler = lab.sampler
        scans: list[tuple[float, bool]] = []  # (when, idle after it)
        sampler.subscribe(lambda _s: scans.append((time.monotonic(), sampler.idle)))

        def idle_run(n: int) -> list[float]:
            """The times of the last ``n`` + 1 scans if each of the last n came after an idle
            one (so the gaps between them are the idle cadence), else []."""
            last = scans[-n - 1 :]
            ok = len(last) == n + 1 and all(idle for _, idle in last[:-1])
            return [t for t, _ in last] if ok else []

        times = await until(pilot, lambda: idle_run(3), "3 scans of an idle sampler", timeout=60)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= 0.9, gaps
        # A key: USR1 to the selected worker (caught and reported); the sent event wakes the
        # sampler.
        worker = next(r for r in app.process_tree.rows_shown if r.role == "worker 0")
        await until(pilot, lambda: app.process_tree.select_pid(worker.pid), "worker 0 selected")
        seen = len(scans)
        pressed = time.monotonic()
        await pilot.press("u")
        await until(pilot, lambda: len(scans) >= seen + 6, "6 scans after the key")
        after = [t for t, _ in scans[seen : seen + 6]]
        assert after[0] - pressed < 0.6, after[0] - pressed
        fast = sorted(b - a for a, b in zip(after, after[1:], strict=False))
        assert fast[len(fast) // 2] <= 0.3, fast  # four a second
        await pilot.press("q")


async def test_a_busy_dashboard_takes_a_burst_in_one_batch_and_loses_nothing() -> None:
    """300 signals sent while the app's thread is busy (the test holds it, as a slow frame
    would): their few hundred events reach the app as one message or very few, not one each,
    and the event list holds every one of them, in the lab's order."""
    batches: list[tuple[dict[str, Any], ...]] = []

    def hook(message: Any) -> None:
        if isinstance(message, LabEvents):
            batches.append(message.events)  # what every handler of it will see

    app = SigscopeApp(LabSettings(workers=1))
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        lab = await until(pilot, lambda: app.lab, "the lab")
        await asyncio.to_thread(lab.wait_for, kind="ready", index=0, timeout=30)
        await until(pilot, lambda: len(app.event_log.shown_events) > 0, "the first events shown")
        worker = lab.worker(0).pid
        since = lab.cursor()
        batches.clear()
        # On the app's own thread: nothing is handed over until the burst is all in.
        for _ in range(300):
            lab.send(worker, "USR1")
        quiet = lab.cursor()
        while True:  # until the worker has said all it will (a quarter second of silence)
            try:
                lab.wait_for(since=quiet, timeout=0.25)
            except TimeoutError:
                break
            quiet = lab.cursor()
        sent = lab.events(since)
        ids = {id(e) for e in sent}

        def handed() -> list[dict[str, Any]]:
            return [e for batch in batches for e in batch if id(e) in ids]

        await until(pilot, lambda: len(handed()) >= len(sent), "the burst handed to the app")
        assert len(sent) >= 300 and handed() == sent  # each once, in the lab's order
        carrying = [len(b) for b in batches if any(id(e) in ids for e in b)]
        assert len(carrying) <= 2, carrying  # the burst, and at most an event that came late
        # The very event objects the lab delivered, in the event list too.
        assert [e for e in app.event_log.events if id(e) in ids] == sent
        await pilot.press("q")


async def test_a_large_batch_is_applied_in_slices_in_order() -> None:
    """A batch larger than SLICE (a storm that came while the app was busy) is applied a slice
    at a time, the app's queue running in between, and a batch behind it waits its turn."""
    app = SigscopeApp(LabSettings(workers=1))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await until(pilot, lambda: app.lab, "the lab")
        calls = spy(app.dashboard, "apply_events")
        t = time.monotonic_ns()

        def note(i: int) -> dict[str, Any]:
            return {"t": t + i, "pid": lab.pid, "role": "ui", "kind": "note", "text": str(i)}

        big = [note(i) for i in range(2 * SLICE + 5)]
        small = [note(len(big) + i) for i in range(3)]
        app.post_message(LabEvents.of(app.generation, big))
        app.post_message(LabEvents.of(app.generation, small))
        ids = {id(e) for e in big + small}

        def applied() -> list[dict[str, Any]]:
            return [e for (events,) in calls for e in events if id(e) in ids]

        await until(pilot, lambda: len(applied()) == len(ids), "both batches applied")
        assert applied() == big + small  # in order, each once
        slices = [len(events) for (events,) in calls if any(id(e) in ids for e in events)]
        assert len(slices) >= 3 and max(slices) <= SLICE, slices
        await pilot.press("q")


async def test_a_dashboard_whose_processes_are_a_minute_old_sleeps_between_minutes() -> None:
    """Ages are drawn to the second for a process's first minute, then to the minute (as
    ``docker ps`` does): a quiet lab whose processes are all past a minute draws nothing and
    wakes for nothing until the next minute turns over. The real lab, with the dashboard's
    clock set 90 s ahead (its processes' starts are real), so the test need not wait a
    minute; the tick that was due draws every age in minutes, then none for 2 s."""
    app = SigscopeApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: settled(app), "an idle, settled dashboard")
        tree = app.process_tree
        dashboard = app.dashboard
        assert isinstance(tree, ProcessTree) and app.lab is not None
        youngest = min(r.age for r in tree.rows_shown if r.age is not None)
        offset = int((90 - youngest) * 1e9)  # the youngest is 90 s old, the others a bit more
        dashboard.use_clock(lambda: time.monotonic_ns() + offset)

        def in_minutes() -> bool:
            ages = [format_age(r.age) for r in tree.rows_shown]
            return len(ages) == 3 and all(a.endswith("m") for a in ages)

        def next_tick_far() -> bool:
            due = dashboard._age_due
            return due is not None and due - dashboard.clock_ns() > 20e9

        # (The tick due when the clock was moved fires on the old clock's schedule: after it,
        # the next is the next minute's.)
        await until(pilot, lambda: in_minutes() and next_tick_far(), "ages in minutes, asleep")
        due = dashboard._age_due
        since = app.lab.cursor()
        tree_lines, chart_lines = count_lines(tree), count_lines(app.panel("chart"))
        await pilot.pause(IDLE_SECONDS)  # the window measured, not a wait for something
        assert not app.lab.events(since), "not idle"
        assert sum(tree_lines.values()) == 0, f"the sleeping tree rendered {dict(tree_lines)}"
        assert sum(chart_lines.values()) == 0, dict(chart_lines)
        assert dashboard._age_due == due  # no tick ran or was moved

        # An event wakes it: a new worker (TTIN) is young, so the tick is a second away again.
        app.lab.send("master", "TTIN")
        await until(pilot, lambda: len(tree.rows_shown) == 4, "the new worker's row")
        await until(
            pilot,
            lambda: (
                dashboard._age_due is not None and dashboard._age_due - dashboard.clock_ns() <= 1e9
            ),
            "a tick within the second",
        )
        await pilot.press("q")

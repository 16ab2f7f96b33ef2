"""The dashboard's widgets on their own: tiny inline apps fed real event streams.

The event streams come from real labs (recorded once per scenario with ``lab.events()``, the
lab closed before any widget sees them), or, where a test needs exact times (aggregation
windows, countdowns, highlight fading), from dicts in the contract's shape with a frozen clock.
Snapshots are small frozen dataclasses with the sampler's field names, or a real
``Sampler.scan()`` of a live lab.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget

from sigscope.lab.controller import Lab
from sigscope.signames import RTMIN, signal_name
from sigscope.ui.models.rates import RateHistory
from sigscope.ui.widgets.dispositions import DispositionsPanel
from sigscope.ui.widgets.process_tree import rate_text
from sigscope.ui.widgets.sequence_chart import (
    MAX_ROWS,
    PENDING_KEYS,
    PENDING_PER_KEY,
    SequenceChart,
)
from sigscope.ui.widgets.timers import TimersPanel
from tests.ui.helpers import until

WAIT = 15.0
S = 1_000_000_000  # ns per second
MS = 1_000_000
USR1 = int(signal.SIGUSR1)


# -- helpers ---------------------------------------------------------------------------------
class One(App[None]):
    """An app holding one widget, full screen."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


class Clock:
    """A frozen clock the test moves by hand (ns or seconds, as the widget wants)."""

    def __init__(self, ns: int = 1_000 * S) -> None:
        self.ns = ns

    def monotonic_ns(self) -> int:
        return self.ns

    def monotonic(self) -> float:
        return self.ns / S

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * S)


@dataclass(frozen=True)
class Masks:
    pending: frozenset[int] = frozenset()
    shared_pending: frozenset[int] = frozenset()
    blocked: frozenset[int] = frozenset()
    ignored: frozenset[int] = frozenset()
    caught: frozenset[int] = frozenset()
    sigq: tuple[int, int] = (0, 1000)


@dataclass(frozen=True)
class View:
    pid: int
    masks: Masks = field(default_factory=Masks)
    cpu_seconds: float = 0.0
    state: str = "S"
    role: str | None = "worker"
    index: int | None = 0
    behaviour: str | None = "idle"


@dataclass(frozen=True)
class Snap:
    t: int
    processes: tuple[View, ...]

    def by_pid(self, pid: int) -> View | None:
        return next((p for p in self.processes if p.pid == pid), None)


def ev(kind: str, t: int, pid: int, role: str = "worker", **fields: Any) -> dict[str, Any]:
    return {"t": t, "pid": pid, "role": role, "kind": kind, **fields}


@functools.cache
def recorded_lab() -> tuple[dict[str, Any], ...]:
    """A real lab's stream: USR1 to worker 0, a storm of 1000 USR2 to worker 1, SIGKILL to
    worker 0 (reaped and replaced), then TERM to the master (graceful shutdown, lab ends)."""
    with Lab(workers=2) as lab:
        lab.wait_all(2, kind="ready", timeout=WAIT)
        since = lab.cursor()
        lab.send("worker:0", "USR1")
        lab.wait_for(kind="received", sig="SIGUSR1", since=since, timeout=WAIT)
        w1 = lab.worker(1).pid
        since = lab.cursor()
        for _ in range(1000):
            lab.send(w1, "USR2")
        lab.wait_for(kind="received", sig="SIGUSR2", since=since, timeout=WAIT)
        w0 = lab.worker(0).pid
        since = lab.cursor()
        lab.send(w0, "KILL")
        lab.wait_for(kind="reaped", child=w0, since=since, timeout=WAIT)
        lab.wait_for(kind="ready", index=0, since=since, timeout=WAIT)
        lab.send("master", "TERM")
        lab.wait_for(kind="ended", timeout=WAIT)
        return tuple(lab.events())


def arrows(chart: SequenceChart, sig: str) -> list[Any]:
    return [r for r in chart.rows if r.kind == "arrow" and r.sig == sig]


def one_arrow(chart: SequenceChart, sig: str) -> Any:
    """The chart's one arrow row for ``sig`` (it fails if there are none, or several)."""
    found = arrows(chart, sig)
    assert len(found) == 1, found
    return found[0]


@contextlib.asynccontextmanager
async def drawn(events: tuple[dict[str, Any], ...]) -> AsyncIterator[SequenceChart]:
    """A chart in a running app, given the events one at a time (as the live stream gives
    them) and drawn."""
    chart = SequenceChart()
    async with One(chart).run_test(size=(120, 40)) as pilot:
        for event in events:
            chart.add_event(event)
        chart.flush()
        await pilot.pause()
        yield chart


# -- the sequence chart ----------------------------------------------------------------------
async def test_chart_draws_real_lab_arrows_latency_exits_and_reaps() -> None:
    events = recorded_lab()
    async with drawn(events) as chart:
        row = one_arrow(chart, "SIGUSR1")
        assert (row.sender, row.receiver, row.count, row.handled) == ("you", "w0", 1, 1)
        sent = next(e for e in events if e["kind"] == "sent" and e["sig"] == "SIGUSR1")
        got = next(e for e in events if e["kind"] == "received" and e["sig"] == "SIGUSR1")
        assert row.lat_sum == got["t"] - sent["t"] > 0

        texts = chart.row_texts()
        line = texts[chart.rows.index(row)]
        assert "SIGUSR1 · handled after" in line
        # The arrow runs from the "you" lane rightwards to w0's lane.
        assert line.index("●") < line.index("▶") < line.index("SIGUSR1")

        kill = arrows(chart, "SIGKILL")
        assert len(kill) == 1 and kill[0].handled == 0  # SIGKILL runs no handler
        # SIGCHLD has no `sent`: it is drawn from the kernel lane to the master.
        chld = arrows(chart, "SIGCHLD")
        assert chld and all(r.sender == "kernel" and r.receiver == "master" for r in chld)
        assert any("killed by SIGKILL (-9)" in t for t in texts)
        assert any("master: graceful shutdown" in t for t in texts)
        # An idle worker's handler runs, then resets SIGTERM to default and re-raises it: the
        # caption says so (not "handled", then an unexplained death).
        said = "dies by SIGTERM: its handler re-raised it"
        assert sum(said in t for t in texts) == 2
        assert texts[-1].endswith("the lab has ended")
        # The master's TERMs to its workers start on the master's lane.
        assert {r.sender for r in arrows(chart, "SIGTERM")} == {"you", "master"}


async def test_chart_aggregates_a_real_storm_of_1000_into_one_row() -> None:
    events = recorded_lab()
    async with drawn(events) as chart:
        storm = one_arrow(chart, "SIGUSR2")
        assert storm.count == 1000
        received = sum(1 for e in events if e["kind"] == "received" and e["sig"] == "SIGUSR2")
        # Standard signals coalesce while pending: fewer handler runs than sends, all matched.
        assert storm.handled == received and 0 < received <= 1000
        text = chart.row_texts()[chart.rows.index(storm)]
        assert "SIGUSR2 ×1000" in text


async def test_chart_keeps_one_strip_per_line_however_often_a_storm_row_changes() -> None:
    # A strip per version of a row filled a 1,024-entry cache with stale copies of one storm
    # row: objects the garbage collector scanned at every full collection (issue 14).
    chart = SequenceChart()
    async with One(chart).run_test(size=(120, 40)) as pilot:
        t = 1_000 * S
        for i in range(300):
            chart.add_events([ev("sent", t + i * MS, 1, role="ui", sig="SIGUSR1", target=50)])
            chart.flush()
            await pilot.pause()
        assert one_arrow(chart, "SIGUSR1").count == 300
        assert len(chart._cache) <= 2 * chart.size.height


async def test_chart_redraws_only_the_storm_row_whose_count_moved() -> None:
    # Each batch of a storm redrew (and Textual restyled) every line of the chart for the one
    # row whose count moved: ~2.5 ms a frame (issue 14: storm frame lag).
    chart = SequenceChart()
    drawn: list[str] = []
    render_line = chart.render_line

    def noted(y: int) -> Any:
        strip = render_line(y)
        drawn.append(strip.text)
        return strip

    chart.render_line = noted  # type: ignore[method-assign]
    async with One(chart).run_test(size=(120, 40)) as pilot:
        t = 1_000 * S
        chart.add_events([ev("sent", t - S, 1, role="ui", sig="SIGUSR2", target=50)])
        for i in range(3):
            chart.add_events([ev("sent", t + i * MS, 1, role="ui", sig="SIGUSR1", target=50)])
            chart.flush()
            await pilot.pause()
        for i in range(3, 6):
            drawn.clear()
            chart.add_events([ev("sent", t + i * MS, 1, role="ui", sig="SIGUSR1", target=50)])
            chart.flush()
            await pilot.pause()
            rows = [line for line in drawn if "SIGUSR1" in line]
            assert rows and f"×{i + 1}" in rows[-1], drawn
            assert len(drawn) <= 2, drawn  # the storm row's lines, nothing else
        assert one_arrow(chart, "SIGUSR1").count == 6


async def test_chart_and_event_list_redraw_kept_lines_in_a_new_theme() -> None:
    # Kept strips were keyed without the widget's style: after a theme change, rows already
    # drawn kept the old theme's colours (the style is now taken once a frame, and kept).
    from sigscope.ui.widgets.event_log import EventLog

    chart, log = SequenceChart(), EventLog()

    class Two(App[None]):
        def compose(self) -> ComposeResult:
            yield chart
            yield log

    app = Two()
    async with app.run_test(size=(120, 40)) as pilot:
        sent = ev("sent", 1_000 * S, 1, role="ui", sig="SIGUSR1", target=50)
        chart.add_events([sent])
        chart.flush()
        log.add_events([sent])
        await until(pilot, lambda: len(log.table.rows) == 1, "the row listed")
        await pilot.pause()

        def backgrounds() -> tuple[Any, Any]:
            row = chart.render_line(2)  # the first row, under the two header lines
            return row._segments[0].style.bgcolor, log.table.render_line(0)._segments[0].style

        before = backgrounds()
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        await pilot.pause()
        after = backgrounds()
        assert after[0] != before[0] and after[1] != before[1], (before, after)
        assert after[0] == chart.rich_style.bgcolor


async def test_chart_storage_is_bounded_after_100k_events() -> None:
    chart = SequenceChart()
    async with One(chart).run_test(size=(100, 30)) as pilot:
        t = 1_000 * S
        # Sends that never merge (each a full window apart, alternating signals) to many
        # processes, never answered: the worst case for rows and for unmatched sends.
        batch = []
        for i in range(100_000):
            t += 300 * MS
            sig = "SIGUSR1" if i % 2 else "SIGHUP"
            batch.append(ev("sent", t, 10, "ui", sig=sig, target=1000 + i % 5000))
            if len(batch) == 5000:
                chart.add_events(batch)
                batch = []
                await pilot.pause()
        chart.flush()
        assert chart.model.sent == 100_000
        assert len(chart.rows) == MAX_ROWS
        assert len(chart.model.pending_keys()) <= PENDING_KEYS
        assert all(len(q) <= PENDING_PER_KEY for q in chart.model._pending.values())
        assert len(chart.model.lanes) <= 3 + 8 + 1  # fixed lanes, pid lanes, "others"
        # The newest row is on screen (the chart follows the end).
        await pilot.pause()
        origin = chart.model.origin or 0
        newest = f"{(chart.rows[-1].t - origin) / S:8.3f}s"  # its time stamp
        shown = [chart.render_line(y).text for y in range(chart.size.height)]
        assert any(newest in line for line in shown)


async def test_chart_merges_only_within_the_storm_window_and_pairs_latencies() -> None:
    chart = SequenceChart(window_ns=0)  # in order already: drawn as added
    async with One(chart).run_test(size=(120, 30)) as pilot:
        t = 5_000 * S
        rt = signal_name(RTMIN + 1)
        add = chart.add_event
        add(ev("spawn", t, 2, "master", child=3, index=0, behaviour="idle"))
        # Real-time signals queue: three sends, three handler runs, paired in order.
        for i in range(3):
            add(ev("sent", t + i * MS, 1, "ui", sig=rt, target=3))
        for i in range(3):
            add(ev("received", t + (10 + i) * MS, 3, index=0, sig=rt))
        row = arrows(chart, rt)[0]
        assert (row.count, row.handled) == (3, 3)
        assert row.lat_sum == 3 * 10 * MS
        # Three USR1 close together, one handler run: the kernel merged them (pending once).
        t2 = t + 2 * S
        for i in range(3):
            add(ev("sent", t2 + i * MS, 1, "ui", sig="SIGUSR1", target=3))
        add(ev("received", t2 + 100 * MS, 3, index=0, sig="SIGUSR1"))
        first = arrows(chart, "SIGUSR1")[0]
        assert (first.count, first.handled, first.lat_sum) == (3, 1, 100 * MS)
        # A lone USR1 five seconds later is a new row, and its latency is its own.
        t3 = t2 + 5 * S
        add(ev("sent", t3, 1, "ui", sig="SIGUSR1", target=3))
        add(ev("received", t3 + 2 * MS, 3, index=0, sig="SIGUSR1"))
        later = arrows(chart, "SIGUSR1")
        assert len(later) == 2
        assert (later[1].count, later[1].handled, later[1].lat_sum) == (1, 1, 2 * MS)
        # The same signal to another lane does not merge into the storm row.
        add(ev("sent", t3 + 3 * MS, 1, "ui", sig="SIGUSR1", target=2))
        assert len(arrows(chart, "SIGUSR1")) == 3
        await pilot.pause()


async def test_chart_marks_a_real_zombie_the_sampler_saw() -> None:
    from sigscope.lab.controller import LabTimeout
    from sigscope.observe.sampler import Sampler

    with Lab(workers=1, reaping="off") as lab:
        lab.wait_all(1, kind="ready", timeout=WAIT)
        pid = lab.worker(0).pid
        sampler = Sampler(lab)
        sampler.scan()
        since = lab.cursor()
        lab.send(pid, "KILL")
        deadline = time.monotonic() + WAIT
        while True:
            sampler.scan()  # a scan that sees the change adds the `state` event
            try:
                lab.wait_for(kind="state", child=pid, state="Z", since=since, timeout=0.05)
                break
            except LabTimeout:
                assert time.monotonic() < deadline, "the sampler never saw the zombie"
        events = lab.events()
    chart = SequenceChart()
    async with One(chart).run_test(size=(120, 30)) as pilot:
        chart.add_events(events)
        chart.flush()
        await pilot.pause()
        zombie = [r for r in chart.rows if r.kind == "mark" and r.glyph == "Z"]
        assert len(zombie) == 1 and zombie[0].receiver == "w0"
        assert "zombie: dead, not reaped yet" in zombie[0].label()
        kill = arrows(chart, "SIGKILL")[0]
        assert chart.rows.index(kill) < chart.rows.index(zombie[0])
        chart.clear()
        await pilot.pause()
        assert chart.rows == [] and [la.key for la in chart.model.lanes] == [
            "you",
            "kernel",
            "master",
        ]


async def test_chart_pause_holds_events_then_draws_them() -> None:
    chart = SequenceChart(window_ns=0)  # in order already: drawn as added
    async with One(chart).run_test(size=(100, 30)) as pilot:
        chart.focus()
        t = 7_000 * S
        chart.add_event(ev("sent", t, 1, "ui", sig="SIGHUP", target=2, target_role="master"))
        await pilot.press("p")
        assert chart.paused
        chart.add_event(ev("sent", t + S, 1, "ui", sig="SIGTERM", target=2, target_role="master"))
        await pilot.pause()
        assert [r.sig for r in chart.rows] == ["SIGHUP"]
        assert "paused" in str(chart.border_subtitle)
        await pilot.press("p")
        assert not chart.paused
        assert [r.sig for r in chart.rows] == ["SIGHUP", "SIGTERM"]


async def test_chart_show_pid_highlights_that_lane() -> None:
    chart = SequenceChart(window_ns=0)  # in order already: drawn as added
    async with One(chart).run_test(size=(100, 30)) as pilot:
        t = 9_000 * S
        chart.add_event(ev("spawn", t, 2, "master", child=3, index=0, behaviour="idle"))
        chart.add_event(ev("spawn", t, 2, "master", child=4, index=1, behaviour="idle"))
        chart.show_pid(4)
        await pilot.pause()
        assert chart._selected_lane() == "w1"
        header = chart._header_text(0)
        start = header.plain.index("w1")
        assert any(
            "reverse" in str(span.style) and span.start <= start < span.end for span in header.spans
        )
        chart.show_pid(None)
        assert chart._selected_lane() is None
        # Worker 0 replaced: the new process gets a lane of its own (titled like its slot),
        # the old lane keeps its pid and ends at the reap, even when the old pid is mentioned
        # afterwards (the sampler saying it is gone).
        chart.add_event(ev("reaped", t + 1, 2, "master", child=3, how="exited", exitcode=0))
        chart.add_event(ev("spawn", t + 2, 2, "master", child=5, index=0, behaviour="idle"))
        chart.add_event(ev("state", t + 3, 1, "ui", child=3, state="gone", old="Z"))
        old, new = chart.model.lane("w0"), chart.model.lane("w0.1")
        assert old is not None and new is not None
        assert (old.pid, old.end_t, new.pid, new.end_t) == (3, t + 1, 5, None)
        assert [la.title for la in chart.model.lanes].count("w0") == 2
        assert chart._header_text(1).plain.split()[-3:] == ["3", "5", "4"]
        # The old lane's line stops at its reap; the new one starts at its fork.
        chart.add_event(ev("exit", t + 4, 4, index=1, code=0))
        await pilot.pause()
        texts = chart.row_texts()
        assert "fork w0 pid 5" in texts[-2]
        g = chart._geometry()
        assert (texts[-1][g.centre("w0")], texts[-1][g.centre("w0.1")]) == (" ", "│")
        assert texts[0][g.centre("w0.1")] == " "  # not born yet


async def test_chart_folds_ended_lanes_visibly_when_lanes_do_not_fit() -> None:
    """A narrow chart (a dashboard panel) after several respawns: the lanes of reaped workers
    fold into one "+N" column, named in the header; live lanes keep their own; nothing falls
    off the side. With more live lanes than fit, the header says the chart scrolls (→)."""
    chart = SequenceChart(window_ns=0)
    async with One(chart).run_test(size=(30, 30)) as pilot:
        t = 11_000 * S
        add = chart.add_event
        for i in range(3):  # three workers, then each killed, reaped and replaced once
            add(ev("spawn", t + i, 2, "master", child=10 + i, index=i, behaviour="idle"))
        for i in range(3):
            t += S
            add(ev("sent", t, 1, "ui", sig="SIGKILL", target=10 + i, target_role="worker"))
            add(ev("reaped", t + 1, 2, "master", child=10 + i, how="signalled", sig="SIGKILL"))
            add(ev("spawn", t + 2, 2, "master", child=20 + i, index=i, behaviour="idle"))
        add(ev("sent", t + S, 1, "ui", sig="SIGUSR1", target=20, target_role="worker"))
        await pilot.pause()
        g = chart._geometry()
        assert len(chart.model.lanes) == 9 and len(g.folded) >= 1
        assert all(lane.end_t is not None for lane in g.folded)
        assert not g.overflow and g.span <= chart.size.width - 1
        header = chart._header_text(0).plain
        assert f"+{len(g.folded)}" in header and "→" not in header
        assert "end" in chart._header_text(1).plain.split()  # "ended", as wide as the column
        # A kill into a folded lane says whose lane it was.
        folded = g.folded[0]
        kill = next(r for r in chart.rows if r.sig == "SIGKILL" and r.receiver == folded.key)
        assert f"to {folded.title} {folded.pid} (ended)" in chart._label(kill).plain
        # Live lanes only, too many for the width: it scrolls sideways, and says so.
        for i in range(3, 9):
            add(ev("spawn", t + 2 * S + i, 2, "master", child=30 + i, index=i, behaviour="idle"))
        await pilot.pause()
        g = chart._geometry()
        assert g.overflow and "→" in chart._header_text(0).plain
        assert chart.virtual_size.width > chart.size.width


# -- dispositions ----------------------------------------------------------------------------
async def test_dispositions_highlight_changes_then_fade() -> None:
    clock = Clock()
    panel = DispositionsPanel(clock=clock.monotonic)
    async with One(panel).run_test(size=(90, 45)) as pilot:
        panel.show_pid(50)
        base = Masks(caught=frozenset(range(1, 32)) - {9, 19}, blocked=frozenset({2}))
        panel.update_snapshot(Snap(clock.ns, (View(50, base),)))
        assert not panel.is_highlighted(2, "blocked")  # the first look is no change
        clock.advance(0.25)
        after = Masks(
            caught=base.caught,
            blocked=frozenset({2, USR1, RTMIN + 1}),
            shared_pending=frozenset({USR1}),
        )
        panel.update_snapshot(Snap(clock.ns, (View(50, after),)))
        assert panel.is_highlighted(USR1, "blocked") and panel.is_highlighted(USR1, "pending")
        assert panel.is_highlighted("rt", "blocked")
        assert not panel.is_highlighted(2, "blocked") and not panel.is_highlighted(12, "caught")
        await pilot.pause()
        text = panel.render()
        line = next(ln for ln in text.plain.splitlines() if "SIGUSR1" in ln)
        assert "blocked" in line and "PENDING" in line
        start = text.plain.index(line) + line.index("PENDING")
        assert any("reverse" in str(s.style) and s.start <= start < s.end for s in text.spans)
        assert "1 blocked (RTMIN+1)" in text.plain
        clock.advance(2.1)
        assert not panel.is_highlighted(USR1, "blocked")
        # Another process: nothing is news yet.
        panel.show_pid(51)
        panel.update_snapshot(Snap(clock.ns, (View(50, after), View(51, base))))
        assert not panel.changed_at


async def test_dispositions_fit_a_narrow_panel() -> None:
    panel = DispositionsPanel()
    panel.styles.width = 40  # as a dashboard column: 36 cells inside border and padding
    async with One(panel).run_test(size=(90, 45)) as pilot:
        panel.show_pid(50)
        masks = Masks(blocked=frozenset({USR1}), caught=frozenset({USR1}))
        panel.update_snapshot(Snap(1, (View(50, masks),)))
        await pilot.pause()
        lines = panel.render().plain.splitlines()
        usr1 = next(ln for ln in lines if " USR1 " in ln)
        assert usr1.split()[3:5] == ["●", "·"]  # caught, not ignored
        assert max(len(ln) for ln in lines) <= 36


async def test_dispositions_of_a_real_masked_worker() -> None:
    from sigscope.observe.sampler import Sampler

    with Lab(workers=1, behaviour="masked", params={"signals": ["SIGUSR1"]}) as lab:
        lab.wait_for(kind="blocked", timeout=WAIT)
        pid = lab.worker(0).pid
        sampler = Sampler(lab)
        first = sampler.scan()
        lab.send(pid, "USR1")
        deadline = time.monotonic() + WAIT
        while True:
            second = sampler.scan()
            view = second.by_pid(pid)
            assert view is not None, "the masked worker vanished"
            if USR1 in view.masks.shared_pending | view.masks.pending:
                break
            assert time.monotonic() < deadline, "SIGUSR1 never showed as pending"
            time.sleep(0.02)
    panel = DispositionsPanel()
    async with One(panel).run_test(size=(90, 45)) as pilot:
        panel.show_pid(pid)
        panel.update_snapshot(first)
        panel.update_snapshot(second)
        await pilot.pause()
        line = next(ln for ln in panel.render().plain.splitlines() if " SIGUSR1 " in ln)
        assert "handler" in line and "blocked" in line and "PENDING" in line
        assert panel.is_highlighted(USR1, "pending")
        assert not panel.is_highlighted(USR1, "blocked")  # it was blocked in both scans


async def test_dispositions_and_timers_lay_out_only_when_their_lines_change() -> None:
    # Each selection in the tree laid the whole dashboard out again (~10 ms a frame under a
    # storm, issue 14: key press -> screen), though any process shows the same rows.
    disp, timers = DispositionsPanel(), TimersPanel()

    class Two(App[None]):
        def compose(self) -> ComposeResult:
            yield disp
            yield timers

    layouts: list[tuple[str, bool]] = []
    for panel in (disp, timers):
        refresh = panel.refresh

        def noted(
            *regions: Any,
            _refresh: Any = refresh,
            _name: str = type(panel).__name__,
            layout: bool = False,
            **kw: Any,
        ) -> Any:
            layouts.append((_name, layout))
            return _refresh(*regions, layout=layout, **kw)

        panel.refresh = noted  # type: ignore[method-assign]
    async with Two().run_test(size=(90, 60)) as pilot:
        snap = Snap(1, (View(50, Masks(caught=frozenset({USR1}))), View(51, Masks())))
        disp.update_snapshot(snap)
        await pilot.pause()
        layouts.clear()
        disp.show_pid(50)  # one line ("select a process") -> the table: laid out
        timers.show_pid(50)
        assert ("DispositionsPanel", True) in layouts and ("TimersPanel", True) in layouts
        await pilot.pause()
        layouts.clear()
        disp.show_pid(51)  # the same rows, other marks: repainted only
        timers.show_pid(51)
        await pilot.pause()
        assert layouts and not any(layout for _, layout in layouts), layouts
        assert "pid 51" in str(disp.border_title) and "pid 51" in str(timers.border_title)
        assert " SIGUSR1 " in disp.render().plain
        disp.show_pid(None)  # back to one line: laid out
        assert ("DispositionsPanel", True) in layouts
        # The lines are counted without rendering: the count must be what render() makes.
        for pid in (None, 50, 52):
            disp.show_pid(pid)
            timers.show_pid(pid)
            disp.add_events([ev("flags", 3, 50, sig="SIGUSR1", handler="h", flags=["SA_RESTART"])])
            for panel in (disp, timers):
                assert panel._lines == panel.render().plain.count("\n") + 1, (pid, panel)
        disp.elide_quiet = True
        disp.styles.height = 12
        disp.show_pid(50)
        await pilot.pause()
        disp.show_pid(51)
        assert disp._lines == disp.render().plain.count("\n") + 1
        assert "quiet rows left out" in disp.render().plain


async def test_dispositions_redraw_only_the_row_whose_count_moved() -> None:
    # A storm to the shown worker redrew the whole table for one number (issue 14).
    panel = DispositionsPanel()
    drawn: list[str] = []
    render_line = panel.render_line

    def noted(y: int) -> Any:
        strip = render_line(y)
        drawn.append(strip.text)
        return strip

    panel.render_line = noted  # type: ignore[method-assign]
    async with One(panel).run_test(size=(90, 45)) as pilot:
        panel.show_pid(50)
        panel.update_snapshot(Snap(1, (View(50, Masks(caught=frozenset({USR1}))),)))
        received = ev("received", 2, 50, sig="SIGUSR1")
        panel.add_events([received])  # a first count: the whole table
        await pilot.pause()
        for more, runs in ((1, 2), (3, 5)):
            drawn.clear()
            panel.add_events([received] * more)
            await pilot.pause()
            assert len(drawn) == 1 and "SIGUSR1" in drawn[0], drawn
            assert drawn[0].rstrip().endswith(f" {runs}"), drawn
        row = next(ln for ln in panel.render().plain.splitlines() if " SIGUSR1 " in ln)
        assert drawn[0].rstrip() == row.rstrip()  # the row as the whole table draws it
        drawn.clear()
        panel.add_events([ev("received", 3, 50, sig="SIGUSR2")])  # a first count: all again
        await pilot.pause()
        assert len(drawn) > 30


# -- timers ----------------------------------------------------------------------------------
async def test_timers_extrapolate_and_tick_only_while_counting() -> None:
    clock = Clock()
    panel = TimersPanel(clock=clock.monotonic_ns)
    async with One(panel).run_test(size=(80, 20)) as pilot:
        panel.show_pid(60)
        await pilot.pause()
        assert not panel.ticking  # nothing armed: no wake-ups
        t0 = clock.ns
        panel.add_event(
            ev("timer", t0, 60, timer="alarm", action="armed", value=5.0, interval=0.0, previous=2)
        )
        assert panel.ticking
        clock.advance(1.5)
        assert panel.remaining("alarm") == 3.5
        text = panel.render().plain
        assert "3.50 s" in text and "replaced one with 2 s left" in text
        # A periodic ITIMER_REAL reloads with its interval: 1.2 s after arming 0.5/0.5 -> 0.3.
        panel.add_event(
            ev("timer", clock.ns, 60, timer="ITIMER_REAL", action="armed", value=0.5, interval=0.5)
        )
        clock.advance(1.2)
        assert abs((panel.remaining("ITIMER_REAL") or 0) - 0.3) < 1e-9
        # A CPU timer ignores the wall clock: it moves only with the CPU seconds of a scan.
        panel.add_event(
            ev(
                "timer",
                clock.ns,
                60,
                timer="ITIMER_VIRTUAL",
                action="armed",
                value=2.0,
                interval=0.0,
                cpu=1.0,
            )
        )
        clock.advance(10)
        assert panel.remaining("ITIMER_VIRTUAL") is None  # no scan yet: unknown, not guessed
        panel.update_snapshot(Snap(clock.ns, (View(60, cpu_seconds=1.5),)))
        assert panel.remaining("ITIMER_VIRTUAL") == 1.5
        clock.advance(10)
        assert panel.remaining("ITIMER_VIRTUAL") == 1.5
        # Cancel the periodic timer; the alarm is long due: nothing counts down any more.
        panel.add_event(
            ev(
                "timer",
                clock.ns,
                60,
                timer="ITIMER_REAL",
                action="cancelled",
                value=0.0,
                interval=0.0,
            )
        )
        assert panel.remaining("alarm") == 0.0
        await until(pilot, lambda: not panel.ticking, "a tick to notice and stop the ticker")
        # A reap forgets the process's timers.
        panel.add_event(ev("reaped", clock.ns, 2, "master", child=60, how="exited", exitcode=0))
        assert 60 not in panel.timers
        # A restarted lab: clear() forgets every timer and stops the ticker.
        panel.add_event(
            ev("timer", clock.ns, 60, timer="alarm", action="armed", value=9.0, interval=0.0)
        )
        assert panel.ticking
        panel.clear()
        assert not panel.timers and not panel.ticking


async def test_timers_of_a_real_alarm_worker() -> None:
    with Lab(workers=1, behaviour="alarm", params={"seconds": 3, "repeat": 1}) as lab:
        armed = lab.wait_for(kind="timer", action="armed", timeout=WAIT)
        events = lab.events()
    panel = TimersPanel()
    async with One(panel).run_test(size=(80, 20)) as pilot:
        panel.show_pid(armed["pid"])
        for event in events:
            panel.add_event(event)
        left = panel.remaining("alarm")
        elapsed = (time.monotonic_ns() - armed["t"]) / S
        assert left is not None and 0 <= left <= 3.0
        assert abs(left - max(0.0, armed["value"] - elapsed)) < 0.5
        await pilot.pause()
        assert "alarm" in panel.render().plain


# -- rates -----------------------------------------------------------------------------------
def test_rate_history_buckets_per_second_and_forgets_the_old() -> None:
    history = RateHistory(seconds=5)
    base = 100 * S
    for i in range(10):
        history.add(7, base + i * 100 * MS)  # 10 in second 100
    history.add(7, base + S + 1)  # 1 in second 101
    history.add(7, base + 50 * MS)  # a late one, still second 100
    assert history.series(7, base + 2 * S) == [0.0, 0.0, 11.0, 1.0, 0.0]
    assert history.rate(7, base + 2 * S) == 1.0
    assert history.active(base + 2 * S)
    assert not history.active(base + 10 * S)
    history.add(7, base + 20 * S)
    assert len(history._buckets[7]) <= 5
    assert rate_text([0, 1, 2, 4], width=4).plain == "▁▃▅█"
    assert rate_text([0, 0], width=2).plain == "▁▁"

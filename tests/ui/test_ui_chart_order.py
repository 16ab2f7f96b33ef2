"""The sequence chart's order is a claim: rows in time-stamp order, whatever the arrival order.

Events reach the UI out of order (a worker reports its handler run after it ran, the master
writes its SIGCHLD after the fork it led to, the sampler reports late). The recording
``tests/data/lab-recording.jsonl`` and its shuffled copy ``lab-recording-shuffled.jsonl``
(the same lines, each delivered up to 25 ms late as a loaded machine would: a SIGTERM's
handler run arrives before the send, the TTIN's fork before the TTIN, "ended" before the
master's reap) must draw the same rows in the same, time-stamp, order.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from sigscope.events import controller_event
from sigscope.observe.sequence import REORDER_WINDOW_NS, SequenceModel, describe
from sigscope.sources.record import load
from sigscope.ui.replay_app import ReplayApp
from sigscope.ui.settings import ReplaySettings
from sigscope.ui.widgets.sequence_chart import SequenceChart
from tests.ui.helpers import until

DATA = Path(__file__).parents[1] / "data"
RECORDING = DATA / "lab-recording.jsonl"
SHUFFLED = DATA / "lab-recording-shuffled.jsonl"
WAIT = 30.0


def recorded_events(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()[1:]
    return [e for e in map(json.loads, lines) if e.get("kind") != "snapshot"]


def test_the_shuffled_copy_really_arrives_out_of_order() -> None:
    """The fixture is what it claims: same events, many pairs in the wrong order."""
    plain, shuffled = recorded_events(RECORDING), recorded_events(SHUFFLED)
    assert sorted(map(json.dumps, plain)) == sorted(map(json.dumps, shuffled))
    ts = [e["t"] for e in shuffled]
    assert sum(1 for a, b in zip(ts, ts[1:], strict=False) if a > b) >= 10
    kinds = [(e["kind"], e.get("sig")) for e in shuffled]
    # A handler run arrives before the send that caused it.
    assert kinds.index(("received", "SIGTTIN")) < kinds.index(("sent", "SIGTTIN"))


async def chart_rows_of(path: Path) -> tuple[list[str], list[int]]:
    """Replay a recording to its end in the dashboard; the chart's rows (text, time)."""
    app = ReplayApp(ReplaySettings(path), paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.replay is not None
        app.replay.jump(len(load(path).entries))
        chart = app.panel("chart")
        assert isinstance(chart, SequenceChart)
        # Every event has reached the chart (as messages) and left the reorder window.
        await until(
            pilot,
            lambda: (
                any("the lab has ended" in t for t in chart.row_texts())
                and any("exited with code 0" in t for t in chart.row_texts())
                and chart.model.held == 0
            ),
            "the replay at the chart's end",
            WAIT,
        )
        texts, times = chart.row_texts(), [row.t for row in chart.rows]
        await pilot.press("q")
    return texts, times


async def test_chart_rows_are_in_time_order_whatever_the_arrival_order() -> None:
    plain_texts, plain_times = await chart_rows_of(RECORDING)
    shuffled_texts, shuffled_times = await chart_rows_of(SHUFFLED)
    assert plain_times == sorted(plain_times)
    assert shuffled_times == plain_times
    assert shuffled_texts == plain_texts
    # What the order says is true: the TTIN arrow comes before the fork it caused, and its
    # handler run found it (no "no known sender" arrow from the kernel).
    ttin = next(i for i, t in enumerate(shuffled_texts) if "SIGTTIN" in t)
    fork = next(i for i, t in enumerate(shuffled_texts) if "fork w2" in t)
    assert ttin < fork and "handled after" in shuffled_texts[ttin]
    assert not any("no known sender" in t for t in shuffled_texts)
    assert shuffled_texts[-1].endswith("the lab has ended")


def arrows(model: SequenceModel) -> dict[tuple[str, str | None, str], tuple[int, int]]:
    """Signals drawn between each two lanes: (sends or runs, handler runs matched)."""
    found: dict[tuple[str, str | None, str], tuple[int, int]] = {}
    for row in model.rows:
        if row.kind == "arrow":
            count, handled = found.get((row.sig, row.sender, row.receiver), (0, 0))
            found[(row.sig, row.sender, row.receiver)] = (count + row.count, handled + row.handled)
    return found


def test_rows_stay_sorted_even_for_events_later_than_the_window() -> None:
    """A full shuffle (far beyond the reorder window): storms may merge differently, but the
    order holds, and every handler run still pairs with its send."""
    events = recorded_events(RECORDING)
    in_order = SequenceModel()
    for event in events:
        in_order.add(event)
    expected = arrows(in_order)
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(events)
        model = SequenceModel()
        for event in events:
            model.add(event)
        times = [row.t for row in model.rows]
        assert times == sorted(times)
        assert model.origin == min(e["t"] for e in events)
        # Every handler run still finds its send, however late either arrived.
        assert arrows(model) == expected
        assert not any("no known sender" in row.label() for row in model.rows)


def test_stop_and_continue_are_drawn_when_the_signals_made_them_not_when_seen() -> None:
    """The sampler sees a stop or a continue up to a scan later; SIGCONT resumes a process
    when it is sent, so "continued" goes right after the SIGCONT arrow, before what it caused
    (here the master's reap of a worker it could not reap while stopped)."""
    s, ms = 1_000_000_000, 1_000_000
    t = 50 * s
    events = [
        {"t": t, "pid": 2, "role": "master", "kind": "spawn", "child": 3, "index": 0},
        {
            "t": t + s,
            "pid": 1,
            "role": "ui",
            "kind": "sent",
            "sig": "SIGSTOP",
            "target": 2,
            "target_role": "master",
        },
        {
            "t": t + s + 240 * ms,
            "pid": 1,
            "role": "ui",
            "kind": "state",
            "child": 2,
            "state": "T",
            "old": "S",
        },
        {
            "t": t + 2 * s,
            "pid": 1,
            "role": "ui",
            "kind": "sent",
            "sig": "SIGCONT",
            "target": 2,
            "target_role": "master",
        },
        {
            "t": t + 2 * s + 3 * ms,
            "pid": 2,
            "role": "master",
            "kind": "reaped",
            "child": 3,
            "how": "signalled",
            "sig": "SIGKILL",
            "exitcode": -9,
        },
        {
            "t": t + 2 * s + 200 * ms,
            "pid": 1,
            "role": "ui",
            "kind": "state",
            "child": 2,
            "state": "S",
            "old": "T",
        },
    ]
    model = SequenceModel()
    for event in events:
        model.add(event)
    labels = [row.label() for row in model.rows]
    assert labels == [
        "fork w0 pid 3",
        "SIGSTOP",
        "pid 2 stopped (T)",
        "SIGCONT",
        "pid 2 continued (S) by SIGCONT",
        "reaped: pid 3 killed by SIGKILL (-9)",
    ]
    stopped = next(r for r in model.rows if r.glyph == "T")
    assert stopped.t == t + s + 1  # right after the SIGSTOP arrow, not at the scan


def test_captions_say_what_a_student_needs() -> None:
    """One wording for the chart and the event list; the re-raise is explained."""
    worker = {"pid": 7, "role": "worker", "index": 0}
    assert describe({**worker, "kind": "exit", "code": -15, "sig": "SIGTERM"}) == (
        "pid 7 dies by SIGTERM: its handler re-raised it"
    )
    assert describe({**worker, "kind": "received", "sig": "SIGUSR1"}) == (
        "worker 0 (7) ran its SIGUSR1 handler"
    )
    took = describe({**worker, "kind": "received", "sig": "SIGUSR1", "via": "sigwaitinfo"})
    assert took == "worker 0 (7) took SIGUSR1 with sigwaitinfo()"
    sent = {
        "pid": 1,
        "role": "ui",
        "kind": "sent",
        "sig": "SIGHUP",
        "target": 7,
        "target_role": "worker",
    }
    assert describe(sent) == "you sent SIGHUP to worker 7"


def test_a_handler_run_reported_late_still_finds_its_send() -> None:
    """Lesson 05's pause worker runs its SIGUSR1 handler at once but reports it only after its
    5 s of work; a /proc scan in between shows SIGUSR1 no longer pending and the send was let
    go, so the late run was drawn from the kernel lane as "no known sender" (seen on screen).
    It finds its send; a send merged into an earlier run does not take a later unrelated run."""
    s = 1_000_000_000
    t0 = 1000 * s

    def worker_ran(t: int) -> dict[str, Any]:
        return {"t": t, "pid": 11, "role": "worker", "index": 0, "kind": "received",
                "sig": "SIGUSR1"}  # fmt: skip

    def you_sent(t: int) -> dict[str, Any]:
        return {"t": t, "pid": 5, "role": "ui", "kind": "sent", "sig": "SIGUSR1", "target": 11,
                "target_role": "worker"}  # fmt: skip

    model = SequenceModel()
    model.add({"t": t0, "pid": 10, "role": "master", "kind": "start", "target": 1})
    model.add({"t": t0 + 1, "pid": 10, "role": "master", "kind": "spawn", "child": 11,
               "index": 0, "behaviour": "pause"})  # fmt: skip
    model.add(you_sent(t0 + s))
    model.forget_unmatched(11, frozenset({"SIGUSR1"}), t0 + 3 * s)  # a scan: not pending
    model.add(worker_ran(t0 + s + 200_000))  # reported after the work, 5 s later
    labels = [row.label() for row in model.rows]
    assert not any("no known sender" in x for x in labels), labels
    assert any(x.startswith("SIGUSR1") and "handled after" in x for x in labels), labels
    # Three sends merged into one run; the scan lets the other two go. A run 10 s later that
    # nobody sent (here: none of ours) is not pinned on them.
    for k in range(3):
        model.add(you_sent(t0 + 20 * s + k))
    model.add(worker_ran(t0 + 20 * s + 100_000))
    model.forget_unmatched(11, frozenset({"SIGUSR1"}), t0 + 22 * s)
    model.add(worker_ran(t0 + 30 * s))
    labels = [row.label() for row in model.rows]
    assert labels[-1].startswith("SIGUSR1") and "no known sender" in labels[-1], labels


def test_calls_and_gone_processes_are_sentences() -> None:
    """The event list said "worker 0 (9264): call" (lesson 05) and "pid 15591: state S →
    gone" (a replay): what the call did, and that the process has gone, in words."""
    waiting = {"t": 1, "pid": 9, "role": "worker", "index": 0, "kind": "call",
               "call": "pause()", "state": "waiting"}  # fmt: skip
    woke = dict(waiting, state="returned", woke_by="SIGUSR1", waited=5.0012)
    assert describe(waiting) == "worker 0 (9): pause() waiting"
    assert describe(woke) == "worker 0 (9): pause() returned, woken by SIGUSR1 after 5.001 s"
    both = dict(woke, woke_by=["SIGUSR1", "SIGUSR2"])  # pause reports every handler that ran
    assert describe(both).endswith("woken by SIGUSR1, SIGUSR2 after 5.001 s")
    gone = {"t": 1, "pid": 1, "role": "ui", "kind": "state", "child": 7, "old": "S",
            "state": "gone"}  # fmt: skip
    assert describe(gone) == "pid 7 has left the process table"


class ChartOnly(App[None]):
    """The chart alone, full screen."""

    def __init__(self, chart: SequenceChart) -> None:
        super().__init__()
        self.chart = chart

    def compose(self) -> ComposeResult:
        yield self.chart


async def test_a_send_of_ours_is_drawn_in_the_next_frame_the_masters_a_window_later() -> None:
    """Issue 14: the arrow of a signal the person sent is on screen in the next frame (a send
    sigscope has just made cannot be preceded by anything it caused); the master's send still
    waits the reorder window. The chart's clock is frozen 0.2 ms after the sends, then moved."""
    ms, s = 1_000_000, 1_000_000_000
    t = 9_000 * s
    clock = [t]
    chart = SequenceChart(clock=lambda: clock[0])
    async with ChartOnly(chart).run_test(size=(120, 30)) as pilot:
        chart.add_events(
            [
                {"t": t, "pid": 10, "role": "master", "kind": "start", "target": 1},
                {
                    "t": t + 1,
                    "pid": 10,
                    "role": "master",
                    "kind": "spawn",
                    "child": 11,
                    "index": 0,
                    "behaviour": "idle",
                },  # fmt: skip
            ]
        )
        chart.flush()
        await pilot.pause()
        clock[0] = t + s + ms // 5
        ours = controller_event(5, "sent", t + s, sig="SIGUSR1", target=11, target_role="worker")
        master = {"t": t + s, "pid": 10, "role": "master", "kind": "sent", "sig": "SIGUSR2",
                  "target": 11, "target_role": "worker"}  # fmt: skip
        chart.add_events([ours, master])
        assert [r.sig for r in chart.rows if r.kind == "arrow"] == ["SIGUSR1"]
        assert chart.model.held == 1
        usr1 = chart.rows[-1]
        await until(pilot, lambda: not usr1.undrawn, "our arrow drawn", WAIT)
        assert "SIGUSR1" in chart.row_texts()[-1]
        clock[0] = t + s + REORDER_WINDOW_NS + ms  # the master's send has waited its window
        await until(pilot, lambda: chart.model.held == 0, "the master's send released", WAIT)
        assert [r.sig for r in chart.rows if r.kind == "arrow"] == ["SIGUSR1", "SIGUSR2"]

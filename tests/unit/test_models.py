"""The dashboard's models, without Textual: the event inbox, rates, the master's state, the
timers and the tree's rows (sigscope/ui/models imports no Textual; checked in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from types import SimpleNamespace
from typing import Any

from sigscope.ui.models.inbox import EventInbox
from sigscope.ui.models.master import MasterState, apply_event, shown_phase
from sigscope.ui.models.rates import RateHistory
from sigscope.ui.models.timers import TimerBook
from sigscope.ui.models.tree import (
    KEEP_GONE,
    UNSCANNED,
    ProcessRow,
    age_step,
    build_rows,
    format_age,
    next_change,
)

S = 1_000_000_000
MS = 1_000_000


def test_the_models_import_no_textual() -> None:
    code = (
        "import json, sys\n"
        "import sigscope.ui.models.inbox, sigscope.ui.models.master, sigscope.ui.models.rates\n"
        "import sigscope.ui.models.timers, sigscope.ui.models.tree\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# -- the inbox ------------------------------------------------------------------------------------
def test_inbox_wakes_once_per_batch_and_keeps_every_event_in_order() -> None:
    wakes: list[int] = []
    inbox = EventInbox(lambda: wakes.append(len(inbox)))
    for i in range(3):
        inbox.put({"n": i})
    assert wakes == [1]  # one wake-up for the batch, asked by its first event
    assert [e["n"] for e in inbox.take()] == [0, 1, 2]
    assert inbox.take() == ()
    inbox.put({"n": 3})
    assert len(wakes) == 2  # taken: the next event wakes again
    assert [e["n"] for e in inbox.take()] == [3]


def test_inbox_loses_nothing_between_threads() -> None:
    """A producer thread puts 20,000 events while the consumer takes batches whenever woken:
    every event arrives once, in order, with fewer wake-ups than events."""
    woken = threading.Semaphore(0)
    inbox = EventInbox(woken.release)
    total = 20_000

    def produce() -> None:
        for i in range(total):
            inbox.put({"n": i})

    producer = threading.Thread(target=produce)
    producer.start()
    got: list[int] = []
    wakes = 0
    while len(got) < total:
        assert woken.acquire(timeout=30), f"no wake-up after {len(got)} events"
        wakes += 1
        got.extend(e["n"] for e in inbox.take())
    producer.join(timeout=30)
    assert got == list(range(total))
    assert wakes <= total
    assert inbox.take() == ()


# -- rates ----------------------------------------------------------------------------------------
def test_rate_history_is_bounded_and_counts_per_second() -> None:
    history = RateHistory(seconds=5)
    history.add(1, 10 * S)
    history.add(1, 10 * S + 500 * MS)
    assert history.series(1, 11 * S) == [0.0, 0.0, 0.0, 2.0, 0.0]
    for second in range(12, 40):  # a signal a second for long: the buckets stay bounded
        history.add(1, second * S)
    assert len(history._buckets[1]) <= 5 + 1
    assert history.series(1, 39 * S) == [1.0] * 5
    for pid in range(1000):
        history.add(pid, 40 * S)
    assert len(history.pids()) <= 256


# -- the master -----------------------------------------------------------------------------------
def test_master_state_changes_only_on_its_own_events() -> None:
    state = MasterState(pid=10)
    started = apply_event(state, {"kind": "start", "role": "master", "target": 2}, 10)
    assert started.phase == "running" and started.target == 2
    same = apply_event(started, {"kind": "received", "pid": 11, "sig": "SIGUSR1"}, 10)
    assert same is started  # not the master's word: the panel has nothing to redraw
    ended = apply_event(
        started, {"kind": "reaped", "child": 10, "how": "signalled", "sig": "X"}, 10
    )
    assert ended.phase == "ended" and ended.ended == "killed by X"
    stopped = MasterState(pid=10, phase="running", process_state="T")
    assert shown_phase(stopped) == "stopped (T) · running"


# -- timers ---------------------------------------------------------------------------------------
def timer(pid: int, name: str, action: str, value: float, t: int, **kw: Any) -> dict[str, Any]:
    return {"kind": "timer", "pid": pid, "timer": name, "action": action, "value": value, "t": t}


def test_timer_book_counts_down_and_forgets_a_reaped_process() -> None:
    book = TimerBook()
    assert book.add_event({"kind": "received", "pid": 5}, 0) is None  # not a timer: no change
    assert book.add_event(timer(5, "alarm", "armed", 3.0, 10 * S), 10 * S) == 5
    state = book.of(5)["alarm"]
    assert state.remaining(11 * S, None) == 2.0
    assert book.counting(5, 11 * S) and not book.counting(5, 14 * S)
    assert book.add_event(timer(5, "ITIMER_VIRTUAL", "armed", 1.0, 10 * S), 10 * S) == 5
    assert book.counts_cpu(5)
    book.add_cpu([(5, 2.0)])
    virtual = book.of(5)["ITIMER_VIRTUAL"]
    assert virtual.cpu_base == 2.0 and virtual.remaining(99 * S, 2.25) == 0.75
    assert book.add_event({"kind": "reaped", "child": 5}, 0) == 5
    assert book.of(5) == {} and book.add_event({"kind": "reaped", "child": 5}, 0) is None


# -- the tree -------------------------------------------------------------------------------------
def proc(pid: int, role: str, started: int, **kw: Any) -> Any:
    fields = {"index": None, "behaviour": "idle", "parent": None, "alive": True, "status": {}}
    fields.update({"received": 0, "last_signal": None, "exited": False, "ref": None})
    fields.update(kw)
    return SimpleNamespace(pid=pid, role=role, started=started, **fields)


def test_rows_compare_by_what_they_show() -> None:
    a = ProcessRow(7, 1, "worker 0", "idle", "S", 1.2, 0, None)
    b = ProcessRow(7, 1, "worker 0", "idle", "S", 1.4, 0, None)
    c = ProcessRow(7, 1, "worker 0", "idle", "S", 2.1, 0, None)
    assert a != b and a.shown() == b.shown()  # the age exact, drawn to the second
    assert a.shown() != c.shown()
    assert format_age(a.age) in a.shown()


def test_ages_are_seconds_for_a_minute_then_minutes_rounded_down() -> None:
    assert [format_age(a) for a in (None, 0.0, 0.99, 59.99, 60.0, 119.9, 3599.9, 3600.0)] == [
        "-", "0s", "0s", "59s", "1m", "1m", "59m", "1h00m",
    ]  # fmt: skip
    assert format_age(2 * 3600 + 5 * 60 + 59) == "2h05m"
    # The next step: the next second in the first minute, the next minute after.
    assert age_step(0.25) == 0.75 and age_step(59.5) == 0.5
    assert age_step(60.0) == 60.0 and age_step(125.0) == 55.0 and age_step(7200.5) == 59.5
    for age in (0.25, 59.5, 60.0, 125.0, 3599.0):
        step = age_step(age)
        assert format_age(age + step * 0.999) == format_age(age) != format_age(age + step)


def test_next_change_is_the_soonest_age_step_or_a_gone_row_leaving() -> None:
    young = ProcessRow(7, 1, "worker 0", "idle", "S", 10.25, 0, None)
    old = ProcessRow(8, 1, "worker 1", "idle", "S", 130.0, 0, None)
    gone = ProcessRow(9, 1, "worker 2", "idle", "reaped", None, 0, None)
    assert next_change([], {}, 50.0) is None
    assert next_change([old], {}, 50.0) == 50.0  # asleep until 3m
    assert next_change([old, young], {}, 50.0) == 0.75
    # A reaped row leaves KEEP_GONE seconds after it was first seen gone.
    assert next_change([old, gone], {9: 49.0}, 50.0) == KEEP_GONE - 1.0
    assert next_change([gone], {9: 40.0}, 50.0) == 0.0  # overdue: at once
    assert next_change([gone], {}, 50.0) is None  # (not seen gone: build_rows keeps that)


def test_build_rows_orders_a_tree_and_lets_the_reaped_linger() -> None:
    master = proc(10, "master", 0)
    w0 = proc(11, "worker", S, index=0)
    w1 = proc(12, "worker", S, index=1, alive=False, exited=True, status={"how": "signalled"})
    child = proc(13, "orphan", 2 * S, parent=11)
    states = {10: ("S", 1), 11: ("S", 10), 13: ("S", 11)}
    gone_since: dict[int, float] = {}
    rows = build_rows([w1, child, master, w0], states.get, 999, gone_since, now_ns=5 * S)
    assert [(r.pid, r.depth, r.role) for r in rows] == [
        (10, 0, "master"),
        (11, 1, "worker 0"),
        (13, 2, "orphan"),
        (12, 1, "worker 1"),
    ]
    assert rows[3].state == "reaped" and rows[3].age is None
    later = (5 + KEEP_GONE + 1) * S
    rows = build_rows([w1, child, master, w0], states.get, 999, gone_since, now_ns=later)
    assert 12 not in [r.pid for r in rows]  # lingered KEEP_GONE seconds, then left


def test_a_process_no_scan_has_seen_yet_is_unscanned_not_gone() -> None:
    w0 = proc(11, "worker", S, index=0)
    rows = build_rows([w0], lambda pid: (UNSCANNED, 10), 999, {}, now_ns=2 * S)
    assert rows[0].state == UNSCANNED and not rows[0].gone

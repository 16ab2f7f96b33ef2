"""The chart's reorder window and sigscope's own sends (issue 14: sent → arrow drawn).

A live event waits up to :data:`REORDER_WINDOW_NS` for older ones still on their way; a
``sent`` the controller has just made cannot be preceded by anything it caused, so
:meth:`SequenceModel.hold` applies it at once. These tests hold that up against the
window's promises: rows in time order, every handler run paired with its send, lanes made
by their fork, and the same picture as applying every event in time order.
"""

from __future__ import annotations

from typing import Any

from sigscope.observe.sequence import REORDER_WINDOW_NS, SequenceModel

MS = 1_000_000
S = 1_000 * MS
T = 5_000 * S  # the lab's clock when the tests start (a live stamp: `now` is close to it)
MASTER, W0 = 10, 11
WINDOW = REORDER_WINDOW_NS


def spawn(t: int, child: int = W0, index: int = 0) -> dict[str, Any]:
    return {"t": t, "pid": MASTER, "role": "master", "kind": "spawn", "child": child,
            "index": index, "behaviour": "idle"}  # fmt: skip


def you_sent(t: int, sig: str = "SIGUSR1", target: int = W0, role: str = "controller") -> dict:
    return {"t": t, "pid": 5, "role": role, "kind": "sent", "sig": sig, "target": target,
            "target_role": "master" if target == MASTER else "worker"}  # fmt: skip


def master_sent(t: int, sig: str, target: int = W0) -> dict[str, Any]:
    return {"t": t, "pid": MASTER, "role": "master", "kind": "sent", "sig": sig,
            "target": target, "target_role": "worker"}  # fmt: skip


def ran(t: int, sig: str = "SIGUSR1", pid: int = W0) -> dict[str, Any]:
    return {"t": t, "pid": pid, "role": "worker", "index": 0, "kind": "received", "sig": sig}


def lab_with_w0() -> SequenceModel:
    """A model that has drawn the master's start and worker 0's fork (its lane is known)."""
    model = SequenceModel()
    model.add({"t": T, "pid": MASTER, "role": "master", "kind": "start", "target": 1})
    model.add(spawn(T + 1))
    return model


def labels(model: SequenceModel) -> list[str]:
    return [row.label() for row in model.rows]


def test_a_controllers_send_is_applied_at_once() -> None:
    model = lab_with_w0()
    model.hold(you_sent(T + S), now=T + S + MS // 5)  # reached the chart 0.2 ms after
    assert model.held == 0
    row = model.rows[-1]
    assert (row.kind, row.sig, row.sender, row.receiver) == ("arrow", "SIGUSR1", "you", "w0")
    # The old role name of the controller (recordings, lessons) is sigscope's own too.
    model.hold(you_sent(T + 2 * S, "SIGUSR2", role="ui"), now=T + 2 * S + MS // 5)
    assert model.held == 0 and model.rows[-1].sig == "SIGUSR2"


def test_an_older_event_arriving_after_it_is_drawn_before_it() -> None:
    model = lab_with_w0()
    model.hold(you_sent(T + S), now=T + S + MS // 5)
    # The master's send and the worker's exit, made before ours, still in the pipe.
    model.hold(master_sent(T + S - 3 * MS, "SIGUSR2"), now=T + S + MS)
    model.hold({"t": T + S - 2 * MS, "pid": W0, "role": "worker", "index": 0,
                "kind": "exit", "code": 0}, now=T + S + 2 * MS)  # fmt: skip
    assert model.held == 2
    assert model.release(T + S + WINDOW + MS) == 2
    assert labels(model) == [
        "fork w0 pid 11 (idle)",
        "SIGUSR2",
        "pid 11 exits with code 0",
        "SIGUSR1",
    ]
    times = [row.t for row in model.rows]
    assert times == sorted(times)
    assert model.late == 2  # both were inserted above the send applied early


def test_its_handler_run_still_pairs_with_it() -> None:
    model = lab_with_w0()
    model.hold(you_sent(T + S), now=T + S + MS // 5)
    assert model.rows[-1].sig == "SIGUSR1"  # drawn before its run is reported
    model.hold(ran(T + S + MS // 2), now=T + S + MS)
    model.release(T + S + WINDOW + 2 * MS)
    (arrow,) = [row for row in model.rows if row.kind == "arrow"]
    assert (arrow.sender, arrow.handled, arrow.lat_sum) == ("you", 1, MS // 2)


def test_an_older_send_of_the_same_signal_applied_after_it_keeps_its_own_run() -> None:
    """Sends wait for their handler runs in time order, not in the order they were applied:
    the master's SIGUSR1 made 5 ms before ours but applied after it is paired with the run it
    caused (4 ms before ours), and ours with its own; no run is drawn "no known sender"."""
    model = lab_with_w0()
    model.hold(you_sent(T + S), now=T + S + MS // 5)
    model.hold(master_sent(T + S - 5 * MS, "SIGUSR1"), now=T + S + MS)
    model.hold(ran(T + S - 4 * MS), now=T + S + MS)
    model.hold(ran(T + S + MS // 2), now=T + S + 2 * MS)
    model.release(T + S + WINDOW + 3 * MS)
    arrows = {row.sender: row for row in model.rows if row.kind == "arrow"}
    assert set(arrows) == {"master", "you"}, labels(model)
    assert arrows["master"].lat_sum == MS and arrows["master"].handled == 1
    assert arrows["you"].lat_sum == MS // 2 and arrows["you"].handled == 1


def test_a_send_of_the_master_still_waits_the_window() -> None:
    model = lab_with_w0()
    rows = len(model.rows)
    model.hold(master_sent(T + S, "SIGTERM"), now=T + S + MS // 5)
    assert model.held == 1 and len(model.rows) == rows
    assert model.release(T + S + WINDOW - MS) == 0  # its window has not passed
    assert model.release(T + S + WINDOW + MS) == 1
    assert model.rows[-1].sig == "SIGTERM"


def test_a_send_to_a_worker_whose_fork_is_still_held_waits_for_it() -> None:
    """The lab knows the worker (it could send), the chart has its spawn in the window: the
    send waits, so that the spawn makes the worker's lane (not a pid lane the spawn would
    have to move) and the fork is drawn before the arrow."""
    model = SequenceModel()
    model.add({"t": T, "pid": MASTER, "role": "master", "kind": "start", "target": 1})
    model.hold(spawn(T + S, child=12, index=1), now=T + S + MS // 5)
    model.hold(you_sent(T + S + MS, target=12), now=T + S + MS + MS // 5)
    assert model.held == 2
    model.release(T + S + MS + WINDOW + MS)
    assert labels(model) == ["fork w1 pid 12 (idle)", "SIGUSR1"]
    assert model.rows[-1].receiver == "w1"
    assert [lane.key for lane in model.lanes] == ["you", "kernel", "master", "w1"]


def test_a_send_to_a_reused_pid_waits_for_the_new_process_fork() -> None:
    """Worker 0 (pid 11) was reaped; a new worker got pid 11, and its fork is still in the
    pipe when our send reaches the chart (the lab had it: it could send): the send waits,
    so the arrow goes to the lane the fork gives the new process, drawn after its fork."""
    model = lab_with_w0()
    model.add({"t": T + S, "pid": MASTER, "role": "master", "kind": "reaped", "child": W0,
               "how": "exited", "exitcode": 0})  # fmt: skip
    model.hold(you_sent(T + 2 * S + MS), now=T + 2 * S + MS + MS // 5)
    model.hold(spawn(T + 2 * S), now=T + 2 * S + MS + MS // 2)
    assert model.held == 2
    model.release(T + 2 * S + MS + WINDOW + MS)
    fork, arrow = model.rows[-2], model.rows[-1]
    assert fork.glyph == "◉" and arrow.sig == "SIGUSR1"
    assert arrow.receiver == fork.receiver


def test_a_send_to_a_process_the_chart_never_saw_fork_is_not_held() -> None:
    """A chart started after the worker (no fork of it will come): waiting the window would
    not give it a lane; the arrow goes to a pid lane at once, and a later event that names
    the worker's slot moves the lane there."""
    model = SequenceModel()
    model.hold(you_sent(T + S, target=42), now=T + S + MS // 5)
    assert model.held == 0 and model.rows[-1].receiver == "p42"
    model.hold(ran(T + S + MS // 2, pid=42), now=T + S + MS)
    model.release(T + S + WINDOW + 2 * MS)
    assert model.rows[-1].receiver == "w0" and model.rows[-1].handled == 1
    assert "p42" not in [lane.key for lane in model.lanes]


def test_a_replayed_send_is_not_live_and_waits() -> None:
    """A recording's send was not made just now: nothing says what is still to come."""
    model = lab_with_w0()
    model.hold(you_sent(T + S), now=T + S + 10 * S)
    assert model.held == 1


def test_early_sends_draw_what_time_order_draws() -> None:
    """A stop and a continue of ours applied at once, the master's older stop and the
    sampler's sightings in the window: the stop and continue marks go where they go when
    every event is applied in time order (right after our SIGSTOP, after our SIGCONT)."""
    events = [
        (master_sent(T + S - 3 * MS, "SIGTSTP"), T + S + MS),
        (
            {
                "t": T + S + 250 * MS,
                "pid": 5,
                "role": "controller",
                "kind": "state",
                "child": W0,
                "state": "T",
                "old": "S",
            },
            T + S + 251 * MS,
        ),  # fmt: skip
        (
            {
                "t": T + 2 * S + 240 * MS,
                "pid": 5,
                "role": "controller",
                "kind": "state",
                "child": W0,
                "state": "S",
                "old": "T",
            },
            T + 2 * S + 241 * MS,
        ),  # fmt: skip
    ]
    ours = [(you_sent(T + S, "SIGSTOP"), T + S), (you_sent(T + 2 * S, "SIGCONT"), T + 2 * S)]
    in_order = lab_with_w0()
    for event, _ in sorted(events + ours, key=lambda e: e[0]["t"]):
        in_order.add(event)
    live = lab_with_w0()
    for event, arrived in sorted(events + ours, key=lambda e: e[1]):
        live.hold(event, now=arrived + MS // 5)
        live.release(arrived + MS // 5)
    live.release(T + 3 * S)
    assert live.held == 0
    assert labels(live) == labels(in_order)
    assert [row.t for row in live.rows] == [row.t for row in in_order.rows]
    stopped = next(row for row in live.rows if row.glyph == "T")
    assert stopped.t == T + S + 1  # right after our SIGSTOP, not the master's SIGTSTP


def test_a_storm_send_that_waited_the_window_still_joins_its_storm_row() -> None:
    # During a storm the app's thread can fall behind: a send that reaches the chart more than
    # a window after its stamp is held (not applied at once), while newer sends of the same
    # storm, read after the thread caught up, are applied at once. Released later, the held one
    # is older than the row's last send: it must still join that row, not start a second.
    model = lab_with_w0()
    start = T + S
    for i in range(50):
        model.hold(you_sent(start + i * MS), now=start + i * MS + MS // 5)  # at once
    model.hold(you_sent(start + 50 * MS), now=start + 50 * MS + 2 * WINDOW)  # late: held
    assert model.held == 1
    for i in range(51, 100):
        model.hold(you_sent(start + i * MS), now=start + 50 * MS + 2 * WINDOW + MS)  # at once
    model.release(start + 10 * S, everything=True)
    arrows = [row for row in model.rows if row.kind == "arrow"]
    assert [(row.sig, row.count) for row in arrows] == [("SIGUSR1", 100)]
    assert arrows[0].t == start and arrows[0].last_t == start + 99 * MS


def test_a_storms_first_sends_that_waited_the_window_join_the_row_their_successors_made() -> None:
    # The storm's first sends reach the chart late (the app's thread was busy): they are held,
    # and a newer send of the same storm, prompt, makes the row. The held ones, released, are
    # older than the row's first send: they join it and the row starts at the first of them.
    model = lab_with_w0()
    start = T + S
    for i in range(10):
        model.hold(you_sent(start + i * MS), now=start + 10 * MS + 2 * WINDOW)  # late: held
    assert model.held == 10
    for i in range(10, 100):
        model.hold(you_sent(start + i * MS), now=start + i * MS + MS // 5)  # at once
    model.release(start + 10 * S, everything=True)
    arrows = [row for row in model.rows if row.kind == "arrow"]
    assert [(row.sig, row.count) for row in arrows] == [("SIGUSR1", 100)]
    assert arrows[0].t == start and arrows[0].last_t == start + 99 * MS
    assert [row.t for row in model.rows] == sorted(row.t for row in model.rows)

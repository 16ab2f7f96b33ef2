"""Behaviours masked, stubborn, crash, threads, pipe-writer and orphan-maker, on live processes.

Each test runs a real lab, sends real signals, and checks the behaviour's events and, where the
kernel shows it, the observer's view of /proc (pending, blocked and ignored masks; zombies).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from sigscope import procfs
from sigscope.lab import Lab, LabError
from sigscope.lab.behaviours import BehaviourError, check_params
from sigscope.observe.sampler import Sampler, Snapshot, wait_snapshot
from tests.conftest import reap_children, wait_gone

T = 10.0  # generous: the machine may be busy; nothing here asserts speed
USR1 = int(signal.SIGUSR1)
TERM = int(signal.SIGTERM)
PIPE = int(signal.SIGPIPE)


def ready_worker(lab: Lab, index: int = 0) -> int:
    """The pid of live worker ``index``, once its handlers are installed."""
    pid = lab.worker(index).pid
    lab.wait_for(kind="ready", pid=pid, timeout=T)
    return pid


def spawned(lab: Lab, behaviour: str, params: dict[str, Any] | None = None) -> int:
    """Start one more worker with ``behaviour`` while the lab runs; return its pid."""
    c = lab.cursor()
    lab.spawn_worker(behaviour, params)
    return int(lab.wait_for(kind="spawn", behaviour=behaviour, since=c, timeout=T)["child"])


def view(snapshot: Snapshot, pid: int) -> Any:
    found = snapshot.by_pid(pid)
    assert found is not None, f"pid {pid} is not in the snapshot"
    return found


# -- bad parameters ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "params", "says"),
    [
        ("masked", {"signals": "KILL"}, "SIGKILL cannot be blocked"),
        ("masked", {"signals": "USR1;USR2"}, "release signal SIGUSR2 cannot also be blocked"),
        ("masked", {"release": "NOPE"}, "unknown signal"),
        ("masked", {"release": "TERM"}, "cannot be SIGTERM"),
        ("masked", {"seconds": "-1"}, "'seconds' must be >= 0"),
        ("stubborn", {"signals": "STOP"}, "SIGSTOP cannot be blocked, caught or ignored"),
        ("crash", {"how": "explode"}, "one of exit, raise, abort"),
        ("crash", {"code": "256"}, "0-255"),
        ("crash", {"after": "soon"}, "wants a number"),
        ("threads", {"count": "0"}, "'count' must be 1-64"),
        ("pipe-writer", {"default_sigpipe": "maybe"}, "true or false"),
        ("orphan-maker", {"count": "1001"}, "'count' must be 1-1000"),
        ("orphan-maker", {"linger": "-2"}, "'linger' must be 0-3600"),
    ],
)
def test_bad_parameters_are_refused_with_a_reason(
    name: str, params: dict[str, Any], says: str
) -> None:
    with pytest.raises(BehaviourError, match=says):
        check_params(name, params)


def test_bad_parameters_are_refused_before_any_process_starts() -> None:
    with pytest.raises(LabError, match="SIGKILL cannot be blocked"):
        Lab(workers=1, behaviour="masked", params={"signals": ["KILL"]})
    out = subprocess.run(
        [sys.executable, "-m", "sigscope", "trace", "--behaviour", "crash:how=explode"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert "one of exit, raise, abort" in out.stderr


# -- masked ------------------------------------------------------------------------------------
def test_masked_signal_is_pending_while_blocked_and_delivered_once_on_release() -> None:
    with Lab(workers=1, behaviour="masked") as lab:
        pid = ready_worker(lab)
        blocked = lab.wait_for(kind="blocked", pid=pid, timeout=T)
        assert blocked["signals"] == ["SIGUSR1"] and blocked["release"] == "SIGUSR2"
        sampler = Sampler(lab)
        masks = view(sampler.scan(), pid).masks
        assert USR1 in masks.blocked and USR1 in masks.caught
        assert USR1 not in masks.all_pending

        c = lab.cursor()
        lab.send(pid, "USR1")
        lab.send(pid, "USR1")  # a standard signal does not queue: still one pending bit
        # kill() makes the signal pending for the process as a whole: ShdPnd.
        snap = wait_snapshot(sampler, lambda s: USR1 in view(s, pid).masks.shared_pending, T)
        assert USR1 in view(snap, pid).masks.blocked
        assert not [e for e in lab.events(c) if e["kind"] == "received" and e["pid"] == pid]

        lab.send(pid, "USR2")
        unblocked = lab.wait_for(kind="unblocked", pid=pid, since=c, timeout=T)
        assert unblocked["why"] == "release"
        assert unblocked["pending"] == ["SIGUSR1"]
        got = lab.wait_for(kind="received", sig="SIGUSR1", pid=pid, since=c, timeout=T)
        assert got["t"] >= unblocked["t"]
        wait_snapshot(
            sampler,
            lambda s: USR1 not in view(s, pid).masks.all_pending | view(s, pid).masks.blocked,
            T,
        )

        # USR2 again blocks again; between the two blocks USR1 ran exactly once.
        lab.send(pid, "USR2")
        again = lab.wait_for(kind="blocked", pid=pid, since=c, timeout=T)
        between = [
            e
            for e in lab.events(c)
            if e["kind"] == "received"
            and e["pid"] == pid
            and e["sig"] == "SIGUSR1"
            and e["t"] <= again["t"]
        ]
        assert len(between) == 1


def test_masked_block_ends_by_itself_after_seconds() -> None:
    with Lab(workers=1, behaviour="masked", params={"seconds": 2.0}) as lab:
        pid = ready_worker(lab)
        blocked = lab.wait_for(kind="blocked", pid=pid, timeout=T)
        lab.send(pid, "USR1")
        unblocked = lab.wait_for(kind="unblocked", pid=pid, timeout=T)
        assert unblocked["why"] == "timer"
        assert unblocked["pending"] == ["SIGUSR1"]
        assert unblocked["t"] - blocked["t"] >= 1.9e9
        got = lab.wait_for(kind="received", sig="SIGUSR1", pid=pid, timeout=T)
        assert got["t"] >= unblocked["t"]


# -- stubborn ------------------------------------------------------------------------------------
def test_stubborn_worker_makes_a_graceful_shutdown_escalate_to_kill() -> None:
    with Lab(workers=1, behaviour="stubborn", grace=0.5) as lab:
        pid = ready_worker(lab)
        said = lab.wait_for(kind="disposition", pid=pid, timeout=T)
        assert said["sig"] == "SIGTERM" and said["disposition"] == "SIG_IGN"
        assert TERM in view(Sampler(lab).scan(), pid).masks.ignored

        c = lab.cursor()
        lab.send("master", "TERM")
        term = lab.wait_for(
            kind="sent", role="master", sig="SIGTERM", target=pid, since=c, timeout=T
        )
        kill = lab.wait_for(
            kind="sent", role="master", sig="SIGKILL", target=pid, since=c, timeout=T
        )
        assert kill["t"] - term["t"] >= 0.5e9  # KILL only after the grace period
        reaped = lab.wait_for(kind="reaped", role="master", child=pid, since=c, timeout=T)
        assert reaped["how"] == "signalled" and reaped["exitcode"] == -9
        lab.wait_for(kind="exit", role="master", since=c, timeout=T)
        master = lab.wait_for(
            kind="reaped", role="controller", child=lab.master_pid, since=c, timeout=T
        )
        assert master["exitcode"] == 0
        ignored = [e for e in lab.events(c) if e["pid"] == pid and e["kind"] == "received"]
        assert ignored == []  # an ignored signal is discarded: no handler, nothing pending


# -- crash -------------------------------------------------------------------------------------
def test_crash_loop_backs_off_longer_and_longer() -> None:
    with Lab(workers=0) as lab:
        spawned(lab, "crash", {"after": 0.05, "how": "exit", "code": 7})
        backoffs = lab.wait_all(3, kind="backoff", index=0, timeout=30)
        delays = [e["delay"] for e in backoffs]
        assert delays[0] < delays[1] < delays[2], delays
        assert [e["deaths"] for e in backoffs] == [2, 3, 4]
        reaped = [e for e in lab.events() if e["kind"] == "reaped" and e.get("index") == 0]
        assert len(reaped) >= 4
        assert all(e["how"] == "exited" and e["exitcode"] == 7 for e in reaped)


def test_crash_exits_raises_or_aborts_as_asked() -> None:
    with Lab(workers=0) as lab:
        pids = [
            spawned(lab, "crash", {"after": 0.2, "how": "exit", "code": 9}),
            spawned(lab, "crash", {"after": 0.2, "how": "raise"}),
            spawned(lab, "crash", {"after": 0.2, "how": "abort"}),
        ]
        exited, raised, aborted = (
            lab.wait_for(kind="reaped", role="master", child=pid, timeout=T) for pid in pids
        )
        assert (exited["how"], exited["exitcode"]) == ("exited", 9)
        # An uncaught exception: the traceback as an error event, then exit status 1.
        assert (raised["how"], raised["exitcode"]) == ("exited", 1)
        error = lab.wait_for(kind="error", pid=pids[1], timeout=T)
        assert "CrashOnPurpose" in error["text"]
        assert (aborted["how"], aborted["sig"], aborted["exitcode"]) == ("signalled", "SIGABRT", -6)
        assert aborted["core"] is False  # lab processes run with RLIMIT_CORE 0
        for pid, how in zip(pids, ("exit", "raise", "abort"), strict=True):
            assert lab.wait_for(kind="crash", pid=pid, timeout=T)["how"] == how


# -- threads -----------------------------------------------------------------------------------
def test_threads_handlers_run_in_the_main_thread_even_after_pthread_kill() -> None:
    with Lab(workers=1, behaviour="threads", params={"count": 2}) as lab:
        pid = ready_worker(lab)
        refusals = lab.wait_all(2, kind="raised", pid=pid, timeout=T)
        assert {(e["call"], e["exception"]) for e in refusals} == {("signal.signal", "ValueError")}
        assert all("main thread" in e["text"] for e in refusals)
        assert {e["thread"] for e in refusals} == {"worker-thread-0", "worker-thread-1"}
        assert all(e["native_id"] != pid for e in refusals)
        assert view(Sampler(lab).scan(), pid).threads == 3

        c = lab.cursor()
        lab.send(pid, "USR1")
        got = lab.wait_for(kind="received", sig="SIGUSR1", pid=pid, since=c, timeout=T)
        assert got["thread"] == "MainThread" and got["native_id"] == pid

        c = lab.cursor()
        lab.send(pid, "USR2")
        sent = lab.wait_for(kind="sent", pid=pid, via="pthread_kill", since=c, timeout=T)
        assert sent["thread"] == "worker-thread-0" and sent["native_id"] != pid
        got = lab.wait_for(kind="received", sig="SIGUSR1", pid=pid, since=c, timeout=T)
        assert got["targeted_thread"] == "worker-thread-0"
        assert got["thread"] == "MainThread" and got["native_id"] == pid


# -- pipe-writer -----------------------------------------------------------------------------------
def test_pipe_writer_gets_broken_pipe_error_under_pythons_default() -> None:
    with Lab(workers=1, behaviour="pipe-writer", params={"after": 0.0}) as lab:
        pid = lab.worker(0).pid
        said = lab.wait_for(kind="disposition", pid=pid, timeout=T)
        # What the worker found: Python ignores SIGPIPE at start-up.
        assert (said["sig"], said["previous"], said["disposition"]) == (
            "SIGPIPE",
            "SIG_IGN",
            "SIG_IGN",
        )
        error = lab.wait_for(kind="raised", pid=pid, timeout=T)
        assert (error["exception"], error["errno"]) == ("BrokenPipeError", "EPIPE")
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        assert PIPE in view(Sampler(lab).scan(), pid).masks.ignored
        c = lab.cursor()
        lab.send(pid, "USR1")  # write again: the same error, and the worker lives on
        lab.wait_for(kind="raised", pid=pid, exception="BrokenPipeError", since=c, timeout=T)
        assert not [e for e in lab.events() if e["kind"] == "reaped" and e["child"] == pid]


def test_pipe_writer_dies_by_sigpipe_when_the_default_is_restored() -> None:
    with Lab(workers=0) as lab:
        pid = spawned(lab, "pipe-writer", {"default_sigpipe": True, "after": 0.1})
        reaped = lab.wait_for(kind="reaped", role="master", child=pid, timeout=T)
        assert (reaped["how"], reaped["sig"], reaped["exitcode"]) == ("signalled", "SIGPIPE", -13)
        mine = [e for e in lab.events() if e["pid"] == pid]
        kinds = [e["kind"] for e in mine]
        assert "write" in kinds and "raised" not in kinds
        said = next(e for e in mine if e["kind"] == "disposition")
        assert said["disposition"] == "SIG_DFL"


# -- orphan-maker ------------------------------------------------------------------------------
def test_orphans_are_adopted_and_reaped_by_the_controller() -> None:
    me = os.getpid()
    with Lab(workers=0) as lab:
        c = lab.cursor()
        worker = spawned(lab, "orphan-maker", {"count": 3, "linger": 2.0, "stay": 0.2})
        forks = lab.wait_all(3, kind="fork", pid=worker, since=c, timeout=T)
        orphans = [e["child"] for e in forks]
        assert all(e["starttime"] for e in forks)
        lab.wait_for(kind="reaped", role="master", child=worker, since=c, timeout=T)
        for orphan in orphans:
            adopted = lab.wait_for(kind="adopted", pid=orphan, since=c, timeout=T)
            assert adopted["role"] == "orphan"
            assert adopted["old_parent"] == worker and adopted["parent"] == me
        # While they linger: our children, in the lab's group, titled, known as orphans.
        for orphan in orphans:
            st = procfs.read_stat(orphan)
            assert st is not None and st.ppid == me and st.pgid == lab.pgid
            with open(f"/proc/{orphan}/cmdline", "rb") as f:
                assert f.read().startswith(b"sigscope orphan ")
            assert lab.processes[orphan].role == "orphan"
        for orphan in orphans:
            reaped = lab.wait_for(kind="reaped", child=orphan, since=c, timeout=T)
            assert reaped["role"] == "controller" and reaped["adopted"] is True
            assert (reaped["how"], reaped["exitcode"]) == ("exited", 0)
            assert procfs.read_stat(orphan) is None  # reaped: not even a zombie is left


def lab_group(pgid: int) -> list[int]:
    """Every process (zombies included) in process group ``pgid``."""
    return [p for p in procfs.all_pids() if (st := procfs.read_stat(p)) and st.pgid == pgid]


def test_orphans_die_with_a_sigkilled_controller() -> None:
    trace = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sigscope",
            "trace",
            "--json",
            "--workers",
            "1",
            "--behaviour",
            "orphan-maker:count=3,linger=600,stay=0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert trace.stdout is not None
    pgid = 0
    adopted: set[int] = set()
    try:
        while len(adopted) < 3:
            line = trace.stdout.readline()
            assert line, "sigscope trace ended early"
            event = json.loads(line)
            if event["role"] == "master":
                pgid = event["pid"]  # the master leads the lab's process group
            if event["kind"] == "adopted":
                assert event["parent"] == trace.pid
                adopted.add(event["pid"])
    finally:
        trace.kill()
        trace.wait()
        trace.stdout.close()
    assert pgid
    # Everything in the lab's group (the master, workers, orphans adopted by the trace, and
    # orphans of a respawned worker still waiting for adoption) must die at once — not after the
    # 600 s linger. What is re-parented to us (a subreaper) we reap, by pid.
    deadline = time.monotonic() + 3.0
    while (left := lab_group(pgid)) and time.monotonic() < deadline:
        reap_children(set(left) & set(procfs.children_of(os.getpid())), timeout=0.0)
        time.sleep(0.01)
    assert left == []
    assert wait_gone(adopted, timeout=0.0) == set()


# -- selectable at run time -------------------------------------------------------------------
def test_a_worker_with_another_behaviour_joins_a_running_lab() -> None:
    with Lab(workers=1, behaviour="idle") as lab:
        first = ready_worker(lab)
        pid = spawned(lab, "stubborn")
        spawn = lab.wait_for(kind="spawn", child=pid, timeout=T)
        assert spawn["index"] == 1
        start = lab.wait_for(kind="start", pid=pid, timeout=T)
        assert start["behaviour"] == "stubborn" and start["params"] == {"signals": ["SIGTERM"]}
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        snap = Sampler(lab).scan()
        assert TERM in view(snap, pid).masks.ignored
        assert TERM not in view(snap, first).masks.ignored
        assert sorted((w.index, w.behaviour) for w in lab.live_workers()) == [
            (0, "idle"),
            (1, "stubborn"),
        ]
        with pytest.raises(LabError, match="one of exit, raise, abort"):
            lab.spawn_worker("crash", {"how": "explode"})

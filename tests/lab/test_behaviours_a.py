"""Behaviours pause, alarm, itimer, blocked-read, busy-c and sigwait, on live processes.

Each test runs a real lab and sends real signals, then checks what the behaviour's events say
against what the kernel and Python are known to do (facts.md). Timing is only ever asserted
loosely (the machine is shared): "after about N seconds", "not while the C call ran".
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from sigscope import procfs
from sigscope.events import Event, now
from sigscope.lab import Lab, LabError, LabTimeout
from sigscope.lab.behaviours import BehaviourError, check_params
from sigscope.signames import signal_name

T = 10.0  # generous: the machine may be busy; nothing here asserts speed


def ready_worker(lab: Lab, index: int = 0) -> int:
    """The pid of live worker ``index``, once its behaviour has installed its handlers."""
    pid = lab.worker(index).pid
    lab.wait_for(kind="ready", pid=pid, timeout=T)
    return pid


def of(lab: Lab, pid: int, since: int = 0, **fields: Any) -> list[Event]:
    """Events of process ``pid`` since ``since`` whose fields all equal ``fields``."""
    return [
        e
        for e in lab.events(since)
        if e.get("pid") == pid and all(e.get(k) == v for k, v in fields.items())
    ]


def wchan(pid: int) -> str:
    """The kernel function the process's main thread sleeps in (``__do_sys_pause``, ...)."""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return f.read()
    except OSError:
        return ""


def wait_asleep_in(lab: Lab, pid: int, word: str) -> None:
    """Wait until the worker really sleeps in the call (here: alarm's FIFO open, whose
    ``waiting`` event is written just *before* the call; a signal sent in between would arrive
    too early — the very race the pause behaviour teaches)."""
    try:
        lab.wait_until(lambda: word in wchan(pid), timeout=T)
    except LabTimeout:
        if wchan(pid) in ("", "0"):
            pytest.skip("this kernel hides /proc/PID/wchan")
        raise


def ends_by_term(lab: Lab, pid: int) -> None:
    """TERM ends the worker as the default action would: the master reaps it as signalled.

    The master then starts a replacement; wait until it is ready, so that the lab closes on a
    settled tree (closing during a spawn once left a zombie: fixed in Lab.close since).
    """
    c = lab.cursor()
    lab.send(pid, "TERM")
    reaped = lab.wait_for(kind="reaped", child=pid, since=c, timeout=T)
    assert reaped["how"] == "signalled" and reaped["exitcode"] == -signal.SIGTERM
    fresh = lab.wait_for(kind="spawn", since=c, timeout=T)["child"]
    lab.wait_for(kind="ready", pid=fresh, since=c, timeout=T)


def burst(lab: Lab, pid: int, sig: int, count: int) -> None:
    """Send ``count`` × ``sig`` to a worker of this lab as fast as possible, through a pidfd
    checked against the worker's start time (so it cannot reach a re-used pid), and put the
    count in the event stream."""
    proc = lab.processes[pid]
    assert proc.ref is not None
    fd = os.pidfd_open(pid)
    try:
        assert procfs.start_time(pid) == proc.ref.starttime, "the pid is no longer our worker"
        t = now()
        for _ in range(count):
            signal.pidfd_send_signal(fd, sig)
    finally:
        os.close(fd)
    lab.add_event(
        {
            "t": t,
            "pid": os.getpid(),
            "role": "controller",
            "kind": "sent",
            "sig": signal_name(sig),
            "target": pid,
            "target_role": "worker",
            "count": count,
        }
    )


# -- bad parameters ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "params", "says"),
    [
        ("pause", {"work": "-1"}, "'work' must be >= 0"),
        ("alarm", {"seconds": "-3"}, "'seconds' must be 1 or more"),
        ("alarm", {"seconds": "0"}, r"alarm\(0\) cancels"),
        ("alarm", {"seconds": "1.5"}, "wants a whole number"),
        ("alarm", {"repeat": "-1"}, "'repeat' must be >= 0"),
        ("itimer", {"which": "CPU"}, "must be REAL, VIRTUAL or PROF"),
        ("itimer", {"value": "0"}, "'value' must be > 0"),
        ("itimer", {"interval": "-0.5"}, "'interval' must be >= 0"),
        ("itimer", {"burn": "maybe"}, "true or false"),
        ("blocked-read", {"siginterrupt": "sometimes"}, "true or false"),
        ("blocked-read", {"timeout": "1"}, "unknown parameter"),
        ("busy-c", {"mb": "0"}, "'mb' must be 1 to 1024"),
        ("busy-c", {"algorithm": "crc32"}, "'algorithm' must be one of"),
        ("sigwait", {"signals": "USR1;KILL"}, "SIGKILL cannot be blocked"),
        ("sigwait", {"signals": "RTMIN+99"}, "out of range"),
        ("sigwait", {"quiet": "0"}, "'quiet' must be > 0"),
    ],
)
def test_bad_parameters_are_refused_with_a_reason(
    name: str, params: dict[str, Any], says: str
) -> None:
    with pytest.raises(BehaviourError, match=says):
        check_params(name, params)


def test_a_bad_parameter_on_the_command_line_is_one_line_and_exit_2() -> None:
    with pytest.raises(LabError, match="'seconds' must be 1 or more"):
        Lab(workers=1, behaviour="alarm", params={"seconds": -2})
    out = subprocess.run(
        [sys.executable, "-m", "sigscope", "trace", "--behaviour", "alarm:seconds=-2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "'seconds' must be 1 or more" in out.stderr


# -- pause -------------------------------------------------------------------------------------
def test_pause_says_which_signal_woke_it_and_which_one_it_missed() -> None:
    with Lab(workers=1, behaviour="pause", params={"work": 3.0}) as lab:
        pid = ready_worker(lab)
        c = lab.cursor()
        # "waiting" is written once the worker sleeps in pause(2): sending at once is safe.
        asleep = lab.wait_for(kind="call", state="waiting", pid=pid, timeout=T)
        assert asleep["confirmed"] is True
        lab.send(pid, "USR1")
        woke = lab.wait_for(kind="call", state="returned", pid=pid, since=c, timeout=T)
        assert woke["woke_by"] == ["SIGUSR1"] and woke["missed"] == []

        # During the 3 s of work: the handler runs at once, but nobody is in pause() yet.
        c = lab.cursor()
        sent_usr2 = lab.send(pid, "USR2")
        assert sent_usr2.pid == pid
        asleep = lab.wait_for(kind="call", state="waiting", pid=pid, since=c, timeout=T)
        usr2_sent = lab.wait_for(kind="sent", sig="SIGUSR2", since=c, timeout=T)
        assert usr2_sent["t"] < asleep["t"], "USR2 must be sent before pause() is entered"
        # pause() sleeps although USR2 came: its handler has run and is not waited for.
        assert not of(lab, pid, c, kind="call", state="returned")
        assert "pause" in wchan(pid)  # what the waiting event claims, seen from outside

        c2 = lab.cursor()
        lab.send(pid, "HUP")
        woke = lab.wait_for(kind="call", state="returned", pid=pid, since=c2, timeout=T)
        assert woke["woke_by"] == ["SIGHUP"]
        assert woke["missed"] == ["SIGUSR2"]
        usr2 = lab.wait_for(kind="received", sig="SIGUSR2", pid=pid, since=c, timeout=T)
        assert usr2["t"] < asleep["t"] < woke["t"]
        hup_sent = lab.wait_for(kind="sent", sig="SIGHUP", since=c2, timeout=T)
        assert woke["late"] * 1e9 >= hup_sent["t"] - usr2["t"]
        assert lab.wait_for(kind="note", pid=pid, since=c2, timeout=T)["missed"] == ["SIGUSR2"]
        ends_by_term(lab, pid)


# -- alarm -------------------------------------------------------------------------------------
def test_alarm_times_out_the_open_and_alarm_returns_the_seconds_left() -> None:
    seconds = 2
    with Lab(workers=1, behaviour="alarm", params={"seconds": seconds, "repeat": 1}) as lab:
        pid = lab.worker(0).pid
        armed = lab.wait_for(kind="timer", action="armed", pid=pid, timeout=T)
        assert armed["timer"] == "alarm" and armed["previous"] == 0
        assert 0 < armed["value"] <= seconds

        fired = lab.wait_for(kind="timer", action="fired", pid=pid, timeout=T + seconds)
        # About N seconds: never sooner than the alarm (less the time to emit one event).
        assert seconds - 0.2 <= fired["elapsed"] <= seconds + 5
        failed = lab.wait_for(kind="call", call="open(fifo)", state="failed", pid=pid, timeout=T)
        assert failed["exception"] == "Interrupted" and failed["text"] == "SIGALRM"
        lab.wait_for(kind="received", sig="SIGALRM", pid=pid, timeout=T)

        # A second alarm() replaces the first and returns the seconds that were left on it.
        replaced = lab.wait_for(
            lambda e: "replaced_left" in e, kind="timer", action="armed", pid=pid, timeout=T
        )
        assert 1 <= replaced["previous"] < seconds
        assert abs(replaced["previous"] - replaced["replaced_left"]) <= 0.51
        assert replaced["value"] > replaced["replaced_left"]  # re-armed to the full time

        cancelled = lab.wait_for(kind="timer", action="cancelled", pid=pid, timeout=T)
        assert cancelled["previous"] >= 1 and cancelled["value"] == 0
        c = lab.cursor()
        with pytest.raises(LabTimeout):  # alarm(0) cancelled it: no SIGALRM comes
            lab.wait_for(kind="received", sig="SIGALRM", pid=pid, since=c, timeout=seconds + 1)
        assert not of(lab, pid, c, kind="timer", action="fired")
        ends_by_term(lab, pid)


def test_a_sigalrm_from_kill_aborts_the_open_but_is_not_the_alarm() -> None:
    with Lab(workers=1, behaviour="alarm", params={"seconds": 30}) as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="call", state="waiting", pid=pid, timeout=T)
        wait_asleep_in(lab, pid, "wait_for_partner")
        c = lab.cursor()
        lab.send(pid, "ALRM")
        failed = lab.wait_for(kind="call", state="failed", pid=pid, since=c, timeout=T)
        assert failed["text"] == "SIGALRM"
        note = lab.wait_for(kind="note", pid=pid, since=c, timeout=T)
        assert 20 < note["value"] < 30  # the alarm itself had not expired
        assert not of(lab, pid, kind="timer", action="fired")
        ends_by_term(lab, pid)


def test_term_ends_the_alarm_worker_during_the_blocked_open() -> None:
    with Lab(workers=1, behaviour="alarm", params={"seconds": 60}) as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="call", state="waiting", pid=pid, timeout=T)
        wait_asleep_in(lab, pid, "wait_for_partner")  # the FIFO open waits for a writer
        ends_by_term(lab, pid)
        assert not of(lab, pid, kind="timer", action="fired")


# -- itimer ------------------------------------------------------------------------------------
def test_a_burning_virtual_timer_fires_sigvtalrm_as_cpu_time_passes() -> None:
    params = {"which": "VIRTUAL", "value": 0.05, "interval": 0.05, "ticks": 3}
    with Lab(workers=1, behaviour="itimer", params=params) as lab:
        pid = ready_worker(lab)
        ticks = lab.wait_all(3, kind="timer", action="tick", pid=pid, timeout=30)
        assert all(e["timer"] == "ITIMER_VIRTUAL" for e in ticks)
        assert [e["count"] for e in ticks] == [1, 2, 3]
        # It counts CPU time: at least interval × ticks of it has been used by the third tick.
        assert ticks[-1]["cpu"] >= 0.05 * 2
        assert len(lab.wait_all(3, kind="received", sig="SIGVTALRM", pid=pid, timeout=T)) == 3
        cancelled = lab.wait_for(kind="timer", action="cancelled", pid=pid, timeout=T)
        assert cancelled["value"] == 0 and cancelled["interval"] == 0
        ends_by_term(lab, pid)


def test_an_idle_virtual_timer_never_fires_while_a_real_one_does() -> None:
    slots = [
        {
            "behaviour": "itimer",
            "params": {"which": "VIRTUAL", "burn": False, "value": 0.2, "interval": 0.2},
        },
        {"behaviour": "itimer", "params": {"which": "REAL", "value": 0.2, "interval": 0.2}},
    ]
    with Lab(workers=2, behaviour="itimer", slots=slots) as lab:
        idle_pid = ready_worker(lab, 0)
        real_pid = ready_worker(lab, 1)
        armed = lab.wait_for(kind="note", pid=idle_pid, timeout=T)
        assert armed["timer"] == "ITIMER_VIRTUAL"
        # The REAL timer ticks 5 times: a second of wall time, at least.
        ticks = lab.wait_all(5, kind="timer", action="tick", pid=real_pid, timeout=T)
        assert all(e["timer"] == "ITIMER_REAL" for e in ticks)
        lab.wait_all(5, kind="received", sig="SIGALRM", pid=real_pid, timeout=T)
        # Meanwhile the idle VIRTUAL timer has not moved, let alone fired.
        c = lab.cursor()
        lab.send(idle_pid, "USR1")
        again = lab.wait_for(kind="note", pid=idle_pid, since=c, timeout=T)
        # Over a second of wall time, the timer moved only by the CPU spent on USR1 (a few ms).
        assert 0 < armed["value"] - 0.05 <= again["value"] <= armed["value"]
        assert not of(lab, idle_pid, kind="timer", action="tick")
        assert not of(lab, idle_pid, kind="received", sig="SIGVTALRM")
        ends_by_term(lab, idle_pid)


# -- blocked-read ------------------------------------------------------------------------------
def usr1_in_read(lab: Lab) -> tuple[int, Event, int]:
    """Send SIGUSR1 to the blocked-read worker once it sleeps in read(): its pid, its
    ``waiting`` call event, and the cursor from just before the send."""
    pid = ready_worker(lab)
    waiting = lab.wait_for(kind="call", state="waiting", pid=pid, timeout=T)
    assert "pipe" in wchan(pid)  # the waiting event is written once it sleeps in read()
    c = lab.cursor()
    lab.send(pid, "USR1")
    return pid, waiting, c


def test_siginterrupt_true_the_handler_runs_during_the_read_and_python_retries_it() -> None:
    with Lab(workers=1, behaviour="blocked-read", params={"siginterrupt": True}) as lab:
        pid, waiting, c = usr1_in_read(lab)
        assert waiting["siginterrupt"] is True
        retried = lab.wait_for(kind="call", state="retried", sig="SIGUSR1", pid=pid, timeout=T)
        received = lab.wait_for(kind="received", sig="SIGUSR1", pid=pid, since=c, timeout=T)
        assert received["t"] <= retried["t"]
        # The read never returned or failed: Python retried it (PEP 475), the caller saw nothing.
        assert not [e for e in of(lab, pid, c, kind="call") if e["state"] in ("returned", "failed")]
        assert not of(lab, pid, c, kind="call", state="restarted")
        ends_by_term(lab, pid)


def test_siginterrupt_false_the_kernel_restarts_the_read_and_the_handler_waits() -> None:
    with Lab(workers=1, behaviour="blocked-read", params={"siginterrupt": False}) as lab:
        pid, _, c = usr1_in_read(lab)
        tripped = lab.wait_for(kind="tripped", sig="SIGUSR1", pid=pid, since=c, timeout=T)
        lab.wait_for(kind="call", state="restarted", sig="SIGUSR1", pid=pid, since=c, timeout=T)
        # The C-level handler ran (the wakeup fd byte); the Python handler has not.
        assert not of(lab, pid, c, kind="received", sig="SIGUSR1")
        # TERM makes the read return (the watcher writes a byte); only then USR1's handler runs.
        c2 = lab.cursor()
        lab.send(pid, "TERM")
        reaped = lab.wait_for(kind="reaped", child=pid, since=c2, timeout=T)
        assert reaped["exitcode"] == -signal.SIGTERM
        returned = lab.wait_for(kind="call", state="returned", pid=pid, since=c2, timeout=T)
        usr1 = lab.wait_for(kind="received", sig="SIGUSR1", pid=pid, since=c2, timeout=T)
        assert usr1["t"] - tripped["t"] >= 0.9e9  # held back for as long as read() was pending
        assert usr1["t"] >= returned["t"] - 50_000_000  # it ran as the read returned


def test_a_handler_that_raises_makes_the_interrupted_read_fail() -> None:
    params = {"siginterrupt": True, "raise_in_handler": True}
    with Lab(workers=1, behaviour="blocked-read", params=params) as lab:
        pid, _, c = usr1_in_read(lab)
        failed = lab.wait_for(kind="call", state="failed", pid=pid, since=c, timeout=T)
        assert failed["exception"] == "HandlerRaised" and failed["sig"] == "SIGUSR1"
        lab.wait_for(kind="call", state="waiting", pid=pid, since=c, timeout=T)  # reads again
        assert not of(lab, pid, c, kind="call", state="retried")
        ends_by_term(lab, pid)


# -- busy-c ------------------------------------------------------------------------------------
def test_the_python_handler_never_runs_while_the_c_call_does() -> None:
    with Lab(workers=1, behaviour="busy-c", params={"mb": 32}) as lab:
        pid = ready_worker(lab)
        pairs: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        # Most signals land during a call; one that lands between two calls runs at once. Send
        # until one has waited for a call to end (3 at least, 12 at most: a loaded machine
        # spends more of its time between the calls).
        for sig in ("USR1", "USR2", "HUP") * 4:
            if len(pairs) >= 3 and any(g["t"] >= b["ended"] for _s, g, b in pairs):
                break
            c = lab.cursor()
            lab.send(pid, sig)
            sent = lab.wait_for(kind="sent", sig=f"SIG{sig}", since=c, timeout=T)
            got = lab.wait_for(kind="received", sig=f"SIG{sig}", pid=pid, since=c, timeout=T)
            busy = lab.wait_for(
                lambda e, s=sig: f"SIG{s}" in e.get("handled", ()),
                kind="busy",
                pid=pid,
                since=c,
                timeout=T,
            )
            pairs.append((sent, got, busy))
        for sent, got, busy in pairs:
            assert got["t"] > sent["t"]
            # Never inside the C call: after it ended (or, rarely, before it began).
            assert not busy["started"] < got["t"] < busy["ended"]
            assert busy["duration"] > 0
        late_after_a_call = [g for _s, g, b in pairs if g["t"] >= b["ended"]]
        assert late_after_a_call, "at least one handler waited for a C call to end"
        ends_by_term(lab, pid)


def test_a_burst_of_standard_signals_to_a_busy_worker_arrives_fewer_times_than_sent() -> None:
    sent = 1000
    with Lab(workers=1, behaviour="busy-c", params={"mb": 64}) as lab:
        pid = ready_worker(lab)
        c = lab.cursor()
        burst(lab, pid, signal.SIGUSR1, sent)
        lab.send(pid, "USR2")  # a marker: handled after every USR1 that got through
        counted = lab.wait_for(
            lambda e: "SIGUSR2" in e.get("handled", ()), kind="counted", pid=pid, since=c, timeout=T
        )
        handled, tripped = counted["handled"]["SIGUSR1"], counted["tripped"]["SIGUSR1"]
        # The kernel merged signals into one pending bit (tripped = its deliveries), and
        # Python ran the handler once per C call at most (handled).
        assert 1 <= handled <= tripped < sent
        ends_by_term(lab, pid)


# -- sigwait -----------------------------------------------------------------------------------
def test_sigwaitinfo_says_who_sent_the_signal_and_how() -> None:
    with Lab(workers=1, behaviour="sigwait") as lab:
        pid = ready_worker(lab)
        c = lab.cursor()
        lab.send(pid, "USR1")
        lab.send(pid, "RTMIN+2")
        for name in ("SIGUSR1", "SIGRTMIN+2"):
            got = lab.wait_for(kind="received", sig=name, pid=pid, since=c, timeout=T)
            assert got["via"] == "sigwaitinfo"
            assert got["si_code_name"] == "SI_USER" and got["si_code"] == 0
            assert got["si_pid"] == os.getpid() and got["si_uid"] == os.getuid()
        counted = lab.wait_for(
            lambda e: e.get("total") == 2, kind="counted", pid=pid, since=c, timeout=T
        )
        assert counted["counts"] == {"SIGUSR1": 1, "SIGRTMIN+2": 1}
        # TERM is not in the set: its default action ends the worker.
        ends_by_term(lab, pid)
        assert not of(lab, pid, c, kind="received", sig="SIGTERM")


def test_a_stream_that_never_quiets_still_gets_its_totals() -> None:
    with Lab(workers=1, behaviour="sigwait", params={"quiet": 3.0}) as lab:
        pid = ready_worker(lab)
        c = lab.cursor()
        for _ in range(25):  # one every 0.1 s: never 3 s of quiet
            lab.send(pid, "RTMIN")
            time.sleep(0.1)
        last = max(e["t"] for e in lab.events(c) if e["kind"] == "sent")
        lab.wait_all(25, kind="received", pid=pid, since=c, timeout=T)
        early = [e for e in of(lab, pid, c, kind="counted") if e["t"] < last]
        assert early, "totals came only after the stream stopped"
        assert 0 < early[0]["counts"]["SIGRTMIN+0"] < 25
        ends_by_term(lab, pid)


def test_a_burst_of_10000_real_time_signals_is_counted_exactly() -> None:
    sent = 10_000
    soft, _hard = resource.getrlimit(resource.RLIMIT_SIGPENDING)
    if soft != resource.RLIM_INFINITY and soft < 2 * sent:
        pytest.skip(f"RLIMIT_SIGPENDING is {soft}: too low to queue {sent} signals safely")
    with Lab(workers=1, behaviour="sigwait") as lab:
        pid = ready_worker(lab)
        c = lab.cursor()
        burst(lab, pid, signal.SIGRTMIN + 1, sent)
        counted = lab.wait_for(
            lambda e: e.get("counts", {}).get("SIGRTMIN+1", 0) >= sent,
            kind="counted",
            pid=pid,
            since=c,
            timeout=60,
        )
        # Real-time signals queue: every one sent is taken, one by one — not one more.
        assert counted["counts"] == {"SIGRTMIN+1": sent} and counted["total"] == sent
        summary = lab.wait_for(kind="sent", count=sent, since=c, timeout=T)
        assert summary["sig"] == "SIGRTMIN+1"
        ends_by_term(lab, pid)


# -- zero idle wake-ups -------------------------------------------------------------------------
def context_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of every thread of ``pid``."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            total += sum(int(line.split(":")[1]) for line in f if "ctxt_switches" in line)
    return total


@pytest.mark.parametrize(
    ("name", "params", "settled"),
    [
        ("pause", {}, {"kind": "call", "state": "waiting"}),
        ("alarm", {"seconds": 1}, {"kind": "timer", "action": "cancelled"}),
        (
            "itimer",
            {"value": 0.05, "interval": 0.05, "ticks": 2},
            {"kind": "timer", "action": "cancelled"},
        ),
        ("itimer", {"which": "VIRTUAL", "burn": False}, {"kind": "note"}),
        ("blocked-read", {"siginterrupt": True}, {"kind": "call", "state": "waiting"}),
        ("blocked-read", {"siginterrupt": False}, {"kind": "call", "state": "waiting"}),
        ("sigwait", {}, {"kind": "ready"}),
    ],
)
def test_an_idle_behaviour_wakes_zero_times(
    name: str, params: dict[str, Any], settled: dict[str, Any]
) -> None:
    with Lab(workers=1, behaviour=name, params=params) as lab:
        pid = lab.worker(0).pid
        lab.wait_for(pid=pid, timeout=T, **settled)
        time.sleep(0.3)  # let the last event's write finish
        before = context_switches(pid)
        time.sleep(1.0)  # idle: nothing may wake it in this second (no polling, no timeouts)
        assert context_switches(pid) == before


# -- ending ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", ["INT", "QUIT"])
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("pause", {}),
        ("alarm", {"seconds": 30}),
        ("itimer", {"which": "VIRTUAL", "value": 0.05, "interval": 0.05, "ticks": 0}),
        ("blocked-read", {"siginterrupt": False}),
        ("busy-c", {"mb": 16}),
        ("sigwait", {}),
    ],
)
def test_int_and_quit_end_every_behaviour_as_their_default_would(
    name: str, params: dict[str, Any], sig: str
) -> None:
    with Lab(workers=1, behaviour=name, params=params) as lab:
        pid = ready_worker(lab)
        c = lab.cursor()
        lab.send(pid, sig)
        reaped = lab.wait_for(kind="reaped", child=pid, since=c, timeout=T)
        assert reaped["how"] == "signalled" and reaped["sig"] == f"SIG{sig}"
        fresh = lab.wait_for(kind="spawn", since=c, timeout=T)["child"]
        lab.wait_for(kind="ready", pid=fresh, since=c, timeout=T)


# -- the command line --------------------------------------------------------------------------
def test_trace_runs_a_behaviour_with_parameters() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sigscope",
            "trace",
            "--workers",
            "1",
            "--behaviour",
            "alarm:seconds=1,repeat=1",
            "--send",
            "3.5:TERM",
            "--duration",
            "20",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    start = next(e for e in events if e["kind"] == "start" and e["role"] == "worker")
    assert start["params"] == {"seconds": 1, "repeat": 1}
    fired = [e for e in events if e["kind"] == "timer" and e["action"] == "fired"]
    assert len(fired) == 1 and fired[0]["timer"] == "alarm"
    assert any(e["kind"] == "ended" for e in events)

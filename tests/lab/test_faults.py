"""Fault scenarios that trusted supervisors (gunicorn, tini, dumb-init, supervisord) test:
each runs real processes and checks that nothing is lost and nothing is left."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time

from sigscope import procfs
from sigscope.lab import Lab, LabError
from sigscope.observe.masks import decode_mask
from sigscope.signames import catchable_signals
from tests.conftest import reap_children, wait_gone

T = 15.0


def test_a_worker_that_spawns_100_orphans_and_exits_leaves_no_zombie() -> None:
    with Lab(workers=1, behaviour="orphan-maker", params={"count": 100, "linger": 0.2}) as lab:
        c = 0
        forks = lab.wait_all(100, kind="fork", since=c, timeout=T)
        orphans = {e["child"] for e in forks}
        assert len(orphans) == 100
        adopted = lab.wait_all(
            100,
            kind="reaped",
            role="controller",
            match=lambda e: e["child"] in orphans,
            since=c,
            timeout=30,
        )
        assert {e["child"] for e in adopted} == orphans
        assert all(e.get("adopted") for e in adopted)
        for pid in orphans:
            st = procfs.read_stat(pid)
            assert st is None or st.ppid != os.getpid()  # none of ours left as a zombie


def test_a_worker_that_ignores_term_is_killed_after_the_grace_period() -> None:
    grace = 1.0
    with Lab(workers=1, behaviour="stubborn", grace=grace) as lab:
        pid = lab.live_workers()[0].pid
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        c = lab.cursor()
        lab.send("master", "TERM")
        term = lab.wait_for(
            kind="sent", role="master", sig="SIGTERM", target=pid, since=c, timeout=T
        )
        reaped = lab.wait_for(kind="reaped", child=pid, since=c, timeout=T)
        assert reaped["exitcode"] == -signal.SIGKILL
        waited = (reaped["t"] - term["t"]) / 1e9
        # Not before the grace period, and not much after it (the master's poll deadline).
        assert grace <= waited < grace + 2.0, waited


def test_a_crash_loop_backs_off_and_the_master_stays_responsive() -> None:
    with Lab(workers=1, behaviour="crash", params={"after": 0.0, "how": "exit", "code": 3}) as lab:
        backoffs = lab.wait_all(3, kind="backoff", timeout=30)
        delays = [e["delay"] for e in backoffs]
        assert delays == sorted(delays) and delays[-1] > delays[0]
        c = lab.cursor()
        lab.send("master", "USR1")
        status = lab.wait_for(kind="status", since=c, timeout=T)
        assert status["backoff"]  # the back-off is reported in the status too
        assert all(e["exitcode"] == 3 for e in lab.events() if e["kind"] == "reaped")


def test_signalling_a_process_as_it_exits_is_handled_quietly() -> None:
    with Lab(workers=1) as lab:
        for _ in range(5):  # each quick death grows the master's back-off: keep it short
            pid = [w for w in lab.live_workers() if not w.exited][0].pid
            c = lab.cursor()
            lab.send(pid, "KILL")
            try:
                lab.send(pid, "USR1")  # races the exit: either sent, or refused in words
            except LabError as e:
                assert "exited" in str(e) or "does not exist" in str(e)
            lab.wait_for(kind="reaped", child=pid, since=c, timeout=T)
            lab.wait_for(
                lambda e, p=pid: e["kind"] == "spawn" and e["child"] != p, since=c, timeout=T
            )
        assert not [e for e in lab.events() if e["kind"] == "error" and e["role"] != "controller"]


def test_workers_start_with_clean_signal_masks() -> None:
    with Lab(workers=2) as lab:
        for w in lab.live_workers():
            start = lab.wait_for(kind="start", pid=w.pid, timeout=T)
            # What a worker inherits: as a fresh Python process, nothing of the master's.
            assert start["inherited"] == {
                "blocked": [],
                "ignored": ["SIGPIPE", "SIGXFSZ"],  # Python's start-up ignores these two
                "caught": ["SIGINT"],  # KeyboardInterrupt; none of the master's handlers
            }
            lab.wait_for(kind="ready", pid=w.pid, timeout=T)
            with open(f"/proc/{w.pid}/status") as f:
                fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            # idle then catches every catchable signal, and blocks none.
            assert decode_mask(fields["SigBlk"]) == frozenset()
            assert decode_mask(fields["SigIgn"]) == frozenset()
            assert decode_mask(fields["SigCgt"]) == set(catchable_signals())
            assert decode_mask(fields["SigPnd"]) == frozenset()
            assert decode_mask(fields["ShdPnd"]) == frozenset()


def test_a_burst_of_signals_and_a_storm_of_sigchld_lose_no_reap() -> None:
    with Lab(workers=20) as lab:
        for w in lab.live_workers():
            lab.wait_for(kind="ready", pid=w.pid, timeout=T)
        old = {w.pid for w in lab.live_workers()}
        c = lab.cursor()
        for pid in old:
            lab.send(pid, "KILL")
            lab.send("master", "USR1")  # signals to the master in between the SIGCHLDs
        reaped = lab.wait_all(20, kind="reaped", role="master", since=c, timeout=30)
        assert {e["child"] for e in reaped} == old
        lab.wait_all(20, kind="spawn", since=c, timeout=30)

        # USR1s sent close together coalesce in the kernel (standard signals do not queue),
        # so there are between 1 and 20 statuses; the master answered every delivery.
        def count(kind: str) -> int:
            return sum(
                1
                for e in lab.events(c)
                if e["kind"] == kind
                and e["role"] == "master"
                and (kind == "status" or e.get("sig") == "SIGUSR1")
            )

        lab.wait_until(lambda: count("status") == count("received") >= 1, timeout=30)
        assert count("received") <= 20
        assert wait_gone(old) == set()


def _pending(pid: int) -> frozenset[int]:
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    return decode_mask(fields["ShdPnd"]) | decode_mask(fields["SigPnd"])


def test_a_full_event_channel_never_blocks_a_worker_and_drops_are_counted() -> None:
    # sigwait takes every queued real-time signal with sigwaitinfo: one event each (a Python
    # handler runs once for many signals delivered together, so it would hardly fill).
    trace = subprocess.Popen(
        ["sigscope", "trace", "--workers", "1", "--behaviour", "sigwait", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,  # we read the pipe's fd directly; no Python buffer may hide lines from select
    )
    assert trace.stdout is not None
    pids: set[int] = set()
    worker = master = None
    try:
        out = trace.stdout.fileno()
        buffer = b""
        while worker is None:
            chunk = os.read(out, 1 << 16)
            assert chunk, "sigscope trace ended early"
            *lines, buffer = (buffer + chunk).split(b"\n")
            for line in lines:
                event = json.loads(line)
                if event["role"] == "master":
                    master = event["pid"]
                if event["kind"] == "ready":
                    worker = event["pid"]
        assert master is not None
        pids = {master, worker}
        os.kill(trace.pid, signal.SIGSTOP)  # the only reader of the channel stops reading
        # Each signal the worker handles is one event (~90 bytes); the channel holds about
        # 1 MiB: 40,000 handled signals overflow it several times over.
        fd = os.pidfd_open(worker)
        try:
            # Real-time signals queue (standard ones would coalesce into a few deliveries):
            # every one of them is taken by sigwaitinfo, and is an event.
            for _ in range(40_000):
                signal.pidfd_send_signal(fd, signal.SIGRTMIN + 1)
            # The worker is not blocked by the full channel: it takes every queued signal
            # (none stays pending) and goes back to waiting (state S, never D).
            deadline = time.monotonic() + 60
            while signal.SIGRTMIN + 1 in _pending(worker):
                assert time.monotonic() < deadline, "the worker stopped taking its signals"
                time.sleep(0.05)
            assert procfs.read_stat(worker).state in ("S", "R")  # type: ignore[union-attr]
        finally:
            os.close(fd)
        os.kill(trace.pid, signal.SIGCONT)
        # The count is reported with the worker's next event that fits: nudge it now and then
        # while the reader drains the channel.
        dropped = None
        deadline = time.monotonic() + 60
        while dropped is None and time.monotonic() < deadline:
            ready, _, _ = select.select([out], [], [], 0.2)
            if not ready:
                os.kill(worker, signal.SIGUSR1)
                continue
            chunk = os.read(out, 1 << 16)
            if not chunk:
                break
            *lines, buffer = (buffer + chunk).split(b"\n")
            for line in lines:
                event = json.loads(line)
                if event["kind"] == "dropped" and event["pid"] == worker:
                    dropped = event["count"]
        assert dropped is not None and dropped > 0, "the drops were not reported"
    finally:
        os.kill(trace.pid, signal.SIGCONT)
        trace.terminate()
        trace.wait(T)
        trace.stdout.close()
        reap_children(pids, timeout=5)
        assert wait_gone(pids) == set()

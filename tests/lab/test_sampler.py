"""The sampler on a real lab: states, zombies, adopted orphans, and masks that agree with ps.

Real processes and real signals. Tests wait on events or on a snapshot that shows the
expected state (``wait_snapshot`` re-scans until it does), never on a fixed sleep.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from sigscope import procfs
from sigscope.lab import Lab
from sigscope.observe.masks import encode_mask
from sigscope.observe.sampler import ProcessView, Sampler, Snapshot, wait_snapshot

T = 10.0  # generous: the machine is shared; nothing here asserts speed


def state(snapshot: Snapshot, pid: int) -> str | None:
    view = snapshot.by_pid(pid)
    return None if view is None else view.state


def ps_masks(pid: int) -> dict[str, str]:
    """What procps says about ``pid``: pending, blocked, ignored, caught, as hex text."""
    out = subprocess.run(
        ["ps", "-o", "pending=,blocked=,ignored=,caught=", "-p", str(pid)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return dict(zip(("pending", "blocked", "ignored", "caught"), out, strict=True))


def our_masks(view: ProcessView) -> dict[str, str]:
    m = view.masks
    return {
        "pending": encode_mask(m.all_pending),
        "blocked": encode_mask(m.blocked),
        "ignored": encode_mask(m.ignored),
        "caught": encode_mask(m.caught),
    }


def test_snapshot_shows_the_tree_with_the_labs_roles() -> None:
    with Lab(workers=2) as lab:
        snap = Sampler(lab).scan()
        master = snap.by_pid(lab.master_pid)
        assert master is not None and master.role == "master"
        assert master.ppid == os.getpid() and master.pgid == lab.pgid
        workers = [p for p in snap.processes if p.role == "worker"]
        assert sorted(w.index for w in workers if w.index is not None) == [0, 1]
        assert {w.pid for w in workers} == {p.pid for p in lab.live_workers()}
        for w in workers:
            assert w.ppid == lab.master_pid and w.pgid == lab.pgid
            assert w.behaviour == "idle" and w.threads >= 1 and w.cpu_seconds >= 0
            assert w.masks.sigq[1] > 0  # the RLIMIT_SIGPENDING limit
        assert snap.processes[0] is master  # master first, then workers by index
        with pytest.raises(dataclasses.FrozenInstanceError):
            master.state = "Z"  # type: ignore[misc]


def test_views_agree_with_procfs_and_count_the_wakeups_of_a_sleep_loop() -> None:
    """Each view is procfs's reading of that process (the sampler parses nothing itself), and
    its wake-ups come from the status file the scan reads: a loop that sleeps 10 ms shows
    them climbing, a worker blocked in sigsuspend barely moves."""
    slots = [
        {"behaviour": "sleep-loop", "params": {"interval": 0.01}},
        {"behaviour": "idle"},
    ]
    with Lab(workers=2, slots=slots) as lab:
        sampler = Sampler(lab)
        looping, idle = lab.worker(0).pid, lab.worker(1).pid
        first = wait_snapshot(
            sampler, lambda s: all(s.by_pid(p) is not None for p in (looping, idle)), timeout=T
        )
        for view in first.processes:
            st = procfs.read_stat(view.pid)
            assert st is not None
            assert (view.ppid, view.pgid, view.comm, view.starttime, view.threads) == (
                st.ppid,
                st.pgid,
                st.comm,
                st.starttime,
                st.num_threads,
            )
            status = procfs.read_status(view.pid)
            assert status is not None and view.masks == procfs.parse_status_masks(status)
            live = procfs.voluntary_switches(status)
            assert view.switches is not None and live is not None and view.switches <= live

        def woke(snap: Snapshot, pid: int) -> int:
            view = snap.by_pid(pid)
            assert view is not None and view.switches is not None
            return view.switches - start[pid]

        start = {looping: 0, idle: 0}
        start = {pid: woke(first, pid) for pid in start}
        later = wait_snapshot(sampler, lambda s: woke(s, looping) >= 20, timeout=T)
        idle_woke = woke(later, idle)
        assert 0 <= idle_woke < 20


def test_a_stopped_worker_shows_t_and_sigcont_returns_it() -> None:
    with Lab(workers=2) as lab:
        sampler = Sampler(lab, interval=0.05)
        seen: list[Snapshot] = []
        threads: set[str] = set()

        def on_snapshot(snap: Snapshot) -> None:
            seen.append(snap)
            threads.add(threading.current_thread().name)

        sampler.subscribe(on_snapshot)
        pid = lab.worker(0).pid
        with sampler:
            c = lab.cursor()
            lab.send(pid, "STOP")
            event = lab.wait_for(kind="state", child=pid, state="T", since=c, timeout=T)
            assert event["role"] == "controller" and event["pid"] == os.getpid()
            assert event["child_role"] == "worker" and event["index"] == 0
            latest = sampler.latest
            assert latest is not None
            c = lab.cursor()
            lab.send(pid, "CONT")
            back = lab.wait_for(kind="state", child=pid, old="T", since=c, timeout=T)
            assert back["state"] in ("R", "S")
        # Only the stopped worker changed: the others never produced an event.
        assert {e["child"] for e in lab.events() if e["kind"] == "state"} == {pid}
        assert seen and threads == {"sigscope-sampler"}
        assert any(state(s, pid) == "T" for s in seen)


def test_a_zombie_stays_z_under_sigkill_and_goes_when_reaped() -> None:
    with Lab(workers=2) as lab:
        sampler = Sampler(lab)
        c = lab.cursor()
        lab.set_reaping("off")
        lab.wait_for(kind="mode", reaping="off", since=c, timeout=T)
        pid = lab.worker(1).pid
        sampler.scan()
        c = lab.cursor()
        lab.send(pid, "KILL")
        wait_snapshot(sampler, lambda s: state(s, pid) == "Z", timeout=T)
        zombie = lab.wait_for(kind="state", child=pid, state="Z", since=c, timeout=T)
        assert zombie["old"] in ("R", "S", "D")
        before = sampler.scan().by_pid(pid)
        assert before is not None and before.state == "Z"

        c = lab.cursor()
        lab.send(pid, "KILL")  # already dead: SIGKILL changes nothing
        lab.wait_for(kind="sent", target=pid, since=c, timeout=T)
        for _ in range(5):
            after = sampler.scan().by_pid(pid)
            assert after is not None and after.state == "Z"
            assert after.starttime == before.starttime  # the very same process
        assert not [e for e in lab.events(c) if e["kind"] == "state" and e["child"] == pid]

        c = lab.cursor()
        lab.set_reaping("handler")  # the master's wait() is the only thing that clears it
        lab.wait_for(kind="reaped", child=pid, since=c, timeout=T)
        wait_snapshot(sampler, lambda s: s.by_pid(pid) is None, timeout=T)
        gone = lab.wait_for(kind="state", child=pid, state="gone", since=c, timeout=T)
        assert gone["old"] == "Z"


def test_masks_agree_with_ps_for_the_master_and_an_idle_worker() -> None:
    with Lab(workers=1) as lab:
        sampler = Sampler(lab)
        for pid in (lab.master_pid, lab.worker(0).pid):
            # ps and /proc are read at slightly different moments; an idle process's masks
            # only change when a signal arrives, and none is sent here.
            view = sampler.scan().by_pid(pid)
            assert view is not None
            assert our_masks(view) == ps_masks(pid)
        worker = sampler.scan().by_pid(lab.worker(0).pid)
        assert worker is not None
        assert {signal.SIGUSR1, signal.SIGTERM, signal.SIGHUP} <= worker.masks.caught
        assert not worker.masks.caught & {signal.SIGKILL, signal.SIGSTOP}
        assert not worker.masks.blocked and not worker.masks.all_pending


def in_lab_group(lab: Lab, code: str) -> subprocess.Popen[bytes]:
    """A Python process running ``code`` in the lab's process group, a child of the controller
    (so the sampler adopts it), with its stdin and stdout piped."""
    assert lab.pgid is not None
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        process_group=lab.pgid,
    )
    return proc


_BLOCKER = """
import signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
signal.signal(signal.SIGHUP, signal.SIG_IGN)
print("ready", flush=True)
sys.stdin.read()
"""


def test_a_blocked_signal_is_pending_and_ps_agrees() -> None:
    """A process in the lab's group, child of the controller (so the sampler adopts it),
    blocks SIGUSR1; a SIGUSR1 sent to it stays pending, process-wide (ShdPnd)."""
    with Lab(workers=1) as lab:
        blocker = in_lab_group(lab, _BLOCKER)
        assert blocker.stdin is not None and blocker.stdout is not None
        try:
            assert blocker.stdout.readline() == b"ready\n"
            sampler = Sampler(lab)
            view = sampler.scan().by_pid(blocker.pid)
            assert view is not None and view.role is None  # not in the lab's table
            assert signal.SIGUSR1 in view.masks.blocked
            assert signal.SIGHUP in view.masks.ignored
            assert signal.SIGUSR1 not in view.masks.all_pending
            os.kill(blocker.pid, signal.SIGUSR1)
            snap = wait_snapshot(
                sampler,
                lambda s: (
                    (v := s.by_pid(blocker.pid)) is not None
                    and signal.SIGUSR1 in v.masks.shared_pending
                ),
                timeout=T,
            )
            view = snap.by_pid(blocker.pid)
            assert view is not None and view.state in ("R", "S")  # blocked, so still alive
            assert signal.SIGUSR1 not in view.masks.pending  # kill() targets the process
            assert our_masks(view) == ps_masks(blocker.pid)
        finally:
            if blocker.stdin is not None:
                blocker.stdin.close()
            blocker.wait(timeout=T)
            if blocker.stdout is not None:
                blocker.stdout.close()


_FORKER = """
import os, sys, time
pid = os.fork()
if pid == 0:
    os.close(0)
    os.close(1)
    time.sleep(60)
    os._exit(0)
print(pid, flush=True)
sys.stdin.read()
"""


def test_an_unannounced_grandchild_is_found_then_adopted_then_gone() -> None:
    """A process in the lab's group, child of the controller, forks a grandchild the lab is
    never told about: the sampler finds it through the children files. When its parent exits,
    the kernel re-parents it to the controller (a child subreaper): the sampler finds it there,
    and says when it is gone."""
    with Lab(workers=1) as lab:
        parent = in_lab_group(lab, _FORKER)
        assert parent.stdin is not None and parent.stdout is not None
        grandchild = int(parent.stdout.readline())
        sampler = Sampler(lab)
        try:
            snap = wait_snapshot(sampler, lambda s: s.by_pid(grandchild) is not None, timeout=T)
            view = snap.by_pid(grandchild)
            assert view is not None and view.ppid == parent.pid and view.role is None
            parent.stdin.close()
            parent.wait(timeout=T)
            snap = wait_snapshot(
                sampler,
                lambda s: (v := s.by_pid(grandchild)) is not None and v.ppid == os.getpid(),
                timeout=T,
            )
            view = snap.by_pid(grandchild)
            assert view is not None and view.pgid == lab.pgid and view.state in ("R", "S")
            assert snap.by_pid(parent.pid) is None
            c = lab.cursor()
        finally:
            os.kill(grandchild, signal.SIGKILL)  # a process this test started
            try:
                os.waitpid(grandchild, 0)
            except ChildProcessError:
                pass  # the lab's own adopted-orphan reaping got there first
            parent.stdout.close()
        wait_snapshot(sampler, lambda s: s.by_pid(grandchild) is None, timeout=T)
        assert lab.wait_for(kind="state", child=grandchild, state="gone", since=c, timeout=T)


_THREAD_FORKER = """
import subprocess, sys, threading

def run():
    child = subprocess.Popen(["sleep", "60"])
    print(child.pid, flush=True)
    sys.stdin.read()
    child.kill()
    child.wait()

thread = threading.Thread(target=run)
thread.start()
thread.join()
"""


def test_a_child_forked_by_a_non_main_thread_is_found() -> None:
    """The kernel lists a child under the *thread* that forked it (/proc/PID/task/TID/
    children): a process with several threads must have every thread's list read."""
    with Lab(workers=1) as lab:
        parent = in_lab_group(lab, _THREAD_FORKER)
        assert parent.stdin is not None and parent.stdout is not None
        try:
            child = int(parent.stdout.readline())
            with open(f"/proc/{parent.pid}/task/{parent.pid}/children") as f:
                assert str(child) not in f.read().split()  # not the main thread's child
            snap = wait_snapshot(Sampler(lab), lambda s: s.by_pid(child) is not None, timeout=T)
            view = snap.by_pid(child)
            parent_view = snap.by_pid(parent.pid)
            assert view is not None and view.ppid == parent.pid
            assert parent_view is not None and parent_view.threads >= 2
        finally:
            parent.stdin.close()
            parent.wait(timeout=T)
            parent.stdout.close()


def test_a_masked_workers_pending_signal_agrees_with_ps() -> None:
    with Lab(workers=1, behaviour="masked") as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="blocked", pid=pid, timeout=T)
        sampler = Sampler(lab)
        lab.send(pid, "USR1")
        snap = wait_snapshot(
            sampler,
            lambda s: (v := s.by_pid(pid)) is not None and signal.SIGUSR1 in v.masks.all_pending,
            timeout=T,
        )
        view = snap.by_pid(pid)
        assert view is not None and signal.SIGUSR1 in view.masks.blocked
        assert our_masks(view) == ps_masks(pid)


def test_the_sampler_thread_ends_with_the_lab() -> None:
    with Lab(workers=1) as lab:
        sampler = Sampler(lab, interval=0.05)
        sampler.start()
        lab.wait_until(lambda: sampler.latest is not None, timeout=T)
    # The lab has ended: the thread notices on its next round and stops by itself.
    deadline = time.monotonic() + T
    while sampler.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not sampler.running
    sampler.stop()


def test_a_failing_scan_is_reported_once_and_the_thread_goes_on() -> None:
    with Lab(workers=1) as lab:
        sampler = Sampler(lab, interval=0.02)
        scans: list[Snapshot] = []
        sampler.subscribe(scans.append)

        def broken(_snapshot: Snapshot) -> None:
            raise ZeroDivisionError("a broken subscriber must not kill the sampler")

        sampler.subscribe(broken)
        with sampler:
            error = lab.wait_for(kind="error", timeout=T)
            assert "ZeroDivisionError" in error["text"] and error["text"].startswith("sampler")
            lab.wait_until(lambda: len(scans) >= 5, timeout=T)
            assert sampler.running
        assert len([e for e in lab.events() if e["kind"] == "error"]) == 1


# -- cadence (issue 14): four scans a second while something happens, one when quiet ---------


class ScanClock:
    """The monotonic time of each scan of a lab's own sampler, and a way to wait for more."""

    def __init__(self, lab: Lab) -> None:
        self.times: list[float] = []
        self.snapshots: list[Snapshot] = []
        self.idle: list[bool] = []  # the sampler was idle after this scan (its next is slow)
        self._cond = threading.Condition()
        lab.subscribe_snapshots(self._add)
        assert lab.sampler is not None
        self.sampler = lab.sampler

    def _add(self, snapshot: Snapshot) -> None:
        with self._cond:
            self.times.append(time.monotonic())
            self.snapshots.append(snapshot)
            self.idle.append(self.sampler.idle)
            self._cond.notify_all()

    def wait(self, what: str, condition: Callable[[], bool], timeout: float = T) -> None:
        with self._cond:
            if not self._cond.wait_for(condition, timeout):
                raise AssertionError(f"timed out waiting for {what}: scans at {self.times[-8:]}")

    def since(self, t: float) -> list[float]:
        with self._cond:
            return [s for s in self.times if s >= t]

    def wait_idle(self, scans: int = 3) -> list[float]:
        """Wait for ``scans`` scans in a row each made after an idle one; return their times
        and the idle one's (the gaps between them are the idle cadence)."""

        def quiet() -> bool:
            return len(self.idle) > scans and all(self.idle[-scans - 1 : -1])

        self.wait(f"{scans} scans of an idle sampler", quiet, timeout=3 * T)
        with self._cond:
            return self.times[-scans - 1 :]


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_a_quiet_lab_is_scanned_once_a_second_and_an_event_brings_four_a_second_back() -> None:
    with Lab(workers=1) as lab:
        clock = ScanClock(lab)
        idle_gaps = gaps(clock.wait_idle(scans=3))
        assert min(idle_gaps) >= 0.9, idle_gaps  # once a second, not four times
        # An event of the lab (the send, then the handler's report) wakes the sampler at once.
        sent = time.monotonic()
        lab.send(lab.worker(0).pid, "USR1")
        clock.wait("6 scans after the send", lambda: len(clock.since(sent)) >= 6)
        after = clock.since(sent)
        assert after[0] - sent < 0.6, after[0] - sent  # not the rest of an idle second
        busy_gaps = gaps(after[:6])
        assert statistics.median(busy_gaps) <= 0.3, busy_gaps  # four a second
        # Quiet again: back to once a second.
        assert min(gaps(clock.wait_idle(scans=3))) >= 0.9


def test_a_change_with_no_event_is_seen_at_the_next_idle_scan_then_scans_speed_up() -> None:
    """A SIGSTOP from outside the lab says nothing to it: the idle scan (within a second) sees
    the T, and the change alone brings the fast cadence back."""
    with Lab(workers=1) as lab:
        pid = lab.worker(0).pid
        clock = ScanClock(lab)
        clock.wait_idle(scans=1)
        seen = len(clock.snapshots)
        stopped = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        try:
            clock.wait(
                "a scan showing T",
                lambda: any(state(s, pid) == "T" for s in clock.snapshots[seen:]),
            )
            at = next(
                t
                for t, s in zip(clock.times[seen:], clock.snapshots[seen:], strict=True)
                if state(s, pid) == "T"
            )
            assert at - stopped <= 1.5, at - stopped  # an idle second, and some slack
            clock.wait("4 more scans", lambda: len(clock.since(at)) >= 5)
            assert statistics.median(gaps(clock.since(at)[:5])) <= 0.3
        finally:
            os.kill(pid, signal.SIGCONT)


def test_a_sampler_made_without_an_idle_interval_keeps_its_one_cadence() -> None:
    with Lab(workers=1) as lab:
        sampler = Sampler(lab, interval=0.05, busy_for=0.0)
        assert sampler.idle_interval == sampler.interval and not sampler.idle
        times: list[float] = []
        sampler.subscribe(lambda _s: times.append(time.monotonic()))
        with sampler:
            lab.wait_until(lambda: len(times) >= 10, timeout=T)
        assert statistics.median(gaps(times[:10])) < 0.5

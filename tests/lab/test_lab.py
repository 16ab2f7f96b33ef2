"""The lab with real processes and real signals: every master signal, every reaping mode."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from sigscope import procfs
from sigscope.lab import Lab, LabError

T = 10.0  # generous: the machine may be busy; nothing here asserts speed


def state_of(pid: int) -> str | None:
    st = procfs.read_stat(pid)
    return None if st is None else st.state


def worker_pids(lab: Lab) -> list[int]:
    return [p.pid for p in lab.live_workers()]


def status(lab: Lab) -> dict:
    c = lab.cursor()
    lab.request_status()
    return lab.wait_for(kind="status", since=c, timeout=T)


def test_starts_the_requested_workers_with_titles() -> None:
    with Lab(workers=3) as lab:
        workers = lab.live_workers()
        assert [w.index for w in workers] == [0, 1, 2]
        assert all(w.behaviour == "idle" for w in workers)
        for w in workers:
            lab.wait_for(kind="ready", pid=w.pid, timeout=T)
        out = subprocess.run(
            [
                "ps",
                "-o",
                "args=",
                "-p",
                ",".join(str(p) for p in [lab.master_pid, *worker_pids(lab)]),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        assert out[0].strip() == "sigscope master"
        assert sorted(line.strip() for line in out[1:]) == [
            f"sigscope worker {i} (idle)" for i in range(3)
        ]


def test_a_worker_reports_a_caught_signal() -> None:
    with Lab(workers=1) as lab:
        w = lab.live_workers()[0]
        lab.wait_for(kind="ready", pid=w.pid, timeout=T)
        c = lab.cursor()
        lab.send("worker:0", "USR1")
        sent = lab.wait_for(kind="sent", since=c, timeout=T)
        got = lab.wait_for(kind="received", pid=w.pid, sig="SIGUSR1", since=c, timeout=T)
        assert sent["target"] == w.pid and sent["role"] == "controller"
        assert got["t"] >= sent["t"]


def test_ttin_adds_and_ttou_retires_a_worker_never_below_one() -> None:
    with Lab(workers=1) as lab:
        c = lab.cursor()
        lab.send("master", "TTIN")
        lab.wait_for(kind="received", role="master", sig="SIGTTIN", since=c, timeout=T)
        new = lab.wait_for(kind="spawn", index=1, since=c, timeout=T)
        assert status(lab)["target"] == 2
        c = lab.cursor()
        lab.send("master", "TTOU")
        lab.wait_for(
            kind="sent", role="master", sig="SIGTERM", target=new["child"], since=c, timeout=T
        )
        reaped = lab.wait_for(kind="reaped", child=new["child"], since=c, timeout=T)
        assert reaped["exitcode"] == -signal.SIGTERM
        c = lab.cursor()
        lab.send("master", "TTOU")  # already at 1: nothing happens
        lab.wait_for(kind="received", role="master", sig="SIGTTOU", since=c, timeout=T)
        st = status(lab)
        assert st["target"] == 1 and st["live"] == 1


def test_hup_replaces_every_worker_gracefully() -> None:
    with Lab(workers=2) as lab:
        old = set(worker_pids(lab))
        c = lab.cursor()
        lab.send("master", "HUP")
        reaped = lab.wait_all(2, kind="reaped", since=c, timeout=T)
        assert {e["child"] for e in reaped} == old
        assert all(e["exitcode"] == -signal.SIGTERM for e in reaped)
        spawned = lab.wait_all(2, kind="spawn", since=c, timeout=T)
        assert {e["index"] for e in spawned} == {0, 1}
        assert not old & {e["child"] for e in spawned}
        assert lab.running


def test_term_is_a_graceful_shutdown() -> None:
    with Lab(workers=2) as lab:
        workers = set(worker_pids(lab))
        for pid in workers:
            lab.wait_for(kind="ready", pid=pid, timeout=T)
        c = lab.cursor()
        lab.send("master", "TERM")
        lab.wait_for(kind="phase", phase="graceful", since=c, timeout=T)
        for pid in workers:
            lab.wait_for(kind="received", pid=pid, sig="SIGTERM", since=c, timeout=T)
        reaped = lab.wait_all(2, kind="reaped", role="master", since=c, timeout=T)
        assert {e["child"] for e in reaped} == workers
        assert lab.wait_for(kind="exit", role="master", since=c, timeout=T)["code"] == 0
        end = lab.wait_for(
            kind="reaped", role="controller", child=lab.master_pid, since=c, timeout=T
        )
        assert end["exitcode"] == 0
        lab.wait_for(kind="ended", since=c, timeout=T)
        assert not lab.running


def test_graceful_shutdown_escalates_to_kill_after_the_grace_period() -> None:
    # A stopped worker cannot act on TERM (it stays pending), so only KILL ends it.
    with Lab(workers=1, grace=0.5) as lab:
        pid = worker_pids(lab)[0]
        c = lab.cursor()
        lab.send(pid, "STOP")
        lab.wait_for(kind="stopped", child=pid, since=c, timeout=T)
        lab.send("master", "TERM")
        term = lab.wait_for(
            kind="sent", role="master", sig="SIGTERM", target=pid, since=c, timeout=T
        )
        kill = lab.wait_for(
            kind="sent", role="master", sig="SIGKILL", target=pid, since=c, timeout=T
        )
        assert kill["t"] - term["t"] >= 0.5e9  # not before the grace period
        reaped = lab.wait_for(kind="reaped", child=pid, since=c, timeout=T)
        assert reaped["how"] == "signalled" and reaped["exitcode"] == -signal.SIGKILL
        lab.wait_for(kind="exit", role="master", since=c, timeout=T)


@pytest.mark.parametrize("sig", ["INT", "QUIT"])
def test_int_and_quit_are_a_quick_shutdown(sig: str) -> None:
    with Lab(workers=2, grace=30) as lab:
        workers = set(worker_pids(lab))
        for pid in workers:
            lab.wait_for(kind="ready", pid=pid, timeout=T)
        c = lab.cursor()
        lab.send("master", sig)
        lab.wait_for(kind="phase", phase="quick", since=c, timeout=T)
        sent = lab.wait_all(2, kind="sent", role="master", since=c, timeout=T)
        assert {e["sig"] for e in sent} == {"SIGQUIT"}
        reaped = lab.wait_all(2, kind="reaped", role="master", since=c, timeout=T)
        assert {e["exitcode"] for e in reaped} == {-signal.SIGQUIT}
        lab.wait_for(kind="exit", role="master", since=c, timeout=T)


def test_a_second_int_during_graceful_shutdown_switches_to_quick() -> None:
    with Lab(workers=1, grace=60) as lab:
        pid = worker_pids(lab)[0]
        c = lab.cursor()
        lab.send(pid, "STOP")  # so that the graceful shutdown cannot finish by itself
        lab.wait_for(kind="stopped", child=pid, since=c, timeout=T)
        lab.send("master", "TERM")
        lab.wait_for(kind="phase", phase="graceful", since=c, timeout=T)
        lab.send("master", "INT")
        lab.wait_for(kind="phase", phase="quick", since=c, timeout=T)
        lab.wait_for(kind="sent", role="master", sig="SIGKILL", target=pid, since=c, timeout=T)
        # Well before the 60 s grace period: the quick shutdown's own 1 s bound applied.
        lab.wait_for(kind="exit", role="master", since=c, timeout=T)


def test_winch_stops_the_workers_and_keeps_the_master() -> None:
    with Lab(workers=2) as lab:
        c = lab.cursor()
        lab.send("master", "WINCH")
        lab.wait_all(2, kind="reaped", role="master", since=c, timeout=T)
        st = status(lab)
        assert st["target"] == 0 and st["live"] == 0 and st["phase"] == "running"
        c = lab.cursor()
        lab.send("master", "TTIN")
        assert lab.wait_for(kind="spawn", since=c, timeout=T)["index"] == 0


def test_usr1_reports_status() -> None:
    with Lab(workers=2, reaping="handler") as lab:
        c = lab.cursor()
        lab.send("master", "USR1")
        st = lab.wait_for(kind="status", since=c, timeout=T)
        assert st["target"] == 2 and st["live"] == 2 and st["reaping"] == "handler"
        assert st["queued"] == 0 and st["phase"] == "running"
        assert sorted(w["pid"] for w in st["workers"]) == sorted(worker_pids(lab))


def test_one_sigchld_may_stand_for_many_children_all_are_reaped() -> None:
    with Lab(workers=4) as lab:
        old = set(worker_pids(lab))
        c = lab.cursor()
        for pid in old:  # four deaths in a row; SIGCHLDs coalesce, the reap loop gets all
            lab.send(pid, "KILL")
        reaped = lab.wait_all(4, kind="reaped", role="master", since=c, timeout=T)
        assert {e["child"] for e in reaped} == old
        assert {e["exitcode"] for e in reaped} == {-9}
        lab.wait_all(4, kind="spawn", since=c, timeout=T)
        lab.wait_until(lambda: len([w for w in lab.live_workers() if not w.exited]) == 4, timeout=T)
        for pid in old:
            assert state_of(pid) is None  # no zombie left


def test_reaping_off_leaves_a_zombie_that_sigkill_cannot_kill() -> None:
    with Lab(workers=1, reaping="off") as lab:
        pid = worker_pids(lab)[0]
        c = lab.cursor()
        lab.send(pid, "KILL")
        lab.wait_for(kind="received", role="master", sig="SIGCHLD", since=c, timeout=T)
        deadline = time.monotonic() + T
        while state_of(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert state_of(pid) == "Z"
        lab.send(pid, "KILL")  # a zombie is already dead: nothing changes
        time.sleep(0.2)  # give the kernel every chance to show a change; none may come
        assert state_of(pid) == "Z"
        assert not [e for e in lab.events(c) if e["kind"] == "reaped"]
        c2 = lab.cursor()
        lab.set_reaping("handler")
        lab.wait_for(kind="mode", reaping="handler", since=c2, timeout=T)
        reaped = lab.wait_for(kind="reaped", child=pid, since=c2, timeout=T)
        assert reaped["exitcode"] == -9
        assert state_of(pid) is None
        lab.wait_for(kind="spawn", index=0, since=c2, timeout=T)


def test_reaping_ignore_lets_the_kernel_reap_without_status() -> None:
    with Lab(workers=1, reaping="ignore") as lab:
        pid = worker_pids(lab)[0]
        c = lab.cursor()
        lab.send(pid, "KILL")
        lab.wait_for(kind="gone", child=pid, since=c, timeout=T)
        assert state_of(pid) is None  # no zombie, ever
        assert not [e for e in lab.events(c) if e["kind"] == "reaped"]
        lab.wait_for(kind="spawn", index=0, since=c, timeout=T)


def test_switching_modes_while_running() -> None:
    with Lab(workers=2) as lab:
        c = lab.cursor()
        lab.set_reaping("off")
        lab.wait_for(kind="mode", reaping="off", old="handler", since=c, timeout=T)
        a, b = worker_pids(lab)
        lab.send(a, "KILL")
        lab.send(b, "KILL")
        deadline = time.monotonic() + T
        while {state_of(a), state_of(b)} != {"Z"} and time.monotonic() < deadline:
            time.sleep(0.01)
        assert {state_of(a), state_of(b)} == {"Z"}
        c = lab.cursor()
        lab.set_reaping("handler")  # reaps every zombie at once
        assert {e["child"] for e in lab.wait_all(2, kind="reaped", since=c, timeout=T)} == {a, b}
        with pytest.raises(LabError, match="unknown reaping mode"):
            lab.set_reaping("sometimes")


def test_a_worker_that_keeps_dying_is_respawned_with_growing_backoff() -> None:
    with Lab(workers=1) as lab:
        c = lab.cursor()
        delays = []
        for _ in range(3):
            pid = worker_pids(lab)[0]
            lab.send(pid, "KILL")
            lab.wait_for(kind="reaped", child=pid, since=c, timeout=T)
            lab.wait_for(
                lambda e, p=pid: e["kind"] == "spawn" and e["child"] != p, since=c, timeout=T
            )
            lab.wait_until(lambda p=pid: worker_pids(lab) and worker_pids(lab)[0] != p, timeout=T)
        delays = [e["delay"] for e in lab.events(c) if e["kind"] == "backoff"]
        assert delays, "no back-off reported"
        assert delays == sorted(delays) and delays[-1] > delays[0]


def test_sigkill_of_the_master_takes_the_workers_and_the_controller_reaps_them() -> None:
    with Lab(workers=3) as lab:
        workers = set(worker_pids(lab))
        for pid in workers:  # each has armed PR_SET_PDEATHSIG by then
            lab.wait_for(kind="ready", pid=pid, timeout=T)
        c = lab.cursor()
        os.kill(lab.master_pid, signal.SIGKILL)  # our own child: the test started it
        lab.wait_for(kind="ended", since=c, timeout=T)
        adopted = lab.wait_all(
            3,
            kind="reaped",
            role="controller",
            match=lambda e: e.get("adopted"),
            since=c,
            timeout=T,
        )
        assert {e["child"] for e in adopted} == workers
        assert {e["exitcode"] for e in adopted} == {-9}  # PR_SET_PDEATHSIG(SIGKILL)
        for pid in workers:
            assert state_of(pid) is None


def test_an_exception_in_the_controller_leaves_nothing() -> None:
    pids: set[int] = set()
    with pytest.raises(RuntimeError), Lab(workers=2) as lab:
        pids = {lab.master_pid, *worker_pids(lab)}
        raise RuntimeError("boom")
    assert all(state_of(p) is None for p in pids)


def _trace_until_spawned(workers: int) -> tuple[subprocess.Popen[bytes], set[int]]:
    proc = subprocess.Popen(
        ["sigscope", "trace", "--workers", str(workers), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    import json

    pids: set[int] = set()
    spawned = 0
    while spawned < workers:
        line = proc.stdout.readline()
        assert line, "sigscope trace ended early"
        event = json.loads(line)
        pids.add(event["pid"]) if event["role"] == "master" else None
        if event["kind"] == "spawn":
            pids.add(event["child"])
            spawned += 1
    return proc, pids


def test_sigkill_of_the_controller_leaves_nothing_repeatedly() -> None:
    for _ in range(8):
        proc, pids = _trace_until_spawned(2)
        assert len(pids) == 3
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
        # The lab's processes are orphaned to us (the test is a subreaper): they must all die
        # within a fraction of a second by PR_SET_PDEATHSIG; we reap what is re-parented here.
        from tests.conftest import reap_children, wait_gone

        reap_children(pids, timeout=2.0)
        assert wait_gone(pids, timeout=1.0) == set()


def test_send_refuses_a_process_that_is_not_in_the_lab() -> None:
    with Lab(workers=1) as lab:
        with pytest.raises(LabError, match="not a process of this lab"):
            lab.send(os.getpid(), "TERM")
        with pytest.raises(LabError, match="no live worker 7"):
            lab.send("worker:7", "TERM")
        with pytest.raises(LabError, match="bad target"):
            lab.send("everyone", "TERM")
        with pytest.raises(ValueError, match="unknown signal"):
            lab.send("master", "NOPE")


def test_a_reaped_worker_is_never_signalled_again() -> None:
    with Lab(workers=1) as lab:
        pid = worker_pids(lab)[0]
        c = lab.cursor()
        lab.send(pid, "KILL")
        lab.wait_for(kind="reaped", child=pid, since=c, timeout=T)
        with pytest.raises(LabError, match="exited|does not exist|another process"):
            lab.send(pid, "TERM")


def test_idle_lab_processes_wake_zero_times() -> None:
    def switches(pid: int) -> int:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if "ctxt_switches" in line)
        return sum(int(v) for v in fields.values())

    with Lab(workers=2) as lab:
        pids = [lab.master_pid, *worker_pids(lab)]
        for pid in pids[1:]:
            lab.wait_for(kind="ready", pid=pid, timeout=T)
        time.sleep(0.3)  # let start-up finish
        before = {pid: switches(pid) for pid in pids}
        time.sleep(1.0)  # an idle lab: nothing may wake up in this second
        after = {pid: switches(pid) for pid in pids}
        assert after == before


def test_the_lab_is_a_source_with_its_own_sampler(tmp_path) -> None:
    """subscribe_snapshots starts the lab's sampler; latest_snapshot is its last scan; close()
    stops it; a recording lab keeps the snapshots; the capabilities say what it can do."""
    from sigscope.events import CONTROLLER
    from sigscope.sources.record import load

    path = tmp_path / "rec.jsonl"
    lab = Lab(workers=1, record=path)
    assert lab.latest_snapshot is None and lab.sampler is None and lab.can_record
    with lab:
        assert lab.live and lab.can_send and lab.can_control and lab.can_run_code
        seen = []
        lab.subscribe_snapshots(seen.append)
        master = lab.master_pid
        lab.wait_until(lambda: any(s.by_pid(master) for s in seen), timeout=T)
        assert lab.latest_snapshot is not None and lab.sampler is not None
        sent = lab.send("worker:0", "USR2")
        event = lab.wait_for(kind="sent", target=sent.pid, timeout=T)
        assert event["role"] == CONTROLLER and event["pid"] == os.getpid()
    assert lab.sampler is not None and not lab.sampler.running
    assert any(entry.by_pid(master) for entry in load(path).entries if hasattr(entry, "by_pid"))

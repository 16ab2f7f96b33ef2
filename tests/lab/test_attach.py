"""`sigscope attach`: a tree we did not start, watched live; sends only into that tree."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sigscope.sources.attach import AttachedTree, AttachError, check_attachable
from tests.conftest import reap_children, wait_gone

T = 10.0


def _wait_children(pid: int, count: int) -> set[int]:
    from sigscope import procfs

    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        kids = {
            p
            for p in procfs.children_of(pid)
            if (st := procfs.read_stat(p)) is not None and st.state != "Z"
        }
        if len(kids) == count:
            return kids
        time.sleep(0.01)
    raise AssertionError(f"{pid} did not reach {count} children")


@pytest.fixture
def gunicorn(tmp_path: Path):  # type: ignore[no-untyped-def]
    pytest.importorskip("gunicorn")
    exe = Path(sys.executable).parent / "gunicorn"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            str(exe),
            "--workers",
            "2",
            "--bind",
            f"unix:{tmp_path / 'g.sock'}",
            "--graceful-timeout",
            "2",
            "--chdir",
            str(root),
            "bench.wsgi_app:app",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_children(proc.pid, 2)
    yield proc
    if proc.poll() is None:
        from sigscope import procfs

        workers = set(procfs.descendants_of(proc.pid))
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what this test started
        proc.wait()
        reap_children(workers)  # orphaned to us (a subreaper) as their master died first
    proc.wait()


def test_attach_to_a_real_gunicorn_ttin_ttou_term(gunicorn: subprocess.Popen[bytes]) -> None:
    with AttachedTree(gunicorn.pid, interval=0.05) as tree:
        assert tree.processes[gunicorn.pid].role == "master"
        first = {w.pid for w in tree.live_workers()}
        assert len(first) == 2
        c = tree.cursor()
        tree.send("master", "TTIN")
        new = tree.wait_for(kind="appeared", since=c, timeout=T)["child"]
        assert new not in first
        tree.wait_until(lambda: len(tree.live_workers()) == 3, timeout=T)
        c = tree.cursor()
        tree.send("master", "TTOU")
        tree.wait_for(kind="exited", since=c, timeout=T)
        tree.wait_until(lambda: len(tree.live_workers()) == 2, timeout=T)
        c = tree.cursor()
        tree.send(gunicorn.pid, "TERM")
        ended = tree.wait_for(kind="ended", since=c, timeout=T)
        assert "has ended" in ended["text"]
    assert gunicorn.wait(T) == 0


def test_mask_changes_are_events(tmp_path: Path) -> None:
    script = (
        "import signal, sys, time\n"
        "sys.stdin.readline()\n"
        "signal.signal(signal.SIGUSR2, lambda *a: None)\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGHUP])\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, start_new_session=True
    )
    try:
        with AttachedTree(proc.pid, interval=0.05) as tree:
            c = tree.cursor()
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
            # Python's own start-up may install handlers (SIGINT) too: look for ours.
            tree.wait_for(
                lambda e: "SIGUSR2" in e["added"], kind="mask", mask="caught", since=c, timeout=T
            )
            blocked = tree.wait_for(
                lambda e: "SIGHUP" in e["added"], kind="mask", mask="blocked", since=c, timeout=T
            )
            assert blocked["removed"] == []
    finally:
        proc.kill()
        proc.wait()


def test_a_queued_value_reaches_an_attached_process_as_si_queue() -> None:
    """The dashboard's NAME=VALUE works on an attached tree as on the lab (it was a TypeError)."""
    script = (
        "import signal, sys\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])\n"
        "print('ready', flush=True)\n"
        "info = signal.sigwaitinfo([signal.SIGUSR1])\n"
        "print(info.si_code, info.si_pid, flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        with AttachedTree(proc.pid) as tree:
            c = tree.cursor()
            tree.send(proc.pid, "USR1", 42)
            sent = tree.wait_for(kind="sent", sig="SIGUSR1", since=c, timeout=T)
            assert sent.get("value") == 42
        code, sender = proc.stdout.readline().split()
        assert int(code) == -1  # SI_QUEUE: the value went with it
        assert int(sender) == os.getpid()
        assert proc.wait(timeout=T) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sends_stay_inside_the_tree() -> None:
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        with AttachedTree(proc.pid) as tree:
            with pytest.raises(AttachError, match="not a live process of the attached tree"):
                tree.send(other.pid, "TERM")
            with pytest.raises(AttachError, match="bad target"):
                tree.send("everyone", "TERM")
        assert other.poll() is None
    finally:
        for p in (proc, other):
            p.kill()
            p.wait()


def test_attach_refuses_missing_init_self_and_kernel_threads() -> None:
    with pytest.raises(AttachError, match="no process has pid"):
        check_attachable(4_000_000)
    with pytest.raises(AttachError, match="off-limits"):
        check_attachable(1)
    with pytest.raises(AttachError, match="off-limits"):
        check_attachable(os.getpid())
    with pytest.raises(AttachError, match="kernel thread"):
        check_attachable(2)


@pytest.mark.skipif(os.getuid() != 0, reason="starting another user's process needs root")
def test_attach_refuses_another_users_process() -> None:
    child = subprocess.Popen(
        ["sleep", "60"], user=65534, group=65534, extra_groups=[], start_new_session=True
    )
    try:
        with pytest.raises(AttachError, match="belongs to user"):
            check_attachable(child.pid)
    finally:
        child.kill()
        child.wait()
    assert wait_gone({child.pid}) == set()


needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")


@needs_strace
def test_strace_shows_who_sent_ttin_to_gunicorn(gunicorn: subprocess.Popen[bytes]) -> None:
    with AttachedTree(gunicorn.pid, interval=0.05, strace=True) as tree:
        # strace takes a moment to attach: poke with a signal gunicorn ignores until seen.
        deadline = time.monotonic() + T
        c = tree.cursor()
        while True:
            tree.send("master", "WINCH")
            try:
                tree.wait_for(kind="received", sig="SIGWINCH", since=c, timeout=0.2)
                break
            except AttachError:
                assert time.monotonic() < deadline, "strace never reported a signal"
        c = tree.cursor()
        tree.send("master", "TTIN")
        got = tree.wait_for(kind="received", sig="SIGTTIN", since=c, timeout=T)
        assert got["pid"] == gunicorn.pid and got["role"] == "master"
        assert got["sender"] == os.getpid() and got["si_code"] == "SI_USER"
        tree.wait_for(kind="appeared", since=c, timeout=T)


@needs_strace
def test_a_signal_one_of_its_threads_took_is_the_process_s() -> None:
    # A signal sent to a process goes to any one of its threads that does not block it, and
    # strace names that thread (gunicorn's master has a second thread: its control server).
    # Here the main thread blocks SIGUSR1, so the other thread takes it.
    code = (
        "import signal, threading, time\n"
        "signal.signal(signal.SIGUSR1, lambda s, f: None)\n"
        "t = threading.Thread(target=time.sleep, args=(60,), daemon=True)\n"
        "t.start()\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})\n"
        "print(t.native_id, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        tid = int(proc.stdout.readline())
        with AttachedTree(proc.pid, interval=0.05, strace=True) as tree:
            deadline = time.monotonic() + T
            while True:  # strace takes a moment to attach
                c = tree.cursor()
                tree.send("master", "USR1")
                try:
                    got = tree.wait_for(kind="received", sig="SIGUSR1", since=c, timeout=0.2)
                    break
                except AttachError:
                    assert time.monotonic() < deadline, "strace never reported a signal"
            assert (got["pid"], got["role"], got.get("thread")) == (proc.pid, "master", tid)
            assert tid not in tree.processes
    finally:
        proc.kill()
        proc.wait()


def test_without_strace_it_says_so_and_carries_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no strace to be found
    proc = subprocess.Popen(["/usr/bin/sleep", "60"], start_new_session=True)
    try:
        with AttachedTree(proc.pid, strace=True) as tree:
            err = tree.wait_for(kind="error", timeout=T)
            assert "strace is not installed" in err["text"]
            assert tree.running
    finally:
        proc.kill()
        proc.wait()


def tracer_of(pid: int) -> int | None:
    """TracerPid from /proc/PID/status (None once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def _comm(pid: int) -> str | None:
    from sigscope import procfs

    st = procfs.read_stat(pid)
    return None if st is None else st.comm


def _strace_pids(root: int) -> set[int]:
    from sigscope import procfs

    return {p for p in procfs.descendants_of(root) if _comm(p) == "strace"}


@needs_strace
def test_strace_dies_with_a_sigkilled_sigscope_and_the_target_is_untraced() -> None:
    """`sigscope attach PID --strace`, then SIGKILL of sigscope (no clean-up code runs): within
    a second no strace is left, and the target is traced by no one (TracerPid 0)."""
    import fcntl
    import select
    import struct
    import termios

    from sigscope import procfs

    target = subprocess.Popen(["/usr/bin/sleep", "120"], start_new_session=True)
    master_fd, slave_fd = os.openpty()
    fcntl.ioctl(slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    app = subprocess.Popen(
        ["sigscope", "attach", str(target.pid), "--strace"],
        stdin=slave_fd,
        stdout=slave_fd,
        stderr=slave_fd,
        env=env,
        start_new_session=True,
    )
    stracers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while True:  # until strace runs and has seized the target
            if select.select([master_fd], [], [], 0.05)[0]:
                try:
                    os.read(master_fd, 1 << 16)  # keep the pty drained
                except OSError:
                    pass
            stracers |= _strace_pids(app.pid)
            tracer = tracer_of(target.pid)
            if tracer and tracer in stracers:
                break
            assert app.poll() is None, "sigscope attach ended early"
            assert time.monotonic() < deadline, "strace never attached to the target"
        app.kill()
        app.wait()
        killed_at = time.monotonic()
        while True:
            reap_children(stracers, timeout=0)  # orphaned to us (the subreaper) when it died
            alive = {p for p in stracers if procfs.read_stat(p) is not None}
            if not alive and tracer_of(target.pid) == 0:
                break
            assert time.monotonic() - killed_at < 1.0, (
                f"after SIGKILL of sigscope: strace {alive} left, target's TracerPid "
                f"{tracer_of(target.pid)}"
            )
            time.sleep(0.01)
        assert target.poll() is None, "the target must live on, untraced"
    finally:
        for proc in (app, target):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        reap_children(stracers, timeout=2)
        os.close(master_fd)
        os.close(slave_fd)


@needs_strace
def test_closing_the_tree_detaches_strace() -> None:
    proc = subprocess.Popen(["/usr/bin/sleep", "60"], start_new_session=True)
    try:
        with AttachedTree(proc.pid, strace=True) as tree:
            deadline = time.monotonic() + T
            while not tracer_of(proc.pid):
                assert time.monotonic() < deadline, "strace never attached"
                time.sleep(0.01)
            assert tree.strace is not None and tree.strace.problem is None
        assert tracer_of(proc.pid) == 0
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


@needs_strace
def test_strace_is_never_taken_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty or relative PATH entry (``PATH=/usr/bin:``, a common slip, or ``.``) made
    ``shutil.which`` find an ``strace`` in the current folder: a planted one would run, with
    the attached tree's pids. Only absolute PATH entries are searched."""
    from sigscope.sources.strace import StraceFeed

    marker = tmp_path / "planted-strace-ran"
    planted = tmp_path / "strace"
    planted.write_text(f"#!/bin/sh\ntouch {marker}\nexec sleep 30\n")
    planted.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", ":." + os.pathsep + os.environ["PATH"])
    proc = subprocess.Popen(["/usr/bin/sleep", "60"], start_new_session=True)
    feed = StraceFeed([proc.pid], lambda e: None, lambda pid: "worker")
    try:
        assert feed.start(), feed.problem
        deadline = time.monotonic() + T
        while not tracer_of(proc.pid):  # the real strace seizes it
            assert time.monotonic() < deadline, "strace never attached"
            time.sleep(0.01)
        assert not marker.exists(), "the strace planted in the current folder ran"
    finally:
        feed.stop()
        proc.kill()
        proc.wait()


def test_an_attached_tree_is_a_source_that_watches_and_sends_but_controls_nothing() -> None:
    """Its capabilities are declared (no lab controls, no code, no recording), its snapshots
    come through subscribe_snapshots like a lab's, and its own events have role controller."""
    from sigscope.events import CONTROLLER
    from sigscope.sources.base import SourceError

    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        with AttachedTree(proc.pid) as tree:
            assert (tree.live, tree.can_send) == (True, True)
            assert not (tree.can_control or tree.can_run_code or tree.can_record)
            seen = []
            tree.subscribe_snapshots(seen.append)
            tree.wait_until(lambda: any(s.by_pid(proc.pid) for s in seen), timeout=T)
            assert tree.latest_snapshot is not None
            for refused in (
                lambda: tree.set_reaping("off"),
                lambda: tree.spawn_worker(),
                lambda: tree.run_code("master", "1"),
            ):
                with pytest.raises(SourceError):
                    refused()
            c = tree.cursor()
            tree.send("master", "TERM")
            sent = tree.wait_for(kind="sent", target=proc.pid, since=c, timeout=T)
            assert sent["role"] == CONTROLLER
            tree.wait_for(kind="ended", role=CONTROLLER, timeout=T)
    finally:
        proc.kill()
        proc.wait()

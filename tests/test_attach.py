"""`sigscope attach`: a tree we did not start, watched live; sends only into that tree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sigscope.attach import AttachedTree, AttachError, check_attachable
from tests.conftest import wait_gone

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
    root = Path(__file__).resolve().parents[1]
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
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what this test started
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
            caught = tree.wait_for(kind="mask", mask="caught", since=c, timeout=T)
            assert "SIGUSR2" in caught["added"]
            blocked = tree.wait_for(kind="mask", mask="blocked", since=c, timeout=T)
            assert blocked["added"] == ["SIGHUP"]
    finally:
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

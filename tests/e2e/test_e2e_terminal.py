"""End to end: the installed ``sigscope`` command in a real terminal (tmux), used by keys.

A person opens the dashboard, moves to worker 1, opens the signal menu, types ``kill``, presses
Enter, sees a new worker 1 take its place, and quits; afterwards no process of that lab is
left. Each test runs its own tmux server on a socket of its own (``-L``) and kills only that
server. This test process is a child subreaper (conftest), so the tmux server, which
daemonizes, is re-parented to it and reaped here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from sigscope import procfs
from tests.conftest import reap_children, wait_gone

TMUX = shutil.which("tmux")
SIGSCOPE = Path(sys.executable).with_name("sigscope")
WAIT = 40.0

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


class Terminal:
    """One tmux server with one 120×40 window running a command."""

    def __init__(self, command: list[str], width: int = 120, height: int = 40) -> None:
        assert TMUX is not None
        self.socket = f"sigscope-e2e-{uuid.uuid4().hex[:12]}"
        self.base = [TMUX, "-L", self.socket, "-f", "/dev/null"]
        # pytest may export COLUMNS/LINES, which every program (Textual too, through
        # shutil.get_terminal_size) believes over the terminal itself: keep them out.
        self.env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        subprocess.run(
            [
                *self.base,
                "new-session",
                "-d",
                "-x",
                str(width),
                "-y",
                str(height),
                "-s",
                "e2e",
                *command,
            ],
            check=True,
            timeout=30,
            env=self.env,
        )
        pids = self.tmux("display-message", "-p", "-t", "e2e", "#{pid} #{pane_pid}").split()
        self.server_pid, self.pane_pid = int(pids[0]), int(pids[1])

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            [*self.base, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=self.env,
        )
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "e2e")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "e2e", *keys)

    def wait_for(self, test: Callable[[str], object], what: str) -> object:
        deadline = time.monotonic() + WAIT
        while True:
            text = self.screen()
            found = test(text)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{text}")
            time.sleep(0.2)

    def server_alive(self) -> bool:
        st = procfs.read_stat(self.server_pid)
        return st is not None and st.state != "Z"

    def close(self) -> None:
        if self.server_alive():
            self.tmux("kill-server")
        # tmux may exit before it reaps the pane's process: then that zombie is re-parented to
        # us (the subreaper) and is ours to reap.
        reap_children({self.server_pid, self.pane_pid}, timeout=10)


def lab_pids(screen: str) -> dict[str, int]:
    """Role -> pid, read off the process tree as drawn (``12345  worker 1  idle  S``)."""
    found = {}
    for pid, role in re.findall(r"(\d+)\s+(master|worker \d+)\b", screen):
        found.setdefault(role, int(pid))
    return found


def test_kill_a_worker_from_the_keyboard_in_a_real_terminal(terminal) -> None:  # type: ignore[no-untyped-def]
    assert SIGSCOPE.exists(), f"the sigscope command is not installed at {SIGSCOPE}"
    term = terminal([str(SIGSCOPE), "--workers", "2"])

    def started(screen: str) -> dict[str, int] | None:
        pids = lab_pids(screen)
        return pids if {"master", "worker 0", "worker 1"} <= set(pids) else None

    first = term.wait_for(started, "the tree with the master and two workers")
    assert isinstance(first, dict)
    victim = first["worker 1"]
    everyone = set(first.values())

    term.keys("Down", "Down")  # master -> worker 0 -> worker 1
    term.keys("k")
    term.wait_for(lambda s: f"Send a signal to worker 1 (pid {victim})" in s, "the signal menu")
    term.keys("k", "i", "l", "l")
    term.keys("Enter")

    def replaced(screen: str) -> int | None:
        now = lab_pids(screen).get("worker 1")
        return now if now is not None and now != victim else None

    new = term.wait_for(replaced, "a new worker 1 in the tree")
    assert isinstance(new, int)
    everyone.add(new)
    screen = term.screen()
    assert "reaped" in screen  # the log (and the dimmed row) say what happened
    assert procfs.read_stat(victim) is None  # really gone, not a zombie

    term.keys("q")
    deadline = time.monotonic() + WAIT
    while term.server_alive() and time.monotonic() < deadline:
        time.sleep(0.1)  # the only window closed: tmux exits by itself
    assert not term.server_alive(), "sigscope did not quit on q"
    st = procfs.read_stat(term.pane_pid)
    assert st is None or st.state == "Z", "the sigscope process is still running"

    assert wait_gone(everyone, timeout=10) == set(), "lab processes left behind"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_signal_to_the_dashboard_leaves_no_lab_process(terminal, tmp_path: Path, sig) -> None:  # type: ignore[no-untyped-def]
    """`kill <sigscope>` (or a closed terminal, SIGHUP) ends it like q: lab gone, exit 143.
    SIGKILL cannot be caught: the lab goes by its own layers (PR_SET_PDEATHSIG), exit 137."""
    status = tmp_path / "status"
    term = terminal(["sh", "-c", f"{SIGSCOPE} --workers 2; echo $? > {status}"])
    first = term.wait_for(
        lambda s: (p := lab_pids(s)) and {"master", "worker 0", "worker 1"} <= set(p) and p,
        "the tree",
    )
    assert isinstance(first, dict)
    apps = procfs.children_of(term.pane_pid)
    assert len(apps) == 1
    os.kill(apps[0], sig)
    deadline = time.monotonic() + WAIT
    while not (status.exists() and status.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status.read_text().strip() == str(128 + sig)  # as a shell reports it
    # After a SIGKILL the lab processes die with their parent; this test process (a
    # subreaper) inherits and reaps whatever exits after sigscope did.
    lab = set(first.values())
    reap_children(lab, timeout=10)
    assert wait_gone(lab, timeout=10) == set(), "lab processes left behind"

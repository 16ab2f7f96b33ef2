"""End to end: the installed ``sigscope --terminal`` in a real terminal (tmux), used by keys.

F7 moves into the Terminal panel; typed keys reach the lane's bash; Ctrl+C there is SIGINT to
the foreground job, not the end of sigscope; ctrl+q still quits; and whether sigscope quits or
is SIGKILLed, nothing of the lab or of the terminal's session (bash, its jobs, a nohup'ed one,
strace, the keeper) is left.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time

import pytest

from sigscope import procfs
from tests.conftest import reap_children, wait_gone
from tests.e2e.test_e2e_terminal import SIGSCOPE, WAIT

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed"),
]


def session_line(screen: str) -> int | None:
    """The shell's pid from the session tree's title (``Session 1234 · foreground …``), once
    the tree shows the shell's row and the panel its prompt (the app is ready for keys)."""
    m = re.search(r"Session (\d+) · foreground group (\d+)", screen)
    ready = m and re.search(rf"\b{m.group(1)} S bash", screen) and re.search(r"│\$ ", screen)
    return int(m.group(1)) if ready and m else None


def everything_below(pid: int) -> set[int]:
    return set(procfs.descendants_of(pid))


def test_dashboard_terminal_by_keys_then_sigkill_leaves_nothing(terminal) -> None:  # type: ignore[no-untyped-def]
    assert SIGSCOPE.exists(), f"the sigscope command is not installed at {SIGSCOPE}"
    term = terminal([str(SIGSCOPE), "--workers", "1", "--terminal"])
    shell = term.wait_for(session_line, "the session tree")
    assert isinstance(shell, int)
    term.keys("F7")
    # Focus moves a moment later (Textual's focus() is deferred): keys sent before it would
    # go to the dashboard. The footer names the panel's own key once it has focus.
    term.wait_for(lambda s: re.search(r"^\s*f8 Hang up", s, re.M), "the panel focused")
    term.keys("echo lane-", "says-hi", "Enter")
    term.wait_for(lambda s: "│lane-says-hi " in s, "the echo (its own line: not the command)")
    term.keys("nohup sleep 71 >/dev/null 2>&1 &", "Enter")
    term.keys("sleep 70", "Enter")
    term.wait_for(lambda s: re.search(r"▶ group (\d+)\s+foreground", s) and "sleep 70" in s, "fg")
    fg = re.search(r"▶ group (\d+)\s+foreground", term.screen())
    assert fg is not None and int(fg.group(1)) != shell
    term.keys("C-c")  # in the panel: SIGINT to the foreground group, not the end of sigscope
    term.wait_for(lambda s: f"foreground group {shell}" in s, "the shell's group back in front")
    assert term.server_alive()

    app = term.pane_pid  # the pane runs sigscope itself
    below = everything_below(app)
    nohup = [p for p in below if (st := procfs.read_stat(p)) and st.comm == "sleep"]
    assert len(nohup) == 1, "the nohup'ed sleep 71 should still run"
    assert shell in below and len(below) >= 6  # master, worker, keeper, bash, strace?, sleep
    os.kill(app, signal.SIGKILL)
    # The lab dies by PR_SET_PDEATHSIG; the keeper sees its control pipe close and ends the
    # whole session. Orphans come to this test process (a subreaper) and are reaped here.
    reap_children(below, timeout=10)
    assert wait_gone(below, timeout=10) == set(), "processes left behind"


def test_ctrl_q_quits_from_the_terminal_panel(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal([str(SIGSCOPE), "--workers", "1", "--terminal"])
    shell = term.wait_for(session_line, "the session tree")
    assert isinstance(shell, int)
    app = term.pane_pid  # the pane runs sigscope itself
    below = everything_below(app)
    term.keys("F7")
    term.wait_for(lambda s: re.search(r"^\s*f8 Hang up", s, re.M), "the panel focused")
    term.keys("C-q")
    deadline = time.monotonic() + WAIT
    while term.server_alive() and time.monotonic() < deadline:
        time.sleep(0.1)  # the only window closed: tmux exits by itself
    assert not term.server_alive(), "sigscope did not quit on ctrl+q from the terminal panel"
    reap_children(below, timeout=10)
    assert wait_gone(below, timeout=10) == set()

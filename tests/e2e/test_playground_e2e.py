"""End to end: the playground in a real terminal (tmux), used by keys as a person would: open
the Code panel, type Python, run it with ctrl+o, stop a snippet that sleeps with ctrl+g, leave
with esc and quit; nothing of the lab is left (issue 17)."""

from __future__ import annotations

import os
import re
import time

import pytest

from sigscope import procfs
from tests.conftest import wait_gone
from tests.e2e.test_e2e_terminal import SIGSCOPE, TMUX, WAIT, lab_pids

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


def test_type_run_and_stop_python_in_a_real_terminal(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal([str(SIGSCOPE), "--workers", "1", "--behaviour", "playground"])
    first = term.wait_for(
        lambda s: (p := lab_pids(s)) and {"master", "worker 0"} <= set(p) and p, "the tree"
    )
    assert isinstance(first, dict)
    term.wait_for(lambda s: "worker 0: idle, waiting for code" in s, "the Code panel")

    term.keys("e")
    # Type only once the editor has the focus (its keys are in the footer): before that,
    # letters are the dashboard's keys (i, t: signals), as for a person who types too soon.
    term.wait_for(lambda s: "ctrl+o Run" in s, "the editor focused")
    term.keys("-l", "print(6 * 7)")
    term.keys("C-o")
    if os.geteuid() == 0:
        term.wait_for(lambda s: "Run your code as root?" in s, "the root confirmation")
        term.keys("y")
    term.wait_for(lambda s: ">>> snippet" in s and "\n42" in s.replace("│", "\n"), "42 printed")

    # A snippet that never returns is shown running; ctrl+g stops it.
    term.keys("C-a", "C-k")  # empty the line (TextArea: line start, delete to end)
    # Wait until it is empty, as a person sees it: TextArea's ctrl+k is an async action, and
    # letters typed right behind it were inserted first and then deleted with the line.
    term.wait_for(lambda s: re.search(r"▊ 1 +▎", s), "the editor emptied")
    term.keys("-l", "time.sleep(30)")
    term.wait_for(lambda s: "time.sleep(30)" in s, "the new code typed")
    term.keys("C-o")
    term.wait_for(lambda s: "running snippet" in s, "the running state")
    term.keys("C-g")
    term.wait_for(lambda s: "stopped" in s and "running snippet" not in s, "the snippet stopped")
    assert procfs.read_stat(first["worker 0"]) is not None  # the same worker, still alive

    term.keys("Escape")  # back to the tree: q quits there (in the editor it is typed)
    # Wait for it to land: an ESC with a q right behind it reads as alt+q.
    term.wait_for(lambda s: "ctrl+o Run" not in s, "the focus back on the tree")
    term.keys("q")
    deadline = time.monotonic() + WAIT
    while term.server_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not term.server_alive(), "sigscope did not quit on q"
    assert wait_gone(set(first.values()), timeout=10) == set(), "lab processes left behind"

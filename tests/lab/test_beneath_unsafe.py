"""The ``unsafe`` behaviour: a handler re-entering print, and a handler deadlocked on a lock."""

from __future__ import annotations

import time

from sigscope import procfs
from sigscope.lab import Lab

T = 10.0


def test_print_in_a_handler_raises_reentrant_call() -> None:
    with Lab(workers=1, behaviour="unsafe", params={"mode": "print"}) as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        lab.send(pid, "USR2")
        done = lab.wait_for(kind="unsafe", pid=pid, action="done", timeout=T)
        assert done["raised"] is True and done["handler_runs"] >= 1
        raised = lab.wait_for(kind="raised", pid=pid, timeout=T)
        assert raised["exception"] == "RuntimeError"
        assert raised["text"].startswith("reentrant call inside <_io.BufferedWriter")


def test_a_handler_taking_a_held_lock_hangs_and_the_lab_still_shuts_down() -> None:
    lab = Lab(workers=1, behaviour="unsafe", params={"mode": "lock"})
    with lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        lab.send(pid, "USR2")
        stuck = lab.wait_for(kind="unsafe", pid=pid, action="stuck", timeout=T)
        assert stuck["state"] == "S" and "futex" in stuck["wchan"]
        # Seen from outside, by the kernel: the main thread (tid = pid) asleep in a futex.
        st = procfs.read_stat(pid)
        assert st is not None and st.state == "S"
        with open(f"/proc/{pid}/wchan") as f:
            assert "futex" in f.read()
        started = time.monotonic()
    # Leaving the with-block: the master ends its workers with TERM (default action: it works
    # on a hung process), reaps them, and exits; nothing is left (the no_leftovers fixture).
    assert time.monotonic() - started < T
    reaped = [e for e in lab.events() if e["kind"] == "reaped" and e.get("child") == pid]
    assert reaped and reaped[0]["how"] == "signalled"

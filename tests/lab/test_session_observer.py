"""The terminal lane's session observer on real processes: what it reads of a process that is
in the middle of an exec."""

from __future__ import annotations

import os
import shutil
import signal
import time

from sigscope.events import now
from sigscope.terminal.observer import SessionObserver

SLEEP = shutil.which("sleep") or "/bin/sleep"
TRIES = 300


def test_an_exec_scanned_mid_way_is_reported_with_its_argv() -> None:
    """The kernel sets a process's new name before its new argv (``/proc/PID/cmdline`` reads
    empty for a moment while ``comm`` already says sleep). Scanning in a loop while a child
    execs lands in that moment in about 1 exec in 10 here; the observer must still show, and
    report in the exec's event, the new argv — it used to keep the empty one for good."""
    obs = SessionObserver(root=os.getpid(), shell=-1)
    for _ in range(TRIES):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.close(w)
                os.read(r, 1)
                os.execv(SLEEP, ["sleep", "30"])
            finally:
                os._exit(127)
        os.close(r)
        try:
            obs.scan(now())
            assert pid in obs.known
            before = obs.known[pid].comm
            os.write(w, b"x")
            execs = []
            deadline = time.monotonic() + 10
            while obs.known[pid].comm == before:
                assert time.monotonic() < deadline, "the exec was never seen"
                execs += [e for e in obs.scan(now()) if e["pid"] == pid and e["kind"] == "exec"]
            seen = obs.known[pid]
            assert (seen.comm, seen.argv) == ("sleep", ("sleep", "30"))
            assert [(e["comm"], e["argv"]) for e in execs] == [("sleep", ["sleep", "30"])]
        finally:
            os.close(w)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)

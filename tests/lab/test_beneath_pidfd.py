"""The ``pidfd`` behaviour: kill(pid, 0) and pidfds through a pid's life, EPERM, PID reuse."""

from __future__ import annotations

import os

import pytest

from sigscope.lab import Lab

T = 15.0


def test_pidfd_life_eperm_and_a_recycled_pid_refused() -> None:
    with Lab(workers=1, behaviour="pidfd") as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        lab.send(pid, "USR1")
        steps = {
            step: lab.wait_for(kind="pidfd", pid=pid, step=step, timeout=T)
            for step in ("alive", "zombie", "reaped", "eperm", "reuse")
        }
        assert (steps["alive"]["kill0"], steps["alive"]["pidfd0"]) == ("ok", "ok")
        # A zombie still "exists" for kill(pid, 0) and for its pidfd.
        assert steps["zombie"]["sent"] == "ok"
        assert (steps["zombie"]["kill0"], steps["zombie"]["pidfd0"]) == ("ok", "ok")
        assert (steps["reaped"]["kill0"], steps["reaped"]["pidfd0"]) == ("ESRCH", "ESRCH")
        if os.geteuid() == 0:
            assert steps["eperm"]["kill0"] == "EPERM"
        else:
            assert steps["eperm"]["skipped"] is True
        reuse = steps["reuse"]
        if reuse.get("skipped"):
            pytest.skip(f"no private PID namespace here: {reuse['why']}")
        assert reuse["recycled"] is True  # the same number, handed out again
        assert reuse["old_global"] != reuse["new_global"]  # to another process
        assert reuse["kill0_before"] == "ESRCH"
        assert reuse["kill0_after"] == "ok"  # the stale number now reaches the newcomer
        assert reuse["pidfd_after"] == "ESRCH"  # the old pidfd refuses

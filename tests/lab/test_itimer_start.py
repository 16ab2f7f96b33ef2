"""itimer's ``start`` parameter: the timer is armed only when the learner's signal arrives.

Lesson 7 keeps one worker per timer in its lab and lets the learner arm each one (the
dashboard starts new workers with default parameters only), so that no step can complete
before the learner acts. Real lab, real signals.
"""

from __future__ import annotations

import pytest

from sigscope.lab import Lab
from sigscope.lab.behaviours import BehaviourError, check_params

T = 20.0  # seconds: generous, the machine is shared


@pytest.mark.parametrize("start", ["TERM", "INT", "QUIT", "PROF", "KILL", "NOPE"])
def test_start_refuses_what_cannot_arm_a_prof_timer(start: str) -> None:
    with pytest.raises(BehaviourError, match="itimer: parameter 'start'"):
        check_params("itimer", {"which": "PROF", "start": start})


def test_the_timer_is_armed_only_when_the_start_signal_arrives() -> None:
    slots = [
        {
            "behaviour": "itimer",
            "params": {"which": "REAL", "value": 0.1, "ticks": 2, "start": "SIGUSR1"},
        }
    ]
    with Lab(workers=1, behaviour="itimer", slots=slots) as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        note = lab.wait_for(kind="note", pid=pid, timeout=T)
        assert note["start"] == "SIGUSR1" and note["timer"] == "ITIMER_REAL"
        # Other signals are reported but do not arm it (an armed timer says so at once).
        c = lab.cursor()
        lab.send(pid, "USR2")
        lab.wait_for(kind="received", sig="SIGUSR2", pid=pid, since=c, timeout=T)
        lab.send(pid, "HUP")
        lab.wait_for(kind="received", sig="SIGHUP", pid=pid, since=c, timeout=T)
        assert not [e for e in lab.events(0) if e.get("pid") == pid and e["kind"] == "timer"]
        c = lab.cursor()
        lab.send(pid, "USR1")
        armed = lab.wait_for(kind="timer", action="armed", pid=pid, since=c, timeout=T)
        assert armed["timer"] == "ITIMER_REAL"
        ticks = lab.wait_all(2, kind="timer", action="tick", pid=pid, since=c, timeout=T)
        assert [e["count"] for e in ticks] == [1, 2]

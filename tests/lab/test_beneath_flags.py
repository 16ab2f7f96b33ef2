"""The ``flags`` behaviour on live workers: sigaction flags read back, and what each one does."""

from __future__ import annotations

import platform
import time
from typing import Any

import pytest

from sigscope.lab import Lab, LabError

T = 10.0
READ_NR = {"x86_64": 0, "aarch64": 63}[platform.machine()]


def wait_in_read(pid: int) -> None:
    """Until the worker's main thread is blocked in read(2) (/proc/PID/syscall)."""
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/syscall") as f:
                fields = f.read().split()
        except OSError:
            fields = []
        if fields and fields[0] == str(READ_NR):
            return
        time.sleep(0.01)  # polling /proc: there is no event for "entered a system call"
    raise AssertionError(f"worker {pid} never blocked in read(2)")


def spawned(lab: Lab, params: dict[str, Any]) -> int:
    c = lab.cursor()
    lab.spawn_worker("flags", params)
    pid = int(lab.wait_for(kind="spawn", behaviour="flags", since=c, timeout=T)["child"])
    lab.wait_for(kind="ready", pid=pid, timeout=T)
    return pid


def test_resethand_runs_once_and_the_second_signal_kills() -> None:
    with Lab(workers=0) as lab:
        pid = spawned(lab, {"flags": "SA_RESETHAND", "mask": "HUP;RTMIN"})
        installed = lab.wait_for(kind="flags", pid=pid, why="installed", timeout=T)
        assert installed["handler"] == "python"  # Python's C trampoline kept as the handler
        assert "SA_RESETHAND" in installed["flags"] and "SA_NODEFER" not in installed["flags"]
        assert installed["mask"] == ["SIGHUP", "SIGRTMIN+0"]
        c = lab.cursor()
        lab.send(pid, "USR1")
        lab.wait_for(kind="received", pid=pid, sig="SIGUSR1", since=c, timeout=T)
        changed = lab.wait_for(kind="flags", pid=pid, why="changed", since=c, timeout=T)
        assert changed["handler"] == "SIG_DFL"  # reset on entry to the handler
        lab.send(pid, "USR1")
        reaped = lab.wait_for(kind="reaped", role="master", child=pid, timeout=T)
        assert (reaped["how"], reaped["sig"]) == ("signalled", "SIGUSR1")
        assert len([e for e in lab.events() if e["kind"] == "received" and e["pid"] == pid]) == 1


@pytest.mark.parametrize("nodefer", [False, True])
def test_probe_handler_reentered_only_with_nodefer(nodefer: bool) -> None:
    params = {"handler": "probe", "reraise": True, "mask": "HUP"}
    if nodefer:
        params["flags"] = "SA_NODEFER"
    with Lab(workers=0) as lab:
        pid = spawned(lab, params)
        lab.send(pid, "USR1")
        runs = lab.wait_all(4, kind="handler", pid=pid, timeout=T)
        order = [(e["phase"], e["depth"], e["run"]) for e in runs]
        enter = runs[0]["blocked"]
        assert "SIGHUP" in enter  # sa_mask is blocked while the handler runs
        if nodefer:
            assert order == [("enter", 1, 1), ("enter", 2, 2), ("leave", 2, 2), ("leave", 1, 1)]
            assert "SIGUSR1" not in enter
        else:
            assert order == [("enter", 1, 1), ("leave", 1, 1), ("enter", 1, 2), ("leave", 1, 2)]
            assert "SIGUSR1" in enter  # the signal is blocked during its own handler


@pytest.mark.parametrize(("restart", "state"), [("", "interrupted"), ("SA_RESTART", "returned")])
def test_sa_restart_restarts_a_c_read(restart: str, state: str) -> None:
    with Lab(workers=0) as lab:
        pid = spawned(lab, {"flags": restart})
        wait_in_read(pid)  # a signal before the read began would find the byte waiting
        lab.send(pid, "USR1")
        call = lab.wait_for(kind="call", pid=pid, timeout=T)
        assert call["state"] == state
        assert call["call"] == "read(wakeup fd)"


@pytest.mark.parametrize(
    ("params", "zombie"),
    [
        ({"signal": "CHLD", "handler": "default"}, True),  # default "ignore" is not SIG_IGN
        ({"signal": "CHLD", "handler": "ignore"}, False),
        ({"signal": "CHLD", "handler": "python", "flags": "SA_NOCLDWAIT"}, False),
        ({"signal": "CHLD", "handler": "python"}, True),
    ],
)
def test_sigchld_variants_make_zombies_or_not(params: dict[str, Any], zombie: bool) -> None:
    with Lab(workers=0) as lab:
        pid = spawned(lab, {**params, "children": 1, "linger": 0.2})
        lab.send(pid, "USR2")
        exited = lab.wait_for(kind="child", pid=pid, event="exited", timeout=T)
        assert exited["zombie"] is zombie
        reaped = lab.wait_for(kind="child", pid=pid, event="reaped", timeout=T)
        if zombie:
            assert reaped["exitcode"] == 0
        else:
            assert reaped["error"] == "ECHILD"  # the kernel reaped it: no status for anyone
        if params["handler"] == "python":
            assert exited["sigchld"] is True  # SA_NOCLDWAIT still sends SIGCHLD on Linux


@pytest.mark.parametrize(("flags", "sigchld"), [("", True), ("SA_NOCLDSTOP", False)])
def test_nocldstop_silences_sigchld_for_a_stop(flags: str, sigchld: bool) -> None:
    with Lab(workers=0) as lab:
        pid = spawned(lab, {"signal": "CHLD", "flags": flags, "children": 1, "stop_children": True})
        lab.send(pid, "USR2")
        stopped = lab.wait_for(kind="child", pid=pid, event="stopped", timeout=T)
        assert stopped["sigchld"] is sigchld
        assert lab.wait_for(kind="child", pid=pid, event="exited", timeout=T)["sigchld"] is True


def test_bad_flags_are_refused() -> None:
    with pytest.raises(LabError, match="unknown sigaction flag"):
        Lab(workers=1, behaviour="flags", params={"flags": "SA_SIGINFO"})
    with pytest.raises(LabError, match="cannot be blocked, caught or ignored"):
        Lab(workers=1, behaviour="flags", params={"signal": "KILL"})

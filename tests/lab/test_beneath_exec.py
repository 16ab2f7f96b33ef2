"""The ``exec`` behaviour: fork and exec inheritance, checked in /proc after the exec."""

from __future__ import annotations

from sigscope.lab import Lab
from sigscope.lab.exec_probe import read_masks

T = 15.0  # an exec starts a new Python: slower under load


def test_exec_keeps_ignores_mask_and_pending_and_drops_handlers() -> None:
    with Lab(workers=1, behaviour="exec") as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        before = lab.wait_for(kind="inherit", pid=pid, phase="before", timeout=T)
        assert "SIGUSR1" in before["caught"] and before["pending"] == ["SIGHUP"]
        c = lab.cursor()
        lab.send(pid, "USR1")  # its handler runs; then fork, subprocess, exec
        child = lab.wait_for(kind="inherit", pid=pid, phase="fork-child", since=c, timeout=T)
        assert "SIGUSR1" in child["caught"]  # fork keeps handlers
        assert "SIGUSR2" in child["ignored"] and child["blocked"] == ["SIGHUP"]
        assert child["pending"] == []  # fork(2): the child's pending set starts empty
        subs = [
            lab.wait_for(kind="inherit", pid=pid, phase="subprocess", restore_signals=flag,
                         since=c, timeout=T)
            for flag in (True, False)
        ]  # fmt: skip
        assert "SIGPIPE" not in subs[0]["ignored"] and "SIGXFSZ" not in subs[0]["ignored"]
        assert {"SIGPIPE", "SIGXFSZ"} <= set(subs[1]["ignored"])
        assert all("SIGUSR2" in s["ignored"] for s in subs)  # exec keeps an explicit ignore
        after = lab.wait_for(kind="inherit", pid=pid, phase="after-exec", since=c, timeout=T)
        assert after["disposition"] == "SIG_DFL"
        # The kernel's view of the same pid, now running the exec'd program:
        proc = read_masks(f"/proc/{pid}/status")
        assert "SIGUSR1" not in proc["caught"]  # the handler is gone: reset to default
        assert "SIGUSR2" in proc["ignored"]
        assert proc["blocked"] == ["SIGHUP"] and proc["pending"] == ["SIGHUP"]
        assert after["blocked"] == proc["blocked"] and after["pending"] == proc["pending"]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert b"sigscope.lab.exec_probe" in f.read()
        c = lab.cursor()
        lab.send(pid, "USR1")  # now the default action: it ends the process
        reaped = lab.wait_for(kind="reaped", role="master", child=pid, since=c, timeout=T)
        assert (reaped["how"], reaped["sig"]) == ("signalled", "SIGUSR1")

"""The ``rtlimit`` behaviour: real-time signals past RLIMIT_SIGPENDING, counted sent vs received."""

from __future__ import annotations

import pytest

from sigscope.lab import Lab, LabError

T = 10.0


def test_burst_past_the_limit_sigqueue_eagain_and_kill_lost() -> None:
    with Lab(workers=1, behaviour="rtlimit", params={"room": 4, "burst": 40}) as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        lab.send(pid, "USR1")
        got = lab.wait_for(kind="rtlimit", pid=pid, action="burst", timeout=T)
        assert got["queued_ok"] + got["queued_eagain"] == 40
        assert got["queued_eagain"] >= 1  # the limit was reached: sigqueue said EAGAIN
        assert got["kill_ok"] == 40  # kill() reported success every time
        assert got["values"] == list(range(got["queued_ok"]))  # queued in order, values kept
        if got["queued_ok"]:
            # The kills found the signal pending already: each only set the bit, lost.
            assert got["received"] == got["queued_ok"]
            assert got["codes"] == ["SI_QUEUE"] * got["queued_ok"]
        else:
            assert got["received"] == 1 and got["codes"] == ["SI_USER"]
        assert got["lost"] == got["sent_ok"] - got["received"] >= 40 - 1


def test_controller_sends_refused_with_eagain_while_kill_succeeds() -> None:
    with Lab(workers=1, behaviour="rtlimit", params={"room": 3}) as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        c = lab.cursor()
        ok = 0
        with pytest.raises(LabError, match="EAGAIN"):
            for value in range(200):
                lab.send(pid, "RTMIN+1", value)
                ok += 1
        for _ in range(5):
            lab.send(pid, "RTMIN+1")  # no error: kill() past the limit reports success
        lab.send(pid, "USR2")
        drained = lab.wait_for(kind="rtlimit", pid=pid, action="drained", since=c, timeout=T)
        assert drained["values"] == list(range(ok))
        assert drained["received"] == ok  # the five kills are not among them
        sent = [e for e in lab.events(c) if e["kind"] == "sent" and e["sig"] == "SIGRTMIN+1"]
        assert len(sent) == ok + 1 + 5  # the refused one was recorded as sent, then its error
        assert any(e["kind"] == "error" and "EAGAIN" in e["text"] for e in lab.events(c))

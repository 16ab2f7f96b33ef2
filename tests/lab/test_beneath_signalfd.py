"""Queued values (``SIGNAL=VALUE``: sigqueue through a pidfd) and the ``signalfd`` behaviour."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sigscope.lab import Lab

T = 10.0


def test_trace_example_prints_the_queued_value() -> None:
    """The issue's example, as a person runs it."""
    out = subprocess.run(
        [sys.executable, "-m", "sigscope", "trace", "--workers", "1", "--behaviour", "signalfd",
         "--send", "0.5:RTMIN+1=42@worker:0", "--duration", "2", "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    got = [e for e in events if e["kind"] == "received" and e["role"] == "worker"]
    assert len(got) == 1, got
    assert (got[0]["sig"], got[0]["value"], got[0]["si_code_name"]) == (
        "SIGRTMIN+1",
        42,
        "SI_QUEUE",
    )
    sent = next(e for e in events if e["kind"] == "sent" and e["role"] == "controller")
    assert got[0]["si_pid"] == sent["pid"] and sent["value"] == 42


def test_signalfd_reads_sender_code_and_values_in_sending_order() -> None:
    with Lab(workers=1, behaviour="signalfd") as lab:
        pid = lab.worker(0).pid
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        c = lab.cursor()
        for value in (3, 1, 2):
            lab.send(pid, "RTMIN+2", value)
        lab.send(pid, "USR1")
        got = lab.wait_all(4, kind="received", pid=pid, since=c, timeout=T)
        queued = [e for e in got if e["sig"] == "SIGRTMIN+2"]
        assert [e["value"] for e in queued] == [3, 1, 2]  # RT: one record each, in order
        assert all(e["si_code_name"] == "SI_QUEUE" for e in queued)
        plain = next(e for e in got if e["sig"] == "SIGUSR1")
        assert plain["si_code_name"] == "SI_USER" and "value" not in plain
        assert {e["si_pid"] for e in got} == {os.getpid()}  # the controller is this process
        assert {e["si_uid"] for e in got} == {os.getuid()}
        sent = [e for e in lab.events(c) if e["kind"] == "sent"]
        assert [e.get("value") for e in sent] == [3, 1, 2, None]


def test_trace_help_lists_the_new_behaviours() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sigscope", "trace", "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0
    text = " ".join(out.stdout.split())  # argparse wraps the list of names
    for name in ("flags", "signalfd", "rtlimit", "exec", "core", "unsafe", "pidfd"):
        assert f" {name}," in text or f" {name}." in text or f" {name} " in text, name
    assert "SIGNAL[=VALUE][@TARGET]" in text

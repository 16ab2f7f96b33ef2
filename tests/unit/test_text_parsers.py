"""Parsers of the text sigscope is given, each checked alone (no process): send specs with a
queued value, run specs, strace's signal lines, core-file name patterns, a behaviour's
parameters, typed numbers (ASCII digits only: issue 11), a saved progress file; and the event
channel's writer, which never blocks and counts what it drops (a pipe in this process). The
same features on real processes: the tests/lab files they came from (test_beneath_signalfd,
test_playground, test_attach, test_beneath_core, test_behaviours_a, test_lab, test_hardening,
test_lesson_run)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from sigscope.course import LessonProgress, ProgressStore
from sigscope.lab.behaviours import check_params
from sigscope.lab.behaviours.core import expected_core
from sigscope.lab.channel import EventReader, EventWriter
from sigscope.lab.code import RunSpecError, parse_run_spec
from sigscope.sendspec import SendSpecError, parse_send_spec


def test_send_spec_takes_a_value() -> None:
    spec = parse_send_spec("0.5:RTMIN+1=42@worker:0")
    assert (spec.at, spec.signame, spec.value, spec.target) == (0.5, "SIGRTMIN+1", 42, "worker:0")
    assert spec.text == "0.5:SIGRTMIN+1=42@worker:0"
    assert parse_send_spec("USR1=-7").value == -7
    assert parse_send_spec("USR1").value is None


@pytest.mark.parametrize("bad", ["USR1=", "USR1=x", "USR1=2147483648", "USR1=1.5", "USR1=٣"])
def test_send_spec_refuses_a_bad_value(bad: str) -> None:
    with pytest.raises(SendSpecError, match="bad value"):
        parse_send_spec(bad)


def test_run_spec_parsing() -> None:
    assert parse_run_spec("0.3:x = {'a': 1}@worker:1") == parse_run_spec(
        "0.3:x = {'a': 1}@worker:1"
    )
    spec = parse_run_spec("0.3:x = {'a': 1}@worker:1")
    assert (spec.at, spec.code, spec.target) == (0.3, "x = {'a': 1}", "worker:1")
    spec = parse_run_spec("d = {'k': 2}")  # a colon, but not after a number: all code
    assert (spec.at, spec.code, spec.target) == (0.0, "d = {'k': 2}", "worker")
    spec = parse_run_spec("@decorator_like_text")
    assert spec.code == "@decorator_like_text"
    with pytest.raises(RunSpecError):
        parse_run_spec("1:" + "x" * 20000)


def test_strace_lines_become_events() -> None:
    from sigscope.observe.strace_lines import parse_line

    e = parse_line(
        "[pid 12] --- SIGTTIN {si_signo=SIGTTIN, si_code=SI_USER, si_pid=7, si_uid=1000} ---",
        default_pid=1,
    )
    assert e == {
        "pid": 12,
        "kind": "received",
        "sig": "SIGTTIN",
        "via": "strace",
        "si_code": "SI_USER",
        "sender": 7,
        "sender_uid": 1000,
    }
    e = parse_line(
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=44, si_uid=0, "
        "si_status=SIGUSR1, si_utime=0, si_stime=0} ---",
        default_pid=5,
    )
    assert e is not None and e["pid"] == 5 and e["si_code"] == "CLD_KILLED" and e["sender"] == 44
    e = parse_line(
        "[pid 9] --- SIGRT_2 {si_signo=SIGRT_2, si_code=SI_QUEUE, si_pid=3, "
        "si_uid=0, si_int=0, si_ptr=NULL} ---",
        default_pid=1,
    )
    assert e is not None and e["sig"] == "SIGRTMIN+0"  # strace counts from the kernel's 32
    assert parse_line("[pid 9] +++ killed by SIGKILL +++", 1) == {
        "pid": 9,
        "kind": "exit",
        "via": "strace",
        "code": -9,
        "sig": "SIGKILL",
    }
    assert parse_line("+++ exited with 3 +++", 4) == {
        "pid": 4,
        "kind": "exit",
        "via": "strace",
        "code": 3,
    }
    assert parse_line("strace: Process 5 attached", 1) is None


def test_expected_core_name_follows_core_pattern() -> None:
    assert expected_core("core", False, 42, 3, "/d") == "/d/core"
    assert expected_core("core", True, 42, 3, "/d") == "/d/core.42"
    assert expected_core("core.%e.%p.%s", True, 42, 3, "/d") == "/d/core.*.42.3"
    assert expected_core("/var/crash/%t-%p", False, 7, 11, "/d") == "/var/crash/*-7"


def test_itimer_accepts_the_timer_in_any_spelling() -> None:
    for which in ("virtual", "ITIMER_VIRTUAL", "Virtual"):
        assert check_params("itimer", {"which": which})["which"] == which


def test_the_event_channel_never_blocks_and_counts_drops() -> None:
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        os.set_blocking(w, False)
        os.set_blocking(r, False)
        writer = EventWriter(w, "worker")
        sent = 0
        while writer.emit("note", text="x" * 200):
            sent += 1
        # The last page may still hold fewer bytes than that line: fill it up, so every
        # write fails (blank lines, which the reader skips), whatever the line's length.
        with contextlib.suppress(BlockingIOError):
            while True:
                os.write(w, b"\n")
        lost = 5
        for _ in range(lost - 1):
            assert not writer.emit("note", text="y")
        assert writer.dropped == lost
        events = list(EventReader(r).read_available())
        assert len(events) == sent
        assert writer.emit("note", text="after")
        more = list(EventReader(r).read_available())
        assert more[0]["kind"] == "dropped" and more[0]["count"] == lost
        assert more[1]["text"] == "after"
    finally:
        os.close(r)
        os.close(w)


def test_the_library_parsers_refuse_non_ascii_digits() -> None:
    from sigscope.observe.strace_lines import parse_line
    from sigscope.sendspec import SendSpecError, parse_send_spec
    from sigscope.signames import SignalError, parse_signal

    for text in ("²", "٣", "1_5", "RTMIN+²"):
        with pytest.raises(SignalError):
            parse_signal(text)
    for text in ("0.2:KILL@worker:²", "²:TERM", "1_0:TERM"):
        with pytest.raises(SendSpecError):
            parse_send_spec(text)
    # strace's lines are text too: a non-ASCII "pid" is not a sender.
    event = parse_line("--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=٣, si_uid=0} ---", 7)
    assert event is not None and "sender" not in event
    assert parse_line("[pid ٣] --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER} ---", 7) is None
    assert parse_line("+++ exited with ² +++", 7) == {
        "pid": 7,
        "kind": "exit",
        "via": "strace",
        "code": "²",
    }


def test_answers_and_demo_speeds_take_ascii_digits_only() -> None:
    """int() and float() take '١٣٧' as 137 and '1_0' as 10: a typed answer or a --speed went
    around sigscope.numbers. Now only what the learner could have meant counts."""
    import argparse

    from sigscope.commands.demo import speed_factor
    from sigscope.course.questions import same

    assert same("137", 137) and same("−9", -9) and same(" -9 ", -9)
    for reply in ("١٣٧", "1_37", "²", "9" * 5000):
        assert not same(reply, 137), reply
    assert speed_factor("2") == 2.0
    for text in ("١", "1_0", "²", "nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            speed_factor(text)


def test_progress_file_is_read_with_care(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text(
        '{"lessons": {"x": {"done": [1, true, -3, 2], "current": true, '
        '"hints": {"²": 1, "0": 2, "1": true}}}}'
    )
    got = ProgressStore(path).load("x")
    assert (got.done, got.current, got.hints) == ({1, 2}, 0, {0: 2})
    path.write_text("[" * 100_000)
    assert ProgressStore(path).load("x") == LessonProgress()

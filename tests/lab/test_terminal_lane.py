"""The terminal lane (issue 16) on a real pty, a real bash and (where installed) a real strace.

Every test waits on the lane's events or its screen output, never on a fixed sleep, and the
``no_leftovers`` fixture checks that the shell, its jobs (nohup'ed ones included), strace and the
keeper are all gone afterwards.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigscope import procfs
from sigscope.events import Event
from sigscope.sources.eventlog import EventLog
from sigscope.terminal import TerminalError, TerminalLane, TerminalSettings
from sigscope.terminal.keys import KeysError, decode_keys, parse_type_spec
from tests.conftest import reap_children, wait_gone

ROOT = Path(__file__).resolve().parents[2]
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
HAS_STRACE = shutil.which("strace") is not None
needs_strace = pytest.mark.skipif(not HAS_STRACE, reason="strace is not installed")


class Lane(TerminalLane):
    """A lane with an event log of its own (in sigscope, a lane writes into its lab's)."""

    def __init__(self, settings: TerminalSettings | None = None) -> None:
        self.log = EventLog()
        super().__init__(settings, self.log.add_event)


@pytest.fixture
def lane() -> Iterator[Lane]:
    with Lane() as lane:
        lane.wait_output("$ ")
        if lane.strace_problem and HAS_STRACE:
            pytest.skip(lane.strace_problem)
        yield lane


def of(events: list[Event], kind: str, **fields: object) -> list[Event]:
    want = {"kind": kind, **fields}
    return [e for e in events if all(e.get(k) == v for k, v in want.items())]


def wait_exec(lane: Lane, since: int, comm: str, count: int = 1) -> list[int]:
    """Wait until ``count`` processes of the session have exec'd ``comm``; their pids."""
    assert lane.log is not None
    found = lane.log.wait_all(
        count,
        since=since,
        timeout=10,
        match=lambda e: e["kind"] in ("exec", "joined") and e.get("comm") == comm,
    )
    return [e["pid"] for e in found]


# -- typing ----------------------------------------------------------------------------------


def test_keys_decode_control_characters() -> None:
    assert decode_keys(r"sleep 1\n") == "sleep 1\r"
    assert decode_keys("^C^Z^\\^D") == "\x03\x1a\x1c\x04"
    assert decode_keys(r"a\\b\^C") == "a\\b^C"
    assert decode_keys("x ^ y") == "x ^ y"
    spec = parse_type_spec(r"1.5:^C")
    assert (spec.at, spec.keys) == (1.5, "\x03")
    # A colon that does not follow a number is text.
    assert parse_type_spec("echo a:b").keys == "echo a:b"
    for bad in ("", "1:", r"oops\q", "ends with \\", "-1:x"):
        with pytest.raises(KeysError):
            parse_type_spec(bad)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--terminal", "--type", r"1:bad\q"], "unknown escape"),
        (["--type", "x"], "--type needs --terminal"),
        (["--terminal", "--shell", "/nonexistent/shell"], "--shell"),
        (["--terminal", "--send", "1:TERM"], "--send acts on the lab"),
    ],
)
def test_bad_terminal_options_are_one_line_exit_2(argv: list[str], needle: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sigscope", "trace", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert "Traceback" not in out.stderr


# -- the example ---------------------------------------------------------------------


def trace_terminal(*typed: str, duration: int) -> list[str]:
    """The command line of ``sigscope trace --terminal --json`` that types each of ``typed``
    (``SECONDS:TEXT``) and stops after ``duration`` seconds."""
    argv = [sys.executable, "-m", "sigscope", "trace", "--terminal"]
    for keys in typed:
        argv += ["--type", keys]
    return [*argv, "--duration", str(duration), "--json"]


@needs_bash
@needs_strace
def test_trace_example_ctrl_c_kills_the_pipeline() -> None:
    """`trace --terminal --type '0.5:sleep 30 | sleep 31\\n' --type '1.5:^C' --duration 3
    --json` prints what the issue promises."""
    out = subprocess.run(
        trace_terminal(r"0.5:sleep 30 | sleep 31\n", "1.5:^C", duration=3),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    started = of(events, "terminal", action="started")[0]
    shell = started["shell"]
    if not started["strace"]:
        pytest.skip("strace could not run here")
    # A job appears as a copy of the shell that then execs (joined, exec), or, seen a moment
    # later, already as itself (joined).
    sleeps = {
        e["pid"]: e["argv"]
        for e in events
        if e["kind"] in ("joined", "exec") and e.get("comm") == "sleep"
    }
    assert sorted(sleeps.values()) == [["sleep", "30"], ["sleep", "31"]], sleeps
    pids = set(sleeps)
    # Both in one new process group, and that group in the foreground.
    group = next(e for e in events if e["kind"] == "group" and set(e["members"]) == pids)
    pgid = group["pgid"]
    assert pgid != shell
    fg = of(events, "foreground", pgid=pgid)
    assert fg and fg[0]["previous"] == shell
    # SIGINT from the kernel (the tty) to both, both killed by it.
    for pid in pids:
        got = of(events, "received", pid=pid, sig="SIGINT")
        assert got and got[0]["si_code"] == "SI_KERNEL", got
        ended = of(events, "exit", pid=pid)
        assert ended and ended[0]["how"] == "killed by SIGINT" and ended[0]["code"] == -2
    # The shell's group is the foreground again, after the pipeline's end.
    # (After the pipeline's group was: the observer's own events are in order; strace's lines
    # come down another pipe and may be read a little before or after them.)
    back = of(events, "foreground", pgid=shell, previous=pgid)
    assert back and events.index(back[0]) > events.index(fg[0])
    assert of(events, "terminal", action="closed")
    for pid in (*pids, shell):
        assert procfs.read_stat(pid) is None


# -- job control -----------------------------------------------------------------------------


@needs_bash
@needs_strace
def test_ctrl_z_then_bg_then_fg(lane: Lane) -> None:
    log = lane.log
    assert log is not None
    shell = lane.shell_pid
    c = log.cursor()
    lane.type("sleep 30\r")
    (job,) = wait_exec(lane, c, "sleep")
    log.wait_for(kind="foreground", pgid=job, since=c, timeout=10)

    c = log.cursor()
    lane.type("\x1a")  # Ctrl+Z
    got = log.wait_for(kind="received", pid=job, sig="SIGTSTP", since=c, timeout=10)
    assert got["si_code"] == "SI_KERNEL"
    log.wait_for(kind="stopped", pid=job, sig="SIGTSTP", since=c, timeout=10)
    log.wait_for(kind="state", pid=job, state="T", since=c, timeout=10)
    log.wait_for(kind="foreground", pgid=shell, since=c, timeout=10)
    # The shell learns of the stop from SIGCHLD (CLD_STOPPED) and waitpid(WUNTRACED).
    log.wait_for(kind="received", pid=shell, sig="SIGCHLD", si_code="CLD_STOPPED", since=c)
    lane.wait_output("Stopped")

    c = log.cursor()
    lane.type("bg\r")
    cont = log.wait_for(kind="received", pid=job, sig="SIGCONT", since=c, timeout=10)
    assert cont["si_code"] == "SI_USER" and cont["sender"] == shell
    log.wait_for(kind="continued", pid=job, since=c, timeout=10)
    assert lane.view() is not None and lane.view().foreground == shell  # type: ignore[union-attr]

    c = log.cursor()
    lane.type("fg\r")
    log.wait_for(kind="foreground", pgid=job, since=c, timeout=10)
    c = log.cursor()
    lane.type("\x03")
    log.wait_for(kind="exit", pid=job, sig="SIGINT", since=c, timeout=10)
    log.wait_for(kind="foreground", pgid=shell, since=c, timeout=10)


@needs_bash
@needs_strace
def test_background_cat_is_stopped_by_sigttin(lane: Lane) -> None:
    log = lane.log
    assert log is not None
    c = log.cursor()
    lane.type("cat &\r")
    (cat,) = wait_exec(lane, c, "cat")
    got = log.wait_for(kind="received", pid=cat, sig="SIGTTIN", since=c, timeout=10)
    assert got["si_code"] == "SI_KERNEL"
    log.wait_for(kind="stopped", pid=cat, sig="SIGTTIN", since=c, timeout=10)
    log.wait_for(kind="state", pid=cat, state="T", since=c, timeout=10)
    # It stayed in a background group: the terminal's foreground is the shell's.
    view = lane.view()
    assert view is not None and view.processes[cat].pgid == cat and view.foreground != cat


@needs_bash
@needs_strace
def test_hangup_reaches_the_foreground_job_and_nohup_and_disown_survive_until_sigscope_ends(
    lane: Lane,
) -> None:
    log = lane.log
    assert log is not None
    shell = lane.shell_pid
    keeper = lane.session.keeper.pid  # type: ignore[union-attr]
    c = log.cursor()
    lane.type("nohup sleep 41 >/dev/null 2>&1 &\r")
    (nohup_job,) = wait_exec(lane, c, "sleep")
    lane.wait_output(f"[1] {nohup_job}")
    c = log.cursor()
    lane.type("sleep 42 & disown\r")
    (disowned,) = wait_exec(lane, c, "sleep")
    c = log.cursor()
    lane.type("sleep 40\r")
    (fg_job,) = wait_exec(lane, c, "sleep")
    log.wait_for(kind="foreground", pgid=fg_job, since=c, timeout=10)

    c = log.cursor()
    lane.hangup()
    log.wait_for(kind="terminal", action="hangup", since=c)
    # The controlling process gets SIGHUP from the kernel (then bash resends it to its jobs).
    hup = log.wait_for(kind="received", pid=shell, sig="SIGHUP", since=c, timeout=10)
    assert hup["si_code"] == "SI_KERNEL"
    log.wait_for(kind="exit", pid=fg_job, sig="SIGHUP", since=c, timeout=10)
    log.wait_for(kind="exit", pid=shell, since=c, timeout=10)
    # nohup'ed: SIGHUP ignored; it lives on, adopted by the keeper (a child subreaper).
    log.wait_until(lambda: procfs.read_stat(nohup_job) is not None, timeout=1)
    deadline = time.monotonic() + 10
    while (st := procfs.read_stat(nohup_job)) is not None and st.ppid != keeper:
        assert time.monotonic() < deadline, "the nohup job was not re-parented to the keeper"
        select.select([], [], [], 0.01)
    assert st is not None and st.state in "RS", st
    assert not of(log.events(c), "exit", pid=nohup_job)
    # disown'ed: bash no longer counts it as a job, so sends it no SIGHUP; it lives on too,
    # adopted by the keeper as well, and still in the session the shell led.
    st = procfs.read_stat(disowned)
    assert st is not None and st.state in "RS", st
    assert st.ppid == keeper and st.sid == shell
    assert not of(log.events(c), "received", pid=disowned, sig="SIGHUP")
    # Until sigscope ends the lane: then they go too.
    lane.close()
    assert wait_gone({nohup_job, disowned, fg_job, shell, keeper}) == set()


@needs_bash
def test_send_to_a_process_group(lane: Lane) -> None:
    log = lane.log
    assert log is not None
    c = log.cursor()
    lane.type("sleep 30 | sleep 31 &\r")
    pids = wait_exec(lane, c, "sleep", 2)
    pgid = procfs.read_stat(pids[0]).pgid  # type: ignore[union-attr]
    log.wait_until(lambda: lane.members(pgid) == sorted(pids), timeout=10)
    c = log.cursor()
    lane.send(-pgid, "TERM")
    sent = log.wait_for(kind="sent", since=c)
    assert sent["target"] == -pgid and sent["target_role"] == "group"
    assert sent["members"] == sorted(pids)
    assert wait_gone(set(pids)) == set()
    if HAS_STRACE and not lane.strace_problem:
        for pid in pids:
            log.wait_for(kind="exit", pid=pid, sig="SIGTERM", since=c, timeout=10)
    # Groups outside the lane's session are refused; so is a pid of another session.
    with pytest.raises(TerminalError):
        lane.send(-os.getpgrp(), "TERM")
    with pytest.raises(TerminalError):
        lane.send(os.getpid(), "TERM")


# -- nothing left behind -----------------------------------------------------------------------


@needs_bash
def test_sigkill_of_trace_terminal_leaves_nothing() -> None:
    """SIGKILL sigscope: the keeper sees its control pipe close and ends the whole session,
    the nohup'ed and the disown'ed job and strace included."""
    proc = subprocess.Popen(
        trace_terminal(
            r"0.2:nohup sleep 61 >/dev/null 2>&1 &\n",
            r"0.4:sleep 62 & disown\n",
            r"0.6:sleep 60\n",
            duration=60,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        sleeps: set[int] = set()
        deadline = time.monotonic() + 30
        while len(sleeps) < 3:
            assert time.monotonic() < deadline, "the jobs did not start"
            line = proc.stdout.readline()
            assert line, "trace ended early"
            event = json.loads(line)
            if event["kind"] in ("joined", "exec") and event.get("comm") == "sleep":
                sleeps.add(event["pid"])
        everything = set(procfs.descendants_of(proc.pid))
        assert sleeps <= everything and len(everything) >= 5  # keeper, bash, 3 sleeps, strace
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    # Orphaned, the keeper is re-parented to pytest (a subreaper): reap it as it ends.
    reap_children(everything, timeout=10)
    assert wait_gone(everything, timeout=1) == set()


def test_sigscope_never_signals_itself_through_the_lane(lane: Lane) -> None:
    with pytest.raises(TerminalError):
        lane.send(-1, signal.SIGTERM)


@needs_bash
def test_without_strace_one_line_says_so_and_groups_still_show(bare_path: Path) -> None:
    """No strace on PATH: a ``terminal`` event with action ``strace`` says why there are no
    received/exit events; the session, its groups and the foreground group are still seen."""
    with Lane() as lane:
        log = lane.log
        assert log is not None
        assert lane.strace_problem and "strace is not installed" in lane.strace_problem
        note = log.wait_for(kind="terminal", action="strace")
        assert "strace" in note["text"]
        c = log.cursor()
        lane.type("sleep 30\r")
        (job,) = wait_exec(lane, c, "sleep")
        log.wait_for(kind="foreground", pgid=job, since=c, timeout=10)
        c = log.cursor()
        lane.type("\x1a")  # Ctrl+Z: without strace, /proc's T is the stop
        log.wait_for(kind="state", pid=job, state="T", since=c, timeout=10)
        log.wait_for(kind="stopped", pid=job, via="proc", since=c, timeout=10)
        log.wait_for(kind="foreground", pgid=lane.shell_pid, since=c, timeout=10)
        assert not of(log.events(), "received")


@needs_bash
def test_python3_in_the_lane_is_the_python_sigscope_runs_on(bare_path: Path) -> None:
    """A lesson has the learner type python3: in the lane it is sigscope's own interpreter,
    even when PATH finds a launcher first (pyenv's shim is a bash script, whose helper
    processes would be the learner's jobs too)."""
    shim = bare_path / "python3"
    shim.write_text("#!/bin/sh\necho shim\n")
    shim.chmod(0o755)
    want = os.path.join(os.path.dirname(sys.executable), "python3")
    assert os.path.isfile(want)
    with Lane() as lane:
        lane.wait_output("$ ")
        mark = len(lane.transcript().encode())
        lane.type("command -v python3\r")
        lane.wait_output(want, since=mark, timeout=10)


def test_lane_events_read_as_sentences() -> None:
    """The event list and the chart describe lane events in words, not 'pid N: joined'."""
    from sigscope.observe.sequence import describe

    base = {"t": 0, "pid": 12, "role": "job"}
    assert describe({**base, "kind": "joined", "pgid": 12, "argv": ["sleep", "30"]}) == (
        "job 12 joined the session in group 12: sleep 30"
    )
    got = describe(
        {**base, "kind": "received", "sig": "SIGINT", "si_code": "SI_KERNEL", "via": "strace"}
    )
    assert got == "job 12 was delivered SIGINT (SI_KERNEL: from the kernel)"
    got = describe(
        {**base, "kind": "received", "sig": "SIGCONT", "si_code": "SI_USER", "sender": 9}
        | {"via": "strace"}
    )
    assert got == "job 12 was delivered SIGCONT (SI_USER: kill() by pid 9)"
    assert describe({**base, "kind": "exit", "how": "killed by SIGINT", "code": -2}) == (
        "job 12 ended: killed by SIGINT"
    )
    shell = {"t": 0, "pid": 5, "role": "shell"}
    assert describe({**shell, "kind": "foreground", "pgid": 12, "previous": 5}) == (
        "foreground group is now 12 (was 5)"
    )
    assert describe({**base, "kind": "stopped", "sig": "SIGTSTP"}) == (
        "job 12 stopped by SIGTSTP (state T)"
    )
    sent = {"t": 0, "pid": 1, "role": "controller", "kind": "sent", "sig": "SIGTERM"}
    assert describe({**sent, "target": -12, "target_role": "group", "members": [12, 13]}) == (
        "you sent SIGTERM to process group 12 (12, 13)"
    )
    # Other events keep their own sentences.
    assert (
        describe({**sent, "target": 7, "target_role": "worker"}) == "you sent SIGTERM to worker 7"
    )


@needs_bash
def test_strace_not_permitted_is_one_line_and_the_lane_still_works(bare_path: Path) -> None:
    """An strace that may not trace (Yama, a container without CAP_SYS_PTRACE) says so on its
    stderr and exits: the lane says it in one ``terminal`` event and goes on without it."""
    fake = bare_path / "strace"
    fake.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"
        'echo "strace: attach: ptrace(PTRACE_SEIZE, $last): Operation not permitted" >&2\n'
        "exit 1\n"
    )
    fake.chmod(0o755)
    with Lane() as lane:
        assert lane.strace_problem is not None
        assert "cannot trace" in lane.strace_problem and "not permitted" in lane.strace_problem
        note = lane.log.wait_for(kind="terminal", action="strace")
        assert note["text"] == lane.strace_problem and "\n" not in note["text"]
        c = lane.log.cursor()
        lane.type("sleep 30\r")
        (job,) = wait_exec(lane, c, "sleep")
        lane.log.wait_for(kind="foreground", pgid=job, since=c, timeout=10)


def test_chart_draws_a_tty_signal_from_the_kernel() -> None:
    """A SIGTSTP that strace saw arrive with SI_KERNEL (Ctrl+Z) is drawn from the kernel lane
    as 'from the kernel', not 'no known sender'; one without a known origin still says so."""
    from sigscope.observe.sequence import SequenceModel

    model = SequenceModel()
    job = {"pid": 12, "role": "job", "kind": "received", "via": "strace"}
    model.add({**job, "t": 1_000, "sig": "SIGTSTP", "si_code": "SI_KERNEL"})
    model.add({**job, "t": 2_000_000_000, "sig": "SIGUSR1"})
    labels = [row.label() for row in model.rows if row.kind == "arrow"]
    assert labels == ["SIGTSTP · from the kernel", "SIGUSR1 · no known sender"]


def test_chart_draws_a_kill_by_the_shell_from_the_shells_lane() -> None:
    """bg: the shell's kill(SIGCONT) reaches the job with SI_USER and the shell's pid; the
    chart draws it from the shell's lane, not from the kernel's with 'no known sender'."""
    from sigscope.observe.sequence import SequenceModel

    model = SequenceModel()
    # The shell has a lane once something happened on it (here, the SIGWINCH of a resize).
    model.add({"t": 1, "pid": 5, "role": "shell", "kind": "received", "sig": "SIGWINCH"})
    model.add(
        {"t": 3, "pid": 12, "role": "job", "kind": "received", "sig": "SIGCONT"}
        | {"si_code": "SI_USER", "sender": 5, "via": "strace"}
    )
    arrow = [row for row in model.rows if row.kind == "arrow"][-1]
    assert arrow.sender == model.lane_of(5) and arrow.receiver == model.lane_of(12)
    assert arrow.label() == "SIGCONT"

"""The playground worker (issue 17): the learner's code runs in a live worker's main thread.

Live tests: real labs, real signals; every wait is on an event with a timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sigscope import procfs
from sigscope.lab import Lab, LabError

ROOT = os.geteuid() == 0
YES = ["--yes-run-code-as-root"] if ROOT else []
PAUSE_SYSCALL = {"x86_64": 34}.get(os.uname().machine)  # pause(2)'s number (no wchan here)


def sigscope(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sigscope", *args], capture_output=True, text=True, timeout=timeout
    )


def run(lab: Lab, code: str, end: str = "finished", timeout: float = 10.0) -> dict:
    """Run ``code`` in worker 0 and wait for its snippet to end with ``end``."""
    since = lab.cursor()
    ident = lab.run_code("worker:0", code)
    return lab.wait_for(
        lambda e: e.get("kind") == "snippet" and e.get("id") == ident and e.get("action") == end,
        since=since,
        timeout=timeout,
    )


def test_the_trace_example_from_the_issue() -> None:
    result = sigscope(
        "trace",
        "--json",
        "--workers",
        "1",
        "--duration",
        "1.5",
        "--behaviour",
        "playground",
        "--run",
        "0.3:import signal; signal.signal(signal.SIGUSR1, signal.SIG_IGN)",
        "--send",
        "0.6:USR1@worker:0",
        *YES,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    dispositions = [e for e in events if e["kind"] == "disposition" and e["sig"] == "SIGUSR1"]
    assert [d["disposition"] for d in dispositions] == ["SIG_IGN"]
    sent = [e for e in events if e["kind"] == "sent" and e.get("sig") == "SIGUSR1"]
    assert len(sent) == 1
    assert sent[0]["t"] > dispositions[0]["t"]
    assert not [e for e in events if e["kind"] == "received" and e.get("sig") == "SIGUSR1"]
    # The worker ignored it and lived: no exit of worker 0 before the lab ended.
    worker = dispositions[0]["pid"]
    assert not [e for e in events if e["kind"] == "exit" and e["pid"] == worker]


def test_without_the_ignore_the_same_usr1_kills_the_worker() -> None:
    """The other half of the example: the check above can fail (SIGUSR1's default kills)."""
    result = sigscope(
        "trace", "--json", "--workers", "1", "--duration", "1.5", "--behaviour", "playground",
        "--run", "0.3:import signal", "--send", "0.6:USR1@worker:0", *YES,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    reaped = [e for e in events if e["kind"] == "reaped" and e.get("index") == 0]
    assert reaped and reaped[0]["sig"] == "SIGUSR1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run", "print(1)"], "--run needs --behaviour playground"),
        (["--behaviour", "playground", "--run", ""], "--run wants code"),
        (["--behaviour", "playground", "--run", "1:x@worker:x"], "bad target"),
    ],
)
def test_bad_run_is_one_line_and_status_2(args: list[str], message: str) -> None:
    result = sigscope("trace", *args, *YES)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not ROOT, reason="the root confirmation is asked only of root")
def test_as_root_run_needs_the_confirmation_that_names_the_risk() -> None:
    result = sigscope("trace", "--behaviour", "playground", "--run", "print(1)")
    assert result.returncode == 2
    assert "as root" in result.stderr and "--yes-run-code-as-root" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_handler_installed_from_the_playground_reports() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        run(
            lab,
            "count = 0\n"
            "def on_usr1(sig, frame):\n"
            "    global count\n"
            "    count += 1\n"
            "    report(count=count)\n"
            "signal.signal(signal.SIGUSR1, on_usr1)\n",
        )
        pid = lab.worker(0).pid
        for n in (1, 2):
            since = lab.cursor()
            lab.send("worker:0", "USR1")
            lab.wait_for(kind="received", sig="SIGUSR1", pid=pid, since=since)
            report = lab.wait_for(kind="report", pid=pid, since=since)
            assert report["count"] == n
        # getsignal gives back the learner's own function, not the wrapper that reports.
        end = run(lab, "signal.getsignal(signal.SIGUSR1) is on_usr1")
        assert end["result"] == "True"


def test_output_and_the_last_expression_come_back() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        since = lab.cursor()
        end = run(lab, "print('hello'); print('oops', file=sys.stderr)\n6 * 7")
        assert end["result"] == "42"
        out = [e for e in lab.events(since) if e["kind"] == "snippet" and e["action"] == "output"]
        assert [(e["stream"], e["text"]) for e in out] == [
            ("stdout", "hello\n"),
            ("stderr", "oops\n"),
        ]


def test_output_is_bounded() -> None:
    with Lab(workers=1, behaviour="playground", params={"max_output": 3000}) as lab:
        since = lab.cursor()
        run(lab, "for i in range(1000): print('x' * 50)")
        out = [e for e in lab.events(since) if e["kind"] == "snippet" and e["action"] == "output"]
        assert sum(len(e["text"]) for e in out) == 3000
        assert lab.wait_for(kind="snippet", action="truncated", since=since)["limit"] == 3000


def test_an_exception_is_an_event_not_a_dead_worker() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        pid = lab.worker(0).pid
        end = run(lab, "x = 1\n1 / 0", end="raised")
        assert end["exception"] == "ZeroDivisionError"
        assert 'File "<snippet>", line 2' in end["text"]
        assert "playground.py" not in end["text"]  # the learner's frames only
        # Same process, same namespace: the next snippet runs and sees x.
        assert run(lab, "x + 1")["result"] == "2"
        assert lab.worker(0).pid == pid
        assert not [e for e in lab.events() if e["kind"] == "exit" and e["pid"] == pid]
        end = run(lab, "def broken(:\n  pass", end="raised")
        assert end["exception"] == "SyntaxError"


@pytest.mark.skipif(PAUSE_SYSCALL is None, reason="pause(2)'s syscall number known for x86_64")
def test_pause_in_a_snippet_is_interrupted_by_a_usr1_the_learners_handler_catches() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        pid = lab.worker(0).pid
        run(lab, "signal.signal(signal.SIGUSR1, lambda s, f: report(caught=s))")
        since = lab.cursor()
        ident = lab.run_code("worker:0", "signal.pause()\nprint('pause returned')")
        lab.wait_for(kind="snippet", action="started", id=ident, since=since)
        # Wait until the main thread is asleep in pause(2) (not merely about to call it).
        lab.wait_until(lambda: _asleep_in_pause(pid), timeout=5)
        lab.send("worker:0", "USR1")
        end = lab.wait_for(kind="snippet", action="finished", id=ident, since=since)
        report = lab.wait_for(kind="report", pid=pid, since=since)
        assert report["caught"] == 10  # SIGUSR1
        assert report["t"] < end["t"]
        out = lab.wait_for(kind="snippet", action="output", id=ident, since=since)
        assert out["text"] == "pause returned\n"


def _asleep_in_pause(pid: int) -> bool:
    """The main thread is blocked in pause(2) now: /proc/PID/syscall names the call."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return False
    return bool(fields) and fields[0] == str(PAUSE_SYSCALL)


def test_stop_ends_a_snippet_that_never_returns() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        pid = lab.worker(0).pid
        for code in ("while True: pass", "time.sleep(30)", "signal.pause()"):
            since = lab.cursor()
            ident = lab.run_code("worker:0", code)
            lab.wait_for(kind="snippet", action="started", id=ident, since=since)
            assert lab.stop_code("worker:0") == "stopped"
            end = lab.wait_for(kind="snippet", id=ident, action="stopped", since=since)
            assert end["seconds"] < 10
        assert lab.worker(0).pid == pid  # the same worker: stopping does not replace it
        assert lab.stop_code("worker:0") == "idle"


def test_stop_is_sent_again_when_the_first_one_is_lost() -> None:
    # A Stop that lands just before the snippet's pause()/sleep() system call sets Python's flag
    # but leaves the worker asleep (the pause(2) race). Here the snippet takes the first Stop
    # itself (sigwaitinfo), then pauses: only a second Stop can end it without a replacement.
    code = (
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGRTMAX})\n"
        "report(blocked=1)\n"
        "signal.sigwaitinfo({signal.SIGRTMAX})\n"
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGRTMAX})\n"
        "signal.pause()\n"
    )
    with Lab(workers=1, behaviour="playground") as lab:
        pid = lab.worker(0).pid
        since = lab.cursor()
        ident = lab.run_code("worker:0", code)
        lab.wait_for(kind="report", pid=pid, since=since)
        assert lab.stop_code("worker:0") == "stopped"
        end = lab.wait_for(kind="snippet", id=ident, action="stopped", since=since)
        assert end["seconds"] < 2
        sent = [
            e for e in lab.events(since=since) if e.get("kind") == "sent" and e.get("target") == pid
        ]
        assert len(sent) >= 2
        assert lab.worker(0).pid == pid


def test_stop_replaces_a_worker_whose_snippet_swallows_it() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        old = lab.worker(0).pid
        since = lab.cursor()
        # It says when it is inside its try (a Stop before that would stop it, rightly).
        swallow = (
            "while True:\n"
            "  try:\n"
            "    report(inside=1)\n"
            "    time.sleep(30)\n"
            "  except BaseException:\n"
            "    pass"
        )
        lab.run_code("worker:0", swallow)
        lab.wait_for(kind="report", inside=1, since=since)
        assert lab.stop_code("worker:0", grace=0.5) == "replaced"
        lab.wait_for(kind="reaped", child=old, since=since)
        new = lab.wait_for(kind="ready", behaviour="playground", since=since)
        assert new["pid"] != old
        assert run(lab, "lab.worker_index")["result"] == "0"


def test_the_stop_signal_is_reserved() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        end = run(lab, "signal.signal(signal.SIGRTMAX, signal.SIG_IGN)", end="raised")
        assert end["exception"] == "ValueError" and "reserved" in end["text"]


def test_a_snippet_that_forks_leaves_nothing_behind() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        since = lab.cursor()
        run(
            lab,
            "import subprocess\n"
            "child = os.fork()\n"
            "if child == 0:\n"
            "    os.setsid()\n"  # out of the lab's process group: killpg misses it
            "    time.sleep(60)\n"
            "    os._exit(0)\n"
            "p = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
            "report(forked=child, spawned=p.pid)\n",
        )
        report = lab.wait_for(kind="report", since=since)
        pids = {report["forked"], report["spawned"]}
        forks = {e["child"] for e in lab.events(since) if e["kind"] == "fork"}
        assert pids <= forks  # both are tracked by the controller
        for pid in pids:
            assert procfs.read_stat(pid) is not None
            assert procfs.read_stat(pid).pgid != lab.pgid
    # After close: gone (no_leftovers also checks that nothing is left below the test).
    for pid in pids:
        assert procfs.read_stat(pid) is None


def test_a_child_that_returns_into_the_loop_ends_there() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        since = lab.cursor()
        run(lab, "child = os.fork()\nreport(me=os.getpid(), child=child)")
        pid = lab.worker(0).pid
        reports = lab.wait_all(2, kind="report", since=since)
        child = next(r["me"] for r in reports if r["child"] == 0)
        lab.wait_until(
            lambda: procfs.read_stat(child) is None or procfs.read_stat(child).state == "Z"
        )
        # The worker still runs snippets: the child did not take its socket.
        assert run(lab, "os.getpid()")["result"] == str(pid)


def test_code_only_goes_to_a_playground_worker() -> None:
    with Lab(workers=1, behaviour="idle") as lab:
        with pytest.raises(LabError, match="not a playground worker"):
            lab.run_code("worker:0", "print(1)")
        with pytest.raises(LabError, match="no live playground worker"):
            lab.run_code("worker", "print(1)")
        lab.spawn_worker("playground")
        lab.wait_for(kind="ready", behaviour="playground")
        since = lab.cursor()
        ident = lab.run_code("worker", "lab.worker_index")
        assert (
            lab.wait_for(kind="snippet", action="finished", id=ident, since=since)["result"] == "1"
        )


def test_the_code_directory_is_private_and_removed() -> None:
    lab = Lab(workers=1, behaviour="playground")
    with lab:
        assert lab.code_dir is not None
        assert os.stat(lab.code_dir).st_mode & 0o777 == 0o700
        sock = os.path.join(lab.code_dir, f"{lab.worker(0).pid}.sock")
        assert os.path.exists(sock)
    assert not os.path.exists(lab.code_dir)


RECVFROM_SYSCALL = {"x86_64": 45}.get(os.uname().machine)  # the recv the idle loop sleeps in


def _in_syscall(pid: int, number: int | None) -> bool:
    try:
        with open(f"/proc/{pid}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return False
    return bool(fields) and fields[0] == str(number)


@pytest.mark.skipif(RECVFROM_SYSCALL is None, reason="recvfrom's syscall number known for x86_64")
def test_an_idle_playground_does_not_wake() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        pid = lab.worker(0).pid
        run(lab, "pass")
        # Measure from the moment it sleeps in recv (after its last event it still has a
        # few lines to run, and going to sleep is itself one voluntary switch).
        lab.wait_until(lambda: _in_syscall(pid, RECVFROM_SYSCALL), timeout=5)
        before = _switches(pid)
        try:  # a second of nothing happening, measured by waiting for an event that never comes
            lab.wait_for(kind="no-such-event", since=lab.cursor(), timeout=1.0)
        except LabError:
            pass
        assert _switches(pid) - before == 0


def _switches(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


def test_a_learners_handler_and_its_report_are_drawn_in_the_chart() -> None:
    """The learner's handler runs are `received` (an arrow from the sender, its latency on the
    row) and its report() is a mark on the worker's lane."""
    from sigscope.observe.sequence import SequenceModel, describe

    with Lab(workers=1, behaviour="playground") as lab:
        run(lab, "signal.signal(signal.SIGUSR1, lambda s, f: report(count=1))")
        pid = lab.worker(0).pid
        since = lab.cursor()
        lab.send("worker:0", "USR1")
        lab.wait_for(kind="report", pid=pid, since=since)
        model = SequenceModel()
        for event in lab.events():
            model.add(event)
    arrows = [r for r in model.rows if r.kind == "arrow" and r.sig == "SIGUSR1"]
    assert len(arrows) == 1 and arrows[0].handled == 1  # sent, and the handler ran
    marks = [r for r in model.rows if r.kind == "mark" and r.glyph == "✎"]
    assert len(marks) == 1 and "reports count=1" in marks[0].text
    assert marks[0].receiver == arrows[0].receiver  # on the worker's lane
    assert describe({"kind": "snippet", "role": "worker", "pid": 5, "action": "raised",
                     "id": 2, "exception": "ZeroDivisionError"}).endswith(
        "snippet 2 raised ZeroDivisionError"
    )  # fmt: skip


def test_code_that_closes_the_workers_socket_ends_it_and_a_fresh_one_takes_over() -> None:
    """recv on a closed socket fails at once: the worker must end (and be replaced), not spin
    emitting errors."""
    with Lab(workers=1, behaviour="playground") as lab:
        old = lab.worker(0).pid
        since = lab.cursor()
        lab.run_code(
            "worker:0",
            "import gc, socket\n"
            "for s in [o for o in gc.get_objects() if isinstance(o, socket.socket)]:\n"
            "    s.close()\n",
        )
        lab.wait_for(kind="reaped", child=old, since=since, timeout=10)
        errors = [e for e in lab.events(since) if e["kind"] == "error" and e["pid"] == old]
        assert len(errors) == 1 and "socket was closed" in errors[0]["text"]
        lab.wait_for(kind="ready", behaviour="playground", since=since, timeout=10)
        assert run(lab, "1 + 1")["result"] == "2"


def test_code_is_bounded() -> None:
    with Lab(workers=1, behaviour="playground") as lab:
        with pytest.raises(LabError, match="at most 16384"):
            lab.run_code("worker:0", "x = 1\n" * 3000)
        # The worker checks too (a datagram from anything else that can reach its socket).
        import socket as socket_module

        assert lab.code_dir is not None
        since = lab.cursor()
        big = json.dumps({"id": 99, "code": "#" * 17000}).encode()
        with socket_module.socket(socket_module.AF_UNIX, socket_module.SOCK_DGRAM) as s:
            s.sendto(big, os.path.join(lab.code_dir, f"{lab.worker(0).pid}.sock"))
        refused = lab.wait_for(kind="snippet", action="refused", since=since)
        assert "over 16384 bytes" in refused["why"]
        assert run(lab, "'still here'")["result"] == "'still here'"


def test_alarm_and_setitimer_from_the_playground_are_timer_events() -> None:
    """/proc shows no timers: the Timers panel reads `timer` events, so the learner's alarm()
    and setitimer() report what they did, and a handled expiry says it fired."""
    with Lab(workers=1, behaviour="playground") as lab:
        since = lab.cursor()
        end = run(
            lab,
            "signal.signal(signal.SIGALRM, lambda s, f: None)\n"
            "first = signal.alarm(30)\n"
            "signal.alarm(1)\n",
        )
        assert end["action"] == "finished"
        armed = [e for e in lab.events(since) if e["kind"] == "timer" and e["timer"] == "alarm"]
        assert [e["action"] for e in armed] == ["armed", "armed"]
        assert armed[0]["previous"] == 0 and armed[1]["previous"] == 30
        assert 29 < armed[1]["replaced_left"] <= 30 and 0.5 < armed[1]["value"] <= 1
        fired = lab.wait_for(kind="timer", action="fired", since=since, timeout=10)
        assert fired["timer"] == "alarm"
        run(lab, "signal.setitimer(signal.ITIMER_VIRTUAL, 5, 0.5)\nsignal.alarm(0)")
        timers = [e for e in lab.events(since) if e["kind"] == "timer"][-2:]
        assert (timers[0]["timer"], timers[0]["action"], timers[0]["interval"]) == (
            "ITIMER_VIRTUAL",
            "armed",
            0.5,
        )
        assert (timers[1]["timer"], timers[1]["action"]) == ("alarm", "cancelled")

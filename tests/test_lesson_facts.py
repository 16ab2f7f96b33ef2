"""The experiments behind what the lessons say and the live lab does not show by itself.

Each test runs the experiment (real processes, real signals) in a child Python, so that the
test process's own signal state is never touched, and checks the claim a lesson makes. The
docstring names the lesson.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest


def experiment(code: str, timeout: float = 30) -> dict:
    """Run ``code`` in a fresh Python; it prints one JSON object: the observations."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- 1 kill and default actions ------------------------------------------------------------------


def test_shell_reports_128_plus_n_and_subprocess_minus_n() -> None:
    """Lessons 1, 10: killed by SIGKILL is 137 in a shell, -9 in subprocess, from any sender."""
    direct = subprocess.run(["sh", "-c", "kill -9 $$"], timeout=30)
    assert direct.returncode == -9
    shell = subprocess.run(
        ["sh", "-c", "sh -c 'kill -TERM $$'; echo $?; sh -c 'kill -KILL $$'; echo $?"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shell.stdout.split() == ["143", "137"]


def test_default_action_of_usr1_terminates_an_unprepared_python() -> None:
    """Lesson 1: SIGUSR1's default action is Term; a Python program has SIG_DFL for it."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal,sys; print(signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL, "
            "flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "True"
    child.send_signal(10)
    assert child.wait(timeout=30) == -10
    child.stdin.close()
    child.stdout.close()


# -- 2 handlers -----------------------------------------------------------------------------------


def test_kill_and_stop_cannot_be_caught_or_ignored() -> None:
    """Lesson 2: signal.signal(SIGKILL or SIGSTOP, anything) raises OSError (EINVAL)."""
    seen = experiment(
        """
        import errno, json, signal
        out = {}
        for name in ("SIGKILL", "SIGSTOP"):
            for what in ("handler", "SIG_IGN"):
                how = (lambda s, f: None) if what == "handler" else signal.SIG_IGN
                try:
                    signal.signal(getattr(signal, name), how)
                    out[f"{name} {what}"] = "accepted"
                except OSError as e:
                    out[f"{name} {what}"] = errno.errorcode[e.errno]
        print(json.dumps(out))
        """
    )
    assert set(seen.values()) == {"EINVAL"}, seen


def test_an_ignored_signal_is_discarded_unless_blocked() -> None:
    """Lesson 2: SIG_IGN discards a signal when it is sent; it never waits as pending.
    (Linux keeps a *blocked* ignored signal pending: the handler may change before unblock.)"""
    seen = experiment(
        """
        import json, os, signal
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        os.kill(os.getpid(), signal.SIGUSR1)
        unblocked = sorted(signal.sigpending())
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        os.kill(os.getpid(), signal.SIGUSR1)
        blocked = sorted(signal.sigpending())
        print(json.dumps({"unblocked": unblocked, "blocked": blocked}))
        """
    )
    assert seen == {"unblocked": [], "blocked": [10]}


def test_python_handler_runs_in_the_main_thread() -> None:
    """Lesson 2 (and 15): the C handler sets a flag; Python runs the handler in the main thread,
    even when the signal was sent to another thread."""
    seen = experiment(
        """
        import json, signal, threading, time
        ran_in = []
        signal.signal(signal.SIGUSR1, lambda s, f: ran_in.append(threading.current_thread().name))
        go = threading.Event()
        def target():
            go.wait()
        t = threading.Thread(target=target, name="other")
        t.start()
        signal.pthread_kill(t.ident, signal.SIGUSR1)
        go.set(); t.join()
        for _ in range(1000):
            if ran_in: break
            time.sleep(0.01)
        print(json.dumps({"ran_in": ran_in}))
        """
    )
    assert seen == {"ran_in": ["MainThread"]}


# -- 6 SIGCHLD and the reap loop -----------------------------------------------------------------


def test_one_sigchld_stands_for_many_children() -> None:
    """Lesson 6: three children end while SIGCHLD is pending: the handler runs once, and only a
    waitpid(-1, WNOHANG) loop collects all three."""
    seen = experiment(
        """
        import json, os, signal, time
        handled = []
        signal.signal(signal.SIGCHLD, lambda s, f: handled.append(s))
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
        kids = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            kids.append(pid)
        def state(pid):
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0]
        deadline = time.monotonic() + 20
        while any(state(p) != "Z" for p in kids) and time.monotonic() < deadline:
            time.sleep(0.01)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGCHLD])
        reaped = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                after = "ChildProcessError"
                break
            if pid == 0:
                after = "0"
                break
            reaped.append(pid)
        print(json.dumps({"handled": len(handled), "reaped": sorted(reaped) == sorted(kids),
                          "after": after}))
        """
    )
    assert seen == {"handled": 1, "reaped": True, "after": "ChildProcessError"}


def test_waitpid_wnohang_returns_zero_while_children_run() -> None:
    """Lesson 6: WNOHANG returns (0, 0) when children exist but none has changed state."""
    seen = experiment(
        """
        import json, os, signal
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w); os.read(r, 1); os._exit(0)
        os.close(r)
        first = os.waitpid(-1, os.WNOHANG)
        os.close(w)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"first": list(first), "exited": os.WIFEXITED(status)}))
        """
    )
    assert seen == {"first": [0, 0], "exited": True}


# -- 7 zombies and orphans -----------------------------------------------------------------------


def test_a_zombie_survives_sigkill_and_a_wait_clears_it() -> None:
    """Lesson 7: SIGKILL does nothing to a zombie; the parent's wait removes it."""
    seen = experiment(
        """
        import json, os, signal, time
        def state(pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                return "gone"
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        deadline = time.monotonic() + 20
        while state(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        before = state(pid)
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        after_kill = state(pid)
        os.waitpid(pid, 0)
        print(json.dumps({"before": before, "after_kill": after_kill, "after_wait": state(pid)}))
        """
    )
    assert seen == {"before": "Z", "after_kill": "Z", "after_wait": "gone"}


def test_sigchld_sig_ign_makes_the_kernel_reap() -> None:
    """Lesson 7: with SIGCHLD set to SIG_IGN there are no zombies, and no statuses to wait for."""
    seen = experiment(
        """
        import json, os, signal, time
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        pid = os.fork()
        if pid == 0:
            os._exit(3)
        deadline = time.monotonic() + 20
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.01)
        gone = not os.path.exists(f"/proc/{pid}")
        try:
            os.waitpid(pid, 0)
            result = "status"
        except ChildProcessError:
            result = "ChildProcessError"
        print(json.dumps({"gone": gone, "wait": result}))
        """
    )
    assert seen == {"gone": True, "wait": "ChildProcessError"}


# -- 10 wait statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, expected",
    [
        ("os.kill(os.getpid(), 9)", {"raw": 9, "shift": 0, "exitcode": -9, "signalled": True}),
        ("os.kill(os.getpid(), 15)", {"raw": 15, "shift": 0, "exitcode": -15, "signalled": True}),
        ("os._exit(3)", {"raw": 768, "shift": 3, "exitcode": 3, "signalled": False}),
    ],
)
def test_status_shift_8_is_wrong_for_signalled_children(code: str, expected: dict) -> None:
    """Lesson 10: status >> 8 is 0 for a killed child; waitstatus_to_exitcode says -N."""
    seen = experiment(
        f"""
        import json, os, signal
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            {code}
        _, raw = os.waitpid(pid, 0)
        print(json.dumps({{"raw": raw, "shift": raw >> 8,
                          "exitcode": os.waitstatus_to_exitcode(raw),
                          "signalled": os.WIFSIGNALED(raw)}}))
        """
    )
    assert seen == expected

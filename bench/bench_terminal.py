"""The terminal lane (issue 16): what a real bash on a real pty, watched, costs.

* start → prompt: ``TerminalLane.start()`` (keeper, bash, strace attached before bash runs)
  until bash's prompt is on the pty; and ``close()`` (every process of the session killed and
  reaped);
* a key → its echo on the pty (bash's readline echoing one character);
* Ctrl+C → the ``received`` SIGINT event (strace saw the kernel deliver it) and → the
  ``foreground`` event giving the terminal back to the shell (the /proc observer's scan);
* idle: CPU of sigscope's lane thread (the whole process, which does nothing else here), of
  strace, the keeper and bash over a quiet spell (the observer scans four times a second).

``python -m bench.bench_terminal [--quick]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from typing import Any

from bench.common import machine_line, save, summary
from sigscope import procfs
from sigscope.events import now
from sigscope.sources.eventlog import EventLog
from sigscope.terminal import TerminalLane, TerminalSettings

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    st = procfs.read_stat(pid)
    return 0.0 if st is None else st.cpu_ticks / TICK


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("bash") is None:
        print("bash is not installed: skipped")
        return 0
    procfs.set_child_subreaper()
    rounds, keys, idle = (3, 20, 3.0) if args.quick else (10, 100, 20.0)
    starts, closes = [], []
    for _ in range(rounds):
        log = EventLog()
        t = time.monotonic()
        lane = TerminalLane(TerminalSettings(), log.add_event).start()
        lane.wait_output("$ ")
        starts.append((time.monotonic() - t) * 1000)
        t = time.monotonic()
        lane.close()
        closes.append((time.monotonic() - t) * 1000)
    log = EventLog()
    figures: dict[str, Any] = {}
    with TerminalLane(TerminalSettings(), log.add_event) as lane:
        lane.wait_output("$ ")
        echo = []
        for i in range(keys):
            pos, ch = lane.output_position(), "abcdefghij"[i % 10]
            t = time.monotonic()
            lane.type(ch)
            lane.wait_output(ch, since=pos)
            echo.append((time.monotonic() - t) * 1000)
        lane.type("\x15")  # ^U: the line is empty again
        received, back = [], []
        for _ in range(rounds):
            c = log.cursor()
            lane.type("sleep 30\r")
            job = log.wait_for(
                lambda e: e["kind"] in ("joined", "exec") and e.get("comm") == "sleep",
                since=c,
                timeout=10,
            )["pid"]
            log.wait_for(kind="foreground", pgid=job, since=c, timeout=10)
            c, t = log.cursor(), now()
            lane.type("\x03")
            if lane.strace_pid and not lane.strace_problem:
                got = log.wait_for(kind="received", pid=job, sig="SIGINT", since=c, timeout=10)
                received.append((got["t"] - t) / 1e6)
            got = log.wait_for(kind="foreground", pgid=lane.shell_pid, since=c, timeout=10)
            back.append((got["t"] - t) / 1e6)
        keeper = lane.session.keeper.pid if lane.session else 0
        time.sleep(1.0)  # let the busy scans after the last key run out
        before = (_self_cpu(), _cpu(lane.strace_pid), _cpu(keeper), _cpu(lane.shell_pid))
        time.sleep(idle)
        after = (_self_cpu(), _cpu(lane.strace_pid), _cpu(keeper), _cpu(lane.shell_pid))
        names = ("sigscope", "strace", "keeper", "bash")
        figures["idle_cpu_ms_per_s"] = {
            n: round((a - b) * 1000 / idle, 3) for n, a, b in zip(names, after, before, strict=True)
        }
        figures["strace"] = bool(lane.strace_pid and not lane.strace_problem)
    figures["start_to_prompt_ms"] = summary(starts)
    figures["close_ms"] = summary(closes)
    figures["key_to_echo_ms"] = summary(echo)
    figures["ctrl_c_to_received_ms"] = summary(received)
    figures["ctrl_c_to_foreground_back_ms"] = summary(back)
    print(machine_line())
    print(f"{'figure':<32} {'p50':>9} {'p99':>9}  n")
    for key in (
        "start_to_prompt_ms",
        "close_ms",
        "key_to_echo_ms",
        "ctrl_c_to_received_ms",
        "ctrl_c_to_foreground_back_ms",
    ):
        s = figures[key]
        print(f"{key:<32} {s['p50']:>9.3f} {s['p99']:>9.3f}  {s['n']}")
    print(f"idle CPU, ms a second over {idle:g} s: {figures['idle_cpu_ms_per_s']}")
    save("terminal", figures)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))

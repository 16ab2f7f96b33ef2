"""Idle CPU: the dashboard with nothing to do, beside htop and beside a bare Textual app.

Issue 14's first figure: a dashboard left open on a quiet lab should cost what htop costs.
Three programs run at the same time, each in a window of one private tmux server (``-L``,
120x40), so the machine's load is the same for all three:

* ``sigscope``, the installed command on a fresh lab (the master and 2 idle workers), nothing
  sent;
* ``htop`` at its default delay (1.5 s), showing the same three processes (``-p``);
* :mod:`bench.bare_label`, a Textual app with one label: what any Textual app costs at rest.

After 3 s of settling, each process's utime + stime (every thread, /proc/PID/stat) over 60 s
(10 s with ``--quick``), as a share of one core. The lab's own processes are measured too:
an idle lab wakes zero times a second, so they should be at zero. Skipped, with the reason
printed, when tmux is not installed; htop's column is skipped when htop is not.

``python -m bench.bench_idle [--quick] [--seconds S]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_dashboard import (
    Tmux,
    _cpu_seconds,
    _main_thread_cpu_seconds,
    start_dashboard,
)
from bench.common import machine_line, save, see_gone
from sigscope import procfs
from sigscope.numbers import parse_float

TICK = os.sysconf("SC_CLK_TCK")
WORKERS = 2
SETTLE = 3.0  # seconds after start-up before the first window
FIRST_MINUTE = 50.0  # seconds at most of the first window (it ends inside the first minute)
AGES_IN_MINUTES = 62.0  # seconds after the start: every age is drawn in minutes (60 s + slack)
BARE = Path(__file__).resolve().with_name("bare_label.py")


def threads_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (utime + stime) of each thread of ``pid``: ``main`` (Textual's loop) and
    ``tid N`` (Python does not name its threads for the kernel: the sampler, the lab's reader
    and Textual's input and output threads; ``python -m bench.bench_ui --idle`` names them)."""
    out: dict[str, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                rest = f.read().rsplit(b")", 1)[1]
        except OSError:
            continue  # the thread ended
        fields = rest.split()
        name = "main" if tid == str(pid) else f"tid {tid}"
        out[name] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def _window(pids: dict[str, int], lab: list[int], ui: int, seconds: float) -> dict[str, Any]:
    """Each program's CPU seconds over the next ``seconds`` (and the dashboard's threads')."""
    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    lab_before = [_cpu_seconds(pid) for pid in lab]
    main_before = _main_thread_cpu_seconds(ui)
    threads_before = threads_cpu_seconds(ui)
    time.sleep(seconds)  # the window measured
    threads_after = threads_cpu_seconds(ui)
    after = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    lab_after = [_cpu_seconds(pid) for pid in lab]
    main_after = _main_thread_cpu_seconds(ui)
    out: dict[str, Any] = {"seconds": seconds}
    for name in pids:
        b, a = before[name], after[name]
        if b is None or a is None:
            raise RuntimeError(f"{name} ended while it was being measured")
        used = a - b
        out[name] = {"cpu_seconds": round(used, 3), "cpu_percent": round(100 * used / seconds, 3)}
    if main_before is not None and main_after is not None:
        out["sigscope"]["main_thread_cpu_seconds"] = round(main_after - main_before, 3)
    out["sigscope"]["threads_cpu_seconds"] = {
        name: round(used - threads_before.get(name, 0.0), 3)
        for name, used in sorted(threads_after.items())
    }
    out["lab_cpu_seconds"] = round(
        sum(a - b for a, b in zip(lab_after, lab_before, strict=True) if a is not None and b), 3
    )
    for peer in ("htop", "bare_label"):
        theirs = out.get(peer, {}).get("cpu_seconds")
        if theirs is not None:
            ours = out["sigscope"]["cpu_seconds"]
            out[f"ratio_sigscope_over_{peer}"] = ours / theirs if theirs else None
    return out


def idle_cpu(seconds: float) -> dict[str, Any]:
    """CPU seconds of each program over ``seconds`` of a quiet lab whose processes are all
    over a minute old (the dashboard left open: the figure judged), and before that over the
    lab's first minute (``first_minute``: ``FIRST_MINUTE`` s at most, from ``SETTLE`` s after
    the start), while the tree still draws every age to the second."""
    if shutil.which("tmux") is None:
        return {"skipped": "tmux is not installed"}
    have_htop = shutil.which("htop") is not None
    tmux = Tmux()
    watched: dict[int, int | None] = {}
    home = tempfile.TemporaryDirectory()  # htop reads and writes its htoprc there, not ours
    try:
        ui, master, workers = start_dashboard(tmux, WORKERS, watched, timeout=60)
        started = time.monotonic()  # (the lab's processes are a little older)
        pids = {"sigscope": ui}
        pids["bare_label"] = tmux.new_window("bare_label", f"{sys.executable} {BARE}")
        watched[pids["bare_label"]] = procfs.start_time(pids["bare_label"])
        if have_htop:
            shown = ",".join(str(p) for p in [master, *sorted(workers)])
            pids["htop"] = tmux.new_window(
                "htop", f"htop -p {shown}", env={"HOME": home.name, "XDG_CONFIG_HOME": home.name}
            )
            watched[pids["htop"]] = procfs.start_time(pids["htop"])
        lab = [master, *workers]
        time.sleep(SETTLE)  # past their start-up: only being idle is measured
        first = _window(pids, lab, ui, min(seconds, FIRST_MINUTE))
        # Until every process of the lab is past its first minute (ages drawn in minutes).
        time.sleep(max(0.0, started + AGES_IN_MINUTES - time.monotonic()))
        out = _window(pids, lab, ui, seconds)
        gone = [pid for pid, st in watched.items() if procfs.start_time(pid) != st]
        window = {"sigscope": "dashboard"}
        screens = {
            name: tmux.run("capture-pane", "-p", "-t", f"bench:{window.get(name, name)}")
            for name in pids
        }
    finally:
        tmux.kill_server()
        killed = see_gone(watched, timeout=30)
        home.cleanup()
    out["workers"] = WORKERS
    out["first_minute"] = first
    out["sigscope"]["showed_the_lab"] = f"{WORKERS + 1} shown" in screens["sigscope"]
    out["bare_label"]["showed_its_label"] = "first frame" in screens["bare_label"]
    if have_htop:
        out["htop"]["delay_s"] = 1.5  # htop's default (-d 15)
        out["htop"]["showed_the_lab"] = "sigscope" in screens["htop"]
    else:
        out["htop"] = out["first_minute"]["htop"] = {
            "skipped": "htop is not installed (apt-get install htop)"
        }
    problems = [f"{len(gone)} of the watched processes ended"] if gone else []
    problems += [
        f"{name} did not show what it should"
        for name in pids
        if out[name].get("showed_the_lab", out[name].get("showed_its_label")) is False
    ]
    if problems:
        out["invalid"] = "; ".join(problems)
        out["screens_at_the_end"] = {name: screen[:2000] for name, screen in screens.items()}
    if killed:
        out["had_to_kill"] = killed
    return out


def _print_window(cpu: dict[str, Any]) -> None:
    labels = {
        "sigscope": "sigscope dashboard",
        "htop": "htop (default delay, 1.5 s)",
        "bare_label": "bare Textual app, one label",
    }
    for name, label in labels.items():
        r = cpu[name]
        if "skipped" in r:
            print(f"  {label:34}skipped: {r['skipped']}")
            continue
        print(f"  {label:34}{r['cpu_seconds']:>7.3f} s = {r['cpu_percent']:.2f}% of a core")
        if "main_thread_cpu_seconds" in r:
            print(f"  {'  of which the main thread':34}{r['main_thread_cpu_seconds']:>7.3f} s")
        for thread, used in r.get("threads_cpu_seconds", {}).items():
            if thread != "main":
                print(f"  {'  thread ' + thread:34}{used:>7.3f} s")
    print(f"  {'the lab (master + workers)':34}{cpu['lab_cpu_seconds']:>7.3f} s")
    for peer in ("htop", "bare_label"):
        ratio = cpu.get(f"ratio_sigscope_over_{peer}")
        if ratio is not None:
            print(f"  {'ratio sigscope / ' + peer:34}{ratio:>7.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_idle")
    parser.add_argument("--quick", action="store_true", help="10 s of idling, not 60")
    parser.add_argument(
        "--seconds",
        type=lambda s: parse_float(s, what="the seconds measured", low=1, high=3600),
        default=None,
        help="seconds measured (60; quick: 10)",
    )
    args = parser.parse_args(argv)
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    print(f"machine: {machine_line()}")
    cpu = idle_cpu(seconds)
    if "skipped" in cpu:
        print(f"\nidle CPU: skipped: {cpu['skipped']}")
    else:
        first = cpu["first_minute"]
        print(
            f"\nidle CPU in the lab's first minute ({first['seconds']:g} s from {SETTLE:g} s "
            f"after the start; ages drawn to the second), {WORKERS} idle workers, nothing sent"
        )
        _print_window(first)
        print(
            f"\nidle CPU over {seconds:g} s once every process is past a minute (ages drawn "
            f"in minutes: the figure judged), {WORKERS} idle workers, nothing sent"
        )
        _print_window(cpu)
        if "invalid" in cpu:
            print(f"  INVALID: {cpu['invalid']} (screens saved in the results file)")
    print(f"\n  written to {save('idle', cpu)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

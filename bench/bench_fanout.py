"""Fan-out: TERM to the master of a many-worker tree until every worker is reaped, vs gunicorn.

Both masters get the same plain ``kill(master, SIGTERM)`` (a graceful shutdown: TERM to every
worker, wait for them, reap them, exit) with the time taken just before it, and for both the
figure that is compared is the same: **kill -> the master's exit seen by ``waitpid``** in this
process (the master exits only after reaping its workers). For sigscope, the master's own
``exit`` event (stamped just before it exits) and the number of ``reaped`` events are
reported too; for gunicorn, how many of its workers it left un-reaped (still there, same start
time, after it exited).

Both run with the same number of workers (100; 20 for both if gunicorn cannot start 100 in a
minute on this machine), each tree settled (every worker started, 1 s idle) before the kill.
sigscope's grace period is its default, 5 s; gunicorn's ``--graceful-timeout`` is its default,
30 s, so neither side's figure is cut short by a KILL after a timeout.

``python -m bench.bench_fanout [--quick]``
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_lab import _gunicorn_version, _start_gunicorn, _stop, _wait_children
from bench.common import machine_line, save, see_gone, summary
from sigscope import procfs
from sigscope.events import now
from sigscope.lab import Lab

MS = 1e6  # ns per ms
WORKERS = 100
FALLBACK = 20
START_TIMEOUT = 60.0
GUNICORN_GRACEFUL = 30.0  # gunicorn's default


def sigscope_fanout(workers: int) -> dict[str, Any]:
    with Lab(workers=workers) as lab:
        lab.wait_all(workers, kind="ready", timeout=START_TIMEOUT)
        time.sleep(1.0)
        if lab.master is None:
            raise RuntimeError("the lab has no master")
        since = lab.cursor()
        t0 = now()
        os.kill(lab.master_pid, signal.SIGTERM)
        exit_event = lab.wait_for(kind="exit", role="master", since=since, timeout=60)
        lab.master.wait(60)
        gone = now()
        reaped = sum(
            1 for e in lab.events(since) if e["kind"] == "reaped" and e.get("role") == "master"
        )
    return {
        "kill_to_master_gone_ms": (gone - t0) / MS,
        "kill_to_exit_event_ms": (exit_event["t"] - t0) / MS,
        "reaped_by_master": reaped,
        "exit_code": exit_event.get("code"),
    }


def _start_settled_gunicorn(
    workers: int, sock: Path
) -> tuple[subprocess.Popen[bytes], set[int]] | None:
    """A gunicorn with ``workers`` started, or None (and nothing left) if it takes too long."""
    proc = _start_gunicorn(workers, sock, graceful=GUNICORN_GRACEFUL)
    try:
        kids = _wait_children(proc.pid, workers, timeout=START_TIMEOUT)
    except RuntimeError:
        _stop(proc)
        return None
    return proc, kids


def gunicorn_fanout(proc: subprocess.Popen[bytes], kids: set[int]) -> dict[str, Any]:
    """TERM the settled gunicorn ``proc``; it is gone (and its workers too) on return."""
    time.sleep(1.0)
    started = {pid: procfs.start_time(pid) for pid in kids}
    try:
        t0 = now()
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(120)
        gone = now()
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise RuntimeError("gunicorn did not exit within 120 s of TERM") from None
    left = [pid for pid, st in started.items() if st is not None and procfs.start_time(pid) == st]
    see_gone({pid: started[pid] for pid in left})
    return {
        "kill_to_master_gone_ms": (gone - t0) / MS,
        "workers_left_unreaped": len(left),
        "exit_code": code,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_fanout")
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else 3
    print(f"machine: {machine_line()}")
    workers, note = WORKERS, ""
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sock = Path(tmp) / "g.sock"
        for _ in range(rounds):
            started = _start_settled_gunicorn(workers, sock)
            if started is None and workers == WORKERS:
                workers = FALLBACK
                note = f"gunicorn could not start {WORKERS} workers in {START_TIMEOUT:g} s"
                print(f"  note: {note}; {FALLBACK} workers for both")
                started = _start_settled_gunicorn(workers, sock)
            if started is None:
                raise RuntimeError(f"gunicorn could not start {workers} workers")
            theirs.append(gunicorn_fanout(*started))
            ours.append(sigscope_fanout(workers))
    s_gone = summary([r["kill_to_master_gone_ms"] for r in ours])
    s_exit = summary([r["kill_to_exit_event_ms"] for r in ours])
    g_gone = summary([r["kill_to_master_gone_ms"] for r in theirs])
    figures: dict[str, Any] = {
        "workers": workers,
        "rounds": rounds,
        "note": note,
        "sigscope": {
            "kill_to_master_gone_ms": s_gone,
            "kill_to_exit_event_ms": s_exit,
            "reaped_by_master": [r["reaped_by_master"] for r in ours],
            "runs": ours,
        },
        "gunicorn": {
            "version": _gunicorn_version(),
            "graceful_timeout_s": GUNICORN_GRACEFUL,
            "kill_to_master_gone_ms": g_gone,
            "workers_left_unreaped": [r["workers_left_unreaped"] for r in theirs],
            "runs": theirs,
        },
        "ratio_gunicorn_over_sigscope_p50": g_gone["p50"] / s_gone["p50"],
    }
    print(f"\nTERM to the master of {workers} idle workers -> master exits ({rounds} rounds)")
    print(f"  {'':34}{'p50 ms':>10}{'max ms':>10}  reaped / left")
    s_max = max(r["kill_to_master_gone_ms"] for r in ours)
    g_max = max(r["kill_to_master_gone_ms"] for r in theirs)
    print(
        f"  {'sigscope (master gone)':34}{s_gone['p50']:>10.1f}{s_max:>10.1f}  "
        f"{figures['sigscope']['reaped_by_master']} reaped by the master"
    )
    print(f"  {'sigscope (its exit event)':34}{s_exit['p50']:>10.1f}")
    print(
        f"  {'gunicorn ' + _gunicorn_version() + ' (master gone)':34}{g_gone['p50']:>10.1f}"
        f"{g_max:>10.1f}  {figures['gunicorn']['workers_left_unreaped']} left un-reaped"
    )
    print(f"  {'ratio gunicorn / sigscope':34}{figures['ratio_gunicorn_over_sigscope_p50']:>10.2f}")
    print(f"\n  written to {save('fanout', figures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

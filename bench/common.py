"""What every benchmark shares: machine facts, percentiles, and where results go."""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }


def machine_line() -> str:
    m = machine()
    return f"{m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, Python {m['python']}"


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (0-100), nearest-rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p99": pct(values, 99),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


def save(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), "figures": figures}, indent=2) + "\n")
    return path


def see_gone(started: dict[int, int | None], timeout: float = 10.0) -> list[int]:
    """Wait until every process in ``started`` (pid -> start time, as read while it ran) is
    gone, reaping those re-parented to this process (a Lab makes it a child subreaper); KILL
    by pid, after ``timeout``, any still there. Returns the pids that had to be killed."""
    from sigscope import procfs

    deadline = time.monotonic() + timeout
    pending = {pid for pid, st in started.items() if st is not None}
    killed: list[int] = []
    while pending:
        for pid in list(pending):
            st = procfs.read_stat(pid)
            if st is None or st.starttime != started[pid]:
                pending.discard(pid)
            elif st.state == "Z" and st.ppid == os.getpid():
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
                pending.discard(pid)
            elif time.monotonic() > deadline and pid not in killed:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.01)
    return killed

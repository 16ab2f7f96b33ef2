"""The sampler's cost per scan, side by side with a naive psutil scan of the same pids.

For 10 and 100 idle workers, in the same run and interleaved (so both see the same machine
load), it times:

* ``Sampler.scan()``: the whole job -- finding the tree (lab table, children files, adopted
  orphans), reading /proc/PID/stat and /proc/PID/status of each process, decoding the masks,
  building the immutable snapshot and diffing it for ``state`` events;
* a naive scan of the same pids, as one would write it with psutil: ``Process(pid).as_dict``
  for state, ppid, threads, CPU times and start time, ``os.getpgid``, and ``open()`` of
  /proc/PID/status for the masks psutil does not expose. It is given the pid list: it does
  not have to find the tree, so it does less than the sampler.

Goal (issue 3): under 5 ms per scan at 100 workers, and less than the naive scan.
``python -m bench.bench_observer [--quick]``
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import psutil

from bench.common import machine_line, save, summary
from sigscope.lab import Lab
from sigscope.observe.masks import decode_mask
from sigscope.observe.sampler import Sampler

MS = 1e6  # ns per ms
_FIELDS = ["pid", "ppid", "status", "num_threads", "cpu_times", "create_time", "name"]
_MASK_KEYS = ("SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")


def naive_scan(pids: list[int]) -> list[dict[str, Any]]:
    """What a straightforward observer would do with psutil and open()."""
    out = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            info = proc.as_dict(_FIELDS)
            info["pgid"] = os.getpgid(pid)
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in _MASK_KEYS:
                        info[key] = value.strip() if key == "SigQ" else decode_mask(value.strip())
        except (psutil.NoSuchProcess, ProcessLookupError, FileNotFoundError):
            continue
        out.append(info)
    return out


def measure(workers: int, scans: int) -> dict[str, Any]:
    lab = Lab(workers=workers)
    try:
        lab.start(ready_timeout=60)
        sampler = Sampler(lab)
        pids = sampler.scan().pids
        for _ in range(20):  # warm up both: imports, caches, the mask decoder's memo
            sampler.scan()
            naive_scan(pids)
        ours, theirs = [], []
        for _ in range(scans):
            t0 = time.perf_counter_ns()
            snap = sampler.scan()
            t1 = time.perf_counter_ns()
            naive_scan(pids)
            t2 = time.perf_counter_ns()
            ours.append((t1 - t0) / MS)
            theirs.append((t2 - t1) / MS)
        seen = len(snap.processes)
    finally:
        lab.close()
    return {
        "workers": workers,
        "processes_per_scan": seen,
        "scans": scans,
        "sampler_ms": summary(ours),
        "naive_psutil_ms": summary(theirs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_observer")
    parser.add_argument("--quick", action="store_true", help="fewer scans")
    args = parser.parse_args(argv)
    print(f"machine: {machine_line()}  (psutil {psutil.__version__})")
    rounds = {10: 200, 100: 60} if args.quick else {10: 1000, 100: 300}
    results = [measure(w, n) for w, n in rounds.items()]
    print("\ncost of one scan of the lab tree (stat + status + masks for every process)")
    print(
        f"  {'workers':>8}{'procs':>7}{'':>3}{'sampler p50':>12}{'p99':>9}"
        f"{'psutil p50':>12}{'p99':>9}{'psutil/sampler p50':>20}{'p99':>7}"
    )
    for r in results:
        s, n = r["sampler_ms"], r["naive_psutil_ms"]
        print(
            f"  {r['workers']:>8}{r['processes_per_scan']:>7}{'':>3}"
            f"{s['p50']:>12.3f}{s['p99']:>9.3f}{n['p50']:>12.3f}{n['p99']:>9.3f}"
            f"{n['p50'] / s['p50']:>20.2f}{n['p99'] / s['p99']:>7.2f}"
        )
    big = results[-1]["sampler_ms"]["p50"]
    print(
        f"\n  goal: under 5 ms at 100 workers -> p50 {big:.3f} ms "
        f"({'met' if big < 5 else 'NOT met'}); figures in ms"
    )
    for r in results:
        r["ratio_psutil_over_sampler"] = {
            k: r["naive_psutil_ms"][k] / r["sampler_ms"][k] for k in ("p50", "p99")
        }
    path = save("observer", {"runs": results})
    print(f"  written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every benchmark: ``python -m bench [--quick]``. Each prints its own table and writes
its figures, with the machine they came from, to bench/results/NAME.json; then one summary
table of every headline figure, its peer, the ratio and the goal (bench/results/summary.json).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

from bench import summary


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    started, load_before = time.time(), os.getloadavg()
    failed = []
    took: dict[str, float] = {}
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.monotonic()
        module = importlib.import_module(f"bench.{name}")
        try:
            module.main(["--quick"] if quick else [])
        except Exception as e:  # one broken benchmark must not hide the others' figures
            print(f"{name} failed: {e}", flush=True)
            failed.append(name)
        took[name] = round(time.monotonic() - t0, 1)
        print(f"({name}: {took[name]:g} s)", flush=True)
    rows, when = summary.build(summary.SOURCES, since=started)
    summary.report(
        rows,
        when,
        {
            "quick": quick,
            "seconds": round(time.time() - started, 1),
            "seconds_per_benchmark": took,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "failed": failed,
        },
    )
    print(f"whole run: {time.time() - started:.0f} s")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

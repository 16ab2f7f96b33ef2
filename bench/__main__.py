"""Run every benchmark: ``python -m bench [--quick]``. Each prints its own table and writes
its figures, with the machine they came from, to bench/results/NAME.json."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    failed = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        module = importlib.import_module(f"bench.{name}")
        try:
            module.main(["--quick"] if quick else [])
        except Exception as e:  # one broken benchmark must not hide the others' figures
            print(f"{name} failed: {e}", flush=True)
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

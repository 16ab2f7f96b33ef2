"""Lessons: how long checking a lesson file, one expectation check, and each solution take.

The dashboard's lesson pane calls ``LessonRun.check()`` as events and snapshots arrive, so its
cost per call matters: it reads /proc for every lab process (or takes the observer's snapshot)
and scans the events of the current step's window. ``--check`` cost is what a teacher waits
for; the solution run times are how long "show me" takes for a whole lesson.

Run: ``python -m bench.bench_lessons [--quick]``. Figures are printed and saved, not asserted.
"""

from __future__ import annotations

import argparse
import time

from bench.common import machine_line, save, summary
from sigscope import procfs
from sigscope.course import LessonRun, load_lesson, parse_lesson
from sigscope.course.catalog import lesson_files
from sigscope.observe.sampler import Sampler
from sigscope.paths import bundled_lessons

CHECKER = """
title = "bench"
sources = ["signal(7)"]
[lab]
workers = {workers}
[[steps]]
text = "never true: every check scans the whole window"
sources = ["signal(7)"]
expect = {{ all = [{{ received = "SIGUSR2", worker = 0, times = 100000 }}, {{ state = "Z" }}] }}
solution = [{{ send = "USR2@worker:0" }}]
"""


def bench_parse(rounds: int) -> dict[str, float]:
    files = lesson_files([bundled_lessons()])
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for f in files:
            load_lesson(f)
        times.append((time.perf_counter() - t) * 1000 / len(files))
    return summary(times)


def bench_check(workers: int, storm: int, calls: int) -> dict[str, object]:
    lesson = parse_lesson(CHECKER.format(workers=workers), "bench.toml")
    with lesson.make_lab() as lab:
        lab.wait_for(kind="ready", pid=lab.worker(0).pid, timeout=30)
        run = LessonRun(lesson, lab)
        for _ in range(storm):
            lab.send("worker:0", "USR1")
        window = len(lab.events(run.origin))
        out: dict[str, object] = {"workers": workers, "window_events": window}
        for label, provider in (("proc", None), ("snapshot", "sampler")):
            sampler = Sampler(lab, interval=0.25) if provider else None
            if sampler is not None:
                sampler.start()
                lab.wait_until(lambda s=sampler: s.latest is not None, timeout=30)
                run.snapshot = lambda s=sampler: s.latest
            times = []
            for _ in range(calls):
                t = time.perf_counter()
                run.check()
                times.append((time.perf_counter() - t) * 1000)
            if sampler is not None:
                sampler.stop()
                run.snapshot = None
            out[label] = summary(times)
    return out


def bench_solutions() -> dict[str, float]:
    seconds = {}
    for path in lesson_files([bundled_lessons()]):
        lesson = load_lesson(path)
        t = time.perf_counter()
        with lesson.make_lab() as lab:
            run = LessonRun(lesson, lab)
            for step in lesson.steps:
                if step.checked:
                    run.show_me(timeout=30)
                else:
                    run.next()
        seconds[path.stem] = round(time.perf_counter() - t, 3)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_lessons")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no solution runs")
    args = parser.parse_args(argv)
    procfs.set_child_subreaper()
    print(f"machine: {machine_line()}")
    parse = bench_parse(5 if args.quick else 30)
    print(
        f"\nload + check one bundled lesson file: p50 {parse['p50']:.2f} ms, "
        f"p99 {parse['p99']:.2f} ms"
    )
    cases = [(2, 0), (2, 2000), (20, 0)] if args.quick else [(2, 0), (2, 5000), (20, 0), (64, 0)]
    calls = 50 if args.quick else 300
    checks = [bench_check(w, s, calls) for w, s in cases]
    print("\nLessonRun.check() per call (ms): /proc read by the course vs the observer's snapshot")
    print(f"  {'workers':>8}{'events':>8}{'proc p50':>10}{'p99':>8}{'snap p50':>10}{'p99':>8}")
    for c in checks:
        p, s = c["proc"], c["snapshot"]
        assert isinstance(p, dict) and isinstance(s, dict)
        print(
            f"  {c['workers']:>8}{c['window_events']:>8}{p['p50']:>10.3f}{p['p99']:>8.3f}"
            f"{s['p50']:>10.3f}{s['p99']:>8.3f}"
        )
    figures: dict[str, object] = {"parse_ms_per_file": parse, "check_ms": checks}
    if not args.quick:
        solutions = bench_solutions()
        print(
            "\nwhole solution run per lesson (s): "
            + ", ".join(f"{k.split('-')[0]} {v:.1f}" for k, v in solutions.items())
        )
        figures["solution_seconds"] = solutions
    path = save("lessons", figures)
    print(f"  written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

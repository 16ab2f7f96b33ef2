"""The one table of ``python -m bench``: every figure, its peer, the ratio, and the goal.

Each benchmark writes its own ``bench/results/NAME.json``; this reads them back and lines the
headline figures up against the goals of the issues (2, 3, 4, 8 and 14). A ratio is always
**sigscope ÷ peer** for a cost (time, CPU, wake-ups): under 1 means sigscope does better, and
"at least as good as the peer" (issue 8) means at most 1. Against the raw floor the ratio only
says how far above the least possible sigscope is; the goal there is the absolute figure.

``python -m bench.summary`` rebuilds the table from the results already on disk (each row says
when it was measured); ``python -m bench`` builds it from the run it just did.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import RESULTS, machine, machine_line

# The benchmark module behind each results file.
SOURCES = {
    "lab": "bench_lab",
    "observer": "bench_observer",
    "ui": "bench_ui",
    "dashboard": "bench_dashboard",
    "idle": "bench_idle",
    "fanout": "bench_fanout",
    "classroom": "bench_classroom",
}


@dataclass
class Row:
    figure: str
    sigscope: str
    peer: str = ""
    peer_value: str = ""
    ratio: str = ""
    goal: str = ""
    verdict: str = ""  # "met", "not met", "" (no goal), or why there is no figure
    rank: int = 99  # where issue 8 lists the figure: the table follows the order

    def cells(self) -> list[str]:
        return [
            self.figure,
            self.sigscope,
            self.peer,
            self.peer_value,
            self.ratio,
            self.goal,
            self.verdict,
        ]


def _ms(x: float) -> str:
    return f"{x:.3f} ms" if x < 1 else f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"


def _ratio(ours: float, theirs: float) -> tuple[str, float]:
    if theirs == 0:
        return ("0 / 0" if ours == 0 else "∞"), (1.0 if ours == 0 else math.inf)
    value = ours / theirs
    return f"{value:.2f}", value


def _verdict(ok: bool) -> str:
    return "met" if ok else "not met"


def _at_least_as_good(
    figure: str, ours: float, peer: str, theirs: float, fmt: Any, within: float = 1.0
) -> Row:
    text, value = _ratio(ours, theirs)
    goal = f"ratio ≤ {within:g}"
    return Row(figure, fmt(ours), peer, fmt(theirs), text, goal, _verdict(value <= within))


def lab_rows(f: dict[str, Any]) -> list[Row]:
    c, floor = f["latency"]["to_controller_ms"], f["floor"]["kill_to_pipe_ms"]
    rows = [
        Row(
            "signal sent → received at controller, p50",
            _ms(c["p50"]),
            "raw floor (kill → handler → pipe)",
            _ms(floor["p50"]),
            _ratio(c["p50"], floor["p50"])[0],
        ),
        Row(
            "signal sent → received at controller, p99",
            _ms(c["p99"]),
            "raw floor (kill → handler → pipe)",
            _ms(floor["p99"]),
            _ratio(c["p99"], floor["p99"])[0],
            "p99 < 2 ms",
            _verdict(c["p99"] < 2),
        ),
    ]
    ours, theirs = f["ttin"]["sigscope"]["child_seen_ms"], f["ttin"]["gunicorn"]["child_seen_ms"]
    rows.append(
        _at_least_as_good("TTIN → new worker, p50", ours["p50"], "gunicorn", theirs["p50"], _ms)
    )
    wake = f["idle_wakeups_per_s"]
    mine, peer = max(wake["sigscope"].values()), max(wake["gunicorn"].values())
    rows.append(
        Row(
            "idle wake-ups/s (busiest of master, workers)",
            f"{mine:.1f}/s",
            "gunicorn",
            f"{peer:.1f}/s",
            _ratio(mine, peer)[0],
            "zero",
            _verdict(mine == 0),
        )
    )
    for row, rank in zip(rows, (0, 1, 3, 4), strict=True):
        row.rank = rank
    return rows


def observer_rows(f: dict[str, Any]) -> list[Row]:
    rows = []
    for run in f["runs"]:
        ours, theirs = run["sampler_ms"]["p50"], run["naive_psutil_ms"]["p50"]
        row = _at_least_as_good(
            f"observer scan, {run['workers']} workers, p50", ours, "naive psutil scan", theirs, _ms
        )
        if run["workers"] >= 100:
            row.goal += ", < 5 ms"
            row.verdict = _verdict(ours <= theirs and ours < 5)
        row.rank = 5
        rows.append(row)
    return rows


def ui_rows(f: dict[str, Any]) -> list[Row]:
    g = f["app"] if "app" in f else f["chart"]
    rows = []
    # Issue 14's goals: one frame plus the render in the whole dashboard, 5 ms in the chart.
    for name, run, limit in (("whole dashboard", f.get("app"), 20), ("chart alone", f["chart"], 5)):
        if run is None:
            continue
        # The goals are the quiet singles' (as a user sends them); results from before they
        # were measured have only the rapid ones, judged then.
        drawn = run.get("quiet_sent_to_drawn_ms", run["single_sent_to_drawn_ms"])
        rows.append(
            Row(
                f"signal sent → arrow drawn, p99 ({name})",
                _ms(drawn["p99"]),
                goal=f"p99 ≤ {limit} ms",
                verdict=_verdict(drawn["p99"] <= limit),
                rank=2,
            )
        )
        rows.append(Row(f"signal sent → arrow drawn, p50 ({name})", _ms(drawn["p50"]), rank=2))
        if "quiet_sent_to_drawn_ms" in run:
            rapid = run["single_sent_to_drawn_ms"]
            rows.append(
                Row(
                    f"rapid signals (one every {run.get('rapid_gap_ms', 20):g} ms): "
                    f"sent → arrow drawn p50 / p99 ({name})",
                    f"{_ms(rapid['p50'])} / {_ms(rapid['p99'])}",
                    rank=2,
                )
            )
    storms = sorted((k for k in g if k.startswith("storm")), key=lambda k: int(k[5:]))
    runs = [g[k] for k in storms]
    s1, last = runs[0], runs[-1]
    worst_lag = max(r["frame_lag_ms"]["p99"] for r in runs)
    rows.append(
        Row(
            f"{s1['signals_sent']:,}-signal storm: frame lag p50 (1st) / worst p99",
            f"{_ms(s1['frame_lag_ms']['p50'])} / {_ms(worst_lag)}",
            goal="p99 ≤ 50 ms",
            verdict=_verdict(worst_lag <= 50),
            rank=8,
        )
    )
    counted = min(r["sent_events_counted_by_chart"] / r["signals_sent"] for r in runs)
    rows.append(
        Row(
            f"storm: sends counted by the chart / sent ({len(runs)} storms)",
            ", ".join(
                f"{r['sent_events_counted_by_chart']:,} / {r['signals_sent']:,}" for r in runs[:2]
            )
            + (" …" if len(runs) > 2 else ""),
            goal="all counted",
            verdict=_verdict(counted == 1),
            rank=8,
        )
    )
    growth = last["rss_mb_after"] - s1["rss_mb_after"]
    after = " / ".join(str(r["rss_mb_after"]) for r in runs)
    rows.append(
        Row(
            f"storm: RSS before / after each of {len(runs)} storms",
            f"{g['rss_mb_before']} / {after} MB",
            goal="after the last ≤ after the 1st + 1 MB",
            verdict=_verdict(growth <= 1),
            rank=8,
        )
    )
    keys = [r["key_to_screen_ms"] for r in runs if "key_to_screen_ms" in r]
    if keys:
        worst = max(k["p99"] for k in keys)
        n, missed = sum(k["n"] for k in keys), sum(k["missed"] for k in keys)
        rows.append(
            Row(
                "storm: key press → screen updated, worst p99",
                f"{_ms(worst)} (n={n}, missed {missed})",
                goal="p99 ≤ 100 ms, none missed",
                verdict=_verdict(worst <= 100 and missed == 0),
                rank=8,
            )
        )
    return rows


def idle_rows(f: dict[str, Any]) -> list[Row]:
    settled = "processes over a minute old" if "first_minute" in f else "3 s after start-up"
    figure = (
        f"CPU, idle dashboard ({f.get('workers', 2)} idle workers, {settled}, "
        f"{f.get('seconds', 60):g} s)"
    )
    if "skipped" in f:
        return [Row(figure, "—", "htop", "—", verdict=f"skipped: {f['skipped']}", rank=6)]

    def share_of(seconds: float) -> Callable[[float], str]:
        return lambda x: f"{x:.2f} s CPU ({100 * x / seconds:.2f}%)"

    share = share_of(f["seconds"])
    ours = f["sigscope"]["cpu_seconds"]
    if "skipped" in f["htop"]:
        row = Row(figure, share(ours), "htop", "—", verdict=f"skipped: {f['htop']['skipped']}")
    else:
        row = _at_least_as_good(
            figure, ours, "htop, default delay", f["htop"]["cpu_seconds"], share
        )
    bare = f["bare_label"]["cpu_seconds"]
    rows = [
        row,
        Row(
            f"{figure}: against a bare Textual app",
            share(ours),
            "bare Textual app, one label",
            share(bare),
            _ratio(ours, bare)[0],
        ),
    ]
    first = f.get("first_minute")
    if first is not None and "skipped" not in first.get("htop", {}):
        # Not judged: while a process is young the tree draws its age every second (the
        # judged figure is the dashboard left open, every age drawn in minutes).
        spent, theirs = first["sigscope"]["cpu_seconds"], first["htop"]["cpu_seconds"]
        rows.append(
            Row(
                f"CPU, idle dashboard in the lab's first minute ({first['seconds']:g} s, "
                "ages to the second)",
                share_of(first["seconds"])(spent),
                "htop, default delay",
                share_of(first["seconds"])(theirs),
                _ratio(spent, theirs)[0],
            )
        )
    if "invalid" in f:
        row.verdict = f"invalid: {f['invalid']}"
    for r in rows:
        r.rank = 6
    return rows


def dashboard_rows(f: dict[str, Any]) -> list[Row]:
    up = f["startup"]
    ours, bare = up["sigscope"]["first_frame_ms"]["p50"], up["bare_label"]["first_frame_ms"]["p50"]
    rows = [
        _at_least_as_good(
            "start-up to first frame, p50",
            ours,
            "bare Textual app, one label",
            bare,
            _ms,
            within=1.5,  # issue 14: a dashboard does more than one label; at most half again
        )
    ]
    rows[0].rank = 7
    cpu = f["cpu"]
    figure = f"CPU watching {cpu.get('workers', 100)} workers ({cpu.get('seconds', 30):g} s)"
    if "skipped" in cpu:
        rows.append(Row(figure, "—", "htop", "—", verdict=f"skipped: {cpu['skipped']}", rank=6))
        return rows

    def share(x: float) -> str:
        return f"{x:.2f} s CPU ({100 * x / cpu['seconds']:.1f}%)"

    ours = cpu["sigscope"]["cpu_seconds"]
    peer = f"htop -d {round(cpu['htop_delay_s'] * 10)}"
    if "skipped" in cpu["htop"]:
        row = Row(figure, share(ours), peer, "—", verdict=f"skipped: {cpu['htop']['skipped']}")
    else:
        row = _at_least_as_good(figure, ours, peer, cpu["htop"]["cpu_seconds"], share)
    if "invalid" in cpu:
        row.verdict = f"invalid: {cpu['invalid']}"
    row.rank = 6
    rows.append(row)
    return rows


def fanout_rows(f: dict[str, Any]) -> list[Row]:
    ours = f["sigscope"]["kill_to_master_gone_ms"]["p50"]
    theirs = f["gunicorn"]["kill_to_master_gone_ms"]["p50"]
    row = _at_least_as_good(
        f"fan-out: TERM → {f['workers']} workers reaped, master gone, p50",
        ours,
        "gunicorn",
        theirs,
        _ms,
    )
    reaped = f["sigscope"]["reaped_by_master"]
    row.goal += ", every worker reaped"
    row.verdict = _verdict(row.verdict == "met" and all(n == f["workers"] for n in reaped))
    row.rank = 9
    return [row]


def classroom_rows(f: dict[str, Any]) -> list[Row]:
    """Issue 18: the serve tree with N pages each on a lesson (bench_classroom)."""
    if "skipped" in f:
        return [Row("classroom (serve, N pages)", "—", verdict=f"skipped: {f['skipped']}", rank=10)]
    rows = []
    for run in f["runs"]:
        n, idle, active = run["pages"], run["idle"], run["active"]
        at_30 = n >= 30
        by = idle["cpu_percent_by_role"]
        rows.append(
            Row(
                f"classroom: {n} idle pages, CPU of the serve tree (server / apps / labs)",
                f"{idle['cpu_percent_of_core']:.1f}% of a core ({by['server']:.1f} / "
                f"{by['apps']:.1f} / {by['labs']:.1f}), PSS {idle['pss_mb']:.0f} MB",
                goal="≤ 25 % at 30 pages" if at_30 else "",
                verdict=_verdict(idle["cpu_percent_of_core"] <= 25) if at_30 else "",
                rank=10,
            )
        )
        rows.append(
            Row(
                f"classroom: {n} pages each sending a signal a second, CPU of the serve tree",
                f"{active['cpu_percent_of_core']:.1f}% of a core",
                goal="≤ 100 % at 30 pages" if at_30 else "",
                verdict=_verdict(active["cpu_percent_of_core"] <= 100) if at_30 else "",
                rank=10,
            )
        )
        p95 = run["open_ms"]["p95"]
        rows.append(
            Row(
                f"classroom: page open → lesson shown, p95 ({n} pages)",
                _ms(p95),
                goal="≤ 2 s at 30 pages" if at_30 else "",
                verdict=_verdict(p95 <= 2000) if at_30 else "",
                rank=10,
            )
        )
    return rows


EXTRACT: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "lab": lab_rows,
    "observer": observer_rows,
    "ui": ui_rows,
    "dashboard": dashboard_rows,
    "idle": idle_rows,
    "fanout": fanout_rows,
    "classroom": classroom_rows,
}


def build(names: Iterable[str], since: float = 0.0) -> tuple[list[Row], dict[str, str]]:
    """Rows from each results file in ``names`` written at or after ``since`` (epoch seconds);
    and for each file, when it was measured (or why it has no rows)."""
    rows: list[Row] = []
    when: dict[str, str] = {}
    for name in names:
        path = RESULTS / f"{name}.json"
        if not path.exists() or path.stat().st_mtime < since:
            rows.append(Row(f"({SOURCES[name]})", "—", verdict="not measured in this run"))
            when[name] = "not measured in this run"
            continue
        data = json.loads(path.read_text())
        when[name] = data["machine"]["when"]
        try:
            rows.extend(EXTRACT[name](data["figures"]))
        except (KeyError, TypeError, ZeroDivisionError) as e:
            rows.append(Row(f"({SOURCES[name]})", "—", verdict=f"figures incomplete: {e!r}"))
    return sorted(rows, key=lambda r: r.rank), when


def table(rows: list[Row]) -> str:
    """A Markdown table: printable in a terminal and pasteable into docs/performance.md."""
    head = ["figure", "sigscope", "peer", "peer's", "ratio", "goal", "verdict"]
    cells = [head] + [r.cells() for r in rows]
    widths = [max(len(str(c[i])) for c in cells) for i in range(len(head))]

    def line(values: list[str]) -> str:
        return (
            "| " + " | ".join(str(v).ljust(w) for v, w in zip(values, widths, strict=True)) + " |"
        )

    return "\n".join(
        [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(c) for c in cells[1:]]
    )


def write(rows: list[Row], when: dict[str, str], extra: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "summary.json"
    data = {
        "machine": machine(),
        "measured": when,
        **extra,
        "rows": [asdict(r) for r in rows],
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def report(rows: list[Row], when: dict[str, str], extra: dict[str, Any]) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n=== summary ===\nmachine: {machine_line()}; load average now {load}")
    print("ratio = sigscope ÷ peer (a cost: under 1 is better)\n")
    print(table(rows))
    print(f"\nwritten: {write(rows, when, extra)}")


def main(argv: list[str] | None = None) -> int:
    rows, when = build(SOURCES)
    report(rows, when, {"rebuilt_from_files": True})
    for name, w in when.items():
        print(f"  {name}: {w}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

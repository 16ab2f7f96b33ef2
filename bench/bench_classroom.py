"""A classroom on one machine (issue 18): what ``sigscope serve`` costs with 1, 10 and 30 pages.

For each size N, a real ``sigscope serve`` (the installed command's module, ``python -P -m
sigscope serve``, with its own ``XDG_STATE_HOME``) is driven by headless Chromium under
Playwright, as the browser tests drive it (the system ``chromium``; Playwright's own browsers
are never downloaded). Each of the N pages opens lesson 1 from the start page's address
(``?lesson=1&student=benchK``: a student code, so its progress and its status file are
written as in a class), one after the other. The server runs as README's classroom command
does, with ``--warm 2`` (two spare apps; ``--warm 0`` measures without).

* **page open → lesson shown**: from ``page.goto`` to the first websocket frame that carries
  the lesson's title (the page's app has started, loaded the lesson and drawn it). p50 / p95
  over the N pages, each opened while the earlier ones stay open.
* **CPU and memory of the serve tree, idle**: once every page shows its lesson and 3 s have
  passed, utime + stime (``/proc/PID/stat``) of every process of the tree (the server, each
  page's app, each lab's master and workers) over a window (20 s; 5 s with ``--quick``), as a
  share of one core; split into the server itself, the apps, and the labs. Memory: the sum of
  RSS, and of PSS (``/proc/PID/smaps_rollup``: shared pages divided among their sharers, so
  that N Pythons are not counted N times).
* **the same, active**: every page sends a signal a second (the key ``u``: SIGUSR1 to the
  selected process, the master, whose handler reports its status), over the same window.
  The keys are typed through Playwright, so the pages' own work (xterm.js, websocket) is the
  browser's and not counted; the server relays them, each app draws the event.

Chromium itself is not part of the figures (it is the students' machines in a class). Goals
(issue 18): 30 idle pages ≤ 25 % of one core, 30 active ≤ one core, page open p95 ≤ 2 s with
30 pages open. Everything started here is gone when it ends (checked).

``python -m bench.bench_classroom [--quick] [--pages 1,10,30] [--seconds S] [--warm N]
[--idle-only] [--no-save]``: ``--idle-only`` skips the active window (a change to the idle
cost, measured in half the time; nothing is written); ``--no-save`` prints the figures and
leaves bench/results alone (for a before/after comparison, e.g. with ``PYTHONPATH`` set to an
older tree for the before).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from bench.common import machine_line, pct, save, see_gone
from sigscope import procfs

TICK = os.sysconf("SC_CLK_TCK")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Thirty pages in one headless browser: none of them may be throttled as "in the
    # background", or their keys and frames would be late for reasons of the browser's own.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
OPEN_TIMEOUT = 120.0  # seconds for one page to show its lesson on a loaded machine
SETTLE = 3.0  # seconds after the last page showed its lesson, before the idle window
LESSON = "1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``sigscope serve`` for N pages, and the lines it writes."""

    def __init__(self, pages: int, state: str, warm: int) -> None:
        self.port = _free_port()
        cap = max(pages, 4)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-P",
                "-m",
                "sigscope",
                "serve",
                "--port",
                str(self.port),
                "--max-connections",
                str(cap),
                "--max-per-client",  # every page comes from 127.0.0.1 here
                str(cap),
                "--max-processes",
                str(max(256, cap * 10)),
                "--warm",
                str(warm),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env={**os.environ, "XDG_STATE_HOME": state},
        )
        self.lines: list[str] = []
        self._got = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()
        line = self.wait_line("sigscope serve: serving ", 60)
        found = re.search(r"token=([A-Za-z0-9_-]{40,}) ", line)
        if found is None:
            raise RuntimeError(f"no address in {line!r}")
        self.token = found.group(1)

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._got:
                self.lines.append(line.rstrip("\n"))
                self._got.notify_all()

    def wait_line(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._got:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise RuntimeError(f"no line with {text!r}; the server said: {self.lines}")
                self._got.wait(min(left, 0.5))

    def url(self, k: int) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}&lesson={LESSON}&student=bench{k}"

    def tree(self) -> dict[int, int | None]:
        """Every process of the serve tree: pid -> start time."""
        pids = [self.process.pid, *procfs.descendants_of(self.process.pid)]
        return {p: procfs.start_time(p) for p in pids}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _roles(server: int) -> dict[int, str]:
    """Each process of the tree: ``server``, ``apps`` (its children) or ``labs`` (below)."""
    roles = {server: "server"}
    for app in procfs.children_of(server):
        roles[app] = "apps"
        for p in procfs.descendants_of(app):
            roles[p] = "labs"
    return roles


def _ticks(pids: dict[int, str]) -> dict[int, tuple[int, int]]:
    """pid -> (start time, utime + stime)."""
    out = {}
    for pid in pids:
        st = procfs.read_stat(pid)
        if st is not None:
            out[pid] = (st.starttime, st.cpu_ticks)
    return out


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of ``pid`` in KiB (0 when gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def measure(server: Server, seconds: float, during: Any = None) -> dict[str, Any]:
    """CPU of the serve tree over ``seconds`` (calling ``during()`` about once a second, if
    given), as % of one core, per role; and its memory at the end."""
    roles = _roles(server.process.pid)
    before = _ticks(roles)
    t0 = time.monotonic()
    sent = 0
    while time.monotonic() - t0 < seconds:
        if during is not None:
            tick = time.monotonic()
            sent += during()
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        else:
            time.sleep(min(1.0, seconds - (time.monotonic() - t0)))
    wall = time.monotonic() - t0
    after = _ticks(roles)
    cpu = {"server": 0.0, "apps": 0.0, "labs": 0.0}
    for pid, (start, ticks) in after.items():
        if pid in before and before[pid][0] == start:
            cpu[roles[pid]] += (ticks - before[pid][1]) / TICK
    percent = {k: round(100 * v / wall, 1) for k, v in cpu.items()}
    rss = pss = 0
    for pid in roles:
        r, p = _memory_kib(pid)
        rss, pss = rss + r, pss + p
    return {
        "seconds": round(wall, 1),
        "cpu_percent_of_core": round(sum(percent.values()), 1),
        "cpu_percent_by_role": percent,
        "processes": len(after),
        "rss_mb": round(rss / 1024, 1),
        "pss_mb": round(pss / 1024, 1),
        "signals_sent": sent,
    }


def run_size(
    browser: Any, pages: int, seconds: float, title: bytes, warm: int, active: bool = True
) -> dict[str, Any]:
    state = tempfile.mkdtemp(prefix="sigscope-bench-classroom-")
    server = Server(pages, state, warm)
    started: dict[int, int | None] = {}
    opened: list[Any] = []
    try:
        open_ms: list[float] = []
        for k in range(pages):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            frames: list[bytes] = []
            page.on(
                "websocket",
                lambda ws, frames=frames: ws.on(
                    "framereceived",
                    lambda p: frames.append(p if isinstance(p, bytes) else p.encode()),
                ),
            )
            t0 = time.monotonic()
            page.goto(server.url(k))
            while not any(title in f for f in frames):
                if time.monotonic() - t0 > OPEN_TIMEOUT:
                    raise RuntimeError(f"page {k + 1} did not show the lesson in {OPEN_TIMEOUT} s")
                page.wait_for_timeout(10)
            open_ms.append((time.monotonic() - t0) * 1000)
            opened.append(page)
            frames.clear()
            print(f"  page {k + 1}/{pages} shows the lesson: {open_ms[-1]:.0f} ms", flush=True)
        time.sleep(SETTLE)  # (and the spares that replaced the last ones taken are ready)
        started = server.tree()
        idle = measure(server, seconds)
        for page in opened:
            page.focus(".xterm-helper-textarea")

        def one_signal_each() -> int:
            for page in opened:
                page.keyboard.press("u")
            return len(opened)

        busy = measure(server, seconds, one_signal_each) if active else None
        started.update(server.tree())
    finally:
        for page in opened:
            page.close()
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
    killed = see_gone(started, timeout=20)
    return {
        "pages": pages,
        "open_ms": {
            "n": len(open_ms),
            "p50": round(pct(open_ms, 50), 1),
            "p95": round(pct(open_ms, 95), 1),
            "max": round(max(open_ms), 1),
        },
        "idle": idle,
        "active": busy,
        "left_behind": killed,
    }


def _table(runs: list[dict[str, Any]]) -> str:
    head = (
        f"{'pages':>5}  {'open p50':>9}  {'open p95':>9}  {'idle CPU':>9}  {'server':>7}  "
        f"{'apps':>6}  {'labs':>6}  {'active CPU':>10}  {'PSS idle':>9}  {'RSS idle':>9}"
    )
    lines = [head]
    for r in runs:
        i, a = r["idle"], r["active"]
        by = i["cpu_percent_by_role"]
        busy = f"{a['cpu_percent_of_core']:>9.1f}%" if a is not None else f"{'-':>10}"
        lines.append(
            f"{r['pages']:>5}  {r['open_ms']['p50']:>7.0f}ms  {r['open_ms']['p95']:>7.0f}ms  "
            f"{i['cpu_percent_of_core']:>8.1f}%  {by['server']:>6.1f}%  {by['apps']:>5.1f}%  "
            f"{by['labs']:>5.1f}%  {busy}  "
            f"{i['pss_mb']:>7.0f}MB  {i['rss_mb']:>7.0f}MB"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_classroom")
    parser.add_argument("--quick", action="store_true", help="1 and 4 pages, 5 s windows")
    parser.add_argument("--pages", help="comma-separated sizes (default 1,10,30)")
    parser.add_argument("--seconds", type=float, help="each window (default 20; quick 5)")
    parser.add_argument(
        "--warm", type=int, default=2, help="serve --warm N: spare apps (default 2, as README)"
    )
    parser.add_argument(
        "--idle-only",
        action="store_true",
        help="skip the window with a signal a second (implies --no-save)",
    )
    parser.add_argument(
        "--no-save", action="store_true", help="print only; leave bench/results untouched"
    )
    args = parser.parse_args(argv)
    sizes = [1, 4] if args.quick else [1, 10, 30]
    if args.pages:
        sizes = [int(x) for x in args.pages.split(",") if x.strip()]
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    print(f"machine: {machine_line()}; load average {os.getloadavg()[0]:.2f}")
    if not os.access(CHROMIUM, os.X_OK):
        print("skipped: no chromium here (Debian: apt-get install chromium)")
        save("classroom", {"skipped": "no chromium"})
        return 0
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped: playwright is not installed (pip install -e '.[test]')")
        save("classroom", {"skipped": "no playwright"})
        return 0
    from sigscope.course.catalog import lessons_dir
    from sigscope.serving.classroom import Catalog

    lesson = Catalog.load(lessons_dir()).find(LESSON)
    title = lesson.title.encode()
    runs = []
    load_before = [round(x, 2) for x in os.getloadavg()]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for n in sizes:
                print(f"{n} page{'s' if n > 1 else ''} on lesson {lesson.id}:", flush=True)
                runs.append(
                    run_size(browser, n, seconds, title, args.warm, active=not args.idle_only)
                )
        finally:
            browser.close()
    print(_table(runs))
    figures = {
        "lesson": lesson.id,
        "window_seconds": seconds,
        "warm": args.warm,
        "quick": args.quick,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
    }
    if args.no_save or args.idle_only:  # (bench.summary reads both windows of a full run)
        print("not written (--no-save or --idle-only)")
    else:
        print(f"written: {save('classroom', figures)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

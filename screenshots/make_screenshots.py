"""Make the README's screenshots from the real app: ``python screenshots/make_screenshots.py``.

Each scene starts a real lab (or a lesson, or a demo), drives the app through ``run_test``
as a user would with the keyboard, waits for what the scene shows, and saves the screen as
SVG. A test runs this script, so a screenshot can never show a UI that no longer exists.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout, installed or not

from sigscope.course.catalog import lessons_dir, resolve_lesson  # noqa: E402
from sigscope.course.progress import ProgressStore  # noqa: E402
from sigscope.terminal import TerminalSettings  # noqa: E402
from sigscope.ui.app import SigscopeApp  # noqa: E402
from sigscope.ui.demo_app import DemoApp  # noqa: E402
from sigscope.ui.lesson_app import LessonApp  # noqa: E402
from sigscope.ui.settings import LabSettings  # noqa: E402

TIMEOUT = 30.0


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the scene did not come about in time")
        await pilot.pause(0.05)


def workers(app: SigscopeApp) -> list[Any]:
    return [r for r in app.process_tree.rows_shown if r.role.strip().startswith("worker")]


async def settle(pilot: Any, seconds: float = 0.6) -> None:
    await pilot.pause(seconds)


Scene = Callable[[Any, Any], Awaitable[None]]


async def dashboard(app: Any, pilot: Any) -> None:
    await until(pilot, lambda: len(workers(app)) >= 3)
    lab = app.lab
    lab.send("worker:0", "USR1")
    lab.send("worker:1", "HUP")
    lab.send("master", "TTIN")
    await until(pilot, lambda: len(workers(app)) >= 4)
    app.process_tree.select_pid(workers(app)[0].pid)
    await settle(pilot)


async def signal_menu(app: Any, pilot: Any) -> None:
    await until(pilot, lambda: len(workers(app)) >= 2)
    app.process_tree.select_pid(workers(app)[1].pid)
    await pilot.press("k")
    await settle(pilot, 0.4)
    for ch in "kill":
        await pilot.press(ch)
    await settle(pilot, 0.4)


async def zombie(app: Any, pilot: Any) -> None:
    await until(pilot, lambda: len(workers(app)) >= 2)
    victim = workers(app)[1].pid
    app.lab.send(victim, "KILL")
    await until(pilot, lambda: any(r.pid == victim and r.state == "Z" for r in workers(app)))
    app.process_tree.select_pid(victim)
    await settle(pilot)


async def timers(app: Any, pilot: Any) -> None:
    await until(pilot, lambda: len(workers(app)) >= 1)
    app.process_tree.select_pid(workers(app)[0].pid)
    await until(pilot, lambda: any(e.get("kind") == "timer" for e in app.lab.events()))
    await settle(pilot, 1.2)


async def storm(app: Any, pilot: Any) -> None:
    await until(pilot, lambda: len(workers(app)) >= 1)
    pid = workers(app)[0].pid
    for _ in range(1000):
        app.lab.send(pid, "USR1")
    await until(pilot, lambda: sum(1 for e in app.lab.events() if e["kind"] == "sent") >= 1000)
    app.process_tree.select_pid(pid)
    await settle(pilot, 1.5)


async def compact(app: Any, pilot: Any) -> None:
    await until(pilot, lambda: len(workers(app)) >= 2)
    app.lab.send("worker:0", "TERM")
    await settle(pilot, 1.0)


async def lesson(app: Any, pilot: Any) -> None:
    await until(pilot, lambda: app.lesson_run is not None)
    await pilot.press("w")  # show me the first step
    await until(pilot, lambda: 0 in app.lesson_run.done, timeout=TIMEOUT)
    await pilot.press("g")  # and a hint for the next one
    await settle(pilot, 1.0)


async def demo(app: Any, pilot: Any) -> None:
    await until(
        pilot, lambda: app.lesson_run is not None and len(app.lesson_run.done) >= 2, timeout=60
    )
    await settle(pilot, 0.5)


async def terminal(app: Any, pilot: Any) -> None:
    from sigscope.ui.widgets.session_tree import SessionTree
    from sigscope.ui.widgets.terminal_panel import TerminalPanel

    await until(pilot, lambda: bool(app.query(TerminalPanel)))
    panel = app.query_one(TerminalPanel)
    await until(pilot, lambda: any(line.startswith("$") for line in panel.text_lines()))
    await pilot.press("f7")
    await pilot.press(*"cat &", "enter")
    await pilot.press(*"sleep 30 | sleep 31", "enter")
    tree = app.query_one(SessionTree)
    await until(pilot, lambda: " T cat" in tree.text() and "▶" in tree.text().split("\n")[0])
    await until(pilot, lambda: "sleep 31" in tree.text().split("\n")[2])
    await pilot.press("ctrl+z")  # the pipeline stops: the shell's group is in front again
    await until(pilot, lambda: tree.text().count(" T sleep") == 2)
    await settle(pilot, 1.0)


def scenes(store_dir: Path) -> list[tuple[str, Callable[[], Any], tuple[int, int], Scene]]:
    folder = lessons_dir()
    store = ProgressStore(store_dir / "progress.json")
    return [
        ("dashboard", lambda: SigscopeApp(LabSettings(workers=3)), (120, 40), dashboard),
        ("signal-menu", lambda: SigscopeApp(LabSettings(workers=2)), (120, 40), signal_menu),
        ("zombie", lambda: SigscopeApp(LabSettings(workers=2, reaping="off")), (120, 40), zombie),
        (
            "timers",
            lambda: SigscopeApp(
                LabSettings(
                    workers=1,
                    behaviour="itimer",
                    params={"which": "real", "value": 3.0, "interval": 3.0},
                )
            ),
            (120, 40),
            timers,
        ),
        ("chart-storm", lambda: SigscopeApp(LabSettings(workers=1)), (120, 40), storm),
        ("compact-80x24", lambda: SigscopeApp(LabSettings(workers=2)), (80, 24), compact),
        (
            "terminal",
            lambda: SigscopeApp(LabSettings(workers=1, terminal=TerminalSettings())),
            (120, 44),
            terminal,
        ),
        (
            "lesson",
            lambda: LessonApp(resolve_lesson("09", folder), folder, store),
            (120, 40),
            lesson,
        ),
        (
            "demo",
            lambda: DemoApp(resolve_lesson("01", folder), folder, speed=8.0),
            (100, 30),
            demo,
        ),
    ]


async def make(out: Path, only: set[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, factory, size, scene in scenes(Path(tmp)):
            if only and name not in only:
                continue
            app = factory()
            async with app.run_test(size=size) as pilot:
                await settle(pilot, 0.3)
                await scene(app, pilot)
                path = Path(app.save_screenshot(f"{name}.svg", str(out)))
                app.stop_lab()
            made.append(path)
            print(f"{path}")
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the SVGs")
    parser.add_argument("scene", nargs="*", help="only these scenes")
    args = parser.parse_args(argv)
    asyncio.run(make(args.out, set(args.scene) or None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

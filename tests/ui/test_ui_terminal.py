"""Pilot tests of the Terminal panel and the session tree on a real lane (real pty, real bash).

Waits are on the lane's events and the panel's screen, never fixed sleeps.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from sigscope.terminal import TerminalLane
from sigscope.ui.widgets.session_tree import FOREGROUND_MARK, SessionTree
from sigscope.ui.widgets.terminal_panel import TerminalPanel, key_bytes
from tests.conftest import wait_gone
from tests.lab.test_terminal_lane import Lane

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


class TerminalApp(App[None]):
    """A tiny host: the panel and the session tree on one lane."""

    def __init__(self, lane: TerminalLane) -> None:
        super().__init__()
        self.lane = lane
        self.quit_asked = 0

    def compose(self) -> ComposeResult:
        yield SessionTree(self.lane, id="session")
        yield TerminalPanel(self.lane, id="terminal")

    def action_help_quit(self) -> None:  # App's ctrl+c binding: must not fire from the panel
        self.quit_asked += 1


@contextlib.asynccontextmanager
async def on_a_lane(prompt: bool = True) -> AsyncIterator[tuple[Lane, TerminalApp, Pilot[None]]]:
    """A TerminalApp (100×36) running on a fresh lane of its own, started once bash has shown
    its prompt (unless ``prompt`` is false)."""
    with Lane() as lane:
        if prompt:
            lane.wait_output("$ ")
        app = TerminalApp(lane)
        async with app.run_test(size=(100, 36)) as pilot:
            yield lane, app, pilot


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.02)


async def event(
    pilot: Pilot[None],
    lane: TerminalLane,
    since: int,
    timeout: float = 10,
    match: Callable[[dict[str, Any]], bool] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The first lane event since ``since`` with ``fields`` (and ``match``), waited for while
    the app keeps running (a blocking wait would freeze the app under test)."""
    assert lane.log is not None

    def found() -> dict[str, Any] | None:
        for e in lane.log.events(since):  # type: ignore[union-attr]
            if all(e.get(k) == v for k, v in fields.items()) and (match is None or match(e)):
                return e
        return None

    await until(pilot, lambda: found() is not None, timeout)
    result = found()
    assert result is not None
    return result


def is_sleep(e: dict[str, Any]) -> bool:
    return e["kind"] in ("joined", "exec") and e.get("comm") == "sleep"


def test_key_bytes() -> None:
    assert key_bytes("ctrl+c", None) == b"\x03"
    assert key_bytes("ctrl+z", None) == b"\x1a"
    assert key_bytes("ctrl+backslash", None) == b"\x1c"
    assert key_bytes("ctrl+d", None) == b"\x04"
    assert key_bytes("enter", "\r") == b"\r"
    assert key_bytes("a", "a") == b"a"
    assert key_bytes("f5", None) is None


async def test_typed_keys_reach_the_pty_and_ctrl_c_does_not_quit() -> None:
    async with on_a_lane(prompt=False) as (lane, app, pilot):
        log = lane.log
        panel = app.query_one(TerminalPanel)
        panel.focus()
        await until(pilot, lambda: any(line.startswith("$") for line in panel.text_lines()))
        c = log.cursor()
        await pilot.press(*"echo hi-there", "enter")
        await until(pilot, lambda: "hi-there" in "\n".join(panel.text_lines()[1:]))
        assert any(line == "hi-there" for line in panel.text_lines())

        # A foreground job, then Ctrl+C in the panel: SIGINT to the job, sigscope lives on.
        c = log.cursor()
        await pilot.press(*"sleep 30", "enter")
        job = (await event(pilot, lane, c, match=is_sleep))["pid"]
        await event(pilot, lane, c, kind="foreground", pgid=job)
        c = log.cursor()
        await pilot.press("ctrl+c")
        await event(pilot, lane, c, kind="foreground", pgid=lane.shell_pid)
        if lane.strace_pid and not lane.strace_problem:
            await event(pilot, lane, c, kind="exit", pid=job, sig="SIGINT")
        assert app.quit_asked == 0
        assert app.is_running and panel.has_focus


async def test_session_tree_shows_groups_and_the_foreground_mark() -> None:
    async with on_a_lane() as (lane, app, pilot):
        log = lane.log
        tree = app.query_one(SessionTree)
        c = log.cursor()
        lane.type("sleep 30 | sleep 31\r")
        await until(pilot, lambda: len({e["pid"] for e in log.events(c) if is_sleep(e)}) >= 2)
        fg = (
            await event(
                pilot, lane, c, kind="foreground", match=lambda e: e["pgid"] != lane.shell_pid
            )
        )["pgid"]

        def shown() -> str:
            return tree.text()

        await until(
            pilot,
            lambda: (
                f"{FOREGROUND_MARK} group {fg}" in shown()
                and "sleep 30" in shown()
                and "sleep 31" in shown()
            ),
        )
        text = shown()
        assert f"  group {lane.shell_pid}" in text  # the shell's group, not marked
        assert "sleep 30" in text and "sleep 31" in text
        assert text.index(f"group {fg}") < text.index("sleep 30")

        # Send SIGTERM to the whole group from the tree: confirmed first.
        tree.focus()
        await pilot.press("up", "up", "up", "up", "up")  # the foreground group comes first
        assert tree.selected == -fg
        c = log.cursor()
        await pilot.press("t")
        await pilot.pause()
        assert not log.events(c)  # nothing sent before the answer
        await pilot.press("y")
        sent = await event(pilot, lane, c, kind="sent")
        assert sent["target"] == -fg and sent["target_role"] == "group"
        await event(pilot, lane, c, kind="foreground", pgid=lane.shell_pid)
        await until(pilot, lambda: f"{FOREGROUND_MARK} group {lane.shell_pid}" in shown())


async def test_f8_hangs_the_terminal_up() -> None:
    async with on_a_lane() as (lane, app, pilot):
        log = lane.log
        panel = app.query_one(TerminalPanel)
        panel.focus()
        c = log.cursor()
        await pilot.press("f8")
        await event(pilot, lane, c, kind="terminal", action="hangup")
        await event(pilot, lane, c, kind="exit", pid=lane.shell_pid)
        await until(pilot, lambda: "hung up" in str(panel.border_subtitle))


async def test_dashboard_with_a_terminal_lane() -> None:
    """``sigscope --terminal``: the lab's dashboard gets the session tree and the Terminal
    panel; keys reach the pty (ctrl+c too, without the app's quit notice), lane events join the
    lab's log, esc goes back to the process tree, and quitting leaves nothing."""
    from sigscope.terminal import TerminalSettings
    from sigscope.ui.app import SigscopeApp
    from sigscope.ui.settings import LabSettings
    from sigscope.ui.widgets.terminal_panel import TerminalLanePane

    app = SigscopeApp(LabSettings(workers=1, terminal=TerminalSettings()))
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: bool(app.query(TerminalLanePane)))
        lab = app.lab
        assert lab is not None and lab.terminal is not None  # type: ignore[attr-defined]
        lane: TerminalLane = lab.terminal  # type: ignore[attr-defined]
        panel = app.query_one(TerminalPanel)
        panel.focus()
        await until(pilot, lambda: any(line.startswith("$") for line in panel.text_lines()))
        c = lab.cursor()
        await pilot.press(*"sleep 30", "enter")
        job = 0
        while not job:
            await pilot.pause(0.02)
            job = next((e["pid"] for e in lab.events(c) if is_sleep(e)), 0)
        await until(pilot, lambda: any(e["kind"] == "foreground" for e in lab.events(c)))
        c = lab.cursor()
        await pilot.press("ctrl+c")
        await until(
            pilot,
            lambda: any(
                e["kind"] == "foreground" and e["pgid"] == lane.shell_pid for e in lab.events(c)
            ),
        )
        assert app.is_running and panel.has_focus
        tree = app.query_one(SessionTree)
        mark = f"{FOREGROUND_MARK} group {lane.shell_pid}"
        await until(pilot, lambda: mark in tree.text())
        await pilot.press("escape")
        assert app.process_tree.has_focus
        pids = {lane.shell_pid, lane.session.keeper.pid}  # type: ignore[union-attr]
        # Restart (R): the old lane ends with the old lab; a fresh one gets fresh widgets.
        await pilot.press("R")
        await until(pilot, lambda: app.lab is not lab and app.lab is not None)
        assert wait_gone(pids) == set()
        new = app.lab.terminal  # type: ignore[union-attr]
        await until(
            pilot,
            lambda: (
                len(app.query(TerminalLanePane)) == 1
                and f"Session {new.shell_pid}" in str(app.query_one(SessionTree).border_title)
            ),
        )
        pids = {new.shell_pid, new.session.keeper.pid}
    assert wait_gone(pids) == set()


async def test_the_panel_says_when_the_shell_has_ended() -> None:
    async with on_a_lane() as (lane, app, pilot):
        panel = app.query_one(TerminalPanel)
        panel.focus()
        c = lane.log.cursor()
        await pilot.press(*"exit", "enter")
        await event(pilot, lane, c, kind="exit", pid=lane.shell_pid)
        await until(pilot, lambda: "the shell has ended" in str(panel.border_subtitle))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_dashboards_pty_starts_at_its_panels_size(size: tuple[int, int]) -> None:
    """``sigscope --terminal``: the pty starts at the size the Terminal panel gets, so its
    first layout sends the shell no SIGWINCH that nobody caused (issue 16)."""
    from sigscope.terminal import TerminalSettings
    from sigscope.ui.app import SigscopeApp
    from sigscope.ui.settings import LabSettings

    app = SigscopeApp(LabSettings(workers=0, terminal=TerminalSettings()))
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: bool(app.query(TerminalPanel)) and app.lab is not None)
        panel = app.query_one(TerminalPanel)
        await until(pilot, lambda: panel.content_size.width > 0)
        lab = app.lab
        assert lab is not None
        started = next(e for e in lab.events(0) if e.get("action") == "started")
        inside = (panel.content_size.height, panel.content_size.width)
        assert (started["rows"], started["cols"]) == inside
        await pilot.press("q")


async def test_k_in_the_session_tree_signals_the_row() -> None:
    """k in the session tree opens the signal menu for the row under the cursor (in a terminal
    lesson the app's own k would signal the lab's hidden master): Enter sends the preselected
    SIGTERM to that process, which ends killed by it."""
    from sigscope.ui.screens.signal_menu import SignalMenu

    async with on_a_lane() as (lane, app, pilot):
        log = lane.log
        tree = app.query_one(SessionTree)
        c = log.cursor()
        lane.type("sleep 30 &\r")
        # The observer scans /proc: a scan after the exec sees the sleep joined, not exec'd.
        pid = (await event(pilot, lane, c, match=is_sleep))["pid"]
        await until(pilot, lambda: pid in [t for t, _ in tree.rows])
        tree.focus()
        while tree.selected != pid:
            before = tree.cursor
            await pilot.press("down")
            assert tree.cursor != before, "the sleep's row is not reachable"
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, SignalMenu))
        menu = app.screen
        assert isinstance(menu, SignalMenu) and menu.target == f"pid {pid}"
        c = log.cursor()
        await pilot.press("enter")
        sent = await event(pilot, lane, c, kind="sent")
        assert sent["target"] == pid and sent["sig"] == "SIGTERM"
        await event(pilot, lane, c, kind="exit", pid=pid, sig="SIGTERM")

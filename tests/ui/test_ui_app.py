"""The dashboard, driven with Pilot against a real lab: every key, button and menu.

Each test starts the real app on a real lab (master + idle workers) and waits on the lab's own
events (``lab.wait_for`` in a thread) or on what the widgets show, with generous deadlines:
the machine is shared and slow, and nothing here asserts a timing.
"""

from __future__ import annotations

import asyncio
import io
import os
from typing import Any

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Footer, Input, Label, OptionList, Static, Tabs
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from sigscope import procfs
from sigscope.lab.controller import Lab
from sigscope.lab.errors import LabError
from sigscope.signames import parse_signal
from sigscope.ui.app import SigscopeApp
from sigscope.ui.commands import COMMANDS
from sigscope.ui.models.tree import ProcessRow
from sigscope.ui.screens.choose import ChoiceDialog
from sigscope.ui.screens.confirm import ConfirmDialog
from sigscope.ui.screens.help import HelpScreen
from sigscope.ui.screens.params import ParamsDialog
from sigscope.ui.screens.signal_menu import SignalMenu, find_signal
from sigscope.ui.screens.too_small import TooSmallScreen
from sigscope.ui.settings import LabSettings
from sigscope.ui.widgets.process_tree import COLUMNS as TREE_COLUMNS
from tests.ui.helpers import laid_out, palette_choice, until

WAIT = 20.0  # seconds: generous, the machine is shared
COLUMNS_TO_LAST = TREE_COLUMNS.index("LAST")


class RecordingApp(SigscopeApp):
    """The real app, recording the notifications it shows (to check the words)."""

    def __init__(self, settings: LabSettings | None = None) -> None:
        super().__init__(settings)
        self.said: list[tuple[str, str]] = []

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.said.append((str(message), str(kwargs.get("severity", "information"))))
        super().notify(message, *args, **kwargs)


async def event(lab: Lab, since: int = 0, **fields: Any) -> dict[str, Any]:
    """Wait (off the event loop) for the lab event with these fields."""
    return await asyncio.to_thread(lab.wait_for, timeout=WAIT, since=since, **fields)


def rows(app: SigscopeApp) -> list[ProcessRow]:
    return app.process_tree.rows_shown


def worker_row(app: SigscopeApp, index: int) -> ProcessRow | None:
    for r in rows(app):
        if r.role == f"worker {index}" and not r.gone:
            return r
    return None


def live_workers(app: SigscopeApp, *indexes: int) -> list[ProcessRow]:
    """The tree's rows of live workers ``indexes`` (each must be there)."""
    found = [worker_row(app, i) for i in indexes]
    assert all(found), found
    return [r for r in found if r is not None]


async def ready(pilot: Pilot[Any], workers: int = 2) -> Lab:
    """Wait until the tree shows the master and its live workers; return the lab."""
    app = pilot.app
    assert isinstance(app, SigscopeApp)
    await until(
        pilot,
        lambda: (
            app.lab is not None
            and len([r for r in rows(app) if r.role.startswith("worker") and r.state == "S"])
            >= workers
        ),
        f"{workers} sleeping workers in the tree",
    )
    assert app.lab is not None
    return app.lab


async def select(pilot: Pilot[Any], pid: int) -> None:
    app = pilot.app
    assert isinstance(app, SigscopeApp)
    await until(pilot, lambda: app.process_tree.select_pid(pid), f"pid {pid} in the tree")
    await pilot.pause()
    assert app.process_tree.selected_pid == pid


async def select_worker(pilot: Pilot[Any], index: int) -> ProcessRow:
    """Select live worker ``index`` in the tree; its row."""
    assert isinstance(pilot.app, SigscopeApp)
    row = worker_row(pilot.app, index)
    assert row is not None, f"no live worker {index}"
    await select(pilot, row.pid)
    return row


def gone(pid: int) -> bool:
    return procfs.read_stat(pid) is None


# -- the tree and the master panel ------------------------------------------------------------


class FirstFrameApp(RecordingApp):
    """The real app, noting in order each drawing of the tree's first line and the lab's start."""

    def __init__(self, settings: LabSettings | None = None) -> None:
        super().__init__(settings)
        self.order: list[str] = []

    def compose(self) -> Any:
        yield from super().compose()
        tree = self.process_tree
        draw = tree.render_line

        def noted(y: int) -> Any:
            strip = draw(y)
            if y == 1:
                self.order.append(f"drawn: {strip.text.strip()}")
            return strip

        tree.render_line = noted  # type: ignore[method-assign]

    def start_lab(self) -> None:
        self.order.append("start_lab")
        super().start_lab()


async def test_the_first_frame_is_drawn_before_the_lab_then_the_lab_fills_it_in() -> None:
    """Issue 14: the screen comes first, saying "starting lab…" in the tree; the lab (half a
    second of start-up on a loaded machine) is started after it, and fills the tree in."""
    app = FirstFrameApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        start = app.order.index("start_lab")
        assert "drawn: starting lab…" in app.order[:start], app.order[: start + 1]
        assert app.order.count("start_lab") == 1
        assert app.process_tree.placeholder == ""
        # Once the lab is up, the first line is the master's row, not the placeholder.
        await until(
            pilot,
            lambda: any(
                str(app.lab.master_pid) in line  # type: ignore[union-attr]
                for line in app.order[start:]
            ),
            "the master's row drawn",
        )
        assert "drawn: starting lab…" not in app.order[start + 1 :]


async def test_a_lab_that_cannot_start_after_the_first_frame_says_so_and_the_app_stays() -> None:
    """A start that fails once the screen is up (here: a terminal lane whose shell does not
    exist) is a banner and one notice; nothing is left running, R may try again."""

    class NoStart(Lab):
        def start(self, ready_timeout: float = 10.0) -> Lab:
            raise LabError("no such shell: /nonexistent/sh")

    class Settings(LabSettings):
        def make_source(self) -> Lab:
            return NoStart(workers=1)

    app = FirstFrameApp(Settings(workers=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "start_lab" in app.order, "the lab's start")
        await until(pilot, lambda: app.process_tree.placeholder.startswith("no lab"), "no lab")
        banner = app.screen_stack[0].query_one("#banner", Static)
        assert "could not start: no such shell" in str(banner.render())
        errors = [text for text, severity in app.said if severity == "error"]
        assert len(errors) == 1 and "no such shell" in errors[0]
        assert app.lab is None and app.is_running


async def test_tree_and_master_panel_show_a_fresh_lab() -> None:
    app = RecordingApp(LabSettings(workers=3))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot, 3)
        shown = rows(app)
        assert shown[0].role == "master" and shown[0].pid == lab.master_pid
        assert [r.role for r in shown[1:]] == ["worker 0", "worker 1", "worker 2"]
        assert all(r.behaviour == "idle" for r in shown[1:])
        # The panel fills in from the master's own status answer (requested at start).
        await until(pilot, lambda: app.master_panel.state.target == 3, "status: target 3")
        state = app.master_panel.state
        assert state.reaping == "handler" and state.phase == "running"
        assert state.live == 3 and state.zombies == 0
        assert app.layout_mode == "full"


async def test_kill_a_worker_from_the_menu_and_see_it_replaced() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        victim = await select_worker(pilot, 1)
        since = lab.cursor()
        await pilot.press("k")
        menu = await until(
            pilot, lambda: isinstance(app.screen, SignalMenu) and app.screen, "the signal menu"
        )
        assert menu.highlighted_signal == parse_signal("TERM")  # preselected
        await pilot.press("k", "i", "l", "l")
        assert menu.highlighted_signal == parse_signal("KILL")
        await pilot.press("enter")
        reaped = await event(lab, since, kind="reaped", child=victim.pid)
        assert reaped["how"] == "signalled" and reaped["sig"] == "SIGKILL"
        # The tree shows the replacement worker 1, and the selection did not jump elsewhere.
        replacement = await until(
            pilot,
            lambda: (r := worker_row(app, 1)) is not None and r.pid != victim.pid and r,
            "a new worker 1",
        )
        assert replacement.pid != victim.pid
        # The log got the reaped event, decoded.
        await until(
            pilot,
            lambda: any(
                e.get("kind") == "reaped" and e.get("child") == victim.pid
                for e in app.event_log.shown_events
            ),
            "the reaped event in the log",
        )
        # The menu remembers the last choice.
        await pilot.press("f9")
        menu = await until(
            pilot, lambda: isinstance(app.screen, SignalMenu) and app.screen, "the menu again"
        )
        assert menu.highlighted_signal == parse_signal("KILL")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SignalMenu), "menu closed")


def test_the_menu_finds_signals_by_what_is_typed() -> None:
    assert find_signal("9") == parse_signal("KILL")
    assert find_signal("kill") == parse_signal("KILL")
    assert find_signal("usr") == parse_signal("USR1")
    assert find_signal("SIGTE") == parse_signal("TERM")
    assert find_signal("rtmin+2") == parse_signal("RTMIN+2")
    assert find_signal("zz") is None


async def test_every_quick_key_sends_its_signal() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        w = await select_worker(pilot, 0)
        # Caught by the idle behaviour: the handler runs and the tree counts it.
        for key, sig in (("u", "SIGUSR1"), ("h", "SIGHUP"), ("a", "SIGALRM")):
            since = lab.cursor()
            await pilot.press(key)
            await event(lab, since, kind="sent", sig=sig, target=w.pid)
            await event(lab, since, kind="received", sig=sig, pid=w.pid)
            await until(
                pilot,
                lambda s=sig: (r := app.process_tree.row_for(w.pid)) and r.last_signal == s,
                f"{sig} as the last signal in the tree",
            )
        row = app.process_tree.row_for(w.pid)
        assert row is not None and row.received == 3
        # The rate sparkline counts the same three handled signals (all within its window).
        await until(
            pilot,
            lambda: (r := app.process_tree.row_for(w.pid)) and sum(r.rate) == 3,
            "3 signals in the rate column",
        )
        # STOP and CONT: the state letter shows it.
        await pilot.press("s")
        await until(
            pilot, lambda: (r := app.process_tree.row_for(w.pid)) and r.state == "T", "state T"
        )
        await pilot.press("c")
        await until(
            pilot, lambda: (r := app.process_tree.row_for(w.pid)) and r.state == "S", "state S"
        )
        # INT, TERM, KILL end a worker; the master replaces each one.
        for key, sig in (("i", "SIGINT"), ("t", "SIGTERM"), ("x", "SIGKILL")):
            target = await select_worker(pilot, 0)
            since = lab.cursor()
            await pilot.press(key)
            reaped = await event(lab, since, kind="reaped", child=target.pid)
            assert reaped["sig"] == sig
            await until(
                pilot,
                lambda old=target.pid: (
                    (r := worker_row(app, 0)) is not None and r.pid != old and r.state == "S"
                ),
                f"worker 0 replaced after {sig}",
            )
        assert not [m for m, sev in app.said if sev == "error"]


async def test_every_button_works() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        w = await select_worker(pilot, 0)
        for sig in ("SIGUSR1", "SIGHUP", "SIGALRM", "SIGSTOP", "SIGCONT"):
            since = lab.cursor()
            assert await pilot.click(f"#btn-{sig}")
            await event(lab, since, kind="sent", sig=sig, target=w.pid)
        assert app.focused is app.process_tree  # buttons leave the keys to the tree
        old = 0
        for sig in ("SIGINT", "SIGTERM", "SIGKILL"):
            # The tree refreshes a few times a second: wait until it shows the replacement.
            target = await until(
                pilot,
                lambda old=old: (
                    (r := worker_row(app, 0)) is not None and r.pid != old and r.state == "S" and r
                ),
                "a sleeping worker 0",
            )
            await select(pilot, target.pid)
            since = lab.cursor()
            assert await pilot.click(f"#btn-{sig}")
            reaped = await event(lab, since, kind="reaped", child=target.pid)
            assert reaped["sig"] == sig
            old = target.pid
        # The menu button opens the menu.
        assert await pilot.click("#btn-menu")
        await until(pilot, lambda: isinstance(app.screen, SignalMenu), "the menu")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SignalMenu), "menu closed")
        # TTIN / TTOU go to the master.
        since = lab.cursor()
        assert await pilot.click("#btn-ttin")
        await event(lab, since, kind="sent", sig="SIGTTIN", target=lab.master_pid)
        await event(lab, since, kind="spawn", index=2)
        await until(pilot, lambda: worker_row(app, 2) is not None, "worker 2 in the tree")
        await until(pilot, lambda: app.master_panel.state.target == 3, "target 3")
        since = lab.cursor()
        assert await pilot.click("#btn-ttou")
        await event(lab, since, kind="reaped", index=2)
        # Reaping mode, through its dialog.
        since = lab.cursor()
        assert await pilot.click("#btn-reaping")
        dialog = await until(
            pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen, "reaping dialog"
        )
        dialog.query_one(OptionList).highlighted = 1  # handler, off, ignore
        await pilot.press("enter")
        await event(lab, since, kind="mode", reaping="off")
        await until(pilot, lambda: app.master_panel.state.reaping == "off", "reaping off shown")
        # A new worker with a chosen behaviour.
        since = lab.cursor()
        assert await pilot.click("#btn-spawn")
        dialog = await until(
            pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen, "behaviour dialog"
        )
        menu = dialog.query_one(OptionList)
        menu.highlighted = menu.get_option_index("pause")
        await pilot.press("enter")
        # Its parameters, as a lesson may ask for them: a mistake is said in the dialog, in
        # one line, and nothing starts; the corrected text starts the worker with it.
        params = await until(
            pilot, lambda: isinstance(app.screen, ParamsDialog) and app.screen, "params dialog"
        )
        box = params.query_one(Input)
        assert box.value == "work=0.0"
        box.value = "work=٣"
        await pilot.press("enter")
        error = params.query_one("#params-error", Label)
        await until(pilot, lambda: "wants a number" in str(error.render()), "the mistake said")
        assert isinstance(app.screen, ParamsDialog)
        box.value = "work=3"
        await pilot.press("enter")
        spawned = await event(lab, since, kind="spawn", behaviour="pause")
        started = await event(lab, since, kind="start", pid=spawned["child"])
        assert started["params"] == {"work": 3.0}
        await until(
            pilot,
            lambda: (r := app.process_tree.row_for(spawned["child"])) and r.behaviour == "pause",
            "the pause worker in the tree",
        )
        # Restart: a fresh master.
        old_master = lab.master_pid
        assert await pilot.click("#btn-restart")
        new_lab = await until(
            pilot, lambda: app.lab is not None and app.lab is not lab and app.lab, "a new lab"
        )
        assert new_lab.master_pid != old_master
        assert gone(old_master)
        await ready(pilot)
        assert all(r.pid != old_master for r in rows(app))


async def test_zombie_shows_and_errors_are_plain_words() -> None:
    app = RecordingApp(LabSettings(reaping="off"))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        w = await select_worker(pilot, 0)
        await pilot.press("x")
        # Nobody reaps: the worker is a zombie, and the tree and the master panel say so.
        await until(
            pilot, lambda: (r := app.process_tree.row_for(w.pid)) and r.state == "Z", "state Z"
        )
        await until(pilot, lambda: app.master_panel.state.zombies == 1, "1 zombie counted")
        # Back to the handler: the master reaps it at once; the row stays a moment, dimmed.
        since = lab.cursor()
        lab.set_reaping("handler")
        await event(lab, since, kind="reaped", child=w.pid)
        await until(
            pilot,
            lambda: (r := app.process_tree.row_for(w.pid)) and r.state == "reaped",
            "reaped row",
        )
        assert app.process_tree.select_pid(w.pid)
        await pilot.press("t")
        await until(
            pilot,
            lambda: any("already been reaped" in m for m, _ in app.said),
            "a plain-words warning",
        )
        # The reaped event's details decode the raw status.
        log = app.event_log
        log.set_filter(w.pid, None)
        await until(
            pilot,
            lambda: log.shown_events and all(w.pid in _pids(e) for e in log.shown_events),
            "the worker's events only",
        )
        index = next(i for i, e in enumerate(log.shown_events) if e.get("kind") == "reaped")
        log.table.move_to(index)
        details = await until(
            pilot,
            lambda: "killed by" in (text := str(log.query_one("#log-details").render())) and text,
            "the reaped event's details",
        )
        assert "killed by SIGKILL" in details
        assert "-9" in details and "137" in details


def _pids(event: dict[str, Any]) -> set[int]:
    return {v for k in ("pid", "child", "target") if isinstance(v := event.get(k), int)}


async def test_tagged_processes_all_get_the_menu_signal() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        w0, w1 = live_workers(app, 0, 1)
        for w in (w0, w1):
            await select(pilot, w.pid)
            await pilot.press("space")
        assert app.process_tree.tagged == {w0.pid, w1.pid}
        since = lab.cursor()
        await pilot.press("k")
        menu = await until(pilot, lambda: isinstance(app.screen, SignalMenu) and app.screen, "menu")
        assert "2 tagged" in menu.target
        await pilot.press("u", "s", "r", "2", "enter")
        for w in (w0, w1):
            await event(lab, since, kind="received", sig="SIGUSR2", pid=w.pid)
        # Untag one: the menu goes to the other only.
        await select(pilot, w0.pid)
        await pilot.press("space")
        assert app.process_tree.tagged == {w1.pid}


async def test_signals_that_end_the_lab_ask_first_then_the_lab_ends_and_restarts() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        master = lab.master_pid
        await select(pilot, master)
        since = lab.cursor()
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "a confirmation")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmDialog), "dialog closed")
        await pilot.pause()
        # A send is recorded as it is made (lab.send), not later: none was.
        assert not [e for e in lab.events(since) if e.get("kind") == "sent"]
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "a confirmation")
        await pilot.press("y")
        await event(lab, since, kind="sent", sig="SIGTERM", target=master)
        await event(lab, since, kind="ended")
        await until(pilot, lambda: app.ended_reason is not None, "the UI to see the end")
        banner = str(app.query_one("#banner").render())
        assert "has ended" in banner and "restart" in banner.lower()
        assert gone(master)
        # Acting on an ended lab says so, in words.
        await pilot.press("x")
        assert any("not running" in m for m, _ in app.said)
        await pilot.press("R")
        await until(pilot, lambda: app.lab is not None and app.lab is not lab, "a new lab")
        await ready(pilot)
        assert "-shown" not in app.query_one("#banner").classes


async def test_help_screen_and_command_palette() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        console = Console(width=120, record=True, file=io.StringIO())
        for static in app.screen.query(Static):
            console.print(static.content)
        text = console.export_text()
        for words in ("k / F9", "SIGKILL", "Restart the lab", "Reaping mode", "zombie"):
            assert words in text
        # The dispositions panel's short headings are explained.
        for short in ("dflt", "cgt", "ign", "blk", "pnd", "ran"):
            assert short in text, short
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        # No near-duplicates: Textual's Quit, Keys and Screenshot are ours, with lab words.
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not {"Quit", "Keys", "Screenshot"} & set(titles), titles
        # Every action is in the palette: a student looking for zombies finds reaping.
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
        await pilot.press(*"zombie")
        await until(pilot, lambda: "Reaping mode" in palette_choice(app), "reaping, found")
        await pilot.press("enter")
        dialog = await until(
            pilot,
            lambda: isinstance(app.screen, ChoiceDialog) and app.screen,
            "the reaping dialog from the palette",
        )
        since = lab.cursor()
        dialog.query_one(OptionList).highlighted = 2
        await pilot.press("enter")
        await event(lab, since, kind="mode", reaping="ignore")


async def test_filter_keys_and_inputs() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        w0, w1 = live_workers(app, 0, 1)
        lab.send(w1.pid, "USR1")
        await select(pilot, w0.pid)
        since = lab.cursor()
        await pilot.press("u")
        await event(lab, since, kind="received", pid=w0.pid)
        await pilot.press("f")
        log = app.event_log
        await until(pilot, lambda: log.pid_filter == w0.pid, "filter on")
        await until(
            pilot,
            lambda: log.shown_events and all(w0.pid in _pids(e) for e in log.shown_events),
            "worker 0's events only",
        )
        await pilot.press("f")
        await until(pilot, lambda: log.pid_filter is None, "filter off")
        # Filter by signal through the input.
        log.query_one("#log-sig", Input).focus()
        await pilot.press(*"usr1")
        await until(pilot, lambda: log.sig_filter == "SIGUSR1", "signal filter")
        shown = await until(
            pilot,
            lambda: (
                log.shown_events
                if log.shown_events and all(e.get("sig") == "SIGUSR1" for e in log.shown_events)
                else None
            ),
            "SIGUSR1 events only",
        )
        assert {w0.pid, w1.pid} <= set().union(*(_pids(e) for e in shown))


async def test_compact_layout_and_too_small_terminal() -> None:
    app = RecordingApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.layout_mode == "compact"
        tabs = app.query_one("#panel-tabs", Tabs)
        assert tabs.display
        assert app.panel("log").display and not app.panel("master").display
        tabs.active = "tab-master"
        await until(pilot, lambda: app.panel("master").display, "the master tab")
        await laid_out(pilot)
        assert app.panel("master").display and not app.panel("log").display
        assert app.panel("master").region.height > 5
        assert app.process_tree.region.height >= 5
        # The keys still work at this size.
        lab = app.lab
        assert lab is not None
        w = await select_worker(pilot, 0)
        since = lab.cursor()
        await pilot.press("u")
        await event(lab, since, kind="received", pid=w.pid, sig="SIGUSR1")
        # Too small: a clear message instead; keys do nothing to the lab then.
        await pilot.resize_terminal(60, 20)
        await until(pilot, lambda: isinstance(app.screen, TooSmallScreen), "too-small screen")
        message = str(app.screen.query_one("#too-small-text").render())
        assert "60×20" in message and "80×24" in message
        since = lab.cursor()
        await pilot.press("x")  # returns once the key is handled
        await pilot.pause()
        assert not [e for e in lab.events(since) if e.get("kind") == "sent"]  # sends record at once
        await pilot.resize_terminal(120, 40)
        await until(pilot, lambda: not isinstance(app.screen, TooSmallScreen), "dashboard back")
        await until(pilot, lambda: app.layout_mode == "full", "full layout")
        assert not app.query_one("#panel-tabs", Tabs).display


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
async def test_quitting_leaves_no_process(key: str) -> None:
    app = RecordingApp(LabSettings(workers=3))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot, 3)
        pids = {r.pid for r in rows(app)}
        assert len(pids) == 4
        await pilot.press(key)
    # Leaving run_test waited for the app to end.
    assert app.lab is None
    assert lab.ended.is_set()
    assert all(gone(pid) for pid in pids)
    assert os.getpid() not in {procfs.read_stat(p).ppid for p in pids if procfs.read_stat(p)}


async def test_orphans_show_under_their_worker_then_adopted() -> None:
    settings = LabSettings(
        workers=1, behaviour="orphan-maker", params={"count": 1, "linger": 30, "stay": 1}
    )
    app = RecordingApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot, 1)
        fork = await event(lab, kind="fork")
        orphan, worker = fork["child"], fork["pid"]
        # First a child of its worker, drawn under it ...
        row = await until(pilot, lambda: app.process_tree.row_for(orphan), "the orphan row")
        assert row.behaviour == f"(of {worker})"
        # ... then, once the worker has exited, adopted by sigscope (the child subreaper).
        await event(lab, kind="reaped", child=worker)
        await until(
            pilot,
            lambda: (r := app.process_tree.row_for(orphan)) and r.role == "adopted",
            "the orphan adopted",
        )


async def test_mouse_selects_a_row_and_the_footer_and_palette_list_the_actions() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        tree = app.process_tree
        w1 = worker_row(app, 1)
        assert w1 is not None
        index = [r.pid for r in rows(app)].index(w1.pid)
        # Row y: the border (1) and the header (1) come first.
        assert await pilot.click("#tree", offset=(10, 2 + index))
        await until(pilot, lambda: tree.selected_pid == w1.pid, "worker 1 selected by a click")
        footer_keys = {
            ab.binding.description for ab in app.screen.active_bindings.values() if ab.binding.show
        }
        for label in ("Signal", "TERM", "KILL", "+TTIN", "-TTOU", "Help", "Quit"):
            assert label in footer_keys
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {c.title for c in COMMANDS} <= titles


def _inside(region: Any, width: int, height: int) -> bool:
    return region.x >= 0 and region.y >= 0 and region.right <= width and region.bottom <= height


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_layout_fits_every_panel_and_button(size: tuple[int, int]) -> None:
    """Geometry, not pixels: what must be on screen is, whole, and nothing overlaps."""
    width, height = size
    app = RecordingApp()
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await laid_out(pilot)
        shown = [app.process_tree] + [
            app.panel(k) for k in ("master", "chart", "log", "dispositions", "timers")
        ]
        visible = [w for w in shown if w.display]
        if size == (120, 40):
            assert app.layout_mode == "full" and len(visible) == 6
        else:
            assert app.layout_mode == "compact" and len(visible) == 2  # tree + the active tab
        for widget in visible:
            region = widget.region
            assert _inside(region, width, height), (widget.id, region)
            assert region.width >= 30 and region.height >= 6, (widget.id, region)
        for i, a in enumerate(visible):
            for b in visible[i + 1 :]:
                assert not a.region.overlaps(b.region), (a.id, b.id)
        # Every quick-action button is on screen with its whole label.
        for button in app.query("#actions Button"):
            label = str(button.label)
            assert _inside(button.region, width, height), (label, button.region)
            assert button.region.width >= len(label), (label, button.region)
        # The tree shows every process, and its columns up to LAST, without scrolling.
        tree = app.process_tree
        assert tree.region.height >= len(rows(app)) + 2
        columns = list(tree.columns.values())
        up_to_last = sum(c.get_render_width(tree) for c in columns[: COLUMNS_TO_LAST + 1])
        assert up_to_last <= tree.content_region.width, (up_to_last, tree.content_region)


def test_bad_dashboard_options_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from sigscope.cli import main
    from sigscope.ui.app import run

    with pytest.raises(SystemExit) as stop:
        main(["--behaviour", "no-such-behaviour"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown behaviour" in err
    # What argparse cannot see (a value the Lab refuses) is one line too, before any process.
    assert run(LabSettings(behaviour="idle", reaping="sometimes")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reaping mode" in err and "Traceback" not in err


async def test_selection_follows_its_process_when_rows_move() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        w0, w1 = live_workers(app, 0, 1)
        await select(pilot, w1.pid)
        before = [r.pid for r in rows(app)].index(w1.pid)
        lab.send(w0.pid, "KILL")  # worker 0's replacement is drawn above worker 1
        await until(
            pilot,
            lambda: (r := worker_row(app, 0)) is not None and r.pid != w0.pid,
            "a new worker 0",
        )
        after = [r.pid for r in rows(app)].index(w1.pid)
        assert after != before  # the row moved ...
        assert app.process_tree.selected_pid == w1.pid  # ... and the selection with it
        # and when the reaped row leaves the tree, the selection still stays.
        await until(pilot, lambda: app.process_tree.row_for(w0.pid) is None, "reaped row gone")
        assert app.process_tree.selected_pid == w1.pid


# -- issue 19: nothing covers what a student must see; the screen never contradicts the lab ----


def visible_toasts(app: SigscopeApp) -> list[Any]:
    """Toasts drawn on the dashboard (a toast over a dialog covers none of the panels)."""
    return [t for t in app.screen_stack[0].query(Toast) if t.display and t.region.area]


@pytest.mark.parametrize("size", [(120, 40), (100, 30), (80, 24)])
async def test_notices_cover_no_panel(size: tuple[int, int]) -> None:
    """A notice (the reaping mode, a refused send, the root warning) takes a row of its own:
    no toast over the master's zombie count or any panel, at every size."""
    width, height = size
    app = RecordingApp(LabSettings(workers=2))
    async with app.run_test(size=size) as pilot:
        lab = await ready(pilot)
        if os.geteuid() == 0:
            # As root the warning is in the header (and on the status line's hint only when the
            # compact layout hides the header), never a toast.
            assert "ROOT" in app.title
            compact = app.screen_stack[0].has_class("-compact")
            assert ("root" in app.status_line.text) == compact
        since = lab.cursor()
        await pilot.press("m")
        dialog = await until(
            pilot, lambda: isinstance(app.screen, ChoiceDialog) and app.screen, "reaping dialog"
        )
        dialog.query_one(OptionList).highlighted = 1  # off
        await pilot.press("enter")
        await event(lab, since, kind="mode", reaping="off")
        await until(pilot, lambda: "Reaping mode: off" in app.status_line.text, "the notice")
        await laid_out(pilot)
        assert not visible_toasts(app)
        status = app.status_line.region
        assert _inside(status, width, height) and status.height == 1
        panels = [app.process_tree] + [app.panel(k) for k in ("master", "chart", "log")]
        for widget in panels:
            if widget.display:
                assert not status.overlaps(widget.region), widget.id
        for button in app.query("#actions Button"):
            assert not status.overlaps(button.region)
        # A zombie forms while the notice is up: the master panel's count is not covered.
        w = worker_row(app, 0)
        assert w is not None
        lab.send(w.pid, "KILL")
        await until(pilot, lambda: app.master_panel.state.zombies == 1, "1 zombie counted")
        assert not visible_toasts(app)
        # Several notices at once stay on the one line, newest first.
        app.notify("first notice")
        app.notify("second notice", severity="warning")
        await until(pilot, lambda: "second notice" in app.status_line.text, "two notices")
        assert app.status_line.text.index("second") < app.status_line.text.index("first")
        assert not visible_toasts(app)


async def test_escape_leaves_a_filter_and_the_focused_panel_is_obvious() -> None:
    app = RecordingApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        tree_border = app.process_tree.styles.border_top
        assert app.process_tree.has_focus and tree_border[0] == "heavy"
        log = app.event_log
        log.query_one("#log-sig", Input).focus()
        await pilot.pause()
        # The focused panel is drawn heavy; the tree it left is not.
        assert log.styles.border_top[0] == "heavy"
        assert app.process_tree.styles.border_top[0] != "heavy"
        # The status line says that letters are typed here now, and how to get out.
        await until(pilot, lambda: "Typing into filter" in app.status_line.text, "the word")
        await pilot.press("u")  # typed into the filter, not a signal
        assert log.query_one("#log-sig", Input).value == "u"
        await pilot.press("escape")
        await until(pilot, lambda: app.process_tree.has_focus, "focus back on the tree")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help after escape")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        assert app.process_tree.has_focus


async def test_at_80x24_the_footer_shows_help_and_quit() -> None:
    app = RecordingApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        footer = app.screen.query_one(Footer)
        await until(pilot, lambda: list(footer.query(FooterKey)), "the footer's keys")
        await laid_out(pilot)
        keys = {k.description: k for k in footer.query(FooterKey)}
        for label in ("Help", "Quit", "Signal"):
            assert label in keys, (label, list(keys))
            region = keys[label].region
            assert region.area and region.right <= 80 and region.y == 23, (label, region)


async def test_master_panel_follows_the_master_and_title_follows_the_workers() -> None:
    app = RecordingApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        await until(pilot, lambda: app.master_panel.state.phase == "running", "running")
        await until(pilot, lambda: "2 × idle" in app.sub_title, "2 × idle in the title")
        # SIGSTOP to the master: the tree shows T, and so does the panel (not "running").
        lab.send(lab.master_pid, "STOP")
        await until(
            pilot, lambda: app.master_panel.shown_phase.startswith("stopped"), "stopped shown"
        )
        assert "(T)" in app.master_panel.shown_phase
        since = lab.cursor()
        lab.send(lab.master_pid, "CONT")
        await until(pilot, lambda: app.master_panel.shown_phase == "running", "running again")
        # TTIN: a third worker, and the title says so.
        await pilot.press("plus")
        await event(lab, since, kind="spawn")
        await until(pilot, lambda: "3 × idle" in app.sub_title, "3 × idle in the title")


async def test_after_the_lab_ended_the_panel_keeps_the_chosen_reaping_mode() -> None:
    app = RecordingApp(LabSettings(workers=2, grace=1.0))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await ready(pilot)
        since = lab.cursor()
        lab.set_reaping("off")
        await event(lab, since, kind="mode", reaping="off")
        await until(pilot, lambda: app.master_panel.state.reaping == "off", "off shown")
        # TERM to the master: it switches to reaping its workers on the way out, but the
        # mode the learner chose stays on the panel, with a word on what the master does.
        since = lab.cursor()
        lab.send(lab.master_pid, "TERM")
        await event(lab, since, kind="mode", reaping="handler")
        await until(pilot, lambda: app.ended_reason is not None, "the lab ended")
        await until(pilot, lambda: app.master_panel.state.phase == "ended", "the panel: ended")
        state = app.master_panel.state
        assert state.reaping == "off" and state.reaps_to_exit
        assert state.phase == "ended"


def test_master_state_keeps_the_chosen_mode_through_a_shutdown() -> None:
    """The master switches `off` to `handler` as it shuts down (to reap its workers): the
    panel keeps `off` and says why it reaps; before a shutdown a mode change is shown as is."""
    from sigscope.ui.models.master import MasterState, apply_event

    state = MasterState(pid=10, reaping="handler", phase="running")
    state = apply_event(state, {"kind": "mode", "reaping": "off"}, 10)
    assert state.reaping == "off" and not state.reaps_to_exit
    state = apply_event(state, {"kind": "phase", "phase": "graceful"}, 10)
    state = apply_event(state, {"kind": "mode", "reaping": "handler", "old": "off"}, 10)
    assert state.reaping == "off" and state.reaps_to_exit
    status = {"kind": "status", "reaping": "handler", "phase": "graceful", "target": 2}
    state = apply_event(state, status, 10)
    assert state.reaping == "off" and state.phase == "graceful"


@pytest.mark.parametrize(("size", "on_status_line"), [((120, 40), False), ((80, 24), True)])
async def test_the_root_notice_is_in_the_header_and_only_there_if_there_is_one(
    size: tuple[int, int], on_status_line: bool
) -> None:
    """As root the warning is in the title; the status line repeats it only in the compact
    layout, which has no header (issue 19: a session-long notice belongs in the header)."""
    app = RecordingApp()
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        root = os.geteuid() == 0
        assert ("RUNNING AS ROOT" in app.title) == root
        assert ("running as root" in app.status_line.hint) == (root and on_status_line)
        assert not any("root" in m.lower() for m, _ in app.said)  # no notice, no toast

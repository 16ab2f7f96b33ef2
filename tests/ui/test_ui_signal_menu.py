"""The send-signal menu answers as you type: the matching row is highlighted and scrolled to,
a line says what Enter will send (or that nothing matches), a count (``5*usr1``) sends the
signal that many times, and no row wraps. The menu on its own in a tiny app, then once on a
real lab to see a count become that many sends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.app import App
from textual.color import Color
from textual.pilot import Pilot
from textual.widgets import OptionList

from sigscope.numbers import NumberError
from sigscope.signames import parse_signal
from sigscope.ui.app import SigscopeApp
from sigscope.ui.screens.signal_menu import MAX_COUNT, SignalChoice, SignalMenu, split_count
from sigscope.ui.settings import LabSettings
from tests.ui.helpers import until

WAIT = 20.0  # seconds: generous, the machine is shared


class MenuApp(App[None]):
    """Just the menu, opened on SIGTERM, keeping what it was closed with."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[SignalChoice | None] = []

    def on_mount(self) -> None:
        self.push_screen(
            SignalMenu("worker 0 (pid 4242)", parse_signal("TERM")), self.results.append
        )


def menu_of(app: App[Any]) -> SignalMenu:
    screen = app.screen
    assert isinstance(screen, SignalMenu)
    return screen


async def the_menu(pilot: Pilot[Any]) -> SignalMenu:
    """Wait for the signal menu to be on screen, and return it."""
    app = pilot.app
    return await until(pilot, lambda: isinstance(app.screen, SignalMenu) and app.screen, "menu")


def row_in_view(menu: SignalMenu) -> bool:
    """The highlighted row is inside the list's visible window."""
    options = menu.query_one(OptionList)
    top = options.scroll_offset.y
    assert options.highlighted is not None
    return top <= options.highlighted < top + options.scrollable_content_region.height


def test_a_count_is_digits_then_a_separator() -> None:
    assert split_count("usr1") == (1, "usr1")
    assert split_count("9") == (1, "9")  # a lone number is a signal number, as in kill -9
    assert split_count("5*usr1") == (5, "usr1")
    assert split_count("5×usr1") == (5, "usr1")
    assert split_count("5x usr1") == (5, "usr1")
    assert split_count("12 rtmin+1") == (12, "rtmin+1")
    assert split_count("3*") == (3, "")
    assert split_count("5x") == (5, "")
    assert split_count("5*xcpu") == (5, "xcpu")
    assert split_count("5xcpu") == (1, "5xcpu")  # not a count: the x is XCPU's
    assert split_count("²*usr1") == (1, "²*usr1")  # not ASCII digits: not a count
    for bad in ("0*usr1", f"{MAX_COUNT + 1}*usr1", "99999999999999999999999*kill"):
        with pytest.raises(NumberError):
            split_count(bad)


@pytest.mark.parametrize(
    ("typed", "signal"),
    [("ttin", "SIGTTIN"), ("rtmin+1", "SIGRTMIN+1"), ("sigsys", "SIGSYS"), ("usr2", "SIGUSR2")],
)
async def test_typing_highlights_and_scrolls_to_the_row(typed: str, signal: str) -> None:
    app = MenuApp()
    async with app.run_test(size=(80, 24)) as pilot:
        menu = await the_menu(pilot)
        await pilot.pause()
        assert menu.highlighted_signal == parse_signal("TERM")
        await pilot.press(*typed)
        await pilot.pause()
        assert menu.highlighted_signal == parse_signal(signal)
        assert row_in_view(menu), "the highlighted row is scrolled out of sight"
        # Plainly highlighted though the focus is in the input box (Textual's unfocused
        # highlight is a faint tint): the accent colour, as the menu's frame.
        options = menu.query_one(OptionList)
        assert not options.has_focus
        highlight = options.get_component_styles("option-list--option-highlighted")
        assert highlight.background == Color.parse(app.theme_variables["accent"])
        assert menu.will_send == f"Enter sends {signal} to worker 0 (pid 4242)"
        await pilot.press("enter")
        await until(pilot, lambda: app.results, "the menu closed")
        assert app.results == [SignalChoice(parse_signal(signal), 1)]


async def test_nothing_matches_says_so_and_enter_sends_nothing() -> None:
    app = MenuApp()
    async with app.run_test(size=(80, 24)) as pilot:
        menu = await the_menu(pilot)
        await pilot.press(*"zz")
        await pilot.pause()
        assert menu.will_send.startswith("no signal called 'zz'")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [] and app.screen is menu
        # The arrows pick a row instead: that is the answer now.
        await pilot.press("down")
        assert menu.will_send.startswith("Enter sends ")
        await pilot.press("escape")
        await until(pilot, lambda: app.results == [None], "cancelled")


async def test_a_count_is_shown_and_sent_back() -> None:
    app = MenuApp()
    async with app.run_test(size=(80, 24)) as pilot:
        menu = await the_menu(pilot)
        await pilot.press(*"0*usr1")
        await pilot.pause()
        assert "count" in menu.will_send and "1 to 100" in menu.will_send
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []  # a bad count sends nothing
        for _ in range(6):
            await pilot.press("backspace")
        await pilot.press(*"5*usr1")
        await pilot.pause()
        assert menu.will_send == "Enter sends SIGUSR1 ×5 to worker 0 (pid 4242)"
        await pilot.press("enter")
        await until(pilot, lambda: app.results, "the menu closed")
        assert app.results == [SignalChoice(parse_signal("USR1"), 5)]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_no_row_wraps(size: tuple[int, int]) -> None:
    app = MenuApp()
    async with app.run_test(size=size) as pilot:
        menu = await the_menu(pilot)
        await pilot.pause()
        options = menu.query_one(OptionList)
        # One line per signal: a wrapped row (SIGKILL's "cannot be caught or ignored") would
        # make the list taller than its number of options.
        assert options.virtual_size.height == options.option_count
        await pilot.press("escape")


async def test_a_count_sends_that_many_signals_on_a_real_lab() -> None:
    app = SigscopeApp(LabSettings(workers=1))
    async with app.run_test(size=(120, 40)) as pilot:
        worker = await until(
            pilot,
            lambda: next(
                (r for r in app.process_tree.rows_shown if r.role == "worker 0" and r.state == "S"),
                None,
            ),
            "worker 0 sleeping",
        )
        lab = app.lab
        assert lab is not None
        await until(pilot, lambda: app.process_tree.select_pid(worker.pid), "worker 0 selected")
        since = lab.cursor()
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, SignalMenu), "the menu")
        await pilot.press(*"3*usr2")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, SignalMenu), "the menu closed")

        def sends() -> list[dict[str, Any]]:
            return [
                e
                for e in lab.events(since)
                if e.get("kind") == "sent"
                and e.get("sig") == "SIGUSR2"
                and e.get("target") == worker.pid
            ]

        # The controller records each send it made: three, not one (the worker may handle
        # fewer: standard signals that arrive while one is pending coalesce).
        await asyncio.to_thread(
            lab.wait_for, timeout=WAIT, since=since, kind="received", sig="SIGUSR2"
        )
        assert len(sends()) == 3
        await pilot.press("q")

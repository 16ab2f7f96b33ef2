"""Issue 15 in the dashboard: ``NAME=VALUE`` in the signal menu, sent queued on a real lab, and
the sigaction flags a ``flags`` worker reports shown under its dispositions."""

from __future__ import annotations

import asyncio
from typing import Any

from sigscope.lab import Lab
from sigscope.observe.sampler import Sampler
from sigscope.signames import parse_signal
from sigscope.ui.app import SigscopeApp
from sigscope.ui.screens.signal_menu import SignalChoice, SignalMenu
from sigscope.ui.settings import LabSettings
from sigscope.ui.widgets.dispositions import DispositionsPanel
from tests.ui.helpers import until
from tests.ui.test_ui_signal_menu import WAIT, MenuApp, the_menu
from tests.ui.test_ui_widgets import One


async def test_menu_takes_a_value_and_refuses_a_bad_one() -> None:
    app = MenuApp()
    async with app.run_test(size=(80, 24)) as pilot:
        menu = await the_menu(pilot)
        await pilot.press(*"rtmin+1=x")
        await pilot.pause()
        assert menu.will_send.startswith("bad value 'x'")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []  # nothing is sent for a bad value
        await pilot.press("backspace", *"-42")
        await pilot.pause()
        assert menu.will_send.startswith("Enter sends SIGRTMIN+1=-42 (queued, sigqueue) to ")
        await pilot.press("enter")
        await until(pilot, lambda: app.results, "the menu closed")
        assert app.results == [SignalChoice(parse_signal("RTMIN+1"), 1, -42)]


async def test_a_value_from_the_menu_reaches_a_signalfd_worker() -> None:
    app = SigscopeApp(LabSettings(workers=1, behaviour="signalfd"))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = await until(pilot, lambda: app.lab, "the lab")
        pid = await asyncio.to_thread(lambda: lab.wait_for(kind="ready", timeout=WAIT)["pid"])
        await until(pilot, lambda: app.process_tree.select_pid(pid), "the worker selected")
        since = lab.cursor()
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, SignalMenu), "the menu")
        await pilot.press(*"rtmin+2=7")
        await pilot.press("enter")
        got = await asyncio.to_thread(
            lambda: lab.wait_for(kind="received", pid=pid, since=since, timeout=WAIT)
        )
        assert (got["sig"], got["value"], got["si_code_name"]) == ("SIGRTMIN+2", 7, "SI_QUEUE")
        await pilot.press("q")


async def test_dispositions_show_the_flags_a_flags_worker_reports() -> None:
    params: dict[str, Any] = {"flags": "SA_RESETHAND|SA_NODEFER", "mask": "HUP"}
    with Lab(workers=1, behaviour="flags", params=params) as lab:
        pid = lab.worker(0).pid
        installed = lab.wait_for(kind="flags", pid=pid, timeout=WAIT)
        snapshot = Sampler(lab).scan()
    panel = DispositionsPanel()
    async with One(panel).run_test(size=(100, 50)) as pilot:
        panel.show_pid(pid)
        panel.update_snapshot(snapshot)
        panel.add_event(installed)
        await pilot.pause()
        text = panel.render().plain
        line = next(ln for ln in text.splitlines() if ln.startswith("sigaction SIGUSR1"))
        assert "python" in line and "SA_RESETHAND" in line and "SA_NODEFER" in line
        assert "sa_mask HUP" in line and "SA_RESTORER" not in line
        # What the kernel says in /proc agrees: SIGUSR1 is caught.
        usr1 = next(ln for ln in text.splitlines() if " SIGUSR1 " in ln)
        assert "handler" in usr1

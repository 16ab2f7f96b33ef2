"""sigscope.cli turns the garbage collector off for a dashboard's start-up (issue 14: a tenth
of the start-up went to collections); the dashboard's first frame turns it back on. Were it
left off, the dashboard would run for hours without collecting cycles."""

from __future__ import annotations

import gc

from sigscope import cli
from sigscope.ui.app import SigscopeApp
from sigscope.ui.settings import LabSettings
from tests.ui.helpers import until


async def test_the_first_frame_turns_the_collector_back_on() -> None:
    gc.disable()  # as sigscope.cli.main leaves it for a dashboard
    try:
        app = SigscopeApp(LabSettings(workers=1))
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.lab is not None, what="the lab started")
            assert gc.isenabled()
            app.stop_lab()
    finally:
        gc.enable()


async def test_the_first_frame_freezes_what_start_up_made_and_exit_thaws_it() -> None:
    # Full collections during a storm scanned every object start-up made (issue 14: frame lag).
    gc.disable()  # as sigscope.cli.main leaves it for a dashboard
    try:
        app = SigscopeApp(LabSettings(workers=1))
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.lab is not None, what="the lab started")
            assert gc.get_freeze_count() > 10_000
            app.stop_lab()
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        gc.enable()


async def test_a_dashboard_started_with_the_collector_on_freezes_nothing() -> None:
    app = SigscopeApp(LabSettings(workers=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.lab is not None, what="the lab started")
        assert gc.get_freeze_count() == 0
        app.stop_lab()


def test_a_command_without_a_dashboard_runs_with_the_collector_on(capsys) -> None:  # type: ignore[no-untyped-def]
    seen: list[bool] = []
    original = cli._run
    try:
        cli._run = lambda args: seen.append(gc.isenabled()) or 0  # type: ignore[assignment]
        assert cli.main(["lessons"]) == 0
    finally:
        cli._run = original  # type: ignore[assignment]
    assert seen == [True] and gc.isenabled()

"""A frame draws what changed, and only that (issue 14: an idle dashboard at htop's cost).

- The process tree asks for the cells that changed (an age: its AGE cell), not the line.
- The dashboard's compositor (sigscope.ui.frames.CroppedCompositor) renders only the widgets
  an update touches, and what it sends to the terminal is exactly what Textual's own
  compositor sends for the same update.
- The tree follows a theme change (its kept lines had kept the old theme's colours).
"""

from __future__ import annotations

import types
from collections import Counter
from dataclasses import replace
from typing import Any

from textual._compositor import Compositor
from textual.geometry import Region
from textual.widget import Widget

from sigscope.ui.app import SigscopeApp
from sigscope.ui.frames import CroppedCompositor
from sigscope.ui.settings import LabSettings
from sigscope.ui.widgets.process_tree import COLUMNS, FIXED_WIDTHS, PAD
from tests.ui.helpers import until


async def _dashboard(pilot: Any, app: SigscopeApp) -> None:
    await until(pilot, lambda: len(app.process_tree.rows_shown) >= 3, what="the lab's 3 rows")


async def test_an_age_that_changed_repaints_its_cell_not_its_line() -> None:
    app = SigscopeApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await _dashboard(pilot, app)
        tree = app.process_tree
        asked: list[Region] = []
        refresh = tree.refresh

        def noted(*regions: Region, **kwargs: Any) -> Any:
            asked.extend(regions)
            return refresh(*regions, **kwargs)

        tree.refresh = noted  # type: ignore[method-assign]
        rows = tree.rows_shown
        older = [replace(r, age=(r.age or 0) + 61) if i == 1 else r for i, r in enumerate(rows)]
        tree.show(older)
        tree.refresh = refresh  # type: ignore[method-assign]
        x = sum(w + 2 * PAD for w in tree._widths[: COLUMNS.index("AGE")])
        app.stop_lab()
    # One region: the AGE cell of the second row (line 2: the header is line 0).
    assert asked == [Region(x, 2, FIXED_WIDTHS["AGE"] + 2 * PAD, 1)]


async def test_a_partial_frame_renders_only_the_widgets_it_touches_and_sends_the_same() -> None:
    app = SigscopeApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await _dashboard(pilot, app)
        await pilot.pause()
        compositor = app.dashboard._compositor
        assert isinstance(compositor, CroppedCompositor)
        tree = app.process_tree
        cell = Region(tree.region.x + 40, tree.region.y + 2, 8, 2)
        rendered: Counter[str] = Counter()
        render_lines = Widget.render_lines

        def counted(widget: Widget, crop: Region) -> Any:
            rendered[type(widget).__name__] += 1
            return render_lines(widget, crop)

        def update(textuals: bool) -> str:
            compositor._dirty_regions.clear()
            compositor._dirty_regions.add(cell)
            if textuals:
                compositor._get_renders = types.MethodType(Compositor._get_renders, compositor)  # type: ignore[method-assign]
            try:
                chops = compositor.render_partial_update()
            finally:
                compositor.__dict__.pop("_get_renders", None)
            assert chops is not None
            return chops.render_segments(app.console)

        Widget.render_lines = counted  # type: ignore[method-assign]
        try:
            ours = update(textuals=False)
            touched = set(rendered)
            rendered.clear()
            theirs = update(textuals=True)
        finally:
            Widget.render_lines = render_lines  # type: ignore[method-assign]
        app.stop_lab()
    assert ours == theirs
    assert "ProcessTree" in touched
    # Textual's renders every widget on the screen for it; none beside or below the tree.
    assert {"MasterPanel", "SequenceChart", "Footer", "EventLog"} <= set(rendered)
    assert not touched & {"MasterPanel", "SequenceChart", "Footer", "EventLog", "Header"}


async def test_the_tree_takes_a_new_themes_colours() -> None:
    app = SigscopeApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await _dashboard(pilot, app)
        tree = app.process_tree
        before = list(tree.render_line(2))[0].style
        assert before is not None
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await until(pilot, lambda: tree.rich_style.bgcolor != before.bgcolor, what="new colours")
        after = list(tree.render_line(2))[0].style
        background = tree.rich_style.bgcolor
        app.stop_lab()
    assert after is not None and after.bgcolor == background != before.bgcolor

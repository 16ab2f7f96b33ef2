"""A frame draws what changed, and only that (issue 14: an idle dashboard at htop's cost).

- The process tree asks for the cells that changed (an age: its AGE cell), not the line.
- The dashboard's compositor (sigscope.ui.frames.CroppedCompositor) renders only the widgets
  an update touches, and what it sends to the terminal is exactly what Textual's own
  compositor sends for the same update.
- A line whose AGE changed is rendered from its kept cells and one new one (the AGE cell), and
  is the same line a tree with nothing kept draws.
- The tree follows a theme change (its kept lines had kept the old theme's colours).
"""

from __future__ import annotations

import types
from dataclasses import replace
from typing import Any

from rich.text import Text
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


async def test_a_line_whose_age_changed_renders_only_its_age_cell() -> None:
    app = SigscopeApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await _dashboard(pilot, app)
        tree = app.process_tree
        tree.render_line(2)  # drawn once: its cells are kept
        rows = tree.rows_shown
        tree.show([replace(r, age=(r.age or 0) + 61) if i == 1 else r for i, r in enumerate(rows)])
        rendered: list[str] = []
        render = Text.render

        def noted(text: Text, *args: Any, **kwargs: Any) -> Any:
            rendered.append(text.plain)
            return render(text, *args, **kwargs)

        Text.render = noted  # type: ignore[method-assign]
        try:
            line = tree.render_line(2)
        finally:
            Text.render = render  # type: ignore[method-assign]
        getattr(tree, "_cell_strips", {}).clear()  # nothing kept: a fresh tree
        tree._strips.clear()
        fresh = tree.render_line(2)
        age = tree._cells(tree.rows_shown[1])[COLUMNS.index("AGE")].plain
        app.stop_lab()
    assert rendered == [" " * PAD + age.ljust(FIXED_WIDTHS["AGE"] + PAD)]
    assert list(line) == list(fresh) and line.cell_length == fresh.cell_length


def _render(app: SigscopeApp, regions: list[Region], textuals: bool) -> tuple[str, set[str]]:
    """A partial update of ``regions`` by the dashboard's compositor (or, ``textuals``, by
    Textual's own code on the same compositor): what it sends, and which widgets it rendered."""
    compositor = app.dashboard._compositor
    rendered: set[str] = set()
    render_lines = Widget.render_lines

    def counted(widget: Widget, crop: Region) -> Any:
        rendered.add(type(widget).__name__)
        return render_lines(widget, crop)

    compositor._dirty_regions.clear()
    compositor._dirty_regions.update(regions)
    if textuals:
        compositor._get_renders = types.MethodType(Compositor._get_renders, compositor)  # type: ignore[method-assign]
    Widget.render_lines = counted  # type: ignore[method-assign]
    try:
        chops = compositor.render_partial_update()
    finally:
        Widget.render_lines = render_lines  # type: ignore[method-assign]
        compositor.__dict__.pop("_get_renders", None)
    assert chops is not None
    return chops.render_segments(app.console), rendered


async def test_a_partial_frame_renders_only_the_widgets_it_touches_and_sends_the_same() -> None:
    app = SigscopeApp(LabSettings(workers=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await _dashboard(pilot, app)
        await pilot.pause()
        assert isinstance(app.dashboard._compositor, CroppedCompositor)
        tree = app.process_tree.region
        master = app.master_panel.region
        cases = {
            "ages": [Region(tree.x + 40, tree.y + 2, 8, 3)],
            "a band across the screen": [Region(0, tree.y + 1, 120, 3)],
            "where the tree meets the master panel": [Region(master.x - 3, master.y, 6, 4)],
            "two places at once": [Region(tree.x + 2, tree.y + 2, 5, 1), Region(0, 39, 30, 1)],
            "borders and the footer": [Region(0, 0, 120, 2), Region(0, 37, 120, 3)],
        }
        sent = {}
        for name, regions in cases.items():
            sent[name] = (_render(app, regions, False), _render(app, regions, True))
        app.stop_lab()
    for name, ((ours, touched), (theirs, everything)) in sent.items():
        assert ours == theirs, name
        assert touched <= everything, name
    (_, touched), (_, everything) = sent["ages"]
    # Textual's renders every widget on the screen for it; ours the tree alone (the
    # containers behind it are covered there).
    assert touched == {"ProcessTree"}
    assert {"MasterPanel", "SequenceChart", "QuietFooter", "EventLog", "ProcessTree"} <= everything


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

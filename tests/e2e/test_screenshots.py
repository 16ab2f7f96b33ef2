"""The screenshots script runs against the real app, so no screenshot shows a UI that is gone."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "dashboard": ["Processes", "Signals", "Events", "Dispositions", "Timers", "Master"],
    "signal-menu": ["SIGKILL"],
    "zombie": ["zombie"],
    "timers": ["ITIMER_REAL"],
    "chart-storm": ["SIGUSR1", "1000"],
    "compact-80x24": ["Processes"],
    "terminal": ["Terminal", "Session", "foreground", "Stopped"],
    "lesson": ["Zombies and orphans"],
    "demo": ["Kill and default actions"],
}


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "make_screenshots", ROOT / "screenshots" / "make_screenshots.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_screenshot_is_made_from_the_real_app(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    made = asyncio.run(_script().make(tmp_path))
    assert {p.stem for p in made} == set(EXPECTED)
    for path in made:
        svg = path.read_text()
        # Textual writes each cell as text with &#160; for spaces.
        text = svg.replace("&#160;", " ")
        for word in EXPECTED[path.stem]:
            assert word in text, f"{path.name} does not show {word!r}"
    # The README shows the committed ones.
    readme = (ROOT / "README.md").read_text()
    for name in EXPECTED:
        assert f"screenshots/{name}.svg" in readme
        assert (ROOT / "screenshots" / f"{name}.svg").is_file()

"""The wheel carries the top-level lessons/ folder inside the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_lessons(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("sigscope-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "sigscope/lessons/README.md" in names
    lessons = sorted(p.name for p in (ROOT / "lessons").iterdir() if p.is_file())
    for name in lessons:
        assert f"sigscope/lessons/{name}" in names
    assert "sigscope/lab/master.py" in names

"""Only sigscope/ui may import Textual: the core must run (and be tested) without a screen."""

from __future__ import annotations

import ast
from pathlib import Path

import sigscope

PACKAGE = Path(sigscope.__file__).parent


def textual_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(n == "textual" or n.startswith("textual.") for n in names):
            lines.append(node.lineno)
    return lines


def test_only_ui_imports_textual() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "ui":
            continue
        for line in textual_imports(path):
            offenders.append(f"sigscope/{rel}:{line}")
    assert offenders == [], f"Textual imported outside sigscope/ui/: {offenders}"


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom textual.app import App\n")
    assert textual_imports(bad) == [2]

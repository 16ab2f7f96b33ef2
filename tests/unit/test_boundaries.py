"""Only sigscope/ui may import Textual: the core must run (and be tested) without a screen.

A check by ``ast`` of every import statement (in functions too), independent of import-linter
(tests/unit/test_import_graph.py runs that): it also covers textual-dev, which import-linter
cannot name while it is not installed, and ``importlib.import_module("textual…")``."""

from __future__ import annotations

import ast
from pathlib import Path

import sigscope

PACKAGE = Path(sigscope.__file__).parent


TEXTUAL = ("textual", "textual_serve", "textual_dev")


def is_textual(name: str) -> bool:
    return name.split(".")[0] in TEXTUAL


def textual_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and ast.unparse(node.func) in ("importlib.import_module", "import_module", "__import__")
        ):
            names = [node.args[0].value]
        else:
            continue
        if any(is_textual(n) for n in names):
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
    bad.write_text(
        "import os\nfrom textual.app import App\nimport textualize\n"
        "def later():\n    import textual_serve.server\n"
        "    return importlib.import_module('textual_dev.client')\n"
    )
    assert textual_imports(bad) == [2, 5, 6]

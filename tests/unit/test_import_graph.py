"""The layering of sigscope is a checked contract (design.md, issue 13).

- No circle of imports between any two modules of sigscope/: the graph is built with ``ast``
  from every import statement, at module level, in functions and under ``if TYPE_CHECKING:``
  alike (a circle of knowledge is a circle even when Python can be made to load it).
- The import-linter contracts in pyproject.toml hold (``lint-imports``), and they do catch
  planted violations: the check is run on a copy of the package with bad imports planted
  (Textual in the lab and in procfs, ui from observe, Textual in ui.models, course from
  signames), and each contract must break and name its import.
- The core modules import without Textual: each is imported in a fresh ``python -I`` and
  ``textual`` must not be in ``sys.modules`` afterwards (what harlequin checks).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import sigscope

PACKAGE = Path(sigscope.__file__).parent
ROOT = PACKAGE.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def imported_names(path: Path, name: str) -> Iterator[tuple[str, int]]:
    """Every module name an import in ``path`` (module ``name``) may load, with its line:
    absolute and relative imports, anywhere in the file. ``from a import b`` yields ``a.b``:
    the caller takes the longest prefix that is a module (``a.b`` if b is a submodule, else
    ``a``). The parent packages Python loads on the way are not edges (every import of a
    submodule would otherwise be a circle with its package's ``__init__``)."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                # a package's own __init__ is the package: one level up is the package itself
                drop = node.level - 1 if is_package else node.level
                base = base[: len(base) - drop] if drop else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                yield f"{module}.{alias.name}", node.lineno


def import_graph(package: Path = PACKAGE) -> dict[str, dict[str, int]]:
    """module → {module it imports: the first line that does}, over ``package``'s modules."""
    mods = modules(package)
    graph: dict[str, dict[str, int]] = {m: {} for m in mods}
    for name, path in mods.items():
        for target, line in imported_names(path, name):
            # `import a.b.c` names a.b.c; the longest prefix that is one of ours is the edge
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name][target] = min(line, graph[name].get(target, line))
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One circle (as a closed path) for each strongly connected component of more than one
    module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return [_circle_in(graph, set(c)) for c in components]


def _circle_in(graph: dict[str, dict[str, int]], component: set[str]) -> list[str]:
    """A shortest closed path through the first module (by name) of a strongly connected
    component: breadth-first from it back to itself."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child not in component:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError("not a strongly connected component")


def describe(graph: dict[str, dict[str, int]], circle: list[str]) -> str:
    """``a (line 3) → b (line 9) → a``: each hop with the line of the import that makes it."""
    hops = [f"{a} (line {graph[a][b]})" for a, b in zip(circle, circle[1:], strict=False)]
    return " → ".join([*hops, circle[-1]])


# -- no circle between modules --------------------------------------------------------------


def test_no_import_cycle_between_modules() -> None:
    graph = import_graph()
    found = [describe(graph, circle) for circle in cycles(graph)]
    assert found == [], "import circles in sigscope/:\n  " + "\n  ".join(found)


def test_the_cycle_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    """A planted circle through an absolute import, a relative one in a subpackage, an import
    inside a function and one under ``if TYPE_CHECKING:`` is found, and printed hop by hop."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import os\nfrom pkg import b\n")
    (pkg / "b.py").write_text("from .sub import c\n")
    (pkg / "sub" / "c.py").write_text("def f():\n    from ..d import x\n    return x\n")
    (pkg / "d.py").write_text(
        "from typing import TYPE_CHECKING\nx = 1\nif TYPE_CHECKING:\n    import pkg.a\n"
    )
    (pkg / "e.py").write_text("from pkg import a\n")  # into the circle, not part of it
    graph = import_graph(pkg)
    assert graph["pkg.sub.c"] == {"pkg.d": 2}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.d", "pkg.a"]]
    assert describe(graph, cycles(graph)[0]) == (
        "pkg.a (line 2) → pkg.b (line 1) → pkg.sub.c (line 2) → pkg.d (line 4) → pkg.a"
    )
    (pkg / "d.py").write_text("x = 1\n")
    assert cycles(import_graph(pkg)) == []


# -- import-linter -------------------------------------------------------------------------


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contracts_hold() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr


PLANTED = [
    # (contract id, file to plant in, what to plant, what the report must name)
    ("textual-in-ui-only", "lab/planted.py", "import textual\n", "sigscope.lab.planted"),
    ("textual-in-ui-only", "procfs.py", "\nimport textual_serve\n", "sigscope.procfs"),
    (
        "core-below-ui",
        "observe/planted.py",
        "def later():\n    from sigscope.ui import app\n",
        "sigscope.observe.planted -> sigscope.ui.app",
    ),
    (
        "ui-models-without-textual",
        "ui/models/planted.py",
        "from textual.widget import Widget\n",
        "sigscope.ui.models.planted -> textual (l.1)",
    ),
    (
        "layers",
        "signames.py",
        "\ndef later():\n    import sigscope.course\n",
        "sigscope.signames -> sigscope.course",
    ),
]


@pytest.fixture(scope="module")
def planted_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """lint-imports on a copy of the package (first on PYTHONPATH) with every bad import of
    PLANTED added, once for them all (each run costs a Python start-up)."""
    root = tmp_path_factory.mktemp("planted")
    shutil.copytree(PACKAGE, root / "sigscope", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root)
    for _, where, code, _ in PLANTED:
        with (root / "sigscope" / where).open("a") as f:
            f.write(code)
    contracts = sorted({c for c, _, _, _ in PLANTED})
    run = lint_imports(root, *(arg for c in contracts for arg in ("--contract", c)))
    assert run.returncode != 0, run.stdout + run.stderr
    return run.stdout + run.stderr


@pytest.mark.parametrize(("contract", "where", "code", "named"), PLANTED)
def test_lint_imports_fails_on_a_planted_violation(
    planted_report: str, contract: str, where: str, code: str, named: str
) -> None:
    """The planted import breaks its contract, and the report names it."""
    names = {c["id"]: c["name"] for c in CONFIG["contracts"]}
    flat = " ".join(planted_report.split())  # the report wraps long contract names
    assert f"{' '.join(names[contract].split())} BROKEN" in flat, planted_report
    assert named in planted_report, planted_report


# -- the core without Textual --------------------------------------------------------------

# The parts of sigscope that may load Textual: the UI and what starts it.
UI_SIDE = {"ui", "commands", "cli", "__main__"}

IMPORT_EACH = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    loaded = sorted(m for m in ("textual", "textual_serve", "textual_dev") if m in sys.modules)
    if loaded:
        print(f"importing {name} loads {', '.join(loaded)}")
        raise SystemExit(1)
print("ok", len(sys.argv) - 1)
"""


def test_the_core_imports_without_textual() -> None:
    """Each core module is imported, one after the other, in a fresh isolated interpreter
    (``python -I``: no PYTHONPATH, no current directory); the first one after which Textual is
    in ``sys.modules`` is named. (One after the other is as exact as one interpreter each:
    every module imported before the culprit left Textual out.)"""
    core = sorted(m for m in modules() if m != "sigscope" and m.split(".")[1] not in UI_SIDE)
    assert "sigscope.lab.controller" in core and "sigscope.procfs" in core
    run = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_EACH, *core],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == f"ok {len(core)}"


# -- what the dashboard loads before its first frame ---------------------------------------------

BEFORE_FIRST_FRAME = """
import sys
from sigscope.cli import build_parser
from sigscope.commands import dashboard
import sigscope.ui.app
from sigscope.ui.settings import LabSettings
args = build_parser().parse_args(["--workers", "3"])
name, params = args.behaviour
LabSettings(args.workers, name, params, args.reaping, args.grace).check()
lab = sorted(m for m in sys.modules if m.startswith(("sigscope.lab.", "sigscope.sources.record")))
print(" ".join(lab))
"""


def test_the_dashboard_checks_its_options_without_importing_the_lab() -> None:
    """What ``sigscope`` does before its first frame (the parser, the app's module, the check
    of the options) loads no part of the lab beyond the light limits and behaviours: the lab
    (controller, master, worker, channel, recorder) is imported after the first frame, when it
    starts (issue 14: about 5.5 ms of a start-up judged at 1.5x a bare Textual app)."""
    run = subprocess.run(
        [sys.executable, "-I", "-c", BEFORE_FIRST_FRAME],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    loaded = set(run.stdout.split())
    heavy = {
        "sigscope.lab.controller",
        "sigscope.lab.master",
        "sigscope.lab.worker",
        "sigscope.lab.channel",
        "sigscope.sources.record",
    }
    assert "sigscope.lab.limits" in loaded, loaded  # (the check did run)
    assert not loaded & heavy, sorted(loaded & heavy)
    # And what only that check catches is still refused before any screen, in one line: more
    # workers than the cap in the environment (as sigscope serve sets it).
    bad = subprocess.run(
        [sys.executable, "-I", "-m", "sigscope", "--workers", "2"],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SIGSCOPE_MAX_WORKERS": "1"},
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    assert "SIGSCOPE_MAX_WORKERS=1" in bad.stderr and not bad.stdout, bad

"""Where a lesson's claims can be checked: the ``sources`` of a lesson and of each step.

A teacher must be able to follow every claim to something outside the lesson, so a source is
one of a few forms a reader can look up (a man page, TLPI, a PEP, the Python docs, another
program's docs, an experiment in this repository, or this lab's own code), and anything else
is refused by ``sigscope lessons --check``. In a source checkout the experiments and the lab's
paths are checked to exist; an installed wheel has neither, so there they are only parsed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

MAX_SOURCES = 20  # per step; more is a bibliography, not a step
MAX_SOURCE_CHARS = 200

FORMS = (
    "name(N) [text] for a man page",
    "TLPI §N.N or TLPI ch. N",
    "PEP N",
    "Python docs: TEXT or https://docs.python.org/3/...",
    "PROGRAM docs: TEXT",
    "tests/test_lesson_facts.py::test_name",
    "sigscope: PATH",
)

# name(section) and optionally " anything": sections are 1-9 with an optional suffix (3p, 1ssl).
_MAN = re.compile(r"[A-Za-z_][A-Za-z0-9_.+:-]*\([1-9][a-z]{0,4}\)(?: .+)?")
_TLPI = re.compile(r"TLPI (?:§ ?[0-9]{1,2}(?:\.[0-9]{1,2}){0,3}|ch\. ?[0-9]{1,2})(?: .+)?")
_PEP = re.compile(r"PEP [0-9]{1,4}(?: .+)?")
_PYDOCS_URL = re.compile(r"https://docs\.python\.org/3/\S+(?: .+)?")
_DOCS = re.compile(r"[A-Za-z][A-Za-z0-9_.+-]{0,40} docs: \S.*")
_TEST = re.compile(r"(tests/[A-Za-z0-9_/]+\.py)::([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_]\w*)?)")
_LAB = re.compile(r"sigscope: ([A-Za-z0-9_./-]+)(?: .+)?")


def repo_root(lesson_path: Path) -> Path | None:
    """The source checkout a lesson file sits in (``ROOT/lessons/x.toml`` beside
    ``ROOT/sigscope``, ``ROOT/tests`` and ``ROOT/pyproject.toml``), or None (an installed
    wheel, a teacher's folder). pyproject.toml tells a checkout from site-packages, where
    some other distribution may have installed a top-level ``tests`` package."""
    try:
        root = lesson_path.resolve().parent.parent
        if (
            (root / "sigscope" / "__init__.py").is_file()
            and (root / "tests").is_dir()
            and (root / "pyproject.toml").is_file()
        ):
            return root
    except OSError:
        pass
    return None


# (path, mtime_ns, size) -> names defined in a test file (test functions, classes, methods)
_names_cache: dict[tuple[str, int, int], frozenset[str]] = {}


def _test_names(path: Path) -> frozenset[str] | None:
    """Every ``name`` and ``Class::name`` defined at the top of a test file; None if it cannot
    be read or parsed."""
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key in _names_cache:
            return _names_cache[key]
        if st.st_size > 4 * 1024 * 1024:  # a test file, not a data set
            return None
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}::{sub.name}")
    if len(_names_cache) > 64:
        _names_cache.clear()
    result = frozenset(names)
    _names_cache[key] = result
    return result


def check_source(text: str, root: Path | None) -> str | None:
    """None if ``text`` is a source in one of :data:`FORMS`, else what is wrong with it.

    ``root`` is the source checkout (see :func:`repo_root`): there, an experiment must name a
    test that exists and a ``sigscope:`` path a file that exists.
    """
    if len(text) > MAX_SOURCE_CHARS:
        return f"a source is at most {MAX_SOURCE_CHARS} characters"
    if not text.isprintable():
        return f"a source must be printable text, not {text!r}"
    for form in (_MAN, _TLPI, _PEP, _PYDOCS_URL, _DOCS):
        if form.fullmatch(text):
            return None
    m = _TEST.fullmatch(text)
    if m:
        return _check_test(m.group(1), m.group(2), root)
    m = _LAB.fullmatch(text)
    if m:
        rel = m.group(1)
        if rel.startswith("/") or ".." in rel.split("/"):
            return f"sigscope: wants a path inside the repository, not {rel!r}"
        if root is not None and not (root / rel).exists():
            return f"source {text!r}: no such file in this repository: {rel}"
        return None
    return f"unknown source form {text!r} (forms: {'; '.join(FORMS)})"


def _check_test(rel: str, name: str, root: Path | None) -> str | None:
    if ".." in rel.split("/"):
        return f"an experiment wants a path inside tests/, not {rel!r}"
    if root is None:
        return None  # an installed wheel: the tests are not there to look at
    path = root / rel
    if not path.is_file():
        return f"experiment {rel}::{name}: no such test file in this repository"
    names = _test_names(path)
    if names is None:
        return f"experiment {rel}::{name}: the test file cannot be parsed"
    if name not in names:
        return f"experiment {rel}::{name}: no such test in {rel}"
    return None

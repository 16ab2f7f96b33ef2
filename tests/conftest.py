"""Shared fixtures. The one that matters: no test may leave a process or a zombie behind.

The pytest process makes itself a child subreaper, so that processes orphaned by a test (a
controller it SIGKILLed, say) are re-parented to it rather than to init: the fixture can then
see them, and a test that orphans processes on purpose reaps them with :func:`reap_children`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sigscope import procfs

ME = os.getpid()

# Property tests run their full number of examples where it is asked for (.ci/run sets
# SIGSCOPE_THOROUGH=1), and a third of them in the developer's loop, so that the fast tier
# (`pytest tests/unit`) takes seconds. Each property test says its full count:
# ``@settings(max_examples=examples(300))``.
THOROUGH = os.environ.get("SIGSCOPE_THOROUGH") == "1"


def examples(full: int) -> int:
    """How many examples a property test with ``full`` examples in CI runs here."""
    return full if THOROUGH else max(25, full // 3)


def reap_children(pids: set[int] | None = None, timeout: float = 5.0) -> list[int]:
    """Reap zombie children of this process (only ``pids`` if given), waiting up to timeout
    for the given pids to exit. Returns the pids reaped."""
    reaped = []
    deadline = time.monotonic() + timeout
    while True:
        for child in procfs.children_of(ME):
            if pids is not None and child not in pids:
                continue
            st = procfs.read_stat(child)
            if st is not None and st.state == "Z":
                pid, _ = os.waitpid(child, os.WNOHANG)
                if pid:
                    reaped.append(pid)
        waiting = pids is not None and any(procfs.read_stat(p) is not None for p in pids)
        if not waiting or time.monotonic() > deadline:
            return reaped
        time.sleep(0.01)


def record_trace(path: Path, *args: str) -> list[dict[str, Any]]:
    """Run the installed ``sigscope trace --json --record PATH ARGS`` (a real lab, to its end)
    and return the events it printed; the recording is at ``path``."""
    out = subprocess.run(
        ["sigscope", "trace", *args, "--json", "--record", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def kill_and_reap(pids: set[int], timeout: float = 5.0) -> None:
    """SIGKILL each of ``pids`` (these pids only, never by name) and reap those that are, or
    become, our children (we are a subreaper)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    reap_children(pids, timeout=timeout)


def wait_gone(pids: set[int], timeout: float = 5.0) -> set[int]:
    """Wait until none of ``pids`` exists (zombies count as existing); return those left."""
    deadline = time.monotonic() + timeout
    while True:
        left = {p for p in pids if procfs.read_stat(p) is not None}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)


@pytest.fixture
def bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH is one folder holding only bash and sleep (no strace): the folder, for a test to
    add a tool of its own to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sleep"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@pytest.fixture(scope="session", autouse=True)
def _subreaper() -> None:
    procfs.set_child_subreaper()


@pytest.fixture(autouse=True)
def no_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if a process it started, or a zombie child, is still there afterwards."""
    # We are a subreaper, so every process started under this test stays our descendant, even
    # when orphaned: the tree below us is exactly what a test can have left behind. (Other
    # test runs on the same machine are not below us, and are never touched.)
    before = set(procfs.descendants_of(ME))
    yield
    deadline = time.monotonic() + 5.0
    while True:
        now = set(procfs.descendants_of(ME))
        left = {p for p in now - before if procfs.read_stat(p) is not None}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if not left:
        return
    lines = []
    for pid in sorted(left):
        st = procfs.read_stat(pid)
        if st is not None:
            lines.append(f"pid {pid} ppid {st.ppid} state {st.state} ({st.comm})")
    # Clean up (only what this test started), so that one leak does not fail every later test.
    kill_and_reap(left, timeout=2.0)
    pytest.fail("processes left behind:\n  " + "\n  ".join(lines), pytrace=False)


TIERS = ("unit", "lab", "ui", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier, named by its folder (tests/unit, tests/lab, tests/ui,
    tests/e2e), so ``pytest -m unit`` and ``pytest tests/unit`` select the same tests. The lesson
    experiments (tests/test_lesson_facts.py, a path the lessons cite) run real processes: lab."""
    for item in items:
        parts = item.path.parts
        tier = next((t for t in TIERS if t in parts[-3:-1]), "lab")
        item.add_marker(getattr(pytest.mark, tier))

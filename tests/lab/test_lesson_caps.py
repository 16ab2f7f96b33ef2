"""A lesson's lab runs under a process cap while it runs: what a lesson's sends make the lab
start is bounded like serve's, on a real lab. (The checker's static counts are
tests/unit/test_lessons_check.py.)"""

from __future__ import annotations

import pytest

from sigscope.course import parse_lesson


def test_a_lessons_lab_is_capped_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker counts what a lesson asks for, but not what its sends make the lab start: a
    HUP to 64 stubborn workers (grace 60 s) retires them and starts 64 more each time, and a
    TTIN per action adds a worker (50 HUPs passed the checker: thousands of processes). So a
    lesson's lab runs under the same cap at run time, every process counted, as serve's."""
    from sigscope import procfs
    from sigscope.lab import Lab
    from sigscope.lab.behaviours import LESSON_MAX_PROCESSES
    from sigscope.lab.master import MAX_WORKERS_ENV

    monkeypatch.delenv(MAX_WORKERS_ENV, raising=False)
    step = '[[steps]]\ntext = "x"\nsources = ["PEP 1"]\nhints = ["h"]\n'
    storm = ", ".join(['{ send = "HUP" }'] * 50)
    lesson = parse_lesson(
        'title = "t"\nsources = ["PEP 1"]\n[lab]\nworkers = 64\nbehaviour = "stubborn"\n'
        f"grace = 60\n{step}expect = {{ live_workers = 64 }}\nsolution = [{storm}]\n",
        "storm.toml",
    )  # accepted: the storm is the lab's to bound
    lab = lesson.make_lab()
    assert lab.max_workers == LESSON_MAX_PROCESSES - 1  # the master is the 128th
    # The cap the lesson's lab gets is enforced like serve's (a small one, to be quick): a HUP
    # storm to stubborn workers never has more than cap + 1 processes alive.
    with Lab(workers=2, behaviour="stubborn", grace=30, max_processes=3) as small:
        assert small.pgid is not None
        for _ in range(4):
            since = small.cursor()
            small.send("master", "HUP")
            small.wait_for(since=since, kind="received", role="master", timeout=15)
        small.wait_for(kind="note", role="master", timeout=15)  # "spawn waits: …"
        alive = [
            p for p in procfs.all_pids() if (st := procfs.read_stat(p)) and st.pgid == small.pgid
        ]
        assert len(alive) <= 4, alive

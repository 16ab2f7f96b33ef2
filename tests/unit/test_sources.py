"""A lab, an attached tree and a replay are each a :class:`sigscope.sources.base.Source`.

Statically: :func:`as_sources` below is typed, and ``sigscope.ui.settings`` returns each
from a ``make_source`` that a ``SourceSettings`` protocol says returns a ``Source`` (mypy checks
both, and :func:`test_mypy_accepts_each_as_a_source` runs it on this file). At run time: every
member of the protocol is there, and the capabilities are declared values, not probes.
No process is started here: a Lab is only built, an AttachedTree's capabilities are its class's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigscope.events import CONTROLLER, OLD_CONTROLLER, is_controller
from sigscope.lab.controller import Lab, LabError, LabTimeout
from sigscope.observe.sequence import describe
from sigscope.sources.attach import AttachedTree, AttachError, AttachTimeout
from sigscope.sources.base import Source, SourceError, SourceTimeout
from sigscope.sources.record import load
from sigscope.sources.replay import Replay, ReplayError
from sigscope.ui.settings import AttachSettings, LabSettings, ReplaySettings

DATA = Path(__file__).resolve().parents[1] / "data"
RECORDING = DATA / "lab-recording.jsonl"
CAPABILITIES = ("live", "can_send", "can_control", "can_run_code", "can_record")


def as_sources(lab: Lab, tree: AttachedTree, replay: Replay) -> list[Source]:
    """mypy rejects this if any of the three stops being a Source."""
    return [lab, tree, replay]


def protocol_members() -> set[str]:
    names = set(Source.__annotations__)
    names |= {n for n in vars(Source) if not n.startswith("_")}
    return names


def test_the_protocol_names_the_surface_and_the_capabilities() -> None:
    members = protocol_members()
    assert set(CAPABILITIES) <= members
    assert {"wait_for", "events", "cursor", "subscribe", "send", "subscribe_snapshots"} <= members
    assert {"latest_snapshot", "record_snapshot", "processes", "master_pid"} <= members


@pytest.mark.parametrize("cls", [Lab, AttachedTree, Replay])
def test_each_source_has_every_member(cls: type) -> None:
    # Instance attributes (pid, processes, ended…) are set in __init__: look for those in the
    # class's own code, the rest on the class.
    init = cls.__init__.__code__.co_names
    missing = [m for m in protocol_members() if not hasattr(cls, m) and m not in init]
    assert not missing, f"{cls.__name__} lacks {missing}"


def test_capabilities_are_declared_and_true_to_each_source() -> None:
    lab = Lab(workers=0)  # built, not started: no process
    assert (lab.live, lab.can_send, lab.can_control) == (True, True, True)
    assert lab.can_record is False and lab.can_run_code is False  # no code dir before start
    assert Lab(workers=0, record="/tmp/never-written.jsonl").can_record is True

    assert (AttachedTree.live, AttachedTree.can_send, AttachedTree.can_control) == (
        True,
        True,
        False,
    )
    assert (AttachedTree.can_run_code, AttachedTree.can_record) == (False, False)

    replay = Replay(load(RECORDING))
    assert [getattr(replay, c) for c in CAPABILITIES] == [False] * 5
    for act in (
        lambda: replay.send("master", "TERM"),
        lambda: replay.run_code("worker", "1"),
        lambda: replay.spawn_worker(),
    ):
        with pytest.raises(ReplayError):
            act()


def test_every_source_error_is_a_source_error() -> None:
    assert issubclass(LabError, SourceError) and issubclass(LabTimeout, SourceTimeout)
    assert issubclass(AttachError, SourceError) and issubclass(AttachTimeout, SourceTimeout)
    assert issubclass(ReplayError, SourceError)
    assert issubclass(SourceTimeout, TimeoutError)


def test_settings_make_their_source_and_say_whether_lab_controls_apply(tmp_path: Path) -> None:
    assert isinstance(LabSettings(workers=0).make_source(), Lab)
    assert LabSettings().lab_controls and not ReplaySettings(RECORDING).lab_controls
    assert not AttachSettings(os.getpid()).lab_controls
    replay = ReplaySettings(RECORDING).make_source()
    assert isinstance(replay, Replay)
    assert ReplaySettings(RECORDING).describe(replay).startswith("replay of lab-recording.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not a recording\n")
    with pytest.raises(SourceError, match="bad.jsonl"):
        ReplaySettings(bad).make_source()


def test_the_controller_role_and_old_recordings() -> None:
    assert is_controller({"role": CONTROLLER}) and is_controller({"role": OLD_CONTROLLER})
    assert not is_controller({"role": "master"})
    # An old recording (role "ui") replays as before: its sends are still "you".
    replay = Replay(load(RECORDING))
    replay.play_all()
    sent = [e for e in replay.events() if e["kind"] == "sent" and e["role"] == OLD_CONTROLLER]
    assert sent and all(describe(e).startswith("you") for e in sent)


def test_mypy_accepts_each_as_a_source(tmp_path: Path) -> None:
    """The static half: mypy on :func:`as_sources`, and it fails on a class that is not one."""
    good = tmp_path / "good.py"
    good.write_text(
        "from sigscope.lab.controller import Lab\n"
        "from sigscope.sources.attach import AttachedTree\n"
        "from sigscope.sources.base import Source\n"
        "from sigscope.sources.replay import Replay\n\n\n"
        "def f(a: Lab, b: AttachedTree, c: Replay) -> list[Source]:\n"
        "    return [a, b, c]\n"
    )
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sigscope.sources.base import Source\n"
        "from sigscope.sources.eventlog import EventLog\n\n\n"
        "def f(a: EventLog) -> Source:\n"
        "    return a\n"
    )
    root = Path(__file__).resolve().parents[2]  # mypy finds sigscope (and its config) there
    cache = tmp_path / "mypy-cache"  # its own: never the checkout's, which mypy runs may share
    args = [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "--follow-imports=silent"]
    ok = subprocess.run([*args, str(good)], capture_output=True, text=True, timeout=300, cwd=root)
    assert ok.returncode == 0, ok.stdout
    no = subprocess.run([*args, str(bad)], capture_output=True, text=True, timeout=300, cwd=root)
    assert no.returncode == 1 and "Source" in no.stdout, no.stdout

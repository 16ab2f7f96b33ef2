"""What the dashboard can show besides a fresh lab: an attached tree, or a recording.

Each settings object makes a *source* with the Lab's surface (``make_lab``), says how its
snapshots reach the app (``observe``) and how to name it in the header (``describe``). The
dashboard keeps one settings object for its whole life, so Restart makes a fresh source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigscope.lab.controller import LabError
from sigscope.observe.sampler import Sampler, Snapshot
from sigscope.sources.attach import AttachedTree
from sigscope.sources.record import RecordingError, load
from sigscope.sources.replay import Replay

SnapshotCallback = Callable[[Snapshot], None]


@dataclass(frozen=True)
class AttachSettings:
    """``sigscope attach PID``: a tree the user owns, watched live; sends only into it."""

    root: int
    strace: bool = False
    # Not a lab of ours: no master to ask for workers, no reaping mode, nothing to restart.
    lab_controls: bool = False

    def make_lab(self) -> AttachedTree:
        return AttachedTree(self.root, strace=self.strace)  # refuses a bad root: AttachError

    def observe(self, lab: Any, callback: SnapshotCallback) -> Sampler | None:
        # The tree keeps itself with its own sampler (it finds new processes with it).
        lab.sampler.subscribe(callback)
        return None  # lab.close() stops it

    def describe(self, lab: Any) -> str:
        comm = lab.processes[self.root].behaviour if self.root in lab.processes else "?"
        return f"attached to pid {self.root} ({comm})" + (" · strace" if self.strace else "")


@dataclass(frozen=True)
class ReplaySettings:
    """``sigscope replay FILE``: a recording played back with no live process."""

    path: Path
    lab_controls: bool = False  # a recording: nothing to act on

    def make_lab(self) -> Replay:
        try:
            return Replay(load(self.path))
        except RecordingError as e:
            raise LabError(str(e)) from None

    def observe(self, lab: Any, callback: SnapshotCallback) -> Sampler | None:
        lab.subscribe_snapshots(callback)
        return None

    def describe(self, lab: Any) -> str:
        return f"replay of {self.path.name} ({lab.length} entries)"

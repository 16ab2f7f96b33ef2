"""Messages that carry the lab's events and the observer's snapshots into the UI.

The lab calls its subscribers on its reader thread and the sampler on its own thread; Textual
widgets may only be touched from the app's thread, so both are handed over as messages with
``post_message`` (thread-safe). Each message carries the *generation* of the lab it came from:
after a restart, late messages of the old lab are recognised and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class LabEvent(Message):
    """One event of the lab's stream (see ``sigscope.events`` for the kinds)."""

    generation: int
    """Which lab (counted from 1, one more at each restart) produced it."""
    event: dict[str, Any]
    """The event itself, exactly as the lab delivered it; never mutated by the UI."""


@dataclass
class SnapshotReady(Message):
    """A /proc snapshot of the lab's processes from the sampler.

    Snapshots replace each other: when the UI is busy, only the newest one waiting in the
    queue is handled (``can_replace``), so a slow frame never builds a backlog of stale scans.
    """

    generation: int
    snapshot: Any
    """A ``sigscope.observe.sampler.Snapshot`` (typed loosely: the observer may not exist)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady) and message.generation == self.generation


@dataclass
class Notice(Message):
    """A notice for the status line (the dashboard's ``notify``: posted, so thread-safe)."""

    text: str
    severity: str
    timeout: float
    markup: bool = True

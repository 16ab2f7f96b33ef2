"""Messages that carry the lab's events and the observer's snapshots into the UI.

The lab calls its subscribers on its reader thread and the sampler on its own thread; Textual
widgets may only be touched from the app's thread, so both are handed over as messages with
``post_message`` (thread-safe). Each message carries the *generation* of the lab it came from:
after a restart, late messages of the old lab are recognised and dropped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class LabEvents(Message):
    """Events of the lab's stream that arrived together (see ``sigscope.events`` for the
    kinds), oldest first: one message per batch, not one per event.

    The lab's reader thread puts events into an inbox (``sigscope.ui.models.inbox``) that posts
    this message when the first event of a batch arrives; the batch is everything in the inbox
    when a handler first reads :attr:`events` (every handler of the message sees the same
    tuple; what arrives after goes into the next message). So a UI that is busy for a while
    takes one larger batch rather than a queue of messages, and no event is dropped.
    """

    generation: int
    """Which lab (counted from 1, one more at each restart) produced them."""
    take: Callable[[], tuple[dict[str, Any], ...]]
    """Hands over the batch (called once, by the first reader of :attr:`events`)."""

    @functools.cached_property
    def events(self) -> tuple[dict[str, Any], ...]:
        """The events themselves, exactly as the lab delivered them; never mutated by the UI."""
        return self.take()

    @classmethod
    def of(cls, generation: int, events: Iterable[dict[str, Any]]) -> LabEvents:
        """A message with a batch known already (a test, a benchmark, a recording)."""
        batch = tuple(events)
        return cls(generation, lambda: batch)


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


@dataclass
class RecordedSnapshot(Message):
    """One recorded scan, handed over in recorded order besides :class:`SnapshotReady` (which
    skips to the newest): the dispositions panel keeps a memory of them (a replay's jump)."""

    generation: int
    snapshot: Any

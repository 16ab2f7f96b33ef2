"""A bounded, thread-safe history of events that callers can wait on.

The :class:`~sigscope.lab.controller.Lab` and the attached tree both keep one: events arrive
on their reader threads (and from the sampler), and tests, lessons, the CLI and the UI wait
for them with timeouts instead of sleeping and hoping.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import IO, Any

Event = dict[str, Any]
Match = Callable[[Event], bool]

HISTORY = 200_000  # events kept in memory; older ones are forgotten, so memory stays flat


class EventTimeout(TimeoutError):
    """An awaited event did not come in time."""


def matcher(match: Match | None, fields: dict[str, Any]) -> Match:
    # Fields first: a predicate may then rely on the event being of the kind it asked for.
    def test(event: Event) -> bool:
        if not all(event.get(k) == v for k, v in fields.items()):
            return False
        return match is None or match(event)

    return test


class EventLog:
    """Events in arrival order, each with an absolute position (a cursor) that never changes.

    Subclasses keep a model in step with the events by overriding :meth:`_track`, which runs
    with the lock held, before waiters are woken.
    """

    timeout_error: type[Exception] = EventTimeout

    def __init__(self, history: int = HISTORY) -> None:
        self._history = history
        self._log: list[Event] = []
        self._base = 0  # absolute position of _log[0]
        self._cond = threading.Condition()
        self._subscribers: list[Callable[[Event], None]] = []
        self._record_file: IO[str] | None = None

    # -- adding --------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` for every new event, on the thread that delivers it."""
        self._subscribers.append(callback)

    def add_event(self, event: Event) -> None:
        """Add an event made outside the lab's processes (e.g. the sampler's ``state``) to the
        stream, as if it had come down the channel: logged, recorded, tracked, and passed to
        subscribers on the caller's thread. Nothing is stamped: the caller sets ``t``, ``pid``,
        ``role`` and ``kind``.

        Raises:
            ValueError: the event lacks one of those fields.
        """
        missing = [k for k in ("t", "pid", "role", "kind") if k not in event]
        if missing:
            raise ValueError(f"an event needs {', '.join(missing)}: {event!r}")
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        with self._cond:
            self._track(event)
            self._log.append(event)
            if len(self._log) > self._history + self._history // 4:
                # Forget the oldest quarter at once: amortised O(1) per event.
                drop = len(self._log) - self._history
                del self._log[:drop]
                self._base += drop
            if self._record_file is not None:
                self._record_file.write(json.dumps(event, separators=(",", ":")) + "\n")
            self._cond.notify_all()
        for callback in self._subscribers:
            callback(event)

    def _track(self, event: Event) -> None:
        """Keep a model in step with the events (called with the lock held)."""

    # -- reading -------------------------------------------------------------------------------
    def cursor(self) -> int:
        """A position in the event history: pass it as ``since`` to see only newer events."""
        with self._cond:
            return self._base + len(self._log)

    def events(self, since: int = 0) -> list[Event]:
        """Events from position ``since`` on (those forgotten already are skipped)."""
        with self._cond:
            return self._log[max(0, since - self._base) :]

    def wait_for(
        self,
        match: Match | None = None,
        timeout: float = 5.0,
        since: int = 0,
        **fields: Any,
    ) -> Event:
        """The first event at or after ``since`` that matches; wait up to ``timeout`` for it.

        ``fields`` must all be equal, e.g. ``wait_for(kind="reaped", child=pid)``.

        Raises:
            the class's ``timeout_error``: no such event in time (the message lists the last
            events seen).
        """
        test = matcher(match, fields)
        deadline = time.monotonic() + timeout
        pos = since
        with self._cond:
            while True:
                for i in range(max(0, pos - self._base), len(self._log)):
                    if test(self._log[i]):
                        return self._log[i]
                pos = self._base + len(self._log)
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = [
                        f"{e.get('role')}:{e.get('kind')}:{e.get('sig', '')}"
                        for e in self._log[-8:]
                    ]
                    raise self.timeout_error(
                        f"no event matching {fields or match} within {timeout}s; "
                        f"last events: {', '.join(recent) or 'none'}"
                    )
                self._cond.wait(left)

    def wait_all(
        self,
        count: int,
        timeout: float = 5.0,
        since: int = 0,
        match: Match | None = None,
        **fields: Any,
    ) -> list[Event]:
        """Wait until ``count`` matching events have arrived since ``since``; return them."""
        test = matcher(match, fields)
        deadline = time.monotonic() + timeout
        found: list[Event] = []
        pos = since
        with self._cond:
            while True:
                for i in range(max(0, pos - self._base), len(self._log)):
                    if test(self._log[i]):
                        found.append(self._log[i])
                pos = self._base + len(self._log)
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self.timeout_error(
                        f"saw {len(found)} of {count} events matching {fields or match} "
                        f"within {timeout}s"
                    )
                self._cond.wait(left)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` holds, re-checking it as each event arrives."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self.timeout_error(f"condition not met within {timeout}s")
                self._cond.wait(min(left, 0.05))

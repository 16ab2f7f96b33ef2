"""Events handed from the lab's reader thread to the app's thread, a batch at a time.

The lab calls its subscribers once per event, on its reader thread; a message per event made a
storm of ten thousand signals ten thousand trips through the app's queue. The inbox collects
events and asks for one wake-up (one message) while none is waiting; the app's thread then
takes everything that has arrived by then, in arrival order. Nothing is dropped or reordered:
the coalescing is of wake-ups, not of events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Event = dict[str, Any]


class EventInbox:
    """A thread-safe list of events with at most one wake-up outstanding.

    Args:
        wake: called (on the producer's thread, outside the lock) when the first event of a
            new batch arrives; the consumer must then call :meth:`take`.
    """

    def __init__(self, wake: Callable[[], object]) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._waiting = False

    def put(self, event: Event) -> None:
        """Add one event (any thread); wake the consumer if it is not already woken."""
        with self._lock:
            self._events.append(event)
            if self._waiting:
                return
            self._waiting = True
        self._wake()

    def take(self) -> tuple[Event, ...]:
        """Every event put since the last take, oldest first; the next put wakes again."""
        with self._lock:
            batch = tuple(self._events)
            self._events.clear()
            self._waiting = False
        return batch

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

"""What the Pilot tests share: wait for a condition, never for a number of seconds.

A fixed ``pilot.pause(0.3)`` waits out a timer and hopes; on a loaded machine it is too short,
and on an idle one it wastes time. ``until`` lets the app run (its messages, its timers) until
the condition holds, and fails naming what it waited for and what the app last said.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual.pilot import Pilot

WAIT = 30.0  # seconds: generous, the machine is shared and slow; only a failure waits it out
POLL = 0.05  # seconds between looks: the app runs meanwhile

T = TypeVar("T")


def _context(app: Any) -> str:
    """What the app says about itself, for a timeout message: its last notifications (apps
    that record them, in ``said``) and its phase (the demo)."""
    parts = []
    said = getattr(app, "said", None)
    if said:
        parts.append(f"last notifications: {said[-5:]}")
    phase = getattr(app, "phase", None)
    if phase is not None:
        parts.append(f"phase {phase}")
    return f" ({'; '.join(parts)})" if parts else ""


async def until(
    pilot: Pilot[Any],
    condition: Callable[[], T],
    what: str = "the condition",
    timeout: float = WAIT,
) -> T:
    """Let the app run until ``condition()`` is truthy and return its value; fail after
    ``timeout`` seconds, saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}{_context(pilot.app)}"
            )
        await pilot.pause(POLL)


class Notes:
    """Mixin for an App class: record every notification it shows in ``said`` as
    (message, severity), to check the words (``class RecordingApp(Notes, SigscopeApp)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.said: list[tuple[str, str]] = []

    def notify(self, message: Any, *args: Any, **kwargs: Any) -> None:
        self.said.append((str(message), str(kwargs.get("severity", "information"))))
        super().notify(message, *args, **kwargs)  # type: ignore[misc]


def said(app: Any, text: str, severity: str | None = None) -> bool:
    """Whether ``app`` (a Notes app) showed a notification containing ``text``."""
    return any(
        text in m and (severity is None or s == severity) for m, s in getattr(app, "said", [])
    )

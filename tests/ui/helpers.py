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


def spy(obj: Any, name: str) -> list[tuple[Any, ...]]:
    """Record each call of ``obj.name`` (still made, from any thread) as its arguments.

    For a check that a key did *not* do something: the key is handled (``pilot.press``
    returns once it is) and the call it must not make is not in the list, at once, instead of
    waiting a while to see whether its effect shows up."""
    calls: list[tuple[Any, ...]] = []
    method = getattr(obj, name)

    def recorded(*args: Any, **kwargs: Any) -> Any:
        calls.append((*args, *kwargs.items()))
        return method(*args, **kwargs)

    setattr(obj, name, recorded)  # on the instance: it shadows the class's method
    return calls


def palette_choice(app: Any) -> str:
    """The command the open command palette runs on enter ('' while none is highlighted):
    its search runs in the background, in batches, so wait for this, not for a while."""
    from textual.command import CommandList

    found = app.screen.query(CommandList)
    if not found:
        return ""
    options = found.first()
    index = options.highlighted
    return "" if index is None else str(options.get_option_at_index(index).prompt)


async def laid_out(pilot: Pilot[Any], timeout: float = WAIT) -> None:
    """Wait until the screen's layout stands still: every widget's region the same on two
    looks in a row, the app idle in between. (A panel shown or hidden, a resize, a tab
    switched is laid out on a later refresh, not at once.)"""
    deadline = time.monotonic() + timeout
    before = None
    while True:
        await pilot.pause()
        now = [(id(w), w.region) for w in pilot.app.screen.query("*")]
        if now == before:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the layout still moved after {timeout:g} s")
        before = now

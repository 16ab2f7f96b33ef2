"""A signal's disposition (what ``signal.signal`` returns or is given) as the word an event
carries: ``SIG_IGN``, ``SIG_DFL``, or ``handler`` for a function."""

from __future__ import annotations

import signal
from typing import Any


def disposition_name(handler: Any, unset: str) -> str:
    """``SIG_IGN``, ``SIG_DFL``, ``handler``; ``unset`` for None, which ``signal.signal`` returns
    for a disposition that was not set from Python (each behaviour words that its own way)."""
    if handler is signal.SIG_IGN:
        return "SIG_IGN"
    if handler is signal.SIG_DFL:
        return "SIG_DFL"
    if handler is None:
        return unset
    return "handler"

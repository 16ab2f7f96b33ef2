"""What most behaviours do with the signals that end a process: report them, then die by them.

TERM, INT and QUIT are how the master (and a user) end a worker. A behaviour that catches them
to *report* them must still end as their default action would, so that the master's ``reaped``
event says "killed by SIGTERM" exactly as for a process that never caught it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

from sigscope.signames import UNCATCHABLE, SignalError, parse_signal, signal_name

from . import BehaviourError

ENDING = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def report_or_end(worker: Any, arrived: list[tuple[int, int]], **fields: Any) -> None:
    """Emit ``received`` for each arrival (oldest first); die by the first ending signal."""
    for sig, t in arrived:
        worker.emit("received", t=t, sig=signal_name(sig), **fields)
        if sig in ENDING:
            worker.die_by(sig)


def wait_for_trigger(worker: Any, after: float, trigger: int) -> None:
    """Report arrivals (dying by an ending signal) until ``after`` seconds have passed, or,
    with ``after`` 0, until ``trigger`` arrives: the learner's signal that starts the show."""
    if after > 0:
        deadline = time.monotonic() + after
        while (left := deadline - time.monotonic()) > 0:
            report_or_end(worker, worker.wait(left))
        return
    while True:
        arrived = worker.wait()
        report_or_end(worker, arrived)
        if any(s == trigger for s, _t in arrived):
            return


def arrivals(worker: Any) -> Iterator[set[int]]:
    """For a behaviour that catches only its own signals (not TERM, INT or QUIT, which then keep
    their default action): forever, wait, report each arrival (``received``), and yield the
    signals that came."""
    while True:
        arrived = worker.wait()
        worker.report(arrived)
        yield {sig for sig, _t in arrived}


def catchable(name: str, behaviour: str, key: str) -> int:
    """Parse a signal parameter that must name a signal a process can block, catch or ignore.

    Raises:
        BehaviourError: not a signal, or SIGKILL / SIGSTOP (which the kernel never lets a
            process block, catch or ignore).
    """
    try:
        sig = parse_signal(name)
    except SignalError as e:
        raise BehaviourError(f"{behaviour}: parameter {key!r}: {e}") from None
    if sig in UNCATCHABLE:
        raise BehaviourError(
            f"{behaviour}: parameter {key!r}: {signal_name(sig)} cannot be blocked, caught or "
            "ignored (the kernel does not allow it)"
        )
    return sig


def catchable_set(names: list[str], behaviour: str, key: str, to: str) -> set[int]:
    """Parse a list parameter of signals a process can block, catch or ignore (each as
    :func:`catchable`); an empty list names no signal ``to`` do what the behaviour does.

    Raises:
        BehaviourError: the list is empty, or one of its names is refused by :func:`catchable`.
    """
    if not names:
        raise BehaviourError(f"{behaviour}: parameter {key!r} names no signal to {to}")
    return {catchable(name, behaviour, key) for name in names}

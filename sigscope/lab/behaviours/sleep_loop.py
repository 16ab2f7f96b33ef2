"""sleep-loop: the seed's main loop — sleep, wake, look at the signal queue, sleep again.

The seed's master waits for signals like this::

    while True:
        time.sleep(1)
        while SIG_QUEUE: handle(SIG_QUEUE.pop(0))

It is the anti-pattern the rest of the lab avoids (facts.md, correction 5). It wakes every
``interval`` seconds whether anything happened or not — 86,400 times a day for ``interval=1``,
visible as ``voluntary_ctxt_switches`` climbing in ``/proc/PID/status`` — and it reacts to a
signal only at its next wake-up, up to ``interval`` late. (``time.sleep`` is interrupted by the
signal, but PEP 475 makes Python sleep on for the rest of the interval after the handler
returns; the loop itself notices the queue only when the sleep ends.)

Parameters: ``interval`` (seconds between wake-ups, 0.01 to 60; default 1.0, the seed's).

Events: ``received`` for each signal, emitted when the loop *notices* it, with ``t`` = when the
handler ran and ``noticed_after`` = seconds from then until the loop looked. No event per
wake-up (that would flood the channel; the wake-ups are counted by the kernel). TERM, INT and
QUIT end the worker when noticed.
"""

from __future__ import annotations

import time
from typing import Any

from sigscope.events import now
from sigscope.signames import catchable_signals, signal_name

from . import BehaviourError, behaviour
from ._ending import ENDING


def _check(params: dict[str, Any]) -> None:
    if not 0.01 <= params["interval"] <= 60:
        raise BehaviourError(
            f"sleep-loop: parameter 'interval' must be from 0.01 to 60 seconds, "
            f"not {params['interval']}"
        )


@behaviour(
    "sleep-loop",
    "the seed's loop: sleeps 1 s, wakes, checks its queue: wakes for nothing, reacts late",
    check=_check,
    interval=1.0,
)
def sleep_loop(worker: Any, params: dict[str, Any]) -> None:
    interval: float = params["interval"]
    worker.catch(catchable_signals())  # the handler only appends to worker.arrived
    worker.ready()
    while True:
        time.sleep(interval)
        looked = now()
        for sig, t in worker.take():
            worker.emit(
                "received", t=t, sig=signal_name(sig), noticed_after=round((looked - t) / 1e9, 6)
            )
            if sig in ENDING:
                worker.die_by(sig)

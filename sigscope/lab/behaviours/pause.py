"""pause: sleeps in ``signal.pause()`` until a signal's handler has run, and says which one.

``signal.pause()`` is pause(2): it sleeps until *a* signal is delivered to a handler, then
returns after Python has run that handler. It is the seed's idea of "wait for a signal", and it
has a race that Python cannot close (facts.md): a signal that arrives *before* ``pause()`` is
entered does not wake it. Its handler has run already (or runs at once), and ``pause()`` then
sleeps on until some other signal comes. C closes the race with ``sigsuspend``; Python has none,
so use a blocked signal and ``sigwaitinfo`` (the ``sigwait`` behaviour) or a wakeup fd (``idle``).

This loop is the naive one on purpose: after each wake-up it does ``work`` seconds of
(simulated) work, then calls ``pause()`` without looking at what arrived meanwhile. A signal
sent during the work is handled at once, but the loop only notices it when ``pause()`` returns
for a later signal. The ``call`` event of that later wake-up lists it under ``missed``, with how
long it waited (``late``). With ``work=0`` the window is the few instructions between the loop's
last look and the pause(2) system call: rare, but real.

The ``waiting`` event says the worker *is* asleep in pause(2), not that it is about to be
(:mod:`._asleep`): written by the main thread just before the call, it would invite the very
race above — a signal sent the instant the event appears could arrive before ``pause()``. The
same holds for ``ready``, written with the first ``waiting``.

Parameters:
    work: seconds of work after each wake-up (a ``time.sleep``, which signals interrupt and
        Python resumes), during which signals are handled but not waited for. Default 0.

Events: ``call`` (``call="pause()"``, ``state="waiting"``, ``confirmed``) for each sleep;
``received`` for each handler run; ``call`` (``state="returned"``, ``waited`` s, ``woke_by`` =
signals handled after pause() began, ``missed`` = signals handled before it began, ``late`` =
seconds the oldest missed one waited) after it; ``note`` explaining a miss. TERM, INT and QUIT
end the worker, also when they arrive during the work (the loop checks for them before pausing).
"""

from __future__ import annotations

import signal
import time
from typing import Any

from sigscope.events import now
from sigscope.signames import catchable_signals, signal_name

from . import behaviour, not_negative
from ._asleep import SleepReporter
from ._ending import ENDING, report_or_end

CALL = "pause()"


def _check(params: dict[str, Any]) -> None:
    not_negative("pause", params, "work", unit=" seconds")


@behaviour(
    "pause",
    "sleeps in signal.pause() and says which signal woke it (and which ones it missed)",
    check=_check,
    work=0.0,
)
def pause(worker: Any, params: dict[str, Any]) -> None:
    work: float = params["work"]
    worker.catch(catchable_signals())
    reporter = SleepReporter(worker, CALL, "pause")
    while True:
        # Only the ending signals are looked for here: the others stay queued, so that a
        # signal handled during the work shows up as missed by the pause() that follows.
        if any(sig in ENDING for sig, _t in worker.arrived):
            report_or_end(worker, worker.take())
        entered = now()
        reporter.before(entered)
        signal.pause()
        reporter.after()
        woke = now()
        arrived = worker.take()
        missed = [(sig, t) for sig, t in arrived if t < entered]
        woke_by = [signal_name(sig) for sig, t in arrived if t >= entered]
        fields: dict[str, Any] = {}
        if missed:
            fields["late"] = round((woke - missed[0][1]) / 1e9, 6)
        worker.emit(
            "call",
            t=woke,
            call=CALL,
            state="returned",
            waited=round((woke - entered) / 1e9, 6),
            woke_by=woke_by,
            missed=[signal_name(s) for s, _ in missed],
            **fields,
        )
        if missed:
            worker.note(
                f"{', '.join(signal_name(s) for s, _ in missed)} was handled before pause() "
                f"began, so it did not wake pause(); it waited {fields['late']:.3f} s for "
                f"{', '.join(woke_by) or 'another signal'} to wake it",
                missed=[signal_name(s) for s, _ in missed],
            )
        report_or_end(worker, arrived)
        if work > 0:
            time.sleep(work)  # signals during this are handled at once, but nobody waits for them

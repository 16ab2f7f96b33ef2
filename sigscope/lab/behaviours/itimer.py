"""itimer: ``setitimer`` with one of the three interval timers, reporting each expiry.

========== ================================ ===========
timer      counts                           signal
========== ================================ ===========
REAL       wall-clock time                  SIGALRM
VIRTUAL    this process's user CPU time     SIGVTALRM
PROF       user + system CPU time           SIGPROF
========== ================================ ===========

A VIRTUAL or PROF timer only runs down while the process uses CPU, so with ``burn`` (the
default) the worker spins in a Python loop until the timer's signal arrives. With
``burn=false`` it waits idle on its wakeup fd: a REAL timer still fires, but a VIRTUAL one
hardly moves — its ``getitimer`` value stays where it was armed, running down only by the user
CPU the worker spends handling a signal (facts.md): very slowly, not never. The worker says so
in a ``note`` and repeats the value whenever another signal wakes it.

Parameters:
    which: REAL, VIRTUAL or PROF (``ITIMER_`` prefix and case optional). Default REAL.
    value: seconds to the first expiry (> 0). Default 0.5.
    interval: seconds between later expiries; 0 makes it one-shot. Default 0.5.
    burn: spin the CPU while waiting for a VIRTUAL or PROF timer (ignored for REAL, which
        counts wall time; the worker waits idle). Default true.
    ticks: expiries to report before the timer is cancelled and the worker idles; 0 means
        never stop. Default 10 (a burning worker uses a whole core until then).
    start: a signal to wait for before arming the timer (e.g. ``SIGUSR1``); empty (the
        default) arms it at once. A lesson's lab can then hold a worker per timer, each armed
        when the learner says so (the dashboard starts new workers with default parameters
        only). TERM, INT, QUIT and the timer's own signal are refused.

Events: ``timer`` (``timer`` = ``ITIMER_REAL`` / ``ITIMER_VIRTUAL`` / ``ITIMER_PROF``,
``action`` = ``armed`` / ``tick`` (an expiry of a periodic timer) / ``fired`` (of a one-shot
one) / ``cancelled``, ``value`` and ``interval`` from ``getitimer`` right after, ``count`` =
expiries so far, ``cpu`` = this process's user + system CPU seconds); ``received`` for each
handler run; ``note`` for an idle VIRTUAL / PROF timer (with ``value``, which stays constant).
TERM, INT and QUIT end the worker.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from sigscope.signames import catchable_signals, signal_name

from . import BehaviourError, behaviour, not_negative
from ._ending import ENDING, catchable, report_or_end, wait_for_trigger

TIMERS: dict[str, tuple[int, int]] = {
    "REAL": (signal.ITIMER_REAL, signal.SIGALRM),
    "VIRTUAL": (signal.ITIMER_VIRTUAL, signal.SIGVTALRM),
    "PROF": (signal.ITIMER_PROF, signal.SIGPROF),
}


def timer_key(text: str) -> str:
    """``virtual``, ``ITIMER_VIRTUAL`` -> ``VIRTUAL``; BehaviourError if it names no timer."""
    key = text.strip().upper().removeprefix("ITIMER_")
    if key not in TIMERS:
        raise BehaviourError(
            f"itimer: parameter 'which' must be REAL, VIRTUAL or PROF, not {text!r}"
        )
    return key


def _check(params: dict[str, Any]) -> None:
    timer_key(params["which"])
    if not params["value"] > 0:
        raise BehaviourError(
            f"itimer: parameter 'value' must be > 0 seconds (0 disarms), not {params['value']}"
        )
    not_negative("itimer", params, "interval", unit=" seconds")
    not_negative("itimer", params, "ticks")
    if params["start"]:
        start = catchable(params["start"], "itimer", "start")
        if start in ENDING or start == TIMERS[timer_key(params["which"])][1]:
            raise BehaviourError(
                f"itimer: parameter 'start' cannot be {signal_name(start)}: TERM, INT and QUIT "
                "end the worker, and the timer's own signal would be taken for an expiry"
            )


def _cpu() -> float:
    times = os.times()
    return round(times.user + times.system, 3)


@behaviour(
    "itimer",
    "setitimer REAL / VIRTUAL / PROF; reports each expiry; an idle VIRTUAL timer barely moves",
    check=_check,
    which="REAL",
    value=0.5,
    interval=0.5,
    burn=True,
    ticks=10,
    start="",
)
def itimer(worker: Any, params: dict[str, Any]) -> None:
    key = timer_key(params["which"])
    which, timer_sig = TIMERS[key]
    name = f"ITIMER_{key}"
    burn = params["burn"] and key != "REAL"
    ticks: int = params["ticks"]
    worker.catch(catchable_signals())

    def timer_event(action: str, **fields: Any) -> None:
        value, interval = signal.getitimer(which)
        worker.emit(
            "timer",
            timer=name,
            action=action,
            value=round(value, 6),
            interval=round(interval, 6),
            cpu=_cpu(),
            **fields,
        )

    worker.ready()
    if params["start"]:
        _wait_for_start(worker, name, catchable(params["start"], "itimer", "start"))
    signal.setitimer(which, params["value"], params["interval"])
    timer_event("armed")
    idle_cpu_timer = key != "REAL" and not burn
    if idle_cpu_timer:
        _idle_note(worker, name, which)
    count = 0
    while ticks == 0 or count < ticks:
        if burn:
            spins = 0
            while not worker.arrived:  # user CPU time: the only thing a VIRTUAL timer counts
                spins += 1
            arrived = worker.take()
        else:
            arrived = worker.wait()
        fired = sum(1 for sig, _t in arrived if sig == timer_sig)
        for _ in range(fired):
            count += 1
            timer_event("tick" if params["interval"] > 0 else "fired", count=count)
        report_or_end(worker, arrived)
        if idle_cpu_timer and len(arrived) > fired:
            _idle_note(worker, name, which)
        if fired and params["interval"] == 0:
            break  # a one-shot timer has fired; nothing more will come
    signal.setitimer(which, 0)
    timer_event("cancelled", count=count)
    while True:
        report_or_end(worker, worker.wait())


def _idle_note(worker: Any, name: str, which: int) -> None:
    value, interval = signal.getitimer(which)
    worker.note(
        f"{name} is armed and this process is idle: the timer counts only the CPU time this "
        f"process uses (a little to handle a signal, none while it waits), so its value stays "
        f"near {value:.3f} s: it would take thousands of wake-ups to make it fire",
        timer=name,
        value=round(value, 6),
        interval=round(interval, 6),
        cpu=_cpu(),
    )


def _wait_for_start(worker: Any, name: str, start: int) -> None:
    """Idle (reporting every signal) until ``start`` arrives: the learner arms the timer."""
    worker.note(
        f"{name} is not armed yet: it will be when {signal_name(start)} arrives",
        timer=name,
        start=signal_name(start),
    )
    wait_for_trigger(worker, 0, start)

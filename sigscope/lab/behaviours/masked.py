"""masked: blocks signals with ``pthread_sigmask``, so they wait as *pending*, then unblocks them.

The seed says signals cannot be blocked, even in a critical section (facts.md, correction 8).
They can: a blocked signal is neither lost nor acted on; the kernel keeps it pending — ShdPnd
in /proc/PID/status for a signal sent to the process, SigPnd for one sent to a thread — and
delivers it the moment the mask lets it through. A standard signal sent five times while
blocked is still one pending bit, so it is delivered once.

Parameters:
    signals: the signals to block (default SIGUSR1). SIGKILL and SIGSTOP are refused: the
        kernel silently leaves them out of any mask.
    seconds: how long a block lasts; ``0`` blocks until the release signal arrives.
    release: the signal that ends a block early (default SIGUSR2). It is never blocked, so it
        always gets through; sent while nothing is blocked, it starts a new block.

Events: ``blocked`` (``signals``, ``seconds``, ``release``) when the mask goes up;
``unblocked`` (``signals``, ``pending`` = what was pending at that moment, ``why`` = ``timer``
or ``release``; ``t`` is just before the ``pthread_sigmask`` call) when it comes down; then a
``received`` for each signal whose handler ran on the unblock. ``signal.pthread_sigmask``
runs the Python handlers of the signals it lets through before it returns, so those
``received`` events follow ``unblocked`` at once. TERM, INT and QUIT end the worker (unless
blocked: then they end it when the block ends).
"""

from __future__ import annotations

import signal
import time
from typing import Any

from sigscope.events import now
from sigscope.signames import signal_name

from . import BehaviourError, behaviour, not_negative
from ._ending import ENDING, catchable, catchable_set, report_or_end


def _check(params: dict[str, Any]) -> None:
    blocked = catchable_set(params["signals"], "masked", "signals", "block")
    release = catchable(params["release"], "masked", "release")
    if release in blocked:
        raise BehaviourError(
            f"masked: the release signal {signal_name(release)} cannot also be blocked "
            "(it would never get through to end the block)"
        )
    if release in ENDING:
        raise BehaviourError(
            f"masked: the release signal cannot be {signal_name(release)}: TERM, INT and QUIT "
            "end the worker"
        )
    not_negative("masked", params, "seconds")


@behaviour(
    "masked",
    "blocks signals (pthread_sigmask) so they show as pending, then unblocks: they are delivered",
    check=_check,
    signals=["SIGUSR1"],
    seconds=0.0,
    release="SIGUSR2",
)
def masked(worker: Any, params: dict[str, Any]) -> None:
    sigs = [catchable(s, "masked", "signals") for s in params["signals"]]
    names = [signal_name(s) for s in sigs]
    release = catchable(params["release"], "masked", "release")
    seconds: float = params["seconds"]
    # Handlers first: a blocked signal that arrives must find one when the block ends.
    worker.catch(set(sigs) | {release} | set(ENDING))

    deadline: float | None = None

    def block() -> None:
        nonlocal deadline
        signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        deadline = time.monotonic() + seconds if seconds > 0 else None
        worker.emit("blocked", signals=names, seconds=seconds, release=signal_name(release))

    def unblock(why: str) -> None:
        nonlocal deadline
        pending = sorted(signal.sigpending() & set(sigs))
        t = now()
        # The kernel delivers what was pending on the way out of this call, and CPython runs
        # the Python-level handlers before pthread_sigmask returns (it checks for signals).
        signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)
        deadline = None
        delivered = worker.take()
        worker.emit(
            "unblocked", t=t, signals=names, pending=[signal_name(s) for s in pending], why=why
        )
        report_or_end(worker, delivered)

    is_blocked = True
    block()
    worker.ready()
    while True:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        arrived = worker.wait(timeout)
        report_or_end(worker, arrived)
        released = any(sig == release for sig, _t in arrived)
        if is_blocked and released:
            unblock("release")
            is_blocked = False
        elif is_blocked and deadline is not None and time.monotonic() >= deadline:
            unblock("timer")
            is_blocked = False
        elif not is_blocked and released:
            block()
            is_blocked = True

"""busy-c: a long C call in a loop (hashing a large buffer), and how late Python's handler runs.

Python's signal handling has two halves (facts.md). The C-level handler runs the moment the
kernel delivers the signal: it only sets a flag and writes the signal number to the wakeup fd.
The Python handler runs later, in the main thread, between bytecodes — so not while one long C
call (here ``hashlib``) is running. A signal sent during a 60 ms hash waits up to 60 ms.

Two kinds of coalescing show here too. The kernel keeps one *pending* bit per standard signal,
so signals sent while one is still pending merge; and Python's flag is one per signal, so every
delivery during one C call ends in a single handler run. A burst of 1000 SIGUSR1 to this worker
ends in far fewer handler runs: the ``counted`` event says how many deliveries the kernel made
(bytes on the wakeup fd, ``tripped``) and how many times the handler ran (``handled``).

Parameters:
    mb: size of the buffer hashed by each C call, in MiB (1 to 1024). Default 64.
    algorithm: a hashlib algorithm (sha256, sha1, md5, blake2b, ...). Default sha256.
    calls: how many calls to make before idling; 0 means never stop. Default 0. A busy worker
        uses a whole CPU core while it calls.

Events: ``busy`` after each call during which signals arrived (``call``, ``duration`` s,
``started`` and ``ended`` in ns, ``handled`` = the signals whose handler ran after it), then a
``received`` for each handler run (``t`` = when it ran; ``late_at_most`` = seconds from the
start of the C call until then: the signal came during the call, so it waited at most that),
and ``counted`` (``handled`` and ``tripped``: totals per signal since the start). The delay
from the controller's ``sent`` event to ``received`` is the handler's lateness. TERM, INT and
QUIT end the worker after the current call.
"""

from __future__ import annotations

import functools
import itertools
import operator
import os
import signal
import time
from collections import Counter
from typing import Any

from sigscope.signames import catchable_signals, signal_name

from . import BehaviourError, behaviour, not_negative
from ._drain import drain
from ._ending import report_or_end


# hashlib is imported when a busy-c worker is checked or runs, not with the module: the lab's
# master imports every behaviour as it starts, and hashlib (OpenSSL) took 2.5 ms of that.
@functools.cache
def algorithms() -> list[str]:
    """The algorithms a worker may use (hashlib's guaranteed ones with a fixed digest size)."""
    import hashlib

    return sorted(a for a in hashlib.algorithms_guaranteed if not a.startswith("shake"))


def _check(params: dict[str, Any]) -> None:
    if not 1 <= params["mb"] <= 1024:
        raise BehaviourError(f"busy-c: parameter 'mb' must be 1 to 1024, not {params['mb']}")
    if params["algorithm"] not in algorithms():
        raise BehaviourError(
            f"busy-c: parameter 'algorithm' must be one of {', '.join(algorithms())}, "
            f"not {params['algorithm']!r}"
        )
    not_negative("busy-c", params, "calls")


@behaviour(
    "busy-c",
    "hashes a large buffer in a loop: the Python handler runs only after each C call returns",
    check=_check,
    mb=64,
    algorithm="sha256",
    calls=0,
)
def busy_c(worker: Any, params: dict[str, Any]) -> None:
    import hashlib

    buffer = bytes(params["mb"] << 20)
    algorithm: str = params["algorithm"]
    hash_in_c = getattr(hashlib, algorithm)  # the C constructor, not hashlib.new's Python code
    # Three C calls made one after the other by C (starmap), with no bytecode in between, so
    # no Python handler can run between them: the two clock readings bracket the C work
    # exactly. (With ``started = now()`` on its own line, a handler would run just after the
    # hash returned and *before* the second reading.)
    bracketed = [(time.monotonic_ns,), (hash_in_c, buffer), (time.monotonic_ns,)]
    label = f"hashlib.{algorithm}({params['mb']} MiB)"
    # A wakeup fd of our own: one byte per C-level delivery, read after each call.
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    workers_own = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    worker.catch(catchable_signals())
    worker.ready()
    handled: Counter[str] = Counter()
    tripped: Counter[str] = Counter()
    made = 0
    while params["calls"] == 0 or made < params["calls"]:
        started, _digest, ended = list(itertools.starmap(operator.call, bracketed))
        made += 1
        # The handlers of signals delivered during the call have run by now (between the
        # bytecodes that follow it).
        arrived = worker.take()
        deliveries = drain(wake_r)
        if not arrived and not deliveries:
            continue
        tripped.update(signal_name(s) for s in deliveries)
        handled.update(signal_name(s) for s, _t in arrived)
        worker.emit(
            "busy",
            call=label,
            duration=round((ended - started) / 1e9, 6),
            started=started,
            ended=ended,
            handled=[signal_name(s) for s, _t in arrived],
        )
        worker.emit("counted", handled=dict(handled), tripped=dict(tripped))
        for sig, t in arrived:
            report_or_end(worker, [(sig, t)], late_at_most=round((t - started) / 1e9, 6))
    signal.set_wakeup_fd(workers_own, warn_on_full_buffer=False)  # worker.wait() polls it
    os.close(wake_r)
    os.close(wake_w)
    worker.note(f"made {made} calls; now idle")
    while True:
        arrived = worker.wait()
        handled.update(signal_name(s) for s, _t in arrived)
        worker.emit("counted", handled=dict(handled), tripped=dict(tripped))
        report_or_end(worker, arrived)

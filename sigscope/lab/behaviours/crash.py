"""crash: after a delay, exits with a chosen code, raises an exception, or aborts (SIGABRT).

Used for crash loops: the master respawns a dead worker, and a slot whose workers keep dying
quickly (within the master's ``QUICK_DEATH``, 1 s) waits longer and longer before the next
respawn — the ``backoff`` events show the delay doubling. Each way of dying reads differently
in the master's ``reaped`` event:

* ``exit``: exited with ``code`` (what ``sys.exit(code)`` gives);
* ``raise``: an uncaught exception: the worker reports it as an ``error`` (the traceback) and
  exits with 1, as a Python program does;
* ``abort``: ``os.abort()``: killed by SIGABRT (-6 in subprocess, 134 in a shell). Its default
  action dumps core; lab processes run with RLIMIT_CORE 0, so no core file is written.

Parameters: ``after`` (seconds before crashing; default 0.5, below ``QUICK_DEATH`` so that each
death counts towards back-off), ``how`` (exit | raise | abort), ``code`` (0-255; only for exit).

Events: ``crash`` (``how``, ``code`` for exit, ``after``) just before it happens; until then,
like ``idle`` (TERM, INT, QUIT end it early).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from sigscope.signames import catchable_signals

from . import BehaviourError, behaviour, not_negative
from ._ending import report_or_end

HOW = ("exit", "raise", "abort")


class CrashOnPurpose(RuntimeError):
    """What ``crash`` raises with ``how=raise``: nothing catches it but the worker's last resort."""


def _check(params: dict[str, Any]) -> None:
    if params["how"] not in HOW:
        raise BehaviourError(
            f"crash: parameter 'how' must be one of {', '.join(HOW)}, not {params['how']!r}"
        )
    if not 0 <= params["code"] <= 255:
        raise BehaviourError(
            "crash: parameter 'code' must be 0-255 (an exit status is one byte), "
            f"not {params['code']}"
        )
    not_negative("crash", params, "after")


@behaviour(
    "crash",
    "after a delay, exits with a code, raises, or aborts (SIGABRT): makes crash loops",
    check=_check,
    after=0.5,
    how="exit",
    code=3,
)
def crash(worker: Any, params: dict[str, Any]) -> None:
    after: float = params["after"]
    how: str = params["how"]
    worker.catch(catchable_signals())
    worker.ready()
    deadline = time.monotonic() + after
    while (left := deadline - time.monotonic()) > 0:
        report_or_end(worker, worker.wait(left))
    if how == "exit":
        worker.emit("crash", how=how, code=params["code"], after=after)
        worker.exit(params["code"])
    worker.emit("crash", how=how, after=after)
    if how == "raise":
        raise CrashOnPurpose(f"the crash behaviour raised this on purpose after {after} s")
    worker.emit("exit", code=-signal.SIGABRT, sig="SIGABRT")
    # We caught SIGABRT above; abort() would re-raise it with the default action anyway, but
    # restoring the default first makes the death plain: killed by SIGABRT.
    signal.signal(signal.SIGABRT, signal.SIG_DFL)
    os.abort()

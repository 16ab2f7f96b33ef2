"""stubborn: ignores SIGTERM (SIG_IGN), so a graceful shutdown has to escalate to SIGKILL.

An ignored signal is discarded when it is sent: it is never pending, no handler runs, and the
process does not even notice (SigIgn in /proc/PID/status shows the bit). A master that sends
TERM and waits must therefore give up after its grace period and send KILL, which no process
can ignore — the reason a correct master has a bounded grace period (facts.md, correction 4).

Parameters:
    signals: what to ignore (default SIGTERM). SIGKILL and SIGSTOP are refused: ignoring them
        is not allowed (``signal.signal(SIGKILL, SIG_IGN)`` raises OSError).

Events: one ``disposition`` per ignored signal (``sig``, ``disposition: "SIG_IGN"``,
``previous``), then like ``idle``: a ``received`` for every other signal, and INT, QUIT (and
TERM, if it is not ignored) end the worker.
"""

from __future__ import annotations

import signal
from typing import Any

from sigscope.signames import catchable_signals, signal_name

from . import behaviour
from ._dispositions import disposition_name
from ._ending import catchable_set, report_or_end


def _check(params: dict[str, Any]) -> None:
    catchable_set(params["signals"], "stubborn", "signals", "ignore")


@behaviour(
    "stubborn",
    "ignores SIGTERM (SIG_IGN): a graceful shutdown must escalate to SIGKILL",
    check=_check,
    signals=["SIGTERM"],
)
def stubborn(worker: Any, params: dict[str, Any]) -> None:
    ignored = catchable_set(params["signals"], "stubborn", "signals", "ignore")
    for sig in sorted(ignored):
        previous = signal.signal(sig, signal.SIG_IGN)
        worker.emit(
            "disposition",
            sig=signal_name(sig),
            disposition="SIG_IGN",
            previous=disposition_name(previous, unset="unknown"),
        )
    worker.catch(s for s in catchable_signals() if s not in ignored)
    worker.ready()
    while True:
        report_or_end(worker, worker.wait())

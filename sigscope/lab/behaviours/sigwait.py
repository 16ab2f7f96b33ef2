"""sigwait: blocks a set of signals and takes them one by one with ``sigwaitinfo``.

No handler is involved. The signals are blocked with ``pthread_sigmask``, so the kernel keeps
them pending, and ``signal.sigwaitinfo`` takes one pending signal at a time, with its siginfo:
who sent it (``si_pid``, ``si_uid``) and how (``si_code``: SI_USER for ``kill()`` and
``pidfd_send_signal``; SI_QUEUE for ``sigqueue``; SI_KERNEL for some of the kernel's own, e.g.
SIGALRM from ``alarm``; ``tgkill``/``pthread_kill`` are documented as SI_TKILL but arrive as
SI_USER on the 6.18 kernel this was measured on — see
``tests/test_lesson_facts.py::test_pthread_kill_and_tgkill_arrive_as_si_user_on_this_kernel``).

This is the way to count signals exactly (facts.md): a real-time signal queues — every one
sent is pending as its own entry, up to RLIMIT_SIGPENDING — and ``sigwaitinfo`` takes them one
by one, where a Python handler would run once for many. A standard signal still has a single
pending bit: those sent while one is pending are merged by the kernel.

The worker emits a ``received`` for each signal it takes, but under a burst the event channel
may be full and drop some. So it also keeps totals and, once no signal has come for ``quiet``
seconds (or every second while they keep coming), emits them in a ``counted`` event (again
later, if that one was dropped): the exact count survives a flood. While nothing is owed it
blocks in ``sigwaitinfo`` with no timeout.

Parameters:
    signals: the signals to block and take (list; default SIGUSR1 and SIGRTMIN+0..+2).
        SIGKILL and SIGSTOP cannot be blocked and are refused.
    quiet: seconds without a signal before the totals are emitted (> 0). Default 0.2.

Events: ``received`` (``sig``, ``via="sigwaitinfo"``, ``si_pid``, ``si_uid``, ``si_code``
(number), ``si_code_name``, ``n`` = that signal's count so far); ``counted`` (``counts`` =
totals per signal since the start, ``total``); ``note`` at the start naming the blocked set.
Signals outside the set keep their default action: TERM ends the worker by its default (no
``exit`` event: the kernel kills it), unless TERM is in the set, in which case the worker takes
it, reports it, and then dies by it.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from typing import Any

from sigscope.observe.siginfo import si_code_name
from sigscope.signames import parse_signal, signal_name

from . import BehaviourError, behaviour
from ._ending import ENDING, catchable_set

EVERY = 1.0  # seconds: totals also go out this often while signals keep coming


def _check(params: dict[str, Any]) -> None:
    catchable_set(params["signals"], "sigwait", "signals", "wait for")
    if not params["quiet"] > 0:
        raise BehaviourError(
            f"sigwait: parameter 'quiet' must be > 0 seconds, not {params['quiet']}"
        )


@behaviour(
    "sigwait",
    "blocks signals and takes them with sigwaitinfo: sender, si_code, exact counts (RT queue)",
    check=_check,
    signals=["SIGUSR1", "SIGRTMIN+0", "SIGRTMIN+1", "SIGRTMIN+2"],
    quiet=0.2,
)
def sigwait(worker: Any, params: dict[str, Any]) -> None:
    wanted = {parse_signal(name) for name in params["signals"]}
    quiet: float = params["quiet"]
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    names = [signal_name(s) for s in sorted(wanted)]
    worker.note(f"blocked {', '.join(names)}; taking them with sigwaitinfo", signals=names)
    worker.ready()
    counts: Counter[str] = Counter()
    owed = False  # totals changed since the last counted event that got through
    last_counted = time.monotonic()

    def emit_counted() -> bool:
        nonlocal last_counted
        last_counted = time.monotonic()
        return worker.events.emit(
            "counted", index=worker.index, counts=dict(counts), total=counts.total()
        )

    while True:
        if owed and time.monotonic() - last_counted >= EVERY:
            owed = not emit_counted()  # a stream that never pauses still gets totals
        if owed:
            info = signal.sigtimedwait(wanted, quiet)
            if info is None:  # quiet for a while: the burst is over, report the totals
                owed = not emit_counted()
                continue
        else:
            info = signal.sigwaitinfo(wanted)
        sig = info.si_signo
        name = signal_name(sig)
        counts[name] += 1
        owed = True
        worker.emit(
            "received",
            sig=name,
            via="sigwaitinfo",
            si_pid=info.si_pid,
            si_uid=info.si_uid,
            si_code=info.si_code,
            si_code_name=si_code_name(info.si_code, sig),
            n=counts[name],
        )
        if sig in ENDING:
            emit_counted()
            worker.die_by(sig)

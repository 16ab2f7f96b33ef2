"""rtlimit: real-time signals past ``RLIMIT_SIGPENDING``: ``sigqueue`` fails, ``kill`` loses them.

A real-time signal queues: each one sent is its own entry, with its siginfo. The entries are
counted per *real user* against the receiving process's ``RLIMIT_SIGPENDING`` (getrlimit(2);
``SigQ`` in /proc/PID/status is that user's count / this limit). Past the limit the kernel
refuses to allocate an entry (kernel/signal.c, ``__send_signal_locked``): ``sigqueue`` (SI_QUEUE)
fails with EAGAIN (sigqueue(3)), but ``kill`` (SI_USER) still reports success, and only the
pending *bit* is set: the signal is already pending, so that instance is simply lost.

This worker lowers its own soft ``RLIMIT_SIGPENDING`` to what its user has queued already (the
first number of SigQ, measured: other processes of the user hold some) plus ``room``, and blocks
``signal``. On
``trigger`` it sends itself ``burst`` queued signals (values 0, 1, …) and then ``burst``
``kill``s, and takes what is pending from a non-blocking ``signalfd``; it counts
each. On ``drain`` it only takes and counts what others (the controller's ``--send``) queued.
The count is the user's: other pending signals of the same user come and go, so about ``room``
fit (exactly ``room`` if no other process of the user queues or takes one meanwhile). A ``kill``
past the limit still sets the pending bit: when no entry of that signal is queued, that bit is
delivered once, as SI_USER with no sender (``si_pid`` 0) — the rest of the burst is lost.

Parameters: ``signal`` (a real-time signal, default SIGRTMIN+1), ``room`` (1-1000, default 4),
``burst`` (1-1000, default 12), ``trigger`` (default SIGUSR1), ``drain`` (default SIGUSR2).

Events: ``rtlimit`` (``action`` = ``set``: ``limit``, ``room``, ``already`` (the user's queued
count then), ``sig``, ``hard``); ``rtlimit``
(``action`` = ``burst``: ``sig``, ``limit``, ``queued_ok``, ``queued_eagain``, ``kill_ok``,
``sent_ok`` (queued_ok + kill_ok: all that reported success), ``received``, ``lost`` (sent_ok −
received), ``values`` (the values taken, in order), ``sigq`` (the SigQ line before taking));
``rtlimit`` (``action`` = ``drained``: ``received``, ``values``, ``codes`` (si_code names));
``received`` for ``trigger`` / ``drain``. TERM, INT and QUIT keep their default action.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
from typing import Any

from sigscope import libc as L
from sigscope import procfs
from sigscope.observe.siginfo import si_code_name
from sigscope.signames import signal_name

from . import BehaviourError, behaviour
from ._ending import arrivals, catchable


def _check(params: dict[str, Any]) -> None:
    sig = catchable(params["signal"], "rtlimit", "signal")
    if not signal.SIGRTMIN <= sig <= signal.SIGRTMAX:
        raise BehaviourError(
            f"rtlimit: parameter 'signal' must be a real-time signal (RTMIN..RTMAX), "
            f"not {signal_name(sig)}: a standard signal does not queue"
        )
    for key in ("room", "burst"):
        if not 1 <= params[key] <= 1000:
            raise BehaviourError(f"rtlimit: parameter {key!r} must be 1-1000, not {params[key]}")
    trig = catchable(params["trigger"], "rtlimit", "trigger")
    drain = catchable(params["drain"], "rtlimit", "drain")
    if len({sig, trig, drain}) != 3:
        raise BehaviourError("rtlimit: 'signal', 'trigger' and 'drain' must be three signals")


def _sigq() -> str:
    return procfs.status_field(procfs.read_status("self") or b"", "SigQ") or ""


def _take_all(fd: int) -> list[L.signalfd_siginfo]:
    """Every pending instance, one record each, from a non-blocking signalfd (Python's
    ``sigtimedwait`` result has no ``si_value``; a signalfd record has ``ssi_int``)."""
    taken = []
    while True:
        try:
            taken.append(L.read_signalfd(fd))
        except BlockingIOError:
            return taken


@behaviour(
    "rtlimit",
    "lowers RLIMIT_SIGPENDING: past it sigqueue fails with EAGAIN and kill loses the signal",
    check=_check,
    signal="SIGRTMIN+1",
    room=4,
    burst=12,
    trigger="SIGUSR1",
    drain="SIGUSR2",
)
def rtlimit(worker: Any, params: dict[str, Any]) -> None:
    sig = catchable(params["signal"], "rtlimit", "signal")
    trigger = catchable(params["trigger"], "rtlimit", "trigger")
    drain = catchable(params["drain"], "rtlimit", "drain")
    room: int = params["room"]
    burst: int = params["burst"]
    _soft, hard = resource.getrlimit(resource.RLIMIT_SIGPENDING)
    already = int(_sigq().partition("/")[0] or 0)
    limit = already + room if hard == resource.RLIM_INFINITY else min(already + room, hard)
    resource.setrlimit(resource.RLIMIT_SIGPENDING, (limit, hard))
    signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
    worker.catch([trigger, drain])
    name = signal_name(sig)
    worker.emit(
        "rtlimit", action="set", sig=name, limit=limit, room=room, already=already, hard=hard
    )
    me = os.getpid()
    pidfd = os.pidfd_open(me)
    sfd = L.signalfd([sig], L.SFD_CLOEXEC | L.SFD_NONBLOCK)
    for came in arrivals(worker):
        if trigger in came:
            queued_ok = queued_eagain = kill_ok = 0
            for value in range(burst):
                try:
                    L.pidfd_sigqueue(pidfd, sig, value)
                    queued_ok += 1
                except L.LibcError as e:
                    if e.errno != errno.EAGAIN:
                        raise
                    queued_eagain += 1
            for _ in range(burst):
                if L.c_kill(me, sig) == 0:  # past the limit it still says 0
                    kill_ok += 1
            sigq = _sigq()
            taken = _take_all(sfd)
            worker.emit(
                "rtlimit",
                action="burst",
                sig=name,
                limit=limit,
                queued_ok=queued_ok,
                queued_eagain=queued_eagain,
                kill_ok=kill_ok,
                sent_ok=queued_ok + kill_ok,
                received=len(taken),
                lost=queued_ok + kill_ok - len(taken),
                values=[i.ssi_int for i in taken if i.ssi_code == L.SI_QUEUE],
                codes=[si_code_name(i.ssi_code, sig) for i in taken],
                sigq=sigq,
            )
        if drain in came:
            taken = _take_all(sfd)
            worker.emit(
                "rtlimit",
                action="drained",
                sig=name,
                received=len(taken),
                values=[i.ssi_int for i in taken if i.ssi_code == L.SI_QUEUE],
                codes=[si_code_name(i.ssi_code, sig) for i in taken],
            )

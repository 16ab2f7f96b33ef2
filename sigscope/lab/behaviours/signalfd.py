"""signalfd: blocks signals and reads them from a ``signalfd`` — signals as data on a descriptor.

``signalfd(2)`` (Linux ≥ 2.6.22) turns pending signals into ``struct signalfd_siginfo`` records
read from a file descriptor, so a main loop can ``poll`` signals beside its sockets and pipes,
with no handler at all. The signals must be blocked first (otherwise they are delivered, or
kill, as usual). Python has no ``signalfd``: this uses glibc through :mod:`sigscope.libc`.
Each read takes one queued instance: a real-time signal sent three times is read three times, a
standard signal sent three times while pending once.

Parameters:
    signals: the signals to block and read (list; default SIGUSR1 and SIGRTMIN+0..+2).
        SIGKILL and SIGSTOP are refused.

Events: ``note`` at the start naming the set; ``received`` for each record read: ``sig``,
``via="signalfd"``, ``si_code`` (``ssi_code``: SI_USER 0 from ``kill`` and
``pidfd_send_signal``, SI_QUEUE -1 from ``sigqueue``), ``si_code_name``, ``si_pid``
(``ssi_pid``), ``si_uid`` (``ssi_uid``), ``value`` (``ssi_int``: the queued value, only when
``si_code`` is SI_QUEUE), ``n`` (that signal's count so far). A TERM, INT or QUIT in the set is
reported, then the worker dies by it; outside the set they keep their default action.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
from collections import Counter
from typing import Any

from sigscope import libc as L
from sigscope.observe.siginfo import si_code_name
from sigscope.signames import parse_signal, signal_name

from . import behaviour
from ._ending import ENDING, catchable_set

BATCH = 32  # records per read(): a burst is taken in few system calls


def _check(params: dict[str, Any]) -> None:
    catchable_set(params["signals"], "signalfd", "signals", "read")


@behaviour(
    "signalfd",
    "blocks signals and reads them from a signalfd: ssi_pid, ssi_code, queued values (ssi_int)",
    check=_check,
    signals=["SIGUSR1", "SIGRTMIN+0", "SIGRTMIN+1", "SIGRTMIN+2"],
)
def signalfd_behaviour(worker: Any, params: dict[str, Any]) -> None:
    wanted = sorted({parse_signal(name) for name in params["signals"]})
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    fd = L.signalfd(wanted, L.SFD_CLOEXEC)
    names = [signal_name(s) for s in wanted]
    worker.note(f"blocked {', '.join(names)}; reading them from signalfd {fd}", signals=names)
    worker.ready()
    size = ctypes.sizeof(L.signalfd_siginfo)
    counts: Counter[str] = Counter()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        poller.poll()  # blocks with no timeout: an idle worker wakes zero times a second
        data = os.read(fd, size * BATCH)
        for off in range(0, len(data) - size + 1, size):
            info = L.signalfd_siginfo.from_buffer_copy(data, off)
            sig = int(info.ssi_signo)
            name = signal_name(sig)
            counts[name] += 1
            fields: dict[str, Any] = {
                "via": "signalfd",
                "si_code": info.ssi_code,
                "si_code_name": si_code_name(info.ssi_code, sig),
                "si_pid": info.ssi_pid,
                "si_uid": info.ssi_uid,
                "n": counts[name],
            }
            if info.ssi_code == L.SI_QUEUE:
                fields["value"] = info.ssi_int
            worker.emit("received", sig=name, **fields)
            if sig in ENDING:
                worker.die_by(sig)

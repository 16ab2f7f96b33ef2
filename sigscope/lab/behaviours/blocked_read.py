"""blocked-read: ``os.read`` on a pipe nobody writes to, and what a signal does to it.

The seed has ``siginterrupt`` backwards (facts.md, correction 1). The truth, which this worker
shows on a live process:

* ``signal.siginterrupt(sig, True)`` (what ``signal.signal`` sets anyway): the ``read`` system
  call fails with EINTR. Python runs the handler at once and, if the handler returns, *retries*
  the read (PEP 475): the caller never sees EINTR, the read is still pending.
* ``signal.siginterrupt(sig, False)`` (SA_RESTART): the kernel restarts the read by itself,
  inside the system call. Python never regains control, so **the Python handler does not run**
  until the read returns — only the C-level handler has run (it wrote the signal number to the
  wakeup fd; the ``tripped`` event).
* A handler that *raises* (``raise_in_handler``) stops the retry: the exception comes out of
  ``os.read`` (the call had failed with EINTR). Under SA_RESTART it cannot, as the handler does
  not run while the read is pending.

A watcher thread, with every signal blocked so that the kernel delivers them to the main
thread (the one in ``read``), reads the wakeup fd and reports what the main thread cannot while
it is stuck. For TERM, INT and QUIT it writes one byte into the pipe: the read returns, the
pending handlers run, and the worker ends as the signal's default would — without that, a
worker under SA_RESTART could only be ended by SIGKILL.

Parameters:
    siginterrupt: the flag given to ``signal.siginterrupt`` for every caught signal. Default
        true (Python's own default).
    raise_in_handler: the handler raises instead of returning. Default false.

Events: ``call`` (``call="os.read(pipe)"``, ``state`` = ``waiting`` (written once the main
thread sleeps in the read, see :mod:`._asleep`) / ``retried`` (a handler
ran while the read was pending and Python retried it) / ``restarted`` (under siginterrupt
false, the signal arrived but no Python handler ran within a second: SA_RESTART) / ``failed``
(``exception``, ``text``) / ``returned`` (``bytes``), ``siginterrupt``, ``sig``);
``tripped`` (``sig``: the C-level handler ran); ``received`` (``sig``; ``t`` = when the
Python handler ran); ``note`` explaining each outcome.
"""

from __future__ import annotations

import collections
import os
import select
import signal
import threading
from typing import Any

from sigscope.events import now
from sigscope.signames import catchable_signals, signal_name

from . import behaviour
from ._asleep import SleepReporter
from ._drain import drain
from ._ending import ENDING

CALL = "os.read(pipe)"
VERDICT_AFTER = 1.0  # seconds the watcher gives a Python handler to run before saying it did not


class HandlerRaised(Exception):
    def __init__(self, sig: int) -> None:
        super().__init__(signal_name(sig))
        self.sig = sig


@behaviour(
    "blocked-read",
    "os.read on a silent pipe: siginterrupt on = handler runs, read retried; off = handler waits",
    siginterrupt=True,
    raise_in_handler=False,
)
def blocked_read(worker: Any, params: dict[str, Any]) -> None:
    interrupt: bool = params["siginterrupt"]
    raising: bool = params["raise_in_handler"]
    lock = threading.Lock()  # the watcher and the main thread both emit; never taken in a handler
    handled: collections.deque[tuple[int, int]] = collections.deque()
    handled_r, handled_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    pipe_r, pipe_w = os.pipe2(os.O_CLOEXEC)  # we hold the write end: read blocks, never EOF
    in_read = False

    def emit(kind: str, **fields: Any) -> None:
        with lock:
            worker.emit(kind, **fields)

    def report_handled() -> list[int]:
        """Emit ``received`` for the handler runs not reported yet (by either thread)."""
        with lock:
            sigs = []
            while handled:
                sig, t = handled.popleft()
                worker.emit("received", t=t, sig=signal_name(sig))
                sigs.append(sig)
            return sigs

    def on_signal(signum: int, frame: object) -> None:
        # Handlers only record: a deque, and one byte to wake the watcher.
        t = now()
        worker.arrived.append((signum, t))
        handled.append((signum, t))
        try:
            os.write(handled_w, bytes([signum]))
        except BlockingIOError:
            pass
        if raising and in_read:
            raise HandlerRaised(signum)

    # The watcher must not take signals: process-directed signals go to a thread that does not
    # block them, and only the main thread is in read(). Block them all before it starts (a new
    # thread inherits the mask), and unblock them again here.
    everything = set(catchable_signals())
    signal.pthread_sigmask(signal.SIG_BLOCK, everything)
    watcher = threading.Thread(
        target=_watch,
        args=(emit, report_handled, wake_r, handled_r, pipe_w, interrupt, raising),
        name="watcher",
        daemon=True,
    )
    watcher.start()
    for sig in everything:
        signal.signal(sig, on_signal)
        signal.siginterrupt(sig, interrupt)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, everything)
    # "waiting" (and "ready") once the main thread sleeps in the pipe read, not just before.
    reporter = SleepReporter(worker, CALL, "pipe", lock, siginterrupt=interrupt)

    while True:
        started = now()
        reporter.before(started)
        try:
            in_read = True
            data = os.read(pipe_r, 1)
            in_read = False
            reporter.after()
            emit(
                "call",
                call=CALL,
                state="returned",
                bytes=len(data),
                waited=round((now() - started) / 1e9, 6),
            )
        except HandlerRaised as e:
            in_read = False
            reporter.after()
            emit(
                "call",
                call=CALL,
                state="failed",
                sig=signal_name(e.sig),
                exception="HandlerRaised",
                text=str(e),
                waited=round((now() - started) / 1e9, 6),
            )
            emit(
                "note",
                text=f"the {signal_name(e.sig)} handler raised: read() had failed with EINTR, "
                "and Python retries only when the handler returns, so os.read raised instead",
            )
        arrived = worker.take()
        if any(sig in ENDING for sig, _t in arrived):
            report_handled()  # e.g. a handler that SA_RESTART held back until read() returned
            with lock:
                ending = next(sig for sig, _t in arrived if sig in ENDING)
                worker.die_by(ending)


def _watch(
    emit: Any,
    report_handled: Any,
    wake_r: int,
    handled_r: int,
    pipe_w: int,
    interrupt: bool,
    raising: bool,
) -> None:
    """Report C-level arrivals, Python handler runs, and verdicts on the pending read."""
    poller = select.poll()
    poller.register(wake_r, select.POLLIN)
    poller.register(handled_r, select.POLLIN)
    waiting: dict[int, int] = {}  # signal -> when its C-level handler ran, no Python one yet
    while True:
        timeout = -1
        if waiting:  # only while a verdict is owed: then poll with a bound
            due = min(waiting.values()) + int(VERDICT_AFTER * 1e9)
            timeout = max(0, (due - now()) // 1_000_000 + 1)
        ready = {fd for fd, _ in poller.poll(timeout)}
        if wake_r in ready:
            for sig in drain(wake_r):
                t = now()
                emit("tripped", t=t, sig=signal_name(sig))
                if not interrupt:  # under SA_RESTART, say so once the handler has not run
                    waiting.setdefault(sig, t)
                if sig in ENDING:
                    # Let read() return, so that the main thread can end as the signal asks.
                    os.write(pipe_w, b"!")
                    emit(
                        "note",
                        text=f"{signal_name(sig)} arrived: the watcher wrote a byte to the pipe "
                        "so that read() returns and the worker can end",
                    )
        if handled_r in ready:
            drain(handled_r)
            for sig in report_handled():
                waiting.pop(sig, None)
                if interrupt and not raising and sig not in ENDING:
                    emit("call", call=CALL, state="retried", sig=signal_name(sig))
                    emit(
                        "note",
                        text=f"the {signal_name(sig)} handler ran while read() was pending "
                        "(it failed with EINTR) and returned, so Python retried the read "
                        "(PEP 475): still blocked",
                    )
        for sig, t in list(waiting.items()):
            if now() - t >= VERDICT_AFTER * 1e9:
                del waiting[sig]
                emit("call", call=CALL, state="restarted", sig=signal_name(sig))
                emit(
                    "note",
                    text=f"{signal_name(sig)} arrived (its C-level handler ran) but its Python "
                    "handler has not: with siginterrupt(False) the kernel restarts read() itself "
                    "(SA_RESTART), and Python's handler waits until read() returns",
                )

"""alarm: the seed's timeout — ``alarm(N)`` around an ``open()`` that would block for ever.

Opening a FIFO for reading blocks until someone opens it for writing; here nobody does. The
worker arms ``signal.alarm(seconds)`` first. When SIGALRM comes, the kernel interrupts the
``open`` (Python's ``signal.signal`` installs handlers without SA_RESTART), Python runs the
handler, and because the handler *raises*, Python does not retry the call (PEP 475 retries only
when the handler returns): the exception comes out of ``os.open`` — a timeout.

Then the rules of ``alarm`` itself, each shown by a call:

* a process has **one** alarm: ``alarm()`` replaces it and returns the seconds that were left
  on the one it replaced (rounded to whole seconds, at least 1 while one is pending);
* ``alarm(0)`` cancels it, also returning the seconds that were left; no SIGALRM comes;
* on Linux ``alarm`` is ITIMER_REAL: ``signal.getitimer(ITIMER_REAL)`` shows the exact time
  left, which the ``value`` field reports.

The FIFO is made in a private temporary directory and unlinked at once (the worker keeps it
reachable through a non-blocking read descriptor, and re-opens it by ``/proc/self/fd/N``, which
blocks exactly like opening the path would): a worker killed by SIGKILL leaves no file behind.

Parameters:
    seconds: the alarm, in whole seconds (1 or more). Default 2.
    repeat: how many timed-out opens to do before the replace-and-cancel demonstration.

Events: ``timer`` (``timer="alarm"``, ``action`` = ``armed`` / ``fired`` / ``cancelled``,
``value`` = seconds left from getitimer, ``interval`` 0, ``previous`` = what ``alarm()``
returned; ``fired`` also has ``elapsed``, the seconds the open was blocked); ``call``
(``call="open(fifo)"``, ``state`` = ``waiting`` / ``failed``, ``exception``, ``text``,
``waited``);
``received`` for each handler run; ``note`` explaining each step (a SIGALRM sent with kill()
also aborts the open, but is no timeout: the ``note`` then has the alarm's ``value`` still
left, and no ``fired`` follows). Afterwards the worker idles
like ``idle``: TERM, INT and QUIT end it (at any point, also during an open).
"""

from __future__ import annotations

import os
import signal
import tempfile
from typing import Any

from sigscope.events import now
from sigscope.signames import catchable_signals, signal_name

from . import BehaviourError, behaviour, not_negative
from ._ending import ENDING, report_or_end

CALL = "open(fifo)"


class Interrupted(Exception):
    """Raised by the handler to abort the blocked open (SIGALRM, or an ending signal)."""

    def __init__(self, sig: int) -> None:
        super().__init__(signal_name(sig))
        self.sig = sig


def _check(params: dict[str, Any]) -> None:
    if params["seconds"] < 1:
        raise BehaviourError(
            f"alarm: parameter 'seconds' must be 1 or more (alarm(0) cancels), "
            f"not {params['seconds']}"
        )
    if params["seconds"] > 86400:
        raise BehaviourError(
            f"alarm: parameter 'seconds' must be at most 86400, not {params['seconds']}"
        )
    not_negative("alarm", params, "repeat")


def _left() -> float:
    """Seconds left on the alarm, exactly: alarm() is ITIMER_REAL on Linux."""
    return round(signal.getitimer(signal.ITIMER_REAL)[0], 6)


def _private_fifo() -> int:
    """A FIFO nobody else can reach: made, held by a non-blocking read fd, and unlinked."""
    folder = tempfile.mkdtemp(prefix="sigscope-alarm-")
    path = os.path.join(folder, "fifo")
    try:
        os.mkfifo(path, 0o600)
        # O_NONBLOCK: opening for reading does not wait for a writer. This fd is no writer,
        # so a blocking open of the same FIFO still waits.
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    finally:
        for remove, what in ((os.unlink, path), (os.rmdir, folder)):
            try:
                remove(what)
            except OSError:
                pass


@behaviour(
    "alarm",
    "times out a blocking open() with alarm(N); shows alarm() returning the time left, alarm(0)",
    check=_check,
    seconds=2,
    repeat=1,
)
def alarm(worker: Any, params: dict[str, Any]) -> None:
    seconds: int = params["seconds"]
    in_open = False

    def on_signal(signum: int, frame: object) -> None:
        worker.record(signum)
        # Raising aborts the open: Python retries an EINTR'd call only if the handler returns.
        if in_open and (signum == signal.SIGALRM or signum in ENDING):
            raise Interrupted(signum)

    for sig in catchable_signals():
        signal.signal(sig, on_signal)
    holder = _private_fifo()
    fifo = f"/proc/self/fd/{holder}"
    worker.ready()

    for _round in range(params["repeat"]):
        _alarm(worker, seconds)
        started = now()
        worker.emit("call", t=started, call=CALL, state="waiting")
        try:
            in_open = True
            # An ending signal handled before in_open was set did not raise: do it for it (the
            # open would otherwise block until the alarm). One arriving between here and the
            # open system call is still missed until SIGALRM: the race pause() has too.
            for sig, _t in worker.arrived:
                if sig in ENDING:
                    raise Interrupted(sig)
            fd = os.open(fifo, os.O_RDONLY | os.O_CLOEXEC)
            in_open = False
            os.close(fd)  # cannot happen without a writer; if someone did open it, fine
            worker.emit("call", call=CALL, state="returned", waited=(now() - started) / 1e9)
        except Interrupted as e:
            in_open = False
            ended = now()
            waited = round((ended - started) / 1e9, 6)
            worker.emit(
                "call",
                t=ended,
                call=CALL,
                state="failed",
                exception="Interrupted",
                text=str(e),
                waited=waited,
            )
            left = _left()
            if e.sig == signal.SIGALRM and left > 0:
                # The alarm has not expired: this SIGALRM came from kill(), not from the timer.
                worker.note(
                    f"a SIGALRM sent by someone aborted open() after {waited:.3f} s; the alarm "
                    f"itself still had {left:.3f} s to go",
                    value=left,
                )
            elif e.sig == signal.SIGALRM:
                worker.emit(
                    "timer",
                    t=ended,
                    timer="alarm",
                    action="fired",
                    value=_left(),
                    interval=0.0,
                    elapsed=waited,
                )
                worker.note(
                    f"open() timed out after {waited:.3f} s: SIGALRM interrupted it and the "
                    "handler raised, so Python did not retry it"
                )
        report_or_end(worker, worker.take())

    # One alarm per process: a second alarm() replaces the first and returns its time left.
    _alarm(worker, seconds)
    _wait(worker, seconds / 2)
    left_before = _left()
    previous = _alarm(worker, seconds, replaced_left=left_before)
    worker.note(
        f"re-armed: alarm({seconds}) returned {previous}, the seconds left on the alarm it "
        f"replaced ({left_before:.3f} s exactly); a process has only one alarm"
    )
    _wait(worker, seconds / 2)
    left_before = _left()
    previous = _alarm(worker, 0, replaced_left=left_before)
    worker.note(f"alarm(0) cancelled the alarm with {previous} s left; no SIGALRM will come")
    os.close(holder)
    while True:
        report_or_end(worker, worker.wait())


def _alarm(worker: Any, seconds: int, **fields: Any) -> int:
    """``alarm(seconds)`` (0 cancels), said in a ``timer`` event; returns what alarm() returned:
    the whole seconds that were left on the alarm it replaced."""
    previous = signal.alarm(seconds)
    worker.emit(
        "timer",
        timer="alarm",
        action="armed" if seconds else "cancelled",
        value=_left(),
        interval=0.0,
        previous=previous,
        **fields,
    )
    return previous


def _wait(worker: Any, seconds: float) -> None:
    """Wait ``seconds`` on the worker's wakeup fd, reporting (and obeying) signals meanwhile."""
    deadline = now() + int(seconds * 1e9)
    while (left := deadline - now()) > 0:
        report_or_end(worker, worker.wait(timeout=left / 1e9))

"""unsafe: handler safety made visible — what the lab's rule "handlers only record" prevents.

A Python handler runs in the main thread *between bytecodes*, wherever the main code happens to
be: inside ``print``, or holding a lock. It is not async-signal-unsafe in C's sense (signal-
safety(7): only async-signal-safe functions may be called from a C handler), but it has the same
problem one level up: it re-enters code that was not written to be re-entered.

Two modes, each started by ``trigger`` (so that a lesson can ask for a prediction first):

* ``print``: a SIGALRM handler prints a long line (over the text layer's 8 KiB chunk, so it
  reaches the buffered writer) while the main code prints long lines too, with an interval
  timer firing every ``interval`` seconds. The buffered writer runs pending signal handlers
  while it holds its own lock (it flushes in a loop and checks for signals between writes); the
  handler's ``print`` finds that lock taken by its own thread and raises
  ``RuntimeError: reentrant call inside <_io.BufferedWriter name='/dev/null'>``. Measured here:
  within milliseconds. The output goes to /dev/null.
* ``lock``: the main code takes a ``threading.Lock`` and, holding it, sends itself ``signal``;
  the handler takes the same lock: a deadlock (a Lock is not re-entrant; an RLock would let the
  handler in, in the middle of what the lock protects). The worker hangs for good: state S,
  its main thread asleep in a futex (``wchan``). A watchdog thread (the main thread released the
  GIL to wait) reports it; TERM's default action still ends it, so the lab shuts down cleanly.

Parameters: ``mode`` (``print`` | ``lock``), ``trigger`` (default SIGUSR2), ``signal`` (lock
mode's signal, default SIGUSR1), ``seconds`` (print mode gives up after this, 0.1-60, default
5), ``interval`` (print mode's timer, 0.0001-0.1 s, default 0.0005).

Events: ``unsafe`` (``action``: ``started`` (``mode``); print: ``done`` (``raised``: bool,
``handler_runs``, ``seconds``); lock: ``hanging`` (the handler is about to take the lock the
main code holds), ``stuck`` from the watchdog (``state``, ``wchan``, ``syscall`` (number, from
/proc/self/task/TID/syscall), ``after`` s)); ``raised`` (``call`` = ``print``, ``exception``,
``text``) for the RuntimeError. TERM, INT and QUIT keep their default action.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from sigscope import procfs
from sigscope.signames import signal_name

from . import BehaviourError, behaviour
from ._ending import ENDING, arrivals, catchable

MODES = ("print", "lock")
LONG = 20_000  # characters: more than TextIOWrapper's chunk, so print reaches the writer
STUCK_AFTER = 0.5  # seconds the main thread must stay asleep before the watchdog says stuck


def _check(params: dict[str, Any]) -> None:
    if params["mode"] not in MODES:
        raise BehaviourError(
            f"unsafe: parameter 'mode' must be print or lock, not {params['mode']!r}"
        )
    trig = catchable(params["trigger"], "unsafe", "trigger")
    sig = catchable(params["signal"], "unsafe", "signal")
    for key, s in (("trigger", trig), ("signal", sig)):
        if s in ENDING or s == signal.SIGALRM:
            raise BehaviourError(f"unsafe: parameter {key!r} cannot be {signal_name(s)}")
    if trig == sig:
        raise BehaviourError("unsafe: 'trigger' and 'signal' must differ")
    if not 0.1 <= params["seconds"] <= 60:
        raise BehaviourError(f"unsafe: parameter 'seconds' must be 0.1-60, not {params['seconds']}")
    if not 0.0001 <= params["interval"] <= 0.1:
        raise BehaviourError(
            f"unsafe: parameter 'interval' must be 0.0001-0.1 s, not {params['interval']}"
        )


def _watch_main(worker: Any, tid: int) -> None:
    """The watchdog: once the main thread has slept in the kernel for STUCK_AFTER, say so."""
    base = f"/proc/self/task/{tid}"
    since: float | None = None
    wakeup = threading.Event()
    while True:
        st = procfs.read_stat(tid)
        try:
            with open(f"{base}/wchan") as f:
                wchan = f.read(64).strip()
            with open(f"{base}/syscall") as f:
                syscall = f.read(64).split()[0]
        except (OSError, IndexError):
            wchan, syscall = "", ""
        asleep = st is not None and st.state == "S"
        now = time.monotonic()
        since = (since or now) if asleep else None
        if since is not None and now - since >= STUCK_AFTER:
            worker.emit("unsafe", action="stuck", state=st.state if st else "?", wchan=wchan,
                        syscall=syscall, after=round(now - since, 3))  # fmt: skip
            return
        wakeup.wait(0.05)  # a thread that exists only while the main thread hangs


def _print_mode(worker: Any, seconds: float, interval: float) -> None:
    out = open(os.devnull, "w")  # noqa: SIM115 - open for the worker's life
    runs = 0

    def loud(signum: int, frame: object) -> None:
        nonlocal runs
        runs += 1
        print("h" * LONG, file=out)  # the unsafe part: I/O in a handler

    signal.signal(signal.SIGALRM, loud)
    start = time.monotonic()
    raised = False
    signal.setitimer(signal.ITIMER_REAL, interval, interval)
    try:
        while time.monotonic() - start < seconds:
            print("m" * LONG, file=out)
    except RuntimeError as e:
        raised = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        worker.emit("raised", call="print", exception=type(e).__name__, text=str(e)[:200])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
    worker.emit(
        "unsafe",
        action="done",
        mode="print",
        raised=raised,
        handler_runs=runs,
        seconds=round(time.monotonic() - start, 4),
    )


def _lock_mode(worker: Any, sig: int) -> None:
    lock = threading.Lock()

    def greedy(signum: int, frame: object) -> None:
        with lock:  # the unsafe part: the main code holds it, and waits for this handler
            pass

    signal.signal(sig, greedy)
    tid = threading.get_native_id()
    threading.Thread(target=_watch_main, args=(worker, tid), name="watchdog", daemon=True).start()
    worker.emit("unsafe", action="hanging", mode="lock", sig=signal_name(sig))
    with lock:
        os.kill(os.getpid(), sig)
        # The handler runs at the next bytecode boundary, here, and never returns.
        time.sleep(0)


@behaviour(
    "unsafe",
    "handler safety: print re-entered from a handler (RuntimeError), a lock taken twice (hang)",
    check=_check,
    mode="print",
    trigger="SIGUSR2",
    signal="SIGUSR1",
    seconds=5.0,
    interval=0.0005,
)
def unsafe(worker: Any, params: dict[str, Any]) -> None:
    trigger = catchable(params["trigger"], "unsafe", "trigger")
    worker.catch([trigger])
    worker.ready()
    for came in arrivals(worker):
        if trigger in came:
            worker.emit("unsafe", action="started", mode=params["mode"])
            if params["mode"] == "print":
                _print_mode(worker, params["seconds"], params["interval"])
            else:
                _lock_mode(worker, catchable(params["signal"], "unsafe", "signal"))

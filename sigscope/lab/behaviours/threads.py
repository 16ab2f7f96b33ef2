"""threads: runs N threads, to show where Python signal handlers run and who may install them.

Two rules of the ``signal`` module (facts.md):

* only the main thread may call ``signal.signal()``: each thread tries, and reports the
  ``ValueError`` it gets;
* a Python handler always runs in the main thread. The kernel may deliver a process-directed
  signal to any thread that does not block it, and ``signal.pthread_kill`` delivers one to a
  chosen thread: the C-level handler runs there, but it only sets a flag, and the main thread
  runs the Python handler. Every ``received`` here says which thread ran the handler.

SIGUSR2 is the "pthread_kill" button: the main thread sends SIGUSR1 to one of its threads
(round robin) with ``signal.pthread_kill``; the ``received`` SIGUSR1 that follows still says
``MainThread``, with ``targeted_thread`` naming the thread the signal was sent to.

Parameters: ``count``, how many threads besides the main one (1-64; default 2).

Events: ``thread`` (``action: "started"``, ``thread`` name, ``native_id``) per thread;
``raised`` (``call: "signal.signal"``, ``exception: "ValueError"``, ``text``, ``thread``,
``native_id``) per thread; ``received`` with ``thread`` and ``native_id`` of the thread that ran
the Python handler (and ``targeted_thread`` after a pthread_kill); ``sent`` (``via:
"pthread_kill"``, ``thread``, ``native_id`` of the target). TERM, INT, QUIT end the worker.
"""

from __future__ import annotations

import collections
import os
import signal
import threading
from typing import Any

from sigscope.events import now
from sigscope.signames import signal_name

from . import BehaviourError, behaviour
from ._ending import ENDING

MAX_THREADS = 64
TRY_TIMEOUT = 10.0  # seconds to wait for every thread to have tried signal.signal()


def _check(params: dict[str, Any]) -> None:
    if not 1 <= params["count"] <= MAX_THREADS:
        raise BehaviourError(
            f"threads: parameter 'count' must be 1-{MAX_THREADS}, not {params['count']}"
        )


@behaviour(
    "threads",
    "N threads: handlers run in the main thread; signal.signal in a thread raises ValueError",
    check=_check,
    count=2,
)
def threads(worker: Any, params: dict[str, Any]) -> None:
    # Which thread ran each handler, in the same order as worker.arrived (the handler appends
    # to both; handlers only ever run in the main thread, one at a time).
    ran_in: collections.deque[tuple[str, int]] = collections.deque()

    def handler(signum: int, frame: object) -> None:
        ran_in.append((threading.current_thread().name, threading.get_native_id()))
        worker.arrived.append((signum, now()))

    for sig in (signal.SIGUSR1, signal.SIGUSR2, *ENDING):
        signal.signal(sig, handler)

    stop = threading.Event()
    tried: list[threading.Event] = []

    def body(done: threading.Event) -> None:
        me = threading.current_thread()
        native_id = threading.get_native_id()
        worker.emit("thread", action="started", thread=me.name, native_id=native_id)
        try:
            signal.signal(signal.SIGUSR1, handler)
        except ValueError as e:
            worker.emit(
                "raised",
                call="signal.signal",
                exception=type(e).__name__,
                text=str(e),
                thread=me.name,
                native_id=native_id,
            )
        else:
            worker.emit("error", text=f"signal.signal() in {me.name} did not raise ValueError")
        done.set()
        stop.wait()

    pool = []
    for i in range(params["count"]):
        done = threading.Event()
        tried.append(done)
        t = threading.Thread(target=body, args=(done,), name=f"worker-thread-{i}", daemon=True)
        t.start()
        pool.append(t)
    for done in tried:
        done.wait(TRY_TIMEOUT)
    worker.ready()

    turn = 0
    targeted: collections.deque[str] = collections.deque()
    while True:
        for sig, t in worker.wait():
            thread_name, native_id = ran_in.popleft() if ran_in else ("?", 0)
            extra = {}
            if sig == signal.SIGUSR1 and targeted:
                extra["targeted_thread"] = targeted.popleft()
            worker.emit(
                "received",
                t=t,
                sig=signal_name(sig),
                thread=thread_name,
                native_id=native_id,
                **extra,
            )
            if sig in ENDING:
                worker.die_by(sig)
            if sig == signal.SIGUSR2:
                target = pool[turn % len(pool)]
                turn += 1
                worker.emit(
                    "sent",
                    sig="SIGUSR1",
                    target=os.getpid(),
                    target_role="worker",
                    via="pthread_kill",
                    thread=target.name,
                    native_id=target.native_id,
                )
                targeted.append(target.name)
                assert target.ident is not None
                signal.pthread_kill(target.ident, signal.SIGUSR1)

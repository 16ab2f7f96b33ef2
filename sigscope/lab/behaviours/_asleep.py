"""Saying "I am blocked in this call" only once it is true, for pause and blocked-read.

A behaviour cannot write an event *from inside* a blocking call, only just before it. If that
event were the cue to send a signal (for a test, a lesson's "show me", or a user who reacts
fast), the signal could arrive in the gap before the call begins — the race pause() is famous
for — and show something other than what the event promised. So a helper thread writes the
``call`` event with ``state="waiting"`` once ``/proc/self/task/TID/wchan`` shows the main
thread asleep in the kernel function of the call (``__do_sys_pause``, ``anon_pipe_read`` …),
with ``confirmed: true``. The worker's ``ready`` event is written with the first one.

The helper has every signal blocked, so that signals still go to the main thread (the one in
the call), and sleeps on a ``threading.Event`` between calls: it adds no wake-up while the
worker is idle. Where the kernel hides wchan, it gives up after a short search and writes the
event with ``confirmed: false``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from sigscope.events import now
from sigscope.signames import catchable_signals

CONFIRM_FOR = 2.0  # seconds to look for the main thread in the call before giving up


class SleepReporter:
    """Writes ``call``/``waiting`` for the main thread's next blocking call once it sleeps in it.

    Args:
        worker: the behaviour's worker (its ``emit`` and ``ready``).
        call: the ``call`` field, e.g. ``pause()``.
        kernel_word: text that the main thread's wchan contains while it sleeps in the call.
        lock: the lock the behaviour's other emits take (so that ``waiting`` is written before
            the main thread's ``returned``); never taken in a signal handler.
        fields: more fields for the ``waiting`` event.
    """

    def __init__(
        self,
        worker: Any,
        call: str,
        kernel_word: str,
        lock: threading.Lock | None = None,
        **fields: Any,
    ) -> None:
        self.worker = worker
        self.call = call
        self.kernel_word = kernel_word
        self.lock = lock or threading.Lock()
        self.fields = fields
        self.asked = threading.Event()
        self.armed: int | None = None  # t of the call to report, while not yet reported
        self.wchan = f"/proc/self/task/{threading.get_native_id()}/wchan"
        self.confirmable = os.path.exists(self.wchan)
        everything = set(catchable_signals())
        old = signal.pthread_sigmask(signal.SIG_BLOCK, everything)  # the new thread inherits it
        threading.Thread(target=self._run, name="sleep-reporter", daemon=True).start()
        signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def before(self, t: int) -> None:
        """The main thread is about to make the call (``t``: now)."""
        with self.lock:
            self.armed = t
            if not self.confirmable:
                self._report(t, confirmed=False)
        self.asked.set()

    def after(self) -> None:
        """The call is over: if it ended before the helper saw it asleep, say it anyway."""
        with self.lock:
            if self.armed is not None:
                self._report(self.armed, confirmed=False)

    def _where(self) -> str:
        try:
            with open(self.wchan) as f:
                return f.read()
        except OSError:
            return ""

    def _report(self, t: int, confirmed: bool) -> None:
        self.armed = None
        self.worker.ready()
        self.worker.emit(
            "call", t=t, call=self.call, state="waiting", confirmed=confirmed, **self.fields
        )

    def _run(self) -> None:
        while True:
            self.asked.wait()
            self.asked.clear()
            deadline = time.monotonic() + CONFIRM_FOR
            while True:
                asleep = self.kernel_word in self._where()
                with self.lock:
                    if self.armed is None:
                        break  # reported, or the call ended first
                    if asleep or time.monotonic() > deadline:
                        self._report(now(), confirmed=asleep)
                        break
                time.sleep(0.0005)  # only in the instant before a call, never while idle

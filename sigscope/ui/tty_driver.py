"""The dashboard's driver in a terminal: Textual's Linux driver, whose input thread sleeps.

Textual's :class:`~textual.drivers.linux_driver.LinuxDriver` reads the terminal in a thread
that wakes ten times a second whether a key came or not (``selector.select(0.1)``), so that
its parser can flush a lone Escape once ``ESCDELAY`` has passed. On an idle dashboard that was
a quarter of its CPU time (``bench_idle``). :class:`TtyDriver` is the same driver with the same
loop, except that once nothing has come for longer than the escape delay it waits without a
timeout, until input comes or the driver stops reading (its ``exit_event`` then also writes
to a pipe of the driver's own, which wakes the wait). After input it polls as Textual's does,
so a lone Escape still arrives (:mod:`sigscope.ui.page_driver` does the same for served pages).

:meth:`SigscopeApp.get_driver_class <sigscope.ui.app.SigscopeApp.get_driver_class>` picks it
unless ``TEXTUAL_DRIVER`` names another; headless runs (tests) use Textual's headless driver.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from codecs import getincrementaldecoder
from typing import Any

from textual import constants
from textual._loop import loop_last
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

POLL = 0.1  # seconds between wake-ups while input may be pending (Textual's own timeout)
# After the last input, how long the reader goes on polling: an escape sequence still open is
# flushed by the parser once ESCDELAY has passed since it began.
LINGER = constants.ESCAPE_DELAY + 1.0


class _WakingEvent(threading.Event):
    """A threading.Event whose set() also writes a byte to a pipe (to wake a select)."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        if self._wake_fd >= 0:
            with contextlib.suppress(OSError):  # full: a wake-up is already pending
                os.write(self._wake_fd, b"x")


class TtyDriver(LinuxDriver):
    """Textual's Linux driver whose input thread does not poll while no input is pending."""

    linger: float = LINGER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        self._wake_fds: tuple[int, ...] = (self._wake_read, self._wake_write)
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.exit_event = _WakingEvent(self._wake_write)

    def _drain_wake_pipe(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._wake_read, 512):
                pass

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's loop, but with no timeout once
        nothing has come for ``linger`` seconds)."""
        selector = selectors.SelectSelector()
        fileno = self.fileno
        wake = self._wake_read
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        event_read = selectors.EVENT_READ

        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick
        decode = getincrementaldecoder("utf-8")().decode
        read = os.read

        def process(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            keys = [(key, mask) for key, mask in ready if key.fd == fileno]
            for last, (_key, mask) in loop_last(keys):
                if mask & event_read:
                    data = decode(read(fileno, 1024 * 4), final=final and last)
                    if not data:
                        break  # (stdin piped, at its end)
                    for event in feed(data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        last_input = time.monotonic()
        try:
            while not self.exit_event.is_set():
                quiet = time.monotonic() - last_input >= self.linger
                ready = selector.select(None if quiet else POLL)
                if any(key.fd == wake for key, _ in ready):
                    self._drain_wake_pipe()
                if any(key.fd == fileno for key, _ in ready):
                    last_input = time.monotonic()
                process(ready)
            selector.unregister(fileno)
            selector.unregister(wake)
            process(selector.select(POLL), final=True)
        finally:
            selector.close()
            with contextlib.suppress(Exception):  # (as Textual's: EOFError, ParseError)
                for _event in feed(""):
                    pass

    def close(self) -> None:
        super().close()
        event = self.exit_event
        if isinstance(event, _WakingEvent):
            event._wake_fd = -1  # (its number may be another file's once closed)
        fds, self._wake_fds = self._wake_fds, ()
        for fd in fds:  # (once: a second close() must not close another file's number)
            with contextlib.suppress(OSError):
                os.close(fd)


__all__ = ["TtyDriver"]

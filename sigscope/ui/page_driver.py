"""The driver of a served page's app: Textual's web driver, whose input thread sleeps.

Textual's :class:`~textual.drivers.web_driver.WebDriver` reads what the server relays (keys,
resizes) in a thread that wakes ten times a second whether anything came or not, to flush a
lone Escape once ``ESCDELAY`` has passed. With a class of thirty idle pages that is 300
wake-ups a second for nothing. :class:`PageDriver` is the same driver with a reader that
waits without a timeout while nothing is pending: after input it polls as Textual's does
(every 0.1 s) for a while longer than the escape delay, so a lone Escape still arrives; then it
blocks until the server writes, or until the driver closes it (a pipe of its own wakes it).

``sigscope serve`` names it in every page app's ``TEXTUAL_DRIVER``
(:func:`sigscope.ui.serve_web.page_environment`). Only the reader differs: should Textual
rename the attribute that holds it, the page polls as before, and nothing else changes.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from textual import constants
from textual.drivers.web_driver import WebDriver

PATH = "sigscope.ui.page_driver:PageDriver"  # for TEXTUAL_DRIVER
POLL = 0.1  # seconds between wake-ups while input may be pending (Textual's own timeout)
# After the last input, how long the reader goes on polling: an escape sequence still open
# is flushed by the parser once ESCDELAY has passed since it began.
LINGER = constants.ESCAPE_DELAY + 1.0


class QuietInputReader:
    """What Textual's input reader yields (bytes read; ``b""`` when a poll found nothing),
    without polling while no input is pending."""

    def __init__(self, fileno: int | None = None, linger: float = LINGER) -> None:
        if fileno is None:
            stdin = sys.__stdin__
            assert stdin is not None
            fileno = stdin.fileno()
        self._fileno = fileno
        self.linger = linger
        self._closed = threading.Event()
        self._lock = threading.Lock()  # between close() and the end of the iteration
        self._ended = False  # the iteration has ended and closed the pipe
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fileno, selectors.EVENT_READ)
        self._selector.register(self._wake_read, selectors.EVENT_READ)

    def close(self) -> None:
        """End the iteration (from any thread): at once, not at the next poll."""
        with self._lock:
            self._closed.set()
            if not self._ended:
                with contextlib.suppress(OSError):  # (full: a wake-up is already pending)
                    os.write(self._wake_write, b"x")

    def __iter__(self) -> Iterator[bytes]:
        fileno = self._fileno
        last_input = time.monotonic()
        try:
            while not self._closed.is_set():
                quiet = time.monotonic() - last_input >= self.linger
                ready = self._selector.select(None if quiet else POLL)
                for key, _events in ready:
                    if key.fd != fileno:
                        continue  # the wake pipe: the loop's test ends it
                    data = os.read(fileno, 1024)
                    if not data:
                        return
                    last_input = time.monotonic()
                    yield data
                if not quiet:
                    yield b""  # the driver then lets the parser see its timeouts
        finally:
            with self._lock:  # close() writes to the pipe only while it is open
                self._ended = True
                self._selector.close()
                os.close(self._wake_read)
                os.close(self._wake_write)


class PageDriver(WebDriver):
    """Textual's web driver with :class:`QuietInputReader` as its input reader."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if hasattr(self, "_input_reader"):
            # Not a subclass of Textual's reader, but used as one: iterated, and closed.
            self._input_reader = QuietInputReader()  # type: ignore[assignment]

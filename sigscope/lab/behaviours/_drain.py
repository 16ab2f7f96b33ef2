"""Reading a non-blocking descriptor empty: the wakeup fd that Python's C-level handler writes
each signal's number to (``signal.set_wakeup_fd``), or a pipe a watcher thread is poked on."""

from __future__ import annotations

import os


def drain(fd: int) -> bytes:
    """Everything ``fd`` (non-blocking) holds now; empty if nothing was written."""
    data = b""
    try:
        while chunk := os.read(fd, 65536):
            data += chunk
    except BlockingIOError:
        pass
    return data

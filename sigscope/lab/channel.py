"""The event channel: every lab process reports what it does as one JSON object a line.

The events and their kinds are the contract of :mod:`sigscope.events`.

The channel is a pipe shared by every lab process. A line is under ``PIPE_BUF`` bytes, so each
write is atomic however many processes write at once. The write end is non-blocking: a writer
never blocks on a full pipe; it counts what it could not write and reports the count in a
``dropped`` event as soon as there is room again.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import select
from collections.abc import Iterator
from typing import Any

from sigscope.events import Event, now

# A write of at most PIPE_BUF bytes to a pipe is atomic (pipe(7)); a longer one could interleave
# with another process's, so longer events are cut down to a `note` that says so.
PIPE_BUF = select.PIPE_BUF
CHANNEL_SIZE = 1 << 20  # bytes; F_SETPIPE_SZ caps unprivileged users at fs.pipe-max-size


def make_channel() -> tuple[int, int]:
    """A pipe for events: (read end, write end), the write end non-blocking, as large as allowed."""
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, CHANNEL_SIZE)
    except OSError:
        pass  # a smaller pipe still works; it only drops sooner
    os.set_blocking(w, False)
    os.set_blocking(r, False)
    return r, w


def encode(event: Event) -> bytes:
    data = (json.dumps(event, separators=(",", ":"), default=str) + "\n").encode()
    if len(data) > PIPE_BUF:
        short: Event = {k: event[k] for k in ("t", "pid", "role", "kind") if k in event}
        short["truncated"] = True
        data = (json.dumps(short, separators=(",", ":")) + "\n").encode()
    return data


class EventWriter:
    """Writes one process's events to the channel; never blocks.

    Not for use inside a signal handler: handlers record, and the main loop emits.
    """

    def __init__(self, fd: int, role: str) -> None:
        self.fd = fd
        self.role = role
        self.pid = os.getpid()
        self.dropped = 0

    def rebind(self, role: str) -> None:
        """After fork: the child writes as itself, with no drops carried over."""
        self.role = role
        self.pid = os.getpid()
        self.dropped = 0

    def emit(self, kind: str, t: int | None = None, **fields: Any) -> bool:
        """Write one event; return False if the channel was full and it was dropped."""
        if self.dropped and not self._write(
            {
                "t": now(),
                "pid": self.pid,
                "role": self.role,
                "kind": "dropped",
                "count": self.dropped,
            }
        ):
            self.dropped += 1
            return False
        if self.dropped:
            self.dropped = 0
        event = {"t": now() if t is None else t, "pid": self.pid, "role": self.role, "kind": kind}
        event.update(fields)
        if self._write(event):
            return True
        self.dropped += 1
        return False

    def _write(self, event: Event) -> bool:
        try:
            os.write(self.fd, encode(event))
            return True
        except BlockingIOError:
            return False
        except OSError as e:
            if e.errno == errno.EPIPE:  # the controller is gone; we are about to be killed too
                return False
            raise


class EventReader:
    """Reads whole lines from the channel's read end; tolerates partial reads."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = b""

    def read_available(self) -> Iterator[Event]:
        """Every complete event that can be read now without blocking."""
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            if not line:
                continue
            try:
                yield json.loads(line)
            except ValueError:
                continue  # cannot happen with atomic writes; never let one bad line stop the stream

"""pipe-writer: writes into a pipe whose reader has gone: BrokenPipeError, or death by SIGPIPE.

Writing to a pipe with no reader makes the kernel send SIGPIPE to the writer, and the write
fails with EPIPE. SIGPIPE's default action terminates the process — but Python ignores SIGPIPE
at start-up, so a Python program sees only the failed write, as ``BrokenPipeError`` (facts.md).
With ``default_sigpipe=true`` the worker restores the default action first, as a C program (or
a Python one that sets SIG_DFL, like many command-line tools) has it, and the write kills it:
the master reaps it "killed by SIGPIPE" (-13 in subprocess, 141 in a shell).

The pipe is the worker's own: it closes the read end, so the reader is gone for good.

Parameters: ``default_sigpipe`` (bool, default false), ``after`` (seconds before the first
write; default 0.5). Every SIGUSR1 writes again.

Events: ``disposition`` (``sig: SIGPIPE``, ``disposition``, ``previous``), ``write`` (``fd``,
``bytes``, ``reader: "gone"``, ``sigpipe`` = the disposition in force) before each write, then
``raised`` (``call: "os.write"``, ``exception: "BrokenPipeError"``, ``errno: "EPIPE"``,
``text``) when the write fails — or nothing more, because the worker died. TERM, INT, QUIT end
the worker.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from typing import Any

from sigscope.signames import catchable_signals

from . import behaviour, not_negative
from ._dispositions import disposition_name
from ._ending import report_or_end

PAYLOAD = b"nobody reads this\n"


def _check(params: dict[str, Any]) -> None:
    not_negative("pipe-writer", params, "after")


@behaviour(
    "pipe-writer",
    "writes to a pipe with no reader: BrokenPipeError (Python's SIG_IGN) or death by SIGPIPE",
    check=_check,
    default_sigpipe=False,
    after=0.5,
)
def pipe_writer(worker: Any, params: dict[str, Any]) -> None:
    wanted = signal.SIG_DFL if params["default_sigpipe"] else signal.SIG_IGN
    previous = signal.signal(signal.SIGPIPE, wanted)
    shown = disposition_name(wanted, unset="handler")
    before = disposition_name(previous, unset="handler")
    worker.emit("disposition", sig="SIGPIPE", disposition=shown, previous=before)
    worker.catch(s for s in catchable_signals() if s != signal.SIGPIPE)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone: every write from now on hits a pipe with no reader
    worker.ready()

    def write() -> None:
        worker.emit("write", fd=write_end, bytes=len(PAYLOAD), reader="gone", sigpipe=shown)
        try:
            os.write(write_end, PAYLOAD)
        except BrokenPipeError as e:
            worker.emit(
                "raised",
                call="os.write",
                exception=type(e).__name__,
                errno=errno.errorcode.get(e.errno or 0, str(e.errno)),
                text=str(e),
            )
        else:
            worker.emit("error", text="a write to a pipe with no reader succeeded")

    deadline = time.monotonic() + params["after"]
    while (left := deadline - time.monotonic()) > 0:
        report_or_end(worker, worker.wait(left))
    write()
    while True:
        arrived = worker.wait()
        report_or_end(worker, arrived)
        if any(sig == signal.SIGUSR1 for sig, _t in arrived):
            write()

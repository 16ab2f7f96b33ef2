"""exec: what a ``fork`` child and an ``exec``'d program inherit of signal dispositions and masks.

The worker sets a handler for ``handled``, SIG_IGN for ``ignored``, blocks ``blocked`` and sends
itself ``blocked`` so that it is pending. Then:

1. ``fork``: the child reads its own /proc/self/status. fork(2): the child inherits the
   handlers, ignores and mask; its set of pending signals starts empty.
2. ``subprocess`` with ``restore_signals`` True and False runs ``/bin/cat /proc/self/status``
   (not a Python, which would ignore SIGPIPE again at its start-up): with True (the default)
   Python resets SIGPIPE and SIGXFSZ to SIG_DFL in the child before the exec; with False the
   child keeps Python's ignores.
3. ``exec``: the worker ``execv``s the lab's own :mod:`sigscope.lab.exec_probe` (``python -P``),
   which reports from the same pid: execve(2): handled signals reset to SIG_DFL, ignored stay
   ignored, the mask and the pending signals survive.

Parameters: ``handled`` (default SIGUSR1), ``ignored`` (default SIGUSR2), ``blocked`` (default
SIGHUP): three different signals, none of TERM/INT/QUIT (they end a worker); ``after``: seconds
before step 1, or 0 (the default) to wait for the first ``handled`` signal (its handler runs,
then the steps follow, so a lesson can ask first and exec after).

Events: ``inherit`` with ``phase``: ``before`` (this worker's ``blocked``, ``ignored``,
``caught``, ``pending`` names, from /proc), ``fork-child`` (the same for the child, with
``child``), ``subprocess`` (``restore_signals``, ``ignored`` of ``cat``, ``program``),
``exec`` (``program``: just before the exec), then from the exec'd program ``after-exec``
(see :mod:`sigscope.lab.exec_probe`: the masks and ``disposition`` of ``handled``).
After the exec the worker's handled signal has its default action: sending it ends the worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

from sigscope import procfs
from sigscope.lab.exec_probe import read_masks
from sigscope.signames import signal_name, signal_names

from . import BehaviourError, behaviour
from ._ending import ENDING, catchable, wait_for_trigger

CAT = "/bin/cat"


def _check(params: dict[str, Any]) -> None:
    sigs = [catchable(params[k], "exec", k) for k in ("handled", "ignored", "blocked")]
    if len(set(sigs)) != 3:
        raise BehaviourError("exec: 'handled', 'ignored' and 'blocked' must be three signals")
    for key, sig in zip(("handled", "ignored", "blocked"), sigs, strict=True):
        if sig in ENDING:
            raise BehaviourError(
                f"exec: parameter {key!r} cannot be {signal_name(sig)}: TERM, INT and QUIT "
                "end a worker"
            )
    if not 0 <= params["after"] <= 60:
        raise BehaviourError(f"exec: parameter 'after' must be 0-60 s, not {params['after']}")


def _status_masks(text: str) -> dict[str, list[str]]:
    return {"ignored": signal_names(procfs.parse_status_masks(text.encode()).ignored)}


@behaviour(
    "exec",
    "fork and exec inheritance: handlers reset by exec; ignores, mask and pending survive",
    check=_check,
    handled="SIGUSR1",
    ignored="SIGUSR2",
    blocked="SIGHUP",
    after=0.0,
)
def exec_inherit(worker: Any, params: dict[str, Any]) -> None:
    handled = catchable(params["handled"], "exec", "handled")
    ignored = catchable(params["ignored"], "exec", "ignored")
    blocked = catchable(params["blocked"], "exec", "blocked")
    worker.catch([handled, *ENDING])
    signal.signal(ignored, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, [blocked])
    os.kill(os.getpid(), blocked)  # pending from now on: blocked, so never delivered here
    worker.emit("inherit", phase="before", **read_masks())
    worker.ready()
    after: float = params["after"]
    wait_for_trigger(worker, after, handled)

    # 1. fork: the child reports its masks through a pipe; the worker emits them (the child is
    # not a lab process the controller tracks, and it lives a moment only).
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(r)
            os.write(w, json.dumps(read_masks()).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        masks = json.loads(f.read() or "{}")
    os.waitpid(child, 0)
    worker.emit("inherit", phase="fork-child", child=child, **masks)

    # 2. subprocess(restore_signals=...): cat reports its own SigIgn.
    for restore in (True, False):
        out = subprocess.run(
            [CAT, "/proc/self/status"],
            capture_output=True,
            text=True,
            timeout=10,
            restore_signals=restore,
        )
        worker.emit(
            "inherit",
            phase="subprocess",
            restore_signals=restore,
            program=CAT,
            **_status_masks(out.stdout),
        )

    # 3. exec the lab's own probe, from the same pid, with the event channel left open.
    fd = worker.events.fd
    expect = {"handled": signal_name(handled), "parent": os.getppid()}
    argv = [sys.executable, "-P", "-m", "sigscope.lab.exec_probe", str(fd), str(worker.index)]
    argv.append(json.dumps(expect))
    worker.emit("inherit", phase="exec", program="sigscope.lab.exec_probe")
    os.set_inheritable(fd, True)
    signal.set_wakeup_fd(-1)
    os.execv(sys.executable, argv)

"""orphan-maker: forks grandchildren, then the worker exits: they are orphaned and adopted.

When a process exits, the kernel re-parents its children to the nearest ancestor that is a
*child subreaper* (PR_SET_CHILD_SUBREAPER), or to init. The controller is the lab's subreaper,
so it adopts these orphans, and when one exits it is the controller that must wait for it —
or it stays a zombie (facts.md: only the parent's wait, or the parent's death, clears one).

The worker tells the controller about each grandchild with a ``fork`` event (``child``,
``starttime``) *before* it exits, so the controller knows it (role ``orphan``) and watches its
pidfd; the controller reaps it by pid and emits ``reaped`` with ``adopted: true``.

A grandchild does **not** arm PR_SET_PDEATHSIG (fork clears it, and it must outlive its parent
to be orphaned). It still ends with the lab: it stays in the lab's process group, which the
controller's ``close()`` kills, and it exits by itself after ``linger`` seconds in any case.

Parameters: ``count`` (grandchildren per worker, 1-1000; default 1), ``linger`` (seconds an
orphan lives after its adoption, 0-3600; default 5), ``stay`` (seconds the worker lives after
forking, so the tree shows worker → grandchild first; default 0.5). The master respawns the
worker when it exits, so a slot keeps making orphans, slowed down by its back-off.

Events, worker: ``fork`` (``child``, ``starttime``, ``orphan`` number), ``exit``.
Events, grandchild (role ``orphan``): ``start`` (``behaviour``, ``parent``, ``orphan``),
``adopted`` (``parent`` = the new parent, the subreaper; ``old_parent``), ``received``,
``exit``.
"""

from __future__ import annotations

import os
import select
import signal
import time
from typing import Any, NoReturn

from sigscope import procfs
from sigscope.lab.worker import Worker, set_title

from . import BehaviourError, behaviour
from ._ending import ENDING, report_or_end

MAX_ORPHANS = 1000
MAX_LINGER = 3600.0
REPARENT_TIMEOUT = 5.0  # seconds an orphan waits to see its new parent before giving up


def _check(params: dict[str, Any]) -> None:
    if not 1 <= params["count"] <= MAX_ORPHANS:
        raise BehaviourError(
            f"orphan-maker: parameter 'count' must be 1-{MAX_ORPHANS}, not {params['count']}"
        )
    if not 0 <= params["linger"] <= MAX_LINGER:
        raise BehaviourError(
            f"orphan-maker: parameter 'linger' must be 0-{MAX_LINGER:g} seconds, "
            f"not {params['linger']}"
        )
    if params["stay"] < 0:
        raise BehaviourError(f"orphan-maker: parameter 'stay' must be >= 0, not {params['stay']}")


@behaviour(
    "orphan-maker",
    "forks grandchildren and exits: they are orphaned, adopted and reaped by the subreaper",
    check=_check,
    count=1,
    linger=5.0,
    stay=0.5,
)
def orphan_maker(worker: Any, params: dict[str, Any]) -> None:
    worker.catch(ENDING)
    worker.ready()
    parent = os.getpid()
    for number in range(params["count"]):
        pid = os.fork()
        if pid == 0:
            _orphan_life(worker, parent, number, params)
        # Tell the controller before we exit (it learns of the orphan only from this event).
        worker.emit("fork", child=pid, starttime=procfs.start_time(pid), orphan=number)
    deadline = time.monotonic() + params["stay"]
    while (left := deadline - time.monotonic()) > 0:
        report_or_end(worker, worker.wait(left))
    worker.exit(0)


def _orphan_life(parent_worker: Any, parent: int, number: int, params: dict[str, Any]) -> NoReturn:
    """The grandchild, from fork to its own exit: it never returns into the worker's code."""
    code = 70
    try:
        # Until we are adopted, the ending signals keep their default action (a TERM kills us
        # at once); the worker's handlers and wakeup fd are not ours.
        signal.set_wakeup_fd(-1)
        for sig in ENDING:
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        events = parent_worker.events
        events.rebind("orphan")
        set_title(f"sigscope orphan {number} (worker {parent_worker.index})")
        me = Worker(events, parent_worker.index, "orphan-maker", params)
        me.emit("start", behaviour="orphan-maker", parent=parent, orphan=number)
        _wait_until_orphaned(parent)
        me.emit("adopted", parent=os.getppid(), old_parent=parent, orphan=number)
        me.catch(ENDING)
        me.ready()
        deadline = time.monotonic() + params["linger"]
        while (left := deadline - time.monotonic()) > 0:
            report_or_end(me, me.wait(left))
        me.exit(0)
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _wait_until_orphaned(parent: int) -> None:
    """Block (no polling) until ``parent`` has exited and the kernel has re-parented us."""
    try:
        pidfd = os.pidfd_open(parent)
    except ProcessLookupError:
        pidfd = -1  # it has exited and been reaped already
    if pidfd >= 0:
        try:
            # Only while it is still our parent does the pidfd certainly name it (no reuse).
            if os.getppid() == parent:
                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                poller.poll()
        finally:
            os.close(pidfd)
    # The kernel re-parents a process's children before it makes its pidfd readable; this
    # bounded check only guards that order.
    deadline = time.monotonic() + REPARENT_TIMEOUT
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.001)

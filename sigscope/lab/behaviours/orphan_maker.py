"""orphan-maker: forks grandchildren, then the worker exits: they are orphaned and adopted.

When a process exits, the kernel re-parents its children to the nearest ancestor that is a
*child subreaper* (PR_SET_CHILD_SUBREAPER), or to init. The controller is the lab's subreaper,
so it adopts these orphans, and when one exits it is the controller that must wait for it —
or it stays a zombie (facts.md: only the parent's wait, or the parent's death, clears one).

The worker tells the controller about each grandchild with a ``fork`` event (``child``,
``starttime``) *before* it exits, so the controller knows it (role ``orphan``) and watches its
pidfd; the controller reaps it by pid and emits ``reaped`` with ``adopted: true``.

A grandchild does **not** arm PR_SET_PDEATHSIG before it is orphaned (fork clears it, and it
must outlive its parent). It still ends with the lab, in layers: it stays in the lab's process
group, which the controller's ``close()`` kills; once adopted, it arms PR_SET_PDEATHSIG(SIGKILL)
against its new parent; it watches the event channel, whose only reader is the controller,
and exits when the channel reports that reader gone (POLLERR). That also covers an adoption
that races the controller's own death, where the death signal is armed too late (seen in
testing: a worker respawned while the controller was dying made orphans that an outer
subreaper adopted, and they lingered); and it exits by itself after ``linger`` seconds in any
case. An orphan installs no handlers: a signal sent to it has
its default action, as for any plain process, and the controller's ``reaped`` says which.

Parameters: ``count`` (grandchildren per worker, 1-1000; default 1), ``linger`` (seconds an
orphan lives after its adoption, 0-3600; default 5), ``stay`` (seconds the worker lives after
forking, so the tree shows worker → grandchild first; default 0.5). The master respawns the
worker when it exits, so a slot keeps making orphans, slowed down by its back-off.

Events, worker: ``fork`` (``child``, ``starttime``, ``orphan`` number), ``exit``.
Events, grandchild (role ``orphan``): ``start`` (``behaviour``, ``parent``, ``orphan``),
``adopted`` (``parent`` = the new parent, the subreaper; ``old_parent``), ``exit`` (after its
linger).
"""

from __future__ import annotations

import os
import select
import signal
import time
from typing import Any, NoReturn

from sigscope import procfs
from sigscope.lab.worker import Worker, set_title

from . import BehaviourError, behaviour, not_negative
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
    not_negative("orphan-maker", params, "stay")


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
        # The ending signals get their default action back (a TERM kills us at once); the
        # worker's handlers and wakeup fd are not ours.
        signal.set_wakeup_fd(-1)
        for sig in ENDING:
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        events = parent_worker.events
        events.rebind("orphan")
        set_title(f"sigscope orphan {number} (worker {parent_worker.index})")
        me = Worker(events, parent_worker.index, "orphan-maker", params)
        me.emit("start", behaviour="orphan-maker", parent=parent, orphan=number)
        # Only the controller reads the event channel: when its read end is gone (POLLERR on
        # our write end), so is the controller, and the lab must end.
        lab_gone = select.poll()
        lab_gone.register(events.fd, 0)  # POLLERR is always reported; ask for nothing else
        if not _wait_until_orphaned(parent, events.fd):
            os._exit(1)
        adopter = os.getppid()
        # Die with the adopter (the controller), like every lab process. Arm the death signal,
        # then check the lab still exists: had the controller died first, it is too late for
        # the death signal; from now on its death wakes the poll below in any case.
        procfs.set_pdeathsig(signal.SIGKILL)
        if lab_gone.poll(0):
            os._exit(1)
        me.emit("adopted", parent=adopter, old_parent=parent, orphan=number)
        if lab_gone.poll(int(params["linger"] * 1000)):
            os._exit(1)
        me.exit(0)
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _wait_until_orphaned(parent: int, channel: int) -> bool:
    """Block (no polling) until ``parent`` has exited and the kernel has re-parented us.

    Returns False if the lab ended first (the event channel lost its reader).
    """
    poller = select.poll()
    poller.register(channel, 0)
    try:
        pidfd = os.pidfd_open(parent)
    except ProcessLookupError:
        pidfd = -1  # it has exited and been reaped already
    if pidfd >= 0:
        try:
            # Only while it is still our parent does the pidfd certainly name it (no reuse).
            if os.getppid() == parent:
                poller.register(pidfd, select.POLLIN)
                if any(fd == channel for fd, _ in poller.poll()):
                    return False
        finally:
            os.close(pidfd)
    # The kernel re-parents a process's children before it makes its pidfd readable; this
    # bounded check only guards that order.
    deadline = time.monotonic() + REPARENT_TIMEOUT
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.001)
    return True

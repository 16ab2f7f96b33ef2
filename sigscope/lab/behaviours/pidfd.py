"""pidfd: sending through a pidfd, ``kill(pid, 0)``, ESRCH vs EPERM, and PID reuse made visible.

On each ``trigger`` the worker runs three experiments on processes it makes itself (it never
signals anything outside the lab; signal 0 sends nothing, it only checks, kill(2)):

1. **Life of a pid**: a child, a pidfd on it (``pidfd_open``). While it lives, ``kill(pid, 0)``
   and ``pidfd_send_signal(fd, 0)`` succeed. Ended by SIGTERM through the pidfd but not yet
   reaped (a zombie), both *still* succeed (a signal to a zombie is accepted and discarded).
   Once reaped, both fail with ESRCH ("no such process").
2. **EPERM**: a process that exists but is not yours: as root, a child that drops to user
   nobody (``setresuid``) tries ``kill(worker, 0)``: EPERM. As another user the experiment is
   skipped (it would need someone else's process, and the lab signals only its own).
3. **PID reuse**: in a private PID namespace (``unshare(CLONE_NEWPID)``, with CLONE_NEWUSER when
   not root; the numbers are that namespace's), a victim gets pid N and a pidfd; it exits and is
   reaped; ``ns_last_pid`` is set to N−1 (the namespace's own counter: no other process on the
   machine is affected) and the next fork gets N again. ``kill(N, 0)`` now succeeds — the stale
   number reaches the *new* process — while ``pidfd_send_signal`` on the old pidfd refuses with
   ESRCH: a pidfd names one process for its whole life (pidfd_open(2)).

Parameters: ``trigger`` (default SIGUSR1).

Events: ``pidfd`` with ``step``: ``alive`` / ``zombie`` / ``reaped`` (``child``, ``kill0`` and
``pidfd0``: ``ok`` or an errno name, ``sent`` for the SIGTERM through the pidfd in ``zombie``);
``eperm`` (``target``, ``as_uid``, ``kill0``; or ``skipped`` with ``why``); ``reuse``
(``number`` (pid in the namespace), ``recycled`` (bool: the new process got it),
``old_global`` / ``new_global`` (their pids outside the namespace: two processes),
``kill0_after`` (``ok``: the stale number reached the new one), ``pidfd_after`` (``ESRCH``: the
pidfd refused); or ``skipped`` with ``why``); ``received`` for ``trigger``. TERM, INT and QUIT
keep their default action.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import select
import signal
from collections.abc import Callable
from typing import Any

from sigscope import libc as L
from sigscope import procfs

from . import behaviour
from ._ending import arrivals, catchable

CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
NOBODY = 65534
REPORT_MAX = 4096  # bytes a child's JSON report may have
WAIT = 10.0  # seconds any step may wait for a child


def _try(fn: Callable[[], object]) -> str:
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno or 0, str(e.errno))


def _global_pid() -> int:
    """This process's pid outside any namespace: the first NSpid of the host's /proc view."""
    nspid = procfs.status_field(procfs.read_status("self") or b"", "NSpid")
    return int(nspid.split()[0]) if nspid else os.getpid()


def _child_report(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``body`` in a child; return the JSON it reports (or why not)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            try:
                out = body()
            except Exception as e:  # reported, not raised: this is a child of the worker
                out = {"skipped": True, "why": f"{type(e).__name__}: {e}"[:300]}
                code = 1
            os.write(w, json.dumps(out).encode()[:REPORT_MAX])
        finally:
            os._exit(code)
    os.close(w)
    ready, _, _ = select.select([r], [], [], WAIT)
    data = os.read(r, REPORT_MAX) if ready else b""
    os.close(r)
    if not ready:
        os.kill(pid, signal.SIGKILL)  # our own child, stuck
    os.waitpid(pid, 0)
    try:
        result = json.loads(data.decode() or "{}")
    except ValueError:
        result = {}
    return result if isinstance(result, dict) else {}


def _life_of_a_pid(worker: Any) -> None:
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(w)
        os.read(r, 1)  # until killed
        os._exit(0)
    os.close(r)
    fd = os.pidfd_open(child)

    def probe(step: str, **extra: str) -> None:
        """Say what signal 0 (a check that sends nothing) gets now, by number and by pidfd."""
        worker.emit(
            "pidfd",
            step=step,
            child=child,
            **extra,
            kill0=_try(lambda: os.kill(child, 0)),
            pidfd0=_try(lambda: signal.pidfd_send_signal(fd, 0)),
        )

    try:
        probe("alive")
        sent = _try(lambda: signal.pidfd_send_signal(fd, signal.SIGTERM))
        select.select([fd], [], [], WAIT)  # readable once it has exited: now a zombie
        probe("zombie", sent=sent)
        os.waitpid(child, 0)
        probe("reaped")
    finally:
        os.close(fd)
        os.close(w)


def _eperm(worker: Any) -> None:
    if os.geteuid() != 0:
        worker.emit(
            "pidfd",
            step="eperm",
            skipped=True,
            why="needs another user's process; the lab signals only its own (as root it makes one)",
        )
        return
    target = os.getpid()

    def body() -> dict[str, Any]:
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
        return {"kill0": _try(lambda: os.kill(target, 0))}

    got = _child_report(body)
    worker.emit("pidfd", step="eperm", target=target, as_uid=NOBODY, **got)


def _reuse_in_namespace() -> dict[str, Any]:
    """In a child: a private PID namespace where a number is freed and handed out again."""
    lib = L.libc()
    flags = CLONE_NEWPID | (0 if os.geteuid() == 0 else CLONE_NEWUSER)
    lib.unshare.argtypes = [ctypes.c_int]
    if lib.unshare(flags) != 0:
        err = ctypes.get_errno()
        return {"skipped": True, "why": f"unshare: {os.strerror(err)}"}

    def held_child() -> tuple[int, int, int]:
        """A child that says its pid outside the namespace, then lives until released: its
        pid (the namespace's number), that global pid, and the fd whose closing releases it."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.write(vr_w, str(_global_pid()).encode())
            os.read(r, 1)
            os._exit(0)
        os.close(r)
        return pid, int(os.read(vr_r, 32) or 0), w

    def in_init() -> dict[str, Any]:
        # pid 1 of the new namespace: its children get that namespace's numbers.
        victim, old_global, release = held_child()
        fd = os.pidfd_open(victim)
        os.close(release)  # the victim exits
        os.waitpid(victim, 0)
        gone = _try(lambda: os.kill(victim, 0))
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(victim - 1))
        newcomer, new_global, release = held_child()
        out = {
            "number": victim,
            "recycled": newcomer == victim,
            "old_global": old_global,
            "new_global": new_global,
            "kill0_before": gone,
            "kill0_after": _try(lambda: os.kill(victim, 0)),
            "pidfd_after": _try(lambda: signal.pidfd_send_signal(fd, signal.SIGTERM)),
        }
        os.close(fd)
        os.close(release)
        os.waitpid(newcomer, 0)
        return out

    vr_r, vr_w = os.pipe()
    return _child_report(in_init)


@behaviour(
    "pidfd",
    "pidfds vs pid numbers: kill(pid, 0), zombies, ESRCH vs EPERM, a recycled pid refused",
    trigger="SIGUSR1",
)
def pidfd(worker: Any, params: dict[str, Any]) -> None:
    trigger = catchable(params["trigger"], "pidfd", "trigger")
    worker.catch([trigger])
    worker.ready()
    for came in arrivals(worker):
        if trigger in came:
            _life_of_a_pid(worker)
            _eperm(worker)
            got = _child_report(_reuse_in_namespace)
            worker.emit("pidfd", step="reuse", **got)

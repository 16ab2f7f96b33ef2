"""flags: installs a disposition for one signal with chosen ``sigaction`` flags and an ``sa_mask``.

Python's ``signal.signal`` always installs its handler with the same flags (SA_ONSTACK, plus
SA_RESTART only through ``siginterrupt(sig, False)``) and an empty ``sa_mask``. This behaviour
goes beneath it with ``sigaction(2)`` through ctypes (:mod:`sigscope.libc`), and reads back
what the kernel has with ``sigaction(sig, NULL, &old)``.

Parameters:
    signal: the signal (default SIGUSR1). SIGKILL and SIGSTOP are refused.
    handler: ``python`` (Python's handler, installed by ``signal.signal``; then the flags are
        set keeping Python's own C trampoline as the handler: it sets Python's flag and writes
        the wakeup fd, and the Python handler runs later in the main loop), ``probe`` (a ctypes
        C callback that runs *inside* the C-level handler, to see what only the C level can:
        the mask while it runs and whether it is re-entered; the main thread is always inside a
        GIL-free ``ppoll`` when it runs), ``default`` (SIG_DFL) or ``ignore`` (SIG_IGN).
    flags: ``SA_RESETHAND|SA_NODEFER|SA_RESTART|SA_NOCLDSTOP|SA_NOCLDWAIT`` (any of them, ``|``
        or ``;`` between; ``SA_`` optional; empty: none).
    mask: signals added to the mask while the handler runs (``sa_mask``; list).
    reraise: probe only: on its first run the handler ``raise()``s its own signal once. Without
        SA_NODEFER the signal is blocked during its handler, so the second run comes after the
        first has returned (enter 1, leave 1, enter 1, leave 1); with SA_NODEFER it interrupts
        the first (enter 1, enter 2, leave 2, leave 1).
    children: forked on each ``fork_on`` signal: children that exit at once (SIGCHLD lessons).
    stop_children: each child stops itself (SIGSTOP) first; the worker continues it (SIGCONT):
        a SIGCHLD for the stop comes unless SA_NOCLDSTOP.
    fork_on: the signal that forks the children (default SIGUSR2; not ``signal``).
    linger: seconds a zombie child stays before the worker waits for it (visible in the tree).

Events:
    ``flags``: ``sig``, ``handler`` (``python`` / ``probe`` / ``SIG_DFL`` / ``SIG_IGN``, read
    back; ``handler`` with ``address`` when it is another C function), ``flags`` (names read
    back, e.g. ``["SA_RESTORER", "SA_ONSTACK", "SA_RESETHAND"]``; SA_RESTORER is glibc's own on
    x86-64), ``flags_raw``, ``mask`` (names in ``sa_mask``), ``why`` (``installed``, or
    ``changed`` when a read-back after a delivery differs: SA_RESETHAND reset it to SIG_DFL).
    ``handler``: probe runs: ``sig``, ``phase`` (``enter`` / ``leave``), ``depth`` (1 = not
    nested), ``run`` (n-th run), ``blocked`` (the thread's mask inside the handler: names).
    ``received``: the Python handler ran (``python``).
    ``call``: ``call`` = ``read(wakeup fd)``, ``state`` = ``interrupted`` (EINTR: no
    SA_RESTART) or ``returned`` (``bytes``; with SA_RESTART the kernel restarted the read and it
    returned the byte the C handler wrote), ``sig`` = what arrived: the ``python`` handler's
    main loop waits in a plain C ``read`` (not Python's, which retries on EINTR, PEP 475).
    ``child``: ``child`` (pid), ``event``: ``stopped`` (``sigchld``: whether a SIGCHLD handler
    ran for the stop), ``exited`` (``zombie``: true if it stayed a zombie, false if the kernel
    reaped it: SIGCHLD set to SIG_IGN or SA_NOCLDWAIT; ``sigchld``), ``reaped`` (the worker's
    own ``waitpid`` after ``linger``: ``status``, ``exitcode``; or ``error`` ``ECHILD``).
TERM, INT and QUIT keep their default action (they end the worker), unless ``signal`` is one.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import signal
import time
from typing import Any

from sigscope import libc as L
from sigscope import procfs
from sigscope.signames import signal_name

from . import BehaviourError, behaviour
from ._ending import catchable

HANDLERS = ("python", "probe", "default", "ignore")
MAX_RECORDS = 64  # probe records kept between two looks of the main loop


def _check(params: dict[str, Any]) -> None:
    sig = catchable(params["signal"], "flags", "signal")
    if params["handler"] not in HANDLERS:
        raise BehaviourError(
            f"flags: parameter 'handler' must be one of {', '.join(HANDLERS)}, "
            f"not {params['handler']!r}"
        )
    try:
        L.parse_flags(params["flags"])
    except ValueError as e:
        raise BehaviourError(f"flags: parameter 'flags': {e}") from None
    for name in params["mask"]:
        catchable(name, "flags", "mask")
    fork_on = catchable(params["fork_on"], "flags", "fork_on")
    if params["children"] and fork_on == sig:
        raise BehaviourError("flags: 'fork_on' must differ from 'signal'")
    if not 0 <= params["children"] <= 8:
        raise BehaviourError(f"flags: parameter 'children' must be 0-8, not {params['children']}")
    if params["children"] and params["handler"] == "probe":
        raise BehaviourError("flags: children need handler python, default or ignore")
    if params["reraise"] and params["handler"] != "probe":
        raise BehaviourError("flags: 'reraise' is for handler=probe")
    if not 0 <= params["linger"] <= 60:
        raise BehaviourError(f"flags: parameter 'linger' must be 0-60 s, not {params['linger']}")


class pollfd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


class timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _ppoll(fd: int, timeout: float | None, mask: L.sigset_t) -> None:
    """``ppoll`` on ``fd`` with ``mask`` in force while it waits (GIL released by ctypes)."""
    lib = L.libc()
    fds = pollfd(fd, select.POLLIN, 0)
    ts = None
    if timeout is not None:
        ts = timespec(int(timeout), int((timeout % 1) * 1e9))
    lib.ppoll(ctypes.byref(fds), 1, None if ts is None else ctypes.byref(ts), ctypes.byref(mask))


def _read_back(sig: int, trampoline: int | None, probe_addr: int | None) -> dict[str, Any]:
    act = L.get_action(sig)
    addr = act.sa_handler or 0
    if addr == L.SIG_DFL:
        handler = "SIG_DFL"
    elif addr == L.SIG_IGN:
        handler = "SIG_IGN"
    elif addr == trampoline:
        handler = "python"
    elif addr == probe_addr:
        handler = "probe"
    else:
        handler = "handler"
    out: dict[str, Any] = {
        "sig": signal_name(sig),
        "handler": handler,
        "flags": L.flag_names(act.sa_flags),
        "flags_raw": act.sa_flags & 0xFFFFFFFF,
        "mask": [signal_name(s) for s in L.sigset_members(act.sa_mask)],
    }
    if handler == "handler":
        out["address"] = hex(addr)
    return out


@behaviour(
    "flags",
    "installs a handler, SIG_DFL or SIG_IGN with sigaction flags (SA_RESETHAND, SA_NODEFER, …)",
    check=_check,
    signal="SIGUSR1",
    handler="python",
    flags="",
    mask=[],
    reraise=False,
    children=0,
    stop_children=False,
    fork_on="SIGUSR2",
    linger=2.0,
)
def flags(worker: Any, params: dict[str, Any]) -> None:
    lib = L.libc()
    lib.ppoll.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_void_p]
    lib.ppoll.restype = ctypes.c_int
    sig = catchable(params["signal"], "flags", "signal")
    mode: str = params["handler"]
    sa_flags = L.parse_flags(params["flags"])
    mask = [catchable(s, "flags", "mask") for s in params["mask"]]
    fork_on = catchable(params["fork_on"], "flags", "fork_on")
    n_children: int = params["children"]
    wake_r = worker._wake_r
    wake_w = worker._wake_w
    os.set_blocking(wake_r, True)  # only the write end must be non-blocking (set_wakeup_fd)

    trampoline: int | None = None
    probe_addr: int | None = None
    records: list[tuple[str, int, int, list[int]]] = []
    depth = 0
    runs = 0

    def probe(signum: int) -> None:
        # Runs inside the C-level handler. Safe here only because the main thread is always in
        # ppoll (a GIL-free C call) when this signal can be delivered: see the wait below.
        nonlocal depth, runs
        depth += 1
        runs += 1
        run = runs
        if len(records) < MAX_RECORDS:
            records.append(("enter", depth, run, L.blocked_now()))
        if params["reraise"] and run == 1:
            getattr(lib, "raise")(signum)  # with SA_NODEFER the nested run happens in here
        if len(records) < MAX_RECORDS:
            records.append(("leave", depth, run, []))
        depth -= 1
        try:
            os.write(wake_w, b"p")
        except OSError:
            pass

    handler_t = ctypes.CFUNCTYPE(None, ctypes.c_int)
    probe_fn = handler_t(probe)  # kept alive for the life of the worker
    if n_children:
        worker.catch([fork_on])
    if mode == "python":
        worker.catch([sig])
        trampoline = L.get_action(sig).sa_handler
        L.set_action(sig, None, sa_flags, mask)
    elif mode == "probe":
        probe_addr = ctypes.cast(probe_fn, ctypes.c_void_p).value
        # Blocked except while the main thread waits in ppoll (which unblocks it atomically).
        signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
        L.set_action(sig, probe_addr, sa_flags, mask)
    else:
        L.set_action(sig, L.SIG_DFL if mode == "default" else L.SIG_IGN, sa_flags, mask)
    state = _read_back(sig, trampoline, probe_addr)
    worker.emit("flags", why="installed", **state)
    wait_mask = L.make_sigset(L.blocked_now())
    if mode == "probe":
        wait_mask = L.make_sigset([s for s in L.blocked_now() if s != sig])
    worker.ready()

    zombies: dict[int, float] = {}  # pid -> when to wait for it

    def fork_children() -> None:
        for _ in range(n_children):
            go_r, go_w = os.pipe()
            take_arrivals()  # earlier SIGCHLDs are not this child's
            arrived_since.clear()
            pid = os.fork()
            if pid == 0:  # the child: stop (if asked), then exit at once
                try:
                    os.close(go_w)
                    os.read(go_r, 1)  # until the parent holds a pidfd on us
                    if params["stop_children"]:
                        os.kill(os.getpid(), signal.SIGSTOP)
                finally:
                    os._exit(0)
            os.close(go_r)
            # A pidfd first: under SIG_IGN or SA_NOCLDWAIT the kernel reaps the child the
            # moment it exits, and its pid could not be opened any more.
            pidfd = os.pidfd_open(pid)
            os.close(go_w)
            watch_child(pid, pidfd)

    def watch_child(pid: int, pidfd: int) -> None:
        try:
            if params["stop_children"]:
                os.waitid(os.P_PID, pid, os.WSTOPPED | os.WNOWAIT)
                take_arrivals()
                worker.emit("child", child=pid, event="stopped", sigchld=sigchld_seen_now())
                arrived_since.clear()
                os.kill(pid, signal.SIGCONT)
            select.select([pidfd], [], [], 10.0)
        finally:
            os.close(pidfd)
        deadline = time.monotonic() + 2.0
        st = procfs.read_stat(pid)
        while st is not None and st.state != "Z" and time.monotonic() < deadline:
            select.select([], [], [], 0.01)  # the kernel is releasing it: seconds at most
            st = procfs.read_stat(pid)
        take_arrivals()
        zombie = st is not None and st.state == "Z"
        worker.emit("child", child=pid, event="exited", zombie=zombie, sigchld=sigchld_seen_now())
        if zombie:
            zombies[pid] = time.monotonic() + params["linger"]
        else:
            reap(pid)

    arrived_since: list[tuple[int, int]] = []
    pending_reports: list[tuple[int, int]] = []

    def take_arrivals() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, [])  # CPython runs pending handlers here
        got = worker.take()
        arrived_since.extend(got)
        pending_reports.extend(got)

    def sigchld_seen_now() -> bool:
        return any(s == signal.SIGCHLD for s, _t in arrived_since)

    def reap(pid: int) -> None:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            worker.emit("child", child=pid, event="reaped", error="ECHILD")
            return
        worker.emit(
            "child",
            child=pid,
            event="reaped",
            status=status,
            exitcode=os.waitstatus_to_exitcode(status),
        )

    buf = ctypes.create_string_buffer(64)
    while True:
        timeout = None
        if zombies:
            timeout = max(0.0, min(zombies.values()) - time.monotonic())
        interrupted: bool | None = None
        nbytes = 0
        if mode == "python" and timeout is None and not pending_reports:
            # A plain C read(): EINTR comes back to us unless SA_RESTART restarted it.
            ctypes.set_errno(0)
            n = lib.read(wake_r, buf, 64)
            interrupted = n < 0 and ctypes.get_errno() == errno.EINTR
            nbytes = max(0, int(n))
        elif not pending_reports:
            _ppoll(wake_r, timeout, wait_mask)
        if mode == "probe":
            done = list(records)
            del records[: len(done)]
            for phase, d, run, blocked in done:
                fields: dict[str, Any] = {"phase": phase, "depth": d, "run": run}
                if phase == "enter":
                    fields["blocked"] = [signal_name(s) for s in blocked]
                worker.emit("handler", sig=signal_name(sig), **fields)
        take_arrivals()
        arrived = list(pending_reports)
        pending_reports.clear()
        if interrupted is not None and arrived:
            names = sorted({signal_name(s) for s, _t in arrived})
            if interrupted:
                worker.emit(
                    "call", call="read(wakeup fd)", state="interrupted", errno="EINTR", sig=names[0]
                )
            else:
                worker.emit(
                    "call", call="read(wakeup fd)", state="returned", bytes=nbytes, sig=names[0]
                )
        # What the C handlers wrote and no read took yet (after EINTR, or after ppoll).
        os.set_blocking(wake_r, False)
        try:
            os.read(wake_r, 4096)
        except BlockingIOError:
            pass
        os.set_blocking(wake_r, True)
        for s, t in arrived:
            worker.emit("received", t=t, sig=signal_name(s))
        now_state = _read_back(sig, trampoline, probe_addr)
        if now_state != state:
            state = now_state
            worker.emit("flags", why="changed", **state)
        if any(s == fork_on for s, _t in arrived) and n_children:
            # The lab's cap counts this worker as 1 + children (master.footprint): the last
            # batch's zombies are reaped before the next is forked, or a storm piles them up.
            for pid in list(zombies):
                del zombies[pid]
                reap(pid)
            fork_children()
        for pid, when in list(zombies.items()):
            if time.monotonic() >= when:
                del zombies[pid]
                reap(pid)

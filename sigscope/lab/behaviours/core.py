"""core: raises RLIMIT_CORE and dies of a core-dumping signal in a private directory.

Lab processes run with a soft ``RLIMIT_CORE`` of 0 (the master sets it: no core files in the
user's folder). This worker raises its own soft limit (up to the hard one, capped at ``mb``),
moves into a directory of its own (``mkdtemp``, mode 0700) and dies of ``signal`` by its default
action, whose action is "core" (signal(7): QUIT, ILL, TRAP, ABRT, BUS, FPE, SEGV, SYS, XCPU,
XFSZ). The master's ``reaped`` event then shows ``core: true``: the raw wait status is the
signal number with bit 0x80 set (WCOREDUMP): 131 for SIGQUIT, 139 for SIGSEGV — the same numbers
a shell shows as 128+N, by coincidence of the encoding, not because a core was written.

Where the core goes is the kernel's ``core_pattern`` (core(5)): a relative name is written in the
dying process's current directory (``.PID`` appended when ``core_uses_pid`` is 1 and the pattern
has no ``%p``); an absolute one elsewhere; ``|program`` pipes it to a program (systemd-coredump,
apport), and no file appears here at all. Before it dies the worker forks a *cleaner* (a
process of the lab, tracked with a ``fork`` event): it waits on a pidfd for the worker's end
(the dump is complete before the exit is reported), reports the file's size, removes it and the
directory, and exits.

Parameters: ``signal`` (core-dumping signal, default SIGQUIT), ``fault`` (SIGSEGV only: a real
NULL-pointer read through ctypes instead of ``kill``), ``after`` (seconds before dying; 0, the
default: die on the first ``trigger`` signal), ``trigger`` (default SIGUSR1), ``mb`` (cap of the
soft limit in MiB, 1-1024, default 512).

Events: ``core`` (``action="armed"``, at the start: ``sig``, ``limit`` (soft RLIMIT_CORE now,
bytes), ``core_pattern``, ``core_uses_pid``, ``where`` (``directory`` / ``elsewhere`` /
``pipe``), ``program`` for a pipe); ``core`` (``action="dumping"``, just before the death:
``directory`` (made now), ``expected`` (glob of the expected file), ``where``); ``fork``
(``child``: the cleaner; ``starttime``); from the cleaner (role ``orphan`` once adopted): ``core``
(``action="found"``: ``worker``, ``path``, ``size`` bytes, ``removed`` (false only for a file
outside the private directory whose name does not hold the worker's pid: not surely ours); or
``action="missing"``: ``worker``, ``where``, ``text`` saying where it went instead).
"""

from __future__ import annotations

import ctypes
import glob
import os
import resource
import select
import shutil
import signal
import socket
import tempfile
import time
from typing import Any

from sigscope import procfs
from sigscope.signames import parse_signal, signal_name

from . import BehaviourError, behaviour
from ._ending import catchable, wait_for_trigger

CORE_SIGNALS = frozenset(
    int(s)
    for s in (
        signal.SIGQUIT,
        signal.SIGILL,
        signal.SIGTRAP,
        signal.SIGABRT,
        signal.SIGBUS,
        signal.SIGFPE,
        signal.SIGSEGV,
        signal.SIGSYS,
        signal.SIGXCPU,
        signal.SIGXFSZ,
    )
)
CLEANER_WAIT = 60.0  # seconds the cleaner waits for the worker's end at most
PATTERN_MAX = 4096


def _check(params: dict[str, Any]) -> None:
    sig = catchable(params["signal"], "core", "signal")
    if sig not in CORE_SIGNALS:
        names = ", ".join(signal_name(s) for s in sorted(CORE_SIGNALS))
        raise BehaviourError(
            f"core: {signal_name(sig)}'s default action dumps no core (one of {names})"
        )
    if params["fault"] and sig != signal.SIGSEGV:
        raise BehaviourError("core: 'fault' makes a real SIGSEGV; signal must be SIGSEGV")
    trig = catchable(params["trigger"], "core", "trigger")
    if trig == sig:
        raise BehaviourError("core: 'trigger' must differ from 'signal'")
    if not 0 <= params["after"] <= 60:
        raise BehaviourError(f"core: parameter 'after' must be 0-60 s, not {params['after']}")
    if not 1 <= params["mb"] <= 1024:
        raise BehaviourError(f"core: parameter 'mb' must be 1-1024, not {params['mb']}")


def _read_sys(name: str, default: str) -> str:
    try:
        with open(f"/proc/sys/kernel/{name}") as f:
            return f.read(PATTERN_MAX).strip()
    except OSError:
        return default


def expected_core(pattern: str, uses_pid: bool, pid: int, sig: int, directory: str) -> str:
    """A glob for the file ``pattern`` makes for ``pid`` (core(5) specifiers; unknown ones: *)."""
    known = {
        "%": "%",
        "p": str(pid),
        "P": str(pid),
        "i": str(pid),
        "I": str(pid),
        "u": str(os.getuid()),
        "g": str(os.getgid()),
        "s": str(sig),
        "h": socket.gethostname(),
    }
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%" and i + 1 < len(pattern):
            spec = pattern[i + 1]
            out.append(glob.escape(known[spec]) if spec in known else "*")
            i += 2
            continue
        out.append(glob.escape(ch))
        i += 1
    name = "".join(out)
    if uses_pid and "%p" not in pattern:
        name += f".{pid}"
    return name if name.startswith("/") else os.path.join(glob.escape(directory), name)


def _clean(
    worker: Any, worker_pid: int, pidfd: int, directory: str, where: str, expected: str
) -> None:
    """In the cleaner: wait for the worker's end, then report and remove its core."""
    select.select([pidfd], [], [], CLEANER_WAIT)
    found: list[str] = []
    deadline = time.monotonic() + 2.0
    while where != "pipe" and not found and time.monotonic() < deadline:
        found = glob.glob(expected)
        if not found:
            select.select([], [], [], 0.02)  # a file system may show it a moment later
    if where == "elsewhere" and found and str(worker_pid) not in found[0]:
        # Outside our directory, a name without our pid could be another process's core.
        worker.events.emit("core", action="found", worker=worker_pid, path=found[0],
                           size=os.stat(found[0]).st_size, removed=False)  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)
        return
    # Remove first, report after: whoever reads the report finds nothing left behind.
    if found:
        size = os.stat(found[0]).st_size
        os.unlink(found[0])
    shutil.rmtree(directory, ignore_errors=True)
    if found:
        worker.events.emit("core", action="found", worker=worker_pid, path=found[0], size=size,
                           removed=True)  # fmt: skip
    else:
        text = {
            "pipe": "core_pattern pipes cores to a program; no file was written here",
            "elsewhere": f"no file matched {expected}",
            "directory": "no core file appeared (limit, filesystem or a dumpable flag?)",
        }[where]
        worker.events.emit("core", action="missing", worker=worker_pid, where=where, text=text)


@behaviour(
    "core",
    "raises RLIMIT_CORE and dies of QUIT/SEGV/…: the reap says core dumped; the lab removes it",
    check=_check,
    signal="SIGQUIT",
    fault=False,
    after=0.0,
    trigger="SIGUSR1",
    mb=512,
)
def core(worker: Any, params: dict[str, Any]) -> None:
    sig = parse_signal(params["signal"])
    trigger = catchable(params["trigger"], "core", "trigger")
    after: float = params["after"]
    _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    cap = params["mb"] * 1024 * 1024
    limit = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
    resource.setrlimit(resource.RLIMIT_CORE, (limit, hard))
    pattern = _read_sys("core_pattern", "core")
    uses_pid = _read_sys("core_uses_pid", "0") == "1"
    me = os.getpid()
    where = (
        "pipe" if pattern.startswith("|") else "elsewhere" if pattern[:1] == "/" else "directory"
    )
    armed: dict[str, Any] = {"sig": signal_name(sig), "limit": limit, "where": where}
    armed.update(core_pattern=pattern, core_uses_pid=uses_pid)
    if where == "pipe":
        armed["program"] = pattern[1:].split()[0] if pattern[1:].split() else ""
    worker.emit("core", action="armed", **armed)
    worker.catch([trigger, signal.SIGTERM, signal.SIGINT])
    worker.ready()
    wait_for_trigger(worker, after, trigger)

    # The directory only now: a worker ended before its trigger leaves nothing behind.
    directory = tempfile.mkdtemp(prefix="sigscope-core-")
    os.chdir(directory)
    expected = "" if where == "pipe" else expected_core(pattern, uses_pid, me, sig, directory)
    worker.emit("core", action="dumping", directory=directory, expected=expected, where=where)
    # The cleaner: forked now, so that it exists before the death it waits for.
    pidfd = os.pidfd_open(me)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.close(r)
            os.chdir("/")
            worker.events.rebind("orphan")
            os.write(w, b"k")
            os.close(w)
            _clean(worker, me, pidfd, directory, where, expected)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    worker.emit("fork", child=child, starttime=procfs.start_time(child))
    os.read(r, 1)  # the cleaner has its pidfd: our death cannot be missed
    os.close(r)
    worker.emit("exit", code=-sig, sig=signal_name(sig))
    signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
    if params["fault"]:
        ctypes.string_at(0, 1)  # a read of address 0: the kernel sends SIGSEGV (SEGV_MAPERR)
    os.kill(me, sig)
    os._exit(128 + sig)  # not reached: the default action of sig ends us

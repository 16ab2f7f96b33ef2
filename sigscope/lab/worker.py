"""The worker side: what runs in a forked child of the master, around its behaviour.

A worker starts clean (no handlers, mask or wakeup fd inherited from the master), arms
PR_SET_PDEATHSIG so that it dies with the master, names itself in ``ps``, and runs one
behaviour function from :mod:`sigscope.lab.behaviours`. Handlers only record; the behaviour's
main loop emits the events.
"""

from __future__ import annotations

import collections
import os
import select
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, Protocol

from sigscope import procfs
from sigscope.events import now
from sigscope.lab.channel import EventWriter
from sigscope.signames import signal_name, signal_names

try:
    from setproctitle import setproctitle
except ImportError:  # pragma: no cover - setproctitle is a dependency; comm still names us

    def setproctitle(title: str) -> None:
        pass


def set_title(title: str) -> None:
    """Name this process in ps (the command line) and in /proc/PID/comm (15 bytes)."""
    setproctitle(title)
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(title[:15])
    except OSError:
        pass


class Worker:
    """What a behaviour function gets: its identity, its parameters, and signal plumbing."""

    def __init__(self, events: EventWriter, index: int, behaviour: str, params: dict[str, Any]):
        self.events = events
        self.index = index
        self.behaviour = behaviour
        self.params = params
        # (signum, t) pairs appended by handlers, drained by the main loop.
        self.arrived: collections.deque[tuple[int, int]] = collections.deque()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        self._ready = False

    def ready(self) -> None:
        """Say (once) that the behaviour has installed its handlers: signals sent from now on
        reach them. Called by the first :meth:`wait`; behaviours that never call ``wait``
        (sigwaitinfo, pause …) call it themselves once set up."""
        if not self._ready:
            self._ready = True
            self.emit("ready", behaviour=self.behaviour)

    # -- reporting -------------------------------------------------------------------------
    def emit(self, kind: str, t: int | None = None, **fields: Any) -> None:
        self.events.emit(kind, t=t, index=self.index, **fields)

    def note(self, text: str, **fields: Any) -> None:
        self.emit("note", text=text, **fields)

    # -- signals ---------------------------------------------------------------------------
    def record(self, signum: int, frame: object = None) -> None:
        """The handler: it only records (no I/O, no locks, no printing in a handler)."""
        self.arrived.append((signum, now()))

    def catch(self, signums: Iterable[int]) -> None:
        for sig in signums:
            signal.signal(sig, self.record)

    def take(self) -> list[tuple[int, int]]:
        """Signals whose handler has run since the last take, oldest first."""
        out = []
        while self.arrived:
            out.append(self.arrived.popleft())
        return out

    def wait(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Block until a handler has run (or ``timeout``), without polling: the wakeup fd.

        The C-level handler writes the signal number to the wakeup fd; poll() returns, and
        Python has run the Python-level handler before poll() returns to us (PEP 475).
        """
        self.ready()
        if not self.arrived:
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            poller.poll(None if timeout is None else int(timeout * 1000))
        try:
            os.read(self._wake_r, 4096)
        except BlockingIOError:
            pass
        return self.take()

    def report(self, arrived: list[tuple[int, int]]) -> None:
        for sig, t in arrived:
            self.emit("received", t=t, sig=signal_name(sig))

    def die_by(self, sig: int) -> NoReturn:
        """Do what the default action of ``sig`` would have done: die by that very signal."""
        self.emit("exit", code=-sig, sig=signal_name(sig))
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # only if the signal did not kill us (e.g. a Stop signal)

    def exit(self, code: int = 0) -> NoReturn:
        self.emit("exit", code=code)
        os._exit(code)


def _inherited_masks() -> dict[str, list[str]]:
    """What this worker starts with, before its behaviour changes anything (from /proc)."""
    m = procfs.parse_status_masks(procfs.read_status("self") or b"")
    return {
        "blocked": signal_names(m.blocked),
        "ignored": signal_names(m.ignored),
        "caught": signal_names(m.caught),
    }


class Runnable(Protocol):
    """What :func:`run_worker` needs of a behaviour (``sigscope.lab.behaviours.Behaviour``)."""

    @property
    def run(self) -> Callable[[Worker, dict[str, Any]], None]: ...


def run_worker(
    events: EventWriter,
    index: int,
    behaviour: str,
    params: dict[str, Any],
    master_pid: int,
    close_fds: Iterable[int],
    behaviours: Mapping[str, Runnable],
) -> NoReturn:
    """Entry point in the freshly forked child. Never returns into the master's code.
    ``behaviours`` is the table to run from (the master passes
    :data:`sigscope.lab.behaviours.BEHAVIOURS`: behaviours build on this module, so it does
    not import them back)."""
    code = 70  # EX_SOFTWARE, if anything below fails before a behaviour decides
    try:
        # Start clean: the master's handlers, wakeup fd and mask must not leak into workers.
        signal.set_wakeup_fd(-1)
        for sig in range(1, signal.NSIG):
            if sig in (signal.SIGKILL, signal.SIGSTOP):
                continue
            try:
                current = signal.getsignal(sig)
            except (OSError, ValueError):
                continue
            if callable(current) and current is not signal.default_int_handler:
                signal.signal(sig, signal.SIG_DFL)
        # A fresh Python process: SIGINT raises KeyboardInterrupt, SIGPIPE and SIGXFSZ ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        procfs.set_pdeathsig(signal.SIGKILL)
        if os.getppid() != master_pid:
            # The master died before PDEATHSIG was armed: end as PDEATHSIG would have ended us.
            os.kill(os.getpid(), signal.SIGKILL)
        for fd in close_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        events.rebind("worker")
        set_title(f"sigscope worker {index} ({behaviour})")
        worker = Worker(events, index, behaviour, params)
        worker.emit("start", behaviour=behaviour, params=params, inherited=_inherited_masks())
        behaviours[behaviour].run(worker, params)
        code = 0
        worker.emit("exit", code=0)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
        events.emit("exit", code=code, index=index)
    except KeyboardInterrupt:
        events.emit("exit", code=-signal.SIGINT, index=index, sig="SIGINT")
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        events.emit("error", index=index, text=traceback.format_exc(limit=4)[-1500:])
        code = 1
        events.emit("exit", code=code, index=index)
    finally:
        try:
            sys.stdout.flush()
        except Exception:
            pass
        os._exit(code)

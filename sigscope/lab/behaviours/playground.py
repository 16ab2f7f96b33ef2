"""playground: a worker that runs Python the learner types, between signals.

This is remote code execution *by design*: the learner writes the handler, installs it, and
watches it run (and misbehave) on a live process while every panel shows the effect. The
front ends gate it (``sigscope serve`` only with ``--allow-code`` on loopback, never in
``attach``, never as root without a confirmation that names the risk); this module only runs
what reaches it.

How code gets here: the controller creates a private directory (mode 0700) per lab and passes
its path in the environment (:data:`CODE_DIR_ENV`); each playground worker binds a Unix
datagram socket ``<dir>/<pid>.sock`` in it and then says ``ready``. The controller sends one
JSON datagram per snippet (``{"id": N, "code": "..."}``). A datagram is one whole snippet: no
framing to get wrong, and the socket's directory, not a port, decides who may send.

The main loop blocks in ``recv`` (no polling): an idle playground wakes only when a signal
arrives, and a Python handler the learner installed runs *during* that ``recv`` (PEP 475: the
C handler sets a flag, ``recv`` fails with EINTR, Python runs the handler, then retries).

Each snippet runs in this process's **main thread** (so it may call ``signal.signal`` and its
handlers run here), in one namespace that persists between snippets, with ``signal``, ``os``,
``sys``, ``time`` and ``threading`` imported, ``report(**fields)`` (emits a ``report`` event)
and ``lab`` (``lab.worker_index``, ``lab.pid``, ``lab.master_pid``). ``print`` output and
exceptions come back as ``snippet`` events; an exception never ends the worker.

A snippet that blocks (``time.sleep(30)``, ``signal.pause()``) is interrupted by the learner's
own signals, as any Python program would be. **Stop** is a signal this worker reserves
(:data:`STOP_SIGNAL`, SIGRTMAX): its handler raises :class:`SnippetStopped` in the main thread
while a snippet runs. A snippet that blocks SIGRTMAX or swallows the exception does not stop;
the controller then replaces the worker (``Lab.stop_code``).

Handlers the learner installs with ``signal.signal(sig, fn)`` are wrapped so that each run
first emits a ``received`` event (drawn in the chart like any other worker's); ``getsignal``
returns the learner's own function. What the wrapper cannot change: the handler still runs
the learner's code, however unsafe.

A snippet that forks: the child arms ``PR_SET_PDEATHSIG(SIGKILL)`` (an ``os.register_at_fork``
hook), so it dies with this worker even after ``setsid``, and reports itself with a ``fork``
event so that the controller tracks it and kills it when the lab closes. A child that returns
into this loop (it did not ``_exit``) ends there instead of running a second playground.

What isolation there is, and is not: the worker is an ordinary process of the learner's user.
sigscope's own paths (``Lab.send``) only signal the lab, but a snippet can call ``os.kill`` on
anything that user may signal, read and write their files, and open sockets. Run it only where
you would run the code yourself.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import signal
import socket
import stat
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from typing import Any

from sigscope import procfs
from sigscope.events import now
from sigscope.signames import signal_name

from . import BehaviourError, behaviour
from ._dispositions import disposition_name

CODE_DIR_ENV = "SIGSCOPE_CODE_DIR"  # the lab's private directory for playground sockets
STOP_SIGNAL = signal.SIGRTMAX  # reserved: raises SnippetStopped in a running snippet
MAX_CODE = 16 * 1024  # bytes of one snippet: a handler and a loop, not a program
MAX_OUTPUT = 16 * 1024  # characters of output per snippet (and per idle spell) sent back
OUTPUT_CHUNK = 1024  # characters per ``output`` event (an event must fit in PIPE_BUF)
MAX_REPORT_FIELDS = 16
MAX_FIELD = 200  # characters of one reported value (its repr if not a plain JSON scalar)
MAX_RESULT = 1000  # characters of a snippet's last expression's repr
UNSET = "not set from Python"  # a disposition signal.signal returns as None


ITIMER_NAMES = {
    signal.ITIMER_REAL: "ITIMER_REAL",
    signal.ITIMER_VIRTUAL: "ITIMER_VIRTUAL",
    signal.ITIMER_PROF: "ITIMER_PROF",
}
TIMER_OF: dict[int, int] = {
    signal.SIGALRM: signal.ITIMER_REAL,
    signal.SIGVTALRM: signal.ITIMER_VIRTUAL,
    signal.SIGPROF: signal.ITIMER_PROF,
}


def socket_path(directory: str, pid: int) -> str:
    """Where the playground worker ``pid`` listens (the controller sends here)."""
    return os.path.join(directory, f"{pid}.sock")


class SnippetStopped(BaseException):
    """Raised in the main thread by the Stop signal while a snippet runs.

    A BaseException, like KeyboardInterrupt, so that ``except Exception`` in the learner's code
    does not swallow it by accident (``except BaseException`` still can: then the controller
    replaces the worker).
    """


def _check(params: dict[str, Any]) -> None:
    if not 0 <= params["max_output"] <= 1 << 20:
        raise BehaviourError("playground: parameter 'max_output' must be 0 to 1048576 characters")


class _Output(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of the playground: text goes back as ``snippet`` events.

    Sent line by line (a snippet that prints and then sleeps shows its line at once), in
    chunks that fit an event, and at most ``limit`` characters per snippet: then one
    ``truncated`` note and nothing more until the next snippet.
    """

    def __init__(self, pg: Playground, stream: str) -> None:
        self.pg = pg
        self.stream = stream
        self.buf = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        self.buf += s
        if "\n" in self.buf or len(self.buf) >= OUTPUT_CHUNK:
            self.flush()
        return len(s)

    def flush(self) -> None:
        while self.buf:
            text, self.buf = self.buf[:OUTPUT_CHUNK], self.buf[OUTPUT_CHUNK:]
            self.pg.output(self.stream, text)


class Playground:
    def __init__(self, worker: Any, params: dict[str, Any]) -> None:
        self.worker = worker
        self.limit = int(params["max_output"])
        self.pid = os.getpid()
        self.snippet: int | None = None  # the id of the running snippet
        self.sent_chars = 0
        self.truncated = False
        self.handlers: dict[int, Any] = {}  # signum -> the learner's own handler
        self.children: set[int] = set()  # children reported with a ``fork`` event
        self.real_timer = "alarm"  # alarm and ITIMER_REAL are one timer: the name last used
        self.lab = types.SimpleNamespace(
            worker_index=worker.index, pid=self.pid, master_pid=os.getppid()
        )
        self.namespace: dict[str, Any] = {
            "__name__": "__playground__",
            "__builtins__": __builtins__,
            "signal": signal,
            "os": os,
            "sys": sys,
            "time": time,
            "threading": threading,
            "report": self.report,
            "lab": self.lab,
        }

    # -- what the learner's code sees --------------------------------------------------------
    def report(self, **fields: Any) -> None:
        """``report(count=3)``: a ``report`` event from this worker, drawn in the chart."""
        out: dict[str, Any] = {}
        for key, value in list(fields.items())[:MAX_REPORT_FIELDS]:
            if key in ("t", "pid", "role", "kind", "index"):
                key = f"{key}_"  # never overwrite the event's own fields
            if isinstance(value, bool | int | float | type(None)):
                out[key] = value
            elif isinstance(value, str):
                out[key] = value[:MAX_FIELD]
            else:
                out[key] = repr(value)[:MAX_FIELD]
        if len(fields) > MAX_REPORT_FIELDS:
            out["fields_dropped"] = len(fields) - MAX_REPORT_FIELDS
        self.worker.emit("report", snippet=self.snippet, **out)

    def output(self, stream: str, text: str) -> None:
        if self.truncated:
            return
        room = self.limit - self.sent_chars
        if len(text) > room:
            text = text[: max(room, 0)]
            self.truncated = True
        self.sent_chars += len(text)
        if text:
            self.worker.emit("snippet", action="output", id=self.snippet, stream=stream, text=text)
        if self.truncated:
            self.worker.emit(
                "snippet", action="truncated", id=self.snippet, limit=self.limit, stream=stream
            )

    # -- signal plumbing ---------------------------------------------------------------------
    def _stop(self, signum: int, frame: object) -> None:
        if self.snippet is not None:
            raise SnippetStopped()

    def _wrap(self, signum: int, fn: Callable[..., Any]) -> Callable[[int, Any], Any]:
        emit = self.worker.emit

        def handler(sig: int, frame: Any) -> Any:
            # The learner's handler ran for sig: the same event any behaviour's handler gives.
            emit("received", t=now(), sig=signal_name(sig))
            self._timer_fired(sig)
            return fn(sig, frame)

        handler.__wrapped__ = fn  # type: ignore[attr-defined]
        return handler

    def install_wrappers(self) -> None:
        """Patch ``signal.signal``/``getsignal`` in this process (the worker's own module)."""
        real_signal, real_getsignal = signal.signal, signal.getsignal

        def patched_signal(signalnum: Any, handler: Any) -> Any:
            num = int(signalnum)
            if num == STOP_SIGNAL:
                raise ValueError(
                    f"{signal_name(num)} is reserved by the playground for Stop; use another"
                )
            installed = self._wrap(num, handler) if callable(handler) else handler
            previous = real_signal(signalnum, installed)
            before = self.handlers.pop(num, None)
            if callable(handler):
                self.handlers[num] = handler
            self.worker.emit(
                "disposition",
                sig=signal_name(num),
                disposition=disposition_name(handler, UNSET),
                previous=disposition_name(before if before is not None else previous, UNSET),
                snippet=self.snippet,
            )
            return before if before is not None else previous

        def patched_getsignal(signalnum: Any) -> Any:
            num = int(signalnum)
            if num in self.handlers:
                return self.handlers[num]
            return real_getsignal(signalnum)

        signal.signal = patched_signal
        signal.getsignal = patched_getsignal
        self._wrap_timers()
        real_signal(STOP_SIGNAL, self._stop)

    # /proc shows no alarm or itimer values: the Timers panel reads ``timer`` events, so the
    # learner's alarm() and setitimer() say what they did, as the alarm and itimer behaviours do.
    def _wrap_timers(self) -> None:
        real_alarm, real_setitimer = signal.alarm, signal.setitimer
        emit = self.worker.emit

        def patched_alarm(seconds: int) -> int:
            left_before = signal.getitimer(signal.ITIMER_REAL)[0]
            previous = real_alarm(seconds)
            self.real_timer = "alarm"
            emit(
                "timer",
                timer="alarm",
                action="armed" if seconds else "cancelled",
                value=signal.getitimer(signal.ITIMER_REAL)[0],
                interval=0.0,
                previous=previous,
                replaced_left=left_before,
                snippet=self.snippet,
            )
            return previous

        def patched_setitimer(which: int, seconds: float, interval: float = 0.0) -> Any:
            old = real_setitimer(which, seconds, interval)
            name = ITIMER_NAMES.get(which, str(which))
            if which == signal.ITIMER_REAL:
                self.real_timer = name
            value, reload = signal.getitimer(which)
            emit(
                "timer",
                timer=name,
                action="armed" if seconds else "cancelled",
                value=value,
                interval=reload,
                snippet=self.snippet,
            )
            return old

        signal.alarm = patched_alarm
        signal.setitimer = patched_setitimer

    def _timer_fired(self, sig: int) -> None:
        which = TIMER_OF.get(sig)
        if which is None:
            return
        value, reload = signal.getitimer(which)
        name = self.real_timer if which == signal.ITIMER_REAL else ITIMER_NAMES[which]
        self.worker.emit(
            "timer",
            timer=name,
            action="tick" if reload else "fired",
            value=value,
            interval=reload,
        )

    def after_fork_in_child(self) -> None:
        """A snippet forked: this child dies with the worker (even after ``setsid``)."""
        procfs.set_pdeathsig(signal.SIGKILL)
        if os.getppid() != self.pid:
            os._exit(1)  # the worker is already gone: end as PDEATHSIG would have ended us
        self.worker.events.rebind("orphan")
        self.worker.events.emit("start", parent=self.pid, behaviour="playground child")

    def report_children(self) -> None:
        """Say ``fork`` for each child of this worker not reported yet, so that the controller
        tracks it and kills it when the lab closes (a ``subprocess`` child with a session of
        its own is outside the lab's process group, and exec drops nothing of ours into it).
        Called right after ``os.fork`` (an at-fork hook) and after each snippet."""
        if os.getpid() != self.pid:
            return
        for child in procfs.children_of(self.pid):
            if child in self.children:
                continue
            start = procfs.start_time(child)
            if start is None:
                continue
            self.children.add(child)
            self.worker.emit("fork", child=child, starttime=start)

    # -- running one snippet -----------------------------------------------------------------
    def run_snippet(self, ident: Any, code: str) -> None:
        self.sent_chars = 0
        self.truncated = False
        started = time.monotonic()
        ident = ident if isinstance(ident, int) else None
        # Stop raises only while self.snippet is set, and everything from setting it to
        # clearing it is inside this try: a Stop that lands between two of our own lines
        # (after the ``started`` event, before the learner's first line) still ends here.
        try:
            self.snippet = ident
            self.worker.emit("snippet", action="started", id=ident, lines=code.count("\n") + 1)
            result = self._exec(code)
            sys.stdout.flush()  # its last line still carries the snippet's id
            sys.stderr.flush()
            self.snippet = None
        except SnippetStopped:
            self.snippet = None
            self._end("stopped", ident, started)
            return
        except SystemExit as e:
            self.snippet = None
            # sys.exit() in a snippet ends the worker, as it would end any program.
            self._end("raised", ident, started, exception="SystemExit", text=f"SystemExit: {e}")
            raise
        except BaseException as e:
            self.snippet = None
            if os.getpid() != self.pid:
                os._exit(1)  # a forked child that raised: it must not run a second playground
            self._end(
                "raised", ident, started, exception=type(e).__name__, text=_format_exception(e)
            )
            return
        if os.getpid() != self.pid:
            # A forked child came back from the snippet: end it here, quietly (a second
            # playground reading the worker's socket would steal its snippets).
            os._exit(0)
        fields = {"result": result[:MAX_RESULT]} if result is not None else {}
        self._end("finished", ident, started, **fields)

    def _end(self, action: str, ident: int | None, started: float, **fields: Any) -> None:
        self.report_children()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        self.worker.emit(
            "snippet",
            action=action,
            id=ident,
            seconds=round(time.monotonic() - started, 3),
            **fields,
        )
        self.sent_chars = 0
        self.truncated = False

    def _exec(self, code: str) -> str | None:
        """Run ``code``; if it ends with an expression, return its repr (as a REPL shows it)."""
        tree = ast.parse(code, filename="<snippet>", mode="exec")
        last: ast.expr | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = tree.body.pop().value  # type: ignore[attr-defined]
        exec(compile(tree, "<snippet>", "exec"), self.namespace)
        if last is None:
            return None
        value = eval(compile(ast.Expression(last), "<snippet>", "eval"), self.namespace)
        return None if value is None else repr(value)

    # -- the loop ----------------------------------------------------------------------------
    def serve(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(MAX_CODE + 4096)
            except SnippetStopped:
                continue  # a Stop that arrived between snippets (the flag was just cleared)
            except SystemExit:
                raise
            except BaseException as e:
                if not _is_socket(sock):
                    # The learner's code closed (or replaced) our socket: nothing can reach
                    # this worker any more, and recv would fail at once, for ever. End; the
                    # master starts a fresh playground in the slot.
                    self.worker.emit(
                        "error", text="playground: its code socket was closed; the worker ends"
                    )
                    return
                # A learner's handler raised while the worker waited for code: say so, wait on.
                self.worker.emit(
                    "snippet",
                    action="raised",
                    id=None,
                    during="idle",
                    exception=type(e).__name__,
                    text=_format_exception(e),
                )
                continue
            self._handle(data)

    def _handle(self, data: bytes) -> None:
        try:
            message = json.loads(data)
            ident, code = message.get("id"), message.get("code")
            if not isinstance(code, str):
                raise ValueError("no code")
        except (ValueError, AttributeError):
            self.worker.emit("snippet", action="refused", why="not a snippet message")
            return
        if len(code.encode()) > MAX_CODE:
            self.worker.emit(
                "snippet", action="refused", id=ident, why=f"code over {MAX_CODE} bytes"
            )
            return
        self.run_snippet(ident, code)


def _is_socket(sock: socket.socket) -> bool:
    try:
        return stat.S_ISSOCK(os.fstat(sock.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def _format_exception(e: BaseException) -> str:
    """The traceback, without the playground's own frames, bounded."""
    tb = e.__traceback__
    # Skip frames until the first one of the learner's code (<snippet>).
    while tb is not None and tb.tb_frame.f_code.co_filename != "<snippet>":
        tb = tb.tb_next
    lines = traceback.format_exception(type(e), e, tb if tb is not None else None, limit=8)
    return "".join(lines)[-1500:]


@behaviour(
    "playground",
    "runs Python the learner types (Code panel, trace --run) in its main thread, between signals",
    check=_check,
    max_output=MAX_OUTPUT,
)
def playground(worker: Any, params: dict[str, Any]) -> None:
    directory = os.environ.get(CODE_DIR_ENV)
    if not directory or not os.path.isdir(directory):
        worker.emit("error", text="playground: this lab has no code directory; nothing to run")
        worker.ready()
        while True:
            signal.pause()  # keep the slot filled; it runs nothing
    # A fresh process's state for the learner: no wakeup fd (the Worker set one up).
    signal.set_wakeup_fd(-1)
    pg = Playground(worker, params)
    pg.install_wrappers()
    os.register_at_fork(after_in_child=pg.after_fork_in_child, after_in_parent=pg.report_children)
    sys.stdout = _Output(pg, "stdout")
    sys.stderr = _Output(pg, "stderr")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    path = socket_path(directory, pg.pid)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock.bind(path)
    worker.ready()
    try:
        pg.serve(sock)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)

"""Sending code to a playground worker, and stopping it (``Lab.run_code`` / ``Lab.stop_code``).

The controller side of :mod:`sigscope.lab.behaviours.playground`: one JSON datagram per snippet
to the worker's socket in the lab's private directory; Stop is the worker's reserved signal
(SIGRTMAX) sent like any other send (a ``sent`` event, through a pidfd); if the snippet has not
ended within a grace, the worker is killed (SIGKILL, also a recorded send) and the master
replaces it in the same slot.

Front ends decide whether code may run at all (serve, attach, root): see README "The
playground". This module does not ask.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import signal
import socket
import time
from dataclasses import dataclass
from typing import Any, Protocol

from sigscope.events import Event
from sigscope.lab.behaviours.playground import MAX_CODE, STOP_SIGNAL, socket_path
from sigscope.lab.errors import LabError
from sigscope.numbers import NumberError, parse_float
from sigscope.sendspec import SendSpecError, parse_target
from sigscope.sources.base import LabProcess, Source


class PlaygroundLab(Source, Protocol):
    """What the playground needs of its lab (a :class:`~sigscope.lab.controller.Lab`, which
    calls these functions with itself; this module does not import it)."""

    code_dir: str | None

    @property
    def master(self) -> object: ...

    def resolve(self, target: str | int) -> LabProcess: ...


CODE_ENV = "SIGSCOPE_CODE"  # anything but "on": this session runs no learner code (serve, attach)

_ids = itertools.count(1)


def code_allowed(environ: dict[str, str] | None = None) -> bool:
    """Whether labs started by this process may run learner code at all.

    ``sigscope serve`` sets ``SIGSCOPE_CODE=off`` for its pages unless ``--allow-code``, and
    ``attach`` sets it for itself: a lab started then gets no code directory, so a playground
    worker has no socket and nothing can reach it (not a check that a later edit could skip).
    """
    env = os.environ if environ is None else environ
    # Fail safe: only "on" (or no word at all) allows code; "0", "no", "false", a typo: off.
    return env.get(CODE_ENV, "on").strip().lower() == "on"


READY_TIMEOUT = 10.0
STOP_GRACE = 2.0  # seconds a stopped snippet has to end before its worker is replaced
RESEND_AFTER = 0.3  # seconds before Stop is sent again (a Stop can be lost: see stop_code)
RESEND_EVERY = 0.5
ENDINGS = ("finished", "raised", "stopped")


def playground_worker(lab: PlaygroundLab, target: str | int) -> LabProcess:
    """The playground worker ``target`` names (``worker:N``, ``worker``, a pid)."""
    if isinstance(target, str) and target.strip().lower() == "worker":
        live = [p for p in lab.live_workers() if not p.exited and p.behaviour == "playground"]
        if not live:
            raise LabError("there is no live playground worker")
        proc = live[0]
    else:
        proc = lab.resolve(target)
    if proc.role != "worker" or proc.behaviour != "playground":
        what = f"worker {proc.index}" if proc.index is not None else f"pid {proc.pid}"
        raise LabError(f"{what} is not a playground worker (it runs {proc.behaviour or '?'})")
    if proc.exited:
        raise LabError(f"playground worker {proc.index} has exited")
    return proc


def run_code(
    lab: PlaygroundLab, target: str | int, code: str, timeout: float = READY_TIMEOUT
) -> int:
    """Send ``code`` to a playground worker; return the snippet's id (its ``snippet`` events
    carry it). Returns at once: the snippet runs in the worker, which reports as it goes.

    Raises:
        LabError: not a playground worker, code too large, no code directory, or the worker
            did not become ready in time.
    """
    if not isinstance(code, str):
        raise LabError("code must be text")
    size = len(code.encode())
    if size > MAX_CODE:
        raise LabError(f"the code is {size} bytes; a snippet may have at most {MAX_CODE}")
    if lab.code_dir is None:
        raise LabError(
            "this session runs no code (sigscope serve without --allow-code, or attach)"
            if lab.master is not None
            else "the lab has not started"
        )
    proc = playground_worker(lab, target)
    # A worker that has not bound its socket yet would lose the datagram: wait for its ready.
    lab.wait_until(lambda: proc.ready or proc.exited, timeout=timeout)
    if proc.exited:
        raise LabError(f"playground worker {proc.index} has exited")
    ident = next(_ids)
    data = json.dumps({"id": ident, "code": code}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto(data, socket_path(lab.code_dir, proc.pid))
        except OSError as e:
            raise LabError(f"could not send code to worker {proc.index}: {e.strerror}") from None
    return ident


def running_snippet(lab: PlaygroundLab, pid: int) -> int | None:
    """The id of the snippet ``pid`` is running now, from its ``snippet`` events (or None)."""
    current: int | None = None
    for event in lab.events():
        if event.get("kind") != "snippet" or event.get("pid") != pid:
            continue
        action = event.get("action")
        if action == "started":
            current = event.get("id")
        elif action in ENDINGS and event.get("during") != "idle":
            current = None
    return current


def stop_code(lab: PlaygroundLab, target: str | int, grace: float = STOP_GRACE) -> str:
    """Stop the snippet a playground worker runs: ``"idle"`` (nothing ran), ``"stopped"``
    (it ended within ``grace``), or ``"replaced"`` (it did not: the worker was SIGKILLed and
    the master starts a new one in its slot).

    Blocks up to ``grace`` seconds (a UI calls it from a thread: it only sends signals).
    """
    proc = playground_worker(lab, target)
    if running_snippet(lab, proc.pid) is None:
        return "idle"
    since = lab.cursor()
    lab.send(proc.pid, STOP_SIGNAL)

    def ended(event: Event) -> bool:
        return (
            event.get("pid") == proc.pid
            and event.get("kind") == "snippet"
            and event.get("action") in ENDINGS
            and event.get("during") != "idle"
        ) or (event.get("kind") == "reaped" and event.get("child") == proc.pid)

    # Python runs a handler only between bytecodes, so a Stop that lands after the snippet's
    # last check and before its pause()/sleep() system call leaves the flag set and the worker
    # asleep (the lost-wakeup race of pause(2); TLPI 22.9). Until the snippet ends, Stop is
    # sent again now and then: the next one interrupts the call and the handler runs.
    deadline = time.monotonic() + grace
    wait = RESEND_AFTER
    while True:
        left = deadline - time.monotonic()
        try:
            lab.wait_for(ended, timeout=max(min(wait, left), 0.0), since=since)
            return "stopped"
        except lab.timeout_error:
            pass
        if left <= wait or proc.exited:
            break
        lab.send(proc.pid, STOP_SIGNAL)
        wait = RESEND_EVERY
    if not proc.exited:
        lab.send(proc.pid, signal.SIGKILL)
    return "replaced"


def code_fields(event: Event) -> dict[str, Any]:
    """The fields of a ``snippet`` event worth showing (for the UI and trace)."""
    return {k: event[k] for k in ("action", "id", "text", "result", "exception") if k in event}


class RunSpecError(ValueError):
    """A ``--run`` spec that does not parse; the message says why."""


@dataclass(frozen=True)
class RunSpec:
    at: float  # seconds from the start
    code: str
    target: str  # worker (the first playground worker) or worker:N

    @property
    def text(self) -> str:
        short = self.code if len(self.code) <= 40 else self.code[:39] + "…"
        return f"{self.at:g}:{short!r}@{self.target}"


_TARGET = re.compile(r"@\s*(worker(?::[^@\s]*)?)\s*$", re.IGNORECASE)


def parse_run_spec(text: str, max_at: float = math.inf) -> RunSpec:
    """``[SECONDS:]CODE[@worker:N]`` (``trace --run``): code may hold ``:`` and ``@`` itself,
    so SECONDS is taken only when the text before the first ``:`` is a number, and a target
    only when the text ends in ``@worker`` or ``@worker:N``.

    Raises:
        RunSpecError: no code, a bad time or target, or code over the size limit.
    """
    body = text
    at = 0.0
    head, colon, rest = body.partition(":")
    if colon and head.strip() and is_float(head.strip()):
        at = parse_float(head, what="seconds")
        if not 0 <= at <= max_at:
            limit = "0 or more" if math.isinf(max_at) else f"0 to {max_at:g} seconds"
            raise RunSpecError(f"bad time {head.strip()!r} in --run: {limit}")
        body = rest
    target = "worker"
    match = _TARGET.search(body)
    if match:
        try:
            target = parse_target(match.group(1))
        except SendSpecError as e:
            raise RunSpecError(f"{e} in --run") from None
        body = body[: match.start()]
    if not body.strip():
        raise RunSpecError("--run wants code, e.g. '0.3:import signal; print(signal.SIGTERM)'")
    size = len(body.encode())
    if size > MAX_CODE:
        raise RunSpecError(f"--run code is {size} bytes; at most {MAX_CODE}")
    return RunSpec(at, body, target)


def is_float(text: str) -> bool:
    try:
        parse_float(text, what="seconds")
    except NumberError:
        return False
    return True

"""The rules of ``sigscope serve`` that need no web machinery: settings, keys, what a page
may send, listening sockets, and the clean-up of a closed page's processes.

textual-serve runs one app process per browser connection, so every visitor gets a lab of
their own. That makes the server's limits part of its design:

- it listens on loopback unless told otherwise, and binds its sockets *before* it starts, so
  a port in use or a bad host is one line and exit 2, not a traceback from deep in aiohttp;
  another host is a warning that names the risk, and as root it is refused without
  ``--allow-root``;
- a page drives processes as the user who runs the server, so nothing is served without a
  key: a random token made at start and printed in the URL (as Jupyter does); the page and
  its WebSocket must carry it, and a WebSocket from a page of another origin is refused
  (any site the user visits could otherwise open one: cross-site WebSocket hijacking);
- what a page sends is bounded: the terminal size it asks for is clamped, a malformed or
  huge message is dropped with one log line, the refused pages held open are capped, and
  ``--grace`` is bounded;
- ``--max-connections`` caps the pages alive at once, ``--max-per-client`` the pages of one
  client address, and ``--max-processes`` every page's processes together (a page beyond
  any of them gets a "full" page, and no process is started for it); ``--max-workers`` caps
  each lab (see :mod:`sigscope.serving.classroom` for how the budget is shared);
- each page's app is a child of this process, started as ``python -P -m
  sigscope.commands.serve`` (its ``main_page``), which arms ``PR_SET_PDEATHSIG(SIGKILL)``
  before it runs anything: if this server dies, every app dies with it, and the lab's own
  layers (the master's and the workers' PDEATHSIG) take the lab down after it. ``-P`` keeps
  the current folder off ``sys.path``: a ``json.py`` in the folder serve was started from
  must not run in an app;
- when a page closes, its app is asked to quit (it closes its lab), then TERMed, then KILLed,
  and the processes its lab had are checked by pid and start time until none is left.
  This server is a child subreaper, so whatever a dead app orphans is re-parented here, not to
  init: it is reaped here by pid (never ``waitpid(-1)``, which would steal the exit status of
  an app that asyncio is waiting for).

This package (:mod:`sigscope.serving`) imports neither Textual nor aiohttp, nor the UI: the
command is :mod:`sigscope.commands.serve`, the web server :mod:`sigscope.ui.serve_web`.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sigscope import procfs
from sigscope.numbers import NumberError, parse_int
from sigscope.safety import ProcessRef, SendRefused, send_signal

EXIT_USAGE = 2
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_CONNECTIONS = 4
DEFAULT_MAX_WORKERS = 8
DEFAULT_MAX_PER_CLIENT = 4  # pages one client address may have open at once
DEFAULT_MAX_PROCESSES = 256  # every page's app and lab together
MAX_CONNECTIONS_LIMIT = 64  # a lab is 3+ processes and an app; more pages than this is a mistake
MAX_PROCESSES_LIMIT = 4096
MAX_WARM = 8  # spare apps: each is a Python with Textual imported (about 60 MB)
QUIT_TIMEOUT = 3.0  # seconds an app gets to quit (closing its lab) before it is TERMed
SERVER_PID_ENV = "SIGSCOPE_SERVE_PID"  # tells a served app which process must be its parent
PAGE_MODULE = "sigscope.commands.serve"  # what each page's app runs (python -P -m …)
MAX_GRACE = 10.0  # seconds: a page's lab may not keep stubborn workers alive longer on close
# The largest terminal a page may ask for. A 5000x5000 resize took one app from 45 to 518 MB
# and it stopped answering quit; 300x100 is more than a 4K screen shows at a readable size.
MAX_COLUMNS = 300
MAX_ROWS = 100
MAX_MESSAGE = 64 * 1024  # bytes in one WebSocket message (keys typed, a resize, a ping)
MAX_REFUSED = 8  # refused pages held open at once to show why; more are closed at once


class ServeError(Exception):
    """Why ``sigscope serve`` cannot start, in one line for the user."""


@dataclass(frozen=True)
class ServeSettings:
    """What the server listens on, its limits, and what each page gets."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_workers: int = DEFAULT_MAX_WORKERS
    max_per_client: int = DEFAULT_MAX_PER_CLIENT
    max_processes: int = DEFAULT_MAX_PROCESSES
    workers: int = 2
    behaviour: str = "idle"
    reaping: str = "handler"
    grace: float = 5.0
    allow_code: bool = False  # pages may run Python in playground workers (loopback only)
    lesson: str | None = None  # every page opens this lesson file (serve --lesson)
    demo: str | None = None  # every page plays this lesson file (serve --demo)
    lessons_dir: str = ""  # where the start page's lessons are
    warm: int = 0  # spare apps kept started (imports done), each taken by the next page

    def warm_argv(self) -> list[str]:
        """The command of a spare app: it imports, then waits for its page's argv."""
        return [sys.executable, "-P", "-m", PAGE_MODULE, "--warm"]

    @property
    def fixed(self) -> bool:
        """Whether every page opens the same thing (--lesson, --demo): no start page."""
        return self.lesson is not None or self.demo is not None

    def app_argv(
        self,
        kind: str = "dashboard",
        lesson: str | None = None,
        status: str | None = None,
        progress: str | None = None,
        picker: str | None = None,
    ) -> list[str]:
        """The command a page's app runs: ``kind`` is ``dashboard`` (with ``--workers``
        capped), ``lesson`` or ``demo`` (of the lesson file ``lesson``). ``status`` is the
        file the page reports its progress in; ``progress`` where a lesson's progress is kept;
        ``picker`` the folder of the lessons its lesson picker (L) offers.
        """
        argv = [
            sys.executable,
            "-P",  # never the current folder first on sys.path (Python >= 3.11)
            "-m",
            PAGE_MODULE,
            # First, and read by main_page: whether this page may run playground code.
            "--code=on" if self.allow_code else "--code=off",
        ]
        if status is not None:
            argv += ["--status", status]
        if kind == "dashboard":
            return argv + [
                "dashboard",
                "--workers",
                str(min(self.workers, self.max_workers)),
                "--behaviour",
                self.behaviour,
                "--reaping",
                self.reaping,
                "--grace",
                f"{self.grace:g}",
            ]
        if lesson is None:
            raise ValueError(f"a {kind} page needs a lesson file")
        argv += [kind, lesson]
        if progress is not None:
            argv += ["--progress", progress]
        if picker is not None:
            argv += ["--picker", picker]
        return argv


# -- the key, the origin and what a page may send ------------------------------------------------


def new_token() -> str:
    """The key a page must show: 256 random bits, URL-safe (made once per server run)."""
    import secrets  # here: ``sigscope serve``'s options are parsed at every start (issue 14)

    return secrets.token_urlsafe(32)


def token_ok(given: str | None, token: str) -> bool:
    """Whether ``given`` is the key, compared in constant time (no timing oracle)."""
    if given is None or len(given) > 256:
        return False
    import hmac  # here, as secrets: hmac imports hashlib (OpenSSL)

    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode())


def user_name() -> str:
    uid = os.geteuid()
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def on_loopback(sockets: Sequence[socket.socket]) -> bool:
    """Whether every socket listens on a loopback address (no other machine can connect)."""
    for sock in sockets:
        try:
            if not ipaddress.ip_address(sock.getsockname()[0]).is_loopback:
                return False
        except ValueError:
            return False
    return True


LOOPBACK_NAMES = ("localhost", "localhost.")


def loopback_host(host_header: str) -> bool:
    """Whether an HTTP ``Host`` (``name[:port]``) names this machine's loopback.

    A server on loopback checks it to defeat DNS rebinding: a hostile site whose name is
    made to resolve to 127.0.0.1 would otherwise be "same origin" with this server.
    """
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8000
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin_ok(origin: str | None, scheme: str, host_header: str) -> bool:
    """Whether a WebSocket's ``Origin`` is the page this server served.

    A browser always sends ``Origin`` on a WebSocket, so a missing one is not a page of
    another site (a plain client, which still needs the token); ``null`` (a sandboxed or
    file: page) and any other origin are refused.
    """
    if origin is None:
        return True
    return origin.strip().lower() == f"{scheme}://{host_header}".lower()


def clamp_size(width: int, height: int) -> tuple[int, int]:
    """A terminal size a page may have: 1..MAX_COLUMNS x 1..MAX_ROWS."""
    return max(1, min(width, MAX_COLUMNS)), max(1, min(height, MAX_ROWS))


def size_from_query(text: str | None, default: int) -> int:
    """A width or height from the WebSocket's query string (textual's page sends them)."""
    if text is None:
        return default
    try:
        return parse_int(text, what="a terminal size", low=1, high=1_000_000)
    except NumberError:
        return default


class BadMessage(Exception):
    """A WebSocket message that is not one a textual page sends; the text says why."""


@dataclass(frozen=True)
class Message:
    """One message from a page, checked: ``kind`` and what goes with it."""

    kind: str  # stdin, resize, ping, blur, focus
    text: str = ""  # stdin: the keys; ping: the data to echo
    width: int = 0
    height: int = 0


def _size_field(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    # bool is an int to Python; JSON true is not a size.
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadMessage(f"resize {name} is not a whole number")
    return value


def read_message(text: str) -> Message:
    """Check one text message from a page, as textual's page sends them.

    ``["stdin", str]``, ``["resize", {"width": int, "height": int}]`` (clamped here),
    ``["ping", str]``, ``["blur"]``, ``["focus"]``.

    Raises:
        BadMessage: anything else (bad JSON, wrong types, too long, too deep).
    """
    if len(text) > MAX_MESSAGE:
        raise BadMessage(f"{len(text)} characters (at most {MAX_MESSAGE})")
    try:
        envelope = json.loads(text)
    except (ValueError, RecursionError):
        raise BadMessage("not JSON") from None
    if not isinstance(envelope, list) or not envelope or not isinstance(envelope[0], str):
        raise BadMessage("not a list that starts with a type")
    kind = envelope[0]
    data = envelope[1] if len(envelope) > 1 else None
    if kind in ("stdin", "ping"):
        if not isinstance(data, str):
            raise BadMessage(f"{kind} data is not a string")
        return Message(kind, text=data)
    if kind == "resize":
        if not isinstance(data, dict):
            raise BadMessage("resize data is not an object")
        width, height = clamp_size(_size_field(data, "width"), _size_field(data, "height"))
        return Message(kind, width=width, height=height)
    if kind in ("blur", "focus"):
        return Message(kind)
    raise BadMessage(f"unknown type {kind[:40]!r}")


# -- listening -------------------------------------------------------------------------------


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for ``host`` (every address it resolves to) and ``port``.

    Bound here, before any web machinery starts, so that the errors a user can cause are
    one line each; the same sockets are then handed to the server, so there is no window in
    which another program could take the port between the check and the real bind.

    Raises:
        ServeError: the host does not resolve, is not an address of this machine, or the
            port is in use or needs privileges.
    """
    if not host.strip():
        raise ServeError("--host is empty")
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE | socket.AI_ADDRCONFIG
        )
    except socket.gaierror as e:
        raise ServeError(f"bad host {host!r}: {e.strerror}") from None
    except UnicodeError:
        raise ServeError(f"bad host {host!r}") from None
    sockets: list[socket.socket] = []
    seen: set[tuple[int, str]] = set()
    try:
        for family, kind, proto, _, address in infos:
            key = (int(family), str(address[0]))
            if key in seen:
                continue
            seen.add(key)
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            # As aiohttp would: a port in TIME_WAIT is free; one with a listener is not.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                # "localhost" on two families with port 0: use the port the first one got.
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            try:
                sock.bind(address)
            except OSError as e:
                raise ServeError(bind_problem(host, port, e)) from None
            sock.listen(128)
            sock.setblocking(False)
    except BaseException:
        for s in sockets:
            s.close()
        raise
    if not sockets:
        raise ServeError(f"bad host {host!r}: no address to listen on")
    return sockets


def bind_problem(host: str, port: int, error: OSError) -> str:
    """The reason a bind failed, in the user's terms."""
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use (try --port {port + 1}, or --port 0)"
    if error.errno == errno.EACCES:
        return f"port {port} needs privileges (choose one above 1023)"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"bad host {host!r}: not an address of this machine"
    return f"cannot listen on {host} port {port}: {error.strerror}"


def url_of(
    sockets: Sequence[socket.socket], host: str, token: str | None = None, path: str = ""
) -> str:
    """The address to give people: the first socket's port, the host as the user wrote it
    (this machine's name when that is a wildcard, which no browser elsewhere can use), and
    the key, without which the server serves nothing."""
    port = sockets[0].getsockname()[1]
    if host in ("0.0.0.0", "::"):
        host = socket.gethostname()
    shown = host if ":" not in host else f"[{host}]"
    key = f"?token={token}" if token else ""
    return f"http://{shown}:{port}/{path}{key}"


# -- the processes of a page's lab -------------------------------------------------------------


def tree_of(pid: int) -> list[ProcessRef]:
    """Every descendant of ``pid`` (its lab), each named by pid and start time."""
    refs = []
    for child in procfs.descendants_of(pid):
        st = procfs.start_time(child)
        if st is not None:
            refs.append(ProcessRef(child, st))
    return refs


def still_there(refs: Iterable[ProcessRef]) -> list[ProcessRef]:
    """The processes in ``refs`` that still exist (a zombie does); a reused pid does not."""
    return [r for r in refs if procfs.start_time(r.pid) == r.starttime]


def leftovers(apps: set[int]) -> list[ProcessRef]:
    """Processes below this server that belong to no live app: what dead apps left.

    We are a subreaper and our only own children are apps, so any other child (and whatever
    is below it) was orphaned by an app that ended before its lab did.
    """
    me = os.getpid()
    found = []
    for child in procfs.children_of(me):
        if child in apps:
            continue
        for pid in [child, *procfs.descendants_of(child)]:
            st = procfs.start_time(pid)
            if st is not None:
                found.append(ProcessRef(pid, st))
    return found


def kill_all(refs: Iterable[ProcessRef]) -> int:
    """SIGKILL each process through a pidfd (only if it is still the same process)."""
    killed = 0
    for ref in refs:
        st = procfs.read_stat(ref.pid)
        if st is None or st.state == "Z":
            continue
        try:
            send_signal(ref, signal.SIGKILL)
            killed += 1
        except SendRefused:
            pass
    return killed


def reap_orphans(apps: set[int]) -> list[int]:
    """Reap zombie children of this server that are not apps, by pid; return those reaped."""
    reaped = []
    for child in procfs.children_of(os.getpid()):
        if child in apps:
            continue
        st = procfs.read_stat(child)
        if st is None or st.state != "Z":
            continue
        try:
            pid, _ = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            continue
        if pid:
            reaped.append(pid)
    return reaped


def clear_leftovers(apps: set[int], refs: list[ProcessRef], timeout: float = 5.0) -> int:
    """Make sure none of ``refs`` (a closed page's lab) nor any orphan outlives its app.

    They should already be going (the app closed its lab, or PDEATHSIG fired); what is still
    alive after a moment is KILLed, and every zombie that came to us is reaped. Returns how
    many processes had to be killed here. Blocking, but only while something is left.
    """
    deadline = time.monotonic() + timeout
    killed = 0
    kill_after = time.monotonic() + 1.0
    while True:
        reap_orphans(apps)
        left = still_there([*refs, *leftovers(apps)])
        if not left or time.monotonic() > deadline:
            return killed
        if time.monotonic() > kill_after:
            killed += kill_all(left)
            kill_after = deadline
        time.sleep(0.02)

"""The web side of ``sigscope serve``: textual-serve's server, with a start page, a teacher's
view, caps and a clean-up.

textual-serve starts one app process per browser connection (its ``AppService``) and, when the
page goes, asks the app to quit and waits for its output to end: it never times out, never
kills, and counts nothing. A page here is one lab, so :class:`DashboardServer` adds

- a **start page** (without ``--lesson``/``--demo``): the lessons with their summaries and a
  field for a student code; the lesson picked (or ``?lesson=NAME`` in the address) opens in
  the page's terminal, its progress kept under the student's code on the server
  (:mod:`sigscope.serving.classroom`);
- a **teacher's view** at ``/teacher?token=TEACHER_KEY`` (a key of its own): every page's
  student, lesson, step, steps done, hints, time on the step and whether its lab is alive,
  refreshed every two seconds; a button ends a page's lab (its app and every process of it);
  ``/teacher/pages`` is the same as JSON;
- **caps**: pages alive at once, pages per client address, and the processes of every page
  together (each page reserves its app, its master and its lab's cap); a page beyond any is
  a 503 page that says which, and no process is started for it;
- for each page, :class:`PageApp`: the app runs as ``python -m sigscope.commands.serve`` in a
  session of its own, and closing the page means quit, then TERM, then KILL, then checking
  that every process its lab had is gone (see :mod:`sigscope.serving.rules`);
- each app's driver is :mod:`sigscope.ui.page_driver` (Textual's web driver, whose input thread
  sleeps until the page sends something: an idle page does not wake it ten times a second);
- reaping, by pid, of whatever a dead app orphaned (this process is a subreaper);
- pages whose websocket address comes from the request, so that a server listening on
  0.0.0.0 gives each browser an address it can reach;
- a key: the page is served only with ``?token=KEY`` and its WebSocket is ``/ws/KEY/…`` (in
  the path, because textual's page appends ``?width=…`` to the address it is given); a
  WebSocket whose ``Origin`` is another site's is refused, and on loopback so is a request
  whose ``Host`` is not a loopback name (DNS rebinding);
- checks on what a page sends (see :func:`sigscope.serving.rules.read_message`): a malformed
  message is dropped with one log line, a terminal size is clamped, and no more than
  ``MAX_REFUSED`` refused pages are held open at once.

This module is imported only when ``serve`` runs (it needs aiohttp); the command is
:mod:`sigscope.commands.serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import logging
import os
import re
import secrets
import shlex
import signal
import socket
import sys
import time
from asyncio.subprocess import Process
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from sigscope.lab.behaviours import BehaviourError, parse_behaviour_spec
from sigscope.lab.limits import MAX_WORKERS_ENV, footprint
from sigscope.numbers import NumberError, parse_int
from sigscope.safety import ProcessRef
from sigscope.serving.classroom import (
    Budget,
    Catalog,
    CatalogEntry,
    ClassroomError,
    ServeState,
    live_below,
    read_status,
    student_code,
)
from sigscope.serving.rules import (
    MAX_MESSAGE,
    MAX_REFUSED,
    QUIT_TIMEOUT,
    SERVER_PID_ENV,
    BadMessage,
    ServeSettings,
    clamp_size,
    clear_leftovers,
    kill_all,
    leftovers,
    loopback_host,
    on_loopback,
    origin_ok,
    read_message,
    reap_orphans,
    size_from_query,
    still_there,
    token_ok,
    tree_of,
    url_of,
)

log = logging.getLogger("sigscope.serve")
TERM_TIMEOUT = 3.0  # after QUIT_TIMEOUT and a SIGTERM: then SIGKILL
OUTPUT_TIMEOUT = 5.0  # for the app's output to end once it has exited
GONE_TIMEOUT = 5.0  # for its lab to be gone once the app has exited
REFUSED_HOLD = 30.0  # seconds a refused page keeps its message before "Session ended"
# A reload waits this long for the page it replaces to close (its teardown, at worst).
RELOAD_WAIT = QUIT_TIMEOUT + TERM_TIMEOUT + OUTPUT_TIMEOUT + GONE_TIMEOUT
MAX_RELOADS = 64  # reloads let through while full, waiting for their websocket
PAGE_DRIVER = "sigscope.ui.page_driver:PageDriver"  # every page app's TEXTUAL_DRIVER
TEACHER_REFRESH = 2  # seconds between refreshes of the teacher's view
NONE = "-"  # in a websocket's path: no lesson chosen (the server's default), or no code
# A Host header: a name or IPv4 address, or a bracketed IPv6 one; then maybe a port.
HOST_SYNTAX = re.compile(r"(?:[A-Za-z0-9._\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
MALFORMED_SHOWN = 3  # malformed messages logged per page; the rest are dropped quietly
MAX_LINE = 32 * 1024  # bytes of a request line (aiohttp's default: 8190)
REFUSALS_SHOWN = 20  # refused requests logged one line each; then one line per 100
# Served with every page: the key in the address must not leak to other sites (Referer),
# be cached, or be framed by another site's page.
PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
# The start page and the teacher's view run no script at all.
PLAIN_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class Choice:
    """What a page opens: checked once, from its address."""

    kind: str  # dashboard, lesson, demo
    lesson: CatalogEntry | None = None
    student: str | None = None

    @property
    def segments(self) -> str:
        """The choice as the websocket's path carries it: ``LESSON/CODE``."""
        lesson = self.lesson.id if self.lesson is not None and self.kind == "lesson" else NONE
        return f"{lesson}/{self.student or NONE}"


@dataclass
class Page:
    """One browser connection: one app process and its lab."""

    number: int
    websocket: web.WebSocketResponse
    choice: Choice = field(default_factory=lambda: Choice("dashboard"))
    client: str = ""
    cap: int = 0  # processes its lab may have below its master
    opened: float = field(default_factory=time.time)
    app: PageApp | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    malformed: int = 0  # messages dropped as malformed
    ended_by: str = ""  # "the teacher", when the teacher's view ended it


class PageApp(AppService):
    """One page's app process, torn down completely when the page closes."""

    def __init__(self, server: DashboardServer, page: Page, **kwargs: Any) -> None:
        super().__init__(server.command, download_manager=server.download_manager, **kwargs)
        self.server = server
        self.page = page
        self.output_ended = False
        self.page_gone = False
        self.warm = False  # a spare app took this page (serve --warm)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        process = await self._take_spare(width, height)
        self.server.keep_warm()
        if process is None:
            process = await self._start_cold(width, height)
        self._process = process
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def _take_spare(self, width: int, height: int) -> Process | None:
        """A spare app (serve --warm), told which page it is; None if there is none."""
        while (spare := self.server.take_spare()) is not None:
            order = {
                "argv": self.server.page_argv(self.page)[4:],  # after python -P -m MODULE
                "env": {
                    "COLUMNS": str(width),
                    "ROWS": str(height),
                    MAX_WORKERS_ENV: str(self.page.cap),
                },
            }
            assert spare.stdin is not None
            try:
                spare.stdin.write(json.dumps(order).encode() + b"\n")
                await spare.stdin.drain()
            except (ConnectionError, OSError):
                continue  # it died meanwhile: asyncio reaps it; try the next one
            self.warm = True
            self.server.apps.add(spare.pid)
            return spare
        return None

    async def _start_cold(self, width: int, height: int) -> Process:
        env = page_environment(self._build_environment(width=width, height=height))
        env[SERVER_PID_ENV] = str(os.getpid())
        # The cap on the lab at any time (TTIN, spawn, what workers fork), not only at the
        # start: the app passes its environment on to the master, which enforces it.
        env[MAX_WORKERS_ENV] = str(self.page.cap)
        # While a fork is under way the new app is our child but not yet in `apps`: the
        # orphan reaper must not take it for an orphan (see DashboardServer.reap).
        self.server.spawning += 1
        try:
            process = await asyncio.create_subprocess_exec(
                *self.server.page_argv(self.page),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # no terminal's job control reaches a page's app
            )
            self.server.apps.add(process.pid)
        finally:
            self.server.spawning -= 1
        return process

    async def on_data(self, payload: bytes) -> None:
        """Relay output to the page; once the page has gone, keep reading and drop it.

        textual-serve stops reading the app's output when a write to the page fails; an app
        that goes on writing would then block on a full pipe, and could not quit when asked.
        """
        if self.page_gone:
            return
        try:
            await self.remote_write_bytes(payload)
        except (ConnectionError, RuntimeError):
            self.page_gone = True

    async def run(self) -> None:
        """Relay the app's output; when it ends, close the page if the app did not.

        textual-serve closes the page only when the app says it is exiting: an app that
        crashed or was killed would leave a blank page open, and its lab's teardown waiting
        for the browser to go. Closing it here shows "Session ended" and tears down now.
        """
        await super().run()
        self.output_ended = True
        if not self.page.websocket.closed:
            with contextlib.suppress(Exception):
                await self.remote_close()

    async def stop(self) -> None:
        """Quit the app (it closes its lab), TERM it, KILL it; then check its lab is gone.

        textual-serve calls this more than once; only the first call does anything.
        """
        task, process = self._task, self._process
        if task is None or process is None:
            return
        self._task = None
        started = time.monotonic()
        # Its lab: below it, or (if it died first) orphaned to us, the subreaper.
        lab = set(tree_of(process.pid))
        if self.server.spawning == 0:
            lab.update(leftovers(self.server.apps))
        with contextlib.suppress(Exception):
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        # Its output already ended: the app exited (or crashed) before the page closed.
        how = "ended by itself" if self.output_ended else "quit"
        await self.send_meta({"type": "quit"})
        if not await exited(process, QUIT_TIMEOUT):
            how = "was terminated"
            lab.update(tree_of(process.pid))  # it may have started its lab meanwhile
            send(process, signal.SIGTERM)
            if not await exited(process, TERM_TIMEOUT):
                how = "was killed"
                lab.update(tree_of(process.pid))
                send(process, signal.SIGKILL)
                await process.wait()
        # Reaped by asyncio's child watcher: only now may the orphan reaper look at its pid.
        self.server.apps.discard(process.pid)
        try:
            await asyncio.wait_for(task, OUTPUT_TIMEOUT)
        except TimeoutError:
            pass  # something still holds its output open; the sweep below deals with it
        killed, left = await self.server.clear_leftovers(lab, GONE_TIMEOUT)
        seconds = time.monotonic() - started
        detail = f"; {killed} had to be killed" if killed else ""
        if left:
            detail += f"; {len(left)} still there: {', '.join(str(r.pid) for r in left)}"
        by = f" by {self.page.ended_by}" if self.page.ended_by else ""
        self.server.say(
            f"page {self.page.number} closed{by}: app {process.pid} {how} "
            f"(exit {process.returncode}), its lab of {len(lab)} processes gone "
            f"in {seconds:.2f} s{detail}"
        )


def page_environment(env: dict[str, str]) -> dict[str, str]:
    """textual-serve's environment for an app, with sigscope's driver in it: Textual's web
    driver, but its input thread waits for input instead of waking ten times a second (see
    :mod:`sigscope.ui.page_driver`; named, not imported: this process never runs an app)."""
    env["TEXTUAL_DRIVER"] = PAGE_DRIVER
    return env


async def exited(process: Process, timeout: float) -> bool:
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        return False
    return True


def send(process: Process, sig: int) -> None:
    # Our own child, not yet reaped (asyncio reaps it): its pid cannot have been reused.
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)


class DashboardServer(Server):
    """textual-serve's server: one lab per page, a start page, a teacher's view, and caps."""

    def __init__(
        self,
        settings: ServeSettings,
        sockets: list[socket.socket],
        token: str,
        catalog: Catalog | None = None,
        state: ServeState | None = None,
        teacher_token: str | None = None,
    ) -> None:
        super().__init__(
            shlex.join(settings.app_argv()),
            host=settings.host,
            port=sockets[0].getsockname()[1],
            title="sigscope: a lab of your own",
        )
        self.settings = settings
        self.sockets = sockets
        self.token = token
        self.teacher_token = teacher_token
        self.catalog = catalog or Catalog([], Path("."))
        self.state = state
        self.url = url_of(sockets, settings.host, token)
        self.teacher_url = url_of(sockets, settings.host, teacher_token, "teacher")
        # On loopback only a loopback Host is ours: anything else is DNS rebinding.
        self.loopback = on_loopback(sockets)
        self.refusals = 0
        self.pages: dict[int, Page] = {}
        self.refused: set[web.WebSocketResponse] = set()
        self.apps: set[int] = set()  # pids of our app processes (our children), until reaped
        self.spawning = 0
        self.waiting = 0  # websockets waiting for a reloaded page to close (wait_for_room)
        # Reloads let through while full (client and choice: until when its websocket may wait)
        self.reloads: dict[tuple[str, Choice], float] = {}
        self.spares: list[Process] = []  # started apps waiting for a page (serve --warm)
        self._warming = 0  # spares being started
        self._tasks: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.budget = Budget(settings.max_processes, settings.max_workers)
        self.fixed = self._fixed_choice()
        self._picker: str | None = None  # (see picker)
        self._numbers = itertools.count(1)

    def _fixed_choice(self) -> Choice | None:
        """What every page opens under --lesson / --demo (None: the start page decides)."""
        s = self.settings
        path = s.lesson or s.demo
        if path is None:
            return None
        entry = next((e for e in self.catalog.entries if str(e.path) == path), None)
        if entry is None:
            raise ClassroomError(f"the lesson {path!r} is not in the lessons folder")
        return Choice("lesson" if s.lesson else "demo", entry)

    # -- running -------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(f"sigscope serve: {text}", file=sys.stderr, flush=True)

    def serving_what(self) -> str:
        if self.fixed is not None and self.fixed.lesson is not None:
            return f"{self.fixed.kind} {self.fixed.lesson.id}"
        return f"the start page ({count(len(self.catalog.entries), 'lesson')}) and the dashboard"

    def serve(self, debug: bool = False) -> int:  # type: ignore[override]
        """Serve until SIGINT / SIGTERM / SIGHUP; every page's lab is closed before we return."""
        handler = logging.StreamHandler()
        handler.setFormatter(OneLine([self.token, self.teacher_token or ""]))
        logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_exit)
        loop.add_signal_handler(signal.SIGCHLD, self.reap)
        s = self.settings
        self.say(
            f"serving {self.serving_what()} on {self.url} — up to "
            f"{count(s.max_connections, 'page')} ({s.max_per_client} per client address, "
            f"{s.max_processes} processes in all), each lab capped at {s.max_workers} "
            f"processes below its master{f', {s.warm} spare apps kept started' if s.warm else ''}"
            "; Ctrl+C to stop"
        )
        if self.teacher_token is not None:
            self.say(f"the teacher's view: {self.teacher_url} (keep it to yourself)")
        try:
            web.run_app(
                self._make_app(),
                sock=self.sockets,
                handle_signals=False,
                loop=loop,
                print=None,
                access_log=None,
                shutdown_timeout=QUIT_TIMEOUT + TERM_TIMEOUT + GONE_TIMEOUT,
            )
        finally:
            # Whatever a cancelled teardown missed: nothing below us may outlive the server.
            clear_leftovers(set(), [])
        self.say("stopped; every lab is closed")
        return 0

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a banner here; serve() has said where we listen. The spares
        start now."""
        self.keep_warm()

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every page (and so its lab) before the server goes; the spares end."""
        self.stopping = True
        spares, self.spares = self.spares, []
        for spare in spares:
            if spare.stdin is not None:
                spare.stdin.close()  # EOF: the spare exits by itself
        for spare in spares:
            if not await exited(spare, QUIT_TIMEOUT):
                send(spare, signal.SIGKILL)
                await spare.wait()
            self.apps.discard(spare.pid)
        for websocket in list(self.refused):
            await websocket.close(code=1001, message=b"server stopping")
        pages = list(self.pages.values())
        for page in pages:
            await page.websocket.close(code=1001, message=b"server stopping")
        if pages:
            await asyncio.wait(
                [asyncio.ensure_future(p.closed.wait()) for p in pages],
                timeout=QUIT_TIMEOUT + TERM_TIMEOUT + OUTPUT_TIMEOUT + GONE_TIMEOUT,
            )

    # -- processes ----------------------------------------------------------------------------
    def keep_warm(self) -> None:
        """Start spares (in the background) until ``settings.warm`` are there."""
        if self.settings.warm and not self.stopping:
            task = asyncio.ensure_future(self.warm_spares())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def warm_spares(self) -> None:
        while not self.stopping and len(self.spares) + self._warming < self.settings.warm:
            self._warming += 1
            self.spawning += 1  # (see PageApp._start_cold)
            try:
                env = page_environment(
                    AppService._build_environment(self, 80, 24)  # type: ignore[arg-type]
                )
                env[SERVER_PID_ENV] = str(os.getpid())
                process = await asyncio.create_subprocess_exec(
                    *self.settings.warm_argv(),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env=env,
                    start_new_session=True,
                )
                self.apps.add(process.pid)
            except OSError as e:
                self.say(f"a spare app could not start: {e.strerror}")
                return
            finally:
                self.spawning -= 1
                self._warming -= 1
            if self.stopping:
                if process.stdin is not None:
                    process.stdin.close()
                await process.wait()
                self.apps.discard(process.pid)
                return
            self.spares.append(process)

    def take_spare(self) -> Process | None:
        """A live spare, if there is one (a dead one is dropped: asyncio has reaped it)."""
        while self.spares:
            spare = self.spares.pop(0)
            if spare.returncode is None:
                return spare
            self.apps.discard(spare.pid)
        return None

    def reap(self) -> None:
        """On SIGCHLD: reap the orphans that came to us (never an app: asyncio reaps those)."""
        if self.spawning == 0:
            reap_orphans(self.apps)

    async def clear_leftovers(
        self, lab: set[ProcessRef], timeout: float
    ) -> tuple[int, list[ProcessRef]]:
        """Wait for ``lab`` (and any orphan of a dead app, added to it) to be gone; KILL what
        lingers after a second. Returns how many were killed, and what is still there at the
        timeout."""
        deadline = time.monotonic() + timeout
        kill_after = time.monotonic() + 1.0
        killed = 0
        while True:
            extra: list[ProcessRef] = []
            if self.spawning == 0:
                reap_orphans(self.apps)
                extra = leftovers(self.apps)
            lab.update(extra)
            left = still_there(lab)
            if not left or time.monotonic() > deadline:
                return killed, left
            if time.monotonic() > kill_after:
                killed += kill_all(left)
                kill_after = deadline
            await asyncio.sleep(0.02)

    def page_argv(self, page: Page) -> list[str]:
        """The command page ``page``'s app runs (see ServeSettings.app_argv)."""
        choice = page.choice
        if choice.kind == "dashboard" or choice.lesson is None:
            return self.settings.app_argv()
        path = str(choice.lesson.path)
        if choice.kind == "demo" or self.state is None:
            return self.settings.app_argv(choice.kind, lesson=path)
        return self.settings.app_argv(
            "lesson",
            lesson=path,
            status=str(self.state.status_file(page.number)),
            progress=str(self.state.progress_file(page.number, choice.student)),
            picker=self.picker(),
        )

    def openable(self, entry: CatalogEntry) -> bool:
        """Whether a page may open ``entry`` (see choose, which says why not)."""
        s = self.settings
        return (s.allow_code or not entry.shell) and entry.processes <= s.max_workers

    def picker(self) -> str | None:
        """The folder of the lessons a lesson page's picker (L) offers: those a page may
        open, made once (None without a state folder: the lesson's own folder then)."""
        if self._picker is None and self.state is not None and self.state.run is not None:
            try:
                entries = [e for e in self.catalog.entries if self.openable(e)]
                self._picker = str(self.state.picker_folder(entries))
            except OSError as e:
                self.say(f"the lessons' picker shows every lesson: {e.strerror}")
                self._picker = ""
        return self._picker or None

    def needs(self, choice: Choice) -> int:
        """The processes a page's lab starts below its master."""
        if choice.lesson is not None:
            return choice.lesson.processes
        s = self.settings
        try:
            name, params = parse_behaviour_spec(s.behaviour)
        except BehaviourError:
            name, params = "idle", {}
        return min(s.workers, s.max_workers) * footprint(name, params)

    def full_why(self, client: str, choice: Choice) -> tuple[str, str] | None:
        """Why a new page from ``client`` opening ``choice`` may not start now (a heading and
        a sentence), or None if it may."""
        s = self.settings
        n = s.max_connections
        if len(self.pages) >= n:
            return (
                "Every lab is in use",
                f"This sigscope server runs at most {count(n, 'lab')} at once "
                f"(--max-connections {n}), one per open page.",
            )
        mine = sum(1 for p in self.pages.values() if p.client == client)
        if mine >= s.max_per_client:
            return (
                "Too many pages from your computer",
                f"Your computer ({client}) already has {count(mine, 'sigscope page')} open "
                f"here, the most one address may have (--max-per-client {s.max_per_client}).",
            )
        if self.budget.cap_for(self.needs(choice)) is None:
            return (
                "This server is full",
                f"Another lab would take this server past {s.max_processes} processes "
                f"(--max-processes {s.max_processes}): the {count(len(self.pages), 'page')} "
                f"open here have {self.budget.used} of them.",
            )
        return None

    def same_pages(self, client: str, choice: Choice) -> list[Page]:
        """The pages ``client`` has open on ``choice``: one of them may be the page a reload
        replaces."""
        return [p for p in self.pages.values() if p.client == client and p.choice == choice]

    def let_reload(self, request: web.Request, client: str, choice: Choice) -> bool:
        """Whether ``request`` is a reload of a page ``client`` has open on ``choice``, let
        through though the server is full: a browser asks for the new page before it closes
        the old one, so the room comes back only when the new page's websocket is opened
        (which then waits for it: :meth:`wait_for_room`). A reload says so (``Cache-Control:
        max-age=0``, or ``no-cache`` for a hard one); a second tab does not, and gets the 503."""
        cache = request.headers.get("Cache-Control", "").lower()
        if "max-age=0" not in cache and "no-cache" not in cache:
            return False
        if not self.same_pages(client, choice):
            return False
        now = time.monotonic()
        self.reloads = {k: t for k, t in self.reloads.items() if t > now}
        if len(self.reloads) >= MAX_RELOADS:
            return False
        self.reloads[client, choice] = now + RELOAD_WAIT
        return True

    async def wait_for_room(self, client: str, choice: Choice) -> None:
        """For the websocket of a reload :meth:`let_reload` let through: while the server is
        full and ``client`` has a page open on the same ``choice`` (the one reloaded, which
        the browser closes now), wait for such a page to close, ``RELOAD_WAIT`` seconds at
        most. At most ``MAX_REFUSED`` requests wait at once; the others are answered at once."""
        if self.waiting >= MAX_REFUSED:
            return
        deadline = time.monotonic() + RELOAD_WAIT
        self.waiting += 1
        try:
            if self.reloads.pop((client, choice), 0.0) < time.monotonic():
                return  # no reload of this page was let through (or long ago)
            while self.full_why(client, choice) is not None:
                same = self.same_pages(client, choice)
                left = deadline - time.monotonic()
                if not same or left <= 0:
                    return
                waits = [asyncio.ensure_future(p.closed.wait()) for p in same]
                try:
                    await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
        finally:
            self.waiting -= 1

    # -- web ----------------------------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        """textual-serve's routes, but the WebSocket carries the key in its path; and the
        teacher's view."""
        # A request line up to MAX_LINE (a 10 kB student code in the address) reaches our
        # handlers, which refuse it in a sentence; a longer one gets aiohttp's one-line 400.
        app = web.Application(client_max_size=16 * 1024, handler_args={"max_line_size": MAX_LINE})
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_socket),  # no key: refused
                web.get("/ws/{token}", self.handle_socket, name="websocket"),
                web.get("/ws/{token}/{lesson}/{student}", self.handle_socket),
                web.get("/teacher", self.handle_teacher),
                web.get("/teacher/pages", self.handle_teacher_pages),
                web.post("/teacher/end", self.handle_teacher_end),
                # The key of a download is a fresh uuid4 the page is told over its WebSocket,
                # valid while that one delivery lasts: as good a key as ours.
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    def refused_why(
        self, request: web.Request, token: str | None, key: str | None = None
    ) -> str | None:
        """Why ``request`` may not have a page or a WebSocket (None: it may)."""
        # The Host goes into the page (the WebSocket's address) and into log lines: only a
        # name or an address, with a port, is let through.
        if not HOST_SYNTAX.fullmatch(request.host):
            return f"a malformed Host {shorten(request.host)}"
        if self.loopback and not loopback_host(request.host):
            return f"Host {shorten(request.host)} is not this machine's loopback"
        wanted = self.token if key is None else key
        if not token_ok(token, wanted):
            return "no key" if not token else "a wrong key"
        return None

    def say_refused(self, what: str, why: str) -> None:
        """One line per refusal, but no flood: a hostile page can make thousands."""
        self.refusals += 1
        n = self.refusals
        if n <= REFUSALS_SHOWN:
            self.say(f"{what} refused: {why}")
        elif n % 100 == 0:
            self.say(f"{n} requests refused so far (latest: {what}, {why})")

    def choose(
        self, lesson: str | None, student: str | None, dashboard: bool = False, make: bool = True
    ) -> Choice:
        """What a page asked for (from its address), checked; a new student code's folder is
        made only with ``make`` (when the page opens: asking for a page makes nothing).

        Raises:
            ClassroomError: a bad student code or a lesson this server does not have.
        """
        code = None if student in (None, "", NONE) else student_code(student or "")
        if self.fixed is not None:
            if self.fixed.kind != "lesson":
                code = None
            elif code is not None and self.state is not None:
                self.state.student_progress(code, make)
            return Choice(self.fixed.kind, self.fixed.lesson, code)
        if lesson in (None, "", NONE):
            if code is not None and not dashboard:
                raise ClassroomError("choose a lesson: a student code keeps a lesson's progress")
            return Choice("dashboard")
        entry = self.catalog.find(lesson or "")
        if entry.shell and not self.settings.allow_code:
            raise ClassroomError(
                f"lesson {entry.number} opens a real shell, and this server runs no learner "
                "code (sigscope serve without --allow-code)"
            )
        if entry.processes > self.settings.max_workers:
            raise ClassroomError(
                f"lesson {entry.number}'s lab is {entry.processes} processes below its "
                f"master, and this server gives a lab at most {self.settings.max_workers} "
                f"(sigscope serve --max-workers {self.settings.max_workers})"
            )
        if code is not None and self.state is not None:
            self.state.student_progress(code, make)  # a new code beyond the limit: refused
        return Choice("lesson", entry, code)

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The start page, or the page with the terminal (with the key); a 403 without the
        key, a 400 for a bad choice, or a 503 page when the server is full."""
        why = self.refused_why(request, request.query.get("token"))
        if why is not None:
            self.say_refused("page", why)
            return web.Response(
                status=403, text=key_page(), content_type="text/html", headers=PAGE_HEADERS
            )
        query = request.query
        lesson = query.get("lesson")
        dashboard = "dashboard" in query
        if self.fixed is None and lesson is None and not dashboard:
            return web.Response(
                text=start_page(
                    self.catalog,
                    self.token,
                    query.get("student", ""),
                    self.settings.allow_code,
                    self.settings.max_workers,
                ),
                content_type="text/html",
                headers=PLAIN_HEADERS,
            )
        try:
            choice = self.choose(lesson, query.get("student"), dashboard, make=False)
        except ClassroomError as e:
            return web.Response(
                status=400,
                text=message_page("That cannot be opened", f"{e}.", self.token),
                content_type="text/html",
                headers=PLAIN_HEADERS,
            )
        client = client_of(request)
        full = self.full_why(client, choice)
        if full is not None and not self.let_reload(request, client, choice):
            return web.Response(
                status=503,
                text=full_page(*full, request.rel_url.path_qs),
                content_type="text/html",
                headers=PLAIN_HEADERS,
            )
        scheme = "wss" if request.secure else "ws"
        origin = f"{request.scheme}://{request.host}"
        context = {
            "font_size": max(6, min(size_from_query(query.get("fontsize"), 16), 64)),
            "app_websocket_url": f"{scheme}://{request.host}/ws/{self.token}/{choice.segments}",
            "config": {"static": {"url": f"{origin}/static/"}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers.update(PAGE_HEADERS)
        return response

    async def handle_socket(self, request: web.Request) -> web.StreamResponse:
        """One page: start its app (if there is room), relay, and tear it all down at the end.

        Without the key, or from a page of another origin, the handshake is refused (403)
        before anything is started or held; a bad lesson or code in its path, too (400)."""
        why = self.refused_why(request, request.match_info.get("token"))
        origin = request.headers.get("Origin")
        if why is None and not origin_ok(origin, request.scheme, request.host):
            why = f"Origin {shorten(origin or '')} is not {request.scheme}://{request.host}"
            # (request.host passed HOST_SYNTAX in refused_why: it is safe to show)
        if why is not None:
            self.say_refused("websocket", why)
            return web.Response(status=403, text="sigscope serve: refused\n")
        try:
            choice = self.choose(
                request.match_info.get("lesson"), request.match_info.get("student")
            )
        except ClassroomError as e:
            self.say_refused("websocket", str(e))
            return web.Response(status=400, text=f"sigscope serve: {e}\n")
        client = client_of(request)
        await self.wait_for_room(client, choice)
        # max_msg_size: a bigger message closes the socket (1009) instead of being buffered.
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        await websocket.prepare(request)
        # No await between the check and the reservation: two pages cannot both take the
        # last lab (or the last processes of the budget).
        full = self.full_why(client, choice)
        cap = self.budget.cap_for(self.needs(choice))
        if full is not None or cap is None:
            return await self.refuse(websocket, full)
        page = Page(next(self._numbers), websocket, choice, client, cap)
        self.pages[page.number] = page
        self.budget.take(page.number, cap)
        width, height = clamp_size(
            size_from_query(request.query.get("width"), 80),
            size_from_query(request.query.get("height"), 24),
        )
        app = page.app = PageApp(
            self,
            page,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            debug=self.debug,
        )
        try:
            await app.start(width, height)
            what = choice.kind if choice.lesson is None else f"{choice.kind} {choice.lesson.id}"
            who = f" for {choice.student}" if choice.student else ""
            spare = ", a spare app" if app.warm else ""
            self.say(
                f"page {page.number} opened: app {app.pid}, {what}{who} "
                f"({len(self.pages)} of {self.settings.max_connections} labs in use, "
                f"{self.budget.used} of {self.settings.max_processes} processes reserved"
                f"{spare})"
            )
            await self.relay(page, app)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            # One line (see OneLine): a page that went away mid-write is not a crash.
            log.error("page %d: %s", page.number, error, exc_info=error)
        finally:
            try:
                await app.stop()
            finally:
                del self.pages[page.number]
                self.budget.give_back(page.number)
                self.forget(page)
                page.closed.set()
        return websocket

    def forget(self, page: Page) -> None:
        """Remove what a closed page left in this run's folder (a student's progress stays)."""
        if self.state is None or self.state.run is None:
            return
        for path in (
            self.state.status_file(page.number),
            self.state.run / f"page-{page.number}.progress.json",
        ):
            with contextlib.suppress(OSError):
                path.unlink()

    async def relay(self, page: Page, app: PageApp) -> None:
        """What the page sends, checked, to its app (textual-serve's ``_process_messages``
        trusted every message: a bad one logged a traceback, a huge resize was obeyed)."""
        websocket = page.websocket
        async for message in websocket:
            if message.type == WSMsgType.ERROR:
                self.dropped(page, f"{websocket.exception() or 'websocket error'}")
                break
            if message.type != WSMsgType.TEXT:
                self.dropped(page, f"{message.type.name.lower()} message")
                continue
            try:
                checked = read_message(message.data)
            except BadMessage as e:
                self.dropped(page, str(e))
                continue
            if checked.kind == "stdin":
                await app.send_bytes(checked.text.encode("utf-8", "replace"))
            elif checked.kind == "resize":
                await app.set_terminal_size(checked.width, checked.height)
            elif checked.kind == "ping":
                await websocket.send_json(["pong", checked.text])
            elif checked.kind == "blur":
                await app.blur()
            elif checked.kind == "focus":
                await app.focus()

    def dropped(self, page: Page, why: str) -> None:
        page.malformed += 1
        if page.malformed <= MALFORMED_SHOWN:
            more = (
                " (further ones from this page are dropped quietly)"
                if page.malformed == MALFORMED_SHOWN
                else ""
            )
            self.say(f"page {page.number}: dropped a malformed message: {why}{more}")

    async def refuse(
        self, websocket: web.WebSocketResponse, full: tuple[str, str] | None
    ) -> web.WebSocketResponse:
        """Tell a page that the server is full (in its terminal), start nothing, and close it
        after a while (the page then offers to restart). At most ``MAX_REFUSED`` are held:
        each holds a socket and a task for ``REFUSED_HOLD`` seconds."""
        n = self.settings.max_connections
        if len(self.refused) >= MAX_REFUSED:
            self.say_refused(
                "page", f"the server is full, and {MAX_REFUSED} refused pages are already held"
            )
            await websocket.close(code=1013, message=b"server full")
            return websocket
        if full is None or full[0] == "Every lab is in use":
            reason = f"every lab of this server is in use ({n} of {n}, --max-connections {n})."
        else:
            reason = f"this server is full. {full[1]}"
        self.say(f"page refused: {reason}")
        message = (
            f"\r\n  sigscope serve: {reason}\r\n"
            "  Close another sigscope page, or try again in a minute.\r\n"
        )
        self.refused.add(websocket)
        try:
            await websocket.send_bytes(message.encode())
            async with asyncio.timeout(REFUSED_HOLD):
                async for _ in websocket:
                    pass
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self.refused.discard(websocket)
            await websocket.close(code=1013, message=b"server full")
        return websocket

    # -- the teacher's view ----------------------------------------------------------------------
    def teacher_refused(self, request: web.Request, token: str | None) -> web.Response | None:
        if self.teacher_token is None:
            return web.Response(status=404, text="sigscope serve: no teacher's view\n")
        why = self.refused_why(request, token, self.teacher_token)
        if why is not None:
            self.say_refused("teacher's view", why)
            return web.Response(
                status=403, text=key_page(), content_type="text/html", headers=PAGE_HEADERS
            )
        return None

    def page_rows(self) -> list[dict[str, Any]]:
        """What the teacher's view shows of each page (from the server and the status files)."""
        now = time.time()
        apps = {n: p.app.pid for n, p in self.pages.items() if p.app and p.app.pid}
        below = live_below(apps.values())
        rows = []
        for number, page in sorted(self.pages.items()):
            choice = page.choice
            entry = choice.lesson
            row: dict[str, Any] = {
                "page": number,
                "student": choice.student or "",
                "client": page.client,
                "kind": choice.kind,
                "lesson": entry.id if entry else "",
                "title": entry.title if entry else "",
                "step": None,
                "steps": entry.steps if entry else 0,
                "step_title": "",
                "done": 0,
                "checked": len(entry.checked) if entry else 0,
                "hints": 0,
                "on_step": None,
                "open_for": round(now - page.opened, 1),
                "processes": below.get(apps.get(number, -1), 0),
            }
            status = None
            if choice.kind == "lesson" and self.state is not None and self.state.run is not None:
                status = read_status(self.state.status_file(number))
            if status is not None:
                entry = self.catalog.by_id.get(status.lesson, entry)
                if entry is not None:
                    row.update(lesson=entry.id, title=entry.title, steps=entry.steps)
                    row["checked"] = len(entry.checked)
                    row["done"] = len(set(status.done) & set(entry.checked))
                    if entry.steps:  # (a lesson app shows a step past the end as the last)
                        step = min(status.step, entry.steps - 1)
                        row["step"] = step + 1
                        row["step_title"] = entry.step_titles[step]
                row["hints"] = status.hints
                row["on_step"] = round(max(0.0, now - status.since), 1)
            row["lab_alive"] = row["processes"] > 0
            rows.append(row)
        return rows

    def summary(self) -> str:
        s = self.settings
        return (
            f"{count(len(self.pages), 'page')} open of {s.max_connections}; "
            f"{self.budget.used} of {s.max_processes} processes reserved"
        )

    async def handle_teacher(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        refused = self.teacher_refused(request, token)
        if refused is not None:
            return refused
        nonce = secrets.token_urlsafe(16)
        return web.Response(
            text=teacher_page(
                self.page_rows(), token or "", self.summary(), request.query.get("ended"), nonce
            ),
            content_type="text/html",
            headers=teacher_csp(nonce),
        )

    async def handle_teacher_pages(self, request: web.Request) -> web.StreamResponse:
        refused = self.teacher_refused(request, request.query.get("token"))
        if refused is not None:
            return refused
        s = self.settings
        rows = self.page_rows()
        for row in rows:
            row["cells"] = teacher_cells(row)
        return web.json_response(
            {
                "pages": rows,
                "summary": self.summary(),
                "max_connections": s.max_connections,
                "max_processes": s.max_processes,
                "reserved": self.budget.used,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def handle_teacher_end(self, request: web.Request) -> web.StreamResponse:
        """End page N's lab (its app and every process below it), then back to the view."""
        try:
            form = await request.post()
        except ValueError:  # too big (client_max_size), or not a form
            return web.Response(status=400, text="sigscope serve: not a form\n")
        token = form.get("token")
        token = token if isinstance(token, str) else None
        refused = self.teacher_refused(request, token)
        if refused is not None:
            return refused
        origin = request.headers.get("Origin")
        if not origin_ok(origin, request.scheme, request.host):
            self.say_refused("teacher's view", f"Origin {shorten(origin or '')}")
            return web.Response(status=403, text="sigscope serve: refused\n")
        raw = form.get("page")
        try:
            number = parse_int(
                raw if isinstance(raw, str) else "", what="a page", low=1, high=10**9
            )
        except NumberError:
            return web.Response(status=400, text="sigscope serve: no such page\n")
        page = self.pages.get(number)
        ended = "none"
        if page is not None:
            page.ended_by = "the teacher"
            with contextlib.suppress(Exception):
                await page.websocket.send_bytes(
                    b"\r\n  sigscope serve: the teacher ended this lab.\r\n"
                )
            await page.websocket.close(code=1000, message=b"ended by the teacher")
            # Answer once it is gone: the view then shows the class without it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    page.closed.wait(), QUIT_TIMEOUT + TERM_TIMEOUT + GONE_TIMEOUT + 5
                )
            ended = str(number)
        raise web.HTTPSeeOther(f"/teacher?token={token}&ended={ended}", headers=PAGE_HEADERS)


def client_of(request: web.Request) -> str:
    """The client's address (what --max-per-client counts)."""
    return request.remote or "unknown"


class OneLine(logging.Formatter):
    """Every log record as one line, its exception named but never a traceback.

    What a client sends (a header of 100 kB, a broken upgrade) reaches aiohttp's own logging
    as an exception with a traceback: a visitor must not be able to fill the server's log
    with them, and the user must not take a refused request for a crash."""

    def __init__(self, hide: list[str] | None = None) -> None:
        super().__init__()
        self.hide = [key for key in hide or () if key]

    def format(self, record: logging.LogRecord) -> str:
        text = self.hidden(record.getMessage())
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            detail = self.hidden(" ".join(str(error).split()))
            detail = detail if len(detail) <= 160 else detail[:159] + "…"
            text = f"{text}: {type(error).__name__}: {detail}" if detail else f"{text}: {error!r}"
        return f"sigscope serve: {text}"

    def hidden(self, text: str) -> str:
        """``text`` without the server's keys (a refused request line is quoted whole)."""
        for key in self.hide:
            text = text.replace(key, "…")
        return text


def shorten(text: str) -> str:
    """Text from a request as it may go in one log line: printable, short."""
    shown = text if len(text) <= 60 else text[:59] + "…"
    return repr(shown)


def key_page() -> str:
    return (
        "<!DOCTYPE html><html><head><title>sigscope: a key is needed</title></head>"
        '<body style="background:#0c181f;color:#eee;font-family:monospace;padding:2em">'
        "<h1>This sigscope server needs its key</h1>"
        "<p>Open the address it printed when it started, the one that ends in "
        "<code>?token=…</code>. Anyone with that address drives processes on the machine "
        "it runs on, so it is not shown here.</p></body></html>"
    )


STYLE = (
    "body{background:#0c181f;color:#eee;font-family:monospace;padding:2em;max-width:70em}"
    "a{color:#ac5af4}label{display:block;margin:.6em 0}.summary{color:#bbb;margin-left:2em}"
    "table{border-collapse:collapse}td,th{border-bottom:1px solid #345;padding:.3em .8em;"
    "text-align:left}input,button{font-family:monospace;font-size:1em}button{white-space:nowrap}"
)


def page_html(title: str, body: str, head: str = "") -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title>{head}<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def full_page(heading: str, sentence: str, again: str) -> str:
    """The 503 page: which limit is reached, in a sentence, and what to do; "Try again" asks
    for the same page (``again``: the path and query asked for, lesson and code with it)."""
    return page_html(
        "sigscope: the server is full",
        f"<h1>{html.escape(heading)}</h1><p>{html.escape(sentence)} Close another sigscope "
        "page, or try again in a minute.</p>"
        f'<p><a id="again" href="{html.escape(again)}">Try again</a></p>',
    )


def message_page(heading: str, sentence: str, token: str) -> str:
    return page_html(
        f"sigscope: {heading}",
        f"<h1>{html.escape(heading)}</h1><p>{html.escape(sentence[:1].upper() + sentence[1:])}"
        f'</p><p><a href="/?token={html.escape(token)}">Back to the lessons</a></p>',
    )


def plain(text: str) -> str:
    """A lesson's Markdown-ish text as plain text: no `code` ticks, no *emphasis* or
    **strong** stars."""
    return re.sub(r"(?<!\w)(\*\*?)(\S(?:.*?\S)?)\1(?!\w)", r"\2", text.replace("`", ""))


def start_page(
    catalog: Catalog,
    token: str,
    student: str = "",
    shells: bool = False,
    max_workers: int | None = None,
) -> str:
    """The lessons, each with its summary, and a field for the student's code. A lesson with
    a shell (its terminal lane) is listed but cannot be picked unless ``shells``; nor can one
    whose lab is bigger than ``max_workers`` (serve --max-workers)."""
    shown = student if len(student) <= 40 and student.isprintable() else ""
    items = []
    first = True
    for entry in catalog.entries:
        why = ""
        if entry.shell and not shells:
            why = " (a real shell: this server runs none)"
        elif max_workers is not None and entry.processes > max_workers:
            why = f" (its lab is {entry.processes} processes: this server allows {max_workers})"
        shut = bool(why)
        checked = " checked" if first and not shut else ""
        first = first and shut
        state = " disabled" if shut else ""
        items.append(
            f'<label><input type="radio" name="lesson" value="{html.escape(entry.id)}"'
            f"{checked}{state}> <b>{html.escape(entry.number)}. "
            f"{html.escape(plain(entry.title))}</b>{why}"
            f'<div class="summary">{html.escape(plain(entry.summary))}</div></label>'
        )
    lessons = "".join(items) or "<p>No lessons here.</p>"
    return page_html(
        "sigscope: choose a lesson",
        "<h1>sigscope: choose a lesson</h1>"
        '<form method="get" action="/">'
        f'<input type="hidden" name="token" value="{html.escape(token)}">'
        "<p><label>Your student code (letters, digits, . _ -; up to 40): "
        f'<input name="student" id="student" maxlength="40" value="{html.escape(shown)}" '
        'pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,39}" autocomplete="off"></label>'
        "Your progress is kept under it on this server: open the same lesson with the same "
        "code to go on where you were. Without one, it lasts as long as the page.</p>"
        f'<fieldset id="lessons"><legend>Lessons</legend>{lessons}</fieldset>'
        '<p><button type="submit" id="open">Open the lesson</button></p></form>'
        f'<p>Or <a href="/?token={html.escape(token)}&amp;dashboard=1">the bare dashboard</a>, '
        "a lab with no lesson.</p>",
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def teacher_cells(row: dict[str, Any]) -> list[str]:
    """A page's row in the teacher's view, as text (the HTML page and its script show it)."""
    step = ""
    if row["step"] is not None:
        step = f"{row['step']} of {row['steps']}"
        if row["step_title"]:
            step += f": {row['step_title']}"
    lesson = row["lesson"] or row["kind"]
    if row["kind"] == "demo":
        lesson = f"demo {row['lesson']}"
    is_lesson = row["kind"] == "lesson"
    return [
        str(row["page"]),
        row["student"] or "—",
        lesson,
        step,
        f"{row['done']} of {row['checked']}" if is_lesson else "",
        str(row["hints"]) if is_lesson else "",
        _duration(row["on_step"]),
        f"yes ({row['processes']} processes)" if row["lab_alive"] else "no",
    ]


TEACHER_HEADINGS = (
    "page",
    "student",
    "lesson",
    "step",
    "steps done",
    "hints",
    "on this step",
    "lab alive",
    "",
)
# Refreshes the table from /teacher/pages (text only: nothing from a page becomes HTML). A
# script rather than a meta refresh: a refresh that fires while "End its lab" is being
# posted would cancel that navigation.
TEACHER_SCRIPT = """
const key = document.body.dataset.key;
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
function row(r) {
  const tr = document.createElement("tr");
  tr.id = "page-" + r.page;
  for (const c of r.cells) tr.append(cell(c));
  const form = document.createElement("form");
  form.method = "post";
  form.action = "/teacher/end";
  for (const [name, value] of [["token", key], ["page", String(r.page)]]) {
    const input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value; form.append(input);
  }
  const button = document.createElement("button");
  button.type = "submit"; button.id = "end-" + r.page; button.textContent = "End its lab";
  form.append(button);
  const td = document.createElement("td"); td.append(form); tr.append(td);
  return tr;
}
async function refresh() {
  try {
    const r = await fetch("/teacher/pages?token=" + encodeURIComponent(key), {cache: "no-store"});
    if (r.ok) {
      const data = await r.json();
      document.getElementById("rows").replaceChildren(...data.pages.map(row));
      document.getElementById("none").hidden = data.pages.length > 0;
      document.getElementById("summary").textContent = data.summary;
    }
  } catch (e) {}
  setTimeout(refresh, REFRESH_MS);
}
setTimeout(refresh, REFRESH_MS);
""".replace("REFRESH_MS", str(TEACHER_REFRESH * 1000))


def teacher_csp(nonce: str) -> dict[str, str]:
    return {
        **PAGE_HEADERS,
        # same-origin, not no-referrer: with no-referrer a browser's form POST says
        # "Origin: null", and /teacher/end must see that the form is this server's own page.
        # (Other sites still get no Referer, so the key in the address does not leak.)
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": f"default-src 'none'; script-src 'nonce-{nonce}'; "
        "connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'",
    }


def teacher_page(
    rows: list[dict[str, Any]], token: str, summary: str, ended: str | None, nonce: str
) -> str:
    """Every page: student, lesson, step, steps done, hints, time on the step, lab alive; and
    a button that ends the page's lab. A small script refreshes it every few seconds (without
    scripts, a meta refresh does)."""
    key = html.escape(token)
    lines = []
    for row in rows:
        tds = "".join(f"<td>{html.escape(c)}</td>" for c in teacher_cells(row))
        button = (
            '<td><form method="post" action="/teacher/end">'
            f'<input type="hidden" name="token" value="{key}">'
            f'<input type="hidden" name="page" value="{row["page"]}">'
            f'<button type="submit" id="end-{row["page"]}">End its lab</button></form></td>'
        )
        lines.append(f'<tr id="page-{row["page"]}">{tds}{button}</tr>')
    head = "".join(f"<th>{h}</th>" for h in TEACHER_HEADINGS)
    note = ""
    if ended is not None and ended.isdigit() and len(ended) <= 12:
        note = f'<p id="ended">Page {ended}\'s lab is ended: no process of it is left.</p>'
    elif ended is not None:
        note = '<p id="ended">No such page is open (it may have closed already).</p>'
    hidden = " hidden" if lines else ""
    table = (
        f'<table id="pages"><thead><tr>{head}</tr></thead>'
        f'<tbody id="rows">{"".join(lines)}</tbody></table>'
        f'<p id="none"{hidden}>No page is open.</p>'
    )
    refresh = (
        f'<noscript><meta http-equiv="refresh" content="{TEACHER_REFRESH}; '
        f'url=/teacher?token={key}"></noscript>'
    )
    body = (
        f'<h1>sigscope: the class</h1><p id="summary">{html.escape(summary)}</p>{note}{table}'
        f'<script nonce="{nonce}">{TEACHER_SCRIPT}</script>'
    )
    return page_html("sigscope: the class", body, refresh).replace(
        "<body>", f'<body data-key="{key}">', 1
    )


def count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"

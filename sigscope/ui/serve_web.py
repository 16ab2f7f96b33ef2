"""The web side of ``sigscope serve``: textual-serve's server, with a cap and a clean-up.

textual-serve starts one app process per browser connection (its ``AppService``) and, when the
page goes, asks the app to quit and waits for its output to end: it never times out, never
kills, and counts nothing. A page here is one lab, so :class:`DashboardServer` adds

- a cap on the pages alive at once (the page beyond it is told so, and no process starts);
- for each page, :class:`PageApp`: the app runs as ``python -m sigscope.serve`` in a session
  of its own, and closing the page means quit, then TERM, then KILL, then checking that every
  process its lab had is gone (see :mod:`sigscope.serve` for the rules);
- reaping, by pid, of whatever a dead app orphaned (this process is a subreaper);
- an index page whose websocket address comes from the request, so that a server listening
  on 0.0.0.0 gives each browser an address it can reach;
- a key: the page is served only at ``/?token=KEY`` and its WebSocket is ``/ws/KEY`` (in the
  path, because textual's page appends ``?width=…`` to the address it is given); a
  WebSocket whose ``Origin`` is another site's is refused, and on loopback so is a request
  whose ``Host`` is not a loopback name (DNS rebinding);
- checks on what a page sends (see :func:`sigscope.serve.read_message`): a malformed message
  is dropped with one log line, a terminal size is clamped, and no more than
  ``MAX_REFUSED`` refused pages are held open at once.

Only the command line and the process rules are in :mod:`sigscope.serve`; this module is
imported only when ``serve`` runs (it needs aiohttp).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import shlex
import signal
import socket
import sys
import time
from asyncio.subprocess import Process
from dataclasses import dataclass, field
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from sigscope.lab.master import MAX_WORKERS_ENV
from sigscope.safety import ProcessRef
from sigscope.serve import (
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
# A Host header: a name or IPv4 address, or a bracketed IPv6 one; then maybe a port.
HOST_SYNTAX = re.compile(r"(?:[A-Za-z0-9._\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
MALFORMED_SHOWN = 3  # malformed messages logged per page; the rest are dropped quietly
REFUSALS_SHOWN = 20  # refused requests logged one line each; then one line per 100
# Served with every page: the key in the address must not leak to other sites (Referer),
# be cached, or be framed by another site's page.
PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


@dataclass
class Page:
    """One browser connection: one app process and its lab."""

    number: int
    websocket: web.WebSocketResponse
    app: PageApp | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    malformed: int = 0  # messages dropped as malformed


class PageApp(AppService):
    """One page's dashboard process, torn down completely when the page closes."""

    def __init__(self, server: DashboardServer, page: Page, **kwargs: Any) -> None:
        super().__init__(server.command, download_manager=server.download_manager, **kwargs)
        self.server = server
        self.page = page
        self.output_ended = False
        self.page_gone = False

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        env = self._build_environment(width=width, height=height)
        env[SERVER_PID_ENV] = str(os.getpid())
        # The cap on the lab's workers at any time (TTIN, spawn), not only at the start: the
        # app passes its environment on to the master, which enforces it.
        env[MAX_WORKERS_ENV] = str(self.server.settings.max_workers)
        # While a fork is under way the new app is our child but not yet in `apps`: the
        # orphan reaper must not take it for an orphan (see DashboardServer.reap).
        self.server.spawning += 1
        try:
            process = await asyncio.create_subprocess_exec(
                *self.server.settings.app_argv(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # no terminal's job control reaches a page's app
            )
            self.server.apps.add(process.pid)
        finally:
            self.server.spawning -= 1
        self._process = process
        assert process.stdin is not None
        self._stdin = process.stdin
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
        self.server.say(
            f"page {self.page.number} closed: app {process.pid} {how} "
            f"(exit {process.returncode}), its lab of {len(lab)} processes gone "
            f"in {seconds:.2f} s{detail}"
        )


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
    """textual-serve's server, serving the dashboard with one lab per page, and no more than
    ``settings.max_connections`` of them."""

    def __init__(self, settings: ServeSettings, sockets: list[socket.socket], token: str) -> None:
        super().__init__(
            shlex.join(settings.app_argv()),
            host=settings.host,
            port=sockets[0].getsockname()[1],
            title="sigscope: a lab of your own",
        )
        self.settings = settings
        self.sockets = sockets
        self.token = token
        self.url = url_of(sockets, settings.host, token)
        # On loopback only a loopback Host is ours: anything else is DNS rebinding.
        self.loopback = on_loopback(sockets)
        self.refusals = 0
        self.pages: dict[int, Page] = {}
        self.refused: set[web.WebSocketResponse] = set()
        self.apps: set[int] = set()  # pids of our app processes (our children), until reaped
        self.spawning = 0
        self._numbers = itertools.count(1)

    # -- running -------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(f"sigscope serve: {text}", file=sys.stderr, flush=True)

    def serve(self, debug: bool = False) -> int:  # type: ignore[override]
        """Serve until SIGINT / SIGTERM / SIGHUP; every page's lab is closed before we return."""
        handler = logging.StreamHandler()
        handler.setFormatter(OneLine())
        logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_exit)
        loop.add_signal_handler(signal.SIGCHLD, self.reap)
        s = self.settings
        self.say(
            f"serving the dashboard on {self.url} — up to {count(s.max_connections, 'page')}, "
            f"each with a lab of {min(s.workers, s.max_workers)} × {s.behaviour} "
            f"(at most {s.max_workers} workers); Ctrl+C to stop"
        )
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
        """textual-serve prints a banner here; serve() has said where we listen."""

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every page (and so its lab) before the server goes."""
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

    # -- web ----------------------------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        """textual-serve's routes, but the WebSocket carries the key in its path."""
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_socket),  # no key: refused
                web.get("/ws/{token}", self.handle_socket, name="websocket"),
                # The key of a download is a fresh uuid4 the page is told over its WebSocket,
                # valid while that one delivery lasts: as good a key as ours.
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    def refused_why(self, request: web.Request, token: str | None) -> str | None:
        """Why ``request`` may not have a page or a WebSocket (None: it may)."""
        # The Host goes into the page (the WebSocket's address) and into log lines: only a
        # name or an address, with a port, is let through.
        if not HOST_SYNTAX.fullmatch(request.host):
            return f"a malformed Host {shorten(request.host)}"
        if self.loopback and not loopback_host(request.host):
            return f"Host {shorten(request.host)} is not this machine's loopback"
        if not token_ok(token, self.token):
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

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page with the terminal (with the key), a 403 without it, or a 503 page when
        every lab is in use."""
        why = self.refused_why(request, request.query.get("token"))
        if why is not None:
            self.say_refused("page", why)
            return web.Response(
                status=403, text=key_page(), content_type="text/html", headers=PAGE_HEADERS
            )
        if len(self.pages) >= self.settings.max_connections:
            return web.Response(
                status=503,
                text=full_page(self.settings, self.token),
                content_type="text/html",
                headers=PAGE_HEADERS,
            )
        scheme = "wss" if request.secure else "ws"
        origin = f"{request.scheme}://{request.host}"
        context = {
            "font_size": max(6, min(size_from_query(request.query.get("fontsize"), 16), 64)),
            "app_websocket_url": f"{scheme}://{request.host}/ws/{self.token}",
            "config": {"static": {"url": f"{origin}/static/"}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers.update(PAGE_HEADERS)
        return response

    async def handle_socket(self, request: web.Request) -> web.StreamResponse:
        """One page: start its app (if a lab is free), relay, and tear it all down at the end.

        Without the key, or from a page of another origin, the handshake is refused (403)
        before anything is started or held."""
        why = self.refused_why(request, request.match_info.get("token"))
        origin = request.headers.get("Origin")
        if why is None and not origin_ok(origin, request.scheme, request.host):
            why = f"Origin {shorten(origin or '')} is not {request.scheme}://{request.host}"
            # (request.host passed HOST_SYNTAX in refused_why: it is safe to show)
        if why is not None:
            self.say_refused("websocket", why)
            return web.Response(status=403, text="sigscope serve: refused\n")
        # max_msg_size: a bigger message closes the socket (1009) instead of being buffered.
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        await websocket.prepare(request)
        # No await between the check and the insertion: two pages cannot both take the last lab.
        if len(self.pages) >= self.settings.max_connections:
            return await self.refuse(websocket)
        page = Page(next(self._numbers), websocket)
        self.pages[page.number] = page
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
            self.say(
                f"page {page.number} opened: app {app.pid} "
                f"({len(self.pages)} of {self.settings.max_connections} labs in use)"
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
                page.closed.set()
        return websocket

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

    async def refuse(self, websocket: web.WebSocketResponse) -> web.WebSocketResponse:
        """Tell a page that every lab is in use (in its terminal), start nothing, and close it
        after a while (the page then offers to restart). At most ``MAX_REFUSED`` are held:
        each holds a socket and a task for ``REFUSED_HOLD`` seconds."""
        n = self.settings.max_connections
        if len(self.refused) >= MAX_REFUSED:
            self.say_refused(
                "page", f"every lab is in use, and {MAX_REFUSED} refused pages are already held"
            )
            await websocket.close(code=1013, message=b"all labs in use")
            return websocket
        self.say(f"page refused: every lab is in use ({n} of {n}, --max-connections {n})")
        message = (
            f"\r\n  sigscope serve: every lab of this server is in use "
            f"({n} of {n}, --max-connections {n}).\r\n"
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
            await websocket.close(code=1013, message=b"all labs in use")
        return websocket


class OneLine(logging.Formatter):
    """Every log record as one line, its exception named but never a traceback.

    What a client sends (a header of 100 kB, a broken upgrade) reaches aiohttp's own logging
    as an exception with a traceback: a visitor must not be able to fill the server's log
    with them, and the user must not take a refused request for a crash."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            detail = " ".join(str(error).split())
            detail = detail if len(detail) <= 160 else detail[:159] + "…"
            text = f"{text}: {type(error).__name__}: {detail}" if detail else f"{text}: {error!r}"
        return f"sigscope serve: {text}"


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


def full_page(settings: ServeSettings, token: str) -> str:
    n = settings.max_connections
    return (
        "<!DOCTYPE html><html><head><title>sigscope: all labs in use</title></head>"
        '<body style="background:#0c181f;color:#eee;font-family:monospace;padding:2em">'
        "<h1>Every lab is in use</h1>"
        f"<p>This sigscope server runs at most {count(n, 'lab')} at once "
        f"(--max-connections {n}), one per open page. "
        "Close another sigscope page, or try again in a minute.</p>"
        f'<p><a style="color:#ac5af4" href="/?token={token}">Try again</a></p></body></html>'
    )


def count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"

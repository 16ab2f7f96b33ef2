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
  on 0.0.0.0 gives each browser an address it can reach.

Only the command line and the process rules are in :mod:`sigscope.serve`; this module is
imported only when ``serve`` runs (it needs aiohttp).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shlex
import signal
import socket
import sys
import time
from asyncio.subprocess import Process
from dataclasses import dataclass, field
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from sigscope.lab.master import MAX_WORKERS_ENV
from sigscope.safety import ProcessRef
from sigscope.serve import (
    QUIT_TIMEOUT,
    SERVER_PID_ENV,
    ServeSettings,
    clear_leftovers,
    kill_all,
    leftovers,
    reap_orphans,
    still_there,
    tree_of,
    url_of,
)

log = logging.getLogger("sigscope.serve")
TERM_TIMEOUT = 3.0  # after QUIT_TIMEOUT and a SIGTERM: then SIGKILL
OUTPUT_TIMEOUT = 5.0  # for the app's output to end once it has exited
GONE_TIMEOUT = 5.0  # for its lab to be gone once the app has exited
REFUSED_HOLD = 30.0  # seconds a refused page keeps its message before "Session ended"


@dataclass
class Page:
    """One browser connection: one app process and its lab."""

    number: int
    websocket: web.WebSocketResponse
    app: PageApp | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)


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

    def __init__(self, settings: ServeSettings, sockets: list[socket.socket]) -> None:
        super().__init__(
            shlex.join(settings.app_argv()),
            host=settings.host,
            port=sockets[0].getsockname()[1],
            title="sigscope: a lab of your own",
        )
        self.settings = settings
        self.sockets = sockets
        self.url = url_of(sockets, settings.host)
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
        logging.basicConfig(level=logging.WARNING, format="sigscope serve: %(message)s")
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
    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page with the terminal, or a 503 page when every lab is in use."""
        if len(self.pages) >= self.settings.max_connections:
            return web.Response(status=503, text=full_page(self.settings), content_type="text/html")
        scheme = "wss" if request.secure else "ws"
        origin = f"{request.scheme}://{request.host}"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{scheme}://{request.host}/ws",
            "config": {"static": {"url": f"{origin}/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One page: start its app (if a lab is free), relay, and tear it all down at the end."""
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        # No await between the check and the insertion: two pages cannot both take the last lab.
        if len(self.pages) >= self.settings.max_connections:
            return await self.refuse(websocket)
        page = Page(next(self._numbers), websocket)
        self.pages[page.number] = page
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
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
            await self._process_messages(websocket, app)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            try:
                await app.stop()
            finally:
                del self.pages[page.number]
                page.closed.set()
        return websocket

    async def refuse(self, websocket: web.WebSocketResponse) -> web.WebSocketResponse:
        """Tell a page that every lab is in use (in its terminal), start nothing, and close it
        after a while (the page then offers to restart)."""
        n = self.settings.max_connections
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


def full_page(settings: ServeSettings) -> str:
    n = settings.max_connections
    return (
        "<!DOCTYPE html><html><head><title>sigscope: all labs in use</title></head>"
        '<body style="background:#0c181f;color:#eee;font-family:monospace;padding:2em">'
        "<h1>Every lab is in use</h1>"
        f"<p>This sigscope server runs at most {count(n, 'lab')} at once "
        f"(--max-connections {n}), one per open page. "
        "Close another sigscope page, or try again in a minute.</p>"
        '<p><a style="color:#ac5af4" href="/">Try again</a></p></body></html>'
    )


def count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"

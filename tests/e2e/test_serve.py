"""``sigscope serve`` in a real browser: a page gets a lab of its own, and takes it along.

The browser tests drive Debian's headless ``chromium`` with Playwright for Python (its own
browser downloads are never used: ``executable_path`` points at the system Chromium). Where
either is missing they skip and say why; ``.ci/run`` installs Chromium so that CI runs them.

The server is started the way a user starts it (``python -m sigscope serve``) in a session of
its own; the test signals only that process (its own child). The lab is found the way the
issue asks: a ``sigscope master`` process among the server's descendants, read from /proc.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sigscope import procfs
from sigscope.lab import Lab
from sigscope.lab.master import MAX_WORKERS_ENV
from sigscope.safety import ProcessRef
from sigscope.serving.rules import ServeSettings, listen, url_of
from tests.conftest import reap_children

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT = 60.0  # a lab on a busy 2-core machine, behind a browser, can take a while


# -- the server --------------------------------------------------------------------------------


@dataclass
class Served:
    """A running ``sigscope serve`` and the lines it has written on stderr."""

    process: subprocess.Popen[str]
    base: str  # http://127.0.0.1:PORT/ : no key
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)
    token: str = ""  # read from the address the server prints

    @property
    def pid(self) -> int:
        return self.process.pid

    teacher_token: str = ""  # the teacher's view's own key

    @property
    def url(self) -> str:
        """The dashboard's address: the one the server printed (with its key), which opens
        the start page, and the start page's link to the bare dashboard."""
        return f"{self.base}?token={self.token}&dashboard=1"

    @property
    def start(self) -> str:
        """The address the server printed: with its key."""
        return f"{self.base}?token={self.token}"

    @property
    def teacher(self) -> str:
        return f"{self.base}teacher?token={self.teacher_token}"

    def ws_url(self, width: int = 100, height: int = 30, token: str | None = None) -> str:
        """The page's WebSocket address, as the served page builds it (key in the path)."""
        key = self.token if token is None else token
        return f"{self.base.replace('http:', 'ws:')}ws/{key}?width={width}&height={height}"

    def wait_line(self, text: str, timeout: float = START_TIMEOUT) -> str:
        """The first stderr line (seen so far or to come) that contains ``text``."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.seen:
                if text in line:
                    return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {text!r} from the server; it said: {self.seen}")
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.lines.get(timeout=min(left, 0.5)))

    def labs(self) -> list[int]:
        """Pids of the ``sigscope master`` processes below the server, from /proc.

        A worker just forked has its master's name until it sets its own: a master is a
        ``sigscope master`` whose parent is not one."""
        return [
            p
            for p in procfs.descendants_of(self.pid)
            if comm(p) == "sigscope master" and comm(parent(p)) != "sigscope master"
        ]


def comm(pid: int) -> str | None:
    st = procfs.read_stat(pid)
    return None if st is None else st.comm


def parent(pid: int) -> int:
    st = procfs.read_stat(pid)
    return 0 if st is None else st.ppid


def served_apps(served: Served, *also: bytes) -> list[int]:
    """The server's children running ``sigscope.commands.serve`` (with every word of ``also``
    in their argv too, such as ``b"--warm"``)."""
    found = []
    for pid in procfs.children_of(served.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(word in argv for word in (b"sigscope.commands.serve", *also)):
            found.append(pid)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(
    *options: str, cwd: str | None = None, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """Start ``sigscope serve`` on a free port; on the way out TERM it and check it stopped.

    Started with ``-P``, as the installed ``sigscope`` script runs (its folder, not the
    current one, is on ``sys.path``): a test run from a folder with planted modules must
    not have them imported by the server itself, only ever (wrongly) by what it starts.

    Without ``env``, the server's state (students' progress, its pages' status files) goes to
    a temporary ``XDG_STATE_HOME``, never into the user's own."""
    state = None
    if env is None:
        state = tempfile.mkdtemp(prefix="sigscope-test-serve-")
        env = {**os.environ, "XDG_STATE_HOME": state}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-P", "-m", "sigscope", "serve", "--port", str(port), *options],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=cwd,
        env=env,
    )
    served = Served(process, f"http://127.0.0.1:{port}/")

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            served.lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        line = served.wait_line("sigscope serve: serving ", timeout=30)
        match = re.search(r"on (http://\S+)/\?token=([A-Za-z0-9_-]{40,}) ", line)
        assert match is not None, f"no address with a token in {line!r}"
        # The port the server bound (the host is this machine's name when it is a wildcard).
        assert match.group(1).endswith(f":{port}"), line
        served.token = match.group(2)
        teacher = served.wait_line("the teacher's view: ", timeout=30)
        found = re.search(r"(http://\S+)/teacher\?token=([A-Za-z0-9_-]{40,}) ", teacher)
        assert found is not None and found.group(1) == match.group(1), teacher
        served.teacher_token = found.group(2)
        assert served.teacher_token != served.token
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(5)
        # Everything it said, for checks made after it stopped (no traceback, …).
        while not served.lines.empty():
            served.seen.append(served.lines.get_nowait())
        if state is not None:
            shutil.rmtree(state, ignore_errors=True)


def wait_until(check: Any, timeout: float = START_TIMEOUT, what: str = "", page: Any = None) -> Any:
    """Poll ``check`` until it is true. With a ``page``, wait through Playwright, so that its
    events (websocket frames) are delivered meanwhile: the sync API runs them only then."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        if page is not None:
            page.wait_for_timeout(50)
        else:
            time.sleep(0.05)


def refs_below(pid: int) -> list[ProcessRef]:
    refs = []
    for p in procfs.descendants_of(pid):
        st = procfs.start_time(p)
        if st is not None:
            refs.append(ProcessRef(p, st))
    return refs


def existing(refs: list[ProcessRef]) -> list[ProcessRef]:
    return [r for r in refs if procfs.start_time(r.pid) == r.starttime]


# -- the browser -------------------------------------------------------------------------------


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless system Chromium under Playwright, or a skip that says what is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("no chromium here (Debian: apt-get install chromium; .ci/run does)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    ours: set[int] = set()
    try:
        with sync_playwright() as p:
            try:
                chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            except Error as e:
                pytest.skip(f"chromium does not start under playwright: {str(e)[:200]}")
            ours = chromium_processes()
            try:
                yield chromium
            finally:
                ours |= chromium_processes()
                chromium.close()
    except Error as e:  # the driver itself cannot run here
        pytest.skip(f"playwright cannot run: {str(e)[:200]}")
    finally:
        # Chromium's crashpad handlers are double-forked: they come to us (pytest is a
        # subreaper) when the browser closes, and are ours to reap. One can still be forked
        # while the browser closes (after the last look above): look again until none is left.
        deadline = time.monotonic() + 10
        while True:
            ours |= chromium_processes()
            reap_children(ours, timeout=1)
            if not chromium_processes() or time.monotonic() > deadline:
                break


def chromium_processes() -> set[int]:
    return {p for p in procfs.descendants_of(os.getpid()) if (comm(p) or "").startswith("chrom")}


def open_dashboard(browser: Any, url: str) -> tuple[Any, list[bytes]]:
    """Open the page; return it and the terminal output its websocket has received so far."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    received: list[bytes] = []

    def on_socket(ws: Any) -> None:
        ws.on(
            "framereceived",
            lambda payload: received.append(
                payload if isinstance(payload, bytes) else payload.encode()
            ),
        )

    page.on("websocket", on_socket)
    response = page.goto(url)
    assert response is not None and response.status == 200
    return page, received


def shown(received: list[bytes]) -> bytes:
    return b"".join(received)


# -- tests: the browser ------------------------------------------------------------------------


def test_a_page_gets_a_lab_of_its_own_and_takes_it_along_when_it_closes(browser: Any) -> None:
    with serve("--workers", "2") as served:
        assert served.labs() == []
        # Without the key the page is refused: no terminal, no websocket, no lab.
        keyless = browser.new_page()
        sockets: list[Any] = []
        keyless.on("websocket", lambda ws: sockets.append(ws))
        response = keyless.goto(served.base)
        assert response is not None and response.status == 403
        assert "needs its key" in keyless.inner_text("body")
        assert keyless.query_selector(".xterm") is None and not sockets
        # Even a page that knows the websocket's address but not the key gets no app.
        said = keyless.evaluate(
            """url => new Promise(resolve => {
                const ws = new WebSocket(url);
                ws.onopen = () => resolve("open");
                ws.onerror = () => resolve("refused");
            })""",
            served.ws_url(token="x" * 43),
        )
        assert said == "refused"
        served.wait_line("websocket refused: a wrong key")
        keyless.close()
        # A page of another origin that somehow has the key (cross-site WebSocket hijacking):
        # its Origin is not the server's, and the socket is refused. The other origin is
        # http://localhost:PORT (another host name is another origin): a made-up public site
        # is stopped by Chromium's own local-network checks before the server sees it
        # (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS), and the server's check must be seen.
        foreign = browser.new_page()
        elsewhere = served.base.replace("127.0.0.1", "localhost")
        response = foreign.goto(elsewhere)
        assert response is not None and response.status == 403  # no key there either
        said = foreign.evaluate(
            """url => new Promise(resolve => {
                const ws = new WebSocket(url);
                ws.onopen = () => resolve("open");
                ws.onerror = () => resolve("refused");
            })""",
            served.ws_url(),
        )
        assert said == "refused"
        served.wait_line(f"websocket refused: Origin {elsewhere.rstrip('/')!r} is not http://")
        foreign.close()
        assert served.labs() == []
        page, received = open_dashboard(browser, served.url)
        # The page shows the terminal once the app's first output arrives...
        page.wait_for_selector("body.-first-byte .xterm", timeout=START_TIMEOUT * 1000)
        # ...and on the server side, a lab appears below it: app -> master -> 2 workers.
        [master] = wait_until(served.labs, what="a sigscope master below the server")
        app = procfs.read_stat(master)
        assert app is not None and procfs.read_stat(app.ppid) is not None
        assert procfs.read_stat(app.ppid).ppid == served.pid  # type: ignore[union-attr]
        wait_until(lambda: len(procfs.children_of(master)) >= 2, what="the lab's two workers")
        # The dashboard itself is what the browser shows: its header names the live master.
        wait_until(
            lambda: f"master {master}".encode() in shown(received),
            what=f"the page to show 'master {master}'",
            page=page,
        )
        served.wait_line("page 1 opened")
        # Keys typed in the page reach the app: + is TTIN, and the master forks a third worker.
        page.focus(".xterm-helper-textarea")  # xterm.js takes keys here; a click would click
        page.keyboard.type("+")
        wait_until(
            lambda: len(procfs.children_of(master)) >= 3, what="a third worker after + (TTIN)"
        )
        lab = refs_below(served.pid)
        assert len(lab) >= 5, lab  # the app, the master, three workers

        page.close()
        left = wait_until(
            lambda: not existing(lab) and not procfs.descendants_of(served.pid),
            what="the closed page's app and lab to be gone",
        )
        assert left
        line = served.wait_line("page 1 closed")
        assert "had to be killed" not in line, line  # the app quit and closed its own lab
        assert served.process.poll() is None  # the server goes on
    assert served.process.returncode == 0


def test_an_app_that_dies_ends_its_page_and_its_lab(browser: Any) -> None:
    """The dashboard crashing (here: KILLed) must not leave a blank page and a lab behind."""
    with serve("--workers", "1") as served:
        page, _ = open_dashboard(browser, served.url)
        page.wait_for_selector("body.-first-byte", timeout=START_TIMEOUT * 1000)
        [master] = wait_until(served.labs, what="the page's lab")
        wait_until(lambda: procfs.children_of(master), what="its worker")
        lab = refs_below(served.pid)
        app = parent(master)
        assert parent(app) == served.pid
        os.kill(app, signal.SIGKILL)  # our grandchild, and not reaped: its pid is still its own
        page.wait_for_selector("body.-closed", timeout=30_000)  # "Session ended", Restart
        wait_until(lambda: not existing(lab), what="the dead app's lab to be gone")
        line = served.wait_line("page 1 closed")
        assert f"app {app} ended by itself (exit -9)" in line, line
        assert not procfs.descendants_of(served.pid)
        # "Restart" reloads the page's own address, key and all: a new lab, not a 403.
        page.click(".closed-dialog button")
        wait_until(served.labs, what="a new lab after Restart", page=page)
        served.wait_line("page 2 opened")
        assert not [line for line in served.seen if "refused" in line], served.seen


def test_pages_beyond_the_cap_get_a_message_and_no_lab(browser: Any) -> None:
    with serve("--max-connections", "1", "--workers", "1") as served:
        first, _ = open_dashboard(browser, served.url)
        [master] = wait_until(served.labs, what="the first page's lab")
        served.wait_line("page 1 opened")

        # A second page: the index says every lab is in use, with a 503.
        second = browser.new_page()
        response = second.goto(served.url)
        assert response is not None and response.status == 503
        text = second.inner_text("body")
        assert "Every lab is in use" in text and "try again in a minute" in text
        assert "at most 1 lab at once (--max-connections 1)" in text
        # A websocket opened anyway (by a page loaded just before the cap was reached, here
        # the first one: the full page itself may open none, its CSP is default-src 'none')
        # is told in its terminal, and gets no app.
        said = first.evaluate(
            """url => new Promise((resolve, reject) => {
                const ws = new WebSocket(url);
                ws.binaryType = "arraybuffer";
                ws.onmessage = e => resolve(new TextDecoder().decode(e.data));
                ws.onerror = () => reject("websocket error");
            })""",
            served.ws_url(80, 24),
        )
        assert "every lab of this server is in use (1 of 1, --max-connections 1)" in said
        served.wait_line("page refused")
        assert served.labs() == [master]

        # Once the first page closes, its lab is gone and the next page gets one.
        lab = refs_below(served.pid)
        first.close()
        wait_until(lambda: not existing(lab), what="the first lab to be gone")
        served.wait_line("page 1 closed")
        second.reload()
        wait_until(lambda: served.labs() not in ([], [master]), what="a lab for the second page")
        lab = refs_below(served.pid)
        # The server stops with a page still open (SIGTERM): that page's lab goes with it.
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=30) == 0
        wait_until(lambda: not existing(lab), timeout=10, what="the lab of the open page")
        served.wait_line("stopped; every lab is closed", timeout=5)


# -- tests: no browser needed ------------------------------------------------------------------


def run_serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sigscope", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_served_lab_cannot_grow_past_max_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cap holds for the lab's whole life: TTIN and spawning are refused, with a note,
    once it has --max-workers workers (serve passes the cap to the master in the environment)."""
    monkeypatch.setenv(MAX_WORKERS_ENV, "2")
    with Lab(workers=2) as lab:
        since = lab.cursor()
        lab.send("master", "TTIN")
        note = lab.wait_for(since=since, timeout=10, kind="note", role="master")
        assert (
            note["text"]
            == f"SIGTTIN refused: this lab may have at most 2 workers ({MAX_WORKERS_ENV})"
        )
        since = lab.cursor()
        lab.spawn_worker("idle")
        note = lab.wait_for(since=since, timeout=10, kind="note", role="master")
        assert note["text"].startswith("a new worker refused")
        # Below the cap, TTIN still works: one fewer, then one more.
        since = lab.cursor()
        lab.send("master", "TTOU")
        lab.wait_for(since=since, timeout=10, kind="reaped")
        since = lab.cursor()
        lab.send("master", "TTIN")
        lab.wait_for(since=since, timeout=10, kind="spawn")
        lab.send("master", "USR1")
        status = lab.wait_for(since=since, timeout=10, kind="status")
        assert status["target"] == 2
        assert len(lab.live_workers()) == 2


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(run_serve("--port", str(port)))
    assert line == (
        f"sigscope serve: error: port {port} on 127.0.0.1 is already in use "
        f"(try --port {port + 1}, or --port 0)"
    )


@pytest.mark.parametrize(
    "args, says",
    [
        (["--host", "no-such-host.invalid"], "bad host 'no-such-host.invalid'"),
        (["--host", "192.0.2.1"], "bad host '192.0.2.1': not an address of this machine"),
        (["--port", "70000"], "a port is from 0 to 65535"),
        (["--workers", "9", "--max-workers", "8"], "--workers 9 is more than --max-workers 8"),
        (["--max-connections", "0"], "choose from 1 to 64"),
        (["--behaviour", "nope"], "nope"),
        (["--grace", "1000"], "--grace 1000 is too long for serve: at most 10 s"),
        (["--port", "8²"], "a port must be a whole number"),
        (["--max-connections", "²"], "connections must be a whole number"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    assert says in one_line_error(run_serve(*args))


def test_listen_binds_the_port_it_reports() -> None:
    sockets = listen("127.0.0.1", 0)
    try:
        port = sockets[0].getsockname()[1]
        with pytest.raises(Exception, match="already in use"):
            listen("127.0.0.1", port)
    finally:
        for s in sockets:
            s.close()


def test_the_address_shown_is_one_a_browser_can_use() -> None:
    sockets = listen("127.0.0.1", 0)
    try:
        port = sockets[0].getsockname()[1]
        assert url_of(sockets, "127.0.0.1") == f"http://127.0.0.1:{port}/"
        assert url_of(sockets, "0.0.0.0") == f"http://{socket.gethostname()}:{port}/"
        assert url_of(sockets, "::1") == f"http://[::1]:{port}/"
    finally:
        for s in sockets:
            s.close()


def test_each_page_runs_the_dashboard_with_capped_workers() -> None:
    argv = ServeSettings(workers=50, max_workers=8, behaviour="alarm:seconds=2").app_argv()
    # -P: the folder serve runs in is never first on the app's sys.path (issue 11)
    assert argv[:4] == [sys.executable, "-P", "-m", "sigscope.commands.serve"]
    assert argv[5] == "dashboard"
    assert argv[argv.index("--workers") + 1] == "8"
    assert argv[argv.index("--behaviour") + 1] == "alarm:seconds=2"


async def test_when_the_server_is_killed_every_app_and_lab_dies_with_it() -> None:
    """SIGKILL leaves the server no time to clean up: the apps' PDEATHSIG (armed by
    ``python -m sigscope.commands.serve``) and the labs' own take everything down. No browser
    needed: a websocket client is a page as far as the server can tell."""
    import aiohttp

    with serve("--workers", "1") as served:
        async with aiohttp.ClientSession() as session, session.ws_connect(served.ws_url()) as ws:
            [master] = wait_until(served.labs, what="a lab for the websocket client")
            wait_until(lambda: procfs.children_of(master), what="its worker")
            lab = refs_below(served.pid)
            served.process.send_signal(signal.SIGKILL)
            served.process.wait(timeout=10)
            # Orphans come to us (pytest is a subreaper): reap them as they die.
            wait_until(
                lambda: (
                    (reap_children({r.pid for r in lab}, timeout=0) or True) and not existing(lab)
                ),
                timeout=20,
                what="the app and its lab to die with the server",
            )
            await ws.close()


async def test_an_app_that_does_not_quit_is_terminated_then_killed_with_its_lab() -> None:
    """A page's app that cannot answer (here: stopped) is TERMed, then KILLed; its lab goes."""
    import aiohttp

    with serve("--workers", "1") as served:
        async with aiohttp.ClientSession() as session, session.ws_connect(served.ws_url()) as ws:
            [master] = wait_until(served.labs, what="a lab for the websocket client")
            wait_until(lambda: procfs.children_of(master), what="its worker")
            lab = refs_below(served.pid)
            app = parent(master)
            os.kill(app, signal.SIGSTOP)  # our grandchild, unreaped: the pid is its own
            await ws.close()
        line = served.wait_line("page 1 closed", timeout=30)
        assert f"app {app} was killed (exit -9)" in line, line
        wait_until(lambda: not existing(lab), timeout=10, what="the stopped app's lab")
        assert not procfs.descendants_of(served.pid)

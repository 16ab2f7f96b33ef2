"""``sigscope serve`` as an attacker sees it (issue 11): a key, an Origin check, caps that hold.

Every test here starts a real ``sigscope serve`` (see :func:`tests.test_serve.serve`) and talks
to it as a browser page would, with aiohttp's plain WebSocket client: the handshake, the
messages textual's page sends, and the ones a hostile page could send instead. What the
served app did is read from the app's side: its environment and output, its RSS in /proc,
the files it wrote, the lines the server logged.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sigscope import procfs
from sigscope.serving.rules import (
    MAX_COLUMNS,
    MAX_MESSAGE,
    MAX_REFUSED,
    MAX_ROWS,
    BadMessage,
    clamp_size,
    loopback_host,
    origin_ok,
    read_message,
    token_ok,
)
from tests.e2e.test_serve import (
    Served,
    one_line_error,
    parent,
    run_serve,
    serve,
    served_apps,
    wait_until,
)


async def received_until(ws: Any, check: Any, timeout: float, what: str) -> bytes:
    """Read the app's output from ``ws`` until ``check(output)`` holds."""
    output = b""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check(output):
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {what} ({len(output)} bytes came)")
        try:
            message = await ws.receive(timeout=min(left, 1.0))
        except TimeoutError:
            continue
        if message.type == aiohttp.WSMsgType.BINARY:
            output += message.data
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            raise AssertionError(f"the socket closed while waiting for {what}")
    return output


def app_of(served: Served) -> int:
    """The pid of the page's app: the server's child running ``sigscope.commands.serve``.

    Not found through its lab: these tests hold the page's websocket unread meanwhile, so
    on a loaded machine the app's first (300×100) frames could fill the pipe to the server
    and the lab be late past any deadline (seen once in a full run: 60 s, no lab)."""

    [app] = wait_until(lambda: served_apps(served), what="the page's app")
    return app


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, _, v in pairs}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


# -- the key and the origin --------------------------------------------------------------------


async def test_a_websocket_without_the_key_or_from_another_origin_is_refused() -> None:
    with serve("--workers", "1") as served:
        refused = [
            (served.ws_url(token=""), {}),  # /ws/ : no key at all
            (served.base.replace("http:", "ws:") + "ws?width=80&height=24", {}),  # textual's own
            (served.ws_url(token="A" * len(served.token)), {}),  # a wrong key of the right size
            (served.ws_url(), {"Origin": "http://evil.example"}),  # the key, but another site
            (served.ws_url(), {"Origin": "null"}),  # a sandboxed page or a file: URL
            (served.ws_url(), {"Origin": served.base.rstrip("/") + ".evil.example"}),
        ]
        async with aiohttp.ClientSession() as session:
            for url, headers in refused:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refusal:
                    async with session.ws_connect(url, headers=headers):
                        pass
                assert refusal.value.status in (403, 404), (url, headers)
            served.wait_line("websocket refused: a wrong key")
            served.wait_line("websocket refused: Origin 'http://evil.example' is not http://")
            assert served.labs() == []  # nothing was started for any of them
            # The same page with the key and its own origin gets its lab: the check is real.
            origin = served.base.rstrip("/")
            async with session.ws_connect(served.ws_url(), headers={"Origin": origin}):
                wait_until(served.labs, what="a lab for the page with the key")
        served.wait_line("page 1 closed")
    assert "Traceback" not in "\n".join(served.seen)


async def test_the_page_needs_the_key_and_hands_it_to_its_websocket_only() -> None:
    with serve("--workers", "1") as served:
        async with aiohttp.ClientSession() as session:
            async with session.get(served.base) as response:
                assert response.status == 403
                text = await response.text()
                assert "needs its key" in text and served.token not in text
            async with session.get(served.base + "?token=nope") as response:
                assert response.status == 403
            async with session.get(served.url) as response:
                assert response.status == 200
                page = await response.text()
                # The page's websocket address carries the key in its path (then what the page
                # opens: the dashboard, no student), as textual's page appends "?width=…" to it.
                address = served.ws_url().split("?")[0] + "/-/-"
                assert f'data-session-websocket-url="{address}"' in page
                # ...and the key goes to no other site (Referer), cache or frame.
                assert response.headers["Referrer-Policy"] == "no-referrer"
                assert response.headers["Cache-Control"] == "no-store"
            # DNS rebinding: a hostile name that resolves to 127.0.0.1 is not this server.
            async with session.get(served.url, headers={"Host": "evil.example:80"}) as response:
                assert response.status == 403
            served.wait_line("page refused: Host 'evil.example:80' is not this machine's loopback")
            # A Host that is not a host name goes neither into the page nor into the log.
            weird = 'x"><script>alert(1)</script>'
            async with session.get(served.url, headers={"Host": weird}) as response:
                assert response.status in (400, 403)
                assert "<script>" not in await response.text()
        assert served.labs() == []


def test_broken_requests_are_refused_without_a_traceback() -> None:
    """What a visitor sends before any handler runs (a garbage request line, a 100 kB header,
    a broken upgrade) is aiohttp's to refuse: the server logs one line, never a traceback."""
    with serve("--workers", "1") as served:
        port = int(served.base.rstrip("/").rsplit(":", 1)[1])
        host = f"127.0.0.1:{port}"
        upgrade = (
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: bad\r\n"
        )
        requests = [
            b"GARBAGE\r\n\r\n",
            f"GET / HTTP/1.1\r\nHost: {host}\r\nX-A: {'a' * 100_000}\r\n\r\n".encode(),
            f"GET /ws/{served.token} HTTP/1.1\r\nHost: {host}\r\n{upgrade}\r\n".encode(),
            f"GET /ws/{served.token} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(),
            # A request line too long even for MAX_LINE: aiohttp quotes it in its log line.
            f"GET /?token={served.token}&student={'a' * 40_000} HTTP/1.1\r\n\r\n".encode(),
        ]
        for request in requests:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(request)
                assert sock.recv(100).split(b" ")[1] == b"400", request[:60]
        served.wait_line("Error handling request")  # aiohttp's own line, now one line
        assert served.labs() == []
    said = "\n".join(served.seen)
    assert "Traceback" not in said and "  File " not in said, said
    # The long line's refusal quotes the line, but not the key in it.
    line = served.wait_line("Got more than 32768 bytes")
    assert "token=…&student=aaa" in line and served.token not in line, line


def test_the_key_is_checked_in_constant_time_and_whole() -> None:
    token = "k" * 43
    assert token_ok(token, token)
    assert not token_ok(None, token)
    assert not token_ok("", token)
    assert not token_ok(token[:-1], token)
    assert not token_ok(token + "k", token)
    assert not token_ok("\udcff" * 43, token)  # not even encodable: no exception either
    assert not token_ok("k" * 100_000, token)


@pytest.mark.parametrize(
    "host, ours",
    [
        ("127.0.0.1:8000", True),
        ("localhost:8000", True),
        ("[::1]:8000", True),
        ("127.1.2.3", True),
        ("evil.example:8000", False),
        ("10.0.0.1:8000", False),
        ("[::ffff:10.0.0.1]:8000", False),
        ("", False),
    ],
)
def test_on_loopback_only_a_loopback_host_is_ours(host: str, ours: bool) -> None:
    assert loopback_host(host) is ours


def test_an_origin_must_be_the_page_the_server_served() -> None:
    assert origin_ok(None, "http", "127.0.0.1:8000")  # not a browser: the key still holds
    assert origin_ok("http://127.0.0.1:8000", "http", "127.0.0.1:8000")
    assert not origin_ok("http://127.0.0.1:8001", "http", "127.0.0.1:8000")
    assert not origin_ok("https://127.0.0.1:8000", "http", "127.0.0.1:8000")
    assert not origin_ok("null", "http", "127.0.0.1:8000")
    assert not origin_ok("http://evil.example", "http", "127.0.0.1:8000")


# -- nothing from the current folder -------------------------------------------------------------

PLANTED = """
# Planted by a test: record who imported me, then step aside for the real module, so that
# the process goes on working and the test sees every importer, not only the first.
import os, sys
with open(os.path.join({marks!r}, "%d-%s" % (os.getpid(), __name__)), "w") as _f:
    _f.write(" ".join(sys.argv))
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules[__name__]
_real = __import__(__name__)
sys.modules[__name__] = _real
globals().update(_real.__dict__)
"""


async def test_a_module_planted_in_the_current_folder_never_runs_in_a_served_app(
    tmp_path: Path,
) -> None:
    """``python -m`` puts the current folder first on ``sys.path``: a ``json.py`` there ran in
    every page's app. Each of these is imported by the app (and the lab) early."""
    marks = tmp_path / "marks"
    marks.mkdir()
    folder = tmp_path / "lessons-folder"
    folder.mkdir()
    for name in ("json", "shlex", "textwrap"):
        (folder / f"{name}.py").write_text(PLANTED.format(marks=str(marks)))
    with serve("--workers", "1", cwd=str(folder)) as served:
        async with aiohttp.ClientSession() as session, session.ws_connect(served.ws_url()) as ws:
            [master] = wait_until(served.labs, what="a lab for the page")
            wait_until(lambda: procfs.children_of(master), what="its worker")
            # The app is up and drawing: everything it imports at start is imported.
            await received_until(ws, lambda out: b"master" in out, 60, "the dashboard")
            app = parent(master)
            assert Path(f"/proc/{app}/cwd").resolve() == folder.resolve()
        served.wait_line("page 1 closed")
    imported = {p.name: p.read_text() for p in marks.iterdir()}
    by_app = {name: argv for name, argv in imported.items() if name.startswith(f"{app}-")}
    assert by_app == {}, f"planted modules were imported by the served app: {by_app}"
    # ...nor by anything it started (the lab's master and workers: the controller's -P).
    assert imported == {}, f"planted modules were imported: {imported}"


# -- what a page may send ------------------------------------------------------------------------


async def test_a_huge_terminal_is_clamped_and_the_app_still_quits() -> None:
    """A 5000x5000 resize took an app from 45 to 518 MB and it stopped answering quit.

    The size the app took is read from what it draws: its footer (" k Signal …") is on its
    last row, so the row Textual moves to for it is the app's height."""
    with serve("--workers", "1") as served:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(served.ws_url(5000, 5000)) as ws,
        ):
            app = app_of(served)
            # The size the app started with, from its own side.
            env = environ_of(app)
            assert (env["COLUMNS"], env["ROWS"]) == (str(MAX_COLUMNS), str(MAX_ROWS))
            heights = await footer_rows(ws, lambda rows: rows, "the first screen")
            assert heights == {MAX_ROWS}, heights
            # Smaller, then huge again by a resize message: the app draws at the clamp.
            await ws.send_str(json.dumps(["resize", {"width": 80, "height": 24}]))
            await footer_rows(ws, lambda rows: 24 in rows, "an 80x24 screen")
            await ws.send_str(json.dumps(["resize", {"width": 5000, "height": 5000}]))
            heights = await footer_rows(ws, lambda rows: rows - {24}, "the screen after 5000x5000")
            assert heights - {24} == {MAX_ROWS}, heights
            assert rss_kib(app) < 300 * 1024, f"app RSS {rss_kib(app)} KiB"
        line = served.wait_line("page 1 closed")
        assert f"app {app} quit (exit 0)" in line, line


FOOTER = re.compile(rb"\x1b\[(\d+);1H\x1b\[[0-9;]*m k \x1b\[0m\x1b\[[0-9;]*mSignal ")


async def footer_rows(ws: Any, check: Any, what: str) -> set[int]:
    """The rows the app drew its footer on, read from its output until ``check`` holds."""
    output = await received_until(
        ws, lambda out: check({int(r) for r in FOOTER.findall(out)}), 60, what
    )
    return {int(r) for r in FOOTER.findall(output)}


def test_a_size_is_clamped_to_what_a_screen_shows() -> None:
    assert clamp_size(5000, 5000) == (MAX_COLUMNS, MAX_ROWS)
    assert clamp_size(0, -3) == (1, 1)
    assert clamp_size(120, 40) == (120, 40)
    message = read_message(json.dumps(["resize", {"width": 10**30, "height": 50}]))
    assert (message.width, message.height) == (MAX_COLUMNS, 50)


@pytest.mark.parametrize(
    "text, says",
    [
        ("not json", "not JSON"),
        ("[" * 100_000, "characters"),
        ("[" * 60_000, "not JSON"),  # deep, under the size cap: RecursionError inside
        ("{}", "not a list"),
        ("[]", "not a list"),
        ("[1, 2]", "not a list"),
        ('["stdin", 5]', "stdin data is not a string"),
        ('["ping", null]', "ping data is not a string"),
        ('["resize", [80, 24]]', "resize data is not an object"),
        ('["resize", {"width": "80", "height": 24}]', "resize width is not a whole number"),
        ('["resize", {"width": 80, "height": true}]', "resize height is not a whole number"),
        ('["resize", {"width": 80.5, "height": 24}]', "resize width is not a whole number"),
        ('["resize", {}]', "resize width is not a whole number"),
        ('["shell", "rm -rf /"]', "unknown type 'shell'"),
    ],
)
def test_a_malformed_message_is_named_not_raised(text: str, says: str) -> None:
    with pytest.raises(BadMessage, match=re.escape(says)):
        read_message(text)


async def test_malformed_messages_are_dropped_with_one_line_and_no_traceback() -> None:
    with serve("--workers", "1") as served:
        async with aiohttp.ClientSession() as session, session.ws_connect(served.ws_url()) as ws:
            app = app_of(served)
            for bad in ("not json", '["resize", {"width": "x", "height": 5}]', "[1]", "{}"):
                await ws.send_str(bad)
            await ws.send_bytes(b"\x00\xff")
            # The page still works: a ping is answered, keys still reach the app.
            await ws.send_str(json.dumps(["ping", "still-there"]))
            while True:
                message = await ws.receive(timeout=30)
                assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
                if message.type == aiohttp.WSMsgType.TEXT:
                    assert json.loads(message.data) == ["pong", "still-there"]
                    break
            # One message over the cap: the socket is closed (1009), nothing buffered.
            await ws.send_str(json.dumps(["stdin", "x" * (MAX_MESSAGE + 1)]))
            message = await ws.receive(timeout=30)
            while message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                message = await ws.receive(timeout=30)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        line = served.wait_line("page 1 closed")
        assert f"app {app} quit" in line, line
    said = "\n".join(served.seen)
    assert "Traceback" not in said and "  File " not in said, said
    dropped = [line for line in served.seen if "dropped a malformed message" in line]
    assert dropped[0] == "sigscope serve: page 1: dropped a malformed message: not JSON"
    assert dropped[1].endswith("resize width is not a whole number")
    # Three are shown; the rest of a flood is dropped quietly.
    assert len(dropped) == 3 and dropped[2].endswith("dropped quietly)"), dropped


async def test_refused_pages_held_open_are_capped() -> None:
    """Each page refused for want of a lab is held ~30 s to show why: only MAX_REFUSED at
    once; the rest are closed at once."""
    with serve("--max-connections", "1", "--workers", "1") as served:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(served.ws_url()):
                wait_until(served.labs, what="the one lab")
                held = [await session.ws_connect(served.ws_url()) for _ in range(MAX_REFUSED)]
                for ws in held:
                    message = await ws.receive(timeout=30)
                    assert b"every lab of this server is in use" in message.data
                extra = [await session.ws_connect(served.ws_url()) for _ in range(3)]
                for ws in extra:
                    message = await ws.receive(timeout=15)  # not REFUSED_HOLD (30 s)
                    while message.type == aiohttp.WSMsgType.BINARY:
                        message = await ws.receive(timeout=15)
                    assert message.type == aiohttp.WSMsgType.CLOSE, message
                    assert message.data == 1013
                assert not any(ws.closed for ws in held)  # the held ones still are
                for ws in [*held, *extra]:
                    await ws.close()
            served.wait_line(f"{MAX_REFUSED} refused pages are already held")
        served.wait_line("page 1 closed")


# -- the command line ----------------------------------------------------------------------------


def test_grace_is_bounded_in_serve() -> None:
    line = one_line_error(run_serve("--grace", "1000"))
    assert line == "sigscope serve: error: --grace 1000 is too long for serve: at most 10 s"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the refusal is for root only")
def test_root_may_not_serve_beyond_loopback_without_allow_root() -> None:
    line = one_line_error(run_serve("--host", "0.0.0.0", "--port", "0"))
    assert line.startswith("sigscope serve: error: refusing to serve on 0.0.0.0 as root"), line
    assert "--allow-root" in line


@pytest.mark.skipif(os.geteuid() != 0, reason="as root, --allow-root is needed to get that far")
def test_beyond_loopback_the_risk_is_named_before_serving() -> None:
    with serve("--host", "0.0.0.0", "--allow-root", "--workers", "1") as served:
        warning = served.wait_line("warning:")
        assert "0.0.0.0 is not loopback: anyone who can reach port" in warning
        assert "as root (uid 0)" in warning
        serving = served.wait_line("sigscope serve: serving ")
        assert served.seen.index(warning) < served.seen.index(serving)
        # Not loopback: any Host may name it, but the key is still needed.
        assert served.labs() == []


def test_loopback_serves_without_a_warning() -> None:
    with serve("--workers", "1") as served:
        assert not [line for line in served.seen if "warning" in line], served.seen


# -- save SVG goes to the browser ------------------------------------------------------------------


async def test_save_svg_in_a_served_app_is_a_download_not_a_file_on_the_server(
    tmp_path: Path,
) -> None:
    with serve("--workers", "1", cwd=str(tmp_path)) as served:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(served.ws_url(120, 40)) as ws,
        ):
            app = app_of(served)
            await received_until(ws, lambda out: b"master" in out, 60, "the dashboard")
            await ws.send_str(json.dumps(["stdin", "S"]))
            while True:
                message = await ws.receive(timeout=30)
                if message.type == aiohttp.WSMsgType.TEXT:
                    kind, key = json.loads(message.data)
                    if kind == "deliver_file_start":
                        break
                assert message.type == aiohttp.WSMsgType.BINARY, message
            async with session.get(f"{served.base}download/{key}") as response:
                assert response.status == 200
                svg = await response.text()
                disposition = response.headers["Content-Disposition"]
            assert svg.lstrip().startswith("<svg") and "</svg>" in svg
            assert re.fullmatch(r"attachment; filename=sigscope-\d{8}-\d{6}\.svg", disposition)
            assert Path(f"/proc/{app}/cwd").resolve() == tmp_path.resolve()
        served.wait_line("page 1 closed")
    assert list(tmp_path.iterdir()) == []  # nothing on the server's disk


async def test_save_svg_outside_serve_names_the_file_by_time_not_title(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside serve, S saves to the current folder under a plain name (the title can hold
    the root warning: ``sigscope_⚠_RUNNING_AS_ROOT_….svg`` was the name as root)."""
    from sigscope.ui.app import SigscopeApp
    from sigscope.ui.settings import LabSettings

    monkeypatch.chdir(tmp_path)
    app = SigscopeApp(LabSettings(workers=1))
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = asyncio.get_running_loop().time() + 30
        while app.lab is None or not app.process_tree.rows_shown:
            assert asyncio.get_running_loop().time() < deadline, "no lab in the tree"
            await pilot.pause(0.05)
        await pilot.press("S")
        while not list(tmp_path.iterdir()):
            assert asyncio.get_running_loop().time() < deadline, "no file saved"
            await pilot.pause(0.05)
        title = app.title
    [saved] = list(tmp_path.iterdir())
    assert re.fullmatch(r"sigscope-\d{8}-\d{6}\.svg", saved.name), (saved.name, title)
    assert saved.read_text().lstrip().startswith("<svg")

"""A served page's driver (sigscope.ui.page_driver): its input thread does not wake while no
input comes, yet a lone Escape still arrives, quit still quits, and close() ends the thread at
once. The reader on a real pipe; the driver in a real app process fed as textual-serve feeds
it (packets on its stdin), timed on events with timeouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sigscope.ui.page_driver import LINGER as DRIVER_LINGER
from sigscope.ui.page_driver import PATH, QuietInputReader
from sigscope.ui.serve_web import PAGE_DRIVER, page_environment

WAIT = 20.0
LINGER = 0.3


class Reading:
    """A QuietInputReader on a pipe, iterated in a thread: what it yielded, and when."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.reader = QuietInputReader(self.read_fd, linger=LINGER)
        self.got: list[tuple[float, bytes]] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for data in self.reader:
            self.got.append((time.monotonic(), data))

    def data(self) -> bytes:
        return b"".join(d for _, d in list(self.got))

    def close(self) -> None:
        self.reader.close()
        self.thread.join(WAIT)
        for fd in (self.read_fd, self.write_fd):
            os.close(fd)


def until(test: object, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not test():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_reader_polls_after_input_then_sleeps_until_the_next() -> None:
    r = Reading()
    try:
        os.write(r.write_fd, b"a")
        until(lambda: r.data() == b"a")
        sent = time.monotonic()
        # Within the linger it polls as Textual's reader does (an escape sequence may be open)…
        until(lambda: sum(1 for t, d in list(r.got) if d == b"" and t > sent) >= 2)
        # …then it yields nothing at all, however long nothing comes (Textual's: 10 a second).
        until(lambda: time.monotonic() > sent + LINGER + 0.2)
        quiet = len(r.got)
        time.sleep(1.0)
        assert len(r.got) == quiet
        os.write(r.write_fd, b"b")  # and input wakes it at once
        until(lambda: r.data() == b"ab", timeout=2.0)
    finally:
        r.close()


def test_close_ends_a_sleeping_reader_at_once() -> None:
    r = Reading()
    time.sleep(LINGER + 0.2)  # asleep, with no timeout
    started = time.monotonic()
    r.close()
    assert not r.thread.is_alive()
    assert time.monotonic() - started < 2.0
    r.reader.close()  # again, after its pipe's read end is closed: no error


def test_end_of_input_ends_the_reader() -> None:
    r = Reading()
    os.close(r.write_fd)
    r.thread.join(WAIT)
    assert not r.thread.is_alive()
    r.write_fd = os.open(os.devnull, os.O_WRONLY)  # for close()
    r.close()


def test_serve_names_the_driver_for_every_page() -> None:
    env = page_environment({"TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"})
    assert env["TEXTUAL_DRIVER"] == PAGE_DRIVER == PATH


APP = """
from textual.app import App
from textual.widgets import Static

class Keys(App):
    def compose(self):
        yield Static("ready")
    def on_key(self, event):
        if event.key == "escape":
            self.exit(return_code=7)

app = Keys()
app.run(mouse=False)
raise SystemExit(app.return_code or 0)
"""


def packet(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


def threads_switches(pid: int) -> int:
    """Context switches of every thread of ``pid`` but its main one (the input thread's)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        if task == str(pid):
            continue
        with open(f"/proc/{pid}/task/{task}/status") as f:
            for line in f:
                if "ctxt_switches" in line:
                    total += int(line.split()[1])
    return total


def start_app(tmp_path: Path) -> subprocess.Popen[bytes]:
    script = tmp_path / "keys.py"
    script.write_text(APP)
    env = page_environment(
        {**os.environ, "COLUMNS": "40", "ROWS": "10", "TEXTUAL_COLOR_SYSTEM": "truecolor"}
    )
    app = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert app.stdout is not None
    deadline = time.monotonic() + WAIT
    while app.stdout.readline() != b"__GANGLION__\n":
        assert time.monotonic() < deadline and app.poll() is None, app.stderr.read()  # type: ignore[union-attr]
    threading.Thread(target=app.stdout.read, daemon=True).start()  # drain its frames
    return app


def send(app: subprocess.Popen[bytes], data: bytes) -> None:
    assert app.stdin is not None
    app.stdin.write(data)
    app.stdin.flush()


def test_a_page_app_gets_a_lone_escape_and_its_input_thread_sleeps(tmp_path: Path) -> None:
    app = start_app(tmp_path)
    try:
        send(app, packet(b"M", json.dumps({"type": "resize", "width": 40, "height": 10}).encode()))
        time.sleep(DRIVER_LINGER + 0.5)  # past the reader's linger after the resize
        before = threads_switches(app.pid)
        time.sleep(1.0)
        # Textual's own reader wakes 10 times a second; this one not at all (a little slack
        # for a thread of the app that is not the reader).
        assert threads_switches(app.pid) - before <= 2
        send(app, packet(b"D", b"\x1b"))  # Escape alone: known as one only after ESCDELAY
        assert app.wait(WAIT) == 7
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


def test_a_page_app_quits_at_once_when_told(tmp_path: Path) -> None:
    app = start_app(tmp_path)
    try:
        time.sleep(DRIVER_LINGER + 0.5)  # its input thread asleep
        started = time.monotonic()
        send(app, packet(b"M", json.dumps({"type": "quit"}).encode()))
        assert app.wait(WAIT) == 0
        assert time.monotonic() - started < 5.0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()

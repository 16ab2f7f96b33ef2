"""The dashboard's terminal driver (sigscope.ui.tty_driver): its input thread does not wake
while no key comes, yet keys and a lone Escape still arrive, and quitting ends it at once.
A real app process on a real pty, timed on events with timeouts."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from textual import constants

from sigscope.ui.app import SigscopeApp
from sigscope.ui.settings import LabSettings
from sigscope.ui.tty_driver import LINGER, TtyDriver

WAIT = 20.0

APP = """
import sys
from pathlib import Path
from textual.app import App
from textual.widgets import Static
from sigscope.ui.tty_driver import TtyDriver

out = Path(sys.argv[1])

class Keys(App):
    def compose(self):
        yield Static("ready")
    def on_mount(self):
        out.write_text("ready\\n")
    def on_key(self, event):
        with out.open("a") as f:
            f.write(event.key + "\\n")
        if event.key == "escape":
            self.exit(return_code=7)
        elif event.key == "q":
            self.exit(return_code=0)

app = Keys(driver_class=TtyDriver)
app.run(mouse=False)
raise SystemExit(app.return_code or 0)
"""


class PtyApp:
    """The app above on a fresh pty (80×24), its output drained."""

    def __init__(self, tmp_path: Path) -> None:
        script = tmp_path / "keys.py"
        script.write_text(APP)
        self.out = tmp_path / "keys.out"
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color"}
        env.pop("TEXTUAL_DRIVER", None)
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.out)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        threading.Thread(target=self._drain, daemon=True).start()
        self.until(lambda: self.lines()[:1] == ["ready"], "the app started")

    def _drain(self) -> None:
        while True:
            try:
                if not os.read(self.master, 65536):
                    return
            except OSError:
                return

    def lines(self) -> list[str]:
        try:
            return self.out.read_text().splitlines()
        except FileNotFoundError:
            return []

    def until(self, test: object, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not test():  # type: ignore[operator]
            assert self.proc.poll() is None, f"the app ended before {what}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.01)

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def input_thread_switches(self) -> int:
        """Context switches of every thread but the main one (the input and writer threads)."""
        total = 0
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            if task == str(self.proc.pid):
                continue
            try:
                with open(f"/proc/{self.proc.pid}/task/{task}/status") as f:
                    total += sum(int(line.split()[1]) for line in f if "ctxt_switches" in line)
            except FileNotFoundError:
                continue
        return total

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT)
        os.close(self.master)


@pytest.fixture
def pty_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    app = PtyApp(tmp_path)
    try:
        yield app
    finally:
        app.close()


def test_keys_arrive_then_the_input_thread_sleeps_until_the_next(pty_app: PtyApp) -> None:
    pty_app.type(b"a")
    pty_app.until(lambda: "a" in pty_app.lines(), "the key a")
    time.sleep(LINGER + 0.5)  # past the linger after the key
    before = pty_app.input_thread_switches()
    time.sleep(1.0)
    # Textual's own reader wakes 10 times a second; this one not at all (a little slack for
    # the writer thread).
    assert pty_app.input_thread_switches() - before <= 2
    pty_app.type(b"b")  # and a key wakes it at once
    pty_app.until(lambda: "b" in pty_app.lines(), "the key b")


def test_a_lone_escape_arrives_after_the_escape_delay(pty_app: PtyApp) -> None:
    time.sleep(LINGER + 0.5)  # asleep, with no timeout
    pty_app.type(b"\x1b")  # known to be Escape alone only once ESCDELAY has passed
    assert pty_app.proc.wait(WAIT) == 7
    assert pty_app.lines()[-1] == "escape"


def test_quitting_while_the_input_thread_sleeps_ends_the_app_at_once(pty_app: PtyApp) -> None:
    time.sleep(LINGER + 0.5)
    started = time.monotonic()
    pty_app.type(b"q")
    assert pty_app.proc.wait(WAIT) == 0
    assert time.monotonic() - started < 5.0


def test_the_dashboard_uses_it_in_a_terminal_unless_a_driver_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(constants, "DRIVER", None)
    assert SigscopeApp(LabSettings()).get_driver_class() is TtyDriver
    monkeypatch.setattr(constants, "DRIVER", "textual.drivers.web_driver:WebDriver")
    assert SigscopeApp(LabSettings()).get_driver_class() is not TtyDriver


async def test_stopping_input_wakes_the_sleeping_reader_at_once() -> None:
    # disable_input (quit, suspend) sets exit_event and joins the thread: the set() must wake
    # a select that has no timeout. (A driver is made on a running loop, as Textual does.)
    read_fd, write_fd = os.pipe()
    driver = TtyDriver(SigscopeApp(LabSettings()))
    driver.fileno = read_fd
    driver.linger = 0.0  # asleep at once
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()
    started = time.monotonic()
    driver.exit_event.set()
    thread.join(WAIT)
    assert not thread.is_alive() and time.monotonic() - started < 2.0
    driver.close()
    driver.close()  # twice: no error, no other file's number closed
    os.close(read_fd)
    os.close(write_fd)

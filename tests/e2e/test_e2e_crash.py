"""End to end, in a pty: when the app crashes, the terminal is restored and no lab process is
left. (SIGSCOPE_FAULT=crash with SIGSCOPE_TESTING=1 makes the dashboard raise one second after
it starts; without SIGSCOPE_TESTING=1 the product ignores SIGSCOPE_FAULT.)"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from types import TracebackType

from sigscope import procfs
from tests.conftest import reap_children, wait_gone


class Dashboard:
    """The installed ``sigscope ARGS`` in a new 120×40 pty, in its own session: what it
    prints is kept in ``output``, every process of its lab seen in ``lab``."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, drop: tuple = ()) -> None:
        self.master_fd, self.slave_fd = os.openpty()
        fcntl.ioctl(self.slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.before = termios.tcgetattr(self.slave_fd)
        environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", *drop)}
        environ.update(TERM="xterm-256color", **(env or {}))
        self.proc = subprocess.Popen(
            ["sigscope", *args],
            stdin=self.slave_fd,
            stdout=self.slave_fd,
            stderr=self.slave_fd,
            env=environ,
            start_new_session=True,
        )
        self.output = b""
        self.lab: set[int] = set()

    def pump(self, seconds: float, done: Callable[[], bool] = lambda: False) -> None:
        """Read what it prints (the pty must not fill) and note its lab, while it runs, for
        up to ``seconds`` or until ``done()``."""
        until = time.monotonic() + seconds
        while self.proc.poll() is None and time.monotonic() < until and not done():
            self.lab |= set(procfs.descendants_of(self.proc.pid))
            if select.select([self.master_fd], [], [], 0.05)[0]:
                try:
                    self.output += os.read(self.master_fd, 1 << 16)
                except OSError:
                    return

    def drain(self) -> None:
        """What it printed last, after it ended."""
        while select.select([self.master_fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(self.master_fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master_fd)
        os.close(self.slave_fd)


def test_a_crash_restores_the_terminal_and_leaves_no_lab() -> None:
    with Dashboard(env={"SIGSCOPE_FAULT": "crash", "SIGSCOPE_TESTING": "1"}) as app:
        app.pump(60)
        code = app.proc.wait(10)
        app.drain()
        after = termios.tcgetattr(app.slave_fd)
    assert code != 0
    text = app.output.decode(errors="replace")
    assert "crashes on purpose" in text  # the traceback is shown, after the screen is left
    assert app.lab, "the lab never started"
    # The terminal is back as it was: modes, alternate screen left, cursor shown.
    assert after == app.before
    assert text.rfind("\x1b[?1049l") > text.rfind("\x1b[?1049h") >= 0
    reap_children(app.lab, timeout=5)  # orphaned to us (a subreaper) when the app died
    assert wait_gone(app.lab, timeout=5) == set()


def test_sigkill_of_the_dashboard_repeated_leaves_nothing() -> None:
    for _ in range(5):
        with Dashboard("--workers", "3") as app:
            app.pump(30, lambda: len(app.lab) >= 4)  # a master and 3 workers
            assert len(app.lab) >= 4, "the lab did not start"
            app.proc.kill()  # no handler runs, no clean-up code: only the kernel's layers are left
            app.proc.wait()
            reap_children(app.lab, timeout=5)
            assert wait_gone(app.lab, timeout=2) == set()


def test_the_shipped_product_ignores_sigscope_fault() -> None:
    """Without SIGSCOPE_TESTING=1, SIGSCOPE_FAULT=crash does nothing: the dashboard outlives
    the moment it would have crashed (1 s after it started), then quits on SIGTERM cleanly."""
    with Dashboard(
        "--workers", "1", env={"SIGSCOPE_FAULT": "crash"}, drop=("SIGSCOPE_TESTING",)
    ) as app:
        app.pump(60, lambda: len(app.lab) >= 2)  # until the lab (master + worker) is up
        assert len(app.lab) >= 2, "the lab never started"
        # The fault timer is set before the lab starts: 4 s more is well past its 1 s.
        app.pump(4.0)
        assert app.proc.poll() is None, app.output.decode(errors="replace")[-500:]
        app.proc.terminate()
        code = app.proc.wait(20)
        app.drain()
    assert code == 128 + 15
    assert b"crashes on purpose" not in app.output
    reap_children(app.lab, timeout=5)
    assert wait_gone(app.lab, timeout=5) == set()

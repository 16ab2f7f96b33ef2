"""The lane's pseudo-terminal and the shell on it, started through the keeper.

A pty pair (pty(7)): sigscope keeps the master (what a terminal emulator holds: the keys go
in, the screen's bytes come out); the slave becomes the shell's stdin, stdout, stderr and
controlling terminal. The shell is a session leader (setsid(2)), so it is the terminal's
*controlling process* and can run job control (bash(1), JOB CONTROL).

The shell is not forked from sigscope (its UI runs threads, and code between fork and exec in
a threaded process can deadlock): :mod:`sigscope.terminal.keeper`, a small single-threaded
program, forks it and ends the whole session when sigscope closes the keeper's control pipe
or dies.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass, field
from pathlib import Path

from sigscope.terminal import keeper

DEFAULT_ROWS = 24
DEFAULT_COLS = 80
PROMPT = "$ "
# What the shell keeps from sigscope's environment: where programs are, who we are, the
# language. Nothing else (no PROMPT_COMMAND, no BASH_ENV, no aliases from a parent shell).
KEPT_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")


class TerminalError(Exception):
    """The lane could not start or act; the message is fit to show a user."""


def set_size(fd: int, rows: int, cols: int) -> None:
    """TIOCSWINSZ on a pty (tty_ioctl(4)): the kernel sends SIGWINCH to its foreground group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def resolve_shell(shell: str | None) -> str:
    """An absolute path to an executable shell (``bash`` by default), or TerminalError."""
    name = shell or "bash"
    if os.sep in name:
        path = os.path.abspath(name)
    else:
        # Only absolute PATH entries: "." or an empty entry would run a planted "bash".
        dirs = os.environ.get("PATH", os.defpath).split(os.pathsep)
        found = shutil.which(name, path=os.pathsep.join(d for d in dirs if os.path.isabs(d)))
        if found is None:
            raise TerminalError(f"no shell {name!r} on PATH")
        path = found
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise TerminalError(f"{name} is not an executable file")
    return path


def shell_argv(path: str) -> list[str]:
    """An interactive shell without the user's start-up files (a known, plain prompt)."""
    base = os.path.basename(path)
    if base == "bash":
        return [base, "--norc", "--noprofile", "-i"]
    if base == "zsh":
        return [base, "-f", "-i"]
    return [base, "-i"]


def python_folder() -> str | None:
    """The folder of the Python sigscope runs on, if it holds a ``python3``.

    It goes first on the shell's PATH, so that the ``python3`` a lesson has the learner type
    is that interpreter, a program, whatever PATH says: pyenv's ``python3`` is a shim, a bash
    script whose helper processes would be the learner's jobs too (they exit during lesson
    29's "it lives on" step and broke its count)."""
    folder = os.path.dirname(sys.executable or "")
    python3 = os.path.join(folder, "python3")
    if os.path.isabs(folder) and os.path.isfile(python3) and os.access(python3, os.X_OK):
        return folder
    return None


def shell_env(rows: int, cols: int) -> dict[str, str]:
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.setdefault("PATH", os.defpath)
    folder = python_folder()
    if folder is not None and env["PATH"].split(os.pathsep)[0] != folder:
        env["PATH"] = os.pathsep.join((folder, env["PATH"]))
    env.update(
        TERM="xterm-256color",
        PS1=PROMPT,
        PS2="> ",
        HISTFILE="/dev/null",
        LINES=str(rows),
        COLUMNS=str(cols),
    )
    return env


def find_strace() -> str | None:
    dirs = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return shutil.which("strace", path=os.pathsep.join(d for d in dirs if os.path.isabs(d)))


@dataclass
class Session:
    """A started session: the master fd, the keeper, and the pipes it talks on."""

    master: int
    tty: str
    keeper: subprocess.Popen[bytes]
    control_w: int  # closing it ends the session
    report_r: int  # JSON lines from the keeper (shell pid, reaped statuses)
    strace_r: int | None  # strace's stderr, or None without strace
    argv: list[str] = field(default_factory=list)


def start_session(
    shell: str,
    rows: int = DEFAULT_ROWS,
    cols: int = DEFAULT_COLS,
    strace: str | None = None,
    cwd: str | None = None,
) -> Session:
    """Open a pty, start the keeper, which starts ``shell`` on it (and strace, if given)."""
    master, slave = os.openpty()
    os.set_inheritable(master, False)
    set_size(master, rows, cols)
    tty = os.ttyname(slave)
    control_r, control_w = os.pipe2(os.O_CLOEXEC)
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    strace_r = strace_w = None
    if strace:
        strace_r, strace_w = os.pipe2(os.O_CLOEXEC)
    argv = shell_argv(shell)
    config = {
        "shell": shell,
        "argv": argv,
        "env": shell_env(rows, cols),
        "slave_fd": slave,
        "control_fd": control_r,
        "report_fd": report_w,
        "strace": strace,
        "strace_fd": strace_w,
        "cwd": cwd or os.environ.get("HOME") or "/",
    }
    passed = [fd for fd in (slave, control_r, report_w, strace_w) if fd is not None]
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(Path(keeper.__file__)), json.dumps(config)],
            pass_fds=passed,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own group: a Ctrl+C at sigscope's own terminal must not skip its clean-up.
            process_group=0,
            cwd="/",
        )
    except OSError as e:
        for fd in (master, control_w, report_r, strace_r):
            if fd is not None:
                os.close(fd)
        raise TerminalError(f"cannot start the terminal's keeper: {e.strerror}") from None
    finally:
        for fd in passed:
            os.close(fd)
    os.set_blocking(master, False)
    os.set_blocking(report_r, False)
    if strace_r is not None:
        os.set_blocking(strace_r, False)
    return Session(master, tty, proc, control_w, report_r, strace_r, argv)

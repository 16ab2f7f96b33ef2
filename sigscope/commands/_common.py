"""What every command shares: the one-line argparse parser, the usage exit status, and the early
check that a file can be written (``--record``)."""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
from pathlib import Path
from typing import NoReturn

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line by :mod:`sigscope.cli`, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (with a pointer to --help), not usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def unwritable(path: str) -> str | None:
    """Why a file cannot be written at ``path`` (None if it can), checked before any work."""
    target = Path(path)
    try:
        mode: int | None = os.lstat(target).st_mode
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:  # a name no file can have: say so, not a traceback
            return e.strerror
        mode = None
    if mode is not None and stat.S_ISLNK(mode):
        # The lab opens it with O_NOFOLLOW as well: this is only the early, one-line answer.
        return "it is a symbolic link (sigscope does not write through one)"
    if mode is not None and stat.S_ISDIR(mode):
        return "it is a folder"
    if mode is not None and not stat.S_ISREG(mode):
        return "it is not a regular file"
    parent = target.parent
    if not os.path.isdir(parent):  # False, not an exception, for EACCES on the way
        return "No such file or directory"
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        return "Permission denied"
    return None


def can_record(prog: str, path: str | None) -> bool:
    """Whether ``--record`` may go on: no FILE given, or one that can be written. If it cannot,
    say why on stderr in one line (``prog: error: cannot record to FILE: why``)."""
    if path is None:
        return True
    problem = unwritable(path)
    if problem:
        from sigscope.sources.record import shown_path  # (not before a first frame: issue 14)

        print(f"{prog}: error: cannot record to {shown_path(path)}: {problem}", file=sys.stderr)
        return False
    return True

"""The ``sigscope`` commands: one module per command, each with its parser and its runner.

Every command module has the same two functions:

- ``add_parser(sub)`` adds the command to the ``sigscope`` parser's subparsers (``dashboard``,
  the bare ``sigscope``, adds its options to the top-level parser instead);
- ``run(args) -> int`` runs it and returns the exit status.

:mod:`sigscope.cli` only assembles them and turns a :class:`~sigscope.commands._common.UsageError`
into one line and exit status 2. A command imports Textual (and the lab) only when it runs, so
that ``sigscope --help`` and every usage error stay quick. Nothing outside ``commands/`` and
``cli`` imports this package (``lab``, ``observe``, ``sources`` and ``course`` never do).

A new command is a module here with those two functions, added to ``cli.COMMANDS`` (whose order
is the order ``sigscope --help`` lists them in); options that make a lab come from
:mod:`~sigscope.commands._lab_options`, ``--lessons-dir`` from :mod:`~sigscope.commands.lessons`,
and finding a lesson by name from :mod:`sigscope.course.catalog`.
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol


class Command(Protocol):
    """What :mod:`sigscope.cli` needs of a command module."""

    def add_parser(self, sub: Any) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...

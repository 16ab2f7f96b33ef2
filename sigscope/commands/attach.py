"""``sigscope attach PID``: the dashboard on an existing process tree that you own.

Bad input (not a pid, init, sigscope's own tree, someone else's process) is one line on stderr
and exit status 2, before any screen opens.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sigscope.commands._common import EXIT_USAGE
from sigscope.numbers import is_int, parse_int


def pid_number(text: str) -> int:
    # Signed, so that -1 reaches check_attachable and is refused there as off-limits.
    if not is_int(text.strip(), signed=True):
        raise argparse.ArgumentTypeError(f"{text!r} is not a pid (a whole number)")
    return parse_int(text, signed=True)


def add_parser(sub: Any) -> None:
    """Add ``attach`` to the ``sigscope`` parser's subparsers."""
    attach = sub.add_parser(
        "attach",
        help="observe and signal an existing process tree that you own",
        description="Open the dashboard on the tree rooted at PID (yours, not init, not "
        "sigscope's own). Signals go only to processes of that tree.",
    )
    attach.add_argument("pid", type=pid_number, metavar="PID")
    attach.add_argument(
        "--strace",
        action="store_true",
        help="run strace on the tree to see every signal it receives, with its sender",
    )


def run(args: argparse.Namespace) -> int:
    from sigscope.sources.attach import AttachError, check_attachable

    try:
        check_attachable(args.pid)
    except AttachError as e:
        print(f"sigscope attach: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    from sigscope.ui.app import run as run_dashboard
    from sigscope.ui.settings import AttachSettings

    return run_dashboard(AttachSettings(args.pid, strace=args.strace))

"""``sigscope`` with no command: the dashboard on a fresh lab. Its options are the top-level
parser's (the lab options and ``--record``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sigscope.commands._common import EXIT_USAGE, can_record
from sigscope.commands._lab_options import add_lab_options, check_worker_cap


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add the dashboard's options to the top-level ``sigscope`` parser."""
    add_lab_options(parser)
    parser.add_argument(
        "--record", metavar="FILE", help="dashboard: write the session to FILE (JSON lines)"
    )
    from sigscope.terminal.headless import add_terminal_options

    add_terminal_options(parser)


def run(args: argparse.Namespace) -> int:
    check_worker_cap()
    from sigscope.ui.app import run as run_dashboard
    from sigscope.ui.settings import LabSettings

    name, params = args.behaviour
    if not can_record("sigscope", args.record):
        return EXIT_USAGE
    record = None if args.record is None else Path(args.record)
    from sigscope.terminal.headless import check_terminal_options

    problem = check_terminal_options(args)
    if problem:
        print(f"sigscope: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    terminal = None
    if args.terminal:
        from sigscope.terminal.lane import TerminalSettings

        terminal = TerminalSettings(shell=args.shell)
    return run_dashboard(
        LabSettings(args.workers, name, params, args.reaping, args.grace, record, terminal=terminal)
    )

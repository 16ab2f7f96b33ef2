"""The ``sigscope`` command: assembles the commands of :mod:`sigscope.commands`.

Every bad input ends in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
from collections.abc import Sequence

from sigscope import __version__
from sigscope.commands import (
    Command,
    attach,
    dashboard,
    demo,
    lesson,
    lessons,
    replay,
    serve,
    trace,
)
from sigscope.commands._common import EXIT_USAGE, Parser, UsageError

# The commands that open a dashboard (sigscope.ui.app.SigscopeApp or an app built on it): the
# cyclic garbage collector stays off from main() until the dashboard's first frame, where the
# app turns it back on (issue 14). Start-up (imports, parser, compose, CSS) makes about 100,000
# objects and little cyclic garbage (about 6,000 unreachable objects, collected once it is back
# on); the collections it triggered took about 38 ms of a 350 ms start-up (2-core Xeon).
FIRST_FRAME_COMMANDS = frozenset({None, "attach", "replay", "lesson", "demo"})

# Each command's module (``add_parser(sub)``, ``run(args)``), in ``sigscope --help`` order.
COMMANDS: dict[str, Command] = {
    "trace": trace,
    "lessons": lessons,
    "serve": serve,
    "attach": attach,
    "replay": replay,
    "lesson": lesson,
    "demo": demo,
}


def build_parser() -> Parser:
    parser = Parser(
        prog="sigscope",
        description="Explore POSIX signals on a live prefork master/worker tree. With no "
        "COMMAND, open the dashboard on a fresh lab (the options below set it up).",
    )
    parser.add_argument("--version", action="version", version=f"sigscope {__version__}")
    dashboard.add_options(parser)  # the default command (no COMMAND given)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def _exit_on_term(signum: int, frame: object) -> None:
    # SIGTERM / SIGHUP to `sigscope trace`: unwind so that the lab is torn down and reaped.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    collecting = gc.isenabled()
    gc.disable()  # until the parser is done, and for a dashboard until its first frame
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if collecting and args.command not in FIRST_FRAME_COMMANDS:
            gc.enable()
        return _run(args)
    finally:
        if collecting:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _exit_on_term)
    signal.signal(signal.SIGHUP, _exit_on_term)
    run = dashboard.run if args.command is None else COMMANDS[args.command].run
    try:
        return run(args)
    except UsageError as e:
        print(f"sigscope: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # `sigscope trace | head`: the reader went away; that is not an error worth a trace.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())

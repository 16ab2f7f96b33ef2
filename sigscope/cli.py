"""The ``sigscope`` command: assembles the commands of :mod:`sigscope.commands`.

Every bad input ends in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

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
    parser = build_parser()
    args = parser.parse_args(argv)
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

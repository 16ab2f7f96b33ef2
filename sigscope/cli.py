"""The ``sigscope`` command: argparse entry point and its subcommands.

Every bad input ends in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import stat
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from sigscope import __version__
from sigscope.lab.behaviours import BEHAVIOURS, BehaviourError, parse_behaviour_spec
from sigscope.numbers import NumberError, is_int, parse_float, parse_int
from sigscope.record import shown_path
from sigscope.sendspec import SendSpec, SendSpecError, parse_send_spec

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (with a pointer to --help), not usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# -- shared argument types ---------------------------------------------------------------------


def workers_count(text: str) -> int:
    if not is_int(text.strip(), signed=True):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    n = parse_int(text, signed=True)
    if not 0 <= n <= 512:
        raise argparse.ArgumentTypeError(f"{n} workers: choose from 0 to 512")
    return n


def seconds(text: str) -> float:
    try:
        value = parse_float(text, what="seconds")
    except NumberError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds must be 0 or more")
    return value


def behaviour_spec(text: str) -> tuple[str, dict[str, Any]]:
    try:
        return parse_behaviour_spec(text)
    except BehaviourError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def run_spec(text: str) -> Any:
    from sigscope.lab.code import RunSpecError, parse_run_spec

    try:
        return parse_run_spec(text)
    except (RunSpecError, NumberError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def send_spec(text: str) -> SendSpec:
    try:
        return parse_send_spec(text)
    except SendSpecError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


# -- the parser ----------------------------------------------------------------------------------


def build_parser() -> Parser:
    parser = Parser(
        prog="sigscope",
        description="Explore POSIX signals on a live prefork master/worker tree. With no "
        "COMMAND, open the dashboard on a fresh lab (the options below set it up).",
    )
    parser.add_argument("--version", action="version", version=f"sigscope {__version__}")
    add_lab_options(parser)  # for the dashboard, the default command (no COMMAND given)
    parser.add_argument(
        "--record", metavar="FILE", help="dashboard: write the session to FILE (JSON lines)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    trace = sub.add_parser(
        "trace",
        help="run a lab without a screen and print its events",
        description="Run a lab headless and print its event stream. It ends when --duration "
        "is over or the master exits, and leaves no process behind.",
    )
    add_lab_options(trace)
    trace.add_argument(
        "--duration",
        type=seconds,
        metavar="SECONDS",
        help="stop after this many seconds (default: when the master exits)",
    )
    trace.add_argument(
        "--send",
        type=send_spec,
        action="append",
        default=[],
        metavar="SPEC",
        help="[SECONDS:]SIGNAL[=VALUE][@TARGET], repeatable; TARGET is master "
        "(default), worker or worker:N; =VALUE sends it queued (sigqueue, SI_QUEUE) with "
        "that int; e.g. 0.5:TTIN, 1:KILL@worker:1, 0.5:RTMIN+1=42@worker:0",
    )
    trace.add_argument(
        "--run",
        type=run_spec,
        action="append",
        default=[],
        metavar="SPEC",
        help="[SECONDS:]CODE[@worker:N], repeatable, with --behaviour playground: run Python "
        "in that playground worker (README: The playground); e.g. "
        "'0.3:import signal; signal.signal(signal.SIGUSR1, signal.SIG_IGN)'",
    )
    trace.add_argument(
        "--yes-run-code-as-root",
        action="store_true",
        help="with --run as root: yes, run this code as root (it can do anything root can)",
    )
    trace.add_argument("--json", action="store_true", help="one JSON event a line")
    trace.add_argument(
        "--record", metavar="FILE", help="also write the events to FILE (JSON lines)"
    )
    from sigscope.course.commands import add_lessons_parser

    add_lessons_parser(sub)
    from sigscope.serve import add_serve_parser

    add_serve_parser(sub)
    from sigscope.view_commands import add_view_parsers

    add_view_parsers(sub)
    from sigscope.course.play_commands import add_play_parsers

    add_play_parsers(sub)
    return parser


def add_lab_options(
    parser: argparse.ArgumentParser,
    workers_help: str = "workers to start (default 2)",
    behaviour_type: Any = None,
    behaviour_default: Any = ("idle", {}),
) -> None:
    """The options that make a lab (the dashboard, ``trace``, ``serve``): one definition."""
    names = ", ".join(sorted(BEHAVIOURS))
    parser.add_argument("--workers", type=workers_count, default=2, metavar="N", help=workers_help)
    parser.add_argument(
        "--behaviour",
        "--behavior",
        type=behaviour_type or behaviour_spec,
        default=behaviour_default,
        metavar="NAME[:k=v,…]",
        help=f"what the workers do: {names}",
    )
    parser.add_argument(
        "--reaping",
        choices=["handler", "off", "ignore"],
        default="handler",
        help="how the master reaps its children (default handler)",
    )
    parser.add_argument(
        "--grace",
        type=seconds,
        default=5.0,
        metavar="SECONDS",
        help="graceful shutdown: how long before KILL (default 5)",
    )


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


# -- trace -----------------------------------------------------------------------------------------


def run_trace(args: argparse.Namespace) -> int:
    from sigscope.lab import Lab, LabError
    from sigscope.observe.sampler import Sampler
    from sigscope.trace_view import EventPrinter

    name, params = args.behaviour
    if args.run:
        # Code is remote code execution by design: only in playground workers, and as root
        # only when the user said yes to exactly that (README: The playground).
        if name != "playground":
            print(
                "sigscope trace: error: --run needs --behaviour playground",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if os.geteuid() == 0 and not args.yes_run_code_as_root:
            print(
                "sigscope trace: error: --run as root runs your code as root in the lab's "
                "workers (it can kill or change anything on this machine); add "
                "--yes-run-code-as-root to accept that",
                file=sys.stderr,
            )
            return EXIT_USAGE
    if args.record is not None:
        problem = unwritable(args.record)
        if problem:
            print(
                f"sigscope trace: error: cannot record to {shown_path(args.record)}: {problem}",
                file=sys.stderr,
            )
            return EXIT_USAGE
    printer = EventPrinter(json_lines=args.json)
    failures = 0
    try:
        lab = Lab(
            workers=args.workers,
            behaviour=name,
            params=params,
            reaping=args.reaping,
            grace=args.grace,
            record=args.record,
        )
    except LabError as e:
        print(f"sigscope trace: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    sends = sorted([*args.send, *args.run], key=lambda s: s.at)
    try:
        lab.start()
    except LabError as e:
        print(f"sigscope trace: error: {e}", file=sys.stderr)
        return 1
    # The observer: state events (a zombie, a stopped worker) and, when recording, snapshots.
    sampler = Sampler(lab)
    sampler.start()
    try:
        printer.origin = lab.events()[0]["t"] if lab.events() else None
        t0 = time.monotonic()
        end = None if args.duration is None else t0 + args.duration
        pos = 0
        ended = False
        while not ended:
            t = time.monotonic()
            while sends and t0 + sends[0].at <= t:
                spec = sends.pop(0)
                try:
                    if hasattr(spec, "code"):  # a --run spec
                        lab.run_code(spec.target, spec.code)
                    else:
                        lab.send(spec.target, spec.sig, spec.value)
                except LabError as e:
                    failures += 1
                    print(f"sigscope trace: {spec.text}: {e}", file=sys.stderr)
            for event in lab.events(pos):
                pos += 1
                printer.show(event)
                ended = ended or event.get("kind") == "ended"
            if ended or (end is not None and t >= end):
                break
            due = [t0 + sends[0].at] if sends else []
            if end is not None:
                due.append(end)
            wait = max(0.0, min(due) - time.monotonic()) if due else 1.0
            try:
                lab.wait_for(since=pos, timeout=min(wait, 1.0))
            except LabError:
                pass
    except KeyboardInterrupt:
        lab.close()
        return 130
    finally:
        sampler.stop()
        lab.close()
        for event in lab.events(pos):
            printer.show(event)
    return 1 if failures else 0


def run_dashboard(args: argparse.Namespace) -> int:
    """``sigscope`` with no command: the dashboard on a fresh lab."""
    from sigscope.ui.app import LabSettings, run

    name, params = args.behaviour
    record = None
    if args.record is not None:
        problem = unwritable(args.record)
        if problem:
            print(
                f"sigscope: error: cannot record to {shown_path(args.record)}: {problem}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        record = Path(args.record)
    return run(LabSettings(args.workers, name, params, args.reaping, args.grace, record))


def _exit_on_term(signum: int, frame: object) -> None:
    # SIGTERM / SIGHUP to `sigscope trace`: unwind so that the lab is torn down and reaped.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_term)
    signal.signal(signal.SIGHUP, _exit_on_term)
    if args.command in (None, "trace", "lesson", "demo"):
        # A bad cap is an error before any lab or screen starts, never a quiet "no cap".
        from sigscope.lab.master import max_workers_from_env

        try:
            max_workers_from_env()
        except NumberError as e:
            print(f"sigscope: error: {e}", file=sys.stderr)
            return EXIT_USAGE
    try:
        if args.command == "trace":
            return run_trace(args)
        if args.command in ("attach", "replay"):
            from sigscope import view_commands

            if args.command == "attach":
                return view_commands.run_attach(args)
            return view_commands.run_replay(args)
        if args.command == "serve":
            from sigscope.serve import run_serve

            return run_serve(args)
        if args.command in ("lesson", "demo"):
            from sigscope.course import play_commands

            if args.command == "lesson":
                return play_commands.run_lesson(args)
            return play_commands.run_demo(args)
        if args.command == "lessons":
            from sigscope.course.commands import run_lessons

            return run_lessons(args)
        if args.command is None:
            return run_dashboard(args)
    except UsageError as e:
        print(f"sigscope: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # `sigscope trace | head`: the reader went away; that is not an error worth a trace.
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

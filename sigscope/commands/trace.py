"""``sigscope trace``: a lab with no screen, its event stream printed (text or JSON lines).

It ends when ``--duration`` is over or the master exits, and leaves no process behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from sigscope.commands._common import EXIT_USAGE, can_record
from sigscope.commands._lab_options import add_lab_options, check_worker_cap, seconds
from sigscope.numbers import NumberError

if TYPE_CHECKING:
    from sigscope.sendspec import SendSpec


def run_spec(text: str) -> Any:
    from sigscope.lab.code import RunSpecError, parse_run_spec

    try:
        return parse_run_spec(text)
    except (RunSpecError, NumberError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def send_spec(text: str) -> SendSpec:
    from sigscope.sendspec import SendSpecError, parse_send_spec

    try:
        return parse_send_spec(text)
    except SendSpecError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parser(sub: Any) -> None:
    """Add ``trace`` to the ``sigscope`` parser's subparsers."""
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
    from sigscope.terminal.headless import add_terminal_options

    add_terminal_options(trace, typing=True)


def run(args: argparse.Namespace) -> int:
    from sigscope.terminal.headless import check_terminal_options

    problem = check_terminal_options(args, alone=True)
    if problem:
        print(f"sigscope trace: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.terminal:
        return run_terminal(args)
    check_worker_cap()
    from sigscope.commands.trace_view import EventPrinter
    from sigscope.lab import Lab, LabError
    from sigscope.observe.sampler import Sampler

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
    if not can_record("sigscope trace", args.record):
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


def run_terminal(args: argparse.Namespace) -> int:
    """``trace --terminal``: the terminal lane alone (sigscope/terminal/headless.py)."""
    from sigscope.commands.trace_view import EventPrinter
    from sigscope.sources.eventlog import EventLog
    from sigscope.terminal.headless import run_lane
    from sigscope.terminal.lane import TerminalSettings

    printer = EventPrinter(json_lines=args.json)

    def problem(text: str) -> None:
        print(f"sigscope trace: {text}", file=sys.stderr)

    try:
        return run_lane(
            TerminalSettings(shell=args.shell),
            args.type,
            args.duration,
            printer.show,
            problem,
            EventLog(),
        )
    except KeyboardInterrupt:
        return 130

"""``sigscope trace --terminal``: the lane with no screen, typed into on a schedule, its events
printed by the caller's printer. It ends after ``duration`` (or when the session has no process
left) and leaves nothing behind."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sigscope import procfs
from sigscope.events import Event

if TYPE_CHECKING:
    from sigscope.terminal.keys import TypeSpec
    from sigscope.terminal.lane import TerminalSettings

# The lane itself is imported when it runs: the dashboard's parser adds these options at every
# start, and its first frame does not wait for the lane's modules (issue 14).

DEFAULT_DURATION = 5.0


class EventLog(Protocol):
    """What the headless lane needs of an event log (``sigscope.sources.eventlog.EventLog``,
    which the terminal, below sources in the layers, does not import)."""

    timeout_error: type[Exception]

    def add_event(self, event: Event) -> None: ...

    def events(self, since: int = 0) -> list[Event]: ...

    def wait_for(self, match: Any = None, timeout: float = 5.0, since: int = 0) -> Event: ...


def run_lane(
    settings: TerminalSettings,
    typed: Sequence[TypeSpec],
    duration: float | None,
    show: Callable[[Event], None],
    problem: Callable[[str], None],
    log: EventLog,
) -> int:
    """Run the lane, its events into ``log``; ``show`` each as it comes; ``problem`` a
    one-line complaint.
    Returns the exit status (0; 1 if the lane could not start or some typing failed)."""
    # Orphans of the session come back to the keeper, and to us should the keeper be killed.
    from sigscope.terminal.lane import TerminalLane
    from sigscope.terminal.pty import TerminalError

    procfs.set_child_subreaper()
    try:
        lane = TerminalLane(settings, log.add_event)
    except TerminalError as e:
        problem(str(e))
        return 2
    todo = sorted(typed, key=lambda s: s.at)
    failures = 0
    pos = 0
    try:
        lane.start()
    except TerminalError as e:
        problem(str(e))
        return 1
    try:
        if lane.strace_problem:
            problem(lane.strace_problem)
        t0 = time.monotonic()
        end = t0 + (DEFAULT_DURATION if duration is None else duration)
        while True:
            t = time.monotonic()
            while todo and t0 + todo[0].at <= t:
                spec = todo.pop(0)
                try:
                    lane.type(spec.keys)
                except TerminalError as e:
                    failures += 1
                    problem(f"{spec.text}: {e}")
            for event in log.events(pos):
                pos += 1
                show(event)
            if t >= end:
                break
            due = min([end, *([t0 + todo[0].at] if todo else [])])
            try:
                log.wait_for(since=pos, timeout=max(0.0, min(due - time.monotonic(), 1.0)))
            except log.timeout_error:
                pass
    finally:
        lane.close()
        for event in log.events(pos):
            show(event)
    return 1 if failures else 0


def type_spec(text: str) -> TypeSpec:
    """argparse type for ``--type``: a bad spec is one line, exit 2."""
    import argparse

    from sigscope.terminal.keys import KeysError, parse_type_spec

    try:
        return parse_type_spec(text)
    except KeysError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_terminal_options(parser: argparse.ArgumentParser, typing: bool = False) -> None:
    """``--terminal`` and ``--shell`` (the dashboard and ``trace``); ``--type`` for ``trace``."""
    parser.add_argument(
        "--terminal",
        action="store_true",
        help="add a terminal lane: a real shell on a real pty, its session (process groups, "
        "the foreground group, what the kernel delivers) watched"
        + ("; with --type, typed into" if typing else ""),
    )
    parser.add_argument(
        "--shell",
        metavar="PATH",
        help="with --terminal: the shell to run (default bash; started without rc files)",
    )
    if typing:
        parser.add_argument(
            "--type",
            type=type_spec,
            action="append",
            default=[],
            metavar="[SECONDS:]TEXT",
            help="with --terminal, repeatable: type TEXT into the terminal SECONDS after it "
            r"started; ^C ^Z ^\ ^D are those keys, \n is Enter; e.g. "
            r"'0.5:sleep 30 | sleep 31\n' '1.5:^C'",
        )


def check_terminal_options(args: argparse.Namespace, alone: bool = False) -> str | None:
    """What is wrong with the terminal options, in one line, or None. ``alone``: the lane
    runs without a lab (``trace --terminal``), so the lab's options make no sense."""
    if not getattr(args, "terminal", False):
        if getattr(args, "shell", None) is not None:
            return "--shell needs --terminal"
        if getattr(args, "type", None):
            return "--type needs --terminal"
        return None
    # trace --terminal runs the lane alone: the lab's options would be silently ignored.
    for option, dest in (("--send", "send"), ("--run", "run"), ("--record", "record")):
        if alone and getattr(args, dest, None):
            return f"{option} acts on the lab; trace --terminal runs the terminal lane alone"
    if args.shell is not None:
        from sigscope.terminal.pty import TerminalError, resolve_shell

        try:
            resolve_shell(args.shell)
        except TerminalError as e:
            return f"--shell: {e}"
    return None

"""``sigscope attach PID`` and ``sigscope replay FILE``: the dashboard on something other than
a fresh lab. Bad input is one line on stderr and exit status 2, before any screen opens."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sigscope.numbers import NumberError, is_int, parse_float, parse_int

EXIT_USAGE = 2


def _pid(text: str) -> int:
    # Signed, so that -1 reaches check_attachable and is refused there as off-limits.
    if not is_int(text.strip(), signed=True):
        raise argparse.ArgumentTypeError(f"{text!r} is not a pid (a whole number)")
    return parse_int(text, signed=True)


def _speed(text: str) -> float:
    try:
        value = parse_float(text, what="speed")
    except NumberError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"speed {text} is out of range (0.1 to 100)")
    return value


def add_view_parsers(sub: Any) -> None:
    attach = sub.add_parser(
        "attach",
        help="observe and signal an existing process tree that you own",
        description="Open the dashboard on the tree rooted at PID (yours, not init, not "
        "sigscope's own). Signals go only to processes of that tree.",
    )
    attach.add_argument("pid", type=_pid, metavar="PID")
    attach.add_argument(
        "--strace",
        action="store_true",
        help="run strace on the tree to see every signal it receives, with its sender",
    )
    replay = sub.add_parser(
        "replay",
        help="replay a recorded session, with no live process",
        description="Show a recording (made with --record) in the dashboard: space plays or "
        "pauses, . steps, [ ] change the speed, g/G/b/j jump.",
    )
    replay.add_argument("file", metavar="FILE")
    replay.add_argument("--speed", type=_speed, default=1.0, help="playback speed (default 1)")
    replay.add_argument("--paused", action="store_true", help="start paused")
    replay.add_argument("--json", action="store_true", help="print the events, no screen")


def run_attach(args: argparse.Namespace) -> int:
    from sigscope.attach import AttachError, check_attachable

    try:
        check_attachable(args.pid)
    except AttachError as e:
        print(f"sigscope attach: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    from sigscope.ui.app import run
    from sigscope.ui.sources import AttachSettings

    return run(AttachSettings(args.pid, strace=args.strace))


def run_replay(args: argparse.Namespace) -> int:
    from sigscope.record import RecordingError, load

    try:
        recording = load(args.file)
    except RecordingError as e:
        print(f"sigscope replay: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        for event in recording.events:
            sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
        return 0
    from sigscope.ui.app import run
    from sigscope.ui.replay_app import ReplayApp
    from sigscope.ui.sources import ReplaySettings

    settings = ReplaySettings(Path(args.file))
    return run(settings, ReplayApp(settings, speed=args.speed, paused=args.paused))

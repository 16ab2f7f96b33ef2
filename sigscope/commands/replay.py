"""``sigscope replay FILE``: a recorded session in the dashboard (or its events printed), with
no live process. A file that is not a recording is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sigscope.commands._common import EXIT_USAGE
from sigscope.numbers import NumberError, parse_float


def speed(text: str) -> float:
    try:
        value = parse_float(text, what="speed")
    except NumberError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"speed {text} is out of range (0.1 to 100)")
    return value


def add_parser(sub: Any) -> None:
    """Add ``replay`` to the ``sigscope`` parser's subparsers."""
    replay = sub.add_parser(
        "replay",
        help="replay a recorded session, with no live process",
        description="Show a recording (made with --record) in the dashboard: space plays or "
        "pauses, . steps, [ ] change the speed, g/G/b/j jump.",
    )
    replay.add_argument("file", metavar="FILE")
    replay.add_argument("--speed", type=speed, default=1.0, help="playback speed (default 1)")
    replay.add_argument("--paused", action="store_true", help="start paused")
    replay.add_argument("--json", action="store_true", help="print the events, no screen")


def run(args: argparse.Namespace) -> int:
    from sigscope.sources.record import RecordingError, load

    try:
        recording = load(args.file)
    except RecordingError as e:
        print(f"sigscope replay: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        import json  # (only here: not before a dashboard's first frame, issue 14)

        for event in recording.events:
            sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
        return 0
    from sigscope.ui.app import run as run_dashboard
    from sigscope.ui.replay_app import ReplayApp
    from sigscope.ui.settings import ReplaySettings

    settings = ReplaySettings(Path(args.file))
    return run_dashboard(settings, ReplayApp(settings, speed=args.speed, paused=args.paused))

"""The options that make a lab (the dashboard, ``trace``, ``serve``): one definition, with the
argument types they share."""

from __future__ import annotations

import argparse
from typing import Any

from sigscope.commands._common import UsageError
from sigscope.lab.behaviours import BEHAVIOURS, BehaviourError, parse_behaviour_spec
from sigscope.numbers import NumberError, is_int, parse_float, parse_int


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


def add_lab_options(
    parser: argparse.ArgumentParser,
    workers_help: str = "workers to start (default 2)",
    behaviour_type: Any = None,
    behaviour_default: Any = ("idle", {}),
) -> None:
    """Add ``--workers``, ``--behaviour``, ``--reaping`` and ``--grace`` to ``parser``."""
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


def check_worker_cap() -> None:
    """A bad ``$SIGSCOPE_MAX_WORKERS`` is an error before any lab or screen starts, never a
    quiet "no cap" (the commands that start a lab call this first).

    Raises:
        UsageError: the cap is not a number.
    """
    from sigscope.lab.limits import max_workers_from_env

    try:
        max_workers_from_env()
    except NumberError as e:
        raise UsageError(str(e)) from None

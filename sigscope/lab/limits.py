"""What a lab may be: its reaping modes, its cap on processes, and the check of a lab's
configuration that :class:`~sigscope.lab.controller.Lab` makes before it starts anything.

A module of its own, light (no master, no worker, no channel), so that a front end can check
the user's options and say what is wrong in one line before it draws its first frame, and
import the lab itself only after (issue 14). The master, the controller, ``sigscope serve``
and the classroom read the cap and a behaviour's footprint here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sigscope.lab.behaviours import BehaviourError, check_params
from sigscope.lab.errors import LabError
from sigscope.numbers import NumberError, parse_int

MAX_WORKERS_ENV = "SIGSCOPE_MAX_WORKERS"
MAX_CAP = 512  # the most workers a lab may have at all (Lab refuses more)
REAPING_MODES = ("handler", "off", "ignore")


def max_workers_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """The cap ``sigscope serve`` put in the environment, or None when it is not set.

    Raises:
        NumberError: a value that is not a whole number 0-512 (``abc``, ``²``, ``-1``): a
            typo must not quietly mean "no cap".
    """
    text = (os.environ if environ is None else environ).get(MAX_WORKERS_ENV)
    if text is None:
        return None
    return parse_int(text, what=MAX_WORKERS_ENV, low=0, high=MAX_CAP)


def footprint(behaviour: str, params: dict[str, Any]) -> int:
    """How many processes one worker running ``behaviour`` may have alive at once: itself,
    and the children it forks (orphan-maker's grandchildren). The cap counts all of them."""
    if behaviour == "orphan-maker":
        count = params.get("count", 1)
        return 1 + (count if isinstance(count, int) and count > 0 else 1)
    if behaviour == "flags":
        # A batch of children on each fork_on signal, each a zombie for `linger`: the worker
        # reaps the last batch before forking the next, so at most `children` at once.
        children = params.get("children", 0)
        return 1 + (children if isinstance(children, int) and children > 0 else 0)
    if behaviour in ("core", "exec"):
        # core forks its cleaner (which outlives the worker a moment); exec forks one child
        # and then runs cat, one at a time: one process besides the worker.
        return 2
    if behaviour == "pidfd":
        # Its namespace child, that child's init, and a victim or a newcomer, all at once.
        return 4
    return 1


def check_lab(
    workers: int,
    behaviour: str,
    params: dict[str, Any] | None,
    slots: list[dict[str, Any]] | None,
    reaping: str,
    grace: float,
    max_processes: int | None = None,
) -> tuple[dict[str, Any], int | None]:
    """Check a lab's configuration as :class:`~sigscope.lab.controller.Lab` takes it; return
    the behaviour's parameters (checked, defaults filled in) and the cap on processes (the
    lower of ``SIGSCOPE_MAX_WORKERS`` and ``max_processes``, None for none).

    Raises:
        LabError: one plain line fit to show a user.
    """
    if workers < 0 or workers > MAX_CAP:
        raise LabError(f"workers must be between 0 and {MAX_CAP}, not {workers}")
    if reaping not in REAPING_MODES:
        raise LabError(f"unknown reaping mode {reaping!r} (handler, off, ignore)")
    if not grace >= 0:
        raise LabError(f"grace must be a number of seconds >= 0, not {grace!r}")
    try:
        params = check_params(behaviour, params)
        for spec in slots or []:
            check_params(spec.get("behaviour", behaviour), spec.get("params", {}))
    except BehaviourError as e:
        raise LabError(str(e)) from None
    try:
        cap = max_workers_from_env()
    except NumberError as e:
        raise LabError(str(e)) from None
    if max_processes is not None:
        cap = max_processes if cap is None else min(cap, max_processes)
    if cap is not None and workers > cap:
        raise LabError(
            f"{workers} workers is more than this lab may have ({MAX_WORKERS_ENV}={cap})"
        )
    if cap is not None:
        # Every process counts against the cap: an orphan-maker worker is 1 + count.
        planned = 0
        for i in range(workers):
            spec = (slots or [])[i] if i < len(slots or []) else {}
            name = spec.get("behaviour", behaviour)
            full = check_params(name, spec.get("params", {})) if spec else params
            planned += footprint(name, full)
        if planned > cap:
            raise LabError(
                f"this lab would start {planned} processes at once (workers and the "
                f"children they fork); it may have at most {cap} ({MAX_WORKERS_ENV})"
            )
    return params, cap

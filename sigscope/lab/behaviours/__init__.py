"""Worker behaviours: each one a small function that makes one fact about signals visible.

A behaviour is ``run(worker, params)`` in a module of this package: it installs what it
needs, then loops, reporting what happens through ``worker.emit``. Adding one is writing that
function in a new module here, registering it with ``@behaviour(name, summary, **defaults)``,
and naming that module in :data:`MODULES`. A behaviour's module is imported when it is first
looked up in :data:`BEHAVIOURS` (its names are known without: the dashboard's start-up needs
the names and one behaviour, not all 22 modules; issue 14), or by :func:`load_all` (the lab's
master, before it forks a worker). Parameters are checked against the defaults (their
types: bool, int, float, str, or a list of signal names). What types cannot say (a range, a
choice among words, a signal that cannot be caught) a behaviour says with ``check=fn``: ``fn``
gets the complete, coerced parameters and raises :class:`BehaviourError`, so a bad value is
refused where it is given (``Lab(...)``, ``--behaviour``, a spawn request), not in a worker.

A *lesson file* is untrusted input that starts processes on the learner's machine, so it gets
tighter bounds than the command line: :data:`LESSON_BOUNDS` caps each parameter a lesson may
give, and :func:`lesson_cost` says how many processes and how much memory a worker of a
behaviour may have at once, so that the lesson checker can cap a lesson's totals
(:data:`LESSON_MAX_PROCESSES`, :data:`LESSON_MAX_MEMORY_MB`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sigscope.numbers import NumberError, parse_float, parse_int
from sigscope.signames import SignalError, parse_signal, signal_name

RunFn = Callable[[Any, dict[str, Any]], None]
CheckFn = Callable[[dict[str, Any]], None]


class BehaviourError(ValueError):
    """A behaviour name or parameter that makes no sense; the message says why."""


@dataclass(frozen=True)
class Behaviour:
    name: str
    summary: str
    run: RunFn
    defaults: dict[str, Any] = field(default_factory=dict)
    check: CheckFn | None = None  # raises BehaviourError for what the types let through


# Each behaviour's name -> the module of this package that registers it (tests/lab/
# test_behaviour_registry.py checks this table against what the modules register).
MODULES: dict[str, str] = {
    "alarm": "alarm",
    "blocked-read": "blocked_read",
    "busy-c": "busy_c",
    "core": "core",
    "crash": "crash",
    "exec": "exec_inherit",
    "flags": "flags",
    "idle": "idle",
    "itimer": "itimer",
    "masked": "masked",
    "orphan-maker": "orphan_maker",
    "pause": "pause",
    "pidfd": "pidfd",
    "pipe-writer": "pipe_writer",
    "playground": "playground",
    "rtlimit": "rtlimit",
    "signalfd": "signalfd",
    "sigwait": "sigwait",
    "sleep-loop": "sleep_loop",
    "stubborn": "stubborn",
    "threads": "threads",
    "unsafe": "unsafe",
}


class Registry(Mapping[str, Behaviour]):
    """The behaviours by name: each name of :data:`MODULES`, and any registered otherwise.
    Looking one up imports its module (once); listing the names imports nothing."""

    def __init__(self) -> None:
        self._registered: dict[str, Behaviour] = {}

    def register(self, spec: Behaviour) -> None:
        self._registered[spec.name] = spec

    def __getitem__(self, name: str) -> Behaviour:
        spec = self._registered.get(name)
        if spec is None and name in MODULES:
            importlib.import_module(f"{__name__}.{MODULES[name]}")
            spec = self._registered.get(name)
        if spec is None:
            raise KeyError(name)
        return spec

    def __contains__(self, name: object) -> bool:
        return name in MODULES or name in self._registered

    def __iter__(self) -> Iterator[str]:
        yield from MODULES
        yield from (name for name in self._registered if name not in MODULES)

    def __len__(self) -> int:
        return len(MODULES) + sum(1 for name in self._registered if name not in MODULES)

    def loaded(self) -> list[str]:
        """The names whose behaviour is registered (its module imported) so far."""
        return list(self._registered)


BEHAVIOURS = Registry()


def behaviour(
    name: str, summary: str, check: CheckFn | None = None, **defaults: Any
) -> Callable[[RunFn], RunFn]:
    def register(fn: RunFn) -> RunFn:
        BEHAVIOURS.register(Behaviour(name, summary, fn, dict(defaults), check))
        return fn

    return register


def not_negative(behaviour_name: str, params: dict[str, Any], key: str, unit: str = "") -> None:
    """For a ``check``: refuse a negative ``params[key]`` (a count, or seconds with ``unit``
    " seconds"), in the words every behaviour uses."""
    if params[key] < 0:
        raise BehaviourError(
            f"{behaviour_name}: parameter {key!r} must be >= 0{unit}, not {params[key]}"
        )


def _coerce(behaviour_name: str, key: str, default: Any, value: Any) -> Any:
    """Turn a parameter given as text (or JSON) into the type of its default."""
    where = f"{behaviour_name}: parameter {key!r}"
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise BehaviourError(f"{where} wants true or false, not {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:  # text: ASCII digits only (int() takes '٣' and '1_0', which nobody typed as 3 or 10)
            return parse_int(str(value), signed=True)
        except NumberError:
            raise BehaviourError(f"{where} wants a whole number, not {value!r}") from None
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = parse_float(str(value))
            except NumberError:
                raise BehaviourError(f"{where} wants a number, not {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise BehaviourError(f"{where} wants a finite number, not {value!r}")
        return number
    if isinstance(default, list):  # a list of signal names
        # In a spec, list items are separated by ";" or "|" (commas separate parameters).
        items = value if isinstance(value, list) else re.split(r"[\s;|]+", str(value).strip())
        items = [s for s in items if s]
        try:
            return [signal_name(parse_signal(str(s))) for s in items]
        except SignalError as e:
            raise BehaviourError(f"{where}: {e}") from None
    return str(value)


def check_params(name: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Validate ``params`` for behaviour ``name``; return them complete, with defaults filled in.

    Raises:
        BehaviourError: unknown behaviour, unknown parameter, or a value of the wrong kind.
    """
    if name not in BEHAVIOURS:
        known = ", ".join(sorted(BEHAVIOURS))
        raise BehaviourError(f"unknown behaviour {name!r} (known: {known})")
    spec = BEHAVIOURS[name]
    out = dict(spec.defaults)
    for key, value in (params or {}).items():
        if key not in spec.defaults:
            allowed = ", ".join(sorted(spec.defaults)) or "none"
            raise BehaviourError(f"{name}: unknown parameter {key!r} (parameters: {allowed})")
        out[key] = _coerce(name, key, spec.defaults[key], value)
    if spec.check is not None:
        spec.check(out)
    return out


# -- what a lesson file may ask for ---------------------------------------------------------------

# Per behaviour, per numeric parameter: the range a lesson may give (inclusive). Durations are
# at most a minute: a lesson is watched, not left running; counts are what a screen can show.
LESSON_BOUNDS: dict[str, dict[str, tuple[float, float]]] = {
    "alarm": {"seconds": (1, 60), "repeat": (0, 100)},
    "busy-c": {"mb": (1, 256), "calls": (0, 100_000)},
    "crash": {"after": (0, 60)},
    "itimer": {"value": (0.001, 60), "interval": (0, 60), "ticks": (0, 10_000)},
    "masked": {"seconds": (0, 60)},
    "orphan-maker": {"count": (1, 16), "linger": (0, 60), "stay": (0, 60)},
    "pause": {"work": (0, 60)},
    "pipe-writer": {"after": (0, 60)},
    "playground": {"max_output": (0, 65536)},
    "sigwait": {"quiet": (0.001, 60)},
    "sleep-loop": {"interval": (0.01, 60)},
    "threads": {"count": (1, 16)},
    # Issue 15's behaviours (beneath Python's signal module):
    "flags": {"children": (0, 8), "linger": (0, 60)},
    "rtlimit": {"room": (1, 64), "burst": (1, 200)},
    "exec": {"after": (0, 60)},
    "core": {"after": (0, 60), "mb": (1, 256)},  # mb: the core file's cap, on disk
    "unsafe": {"seconds": (0.1, 10), "interval": (0.0001, 0.1)},
}
LESSON_MAX_PROCESSES = 128  # alive at once: master, workers, and what the workers fork
LESSON_MAX_MEMORY_MB = 512  # what the behaviours allocate on purpose (busy-c's buffer)
# The master respawns a worker that died sooner than this after its start only after a
# back-off (lab/master.py: QUICK_DEATH, 0.25 s doubling); counted here without the back-off,
# so the estimate of an orphan-maker's grandchildren alive at once is an upper bound.
_RESPAWN_FLOOR = 0.25


def check_lesson_params(name: str, params: dict[str, Any]) -> None:
    """Refuse a parameter outside what a lesson may ask for (``params`` already checked by
    :func:`check_params`).

    Raises:
        BehaviourError: naming the parameter, its value and the lesson's range.
    """
    for key, (low, high) in LESSON_BOUNDS.get(name, {}).items():
        value = params.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not low <= value <= high:
            raise BehaviourError(
                f"{name}: parameter {key!r} is {value:g}; a lesson may ask for {low:g} to {high:g}"
            )


@dataclass(frozen=True)
class Cost:
    """What one worker of a behaviour may hold at once: processes (itself included; threads
    are not processes) and memory it allocates on purpose, in MiB."""

    processes: int
    memory_mb: int


def lesson_cost(name: str, params: dict[str, Any]) -> Cost:
    """The most one worker (one slot, with its respawns) of ``name`` may hold at once."""
    if name == "orphan-maker":
        # Each life of the worker forks ``count`` grandchildren that live ``linger`` seconds
        # after it exits; the slot is refilled after ``stay`` (and a back-off), so up to
        # 1 + linger / max(stay, floor) batches can be alive together.
        period = max(float(params.get("stay", 0.5)), _RESPAWN_FLOOR)
        batches = 1 + int(float(params.get("linger", 5.0)) / period)
        return Cost(1 + int(params.get("count", 1)) * batches, 0)
    if name == "busy-c":
        return Cost(1, int(params.get("mb", 64)))
    if name == "flags":  # its children stay as zombies until ``linger`` ends
        return Cost(1 + int(params.get("children", 0)), 0)
    if name in ("exec", "core"):  # a fork child or cat / the core's cleaner
        return Cost(2, 0)
    if name == "pidfd":  # namespace child, its init, and a victim or newcomer at once
        return Cost(4, 0)
    return Cost(1, 0)


def parse_behaviour_spec(text: str) -> tuple[str, dict[str, Any]]:
    """Parse ``NAME[:key=value,key=value]``, e.g. ``alarm:seconds=3``; validate it."""
    name, _, rest = text.strip().partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise BehaviourError(f"{name}: parameter {item!r} should be key=value")
        params[key.strip()] = value.strip()
    return name, check_params(name, params)


def load_all() -> None:
    """Import every module of the package (every behaviour registered)."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


__all__ = [
    "BEHAVIOURS",
    "Behaviour",
    "BehaviourError",
    "LESSON_BOUNDS",
    "LESSON_MAX_MEMORY_MB",
    "LESSON_MAX_PROCESSES",
    "MODULES",
    "Cost",
    "Registry",
    "behaviour",
    "check_lesson_params",
    "check_params",
    "lesson_cost",
    "load_all",
    "not_negative",
    "parse_behaviour_spec",
]

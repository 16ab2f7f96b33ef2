"""Worker behaviours: each one a small function that makes one fact about signals visible.

A behaviour is ``run(worker, params)`` in a module of this package: it installs what it
needs, then loops, reporting what happens through ``worker.emit``. Adding one is writing that
function in a new module here and registering it with ``@behaviour(name, summary, **defaults)``;
every module of the package is imported, and parameters are checked against the defaults (their
types: bool, int, float, str, or a list of signal names). What types cannot say (a range, a
choice among words, a signal that cannot be caught) a behaviour says with ``check=fn``: ``fn``
gets the complete, coerced parameters and raises :class:`BehaviourError`, so a bad value is
refused where it is given (``Lab(...)``, ``--behaviour``, a spawn request), not in a worker.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


BEHAVIOURS: dict[str, Behaviour] = {}


def behaviour(
    name: str, summary: str, check: CheckFn | None = None, **defaults: Any
) -> Callable[[RunFn], RunFn]:
    def register(fn: RunFn) -> RunFn:
        BEHAVIOURS[name] = Behaviour(name, summary, fn, dict(defaults), check)
        return fn

    return register


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
        try:
            return int(value)
        except (TypeError, ValueError):
            raise BehaviourError(f"{where} wants a whole number, not {value!r}") from None
    if isinstance(default, float):
        try:
            number = float(value)
        except (TypeError, ValueError):
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


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_load_all()

__all__ = [
    "BEHAVIOURS",
    "Behaviour",
    "BehaviourError",
    "behaviour",
    "check_params",
    "parse_behaviour_spec",
]

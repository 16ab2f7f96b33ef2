"""Expectations: small predicates over the lab's events and its processes' states.

A lesson step writes its expectation as a TOML table; :func:`compile_predicate` turns it into
a :class:`Predicate` (or raises :class:`SpecError` saying which key is wrong). The vocabulary is
documented in ``lessons/README.md``; :data:`VOCABULARY` is the list the error messages quote.

*Event* predicates look at the events since the step began (``World.start``): "a worker's
handler ran for SIGALRM". *State* predicates look at the processes now: "worker 0 is a
zombie". ``evidence()`` returns None if the predicate does not hold, else the absolute event
position just after its evidence: the next step looks only at what happened after that, so a
step cannot be passed with what the learner did for the step before. State predicates and
``not`` have no event as evidence: they return the window's start, so that combined with an
event predicate they do not swallow the consequences (a respawn, say) the next step expects.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sigscope.course.problems import SpecError
from sigscope.course.world import Event, World
from sigscope.events import CONTROLLER, OLD_CONTROLLER
from sigscope.observe.sampler import ProcessView
from sigscope.signames import SignalError, parse_signal, signal_name

MAX_DEPTH = 8  # all/any/not nesting; deeper is a mistake (or an attack), not a lesson
ROLES = ("master", "worker", "orphan", "controller", "shell", "job")  # shell, job: terminal
TARGET_ROLES = ROLES + ("group",)  # a send to a whole process group of the terminal's session
STATES = ("R", "S", "D", "Z", "T", "t", "X", "I")
HOW = ("exited", "signalled", "stopped", "continued")
REAPING = ("handler", "off", "ignore")

# The main key of each predicate, and what it means (quoted by error messages and the README).
EVENT_KEYS = {
    "received": "a handler ran for this signal",
    "sent": "this signal was sent (by you or by the master)",
    "reaped": "a process was reaped (true, or a table of sig, how, exitcode, status, core, …)",
    "spawned": "the master forked a worker (true, or a table of worker, behaviour)",
    "exited": "a process reported it is exiting (true, or a table of code, sig)",
    "stopped": "the master saw a worker stop (true, or a table of sig)",
    "continued": "the master saw a worker continue",
    "event": "any event: a table with kind and the fields to match",
    "foreground": 'the terminal gave its foreground group to a job ("job") or the shell ("shell")',
    "group": "a job's process group appeared (new = true), had N members, or emptied (gone)",
}
STATE_KEYS = {
    "state": "a process is in this state now (R S D Z T t)",
    "pending": "this signal is pending in a process now",
    "blocked": "this signal is blocked in a process now",
    "ignored": "this signal is ignored by a process now",
    "caught": "a process has a handler for this signal now",
    "live_workers": "the number of running (or stopped) workers now",
    "reaping": "the master's reaping mode now (handler, off, ignore)",
    "wakeups": "a process woke up (at_least / at_most) times since the step began",
}
COMBINATORS = {"all": "every one holds", "any": "at least one holds", "not": "it does not hold"}
QUALIFIERS = ("role", "worker", "times", "to")
VOCABULARY = tuple(EVENT_KEYS) + tuple(STATE_KEYS) + tuple(COMBINATORS)

# What each event predicate's table may say, and how to check each field's value.
_FIELDS: dict[str, dict[str, str]] = {
    "reaped": {
        "sig": "signal",
        "how": "how",
        "exitcode": "int",
        "status": "int",
        "core": "bool",
        "adopted": "bool",
        "worker": "int",
    },
    "spawned": {"worker": "int", "behaviour": "str"},
    "exited": {"code": "int", "sig": "signal", "worker": "int"},
    "stopped": {"sig": "signal", "worker": "int"},
    "continued": {"worker": "int"},
}
_KIND = {
    "received": "received",
    "sent": "sent",
    "reaped": "reaped",
    "spawned": "spawn",
    "exited": "exit",
    "stopped": "stopped",
    "continued": "continued",
    "foreground": "foreground",
    "group": "group",
}
FOREGROUND = ("job", "shell")
_GROUP_FIELDS = {"new": "bool", "gone": "bool", "members": "int"}


class Predicate:
    """Something a lesson expects of the lab."""

    def evidence(self, world: World) -> int | None:
        raise NotImplementedError

    def holds(self, world: World) -> bool:
        return self.evidence(world) is not None

    def describe(self) -> str:
        raise NotImplementedError


def subject_index(event: Event, world: World) -> int | None:
    """The worker an event is about: the child it names, the target, or else its actor."""
    if event.get("index") is not None and ("child" in event or event.get("role") == "worker"):
        return int(event["index"])
    for key in ("child", "target"):
        pid = event.get(key)
        if isinstance(pid, int):
            proc = world.lab.processes.get(pid)
            return proc.index if proc is not None and proc.role == "worker" else None
    if event.get("role") == "worker":
        proc = world.lab.processes.get(event.get("pid", -1))
        return proc.index if proc is not None else None
    return None


@dataclass
class EventMatch(Predicate):
    """At least ``times`` events since the step began match ``kind`` and every field."""

    key: str
    kind: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    role: str | None = None
    worker: int | None = None
    to: str | None = None
    times: int = 1
    # A condition on the event beyond equal fields (the terminal's foreground and group
    # predicates: whose group, how many members).
    test: Callable[[Event, World], bool] | None = field(default=None, repr=False, compare=False)

    def matches(self, event: Event, world: World) -> bool:
        if self.kind is not None and event.get("kind") != self.kind:
            return False
        if self.test is not None and not self.test(event, world):
            return False
        if self.role is not None and event.get("role") != self.role:
            return False
        if self.to is not None and event.get("target_role") != self.to:
            return False
        for key, want in self.fields.items():
            got = event.get(key)
            if key == "sig" and isinstance(got, str):
                got = got.upper()
            if got != want or isinstance(got, bool) is not isinstance(want, bool):
                return False
        return self.worker is None or subject_index(event, world) == self.worker

    # (lab, window start) -> (next position to scan, matches so far, evidence or None): events
    # are only ever appended, so a check goes on from where the last one stopped instead of
    # rescanning the whole window (the lesson pane checks on every event, storms included).
    _scanned: dict[tuple[Any, int], tuple[int, int, int | None]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def evidence(self, world: World) -> int | None:
        # A weak reference: it names this lab (not a later one that got the same id) without
        # keeping a closed lab alive.
        key = (weakref.ref(world.lab), world.start)
        pos, seen, found = self._scanned.get(key, (world.start, 0, None))
        if found is not None:
            return found
        first = max(pos, world.base) - world.base
        events = world.events
        end = len(events)
        for i in range(first, end):
            if self.matches(events[i], world):
                seen += 1
                if seen >= self.times:
                    found = world.base + i + 1
                    break
        if key not in self._scanned:
            self._scanned.clear()  # one window at a time: the cache stays small
        self._scanned[key] = (world.base + end, seen, found)
        return found

    def count(self, world: World) -> int:
        return sum(1 for _, e in world.since(world.base) if self.matches(e, world))

    def describe(self) -> str:
        parts = [self.key] + [f"{k}={v}" for k, v in self.fields.items()]
        if self.worker is not None:
            parts.append(f"worker {self.worker}")
        if self.role:
            parts.append(f"role {self.role}")
        if self.times > 1:
            parts.append(f"×{self.times}")
        return " ".join(parts)


@dataclass
class ProcessMatch(Predicate):
    """At least ``times`` processes (of ``role`` / worker ``worker``) satisfy ``test`` now."""

    key: str
    value: Any
    test: Callable[[ProcessView, World], bool]
    role: str | None = None
    worker: int | None = None
    times: int = 1

    def evidence(self, world: World) -> int | None:
        found = 0
        for p in world.processes:
            if self.role is not None and p.role != self.role:
                continue
            if self.worker is not None and (p.role != "worker" or p.index != self.worker):
                continue
            if self.test(p, world):
                found += 1
        return world.start if found >= self.times else None

    def describe(self) -> str:
        who = f"worker {self.worker}" if self.worker is not None else (self.role or "a process")
        return f"{self.key} {self.value} in {who}"


@dataclass
class LabMatch(Predicate):
    """A fact about the lab as a whole now: its live worker count, its reaping mode."""

    key: str
    value: Any
    read: Callable[[World], Any]

    def evidence(self, world: World) -> int | None:
        return world.start if self.read(world) == self.value else None

    def describe(self) -> str:
        return f"{self.key} = {self.value}"


@dataclass
class All(Predicate):
    parts: list[Predicate]

    def evidence(self, world: World) -> int | None:
        found = [p.evidence(world) for p in self.parts]
        if any(f is None for f in found):
            return None
        return max(f for f in found if f is not None)

    def describe(self) -> str:
        return "all of (" + "; ".join(p.describe() for p in self.parts) + ")"


@dataclass
class Any_(Predicate):
    parts: list[Predicate]

    def evidence(self, world: World) -> int | None:
        found = [f for f in (p.evidence(world) for p in self.parts) if f is not None]
        return min(found) if found else None

    def describe(self) -> str:
        return "any of (" + "; ".join(p.describe() for p in self.parts) + ")"


@dataclass
class Not(Predicate):
    part: Predicate

    def evidence(self, world: World) -> int | None:
        return None if self.part.holds(world) else world.start

    def describe(self) -> str:
        return f"not ({self.part.describe()})"


# -- compiling a TOML table into a predicate ---------------------------------------------------


def parse_sig(value: Any, path: tuple[str | int, ...] = ()) -> str:
    """A signal name or number from a lesson, as its canonical name (``SIGTERM``)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SpecError(f'a signal must be a name like "SIGTERM", not {value!r}', path)
    try:
        return signal_name(parse_signal(str(value)))
    except SignalError as e:
        raise SpecError(f"bad signal name {value!r}: {e}", path) from None


def _typed(kind: str, value: Any, path: tuple[str | int, ...]) -> Any:
    if kind == "signal":
        return parse_sig(value, path)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"expected a whole number, not {value!r}", path)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise SpecError(f"expected true or false, not {value!r}", path)
        return value
    if kind == "how":
        if value not in HOW:
            raise SpecError(f"how must be one of {', '.join(HOW)}, not {value!r}", path)
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise SpecError(f"expected a string, not {value!r}", path)
        if kind == "str" and path and path[-1] == "behaviour":
            _check_behaviour(value, path)
        return value
    raise AssertionError(kind)


def _check_behaviour(name: str, path: tuple[str | int, ...]) -> None:
    from sigscope.lab.behaviours import BEHAVIOURS

    if name not in BEHAVIOURS:
        known = ", ".join(sorted(BEHAVIOURS))
        raise SpecError(f"unknown behaviour {name!r} (known: {known})", path)


def _qualifiers(spec: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in QUALIFIERS:
        if key not in spec:
            continue
        value = spec[key]
        if key not in allowed:
            raise SpecError(f"{key!r} does not apply here", (key,))
        if key in ("role", "to"):
            known = ROLES if key == "role" else TARGET_ROLES
            if value == OLD_CONTROLLER:
                value = CONTROLLER  # lessons written before the role was renamed keep working
            if value not in known:
                raise SpecError(f"{key} must be one of {', '.join(known)}, not {value!r}", (key,))
        elif key == "worker":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 512:
                raise SpecError(f"bad target: worker must be an index 0-511, not {value!r}", (key,))
        elif key == "times" and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000
        ):
            raise SpecError(f"times must be a whole number from 1, not {value!r}", (key,))
        out[key] = value
    return out


def compile_predicate(spec: Any, depth: int = 0) -> Predicate:
    """Turn an ``expect`` table into a predicate.

    Raises:
        SpecError: an unknown predicate, a bad signal name, a wrong type… with the key path.
    """
    if depth > MAX_DEPTH:
        raise SpecError(f"predicates nest too deeply (more than {MAX_DEPTH} levels)")
    if not isinstance(spec, dict):
        raise SpecError(
            f'an expectation must be a table like {{received = "SIGTERM"}}, not {spec!r}'
        )
    mains = [k for k in spec if k not in QUALIFIERS]
    unknown = [k for k in mains if k not in VOCABULARY]
    if unknown:
        raise SpecError(
            f"unknown predicate {unknown[0]!r} (known: {', '.join(VOCABULARY)})", (unknown[0],)
        )
    if not mains:
        raise SpecError(f"an expectation needs a predicate (one of: {', '.join(VOCABULARY)})")
    if len(mains) > 1:
        raise SpecError(
            f"one predicate per table, not {', '.join(mains)}: combine them with all = [...]",
            (mains[1],),
        )
    key = mains[0]
    value = spec[key]
    if key in COMBINATORS:
        _qualifiers(spec, ())
        if key == "not":
            try:
                return Not(compile_predicate(value, depth + 1))
            except SpecError as e:
                raise e.within(key) from None
        if not isinstance(value, list) or not value:
            raise SpecError(f"{key} wants a non-empty list of predicates, not {value!r}", (key,))
        parts = []
        for i, item in enumerate(value):
            try:
                parts.append(compile_predicate(item, depth + 1))
            except SpecError as e:
                raise e.within(key, i) from None
        return All(parts) if key == "all" else Any_(parts)
    if key in STATE_KEYS:
        return _state(key, value, spec)
    return _event(key, value, spec)


def _event(key: str, value: Any, spec: dict[str, Any]) -> Predicate:
    quals = _qualifiers(
        spec, ("role", "worker", "times", "to") if key == "sent" else ("role", "worker", "times")
    )
    if key in ("received", "sent"):
        return EventMatch(key, _KIND[key], {"sig": parse_sig(value, (key,))}, **quals)
    if key == "foreground":
        return _foreground(value, quals)
    if key == "group":
        return _group(value, quals)
    if key == "event":
        if not isinstance(value, dict) or not isinstance(value.get("kind"), str):
            raise SpecError(
                f'event wants a table with a kind, e.g. {{kind = "phase", phase = "graceful"}}, '
                f"not {value!r}",
                (key,),
            )
        fields: dict[str, Any] = {}
        for k, v in value.items():
            if k == "kind":
                continue
            if k == "worker":
                quals.setdefault("worker", _typed("int", v, (key, k)))
                continue
            if isinstance(v, dict) or (
                isinstance(v, list) and any(isinstance(x, dict | list) for x in v)
            ):
                raise SpecError(
                    f"event field {k!r} must be a plain value or a list of them, not {v!r}",
                    (key, k),
                )
            fields[k] = parse_sig(v, (key, k)) if k == "sig" else v
        return EventMatch(key, value["kind"], fields, **quals)
    if value is True:
        return EventMatch(key, _KIND[key], {}, **quals)
    if not isinstance(value, dict):
        raise SpecError(f"{key} wants true or a table of fields, not {value!r}", (key,))
    allowed = _FIELDS[key]
    fields = {}
    for k, v in value.items():
        if k not in allowed:
            raise SpecError(f"{key} has no field {k!r} (fields: {', '.join(allowed)})", (key, k))
        checked = _typed(allowed[k], v, (key, k))
        if k == "worker":
            quals["worker"] = checked
        else:
            fields[k] = checked
    return EventMatch(key, _KIND[key], fields, **quals)


def _foreground(value: Any, quals: dict[str, Any]) -> Predicate:
    """``foreground = "job"`` / ``"shell"``: the terminal lane's ``foreground`` event, whose
    ``pgid`` is the terminal's new foreground group (tcsetpgrp(3)); the shell, a session leader,
    leads its own group, so its pgid is its pid (the event's pid)."""
    if value not in FOREGROUND:
        raise SpecError(
            f'foreground must be "job" (a job got the terminal) or "shell" (the shell got it '
            f"back), not {value!r}",
            ("foreground",),
        )

    def test(event: Event, world: World) -> bool:
        pgid = event.get("pgid")
        if not isinstance(pgid, int) or pgid <= 0:
            return False  # -1: no foreground group (the terminal hung up)
        return (pgid == event.get("pid")) is (value == "shell")

    return EventMatch("foreground", "foreground", {}, test=test, **quals)


def _group(value: Any, quals: dict[str, Any]) -> Predicate:
    """``group = { new = true }`` / ``{ members = 2 }`` / ``{ gone = true }``: the terminal
    lane's ``group`` events for a job's process group (not the shell's own): it appeared,
    it had exactly N members, or its last member left."""
    if not isinstance(value, dict) or not value:
        raise SpecError(
            f"group wants a table of new, members or gone, e.g. {{ members = 2 }}, not {value!r}",
            ("group",),
        )
    want: dict[str, Any] = {}
    for k, v in value.items():
        if k not in _GROUP_FIELDS:
            raise SpecError(
                f"group has no field {k!r} (fields: {', '.join(_GROUP_FIELDS)})", ("group", k)
            )
        want[k] = _typed(_GROUP_FIELDS[k], v, ("group", k))
    if "members" in want and not 1 <= want["members"] <= 512:
        raise SpecError(f"members wants 1-512, not {want['members']!r}", ("group", "members"))

    def test(event: Event, world: World) -> bool:
        members = event.get("members")
        if not isinstance(members, list) or event.get("pgid") == world.shell_pid():
            return False  # the shell's own group is not a job's
        if "members" in want and len(members) != want["members"]:
            return False
        new = bool(members) and not event.get("removed") and event.get("added") == members
        if "new" in want and new is not want["new"]:
            return False
        return "gone" not in want or (not members) is want["gone"]

    return EventMatch("group", "group", {}, test=test, **quals)


def _state(key: str, value: Any, spec: dict[str, Any]) -> Predicate:
    if key == "live_workers":
        _qualifiers(spec, ())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 512:
            raise SpecError(f"live_workers must be a whole number 0-512, not {value!r}", (key,))
        return LabMatch(key, value, lambda w: w.live_workers())
    if key == "reaping":
        _qualifiers(spec, ())
        if value not in REAPING:
            raise SpecError(f"reaping must be one of {', '.join(REAPING)}, not {value!r}", (key,))
        return LabMatch(key, value, lambda w: w.lab.reaping)
    quals = _qualifiers(spec, ("role", "worker", "times"))
    if key == "wakeups":
        return _wakeups(value, quals)
    if key == "state":
        if value not in STATES:
            raise SpecError(
                f"state must be one letter of {' '.join(STATES)} (see proc(5)), not {value!r}",
                (key,),
            )
        return ProcessMatch(key, value, lambda p, w: p.state == value, **quals)
    sig = parse_signal(parse_sig(value, (key,)))
    name = signal_name(sig)
    masks: dict[str, Callable[[ProcessView], frozenset[int]]] = {
        "pending": lambda p: p.masks.all_pending,  # SigPnd or ShdPnd
        "blocked": lambda p: p.masks.blocked,
        "ignored": lambda p: p.masks.ignored,
        "caught": lambda p: p.masks.caught,
    }
    mask = masks[key]

    def test(p: ProcessView, w: World) -> bool:
        # A terminal job not yet exec'd has the shell's masks, not its program's (world.py).
        return p.pid not in w.shell_copies and sig in mask(p)

    return ProcessMatch(key, name, test, **quals)


def _wakeups(value: Any, quals: dict[str, Any]) -> Predicate:
    """``wakeups = {at_least = 3}`` / ``{at_most = 0}``: voluntary context switches (sleeps
    that ended) since the step began, from ``/proc/PID/status``."""
    if not isinstance(value, dict) or not value or set(value) - {"at_least", "at_most"}:
        raise SpecError(
            f"wakeups wants a table with at_least and/or at_most, not {value!r}", ("wakeups",)
        )
    bounds = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise SpecError(f"{k} wants a whole number >= 0, not {v!r}", ("wakeups", k))
        bounds[k] = v
    low, high = bounds.get("at_least", 0), bounds.get("at_most", 1 << 62)

    def test(p: ProcessView, world: World) -> bool:
        woke = world.wakeups(p)
        return woke is not None and low <= woke <= high

    return ProcessMatch("wakeups", value, test, **quals)

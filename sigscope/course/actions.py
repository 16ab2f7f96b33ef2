"""Solution actions: what "show me" does to the live lab, one small step at a time.

Every action is a one-key table, e.g. ``{send = "KILL@worker:0"}`` (the ``sigscope trace
--send`` syntax: ``[SECONDS:]SIGNAL[@TARGET]``), ``{reaping = "off"}``, ``{spawn = "idle"}``,
``{wait = 0.5}``, ``{until = {state = "Z"}}`` (wait for an expectation, up to ``timeout``),
``{status = true}`` (ask the master for a status event), ``{answer = "137"}`` (answer the step's
question; ``{answer = true}`` answers with what the lab shows, for answers that vary from run
to run, such as a count of merged signals), ``{predict = "6"}`` (lock a prediction: what
"show me" types first on a *predict, then see* step). On a lab with a terminal (``[lab]
terminal = true``): ``{type = 'sleep 30 | sleep 31\\n'}`` types keys into its pty (``^C``,
``^Z``, ``^D`` and ``\\n`` as ``sigscope trace --type`` reads them) and
``{hangup = true}`` hangs the terminal up, as closing its window does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sigscope.course.predicates import Predicate, compile_predicate
from sigscope.course.problems import SpecError
from sigscope.lab.behaviours import BehaviourError, parse_behaviour_spec
from sigscope.sendspec import SendSpecError, parse_send_spec

KINDS = (
    "send",
    "reaping",
    "spawn",
    "wait",
    "until",
    "status",
    "answer",
    "predict",
    "code",
    "type",
    "hangup",
)
TERMINAL_KINDS = ("type", "hangup")  # actions on the terminal lane: [lab] terminal = true
MAX_TYPED = 1024  # characters of one type action: a command line or a few keys
MAX_WAIT = 30.0
MAX_PREDICTION = 80  # characters: a prediction is a word or a number, not an essay
UNTIL_TIMEOUT = 10.0


@dataclass(frozen=True)
class Send:
    delay: float
    sig: str
    target: str
    value: int | None = None  # SIGNAL=VALUE: sent queued (sigqueue, SI_QUEUE) with this value


@dataclass(frozen=True)
class Typed:
    """Keys for the terminal: ``text`` as the lesson wrote it (what the learner is shown),
    ``keys`` what the keyboard sends (``^C`` decoded to ETX, ``\n`` to Enter)."""

    text: str
    keys: str


@dataclass(frozen=True)
class Action:
    """One solution action: ``kind`` is one of :data:`KINDS`, ``value`` its parsed argument."""

    kind: str
    value: Any


def parse_send(text: Any) -> Send:
    """``[SECONDS:]SIGNAL[=VALUE][@TARGET]``, as ``sigscope trace --send`` takes it."""
    if not isinstance(text, str):
        raise SpecError(f'send wants a string like "TERM@worker:0", not {text!r}')
    try:
        spec = parse_send_spec(text, max_at=MAX_WAIT)
    except SendSpecError as e:
        raise SpecError(str(e)) from None
    return Send(spec.at, spec.signame, spec.target, spec.value)


def compile_action(spec: Any) -> Action:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise SpecError(
            f'a solution action is a one-key table like {{send = "TERM@worker:0"}}, not {spec!r}'
        )
    ((kind, value),) = spec.items()
    try:
        return Action(kind, _parse(kind, value))
    except SpecError as e:
        raise e.within(kind) from None


def _parse(kind: str, value: Any) -> Any:
    if kind == "send":
        return parse_send(value)
    if kind == "reaping":
        if value not in ("handler", "off", "ignore"):
            raise SpecError(f"reaping must be handler, off or ignore, not {value!r}")
        return value
    if kind == "spawn":
        if not isinstance(value, str):
            raise SpecError(
                f'spawn wants a behaviour like "idle" or "alarm:seconds=2", not {value!r}'
            )
        try:
            return parse_behaviour_spec(value)
        except BehaviourError as e:
            raise SpecError(str(e)) from None
    if kind == "wait":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 <= value <= MAX_WAIT
        ):
            raise SpecError(f"wait wants seconds from 0 to {MAX_WAIT:g}, not {value!r}")
        return float(value)
    if kind == "until":
        return compile_predicate(value, depth=1)
    if kind == "status":
        if value is not True:
            raise SpecError(f"status wants true, not {value!r}")
        return True
    if kind == "answer":
        if value is True:
            return True  # reveal: answer with what the lab shows (for answers that vary)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SpecError(f"answer wants a string, a number or true, not {value!r}")
        return str(value)
    if kind == "predict":
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SpecError(f"predict wants a string or a number, not {value!r}")
        text = str(value).strip()
        if not text or len(text) > MAX_PREDICTION or not text.isprintable():
            raise SpecError(f"predict wants 1-{MAX_PREDICTION} printable characters, not {value!r}")
        return text
    if kind == "code":
        # Python for the first playground worker (issue 17): what the learner would type in
        # the Code panel. Bounded like a typed snippet; run only where code may run at all.
        from sigscope.lab.behaviours.playground import MAX_CODE

        if not isinstance(value, str) or not value.strip():
            raise SpecError(f"code wants Python as a string, not {value!r}")
        if len(value.encode()) > MAX_CODE:
            raise SpecError(f"code is {len(value.encode())} bytes; at most {MAX_CODE}")
        hidden = sorted({c for c in value if c in HIDING or not (c.isprintable() or c in "\n\t")})
        if hidden:  # the learner must be able to read what show me runs, as it runs
            shown = ", ".join(f"U+{ord(c):04X}" for c in hidden[:5])
            raise SpecError(f"code has characters that hide or reorder text ({shown})")
        return value
    if kind == "type":
        return parse_typed(value)
    if kind == "hangup":
        if value is not True:
            raise SpecError(f"hangup wants true, not {value!r}")
        return True
    raise SpecError(f"unknown action {kind!r} (known: {', '.join(KINDS)})")


def parse_typed(value: Any) -> Typed:
    """A ``type`` action's text: printable, with control keys written ``^C`` (so that the
    learner can read what "show me" types), at most MAX_TYPED characters."""
    from sigscope.terminal.keys import KeysError, decode_keys

    if not isinstance(value, str) or not value:
        raise SpecError(f"type wants the keys to type as a string, e.g. 'ls\\n', not {value!r}")
    if len(value) > MAX_TYPED:
        raise SpecError(f"type is {len(value)} characters; at most {MAX_TYPED}")
    hidden = sorted({c for c in value if c in HIDING or not (c.isprintable() or c == "\n")})
    if hidden:
        shown = ", ".join(f"U+{ord(c):04X}" for c in hidden[:5])
        raise SpecError(
            f"type has control or hiding characters ({shown}): write keys as ^C, ^Z, ^D, \\n"
        )
    try:
        keys = decode_keys(value)
    except KeysError as e:
        raise SpecError(str(e)) from None
    return Typed(value, keys)


# Characters that make code read differently from what runs: bidirectional overrides and
# isolates ("Trojan Source", CVE-2021-42574) and the invisible direction marks.
HIDING = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F))


def sleep(seconds: float) -> None:
    """A solution's ``wait``: the one place a lesson pauses on purpose (to let a person look)."""
    time.sleep(seconds)


def until_predicate(action: Action) -> Predicate:
    assert action.kind == "until"
    pred: Predicate = action.value
    return pred

"""Question steps: the learner observes the lab and answers; the answer is checked against it.

A question's ``answer`` names where the right answer comes from, so that a lesson never
hard-codes a number the machine could contradict: ``"shell_code"`` is what a shell's ``$?``
shows for the last reaped process (its code, or 128+N if signal N killed it), computed from the
raw wait status the master really got.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sigscope.course.predicates import EventMatch, compile_predicate
from sigscope.course.problems import SpecError
from sigscope.course.world import Event, World
from sigscope.numbers import NumberError, parse_int
from sigscope.signames import SignalError, parse_signal, signal_name

SOURCES = {
    "shell_code": "what a shell's $? shows for the last reaped process: its code, or 128+N",
    "exitcode": "os.waitstatus_to_exitcode of the last reaped process: its code, or -N",
    "signal": "the signal that killed the last reaped process",
    "status": "the raw wait status of the last reaped process",
    "how": "how the last reaped process ended: exited or signalled",
    "live_workers": "the number of running workers now",
    "reaping": "the master's reaping mode now",
}
TABLE_SOURCES = ("count", "value", "last")


def last_reaped(world: World) -> Event | None:
    """The last child reaped during the run: a worker, or an orphan (never the master
    itself, which the controller reaps when the lab ends)."""
    master = world.lab.master.pid if world.lab.master is not None else None
    for _, event in reversed(world.since(world.base)):
        if (
            event.get("kind") == "reaped"
            and event.get("how") in ("exited", "signalled")
            and event.get("child") != master
        ):
            return event
    return None


def shell_code(raw: int) -> int:
    """``$?`` in sh: the exit code, or 128 + the signal number (137 for SIGKILL)."""
    if os.WIFSIGNALED(raw):
        return 128 + os.WTERMSIG(raw)
    return os.WEXITSTATUS(raw)


@dataclass
class Answer:
    """Where a question's right answer comes from."""

    source: str
    detail: Any = None  # the event predicate for count, the accepted values for value

    def expected(self, world: World) -> list[Any]:
        """The accepted answers now (empty if the lab has not shown the thing asked yet)."""
        if self.source == "value":
            return list(self.detail)
        if self.source == "last":
            pred, name = self.detail
            found = [e for _, e in world.since(world.base) if pred.matches(e, world)]
            if not found or found[-1].get(name) is None:
                return []
            return [found[-1][name]]
        if self.source == "count":
            return [self.detail.count(world)]
        if self.source == "live_workers":
            return [world.live_workers()]
        if self.source == "reaping":
            return [world.lab.reaping]
        event = last_reaped(world)
        if event is None or not isinstance(event.get("status"), int):
            return []
        raw = event["status"]
        if self.source == "shell_code":
            return [shell_code(raw)]
        if self.source == "exitcode":
            return [os.waitstatus_to_exitcode(raw)]
        if self.source == "status":
            return [raw]
        if self.source == "how":
            return ["signalled" if os.WIFSIGNALED(raw) else "exited"]
        if self.source == "signal":
            return [signal_name(os.WTERMSIG(raw))] if os.WIFSIGNALED(raw) else []
        raise AssertionError(self.source)

    def accepts(self, reply: str, world: World) -> bool:
        return any(same(reply, want) for want in self.expected(world))


def same(reply: str, want: Any) -> bool:
    """Compare a typed reply with an accepted value: numbers as numbers, signals by number."""
    # Lessons print "−9" with a typographic minus; a learner may type either.
    text = reply.strip().replace("\u2212", "-")
    if isinstance(want, bool):
        return text.lower() in (("true", "yes") if want else ("false", "no"))
    if isinstance(want, int):
        # ASCII digits only: int() took '١٣٧' and '1_37' as 137, which no one typed as it.
        try:
            return parse_int(text, signed=True) == want
        except NumberError:
            return False
    want_text = str(want).strip()
    want_sig = _as_signal(want_text) if want_text.upper().startswith("SIG") else None
    if want_sig is not None:
        return _as_signal(text) == want_sig
    return _spelling(text) == _spelling(want_text)


def _as_signal(text: str) -> int | None:
    try:
        return parse_signal(text)
    except SignalError:
        return None


def _spelling(text: str) -> str:
    """Case, the American "signaled", and an si_code's ``SI_`` prefix do not make an answer
    wrong: the Signals panel says "from the kernel" where the event list says ``SI_KERNEL``,
    so ``kernel`` is what a learner who read the screen types (issue 16)."""
    folded = text.casefold()
    if folded.startswith("si_") and len(folded) > 3:
        folded = folded[3:]
    return "signalled" if folded == "signaled" else folded


def compile_answer(spec: Any) -> Answer:
    """Parse a question's ``answer``: a source name, ``{count = {…}}`` or ``{value = …}``."""
    if isinstance(spec, str):
        if spec not in SOURCES:
            raise SpecError(
                f"unknown answer source {spec!r} (known: {', '.join(SOURCES)}, "
                f"or a table: {{count = {{...}}}}, {{value = ...}})"
            )
        return Answer(spec)
    if isinstance(spec, dict) and set(spec) == {"last", "field"}:
        return _last(spec["last"], spec["field"])
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in TABLE_SOURCES:
        raise SpecError(
            f"answer must be one of {', '.join(SOURCES)}, or {{count = {{...}}}}, "
            f'{{last = {{kind = ...}}, field = "..."}} or {{value = ...}}, not {spec!r}'
        )
    ((key, value),) = spec.items()
    if key == "count":
        try:
            pred = compile_predicate(value, depth=1)
        except SpecError as e:
            raise e.within("count") from None
        if not isinstance(pred, EventMatch):
            raise SpecError('count wants an event predicate, e.g. {received = "SIGCHLD"}', (key,))
        return Answer("count", pred)
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SpecError("value wants at least one accepted answer", (key,))
    accepted = []
    for i, v in enumerate(values):
        if isinstance(v, dict | list | float):
            raise SpecError(
                f"an accepted answer must be a string, number or boolean, not {v!r}", (key, i)
            )
        accepted.append(v)
    return Answer("value", accepted)


def _last(filter_spec: Any, name: Any) -> Answer:
    """``{last = {kind = "timer", action = "armed"}, field = "previous"}``: a field of the last
    event (since the run began) that matches, like ``event = {…}`` does."""
    if not isinstance(name, str) or not name:
        raise SpecError(f"field wants the name of an event field, not {name!r}", ("field",))
    try:
        pred = compile_predicate({"event": filter_spec}, depth=1)
    except SpecError as e:
        raise SpecError(e.message, ("last",) + e.path[1:]) from None
    assert isinstance(pred, EventMatch)
    return Answer("last", (pred, name))

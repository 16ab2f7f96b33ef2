"""Lesson files (TOML, prose in Markdown strings) → :class:`Lesson` and :class:`Step`.

The format is documented in ``lessons/README.md``. :func:`load_lesson` either returns a
lesson that is safe to run, or raises :class:`LessonInvalid` listing every problem as
``file:line: message``. Hostile files (huge, deeply nested, binary, every value of the wrong
type) get the same treatment: a message, never a traceback.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sigscope.course.actions import TERMINAL_KINDS, Action, compile_action
from sigscope.course.locate import Locator
from sigscope.course.predicates import Predicate, compile_predicate
from sigscope.course.problems import KeyPath, LessonInvalid, Problem, SpecError
from sigscope.course.questions import Answer, compile_answer
from sigscope.course.sources import MAX_SOURCES, check_source, repo_root
from sigscope.lab.behaviours import (
    LESSON_MAX_MEMORY_MB,
    LESSON_MAX_PROCESSES,
    BehaviourError,
    Cost,
    check_lesson_params,
    check_params,
    lesson_cost,
    parse_behaviour_spec,
)

if TYPE_CHECKING:
    from sigscope.lab.controller import Lab

MAX_BYTES = 256 * 1024  # a lesson is prose and a few tables; more is a mistake or an attack
MAX_STEPS = 100
MAX_HINTS = 20
MAX_ACTIONS = 50
MAX_WORKERS = 64
MAX_GRACE = 60.0
MAX_MESSAGE = 300  # characters of one problem message
MAX_RENAMES = 20
TOP_KEYS = ("title", "summary", "sources", "renamed_from", "lab", "steps")
LAB_KEYS = ("workers", "behaviour", "params", "slots", "reaping", "grace", "terminal")
STEP_KEYS = (
    "title",
    "text",
    "sources",
    "panels",
    "expect",
    "question",
    "predict",
    "answer",
    "missed",
    "hints",
    "solution",
)
REAPING = ("handler", "off", "ignore")
# "terminal" and "session": the terminal lane's Terminal panel and session tree (issue 16).
PANELS = ("terminal", "session", "tree", "chart", "events", "dispositions", "timers", "master")
LANE_ROLES = ("shell", "job")  # the terminal lane's processes: seen in the session tree
_LESSON_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class LabSetup:
    """The lab a lesson starts on (the arguments of :class:`sigscope.lab.Lab`)."""

    workers: int = 2
    behaviour: str = "idle"
    params: dict[str, Any] = field(default_factory=dict)
    slots: tuple[dict[str, Any], ...] = ()
    reaping: str = "handler"
    grace: float = 5.0
    # A terminal lane beside the lab (issue 16): bash on a pty of its own, which the lesson
    # types into. The lesson cannot choose the program: the shell is the default one.
    terminal: bool = False

    def make_lab(self) -> Lab:
        """A lab for this lesson, not started yet (``with setup.make_lab() as lab:``)."""
        from sigscope.lab.controller import Lab

        extra: dict[str, Any] = {}
        if self.terminal:
            from sigscope.lab.code import code_allowed
            from sigscope.lab.errors import LabError
            from sigscope.terminal.lane import TerminalSettings

            if not code_allowed():
                # A terminal is a real shell: whoever types in it runs commands as sigscope's
                # user. A session that runs no learner code (serve's pages) gets none.
                raise LabError(
                    "this lesson opens a real shell, and this session runs no learner code "
                    "(sigscope serve without --allow-code)"
                )
            extra["terminal"] = TerminalSettings()
        return Lab(
            workers=self.workers,
            behaviour=self.behaviour,
            params=dict(self.params),
            slots=[dict(s) for s in self.slots],
            reaping=self.reaping,
            grace=self.grace,
            # The checker caps what a lesson asks for; this caps what its lab really runs:
            # a HUP to stubborn workers or a TTIN per action starts processes no count saw.
            max_processes=LESSON_MAX_PROCESSES - 1,  # the cap counts all but the master
            **extra,
        )


@dataclass(frozen=True)
class Missed:
    """A window the learner can miss: when ``when`` holds, say ``text`` and start again."""

    when: Predicate
    text: str


@dataclass
class Step:
    """One step: prose, and what completes it (an expectation, a question answered, or a
    prediction locked and then an expectation met); no check at all makes a reading step."""

    text: str
    title: str = ""
    expect: Predicate | None = None
    question: str | None = None
    answer: Answer | None = None
    hints: list[str] = field(default_factory=list)
    solution: list[Action] = field(default_factory=list)
    line: int = 1
    sources: tuple[str, ...] = ()
    predict: str | None = None  # "predict, then see": asked before the action, then compared
    panels: tuple[str, ...] = ()  # what the lesson file asks to have on screen
    missed: Missed | None = None

    @property
    def checked(self) -> bool:
        """Whether the lab decides when this step is done (else the learner moves on)."""
        return self.expect is not None or self.question is not None

    @property
    def reading(self) -> bool:
        """A step with nothing to check: the learner reads it and moves on."""
        return not self.checked

    @property
    def needed_panels(self) -> tuple[str, ...]:
        """The panels this step needs on screen: the ones it names, and the ones what it
        checks is seen in (a learner cannot watch for a pending signal without the
        dispositions panel)."""
        wanted = list(self.panels)
        for pred in (self.expect, self.missed.when if self.missed else None):
            if pred is not None:
                wanted += _panels_of(pred)
        if self.answer is not None and self.answer.source in ("live_workers", "reaping"):
            wanted.append("master")
        return tuple(p for p in PANELS if p in wanted)


def _panels_of(pred: Predicate) -> list[str]:
    """The panels where what ``pred`` checks can be seen."""
    from sigscope.course.predicates import All, Any_, EventMatch, LabMatch, Not, ProcessMatch

    if isinstance(pred, All | Any_):
        return [p for part in pred.parts for p in _panels_of(part)]
    if isinstance(pred, Not):
        return _panels_of(pred.part)
    if isinstance(pred, ProcessMatch):
        if pred.role in LANE_ROLES:
            return ["session"]  # the Dispositions panel shows the lab's master, not the lane
        if pred.key in ("pending", "blocked", "ignored", "caught"):
            return ["dispositions"]
        return ["tree"]  # a state, or wake-ups: the tree shows each process's state
    if isinstance(pred, LabMatch):
        return ["master"]
    if isinstance(pred, EventMatch):
        out = ["chart"]
        if pred.kind in ("foreground", "group") or pred.role in LANE_ROLES:
            out.append("session")
        if pred.kind == "timer":
            out.append("timers")
        if pred.kind in ("status", "phase"):
            out.append("master")
        return out
    return []


@dataclass
class Lesson:
    id: str  # the file name without .toml: what progress is saved under
    path: Path
    title: str
    summary: str
    setup: LabSetup
    steps: list[Step]
    sources: tuple[str, ...] = ()
    renamed_from: tuple[str, ...] = ()  # earlier ids: saved progress under them is this one's

    def make_lab(self) -> Lab:
        return self.setup.make_lab()


# -- loading --------------------------------------------------------------------------------------


class _Collector:
    """Gathers problems with lines, so that one run reports every mistake in a file."""

    def __init__(self, name: str, locator: Locator | None) -> None:
        self.name = name
        self.locator = locator
        self.problems: list[Problem] = []
        self.costs: list[Cost] = []  # each worker the lab starts with, and each spawn
        # What one more worker may cost (a TTIN to the master starts the next slot's worker,
        # or the lab's behaviour): the most of any of them.
        self.grow_cost = Cost(1, 0)
        # Where the lesson acts on or checks the terminal lane (needs [lab] terminal = true).
        self.terminal_uses: list[tuple[KeyPath, str]] = []
        self.terminal_unknown = False  # [lab] terminal had a wrong value

    def add(self, path: KeyPath, message: str, line: int | None = None) -> None:
        if line is None:
            line = self.locator.line(path) if self.locator else 1
        if len(message) > MAX_MESSAGE:  # a hostile file's values must not flood the terminal
            message = message[: MAX_MESSAGE - 1] + "…"
        self.problems.append(Problem(self.name, line, message))

    def spec(self, prefix: KeyPath, error: SpecError) -> None:
        self.add(tuple(prefix) + error.path, error.message)


def _type_name(value: Any) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def parse_source(data: bytes, name: str) -> tuple[dict[str, Any], str]:
    """Decode and parse a lesson's bytes; raise LessonInvalid for what is not TOML."""
    if len(data) > MAX_BYTES:
        raise LessonInvalid(
            [Problem(name, 1, f"file too large ({len(data)} bytes; a lesson may have {MAX_BYTES})")]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise LessonInvalid([Problem(name, line, "not UTF-8 text")]) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        line = 1
        if m:
            line = int(m.group(1))
            message = f"{message[: m.start()]} (column {m.group(2)})"
        elif "end of document" in message:
            line = text.count("\n") + 1
        raise LessonInvalid([Problem(name, line, f"TOML syntax error: {message}")]) from None
    except RecursionError:
        raise LessonInvalid([Problem(name, _deep_line(text), "values nest too deeply")]) from None
    return doc, text


def _deep_line(text: str, limit: int = 100) -> int:
    """The first line where brackets nest deeper than ``limit`` (strings are not skipped: this
    only has to find the line of a file that is already refused)."""
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        for c in line:
            depth += c in "[{"
            depth -= c in "]}"
            if depth > limit:
                return number
    return 1


def load_lesson(path: str | Path) -> Lesson:
    """Read and check one lesson file.

    Raises:
        LessonInvalid: with every problem found (an unreadable file is one problem, line 1).
    """
    path = Path(path)
    name = str(path)
    if path.exists() and not path.is_file():  # a FIFO would block the read; a folder fails
        raise LessonInvalid([Problem(name, 1, "not a regular file")])
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise LessonInvalid([Problem(name, 1, f"cannot read: {e.strerror or e}")]) from None
    return parse_lesson(data, name, path)


def parse_lesson(data: bytes | str, name: str, path: Path | None = None) -> Lesson:
    """Check a lesson given as bytes or text; ``name`` is what messages call the file."""
    raw = data.encode() if isinstance(data, str) else data
    doc, text = parse_source(raw, name)
    try:
        locator = Locator(text)
    except RecursionError:  # pragma: no cover - the locator does not recurse
        locator = None
    out = _Collector(name, locator)
    try:
        lesson = _build(doc, out, path or Path(name))
    except RecursionError:
        raise LessonInvalid([Problem(name, 1, "values nest too deeply")]) from None
    if out.problems:
        raise LessonInvalid(out.problems)
    assert lesson is not None
    return lesson


def _build(doc: dict[str, Any], out: _Collector, path: Path) -> Lesson | None:
    for key in doc:
        if key not in TOP_KEYS:
            out.add((key,), f"unknown key {key!r} (known: {', '.join(TOP_KEYS)})")
    title = doc.get("title")
    if title is None:
        out.add((), 'missing title: a lesson needs title = "..."', line=1)
    elif not isinstance(title, str) or not title.strip():
        out.add(("title",), f"title must be a non-empty string, not {_type_name(title)}")
    summary = doc.get("summary", "")
    if not isinstance(summary, str):
        out.add(("summary",), f"summary must be a string, not {_type_name(summary)}")
        summary = ""
    root = repo_root(path)
    sources = _sources(doc, (), out, root, "the lesson's summary")
    renamed = _renamed(doc.get("renamed_from", []), out)
    setup = _setup(doc.get("lab", {}), out)
    steps_raw = doc.get("steps")
    steps: list[Step] = []
    if steps_raw is None:
        out.add((), "missing steps: a lesson needs at least one [[steps]] table", line=1)
    elif not isinstance(steps_raw, list) or not steps_raw:
        out.add(("steps",), "steps must be a list of tables: write each one as [[steps]]")
    elif len(steps_raw) > MAX_STEPS:
        out.add(("steps",), f"too many steps ({len(steps_raw)}; at most {MAX_STEPS})")
    else:
        for i, raw in enumerate(steps_raw):
            step = _step(i, raw, out, root)
            if step is not None:
                steps.append(step)
    _totals(doc, out)
    if not setup.terminal and not out.terminal_unknown:
        for where, what in out.terminal_uses:
            out.add(where, f"{what} needs a terminal: add terminal = true to [lab]")
    if out.problems:
        return None
    return Lesson(
        path.stem, path, str(title).strip(), summary.strip(), setup, steps, sources, renamed
    )


def _totals(doc: dict[str, Any], out: _Collector) -> None:
    """Cap what the whole lesson may start: the lab's workers and every spawn of its
    solutions, with what each forks, alive at once (a spawn adds a worker for good)."""
    where: KeyPath = ("lab",) if isinstance(doc.get("lab"), dict) else ()
    processes = 1 + sum(c.processes for c in out.costs)  # 1: the master
    if processes > LESSON_MAX_PROCESSES:
        out.add(
            where,
            f"this lesson may have {processes} processes alive at once (the master, its "
            f"workers, what they fork, every spawn); a lesson may have {LESSON_MAX_PROCESSES}",
            line=None if where else 1,
        )
    memory = sum(c.memory_mb for c in out.costs)
    if memory > LESSON_MAX_MEMORY_MB:
        out.add(
            where,
            f"this lesson's workers may allocate {memory} MiB together (busy-c buffers, every "
            f"spawn counted); a lesson may use {LESSON_MAX_MEMORY_MB} MiB",
            line=None if where else 1,
        )


def _sources(
    raw: dict[str, Any], where: KeyPath, out: _Collector, root: Path | None, who: str
) -> tuple[str, ...]:
    """A table's ``sources``: required, non-empty, each in one of the accepted forms."""
    value = raw.get("sources")
    if value is None:
        out.add(where, f"{who} makes claims but names no sources", line=None if where else 1)
        return ()
    if value == []:
        out.add(where + ("sources",), f"{who} makes claims but names no sources")
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        out.add(where + ("sources",), 'sources must be a list of strings, e.g. ["signal(7)"]')
        return ()
    if len(value) > MAX_SOURCES:
        out.add(where + ("sources",), f"too many sources ({len(value)}; at most {MAX_SOURCES})")
        return ()
    for j, text in enumerate(value):
        problem = check_source(text.strip(), root)
        if problem is not None:
            out.add(where + ("sources", j), problem)
    return tuple(v.strip() for v in value)


def _renamed(value: Any, out: _Collector) -> tuple[str, ...]:
    """``renamed_from``: the ids this lesson had before, so saved progress follows it."""
    if (
        not isinstance(value, list)
        or len(value) > MAX_RENAMES
        or not all(isinstance(v, str) and _LESSON_ID.fullmatch(v) for v in value)
    ):
        out.add(
            ("renamed_from",),
            f'renamed_from must be a list of up to {MAX_RENAMES} lesson ids, e.g. ["03-pause"]',
        )
        return ()
    return tuple(value)


def _setup(raw: Any, out: _Collector) -> LabSetup:
    if not isinstance(raw, dict):
        out.add(("lab",), f"lab must be a table ([lab]), not {_type_name(raw)}")
        return LabSetup()
    for key in raw:
        if key not in LAB_KEYS:
            out.add(("lab", key), f"unknown key {key!r} in [lab] (known: {', '.join(LAB_KEYS)})")
    workers = raw.get("workers", 2)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= MAX_WORKERS:
        out.add(
            ("lab", "workers"), f"workers must be a whole number 0-{MAX_WORKERS}, not {workers!r}"
        )
        workers = 2
    reaping = raw.get("reaping", "handler")
    if reaping not in REAPING:
        out.add(("lab", "reaping"), f"reaping must be one of {', '.join(REAPING)}, not {reaping!r}")
        reaping = "handler"
    grace = raw.get("grace", 5.0)
    if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 <= grace <= MAX_GRACE:
        out.add(("lab", "grace"), f"grace must be seconds from 0 to {MAX_GRACE:g}, not {grace!r}")
        grace = 5.0
    terminal = raw.get("terminal", False)
    if not isinstance(terminal, bool):
        out.add(("lab", "terminal"), f"terminal must be true or false, not {terminal!r}")
        terminal = None  # unknown: no "needs a terminal" on top of this one mistake
    behaviour, params = _behaviour(raw.get("behaviour", "idle"), raw.get("params"), ("lab",), out)
    slots: list[dict[str, Any]] = []
    slots_raw = raw.get("slots", [])
    if not isinstance(slots_raw, list) or len(slots_raw) > MAX_WORKERS:
        out.add(("lab", "slots"), f"slots must be a list of up to {MAX_WORKERS} tables")
        slots_raw = []
    for i, slot in enumerate(slots_raw):
        where: KeyPath = ("lab", "slots", i)
        if not isinstance(slot, dict):
            out.add(where, f"a slot must be a table with behaviour (and params), not {slot!r}")
            continue
        for key in slot:
            if key not in ("behaviour", "params"):
                out.add(where + (key,), f"unknown key {key!r} in a slot (known: behaviour, params)")
        name, p = _behaviour(slot.get("behaviour", behaviour), slot.get("params"), where, out)
        slots.append({"behaviour": name, "params": p})
    for i in range(workers):  # worker i runs slot i's behaviour, else the lab's
        name, p = (
            (slots[i]["behaviour"], slots[i]["params"]) if i < len(slots) else (behaviour, params)
        )
        out.costs.append(lesson_cost(name, p))
    kinds = [lesson_cost(behaviour, params)]
    kinds += [lesson_cost(slot["behaviour"], slot["params"]) for slot in slots]
    out.grow_cost = Cost(max(c.processes for c in kinds), max(c.memory_mb for c in kinds))
    if terminal is None:
        out.terminal_unknown = True
    return LabSetup(workers, behaviour, params, tuple(slots), reaping, float(grace), bool(terminal))


def _behaviour(
    spec: Any, params: Any, where: KeyPath, out: _Collector
) -> tuple[str, dict[str, Any]]:
    """A behaviour named as ``name`` or ``name:k=v,…``, with an optional params table."""
    if not isinstance(spec, str):
        out.add(where + ("behaviour",), f"behaviour must be a string, not {_type_name(spec)}")
        return "idle", {}
    if params is not None and not isinstance(params, dict):
        out.add(where + ("params",), f"params must be a table, not {_type_name(params)}")
        params = None
    try:
        name, from_spec = parse_behaviour_spec(spec)
    except BehaviourError as e:
        out.add(where + ("behaviour",), str(e))
        return "idle", {}
    try:
        full = check_params(name, {**from_spec, **(params or {})})
    except BehaviourError as e:
        out.add(where + ("params",), str(e))
        return name, dict(from_spec)
    try:
        check_lesson_params(name, full)
    except BehaviourError as e:
        out.add(where + ("params" if params else "behaviour",), str(e))
    return name, full


def _step(i: int, raw: Any, out: _Collector, root: Path | None = None) -> Step | None:
    where: KeyPath = ("steps", i)
    if not isinstance(raw, dict):
        out.add(where, f"step {i + 1} must be a table ([[steps]]), not {_type_name(raw)}")
        return None
    before = len(out.problems)
    for key in raw:
        if key not in STEP_KEYS:
            out.add(
                where + (key,), f"unknown key {key!r} in a step (known: {', '.join(STEP_KEYS)})"
            )
    text = raw.get("text")
    if text is None:
        out.add(where, f'missing text: step {i + 1} needs text = "..."')
    elif not isinstance(text, str):
        out.add(where + ("text",), f"text must be a string, not {_type_name(text)}")
    elif not text.strip():
        out.add(where + ("text",), f"text is empty: step {i + 1} needs something to say")
    title = raw.get("title", "")
    if not isinstance(title, str):
        out.add(where + ("title",), f"title must be a string, not {_type_name(title)}")
    sources = _sources(raw, where, out, root, f"step {i + 1}")
    panels = _panels(raw.get("panels", []), where, out)
    expect = None
    if "expect" in raw:
        try:
            expect = compile_predicate(raw["expect"])
        except SpecError as e:
            out.spec(where + ("expect",), e)
        else:
            _note_terminal(expect, where + ("expect",), out)
    question, answer = raw.get("question"), None
    if question is not None and (not isinstance(question, str) or not question.strip()):
        out.add(
            where + ("question",),
            f"question must be a non-empty string, not {_type_name(question)}",
        )
    predict = raw.get("predict")
    if predict is not None and (not isinstance(predict, str) or not predict.strip()):
        out.add(
            where + ("predict",),
            f"predict must be a non-empty question, not {_type_name(predict)}",
        )
    if "answer" in raw:
        try:
            answer = compile_answer(raw["answer"])
        except SpecError as e:
            out.spec(where + ("answer",), e)
        if question is None and predict is None:
            out.add(
                where + ("answer",),
                'an answer needs a question = "..." (or predict = "...") in the same step',
            )
    elif question is not None:
        out.add(where + ("question",), "missing answer: a question needs answer = ... (see README)")
    elif predict is not None:
        out.add(
            where + ("predict",),
            "missing answer: a prediction is compared with answer = ... (what the lab shows)",
        )
    if "expect" in raw and question is not None:
        out.add(where + ("question",), "a step either expects or asks a question, not both")
    if predict is not None and question is not None:
        out.add(where + ("predict",), "a step either asks a question or a prediction, not both")
    if predict is not None and "expect" not in raw:
        out.add(
            where + ("predict",),
            "a prediction needs expect = {...}: what the lab must show before it is compared",
        )
    missed = _missed(raw, where, out)
    hints = raw.get("hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) and h.strip() for h in hints):
        out.add(where + ("hints",), "hints must be a list of non-empty strings")
        hints = []
    elif len(hints) > MAX_HINTS:
        out.add(where + ("hints",), f"too many hints ({len(hints)}; at most {MAX_HINTS})")
    actions: list[Action] = []
    solution = raw.get("solution")
    checked = "expect" in raw or question is not None or predict is not None
    if solution is None:
        if checked:
            out.add(
                where, f"missing solution: step {i + 1} is checked, so it needs solution = [...]"
            )
    elif not isinstance(solution, list) or not solution:
        out.add(
            where + ("solution",),
            'solution must be a non-empty list of actions, e.g. [{send = "TERM@worker:0"}]',
        )
    elif len(solution) > MAX_ACTIONS:
        out.add(where + ("solution",), f"too many actions ({len(solution)}; at most {MAX_ACTIONS})")
    else:
        for j, item in enumerate(solution):
            try:
                actions.append(compile_action(item))
            except SpecError as e:
                out.spec(where + ("solution", j), e)
        complete = len(actions) == len(solution)
        if complete and question is not None and not any(a.kind == "answer" for a in actions):
            out.add(
                where + ("solution",), 'the solution of a question must include {answer = "..."}'
            )
        for j, a in enumerate(actions):
            if a.kind in TERMINAL_KINDS:
                out.terminal_uses.append((where + ("solution", j), f"a {a.kind} action"))
            elif a.kind == "until":
                _note_terminal(a.value, where + ("solution", j), out)
            if a.kind == "spawn":
                name, params = a.value
                try:
                    check_lesson_params(name, params)
                except BehaviourError as e:
                    out.add(where + ("solution", j), str(e))
                out.costs.append(lesson_cost(name, params))
            elif a.kind == "send" and a.value.sig == "SIGTTIN" and a.value.target == "master":
                out.costs.append(out.grow_cost)  # the master starts one more worker, for good
        predicts = [j for j, a in enumerate(actions) if a.kind == "predict"]
        if complete and predict is not None and predicts != [0]:
            out.add(
                where + ("solution",),
                'the solution of a prediction must begin with {predict = "..."} (and have '
                "only that one): what show me types before it acts",
            )
        elif complete and predict is None and predicts:
            out.add(
                where + ("solution", predicts[0]),
                'a {predict = "..."} action needs predict = "..." in the same step',
            )
    if "expect" not in raw and missed is not None:
        # Only an expectation has a window to miss: a question is answered whenever.
        out.add(where + ("missed",), "missed applies to a step with expect = {...}")
    if len(out.problems) > before:
        return None
    return Step(
        text=str(text).strip(),
        title=str(title).strip(),
        expect=expect,
        question=question.strip() if isinstance(question, str) else None,
        answer=answer,
        hints=list(hints),
        solution=actions,
        line=out.locator.line(where) if out.locator else 1,
        sources=sources,
        predict=predict.strip() if isinstance(predict, str) else None,
        panels=panels,
        missed=missed,
    )


def _panels(value: Any, where: KeyPath, out: _Collector) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        out.add(where + ("panels",), f"panels must be a list of names ({', '.join(PANELS)})")
        return ()
    for j, name in enumerate(value):
        if name not in PANELS:
            out.add(where + ("panels", j), f"unknown panel {name!r} (panels: {', '.join(PANELS)})")
            return ()
        if name in ("terminal", "session"):
            out.terminal_uses.append((where + ("panels", j), f"the {name} panel"))
    return tuple(dict.fromkeys(value))


def _missed(raw: dict[str, Any], where: KeyPath, out: _Collector) -> Missed | None:
    """``missed = { when = <predicate>, text = "..." }``."""
    if "missed" not in raw:
        return None
    value = raw["missed"]
    here = where + ("missed",)
    if not isinstance(value, dict) or set(value) != {"when", "text"}:
        out.add(here, 'missed must be a table { when = {...}, text = "..." } (both keys)')
        return None
    text = value["text"]
    if not isinstance(text, str) or not text.strip():
        out.add(here + ("text",), f"missed text must be a non-empty string, not {text!r}")
        return None
    try:
        when = compile_predicate(value["when"])
    except SpecError as e:
        out.spec(here + ("when",), e)
        return None
    if not _has_event(when):
        # A state holds at every check: the window would restart forever.
        out.add(here + ("when",), "missed wants an event predicate in when (a state never ends)")
        return None
    return Missed(when, text.strip())


def _note_terminal(pred: Predicate, where: KeyPath, out: _Collector) -> None:
    """Remember where a predicate looks at the terminal lane (its foreground and group
    predicates, its shell and job roles): only a lab with a terminal can make it true."""
    from sigscope.course.predicates import All, Any_, EventMatch, Not, ProcessMatch

    if isinstance(pred, All | Any_):
        for part in pred.parts:
            _note_terminal(part, where, out)
    elif isinstance(pred, Not):
        _note_terminal(pred.part, where, out)
    elif isinstance(pred, EventMatch | ProcessMatch):
        if isinstance(pred, EventMatch) and pred.key in ("foreground", "group"):
            out.terminal_uses.append((where, f"the {pred.key} predicate"))
        elif pred.role in ("shell", "job"):
            out.terminal_uses.append((where, f"role {pred.role!r}"))


def _has_event(pred: Predicate) -> bool:
    from sigscope.course.predicates import All, Any_, EventMatch

    if isinstance(pred, All | Any_):
        return any(_has_event(p) for p in pred.parts)
    return isinstance(pred, EventMatch)

"""A learner (or a test, or the dashboard's lesson pane) working through one lesson on a live lab.

:class:`LessonRun` keeps which step is current and which are done, checks the current step's
expectation against the lab, reveals hints one at a time, performs the solution ("show me"),
and saves progress. It imports no Textual: the dashboard calls :meth:`LessonRun.check` when
events or snapshots arrive, and runs :meth:`LessonRun.show_me` in a worker thread (it blocks
while the solution's actions take effect)::

    lesson = load_lesson(find_lesson("zombies", lessons_dir()))
    with lesson.make_lab() as lab:
        run = LessonRun(lesson, lab, snapshot=lambda: sampler.latest, store=ProgressStore())
        run.check()      # on each event / snapshot: -> indices of steps just completed
        run.hint()       # the next hint of the current step, or None
        run.show_me()    # perform the solution (blocks; raises ShowMeFailed with a reason)
        run.answer("137")
        run.predict("6")  # a "predict, then see" step: lock it; the step's window starts now
        run.next(); run.back(); run.reset(fresh_lab)

A *predict* step completes only after the prediction is locked and then the expectation holds;
:attr:`LessonRun.outcomes` keeps "you predicted X, the lab shows Y". A step with ``missed``
shows :attr:`LessonRun.notice` and starts its window again when the learner missed it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sigscope import procfs
from sigscope.course.actions import MAX_PREDICTION, UNTIL_TIMEOUT, Action, sleep
from sigscope.course.lesson import Lesson, Step
from sigscope.course.predicates import Predicate
from sigscope.course.progress import LessonProgress, ProgressStore
from sigscope.course.questions import same
from sigscope.course.world import SnapshotProvider, World, facts_from_proc

if TYPE_CHECKING:
    from sigscope.lab.controller import Lab
    from sigscope.terminal.lane import TerminalLane

CODE_SETTLE = 1.0  # seconds "show me" waits for a solution's snippet to end before going on
READY_WAIT = 10.0  # seconds "show me" waits for a worker to install its handlers (slow machines)
POLL = 0.1  # seconds between checks of a state predicate while waiting (states have no events)


class ShowMeFailed(Exception):
    """A solution action could not be done, or its effect did not come; fit to show a user."""


@dataclass(frozen=True)
class Outcome:
    """A prediction beside what the lab showed, once a predict step completed."""

    predicted: str
    shown: str | None  # None: the lab showed the expectation but not the value asked for
    right: bool

    def __str__(self) -> str:
        mark = "✓" if self.right else "✗"
        return f"You predicted {self.predicted} — the lab shows {self.shown or 'nothing'} {mark}"


def clean_prediction(text: str) -> str:
    """A typed prediction as it is locked: one line, printable, trimmed, at most
    MAX_PREDICTION characters (it is shown back beside the lab's answer)."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(flat.split())[:MAX_PREDICTION].strip()


class LessonRun:
    """One lesson in progress on one lab.

    Args:
        lesson: the lesson.
        lab: a started lab, normally made by ``lesson.make_lab()``.
        snapshot: returns the observer's latest ``Snapshot`` (or None); without it, process
            states are read from /proc at each check.
        store: where progress is saved; None keeps it in memory only.
    """

    def __init__(
        self,
        lesson: Lesson,
        lab: Lab,
        snapshot: SnapshotProvider | None = None,
        store: ProgressStore | None = None,
    ) -> None:
        self.lesson = lesson
        self.lab = lab
        self.snapshot = snapshot
        self.store = store
        self._lock = threading.RLock()
        self.origin = lab.cursor()  # questions look at what happened since the run began
        self._start = self.origin  # the current step looks at events from here on
        self._baseline = self._wakeup_counts()
        self.predictions: dict[int, str] = {}  # step -> the locked prediction
        self._locked_at: dict[int, int] = {}  # step -> event position when it was locked
        self.outcomes: dict[int, Outcome] = {}  # step -> prediction vs the lab, once done
        self._notice: tuple[int, str] | None = None  # (step, missed text) shown to the learner
        self.progress = (
            store.load(lesson.id, lesson.renamed_from) if store is not None else LessonProgress()
        )
        self.progress.done = {i for i in self.progress.done if 0 <= i < len(lesson.steps)}
        self.progress.current = min(self.progress.current, len(lesson.steps) - 1)

    # -- where we are ------------------------------------------------------------------------
    @property
    def index(self) -> int:
        return self.progress.current

    @property
    def current_step(self) -> Step:
        return self.lesson.steps[self.progress.current]

    @property
    def done(self) -> frozenset[int]:
        return frozenset(self.progress.done)

    @property
    def finished(self) -> bool:
        """Every checked step is done (prose-only steps need no proof)."""
        return all(i in self.progress.done for i, s in enumerate(self.lesson.steps) if s.checked)

    @property
    def fraction(self) -> float:
        """Checked steps done, 0.0 to 1.0 (for a progress bar)."""
        checked = [i for i, s in enumerate(self.lesson.steps) if s.checked]
        if not checked:
            return 1.0 if self.index == len(self.lesson.steps) - 1 else 0.0
        return sum(1 for i in checked if i in self.progress.done) / len(checked)

    @property
    def awaiting_prediction(self) -> bool:
        """The current step asks for a prediction that is not locked yet."""
        step = self.current_step
        return (
            step.predict is not None
            and self.index not in self.predictions
            and self.index not in self.progress.done
        )

    @property
    def prediction(self) -> str | None:
        """The current step's locked prediction, if any."""
        return self.predictions.get(self.index)

    @property
    def outcome(self) -> Outcome | None:
        """The current step's "you predicted X — the lab shows Y", once it is done."""
        return self.outcomes.get(self.index)

    @property
    def notice(self) -> str | None:
        """What the learner missed in the current step (its window started again)."""
        if self._notice is not None and self._notice[0] == self.index:
            return self._notice[1]
        return None

    @property
    def hints_shown(self) -> list[str]:
        n = self.progress.hints.get(self.index, 0)
        return self.current_step.hints[:n]

    def world(self, questions: bool = False) -> World:
        """The lab as the current step sees it. Expectations need only the events since the
        step began; questions (counts, "the last reaped") look back to the run's start."""
        origin = self.origin if questions else self._start
        return World.observe(self.lab, self._start, origin, self.snapshot, self._baseline)

    # -- moving ------------------------------------------------------------------------------
    def next(self) -> bool:
        """Go to the next step (a prose-only step counts as done once read)."""
        with self._lock:
            step = self.current_step
            if not step.checked:
                self.progress.done.add(self.index)
            if self.index + 1 >= len(self.lesson.steps):
                self._save()
                return False
            # Reading or skipping does not change the lab: what the learner did before still
            # counts for the next step. Skipping an unfinished task starts afresh.
            unfinished = step.expect is not None and self.index not in self.progress.done
            self._go(self.index + 1, self.lab.cursor() if unfinished else self._start)
            return True

    def back(self) -> bool:
        with self._lock:
            if self.index == 0:
                return False
            self._go(self.index - 1, self.lab.cursor())
            return True

    def _go(self, index: int, start: int) -> None:
        self.progress.current = index
        self._start = start
        self._notice = None
        self._baseline = self._wakeup_counts()
        self._save()

    def _wakeup_counts(self) -> dict[int, int]:
        """Each lab process's wake-ups so far: ``wakeups`` predicates count from here."""
        return {p.pid: p.switches for p in facts_from_proc(self.lab) if p.switches is not None}

    # -- checking ----------------------------------------------------------------------------
    def check(self) -> list[int]:
        """Check the current step against the lab; return the steps that just completed.

        A completed step moves the run on to the next one, whose window starts just after the
        evidence; if that one already holds (a state the last action produced), it completes
        too.
        """
        completed: list[int] = []
        with self._lock:
            while True:
                step = self.current_step
                if step.expect is None or self.index in self.progress.done:
                    break
                if self.awaiting_prediction:
                    break  # nothing counts before the prediction is locked
                world = self.world()
                evidence = step.expect.evidence(world)
                if evidence is None:
                    self._check_missed(step, world)
                    break
                if step.predict is not None:
                    self._compare(step)
                completed.append(self.index)
                if not self._complete(evidence):
                    break
        return completed

    def _check_missed(self, step: Step, world: World) -> None:
        """If the learner missed the step's window, say so and start the window again (after
        the evidence of the miss, so that what comes next is a fresh try)."""
        if step.missed is None:
            return
        found = step.missed.when.evidence(world)
        if found is None:
            return
        # A state has no event as evidence: start again from now, not from the same place.
        self._notice = (self.index, step.missed.text)
        self._start = found if found > self._start else world.end
        self._baseline = self._wakeup_counts()

    def _compare(self, step: Step) -> None:
        """Put the locked prediction beside what the lab shows (events since the lock)."""
        assert step.answer is not None
        locked = self._locked_at.get(self.index, self._start)
        world = World.observe(self.lab, self._start, locked, self.snapshot, self._baseline)
        shown = step.answer.expected(world)
        predicted = self.predictions.get(self.index, "")
        right = any(same(predicted, want) for want in shown)
        self.outcomes[self.index] = Outcome(predicted, str(shown[0]) if shown else None, right)

    def predict(self, text: str) -> bool:
        """Lock the learner's prediction for the current step; its window starts now.

        Returns False (and locks nothing) if the step asks for no prediction, one is already
        locked, or ``text`` is empty."""
        with self._lock:
            if not self.awaiting_prediction:
                return False
            value = clean_prediction(text)
            if not value:
                return False
            self.predictions[self.index] = value
            self._start = self.lab.cursor()
            self._locked_at[self.index] = self._start
            self._baseline = self._wakeup_counts()
            self._notice = None
            return True

    def answer(self, reply: str) -> bool:
        """Answer the current step's question; True (and the step is done) if right."""
        with self._lock:
            step = self.current_step
            if step.answer is None or step.question is None:
                return False  # a predict step's answer is compared, not typed
            world = self.world(questions=True)
            if not step.answer.accepts(reply, world):
                return False
            # Answering changes nothing in the lab: the next step sees the same events.
            self._complete(self._start)
            return True

    def expected_answers(self) -> list[object]:
        """What the lab says the current question's answer is (for a "reveal" button)."""
        step = self.current_step
        return [] if step.answer is None else step.answer.expected(self.world(questions=True))

    def _complete(self, evidence: int) -> bool:
        """Mark the current step done and move on; False if it was the last."""
        self.progress.done.add(self.index)
        self._notice = None  # done: what was missed before no longer matters
        if self.index + 1 >= len(self.lesson.steps):
            self._save()
            return False
        self._go(self.index + 1, evidence)
        return True

    # -- help --------------------------------------------------------------------------------
    def hint(self) -> str | None:
        """Reveal the next hint of the current step (None when there is none left)."""
        with self._lock:
            hints = self.current_step.hints
            n = self.progress.hints.get(self.index, 0)
            if n >= len(hints):
                return None
            self.progress.hints[self.index] = n + 1
            self._save()
            return hints[n]

    def show_me(self, timeout: float = UNTIL_TIMEOUT) -> list[int]:
        """Perform the current step's solution on the lab; return the steps it completed.

        Blocks while the actions take effect (waits, ``until``), then waits up to ``timeout``
        for the step's expectation.

        Raises:
            ShowMeFailed: an action could not be done, or its effect did not come in time.
        """
        from sigscope.lab.controller import LabError

        index = self.index
        step = self.current_step
        completed: list[int] = []
        try:
            for action in step.solution:
                completed += self.perform(action, timeout)
        except LabError as e:
            raise ShowMeFailed(str(e)) from None
        if step.expect is not None and index not in self.progress.done:
            deadline = time.monotonic() + timeout
            while True:
                completed += self.check()
                if index in self.progress.done:
                    break
                if time.monotonic() >= deadline:
                    raise ShowMeFailed(
                        f"step {index + 1}: expected {step.expect.describe()}, "
                        f"but the lab did not show it within {timeout:g}s"
                    )
                self._wait_a_little()
        return completed

    def perform(self, action: Action, timeout: float = UNTIL_TIMEOUT) -> list[int]:
        """Do one solution action on the lab."""
        lab = self.lab
        kind, value = action.kind, action.value
        mark = lab.cursor()
        if kind == "send":
            if value.delay:
                sleep(value.delay)
            self._await_ready(value.target, timeout)
            lab.send(value.target, value.sig, value.value)
        elif kind == "reaping":
            lab.set_reaping(value)
            lab.wait_for(kind="mode", reaping=value, since=mark, timeout=timeout)
        elif kind == "spawn":
            name, params = value
            lab.spawn_worker(name, params)
            start = lab.wait_for(
                kind="start", role="worker", behaviour=name, since=mark, timeout=timeout
            )
            # The worker's `start` can reach the controller before the master's `spawn` (two
            # writers, one pipe): wait until the lab's table knows the worker, so the next
            # action (a `code` for a playground worker, say) finds it.
            pid = start["pid"]
            lab.wait_until(
                lambda: any(p.pid == pid and p.behaviour == name for p in lab.live_workers()),
                timeout=timeout,
            )
        elif kind == "status":
            lab.request_status()
            lab.wait_for(kind="status", since=mark, timeout=timeout)
        elif kind == "code":
            self._run_code(value, timeout)
        elif kind == "predict":
            if not self.predict(value) and self.awaiting_prediction:
                raise ShowMeFailed(f"step {self.index + 1}: the prediction could not be locked")
        elif kind == "type":
            terminal = self._terminal()
            if value.keys[:1] in JOB_CONTROL_KEYS:
                settle_foreground(terminal)
            terminal.type(value.keys)
        elif kind == "hangup":
            self._terminal().hangup()
        elif kind == "wait":
            sleep(value)
        elif kind == "until":
            self._until(value, timeout)
        elif kind == "answer":
            index = self.index
            if value is True:
                shown = self.expected_answers()
                if not shown:
                    raise ShowMeFailed(f"step {index + 1}: the lab does not show the answer yet")
                value = str(shown[0])
            if not self.answer(value):
                raise ShowMeFailed(
                    f"step {self.index + 1}: the solution answers {value!r}, but the lab says "
                    f"{', '.join(map(str, self.expected_answers())) or 'nothing yet'}"
                )
            return [index]
        return []

    def _run_code(self, code: str, timeout: float) -> None:
        """Run a solution's Python in the first playground worker (issue 17), and wait until
        it has ended, or (a snippet that blocks on purpose, e.g. in ``signal.pause()``) has
        run for a moment: the next action is then what ends it."""
        lab = self.lab
        mark = lab.cursor()
        ident = lab.run_code("worker", code)

        def mine(e: dict[str, object]) -> bool:
            return e.get("kind") == "snippet" and e.get("id") == ident

        lab.wait_for(
            lambda e: mine(e) and e.get("action") == "started", since=mark, timeout=timeout
        )
        try:
            end = lab.wait_for(
                lambda e: mine(e) and e.get("action") in ("finished", "raised", "stopped"),
                since=mark,
                timeout=CODE_SETTLE,
            )
        except lab.timeout_error:
            return  # still running: blocked on purpose, until a later action
        if end.get("action") == "raised":
            raise ShowMeFailed(
                f"step {self.index + 1}: the solution's code raised: {end.get('text')}"
            )

    def _terminal(self) -> TerminalLane:
        """The lab's terminal lane, for the type and hangup actions."""
        lane = self.lab.terminal
        if lane is None:
            raise ShowMeFailed(f"step {self.index + 1}: this lab has no terminal to act on")
        return lane

    def _await_ready(self, target: str, timeout: float) -> None:
        """Before a worker's behaviour installs its handlers, a signal gets its default action:
        "show me" waits for the worker's ``ready`` event so that it shows what the lesson
        means (a worker that never says ready is signalled anyway after READY_WAIT)."""
        from sigscope.lab.controller import LabError

        if not target.startswith("worker"):
            return
        deadline = time.monotonic() + min(timeout, READY_WAIT)
        while True:  # a slot the master is refilling has no worker for a moment
            try:
                proc = self.lab.resolve(target)
                break
            except LabError:
                if time.monotonic() >= deadline or not self.lab.running:
                    return  # lab.send will say what is wrong
                self._wait_a_little()
        if proc.exited:
            return
        try:
            self.lab.wait_for(
                kind="ready", pid=proc.pid, timeout=max(0.0, deadline - time.monotonic())
            )
        except LabError:
            pass

    def _until(self, pred: Predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not pred.holds(self.world()):
            if time.monotonic() >= deadline:
                raise ShowMeFailed(f"waited {timeout:g}s for {pred.describe()}; it did not happen")
            self._wait_a_little()

    def _wait_a_little(self) -> None:
        """Until the next event, or POLL seconds (a state change has no event of its own)."""
        from sigscope.lab.controller import LabTimeout

        try:
            self.lab.wait_for(since=self.lab.cursor(), timeout=POLL)
        except LabTimeout:
            pass

    # -- starting again ----------------------------------------------------------------------
    def reset(self, lab: Lab | None = None) -> None:
        """Back to step 1 with nothing done; on ``lab`` if given (a fresh lab for the lesson)."""
        with self._lock:
            if lab is not None:
                self.lab = lab
            self.origin = self.lab.cursor()
            self.progress = LessonProgress()
            self.predictions.clear()
            self._locked_at.clear()
            self.outcomes.clear()
            self._go(0, self.origin)

    def _save(self) -> None:
        if self.store is not None:
            try:
                self.store.save(self.lesson.id, self.progress, self.lesson.renamed_from)
            except OSError:
                pass  # progress is a convenience: a read-only home must not stop a lesson


JOB_CONTROL_KEYS = ("\x03", "\x1a", "\x1c")  # ^C, ^Z, ^\\: the keys that make the kernel signal
SETTLE_LIMIT = 2.0  # seconds: how long "show me" waits for a new foreground job to exec


def settle_foreground(terminal: TerminalLane, limit: float = SETTLE_LIMIT) -> None:
    """Before "show me" types a key that signals the foreground group, wait (at most ``limit``
    seconds) until every process of that group has exec'd its program and is asleep (state
    S: waiting for its input, a timer, a child), as the program a person signals is.

    A child bash just forked still runs bash's code with bash's handlers, so a ^C typed in
    that instant can be caught there and lost; and a program just exec'd is still starting:
    a Python has not yet installed its SIGINT handler (the ^C kills it by the default action,
    with no KeyboardInterrupt), or a lesson's program has not yet installed its own (Python's
    raises KeyboardInterrupt instead of the program's handler running). Both were seen in
    lesson 29's solution, about 1 run in 3. A person is never that fast. Returns at once when
    the shell's own group has the terminal; types anyway after ``limit`` (a program that
    never sleeps)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        view = terminal.view()
        if view is None:
            return
        shell = view.processes.get(view.shell)
        if shell is None or view.foreground in (-1, shell.pgid):
            return
        group = [p for p in view.processes.values() if p.pgid == view.foreground]
        # Read now, not from the lane's last scan: the scan shows strace's stop at an exec
        # as the state before it, so a Python just exec'd from a sleeping bash showed S.
        now = [procfs.read_stat(p.pid) for p in group]
        if group and all(
            st is not None and st.comm != shell.comm and st.state == "S" for st in now
        ):
            return
        terminal.poke()
        time.sleep(0.01)

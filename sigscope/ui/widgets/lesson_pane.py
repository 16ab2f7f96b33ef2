"""The lesson pane: where a learner reads the current step and sees what is done.

It shows a :class:`~sigscope.course.run.LessonRun` and never changes it: the app calls
:meth:`LessonPane.show` after anything that may have moved the run (a check, next, back, a
hint, an answer, a reset), and the pane redraws only what changed (re-rendering the Markdown
on every event of a signal storm would be wasted work).

Under the step's text: its sources (dim: where each claim can be checked), then the question
or the prediction asked (and, once locked, the prediction; once done, the prediction beside
what the lab showed), a notice if the learner missed the step's window, and the hints revealed.
Code blocks wrap instead of being cut at the pane's right edge (the pane is narrow at 120x40,
and a fence's own horizontal scrolling has no visible scrollbar).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Markdown, ProgressBar, Static

if TYPE_CHECKING:
    from sigscope.course.run import LessonRun

TICK = "✓"
HERE = "▶"
TODO = "·"


_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~")


def md_escape(text: str) -> str:
    """Text a learner typed, shown in Markdown as itself (``**`` stays two stars)."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in text)


def prediction_markdown(run: LessonRun) -> str:
    """The prediction part of a *predict, then see* step, as the step stands now."""
    step = run.current_step
    if step.predict is None:
        return ""
    if run.awaiting_prediction:
        return f"**Predict first:** {step.predict}  \n*Type your prediction (`/`), then Enter.*"
    outcome = run.outcome
    if outcome is not None:
        mark = "✓" if outcome.right else "✗"
        shown = md_escape(outcome.shown) if outcome.shown is not None else "nothing"
        return (
            f"**Predicted:** {step.predict}  \n"
            f"You predicted **{md_escape(outcome.predicted)}** — the lab shows **{shown}** {mark}"
        )
    locked = run.prediction
    if locked is None:  # done before any prediction (a step skipped back to)
        return f"**Predict:** {step.predict}"
    return (
        f"**Predicted:** {step.predict}  \n"
        f"You predicted **{md_escape(locked)}** (locked). Now do it, and watch the lab."
    )


def previous_outcome_markdown(run: LessonRun) -> str:
    """The step before, if it was a *predict, then see* step now done: its prediction beside
    what the lab showed. A step completes, and the run moves on, the moment its outcome
    appears: without this the learner saw "You predicted X — the lab shows Y" only by going
    back with ``[`` (issue 16). It stays above the next step's text while that step is on."""
    index = run.index - 1
    if index < 0 or index not in run.done:
        return ""
    outcome = run.outcomes.get(index)
    if outcome is None:
        return ""
    step = run.lesson.steps[index]
    mark = "✓" if outcome.right else "✗"
    shown = md_escape(outcome.shown) if outcome.shown is not None else "nothing"
    title = f" · {md_escape(step.title)}" if step.title else ""
    return (
        f"> ✓ **Step {index + 1}{title}:** {step.predict}  \n"
        f"> You predicted **{md_escape(outcome.predicted)}** — the lab shows **{shown}** {mark}"
    )


def step_markdown(run: LessonRun) -> str:
    """The current step as Markdown: the step before's outcome (if it predicted), its text,
    its question or prediction, a missed-window notice, the hints revealed so far."""
    step = run.current_step
    parts = [previous_outcome_markdown(run), step.text]
    if step.question:
        parts.append(f"**Question:** {step.question}")
    parts.append(prediction_markdown(run))
    if run.notice:
        parts.append(f"> **Missed:** {run.notice}")
    for n, hint in enumerate(run.hints_shown, 1):
        parts.append(f"> **Hint {n}:** {hint}")
    if run.index in run.done:
        parts.append("*✓ Done.*" if step.checked else "")
    if run.finished and run.index == len(run.lesson.steps) - 1:
        parts.append("**Lesson complete.** `L` for another lesson, `ctrl+r` to start again.")
    return "\n\n".join(p for p in parts if p)


def sources_text(run: LessonRun) -> Text:
    """The step's sources, one line each, dim (plain text: never parsed as markup)."""
    sources = run.current_step.sources
    text = Text(style="dim")
    if sources:
        # One a line, below a heading: a long one wraps without hiding where the next begins.
        text.append("Sources:")
        for source in sources:
            text.append(f"\n· {source}")
    return text


def checklist(run: LessonRun) -> Text:
    """One line a step: a tick when done, an arrow at the current one."""
    text = Text()
    for i, step in enumerate(run.lesson.steps):
        if i:
            text.append("\n")
        done = i in run.done
        mark = TICK if done else HERE if i == run.index else TODO
        style = "green" if done else "bold" if i == run.index else "dim"
        title = step.title or f"Step {i + 1}"
        text.append(f"{mark} {i + 1:>2} ", style=style)
        text.append(Text(title, style="bold" if i == run.index else ""))
    return text


def status_line(run: LessonRun) -> Text:
    """``Step 2/7 · SIGTERM: polite`` with a tick when it is done."""
    step = run.current_step
    total = len(run.lesson.steps)
    text = Text(f"Step {run.index + 1}/{total}", style="bold")
    if step.title:
        text.append(" · ")
        text.append(step.title)
    if run.index in run.done and step.checked:
        text.append(f" {TICK}", style="bold green")
    checked = sum(1 for s in run.lesson.steps if s.checked)
    done = sum(1 for i in run.done if run.lesson.steps[i].checked)
    text.append(f"  ({done}/{checked} done)", style="dim")
    if run.finished:
        text.append("  — lesson complete!", style="bold green")
    return text


class StepProgress(ProgressBar):
    """Textual's progress bar without its once-a-second wake-up.

    ProgressBar calls its ``update()`` every second to recompute its ETA, shown or not: in a
    class of thirty idle pages, thirty wake-ups a second that change nothing on screen. The
    pane shows no ETA, and moves the bar itself (:meth:`LessonPane.show`), so that timer is
    paused as soon as it is made."""

    def set_interval(
        self, interval: float, callback: Callable[..., Any] | None = None, **kwargs: Any
    ) -> Timer:
        timer = super().set_interval(interval, callback, **kwargs)
        if callback == self.update and not self.show_eta:
            timer.pause()
        return timer


class LessonPane(Vertical):
    """Status line, progress bar, checklist, the step's text and hints, and an answer box.

    A part of the dashboard (:class:`~sigscope.ui.dashboard.DashboardPart`): the screen tells
    it of every batch of the lab's events and every scan, and it answers with
    :class:`LabChanged`, on which the app checks the lesson's run.
    """

    class LabChanged(Message):
        """The lab said something (events, a scan): the run may have moved on."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LessonPane.LabChanged)

    DEFAULT_CSS = """
    LessonPane { height: 1fr; padding: 0 1; }
    LessonPane #lesson-status { height: auto; }
    LessonPane #lesson-progress { height: 1; }
    LessonPane #lesson-checklist { height: auto; max-height: 9; margin-bottom: 1; }
    LessonPane #lesson-text { height: 1fr; }
    LessonPane #lesson-step { margin: 0; padding: 0; }
    LessonPane #lesson-step MarkdownBlock { margin-bottom: 1; }
    /* Code wraps at the pane's edge: a fence scrolls sideways with no scrollbar, so a cut
       line looked complete (issue 19). */
    LessonPane #lesson-step MarkdownFence { overflow-x: hidden; }
    LessonPane #lesson-step MarkdownFence > Label { width: 100%; text-wrap: wrap; }
    LessonPane #lesson-sources { height: auto; padding: 0 2; margin-bottom: 1; }
    LessonPane #lesson-answer { display: none; height: 3; }
    LessonPane.-question #lesson-answer { display: block; }
    LessonPane.-predict #lesson-answer { display: block; }
    LessonPane #lesson-keys { height: auto; color: $text-muted; }
    """

    def __init__(
        self, *, keys: str = "", id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.keys = keys
        self._shown_markdown: str | None = None
        self._shown_checklist: str | None = None
        self._shown_sources: str | None = None
        self._shown_status: Text | None = None

    def dashboard_events(self, events: Sequence[dict[str, Any]]) -> None:
        self.post_message(self.LabChanged())

    def dashboard_snapshot(self, snapshot: Any) -> None:
        self.post_message(self.LabChanged())

    def compose(self) -> ComposeResult:
        yield Static(id="lesson-status")
        yield StepProgress(total=100, show_eta=False, show_percentage=False, id="lesson-progress")
        yield Static(id="lesson-checklist")
        with VerticalScroll(id="lesson-text", can_focus=False):
            yield Markdown(id="lesson-step")
            yield Static(id="lesson-sources")
        yield Input(placeholder="your answer, then Enter", id="lesson-answer", max_length=80)
        yield Static(Text(self.keys), id="lesson-keys")

    @property
    def markdown_shown(self) -> str:
        """The Markdown the pane shows now (what tests and screenshots read)."""
        return self._shown_markdown or ""

    @property
    def checklist_shown(self) -> str:
        """The checklist as plain text (a line a step, ✓ for the done ones)."""
        return self._shown_checklist or ""

    @property
    def sources_shown(self) -> str:
        """The step's sources as shown under its text (plain)."""
        return self._shown_sources or ""

    @property
    def answer_box(self) -> Input:
        return self.query_one("#lesson-answer", Input)

    def show(self, run: LessonRun | None, message: str | None = None) -> None:
        """Draw ``run`` (None: no lesson yet, only ``message``)."""
        if run is None:
            self._set_status(Text(message or "No lesson", style="bold"))
            self._set_markdown("")
            self._set_sources(Text())
            self.set_class(False, "-question")
            self.set_class(False, "-predict")
            return
        self._set_status(status_line(run))
        self.query_one("#lesson-progress", ProgressBar).update(progress=round(run.fraction * 100))
        marks = checklist(run)
        if marks.plain != self._shown_checklist:
            self._shown_checklist = marks.plain
            self.query_one("#lesson-checklist", Static).update(marks)
        question = run.current_step.question is not None and run.index not in run.done
        self.set_class(question, "-question")
        predicting = run.awaiting_prediction
        self.set_class(predicting, "-predict")
        box = self.answer_box
        box.placeholder = "your prediction, then Enter" if predicting else "your answer, then Enter"
        self._set_markdown(step_markdown(run))
        self._set_sources(sources_text(run))

    def _set_status(self, text: Text) -> None:
        # The app shows the run after every check (a snapshot a second, idle): updating a
        # Static lays the whole screen out again and sends its lines to the page, so only on
        # a change (Text compares its text and its spans; the base style apart).
        old = self._shown_status
        if old is None or text != old or text.style != old.style:
            self._shown_status = text
            self.query_one("#lesson-status", Static).update(text)

    def _set_sources(self, text: Text) -> None:
        if text.plain != self._shown_sources:
            self._shown_sources = text.plain
            self.query_one("#lesson-sources", Static).update(text)

    def _set_markdown(self, text: str) -> None:
        old = self._shown_markdown
        if text != old:
            self._shown_markdown = text
            self.query_one("#lesson-step", Markdown).update(text)
            scroller = self.query_one("#lesson-text", VerticalScroll)
            # A hint is added below the text: show it; a new step starts at its top.
            if old and text.startswith(old):
                self.call_after_refresh(scroller.scroll_end, animate=False)
            else:
                scroller.scroll_home(animate=False)

"""The lesson picker (``sigscope lesson`` with no name, or ``L`` in lesson mode).

Lists every lesson of the folder with the learner's progress; Enter dismisses the chosen
lesson's path. A broken lesson file is listed too, disabled, with the number of problems and
the command that shows them: a teacher sees why it is missing instead of wondering.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from sigscope.course.catalog import LessonEntry


def entry_label(entry: LessonEntry, width: int) -> Text:
    """``✓ 5/5  01-kill-and-default-actions  Kill and default actions``."""
    text = Text(no_wrap=True, overflow="ellipsis")  # one line a lesson, even at 80 columns
    if entry.lesson is None:
        text.append("✗      ", style="red")
        text.append(entry.name.ljust(width), style="dim")
        text.append(f"  invalid: {len(entry.problems)} problem(s), see sigscope lessons --check")
        return text
    complete = entry.checked and entry.done == entry.checked
    mark = "✓" if complete else "…" if entry.done else " "
    text.append(f"{mark} ", style="green" if complete else "yellow")
    text.append(f"{entry.done:>2}/{entry.checked:<2} ", style="dim")
    text.append(entry.name.ljust(width), style="cyan")
    text.append("  ")
    text.append(entry.title, style="bold")
    return text


class LessonPicker(Screen[Path | None]):
    """Every lesson with its progress; dismisses the path of the one chosen (None: none)."""

    DEFAULT_CSS = """
    LessonPicker { align: center top; }
    LessonPicker > Vertical { width: 100%; max-width: 110; height: 1fr; padding: 0 1; }
    LessonPicker #picker-title { text-style: bold; margin: 1 0 0 0; }
    LessonPicker OptionList {
        height: 1fr; min-height: 5; text-wrap: nowrap; text-overflow: ellipsis;
    }
    LessonPicker #picker-summary { height: auto; max-height: 8; padding: 0 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Back"),
        Binding("q", "cancel", "Back", show=False),
    ]

    def __init__(self, entries: list[LessonEntry], current: str | None = None) -> None:
        super().__init__()
        self.entries = entries
        self.current = current

    def compose(self) -> ComposeResult:
        width = max((len(e.id) for e in self.entries), default=0)
        options = [
            Option(entry_label(e, width), id=str(i), disabled=e.lesson is None)
            for i, e in enumerate(self.entries)
        ]
        with Vertical():
            yield Label(
                Text(
                    "Lessons — ↑↓ to choose, Enter to open, Esc to go back"
                    if self.entries
                    else "No lessons in this folder (Esc to go back)"
                ),
                id="picker-title",
            )
            yield OptionList(*options, id="picker-list")
            yield Static(id="picker-summary")
        yield Footer()

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        ids = [e.id for e in self.entries]
        if self.current in ids:
            menu.highlighted = ids.index(self.current)
        else:  # the first lesson not finished yet: where a learner goes on
            for i, e in enumerate(self.entries):
                if e.lesson is not None and (e.done < e.checked or not e.checked):
                    menu.highlighted = i
                    break
        menu.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        entry = self.entries[int(event.option_id or 0)]
        summary = entry.lesson.summary if entry.lesson else ""
        # Plain text: the summary's Markdown emphasis marks would only be noise here.
        shown = "".join(c if c.isprintable() else " " for c in summary if c not in "*`")
        self.query_one("#picker-summary", Static).update(Text(" ".join(shown.split())))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.entries[int(event.option_id or 0)].path)

    def action_cancel(self) -> None:
        self.dismiss(None)

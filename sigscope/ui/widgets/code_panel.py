"""The Code panel: Python the learner types, run in the selected playground worker (issue 17).

A ``TextArea`` with Python highlighting (tree-sitter, from ``textual[syntax]``; plain text if
the grammar is missing), history, and keys: **ctrl+enter** runs (terminals that speak the kitty
keyboard protocol deliver it as ``CSI 13;5u``; a plain terminal or tmux sends Enter, and
xterm's modifyOtherKeys form ``CSI 27;5;13~`` parses as ``ctrl+\r`` in Textual 8.2.8: measured
with its XTermParser), so **ctrl+o** runs too and is the one the footer shows (not ctrl+r: in
a lesson that resets the lesson, without asking), **ctrl+g** stops a running snippet (the
worker is replaced if it does not stop), **ctrl+up / ctrl+down** walk the history.

The panel is bound to a playground worker by *index* (``worker:N``), so a worker replaced after
a Stop is still the one the panel talks to. What comes back (output, results, exceptions,
``report`` calls) is shown under the editor; the other panels (dispositions, timers, chart)
show the effects as they do for any behaviour.

The dashboard feeds it like its other sinks (``add_event``, ``update_snapshot``, ``clear``,
``show_pid``) and asks it to run with :meth:`run_code`. As root, the first run asks for a
confirmation that names the risk.

The panel is hidden until it is needed, so its insides (the editor, in
:mod:`sigscope.ui.widgets.code_editor`, and the output) are made, and ``TextArea`` imported, the
first time it is shown or written to, not with the dashboard's first frame (issue 14).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from sigscope.sources.base import LabProcess, Source
from sigscope.ui.screens.confirm import ConfirmDialog

if TYPE_CHECKING:
    from textual.widgets import Log

    from sigscope.ui.widgets.code_editor import CodeEditor

MAX_HISTORY = 50
MAX_OUTPUT_LINES = 500
ROOT_QUESTION = "Run your code as root?"
ROOT_DETAIL = (
    "The playground runs this Python in a lab worker as root: it can read, change or delete "
    "any file and signal or kill any process on this machine. sigscope only limits its own "
    "sends to the lab; your code is not sandboxed."
)


def highlighting_available() -> bool:
    """Whether tree-sitter's Python grammar is installed (``textual[syntax]``)."""
    try:
        from textual._tree_sitter import get_language

        return get_language("python") is not None
    except Exception:
        return False


def __getattr__(name: str) -> Any:
    # The editor (a TextArea) is imported with the panel's insides, when first shown: it is not
    # part of the dashboard's first frame (issue 14). ``code_panel.CodeEditor`` still works.
    if name == "CodeEditor":
        from sigscope.ui.widgets.code_editor import CodeEditor

        return CodeEditor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CodePanel(Vertical):
    """Editor, status and output for one playground worker (by index)."""

    DEFAULT_CSS = """
    CodePanel {
        height: 14; display: none;
        border: round $primary 40%; border-title-color: $text; border-title-style: bold;
    }
    CodePanel:focus-within { border: heavy $accent; border-title-background: $accent; }
    CodePanel.-shown { display: block; }
    CodePanel #code-state { height: 1; padding: 0 1; color: $text-muted; }
    CodePanel #code-state.-running { color: $warning; text-style: bold; }
    CodePanel Horizontal { height: 1fr; }
    CodePanel CodeEditor { width: 1fr; height: 100%; }
    CodePanel #code-output { width: 1fr; height: 100%; border-left: solid $primary 40%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index: int | None = None  # the playground worker's index this panel talks to
        self.history: list[str] = []
        self._history_pos = 0
        self._draft = ""
        self.running: dict[int, int] = {}  # pid -> id of the snippet it runs now
        self.root_accepted = False
        self._highlighting: bool | None = None  # asked when the editor is made
        self._editor: CodeEditor | None = None  # made, with the output, when first needed
        self._output: Log | None = None
        self.border_title = "Code"

    @property
    def highlighting(self) -> bool:
        """Whether the editor highlights Python (tree-sitter's grammar is installed)."""
        if self._highlighting is None:
            self._highlighting = highlighting_available()
        return self._highlighting

    def compose(self) -> ComposeResult:
        # Empty: the panel is hidden until a playground worker exists or `e` is pressed, and
        # its editor (a TextArea) and output are made then, by _build (issue 14: first frame).
        return iter(())

    @property
    def _built(self) -> bool:
        return self._editor is not None

    def _build(self) -> tuple[CodeEditor, Log]:
        """The editor and the output, made (with the state line) and mounted the first time:
        they can be written to and focused right after."""
        if self._editor is not None and self._output is not None:
            return self._editor, self._output
        from textual.widgets import Log

        from sigscope.ui.widgets.code_editor import CodeEditor

        editor = CodeEditor(
            "",
            language="python" if self.highlighting else None,
            show_line_numbers=True,
            tab_behavior="indent",
            soft_wrap=False,
            id="code-editor",
        )
        editor.border_title = "Python"
        output = Log(max_lines=MAX_OUTPUT_LINES, id="code-output")
        self._editor, self._output = editor, output
        self.mount(Static(self._state_text(), id="code-state"), Horizontal(editor, output))
        return editor, output

    # -- what the dashboard calls ----------------------------------------------------------
    @property
    def editor(self) -> CodeEditor:
        return self._build()[0]

    @property
    def output(self) -> Log:
        return self._build()[1]

    def show(self, focus: bool = True) -> None:
        self._build()
        self.add_class("-shown")
        self._pick_worker()
        self._refresh_state()
        if focus:
            self.editor.focus()

    def clear(self) -> None:
        self.running.clear()
        if self.is_mounted and self._built:
            self.output.clear()
            self._refresh_state()

    def update_snapshot(self, snapshot: Any) -> None:
        pass  # the dispositions and timers panels show what the code changed

    def show_pid(self, pid: int | None) -> None:
        """The tree's selection: bind to it if it is a playground worker."""
        proc = self._lab_process(pid)
        if proc is not None and proc.behaviour == "playground" and proc.index is not None:
            self.index = proc.index
            self._refresh_state()

    def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        """A batch of the lab's events (the dashboard's ``EventSink``), one at a time."""
        for event in events:
            self.add_event(event)

    def add_event(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == "spawn" and event.get("behaviour") == "playground":
            if self.index is None:
                self.index = event.get("index")
            self.show(focus=False)
            return
        if kind not in ("snippet", "report", "disposition") or event.get("role") != "worker":
            if kind in ("reaped", "gone") and event.get("child") in self.running:
                self.running.pop(event["child"], None)
                self._refresh_state()
            return
        if event.get("index") != self.index or not self.is_mounted:
            return
        pid = event.get("pid", 0)
        if kind == "snippet":
            self._snippet(pid, event)
        elif kind == "report":
            fields = {
                k: v
                for k, v in event.items()
                if k not in ("t", "pid", "role", "kind", "index", "snippet")
            }
            shown = ", ".join(f"{k}={v!r}" for k, v in fields.items())
            self.output.write_line(f"report({shown})")
        elif kind == "disposition" and event.get("snippet") is not None:
            self.output.write_line(
                f"# {event.get('sig')}: {event.get('previous')} → {event.get('disposition')}"
            )

    @property
    def source(self) -> Source | None:
        """The source the dashboard shows (its ``lab``; None before one starts). The panel
        sits in the dashboard, which imports it: it cannot import the app's class."""
        source: Source | None = getattr(self.app, "lab", None)
        return source

    # -- running --------------------------------------------------------------------------
    def run_code(self, confirmed: bool = False) -> None:
        code = self.editor.text
        if not code.strip():
            self.app.notify("Type some Python first.", severity="warning")
            return
        lab = self.source
        if lab is None or not lab.running:
            self.app.notify("The lab is not running. Press R to restart it.", severity="warning")
            return
        self._pick_worker()
        if self.index is None:
            self.app.notify(
                "No playground worker: start one with n (Spawn…) → playground.",
                severity="warning",
            )
            return
        if os.geteuid() == 0 and not (confirmed or self.root_accepted):
            self.app.push_screen(
                ConfirmDialog(ROOT_QUESTION, ROOT_DETAIL, yes="Run as root"),
                lambda yes: self._root_answer(bool(yes)),
            )
            return
        try:
            lab.run_code(f"worker:{self.index}", code)
        except Exception as e:  # LabError, AttachError: a message fit for the user
            self.app.notify(f"Code not run: {e}", severity="error")
            return
        if not self.history or self.history[-1] != code:
            self.history.append(code)
            del self.history[:-MAX_HISTORY]
        self._history_pos = len(self.history)
        self._draft = ""

    def _root_answer(self, yes: bool) -> None:
        # Back to the editor either way: the dialog left the focus on the tree, where the
        # next letters typed would have been signal keys (found in a real terminal).
        self.editor.focus()
        if yes:
            self.root_accepted = True
            self.run_code(confirmed=True)
        else:
            self.app.notify("Not run: you did not accept running code as root.")

    def stop_code(self) -> None:
        if self.index is None:
            return
        if not any(self._index_of(pid) == self.index for pid in self.running):
            self.app.notify("Nothing is running in this worker.", timeout=3)
            return
        self._stop(self.index)

    @work(thread=True, exclusive=True, group="code-stop")
    def _stop(self, index: int) -> None:
        # Blocks up to the grace (Lab.stop_code waits for the snippet to end): a thread, which
        # only sends signals (never forks: textual8.md).
        lab = self.source
        if lab is None:
            return
        try:
            result = lab.stop_code(f"worker:{index}")
        except Exception as e:
            self.app.notify(f"Not stopped: {e}", severity="error")
            return
        if result == "replaced":
            self.app.notify(
                f"The snippet did not stop: worker {index} was killed and is being replaced.",
                severity="warning",
            )

    def history_step(self, step: int) -> None:
        if not self.history:
            return
        if self._history_pos == len(self.history):
            self._draft = self.editor.text
        pos = max(0, min(len(self.history), self._history_pos + step))
        self._history_pos = pos
        text = self.history[pos] if pos < len(self.history) else self._draft
        self.editor.load_text(text)
        self.editor.move_cursor(self.editor.document.end)

    # -- inside ---------------------------------------------------------------------------
    def _snippet(self, pid: int, event: dict[str, Any]) -> None:
        action = event.get("action")
        out = self.output
        if action == "started":
            self.running[pid] = event.get("id", 0)
            out.write_line(f">>> snippet {event.get('id')} ({event.get('lines')} lines)")
        elif action == "output":
            # Log.write_line starts a line of its own; the worker sends whole lines (or 1 KiB
            # pieces of a longer one, shown as lines of their own).
            out.write_lines(str(event.get("text", "")).rstrip("\n").split("\n"))
        elif action == "truncated":
            out.write_line(f"… output over {event.get('limit')} characters dropped")
        elif action == "finished":
            self.running.pop(pid, None)
            if event.get("result") is not None:
                out.write_line(str(event["result"]))
        elif action == "raised":
            if event.get("during") != "idle":
                self.running.pop(pid, None)
            text = str(event.get("text", event.get("exception", "")))
            out.write_lines(text.rstrip("\n").split("\n"))
        elif action == "stopped":
            self.running.pop(pid, None)
            out.write_line(f"■ snippet {event.get('id')} stopped")
        elif action == "refused":
            out.write_line(f"refused: {event.get('why')}")
        self._refresh_state()

    def _lab_process(self, pid: int | None) -> LabProcess | None:
        lab = self.source
        if lab is None or pid is None:
            return None
        return lab.processes.get(pid)

    def _index_of(self, pid: int) -> int | None:
        proc = self._lab_process(pid)
        return None if proc is None else proc.index

    def _pick_worker(self) -> None:
        """Bind to the first live playground worker if none is bound yet."""
        if self.index is not None:
            return
        lab = self.source
        if lab is None:
            return
        for proc in lab.live_workers():
            if proc.behaviour == "playground" and not proc.exited:
                self.index = proc.index
                return

    def _state_text(self) -> Text:
        lab = self.source if self.is_attached else None
        if lab is not None and lab.can_control and not lab.can_run_code:
            return Text("Code is off in this session (sigscope serve without --allow-code).")
        if self.index is None:
            return Text("No playground worker: n (Spawn…) → playground, or select one.")
        busy = [pid for pid in self.running if self._index_of(pid) == self.index]
        keys = "ctrl+o (or ctrl+enter) runs · ctrl+↑/↓ history · esc leaves"
        plain = "" if self.highlighting else " · no highlighting (textual[syntax] missing)"
        if busy:
            return Text(
                f"worker {self.index} (pid {busy[0]}): running snippet {self.running[busy[0]]}… "
                "ctrl+g stops it · signals still reach it"
            )
        return Text(f"worker {self.index}: idle, waiting for code · {keys}{plain}")

    def _refresh_state(self) -> None:
        if not (self.is_mounted and self._built):
            return
        state = self.query_one("#code-state", Static)
        state.update(self._state_text())
        busy = any(self._index_of(pid) == self.index for pid in self.running)
        state.set_class(busy, "-running")
        self.border_title = f"Code — worker {self.index}" if self.index is not None else "Code"


__all__ = ["CodeEditor", "CodePanel", "highlighting_available"]

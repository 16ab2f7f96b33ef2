"""The help screen (``?``): every key, what the tree's columns and state letters mean, and the
dispositions panel's abbreviations (a narrow panel writes ``dflt cgt ign blk pnd``)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

STATES = (
    ("R", "running (or runnable)"),
    ("S", "sleeping: waiting for something (a signal, a read, a timer)"),
    ("D", "uninterruptible sleep: signals wait until the system call ends"),
    ("T", "stopped by SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU: SIGCONT resumes it"),
    ("Z", "zombie: it has exited, its parent has not reaped it (wait) yet"),
    ("reaped", "its parent collected the exit status; it is gone"),
)


COLUMNS = (
    ("●", "tagged (space): k / F9 sends to every tagged process"),
    ("ROLE", "master, worker N; orphan: forked by a worker (of PID); adopted: an orphan whose"),
    ("", "worker died, re-parented to sigscope, the child subreaper, which must reap it"),
    ("S", "the state letter from /proc (below)"),
    ("SIGS", "how many signals this process's handler has run for"),
    ("LAST", "the last signal its handler ran for"),
    ("RATE", "handled signals per second over the last 10 seconds"),
)


# The dispositions panel's columns (full word, short form when the panel is narrow).
DISPOSITIONS = (
    ("default / dflt", "what the kernel does with the signal under SIG_DFL: Term, Core, Stop,"),
    ("", "Cont or Ign"),
    ("caught / cgt", "a handler is installed (SigCgt in /proc/PID/status)"),
    ("ignored / ign", "set to SIG_IGN: discarded when sent (SigIgn)"),
    ("blocked / blk", "in the signal mask: it waits, pending, until unblocked (SigBlk)"),
    ("pending / pnd", "sent but not delivered yet, usually because it is blocked (SigPnd/ShdPnd)"),
    ("ran", "how many times this process's handler has run for it"),
    ("never / –", "SIGKILL and SIGSTOP: can never be caught, ignored or blocked"),
)

FOCUS = (
    "\nThe focused panel has a heavy, bright border. In a filter or the answer box letters are "
    "typed, not keys: esc brings you back to the process tree, where every key works again. "
    "Notices appear on the line above the footer."
)


def help_table(keys: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key, what in keys:
        table.add_row(Text(key), Text(what))
    return table


class HelpScreen(ModalScreen[None]):
    """Keys (from the app's own bindings, so it never goes stale) and a legend."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 100%; height: 90%; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("sigscope — keys (Esc closes)", style="bold"))
            yield Static(help_table(self.keys))
            yield Static(Text("\nProcess tree columns", style="bold"))
            yield Static(help_table(list(COLUMNS)))
            yield Static(Text("\nProcess states (column S)", style="bold"))
            yield Static(help_table(list(STATES)))
            yield Static(Text("\nDispositions panel (full / narrow heading)", style="bold"))
            yield Static(help_table(list(DISPOSITIONS)))
            yield Static(Text(FOCUS))
            yield Static(
                Text(
                    "\nThe quick keys send to the selected process; k / F9 opens the menu for "
                    "the selected process, or for every tagged one (space tags). Signals that "
                    "end the lab (TERM, INT, QUIT, KILL to the master) ask first. Every action "
                    "is also in the command palette (ctrl+p)."
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)

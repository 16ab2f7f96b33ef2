"""Every action of the dashboard in one table: keys, footer label, palette and help text.

Bindings, the command palette and the help screen are all generated from :data:`COMMANDS`, so
the three can never disagree about what a key does.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Command:
    """One thing a user can do, and every way to reach it."""

    keys: str  # Textual key names, comma-separated
    action: str  # an action string of SigscopeApp
    title: str  # the palette's title and the help screen's description
    footer: str | None = None  # the footer's short label; None: not in the footer
    shown_keys: str | None = None  # how the help screen writes the keys

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.footer or self.title,
            show=self.footer is not None,
            key_display=None,
        )


# The quick signals: key, signal. Lower-case letters, away from htop's meanings where it has one.
QUICK_SIGNALS: tuple[tuple[str, str], ...] = (
    ("t", "SIGTERM"),
    ("x", "SIGKILL"),
    ("i", "SIGINT"),
    ("h", "SIGHUP"),
    ("u", "SIGUSR1"),
    ("s", "SIGSTOP"),
    ("c", "SIGCONT"),
    ("a", "SIGALRM"),
)

COMMANDS: tuple[Command, ...] = (
    Command(
        "k,f9",
        "signal_menu",
        "Send a signal… (every signal; to tagged ones if any)",
        "Signal",
        "k / F9",
    ),
    Command("space", "tag", "Tag or untag the selected process", None, "space"),
    *(
        Command(
            key,
            f"quick('{sig}')",
            f"Send {sig} to the selected process",
            sig[3:] if sig in ("SIGTERM", "SIGKILL") else None,
            key,
        )
        for key, sig in QUICK_SIGNALS
    ),
    Command("plus", "master('SIGTTIN')", "Master: one more worker (SIGTTIN)", "+TTIN", "+"),
    Command("minus", "master('SIGTTOU')", "Master: one worker fewer (SIGTTOU)", "-TTOU", "-"),
    Command(
        "m", "reaping", "Reaping mode: who collects exited children (zombies)…", "Reaping", "m"
    ),
    Command("n", "new_worker", "Start a new worker with a chosen behaviour…", "Spawn", "n"),
    Command(
        "e",
        "code",
        "Code: run your own Python in a playground worker (ctrl+o runs, ctrl+g stops)",
        "Code",
        "e",
    ),
    Command("R", "restart", "Restart the lab (a fresh master and workers)", "Restart", "R"),
    Command("f", "filter_selected", "Event log: only the selected process (again: all)", None, "f"),
    Command("S", "save_svg", "Save the screen as an SVG file (for a handout)", None, "S"),
    Command(
        "f7",
        "focus_terminal",
        "Terminal lane (--terminal): type into its shell; esc leaves it, F8 hangs it up",
        None,
        "F7",
    ),
    Command("question_mark", "help", "Help: keys and what the columns mean", "Help", "?"),
    Command("q", "quit", "Quit (ends the lab; no process is left behind)", "Quit", "q / ctrl+q"),
    Command(
        "escape",
        "focus_tree",
        "Back to the process tree (from a filter, the answer box or any panel)",
        None,
        "esc",
    ),
)


def help_keys() -> list[tuple[str, str]]:
    """(keys as a person types them, what they do) for the help screen."""
    rows = [(c.shown_keys or c.keys, c.title) for c in COMMANDS]
    rows.append(("ctrl+p", "Command palette: every action by name"))
    rows.append(("↑ ↓ / mouse", "Select a process or an event"))
    rows.append(("tab", "Move between panels"))
    rows.append(("p (in the chart)", "Pause or resume the sequence chart"))
    return rows

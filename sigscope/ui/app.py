"""The app shell: one source's life cycle, the keys that act on it, notices, help and quit.

:class:`SigscopeApp` makes a :class:`~sigscope.ui.dashboard.DashboardScreen` its first screen
and keeps what is the app's: the settings, the lab's life cycle (start, restart, stop; the
generations that tell a restarted lab's late messages apart), the bindings and actions that
signal the lab or open a dialog, the command palette, help, quit, SIGTERM / SIGHUP, and the
notices (to the screen's status line). The panels, the routing of the lab's events and scans to
them and the tree's refresh live in :mod:`sigscope.ui.dashboard`; ``app.process_tree``,
``app.panel(key)``, ``app.event_log`` and the like are thin properties over the screen's. A
variant (lesson, demo, replay) configures the screen in its ``__init__`` (a pane, an action
bar, a layout) and extends the public ``start_lab`` and ``dashboard_ready`` with ``super()``
calls; the shell's other methods are not hooks.

Threads and processes (textual8.md, design.md):

- the lab is started on the app's (main) thread, just after the first frame (the tree says
  "starting lab…" until then) and on restart: the master arms ``PR_SET_PDEATHSIG``, which
  fires when the *thread* that forked it exits, so it must never be started from a thread
  worker;
- the lab calls its subscribers on its reader thread and the sampler on its own: both only
  ``post_message`` (thread-safe); every widget is touched from the app's thread alone;
- quitting closes the lab (kill, reap, wait) before the app exits, so nothing is left.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.errors import MarkupError
from rich.text import Text
from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input

from sigscope.lab.behaviours import BEHAVIOURS
from sigscope.observe.sampler import Snapshot
from sigscope.signames import parse_signal, signal_name
from sigscope.sources.base import Source, SourceError
from sigscope.ui.commands import COMMANDS, help_keys
from sigscope.ui.dashboard import (  # noqa: F401 - where the app's importers found them
    FULL_HEIGHT,
    FULL_WIDTH,
    HINT,
    SECONDARY,
    SLICE,
    STARTING,
    DashboardScreen,
    Event,
    EventSink,
    describe_workers,
    layout_for,
)
from sigscope.ui.messages import LabEvents, Notice, RecordedSnapshot, SnapshotReady
from sigscope.ui.models.inbox import EventInbox
from sigscope.ui.models.master import REAPING_HELP
from sigscope.ui.models.rates import RateHistory
from sigscope.ui.models.tree import ProcessRow
from sigscope.ui.screens.confirm import ConfirmDialog
from sigscope.ui.screens.too_small import TooSmallScreen, too_small
from sigscope.ui.settings import LabSettings, SourceSettings
from sigscope.ui.widgets.action_button import ActionButton  # noqa: F401 - as before
from sigscope.ui.widgets.event_log import EventLog
from sigscope.ui.widgets.master_panel import MasterPanel
from sigscope.ui.widgets.process_tree import ProcessTree
from sigscope.ui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from sigscope.ui.screens.signal_menu import SignalChoice
    from sigscope.ui.widgets.session_tree import SessionTree

# The dialogs (signal menu, choices, parameters, help) are imported when first opened: none
# is on the first frame, and together they were about 3 ms of the start-up (issue 14).

# Signals that end the lab when the master gets them: asked before sending (issue 4).
LAB_ENDING = frozenset(parse_signal(s) for s in ("TERM", "INT", "QUIT", "KILL"))
TERMINATION_GRACE = 5.0  # seconds a SIGTERM / SIGHUP may take to end the app before _exit
NOTICE_TIMEOUT = 5.0  # seconds a notice stays on the status line unless its caller says
ROOT_MARK = "⚠ RUNNING AS ROOT"
# Actions that change the lab itself (not one process of it): a fresh lab has them, an
# attached tree or a recording does not, so their buttons and footer keys are not shown there.
LAB_ONLY_ACTIONS = frozenset({"master", "reaping", "new_worker", "restart", "code"})
LAB_ONLY_BUTTONS = ("btn-ttin", "btn-ttou", "btn-reaping", "btn-spawn", "btn-restart")
# The footer is cut on the right at 80 columns: the keys a newcomer needs most come first.
FOOTER_FIRST = ("signal_menu", "help", "quit")


def lab_controls(settings: SourceSettings) -> bool:
    """Whether ``settings`` makes a lab of our own (TTIN, reaping, spawn, restart apply)."""
    return settings.lab_controls


def plain_target(row: ProcessRow | None, pid: int) -> str:
    if row is None:
        return f"pid {pid}"
    return f"{row.role} (pid {pid})"


class SigscopeApp(App[None]):
    """The shell around the dashboard screen, on one live lab (restartable)."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "sigscope"
    EVERY_SCAN: ClassVar[bool] = False
    """Hand every sampler scan to the app, even one the same as the last (a lesson checks its
    steps at each); the dashboard alone skips those, so an idle lab wakes it for nothing."""
    BINDINGS: ClassVar[list[BindingType]] = [
        c.binding() for c in sorted(COMMANDS, key=lambda c: c.action not in FOOTER_FIRST)
    ]

    def __init__(self, settings: SourceSettings | None = None) -> None:
        super().__init__()
        self.settings: SourceSettings = settings or LabSettings()
        self.lab: Source | None = None
        self.generation = 0
        self.last_signal = int(parse_signal("TERM"))
        self.ended_reason: str | None = None
        self._terminate_with: int | None = None
        self._froze_startup = False  # gc.freeze() at the first frame (unfrozen at exit)
        self.dashboard = DashboardScreen(
            lab_controls=lab_controls(self.settings),
            every_scan=self.EVERY_SCAN,
            clock=self.clock_ns,
            master_events=self.master_events,
            lab_ended=self._lab_ended,
            describes_workers=isinstance(self.settings, LabSettings),
        )

    def get_default_screen(self) -> Screen[Any]:
        return self.dashboard

    def get_driver_class(self) -> type[Driver]:
        """In a terminal, Textual's Linux driver whose input thread sleeps while no key comes
        (:mod:`sigscope.ui.tty_driver`), unless ``TEXTUAL_DRIVER`` names another (a served
        page's). Headless runs use Textual's headless driver whatever this returns."""
        from textual import constants

        if constants.DRIVER is not None or sys.platform == "win32":
            return super().get_driver_class()
        from sigscope.ui.tty_driver import TtyDriver

        return TtyDriver

    # -- the dashboard's widgets, as the app's callers (and tests) know them ------------------
    def panel(self, key: str) -> Widget:
        return self.dashboard.panel(key)

    @property
    def process_tree(self) -> ProcessTree:
        return self.dashboard.process_tree

    @property
    def event_log(self) -> EventLog:
        return self.dashboard.event_log

    @property
    def master_panel(self) -> MasterPanel:
        return self.dashboard.master_panel

    @property
    def status_line(self) -> StatusLine:
        return self.dashboard.status_line

    @property
    def rates(self) -> RateHistory:
        return self.dashboard.rates

    @property
    def layout_mode(self) -> str:
        """``full`` (every panel at once) or ``compact`` (secondary panels as tabs)."""
        return self.dashboard.layout_mode

    def refresh_tree(self) -> None:
        self.dashboard.refresh_tree()

    def apply_events(self, events: Sequence[Event]) -> None:
        """Hand a batch of the source's events to every panel (on the app's thread)."""
        self.dashboard.apply_events(events)

    def titled(self, title: str) -> str:
        """``title`` with the root warning, where it is always seen (the header)."""
        return f"{title} {ROOT_MARK}" if os.geteuid() == 0 else title

    async def on_mount(self) -> None:
        # SIGTERM / SIGHUP (a closed terminal) to the UI: quit the way `q` does, so the lab is
        # closed and the terminal restored. The loop's handler runs in the loop, between
        # callbacks, unlike a Python handler that raises into whatever code is running.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, self._terminated, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (e.g. some test harnesses): the CLI's handler stays
        testing = os.environ.get("SIGSCOPE_TESTING") == "1"
        if testing and os.environ.get("SIGSCOPE_FAULT") == "crash":
            # Fault injection for the end-to-end test that a crash restores the terminal and
            # leaves no lab process (tests/test_e2e_crash.py); test-only: the shipped product
            # ignores SIGSCOPE_FAULT unless SIGSCOPE_TESTING=1 is set as well.
            self.set_timer(1.0, self._crash_on_purpose)
        if self._terminate_with is not None:  # SIGTERM / SIGHUP came while starting up
            self.call_later(self._terminated, self._terminate_with)
            return
        if os.geteuid() == 0:
            # As root, a signal can reach any process: say so where it is always seen, in the
            # header (and, in the compact layout, which has none, on the status line's hint:
            # see _apply_layout). A toast here covered the lesson's step list at every start.
            self.title = self.titled(self.title)
        # Textual composes the default screen in a task of its own, after the app's mount
        # began: what needs its widgets waits for them here, still before the app handles its
        # first messages (a browser's page starts blurred: the tree focused after that left
        # the footer empty until the page was focused).
        await self.dashboard.mounted.wait()
        self.dashboard_ready()

    def dashboard_ready(self) -> None:
        """The dashboard's widgets are mounted: lay them out, focus the tree, and start the lab
        after the first frame. A variant adds what it needs here and calls this."""
        self._apply_layout(self.size.width, self.size.height)
        self.process_tree.focus()
        if os.geteuid() == 0:
            self._show_root_hint()
        # First frame first (issue 14): the screen is drawn with "starting lab…" in the tree,
        # then the lab is started, still on this thread (see the module's docstring): the
        # master's start (about half a second on a loaded machine) no longer delays the frame.
        self.call_after_refresh(self._start_after_first_frame)

    def _start_after_first_frame(self) -> None:
        # The first frame is drawn: the garbage collector, off since sigscope.cli started (a
        # tenth of the start-up went to collections), is back on (a no-op if it was on).
        if not gc.isenabled():
            # What start-up made (modules, classes, the screen's widgets: ~64,000 objects)
            # lives as long as the app: collected once, then frozen, so that full collections
            # no longer scan it. Under a 10,000-signal storm each full collection held the
            # app's loop 37-55 ms (several a storm: the frame lag's p99); frozen, 6-16 ms.
            gc.collect()
            gc.freeze()
            self._froze_startup = True
        gc.enable()
        quitting = self._terminate_with is not None or getattr(self, "_exit", False)
        if self.generation or quitting:
            return  # started already (R came first), or quitting (App.exit sets _exit)
        self.start_lab()

    def _show_root_hint(self) -> None:
        root = os.geteuid() == 0 and self.layout_mode == "compact"
        prefix = "⚠ running as root: signals still go only to this tree · " if root else ""
        self.status_line.set_hint(prefix + HINT)

    def on_resize(self, event: events.Resize) -> None:
        self._apply_layout(event.size.width, event.size.height)

    def _apply_layout(self, width: int, height: int) -> None:
        small = too_small(width, height)
        showing = isinstance(self.screen, TooSmallScreen)
        if small and not showing:
            self.push_screen(TooSmallScreen())
        elif not small and showing:
            self.pop_screen()
        if self.dashboard.set_layout(layout_for(width, height)):
            with suppress(NoMatches, IndexError):  # before the dashboard is composed
                self._show_root_hint()

    # -- notices ------------------------------------------------------------------------------
    def notify(  # same signature as Textual's; the notice goes to the status line
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a notice on the status line (thread-safe, as Textual's ``notify`` is).

        A toast covered whatever was under it (the step list, the master's zombie count); the
        status line has a row of its own. Over a dialog, the notice is also a toast on the
        dialog, where the student is looking (it covers nothing of the dashboard).
        """
        text = f"{title}: {message}" if title else str(message)
        self.post_message(Notice(text, str(severity), timeout or NOTICE_TIMEOUT, markup))

    def on_notice(self, message: Notice) -> None:
        try:
            line = self.status_line
        except (NoMatches, IndexError):
            line = None  # no dashboard (yet, or any more): Textual's toast it is
        if line is not None:
            text = message.text
            if message.markup:
                try:
                    text = Text.from_markup(text).plain
                except MarkupError:
                    pass  # not markup after all (a typed reply with a bracket): as written
            line.show_notice(text, message.severity, message.timeout)
        if line is None or self.screen is not self.screen_stack[0]:
            super().notify(
                message.text,
                severity=message.severity,  # type: ignore[arg-type]
                timeout=message.timeout,
                markup=message.markup,
            )

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # In an input, letters are typed, not keys: say so, and how to get out, the moment it
        # takes the focus (single-letter keys used to stop working without a word).
        widget = event.widget
        if isinstance(widget, Input) and widget.screen is self.screen_stack[0]:
            what = widget.placeholder.split("(")[0].strip() or "this box"
            self.notify(f"Typing into {what}: letters are typed here; esc: back to the tree")

    def action_focus_tree(self) -> None:
        """Escape: back to the process tree from a filter, the answer box or any panel, so
        that the single-letter keys work again (in an input they are typed)."""
        if self.screen is self.dashboard:
            self.dashboard.focus_home()

    # -- the lab's life ----------------------------------------------------------------------
    def start_lab(self) -> None:
        """Start a fresh lab (on this, the main, thread) and point every panel at it."""
        self.stop_lab()
        self.generation += 1
        generation = self.generation
        self.ended_reason = None
        self.dashboard.reset(generation)
        try:
            lab = self._sized_terminal(self.settings).make_source()
            lab.subscribe(self._inbox(generation).put)
            lab.start()
        except SourceError as e:
            self.lab = None
            self.dashboard.attach(None)
            self._set_banner(f"The lab could not start: {e}. Press R to try again, q to quit.")
            self.notify(f"The lab could not start: {e}", severity="error", timeout=10)
            return
        self.lab = lab
        self.dashboard.attach(lab)
        self.dashboard.show_terminal(lab)
        lab.subscribe_snapshots(functools.partial(self._snapshot_from_thread, generation))
        self.sub_title = self.settings.describe(lab)
        self.dashboard.ask_status()
        self.refresh_tree()

    def _sized_terminal(self, settings: SourceSettings) -> SourceSettings:
        """A terminal lane's pty starts at its panel's size: no SIGWINCH at start (issue 16)."""
        from dataclasses import replace

        from sigscope.ui.widgets.terminal_panel import lane_terminal_size

        if not isinstance(settings, LabSettings) or settings.terminal is None:
            return settings
        rows, cols = lane_terminal_size(self.size.width)
        return replace(settings, terminal=replace(settings.terminal, rows=rows, cols=cols))

    def action_focus_terminal(self) -> None:
        """F7: into the terminal lane's panel (keys then go to its shell; esc comes back)."""
        from sigscope.ui.widgets.terminal_panel import TerminalPanel

        panels = self.screen.query(TerminalPanel)
        if panels:
            panels.first().focus()
        else:
            self.notify("No terminal lane: start sigscope with --terminal", severity="warning")

    def stop_lab(self) -> None:
        """End the lab, if any: every lab process is killed and reaped before this returns."""
        lab, self.lab = self.lab, None
        if lab is not None:
            self.dashboard.detach()
            lab.close()

    def _inbox(self, generation: int) -> EventInbox:
        """Where the lab's reader thread puts this generation's events: one message for each
        batch (post_message is the one thread-safe hand-over)."""
        inbox = EventInbox(lambda: self.post_message(LabEvents(generation, inbox.take)))
        return inbox

    def _snapshot_from_thread(self, generation: int, snapshot: Snapshot) -> None:
        # Called on the sampler's thread: the screen keeps the newest and posts for it.
        self.dashboard.snapshot_from_thread(generation, snapshot)

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self.dashboard.take_snapshot(message)

    def on_recorded_snapshot(self, message: RecordedSnapshot) -> None:
        self.dashboard.remember_scan(message)

    def on_lab_events(self, message: LabEvents) -> None:
        self.dashboard.take_events(message)

    def master_events(self, events: Sequence[Event]) -> Iterable[Event]:
        """The events the master panel takes: the stream itself (a replay adds its own)."""
        return events

    def _ask_status(self) -> None:
        self.dashboard.ask_status()

    def _lab_ended(self) -> None:
        state = self.master_panel.state
        reason = state.ended or "the master exited"
        self.ended_reason = reason
        self._set_banner(
            f"The lab has ended: the master was {reason}. "
            "Press R (or Restart) for a fresh lab, q to quit."
            if reason.startswith("killed")
            else f"The lab has ended: the master {reason}. "
            "Press R (or Restart) for a fresh lab, q to quit."
        )
        self.notify(f"The lab has ended (master {reason}).", severity="warning", timeout=8)
        self.refresh_tree()
        # Nothing of this lab may outlive it: kill and reap any leftovers now.
        if self.lab is not None:
            self.lab.close()

    def _set_banner(self, text: str | None) -> None:
        self.dashboard.set_banner(text)

    def clock_ns(self) -> int:
        """Now, on the clock of the events' ``t``: ages and rates are measured against it
        (a replay answers with the recorded time at its play head)."""
        return time.monotonic_ns()

    # -- acting ------------------------------------------------------------------------------
    def _running_lab(self) -> Source | None:
        lab = self.lab
        if lab is None or not lab.running:
            why = f" ({self.ended_reason})" if self.ended_reason else ""
            self.notify(f"The lab is not running{why}. Press R to restart it.", severity="warning")
            return None
        return lab

    def _selected(self) -> ProcessRow | None:
        tree = self.process_tree
        pid = tree.selected_pid
        row = tree.row_for(pid) if pid is not None else None
        if row is None:
            self.notify("Select a process first (arrow keys or the mouse).", severity="warning")
        return row

    def send_signal(
        self,
        pids: Iterable[int],
        signum: int,
        confirmed: bool = False,
        value: int | None = None,
    ) -> None:
        """Send ``signum`` to each pid (queued with ``value``, if given); ask first if it
        would end the lab."""
        lab = self._running_lab()
        if lab is None:
            return
        pids = list(pids)
        name = signal_name(signum) + ("" if value is None else f"={value}")
        if not confirmed and signum in LAB_ENDING and lab.master_pid in pids:
            self.push_screen(
                ConfirmDialog(
                    f"Send {name} to the master (pid {lab.master_pid})?",
                    "This ends the lab: the master shuts its workers down and exits. "
                    "You can restart it afterwards with R.",
                    yes=f"Send {name}",
                ),
                lambda yes: self.send_signal(pids, signum, True, value) if yes else None,
            )
            return
        sent = []
        for pid in pids:
            row = self.process_tree.row_for(pid)
            if row is not None and row.gone:
                done = "been reaped" if row.state == "reaped" else "gone"
                self.notify(
                    f"{plain_target(row, pid)} has already {done}; {name} not sent.",
                    severity="warning",
                )
                continue
            try:
                lab.send(pid, signum, value)
            except SourceError as e:
                self.notify(f"{name} to {plain_target(row, pid)} not sent: {e}", severity="error")
            else:
                sent.append(plain_target(row, pid))
        # One send shows in the tree, the log and the chart at once; a toast would only cover
        # them. Several (tagged) sends are worth a word of confirmation.
        if len(sent) > 1:
            times = {target: sent.count(target) for target in sent}  # a count repeats targets
            to = ", ".join(f"{t} ×{n}" if n > 1 else t for t, n in times.items())
            self.notify(f"{name} sent to {to}", timeout=3)

    def _lane_instead(self) -> bool:
        """In a terminal lesson the lab's tree is hidden (lesson.tcss ``-terminal``): what the
        learner has selected is a row of the session tree, never the hidden master."""
        return self.dashboard.has_class("-terminal")

    def _session_tree(self) -> SessionTree | None:
        """The session tree that stands for the lab's tree in a terminal lesson, if shown."""
        trees = self.dashboard.query("#body > SessionTree")
        tree = trees.first() if trees else None
        if tree is None or not tree.display:
            self.notify(
                "The session tree is on its own tab at this size: open the Session tab to "
                "signal a job from it, or type kill in the Terminal (F7).",
                severity="warning",
            )
            return None
        return cast("SessionTree", tree)

    async def action_signal_menu(self) -> None:
        if self._running_lab() is None:
            return
        if self._lane_instead():
            session = self._session_tree()
            if session is not None:
                session.action_signal_menu()
            return
        tree = self.process_tree
        tagged = sorted(tree.tagged)
        if tagged:
            pids = tagged
            target = (
                f"{len(tagged)} tagged processes"
                if len(tagged) > 1
                else plain_target(tree.row_for(tagged[0]), tagged[0])
            )
        else:
            row = self._selected()
            if row is None:
                return
            pids = [row.pid]
            target = plain_target(row, row.pid)

        def chosen(choice: SignalChoice | None) -> None:
            if choice is None:
                return
            self.last_signal = choice.signum
            # A count (5*usr1 in the menu) sends to each target that many times, in turn.
            self.send_signal(pids * choice.count, choice.signum, value=choice.value)

        from sigscope.ui.screens.signal_menu import SignalMenu

        self.push_screen(SignalMenu(target, self.last_signal), chosen)

    def action_quick(self, sig: str) -> None:
        if self._lane_instead():
            session = self._session_tree()
            if session is not None:
                session.action_send(sig)
            return
        row = self._selected()
        if row is not None:
            self.send_signal([row.pid], parse_signal(sig))

    def action_master(self, sig: str) -> None:
        lab = self._running_lab()
        if lab is not None:
            self.send_signal([lab.master_pid], parse_signal(sig))

    def action_tag(self) -> None:
        if self._lane_instead():
            self.notify("Tags are for the lab's tree, not shown in a terminal lesson.", timeout=3)
            return
        pid = self.process_tree.toggle_tag()
        if pid is None:
            self.notify("Nothing to tag here: select a live process.", severity="warning")
        self.refresh_tree()

    def action_reaping(self) -> None:
        lab = self._running_lab()
        if lab is None:
            return
        choices = [(mode, mode, REAPING_HELP[mode]) for mode in ("handler", "off", "ignore")]

        def chosen(mode: str | None) -> None:
            if mode is None or self.lab is None:
                return
            try:
                self.lab.set_reaping(mode)
            except SourceError as e:
                self.notify(f"Reaping mode not changed: {e}", severity="error")
            else:
                self.notify(f"Reaping mode: {mode} ({REAPING_HELP[mode]})", timeout=3)

        from sigscope.ui.screens.choose import ChoiceDialog

        self.push_screen(
            ChoiceDialog("How should the master reap its children?", choices, lab.reaping), chosen
        )

    def action_new_worker(self) -> None:
        if self._running_lab() is None:
            return
        choices = [
            (b.name, b.name, b.summary) for b in sorted(BEHAVIOURS.values(), key=lambda b: b.name)
        ]

        def spawn(name: str, params: dict[str, Any] | None) -> None:
            if params is None or self.lab is None:
                return
            try:
                self.lab.spawn_worker(name, params)
            except SourceError as e:
                self.notify(f"No new worker: {e}", severity="error")
            else:
                self.notify(f"Asked the master for a new {name} worker", timeout=3)

        def chosen(name: str | None) -> None:
            if name is None or self.lab is None:
                return
            if not BEHAVIOURS[name].defaults:  # nothing to ask: start it
                spawn(name, {})
                return
            # A lesson may ask for parameters (crash with how=exit,code=137): the learner must be
            # able to type what "show me" would, so the defaults are offered for editing.
            from sigscope.ui.screens.params import ParamsDialog

            self.push_screen(ParamsDialog(name), lambda params: spawn(name, params))

        from sigscope.ui.screens.choose import ChoiceDialog

        self.push_screen(ChoiceDialog("Start a new worker running…", choices), chosen)

    def action_code(self) -> None:
        """Show the Code panel and put the cursor in it (issue 17: the playground)."""
        code = self.dashboard.code_panel
        if code is not None:
            code.show()

    def action_restart(self) -> None:
        self.notify("Restarting the lab…", timeout=2)
        self.start_lab()

    def action_filter_selected(self) -> None:
        log = self.event_log
        if log.pid_filter is not None:
            log.set_filter(None, log.sig_filter)
            self.notify("Event log: every process", timeout=2)
            return
        if self._lane_instead():
            session = self._session_tree()
            if session is None:
                return
            target = session.selected
            if target is None or target < 0:
                self.notify("Select a process (not a group) in the session tree.", timeout=3)
                return
            log.set_filter(target, log.sig_filter)
            self.notify(f"Event log: only pid {target}", timeout=2)
            return
        row = self._selected()
        if row is not None:
            log.set_filter(row.pid, log.sig_filter)
            self.notify(f"Event log: only {plain_target(row, row.pid)}", timeout=2)

    def action_save_svg(self) -> None:
        # Named by the time only: Textual's default name is the title, which can hold the
        # root warning (and so characters no one wants in a file name).
        filename = time.strftime("sigscope-%Y%m%d-%H%M%S.svg")
        if self.is_web:
            # Served (sigscope serve): the file is for the person at the browser, not for the
            # server's disk; textual-serve hands it to the page. As a download, not "browser"
            # (deliver_screenshot's choice): an SVG opened inline would run on the server's
            # origin, the one whose key drives the lab.
            import io

            self.deliver_text(
                io.StringIO(self.export_screenshot()),
                save_filename=filename,
                open_method="download",
                mime_type="image/svg+xml",
                name="screenshot",
            )
            self.notify(f"Screen sent to your browser as {filename}", timeout=6)
            return
        try:
            path = self.save_screenshot(filename=filename, path=os.getcwd())
        except OSError as e:
            self.notify(f"Screen not saved: {e.strerror or e}", severity="error")
        else:
            self.notify(f"Screen saved as {path}", timeout=6)

    def action_help(self) -> None:
        from sigscope.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen(help_keys()))

    async def action_quit(self) -> None:
        self.stop_lab()
        self.exit()

    def _terminated(self, sig: int) -> None:
        # A safety net: after the terminal went away, Textual's shutdown was seen to hang for
        # good, its main thread blocked on the output thread's queue. The lab is closed first;
        # a process that outlives its terminal must not, so after a grace period we _exit.
        watchdog = threading.Timer(TERMINATION_GRACE, os._exit, args=(128 + sig,))
        watchdog.daemon = True
        watchdog.start()
        self.stop_lab()
        self.exit(return_code=128 + sig)

    def _crash_on_purpose(self) -> None:
        raise RuntimeError("SIGSCOPE_FAULT=crash: the dashboard crashes on purpose")

    def request_termination(self, sig: int) -> None:
        """From a Python signal handler (SIGTERM, SIGHUP before the loop's own handlers are
        in place): never raise into whatever code is running — an exception thrown into
        Textual's output queue left it deadlocked — but hand the exit to the event loop, or
        leave it for ``on_mount`` if the loop is not running yet."""
        self._terminate_with = sig
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_soon_threadsafe(self._terminated, sig)

    def on_unmount(self) -> None:
        self.stop_lab()
        if self._froze_startup:
            # Frozen objects are never collected: the app's own cycles must be freeable once it
            # is gone (tests run many apps in one process).
            self._froze_startup = False
            gc.unfreeze()

    @on(Button.Pressed)
    async def _button(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        actions = {
            "btn-menu": "signal_menu",
            "btn-ttin": "master('SIGTTIN')",
            "btn-ttou": "master('SIGTTOU')",
            "btn-reaping": "reaping",
            "btn-spawn": "new_worker",
            "btn-restart": "restart",
        }
        if button.startswith("btn-SIG"):
            await self.run_action(f"quick('{button[4:]}')")
        elif button in actions:
            await self.run_action(actions[button])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """An attached tree or a recording has no master of ours to ask for workers, no
        reaping mode and nothing to restart: those keys are neither shown nor honoured."""
        return action not in LAB_ONLY_ACTIONS or lab_controls(self.settings)

    # -- command palette ------------------------------------------------------------------------
    # Textual's own commands that ours replace (with words about the lab): listing both made
    # near-duplicates in the palette (Quit / Quit (ends the lab…), Keys / Help, Screenshot / Save…).
    REPLACED_SYSTEM_COMMANDS = frozenset({"Quit", "Keys", "Screenshot"})

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for system in super().get_system_commands(screen):
            if system.title not in self.REPLACED_SYSTEM_COMMANDS:
                yield system
        for command in COMMANDS:
            if command.action.split("(")[0] in LAB_ONLY_ACTIONS and not lab_controls(self.settings):
                continue
            yield SystemCommand(
                command.title,
                f"key: {command.shown_keys or command.keys}",
                functools.partial(self.run_action, command.action),
            )


def run(settings: SourceSettings, app: SigscopeApp | None = None) -> int:
    """Run the dashboard (or ``app``, a variant of it) until the user quits; the lab is closed
    on every way out. ``settings`` is one of :mod:`sigscope.ui.settings`."""
    try:
        settings.check()  # the options, before a first frame: bad input is one line
    except SourceError as e:
        print(f"sigscope: error: {e}", file=sys.stderr)
        return 2
    return run_app(app or SigscopeApp(settings))


def run_app(app: SigscopeApp) -> int:
    """Run ``app`` until the user quits; SIGTERM / SIGHUP quit it as ``q`` does, and its lab
    is closed on every way out."""
    install_termination(app)
    try:
        app.run()
    finally:
        app.stop_lab()
    return app.return_code or 0


def install_termination(app: SigscopeApp) -> None:
    """SIGTERM and SIGHUP (a closed terminal) quit ``app`` the way ``q`` does, from the moment
    it is created: the lab is closed and the terminal restored, and no exception is ever raised
    into Textual's own code."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: app.request_termination(signum))

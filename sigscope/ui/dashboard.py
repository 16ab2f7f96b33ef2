"""The dashboard screen: the panels of one source, and the routing of its events to them.

:class:`DashboardScreen` is the app's first (default) screen. It composes the process tree,
the secondary panels (master, chart, event list, dispositions, timers; the Code panel on a lab
of our own), the quick-action buttons and the status line, and it owns everything that flows
into them: the lab's event batches (:class:`~sigscope.ui.messages.LabEvents`, applied in
slices when large), the sampler's scans (:class:`~sigscope.ui.messages.SnapshotReady`, the
newest only), the tree's refresh (debounced, plus a once-a-second tick for the ages) and the
selection that the panels follow (the :class:`EventSink` protocol). It also sets its own
layout classes (``-full`` / ``-compact``) and places a terminal lane's panels. It never
starts, stops or signals the lab: the app (:mod:`sigscope.ui.app`, the shell) does that and
tells the screen which source to show (:meth:`DashboardScreen.reset`, ``attach``); what the
screen needs back from the app (the clock of the events, the master panel's events, the end of
the lab) are plain callables, given when it is made or set before the app runs.

An app configures the screen instead of overriding private methods: a *pane* (the lesson pane:
composed after the tree, a tab of its own when space is short), an *action bar* in place of
the lab's buttons (the replay's transport), the panels' order, a fixed layout (the demo's),
where a terminal lane goes. A part that wants to hear the lab (the lesson pane) implements
:class:`DashboardPart`: the screen calls it after each batch of events and each scan, and the
part answers with messages of its own, which bubble up to the app.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Container
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Header, Static, Tab, Tabs

from sigscope.observe.sampler import Snapshot
from sigscope.sources.base import LabProcess, Source, SourceError
from sigscope.ui.commands import QUICK_SIGNALS
from sigscope.ui.frames import PromptFrames
from sigscope.ui.messages import LabEvents, RecordedSnapshot, SnapshotReady
from sigscope.ui.models.rates import RateHistory
from sigscope.ui.models.tree import UNSCANNED, ProcessRow, build_rows, next_change
from sigscope.ui.widgets.action_button import ActionButton
from sigscope.ui.widgets.code_panel import CodePanel
from sigscope.ui.widgets.dispositions import DispositionsPanel
from sigscope.ui.widgets.event_log import EventLog
from sigscope.ui.widgets.footer import QuietFooter
from sigscope.ui.widgets.master_panel import MasterPanel
from sigscope.ui.widgets.process_tree import RATE_WIDTH, ProcessTree
from sigscope.ui.widgets.sequence_chart import SequenceChart
from sigscope.ui.widgets.status_line import StatusLine
from sigscope.ui.widgets.timers import TimersPanel

FULL_WIDTH = 110  # below this width or FULL_HEIGHT, secondary panels become tabs
FULL_HEIGHT = 34
AGE_TICK = 1.0  # seconds: the ticks that move the ages and rates on are whole seconds apart
TREE_DEBOUNCE = 0.1  # events that change the tree redraw it at most this often
# Events that change a row of the tree (a new process, a count, a reap): the rest do not.
TREE_KINDS = frozenset({"spawn", "fork", "received", "exit", "reaped", "gone", "state", "ended"})
# Events applied at a time: a larger batch (a storm that came while the app was busy, a replay's
# jump) is applied in slices, with the frames and key presses waiting in the queue in between.
SLICE = 2_000
STATUS_DEBOUNCE = 0.3  # ask the master for its status this long after a change
STARTING = "starting lab…"  # the tree's one line until the lab's first processes are shown
HINT = "esc: back to the tree · tab: next panel · ?: help · ctrl+p: every command"


def layout_for(width: int, height: int) -> str:
    """``full`` (every panel at once) or ``compact`` (secondary panels as tabs)."""
    return "full" if width >= FULL_WIDTH and height >= FULL_HEIGHT else "compact"


def describe_workers(master_pid: int | None, behaviours: list[str]) -> str:
    """The header's sub-title from the workers alive now (``2 × idle``, ``3 workers: 2 idle,
    1 crash``): a count fixed at start contradicted the tree after a TTIN."""
    counts: dict[str, int] = {}
    for name in behaviours:
        counts[name] = counts.get(name, 0) + 1
    if not counts:
        workers = "no workers"
    elif len(counts) == 1:
        ((name, n),) = counts.items()
        workers = f"{n} × {name}"
    else:
        parts = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
        workers = f"{len(behaviours)} workers: {parts}"
    return f"lab: master {master_pid} · {workers}"


@dataclass(frozen=True)
class SecondaryPanel:
    """A panel beside the tree; on a small terminal it becomes a tab."""

    key: str
    title: str
    make: Callable[[str], Widget]  # id -> the widget


# In grid order for the full layout: master; chart, log, dispositions; timers.
SECONDARY = (
    SecondaryPanel("master", "Master", lambda id: MasterPanel(id=id)),
    SecondaryPanel("chart", "Signals", lambda id: SequenceChart(id=id)),
    SecondaryPanel("log", "Events", lambda id: EventLog(id=id)),
    SecondaryPanel("dispositions", "Dispositions", lambda id: DispositionsPanel(id=id)),
    SecondaryPanel("timers", "Timers", lambda id: TimersPanel(id=id)),
)

TAB_ORDER = ("log", "chart", "master", "dispositions", "timers")  # the compact layout's tabs
SESSION_TAB = "tab-session"  # a terminal lesson's session tree, as a tab at 80x24
SINKS = ("chart", "dispositions", "timers")  # panels that take every event and snapshot

Event = dict[str, Any]


class EventSink(Protocol):
    """A panel that takes every event and snapshot of the source, and follows the selection.

    Each keeps its own bounded model and redraws only when that model changed: the dashboard
    hands it a batch and does not ask it to refresh.
    """

    def add_events(self, events: Sequence[Event]) -> None:
        """Events of the stream, oldest first, as they arrived together."""

    def update_snapshot(self, snapshot: Snapshot) -> None:
        """The sampler's newest scan (older ones waiting are skipped)."""

    def show_pid(self, pid: int | None) -> None:
        """The process selected in the tree (None: none)."""

    def clear(self) -> None:
        """Forget everything: a fresh source starts."""


@runtime_checkable
class DashboardPart(Protocol):
    """A widget added to the dashboard (the lesson pane) that wants to hear what the
    dashboard hears. The screen calls these on each part given to :meth:`DashboardScreen.add_part`
    (or as its pane), on the app's thread, after its own panels took their share; a part
    answers with messages of its own, which bubble up to the app.
    """

    def dashboard_events(self, events: Sequence[Event]) -> None:
        """A batch of the source's events (already applied to the panels)."""

    def dashboard_snapshot(self, snapshot: Snapshot) -> None:
        """A new scan of the source (already shown)."""


F = TypeVar("F", bound=Callable[..., None])


def _while_dashboard_exists(method: F) -> F:
    """Skip a handler once the dashboard's widgets are gone (the app is shutting down).

    Timers and messages from the lab's threads can still arrive while Textual removes the
    screen's widgets on exit; they have nothing left to update then.
    """

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> None:
        tree = self._widgets.get("tree")
        if tree is None or not tree.is_attached:
            return  # not composed yet, or already torn down
        try:
            method(self, *args, **kwargs)
        except NoMatches:
            # The dashboard's widgets have fixed ids and exist from compose to exit, so a
            # missing one means the screen is being torn down (Textual's own shutdown does
            # not always set a flag first).
            self.log.warning(f"{method.__name__}: the dashboard's widgets are gone")

    return guarded  # type: ignore[return-value]


def lab_buttons() -> Iterable[ActionButton]:
    """The buttons that act on a lab of our own (an attached tree or a recording has none)."""
    yield ActionButton("+TTIN", id="btn-ttin", compact=True, tooltip="+: one more worker")
    yield ActionButton("-TTOU", id="btn-ttou", compact=True, tooltip="-: one worker fewer")
    yield ActionButton("Reaping…", id="btn-reaping", compact=True, tooltip="m (zombies)")
    yield ActionButton("Spawn…", id="btn-spawn", compact=True, tooltip="n: new worker")
    yield ActionButton("Restart", id="btn-restart", compact=True, tooltip="R")


def _lab_processes(lab: Source) -> list[LabProcess]:
    """A copy of the lab's process table. Its reader thread adds to the dict; a copy that
    races with an insertion raises RuntimeError, and trying again is all it takes."""
    for _ in range(10):
        try:
            return list(lab.processes.values())
        except RuntimeError:
            continue
    return []


def _all_gone(pid: int) -> tuple[str, int] | None:
    return None


def _same_events(events: Sequence[Event]) -> Iterable[Event]:
    return events


class DashboardScreen(PromptFrames):
    """The panels of one source and the routing of its events and scans to them."""

    def __init__(
        self,
        *,
        lab_controls: bool,
        every_scan: bool = False,
        clock: Callable[[], int] = time.monotonic_ns,
        master_events: Callable[[Sequence[Event]], Iterable[Event]] = _same_events,
        lab_ended: Callable[[], None] = lambda: None,
        describes_workers: bool = False,
    ) -> None:
        """
        Args:
            lab_controls: a lab of our own (TTIN, reaping, spawn, restart, the Code panel).
            every_scan: hand every scan to the panels, even one the same as the last.
            clock: now, on the clock of the events' ``t`` (a replay's is its play head).
            master_events: the events the master panel takes, from a batch of the stream.
            lab_ended: called once the stream said the lab ended (after the panels saw it).
            describes_workers: keep the app's sub-title to the workers alive now.
        """
        super().__init__(id="_default")
        self.lab_controls = lab_controls
        self.every_scan = every_scan
        self.clock_ns = clock
        self.master_events = master_events
        self.lab_ended = lab_ended
        self.describes_workers = describes_workers
        # Configuration an app may change before it runs (see the attributes' uses):
        self.actions: Widget | None = None
        """The action bar (id ``actions``) instead of the lab's buttons (a replay's transport)."""
        self.pane: Widget | None = None
        """A part shown right after the tree (a tab of its own when space is short)."""
        self.pane_title = ""
        self.panel_order: tuple[str, ...] = tuple(p.key for p in SECONDARY)
        """The secondary panels' order in the body (the full layout's grid follows it)."""
        self.fixed_layout: str | None = None
        """A layout class (``demo``) that replaces ``-full`` / ``-compact`` for good."""
        self.remembers_every_scan = False
        """Hand every scan, in order, to the panels that keep a memory of them (a replay's
        jump delivers many at once; the newest alone is shown)."""
        self.terminal_in_grid = False
        """A terminal lane's panel and session tree go into the body's grid, around the pane
        (a lesson), not above the buttons (the dashboard)."""
        self.source: Source | None = None
        self.generation = 0
        self.mounted = asyncio.Event()
        """Set once the screen's widgets are mounted (the app waits for it in its on_mount)."""
        self._layout_mode = ""
        self._snapshot: Snapshot | None = None
        self._snapshot_posted = False
        self._status_timer: Any = None
        self._tree_timer: Any = None
        self._tree_title = ""
        self._age_ns: int | None = None  # "now" for a live tree's ages: the last tick's
        self._age_timer: Any = None  # the next age tick (None: nothing will change by itself)
        self._age_due: int | None = None  # when it fires (ns, self.clock_ns)
        self._scan_shown: Snapshot | None = None  # the scan the panels last took
        self._scan_posted: Snapshot | None = None  # the scan last handed over (sampler thread)
        self._backlog: collections.deque[Event] = collections.deque()  # events not applied yet
        self.rates = RateHistory()
        self._parts: list[DashboardPart] = []
        self._resumed = False
        # Made now, not in compose: the app (and its tests) hold them from the start.
        tree = ProcessTree(id="tree")
        tree.border_title = "Processes"
        self._widgets: dict[str, Widget] = {"tree": tree}
        for panel in SECONDARY:
            widget = panel.make(f"panel-{panel.key}")
            widget.add_class("secondary")
            widget.border_title = panel.title
            self._widgets[f"panel-{panel.key}"] = widget
        self._sinks = [cast(EventSink, self._widgets[f"panel-{key}"]) for key in SINKS]
        if lab_controls:
            # The playground's Code panel (issue 17): only on a lab of our own, never on an
            # attached tree or a recording. Hidden until a playground worker exists or `e`.
            code = CodePanel(id="code")
            self._widgets["code"] = code
            self._sinks.append(code)

    def use_clock(self, clock: Callable[[], int]) -> None:
        """Count ages, rates and timers on ``clock`` (ns on the events' clock)."""
        self.clock_ns = clock
        timers = self.panel("timers")
        if isinstance(timers, TimersPanel):
            timers.set_clock(clock)

    def add_pane(self, pane: Widget, title: str) -> None:
        """Show ``pane`` (a part, with an id) right after the tree, as the tab ``title`` (id
        ``tab-`` and the pane's) when space is short; call before the app runs."""
        self.pane = pane
        self.pane_title = title
        if isinstance(pane, DashboardPart):
            self.add_part(pane)

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # The screen's classes before its widgets exist: a class given to the screen later
        # styles every widget again (two such passes were a fifth of the time to first frame).
        width, height = self.app.size
        self._layout_mode = layout_for(width, height)
        self.add_class("-dashboard", f"-{self.fixed_layout or self._layout_mode}")
        yield Header(show_clock=False, icon="⚡")
        yield Static(id="banner")
        with Container(id="body"):
            yield self._widgets["tree"]
            titles = {p.key: p.title for p in SECONDARY}
            tabs = [Tab(titles[k], id=f"tab-{k}") for k in TAB_ORDER]
            if self.pane is not None:
                tabs.insert(0, Tab(self.pane_title, id=f"tab-{self.pane.id}"))
            yield Tabs(*tabs, id="panel-tabs")
            if self.pane is not None:
                # After the tabs: in the full layout they are hidden (no grid cell), so the
                # pane comes right after the tree; in the compact one it comes under the tabs.
                yield self.pane
            for key in self.panel_order:
                yield self._widgets[f"panel-{key}"]
        if "code" in self._widgets:
            yield self._widgets["code"]
        if self.actions is not None:
            yield self.actions
        else:
            with Container(id="actions"):
                yield ActionButton("Signal…", id="btn-menu", compact=True, tooltip="k / F9")
                for key, sig in QUICK_SIGNALS:
                    yield ActionButton(
                        sig[3:], id=f"btn-{sig}", compact=True, tooltip=f"{key}: {sig}"
                    )
                if self.lab_controls:
                    # An attached tree or a recording refuses these: they are not offered there.
                    yield from lab_buttons()
        yield StatusLine(HINT, id="status")
        yield QuietFooter()

    def on_mount(self) -> None:
        self.query_one("#panel-tabs", Tabs).active = "tab-log"
        if self.pane is not None:
            # The pane's tab is the one shown first, once the tabs have settled on theirs.
            tabs = self.query_one("#panel-tabs", Tabs)
            self.call_after_refresh(setattr, tabs, "active", f"tab-{self.pane.id}")
        # Snapshots and events redraw the tree when they change it; the age tick only moves
        # the ages and the rates on (a row is redrawn only if its text changed), and runs only
        # when one of them will change (refresh_tree schedules it).
        self.process_tree.set_placeholder(STARTING)
        self.mounted.set()

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Before Screen's own handler (Textual calls a subclass's first): the first time the
        # screen is shown, its widgets were styled as they were mounted, a moment ago; styling
        # all of them again took about 8 ms of the time to the first frame (issue 14).
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    @property
    def layout_mode(self) -> str:
        """``full`` (every panel at once) or ``compact`` (secondary panels as tabs)."""
        return self._layout_mode

    def set_layout(self, mode: str) -> bool:
        """Lay the panels out as ``mode`` (``full`` or ``compact``); True if it changed."""
        if mode == self._layout_mode:
            return False
        self._layout_mode = mode
        if self.fixed_layout is None:
            self.set_class(mode == "compact", "-compact")
            self.set_class(mode == "full", "-full")
        return True

    @on(Tabs.TabActivated, "#panel-tabs")
    def _show_tab(self, event: Tabs.TabActivated) -> None:
        active = (event.tab.id or "").removeprefix("tab-")
        for panel in SECONDARY:
            self.panel(panel.key).set_class(panel.key == active, "-active")
        if self.pane is not None:
            self.pane.set_class(active == self.pane.id, "-active")
        for session in self.query("#body > SessionTree"):
            session.set_class(event.tab.id == SESSION_TAB, "-active")

    # The dashboard's widgets are made once and live until the app exits: keep references
    # rather than querying the DOM for each of thousands of events a second.
    def panel(self, key: str) -> Widget:
        return self._widgets[f"panel-{key}"]

    @property
    def process_tree(self) -> ProcessTree:
        tree = self._widgets["tree"]
        assert isinstance(tree, ProcessTree)
        return tree

    @property
    def event_log(self) -> EventLog:
        log = self._widgets["panel-log"]
        assert isinstance(log, EventLog)
        return log

    @property
    def master_panel(self) -> MasterPanel:
        panel = self._widgets["panel-master"]
        assert isinstance(panel, MasterPanel)
        return panel

    @property
    def code_panel(self) -> CodePanel | None:
        code = self._widgets.get("code")
        return code if isinstance(code, CodePanel) else None

    @property
    def status_line(self) -> StatusLine:
        return self.query_one("#status", StatusLine)

    def event_sinks(self) -> list[EventSink]:
        """The chart, dispositions and timers panels (and the Code panel): each takes every
        event and snapshot."""
        return self._sinks

    def add_part(self, part: DashboardPart) -> None:
        """From now on, tell ``part`` (a widget the app mounts into this screen) about every
        batch of events and every new scan, after the panels."""
        if part not in self._parts:
            self._parts.append(part)

    def parts(self) -> list[DashboardPart]:
        """The parts told about events and scans (:meth:`add_part`), still mounted."""
        return [p for p in self._parts if not isinstance(p, Widget) or p.is_attached]

    def set_banner(self, text: str | None) -> None:
        banner = self.query_one("#banner", Static)
        banner.update(Text(text or ""))
        banner.set_class(text is not None, "-shown")

    def show_terminal(self, source: Source) -> None:
        """A lab with a terminal lane (``--terminal``, issue 16) gets its session tree and
        Terminal panel; a restarted lab gets fresh ones. Above the buttons on the dashboard;
        with :attr:`terminal_in_grid` (a lesson), in the body's grid around the pane, in place
        of the lab's tree and master: a lane pane under the grid left the lesson pane 20 rows
        at 120x40, and none at 80x24."""
        from sigscope.lab.controller import Lab
        from sigscope.ui.widgets.session_tree import SessionTree
        from sigscope.ui.widgets.terminal_panel import TerminalLanePane, TerminalPanel

        for old in self.query(TerminalLanePane):
            old.remove()
        lane = source.terminal if isinstance(source, Lab) else None
        pane = self.pane
        in_grid = lane is not None and pane is not None and pane.is_attached
        if self.terminal_in_grid:
            leaving = (self.process_tree, *self.query("#body > TerminalPanel, #body > SessionTree"))
            if in_grid and self.focused in leaving:
                # The lab's tree is hidden here: a hidden widget loses the focus to the next
                # one, the Terminal panel, and the lesson's keys went to bash before the
                # learner pressed F7. No focus (keys go to the app) until the session tree's.
                self.set_focus(None)
            self.set_class(lane is not None, "-terminal")
        for placed in self.query("#body > TerminalPanel, #body > SessionTree"):
            placed.remove()  # the old lab's
        tabs = self.query_one("#panel-tabs", Tabs)
        has_tab = bool(tabs.query(f"#{SESSION_TAB}"))
        if lane is None or not self.terminal_in_grid or pane is None or not in_grid:
            if has_tab:
                tabs.remove_tab(SESSION_TAB)
            if lane is not None:
                self.mount(TerminalLanePane(lane), before="#actions")
            return
        body = self.query_one("#body", Container)
        body.mount(TerminalPanel(lane), before=pane)
        session = SessionTree(lane)
        body.mount(session, after=pane)
        if has_tab:
            session.set_class(tabs.active == SESSION_TAB, "-active")
        else:
            # At 80x24 the session tree is a tab of its own, after the pane's (lesson.tcss).
            tabs.add_tab(Tab("Session", id=SESSION_TAB), after=f"tab-{pane.id}")
        self.call_after_refresh(self.focus_home)

    def focus_home(self) -> None:
        """The focus back where single-letter keys work: the process tree; in a terminal
        lesson the session tree (the lab's tree is hidden), or at 80x24, which has no room for
        it, the tabs (the arrows change the panel)."""
        if not self.has_class("-terminal"):
            self.process_tree.focus()
            return
        trees = self.query("#body > SessionTree")
        home = trees.first() if trees and trees.first().display else None
        self.set_focus(home or self.query_one("#panel-tabs", Tabs))

    # -- the source --------------------------------------------------------------------------
    def reset(self, generation: int) -> None:
        """Forget the old source: every panel cleared, ready for ``generation``'s."""
        self.generation = generation
        self.source = None
        self._snapshot = None
        self._scan_shown = None
        self._scan_posted = None
        self._backlog.clear()  # the old lab's
        self.event_log.reset()
        self.process_tree.gone_since.clear()
        self.rates = RateHistory()
        for sink in self.event_sinks():
            sink.clear()
        self.set_banner(None)

    def attach(self, source: Source | None) -> None:
        """Show ``source`` (None: it could not start) from now on."""
        self.source = source
        if source is None:
            self.process_tree.set_placeholder("no lab: it could not start")
            self.master_panel.reset(None)
            return
        self.process_tree.set_placeholder("")
        self.master_panel.reset(source.master_pid)

    def detach(self) -> None:
        """The source is closed (the app stops it): nothing more is asked of it."""
        self.source = None

    def snapshot_from_thread(self, generation: int, snapshot: Snapshot) -> None:
        """Called on the sampler's thread. Only the newest snapshot matters: keep it, and post
        a message only if none is waiting, so a busy UI never queues stale scans."""
        if self.remembers_every_scan:
            self.app.post_message(RecordedSnapshot(generation, snapshot))
        if generation != self.generation:
            return
        self._snapshot = snapshot
        posted = self._scan_posted
        if (
            not self.every_scan
            and posted is not None
            and posted.processes == snapshot.processes
            and not getattr(self._widgets.get("panel-chart"), "awaits_scans", True)
        ):
            return  # the same as the last scan handed over (an idle lab): no wake-up at all
        self._scan_posted = snapshot
        if not self._snapshot_posted:
            self._snapshot_posted = True
            self.app.post_message(SnapshotReady(generation, snapshot))

    @_while_dashboard_exists
    def remember_scan(self, message: RecordedSnapshot) -> None:
        """One scan of many, in order, for the dispositions panel's memory."""
        panel = self.panel("dispositions")
        if message.generation == self.generation and isinstance(panel, DispositionsPanel):
            panel.remember(message.snapshot)

    @_while_dashboard_exists
    def take_snapshot(self, message: SnapshotReady) -> None:
        """The newest scan, for the panels and the tree (the app hands its message on)."""
        self._snapshot_posted = False
        if message.generation != self.generation or self._snapshot is None:
            return
        snapshot = self._snapshot
        shown, self._scan_shown = self._scan_shown, snapshot
        if shown is not None and shown.processes == snapshot.processes:
            # The same states, masks and CPU times as the scan already shown (an idle lab, four
            # times a second): nothing to redraw. Only the chart takes the scan's time (a send
            # still waiting for its handler is let go once its signal is no longer pending).
            chart = self.panel("chart")
            if isinstance(chart, SequenceChart):
                chart.update_snapshot(snapshot)
        else:
            with self.app.batch_update():
                for sink in self.event_sinks():
                    sink.update_snapshot(snapshot)
                self.refresh_tree()  # states come from the scan: the tree follows it
        for part in self.parts():
            part.dashboard_snapshot(snapshot)

    @_while_dashboard_exists
    def take_events(self, message: LabEvents) -> None:
        """A batch of the lab's events (the app hands its message on)."""
        if message.generation != self.generation:
            return  # late events of a lab that has been restarted
        events = message.events
        if not events:
            return
        if self._backlog or len(events) > SLICE:
            # Behind the slices still waiting: keep the lab's order.
            draining = bool(self._backlog)
            self._backlog.extend(events)
            if not draining:
                self._apply_slice()
            return
        with self.app.batch_update():
            self.apply_events(events)

    @_while_dashboard_exists
    def _apply_slice(self) -> None:
        backlog = self._backlog
        if not backlog:
            return
        events = [backlog.popleft() for _ in range(min(SLICE, len(backlog)))]
        with self.app.batch_update():
            self.apply_events(events)
        if backlog:
            self.call_later(self._apply_slice)  # after whatever is waiting now

    def apply_events(self, events: Sequence[Event]) -> None:
        """Hand a batch of the source's events to every panel (on the app's thread)."""
        self.event_log.add_events(events)
        self.master_panel.add_events(self.master_events(events))
        for sink in self.event_sinks():
            sink.add_events(events)
        tree = ended = status = False
        for event in events:
            kind = event.get("kind")
            if kind == "received" and isinstance(event.get("t"), int):
                self.rates.add(event["pid"], event["t"])
            if kind in ("spawn", "reaped", "gone", "mode", "backoff") or (
                kind == "received" and event.get("role") == "master"
            ):
                status = True
            tree = tree or kind in TREE_KINDS
            ended = ended or kind == "ended"
        if status:
            self._status_soon()
        if tree:
            self._tree_soon()
        for part in self.parts():
            part.dashboard_events(events)
        if ended:
            self.lab_ended()

    def _tree_soon(self) -> None:
        if self._tree_timer is None:
            self._tree_timer = self.set_timer(TREE_DEBOUNCE, self._tree_due)

    def _tree_due(self) -> None:
        self._tree_timer = None
        self.refresh_tree()

    def _status_soon(self) -> None:
        if self._status_timer is None:
            self._status_timer = self.set_timer(STATUS_DEBOUNCE, self.ask_status)

    def ask_status(self) -> None:
        """Ask the master for its status (its answer comes as an event)."""
        self._status_timer = None
        lab = self.source
        if lab is not None and lab.running:
            try:
                lab.request_status()
            except SourceError:
                pass  # the master is going away; its `ended` event will say so

    # -- the tree ----------------------------------------------------------------------------
    @_while_dashboard_exists
    def refresh_tree(self) -> None:
        lab = self.source
        if lab is None and self.generation == 0:
            return
        processes = _lab_processes(lab) if lab is not None else []
        snapshot = self._snapshot
        live_pids = lab.live if lab is not None else True  # a recording's are not ours

        def state_of(pid: int) -> tuple[str, int] | None:
            # From the sampler's scan only: the UI thread reads no /proc file.
            view = snapshot.by_pid(pid) if snapshot is not None else None
            proc = lab.processes.get(pid) if lab is not None else None
            if view is not None and (
                proc is None or proc.ref is None or (view.starttime == proc.ref.starttime)
            ):
                return view.state, view.ppid
            if not live_pids:
                return None  # a recording: its pids are not this machine's processes
            if proc is not None and not proc.exited and not lab_ended:
                # Not in the latest scan, not known to have ended: started after it (the next
                # scan, a quarter of a second away, says its state).
                return UNSCANNED, proc.parent or 0
            return None

        lab_ended = lab is not None and lab.ended.is_set()
        if lab_ended:
            state_of = _all_gone  # noqa: F811 - after close nothing of the lab exists
        # A live tree's ages and rates move on at the tick, all in one frame, not row by row
        # as snapshots come; a tick older than a second (the tree slept: nothing was going to
        # change) is not "now" any more (a recording's follow its play head at once).
        current_ns = self.clock_ns()
        age_ns = self._age_ns
        fresh = age_ns is not None and current_ns - age_ns < AGE_TICK * 1e9
        now_ns = age_ns if live_pids and fresh and age_ns is not None else current_ns

        def rate_of(pid: int) -> tuple[float, ...]:
            return tuple(self.rates.series(pid, now_ns)[-RATE_WIDTH:])

        clock = current_ns / 1e9  # when a process was first seen gone: now, not at the tick
        rows = build_rows(
            processes,
            state_of,
            os.getpid(),
            self.process_tree.gone_since,
            clock=clock,
            rate_of=rate_of,
            now_ns=now_ns,
        )
        self.process_tree.show(rows)
        self._schedule_age_tick(rows, now_ns, clock, live_pids)
        live = sum(
            1
            for r in rows
            if r.role.startswith("worker") and r.state not in ("Z", "reaped", "gone")
        )
        zombies = sum(1 for r in rows if r.state == "Z")
        master = next((r for r in rows if r.role == "master"), None)
        self.master_panel.set_counts(live, zombies, master.state if master is not None else None)
        if lab is not None and self.describes_workers and lab.running:
            # From the workers alive now: "2 × idle" stayed after a TTIN made it three.
            behaviours = [
                r.behaviour
                for r in rows
                if r.role.startswith("worker") and r.state not in ("Z", "reaped", "gone")
            ]
            self.app.sub_title = describe_workers(lab.master_pid, behaviours)
        title = f"Processes — {len(rows)} shown"
        if self.process_tree.tagged:
            title += f", {len(self.process_tree.tagged)} tagged"
        if title != self._tree_title:  # setting a border title repaints the whole widget
            self._tree_title = title
            self.process_tree.border_title = title

    def _schedule_age_tick(
        self, rows: Sequence[ProcessRow], now_ns: int, clock: float, live: bool
    ) -> None:
        """Have the age tick run when the tree drawn from ``rows`` (at ``now_ns``) would next
        change by itself, in whole seconds from ``now_ns`` (so the young rows' ages move on
        together, once a second): an age's next step, a reaped row leaving, a rate curve
        moving. Nothing due, no timer: an idle tree of processes a minute old wakes once a
        minute. An earlier tick already due is kept; a recording ticks every second."""
        step = next_change(rows, self.process_tree.gone_since, clock)
        if not live or self.rates.active(now_ns):
            step = AGE_TICK if step is None else min(step, AGE_TICK)
        if step is None:
            return
        due = now_ns + math.ceil(max(step, 1e-3) / AGE_TICK) * int(AGE_TICK * 1e9)
        if self._age_due is not None and self._age_due <= due:
            return
        if self._age_timer is not None:
            self._age_timer.stop()
        self._age_due = due
        self._age_timer = self.set_timer(
            max(0.0, (due - self.clock_ns()) / 1e9), self._age_tick, name="age tick"
        )

    def _age_tick(self) -> None:
        self._age_timer = self._age_due = None
        self._age_ns = self.clock_ns()
        self.refresh_tree()

    @_while_dashboard_exists
    def on_process_tree_selected(self, message: ProcessTree.Selected) -> None:
        for sink in self.event_sinks():
            sink.show_pid(message.pid)

"""What the selected process does with each signal: its dispositions and masks, live.

The kernel keeps, per process, which signals have a handler (SigCgt), which are ignored
(SigIgn), which the thread blocks (SigBlk) and which are pending (SigPnd for the thread,
ShdPnd for the process). The sampler reads them from ``/proc/PID/status`` a few times a
second; this panel shows them for signals 1–31 one per row, the real-time signals as one
summary line, and highlights every cell that changed in the last :data:`HIGHLIGHT_SECONDS`,
so a student sees ``sigprocmask`` or ``signal(SIG_IGN)`` take effect as it happens.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from sigscope.signames import RTMAX, RTMIN, UNCATCHABLE, default_action, signal_name
from sigscope.ui.widgets.frame_style import FrameStyled

HIGHLIGHT_SECONDS = 2.0
"""How long a changed cell stays highlighted."""
COLUMNS = ("caught", "ignored", "blocked", "pending")
MARK = {"caught": ("handler", "green"), "ignored": ("ignored", "yellow")}
MARK.update({"blocked": ("blocked", "cyan"), "pending": ("PENDING", "bold red")})
ACTION_STYLE = {"Term": "", "Core": "red", "Stop": "blue", "Cont": "blue", "Ign": "dim"}
SHORT = {"caught": "cgt", "ignored": "ign", "blocked": "blk", "pending": "pnd"}
# The wide table's width ("10 SIGUSR1   Term     handler ·       blocked PENDING   3"); in a
# narrower panel the table uses one-glyph cells ("10 USR1   Term  ●   ·   ●   ●    3").
WIDE_WIDTH = 3 + 10 + 9 + 4 * 8 + 3
COMPACT_WIDTH = 3 + 7 + 5 + 4 * 4 + 3
STANDARD = tuple(range(1, 32))
REALTIME = tuple(range(RTMIN, RTMAX + 1))
MAX_COUNTED_PIDS = 256
VIEWS_KEPT = 8  # views per process: enough to reach back past an exit seen late


def mask_sets(masks: Any) -> dict[str, frozenset[int]]:
    """The four sets the panel shows, from a ``sigscope.procfs.Masks``.

    Pending is the thread's SigPnd together with the process's ShdPnd: ``kill()`` puts a
    signal in the shared set, and either way it waits for the same delivery.
    """
    return {
        "caught": frozenset(masks.caught),
        "ignored": frozenset(masks.ignored),
        "blocked": frozenset(masks.blocked),
        "pending": frozenset(masks.pending) | frozenset(masks.shared_pending),
    }


class DispositionsPanel(FrameStyled, Widget):
    """Signals 1–31 and a real-time summary for the selected process.

    Public API (call on the app's thread):

    - ``update_snapshot(snapshot)``: a ``sigscope.observe.sampler.Snapshot``; the masks of the
      selected process are read from ``snapshot.by_pid(pid).masks``.
    - ``show_pid(pid)``: the process to show (``None``: nothing selected). Switching process
      highlights nothing: only changes *of one process* are news.
    - ``add_event(event)``: counts ``received`` events per signal, so the table also says how
      often each handler ran.
    - ``clear()``: forget everything (a restarted lab).
    """

    DEFAULT_CSS = """
    DispositionsPanel {
        width: 100%;
        height: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        max-height: 100%;
        overflow-y: auto;
        border: round $primary 40%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    pid: reactive[int | None] = reactive(None)
    """The process shown."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._clock = clock
        self._view: Any = None  # the ProcessView of the selected pid in the latest snapshot
        self._seen_snapshot = False
        self._snapshot: Any = None  # the latest snapshot: a newly selected pid is read from it
        # pid -> its last few views, with their scan's time: a process that has gone (or a
        # replay paused after the last scan) still shows what was last seen of it, and one
        # that has reported its exit shows its last view from *before* the exit (measured: a
        # Python master scanned during its exit shows state R and no handler at all). Times,
        # not arrival order: the app hands over only the newest scan when several wait.
        self._views: OrderedDict[int, deque[tuple[int, Any]]] = OrderedDict()
        self._exit_t: OrderedDict[int, int] = OrderedDict()  # pid -> its `exit` event's t
        self._note = ""  # why the view shown is not the latest scan's, if it is not
        self._sets: dict[str, frozenset[int]] | None = None
        self._drawn: tuple[Any, ...] | None = None  # what the last redraw showed (_shown_key)
        self._texts: list[Text] | None = None  # the lines of the last render()
        self._strips: dict[int, tuple[tuple[Any, ...], Strip]] = {}  # y -> (what, line)
        self._lines: int | None = None  # lines of the content when last laid out
        self._row_y: dict[str, tuple[int, int]] = {}  # signal name -> (number, line) drawn
        self._patched: set[Region] = set()  # rows _refresh_counts made anew, as marked dirty
        self.changed_at: dict[tuple[int | str, str], float] = {}
        """(signal number or "rt", column) -> when that cell last changed (clock seconds)."""
        self._handled: OrderedDict[int, dict[str, int]] = OrderedDict()
        # pid -> lines the process reported about itself that /proc cannot show: the sigaction
        # flags a ``flags`` worker read back, where a ``core`` worker's core dump goes.
        self._reported: OrderedDict[int, dict[str, str]] = OrderedDict()
        self.border_title = "Dispositions"
        self.elide_quiet = False
        """When the panel is too short for every signal, leave out quiet rows (nothing pending,
        blocked or ignored, no handler, no change) so that the ones a step is about are on
        screen, and say how many were left out. Lessons and demos set it: a step that says
        "six signals are pending" must show the six, and a short panel showed rows 1–8."""

    # -- public API --------------------------------------------------------------------------
    def show_pid(self, pid: int | None) -> None:
        """Show the dispositions of ``pid``."""
        self.pid = pid

    def watch_pid(self, old: int | None, new: int | None) -> None:
        self._sets = None
        self._view = None
        self._drawn = None
        self._note = ""
        self.changed_at.clear()
        self.border_title = "Dispositions" if new is None else f"Dispositions · pid {new}"
        if new is not None and self._snapshot is not None:
            # Read the newly selected process from the scan we already have: the next scan
            # may never come (a replay paused or at its end, a lab that has ended).
            self._read(self._snapshot)
        self._drawn = self._shown_key()
        self._refresh_sized()

    def _refresh_sized(self) -> None:
        """Redraw; lay the screen out again only if the panel's lines changed in number (its
        height is ``auto`` in places, and its scroll range follows them). A layout pass of the
        whole dashboard was ~10 ms, and each selection in the tree asked for one, though a
        worker and the master both show the same 31 rows."""
        lines = self._line_count()
        layout = lines != self._lines
        self._lines = lines
        self.refresh(layout=layout)

    def _line_count(self) -> int:
        """How many lines :meth:`render` makes now, without making them (it takes ~2 ms)."""
        if self.pid is None or self._view is None or self._sets is None:
            return 1  # a sentence: nothing selected, no scan yet, or not in the scan
        rows, left_out = self._rows_shown(self._sets, self._handled.get(self.pid, {}))
        reported = len(self._reported.get(self.pid, {}))
        # The process, the header, the rows, the left-out note, RT, SigQ, reports.
        return 2 + len(rows) + (1 if left_out else 0) + 2 + reported

    def clear(self) -> None:
        """Forget every process (a restarted lab): counts, masks and highlights."""
        self._handled.clear()
        self._reported.clear()
        self._seen_snapshot = False
        self._snapshot = None
        self._views.clear()
        self._exit_t.clear()
        self.watch_pid(self.pid, self.pid)

    def update_snapshot(self, snapshot: Any) -> None:
        """Read the selected process's masks from a sampler snapshot; mark what changed."""
        self._seen_snapshot = True
        self._snapshot = snapshot
        self.remember(snapshot)
        if self.pid is None:
            return
        self._read(snapshot)
        self._refresh_if_changed()

    def _shown_key(self) -> tuple[Any, ...]:
        """What the panel shows of the selected process's scan (the counts and highlights
        redraw on their own): a scan that changes none of it redraws nothing."""
        view = self._view
        if view is None:
            return (self._seen_snapshot,)
        head = (view.role, view.index, view.behaviour, view.state, self._note)
        return (head, tuple(sorted(self._sets.items())) if self._sets else None, view.masks.sigq)

    def _refresh_if_changed(self) -> None:
        key = self._shown_key()
        if key != self._drawn:
            self._drawn = key
            self._refresh_sized()

    def remember(self, snapshot: Any) -> None:
        """Keep each process's view from ``snapshot`` without showing it (a replay hands
        over every recorded scan here, the newest also through ``update_snapshot``)."""
        t = int(snapshot.t)
        for view in snapshot.processes:
            views = self._views.get(view.pid)
            if views is None:
                views = self._views[view.pid] = deque(maxlen=VIEWS_KEPT)
            self._views.move_to_end(view.pid)
            if not views or views[-1][0] < t:
                views.append((t, view))
        while len(self._views) > MAX_COUNTED_PIDS:
            self._views.popitem(last=False)

    def _working_view(self, pid: int) -> Any:
        """The last view of ``pid`` scanned before its exit (any, if it has not exited)."""
        exit_t = self._exit_t.get(pid)
        for t, view in reversed(self._views.get(pid, ())):
            if exit_t is None or t < exit_t:
                return view
        return None

    def _read(self, snapshot: Any) -> None:
        """Take the selected process's view from ``snapshot`` (or the last one that had it)."""
        pid = self.pid or 0
        view = snapshot.by_pid(pid)
        kept = self._working_view(pid)
        self._note = ""
        if kept is not None and pid in self._exit_t and kept is not view:
            view, self._note = kept, "as it was before it exited"
        elif view is None and kept is not None:
            view, self._note = kept, "as last seen (gone from the latest scan)"
        self._view = view
        if view is None:
            self._sets = None
            return
        sets = mask_sets(view.masks)
        if self._sets is not None:
            now = self._clock()
            changed = False
            for column in COLUMNS:
                diff = sets[column] ^ self._sets[column]
                for sig in diff:
                    self.changed_at[(sig if sig < RTMIN else "rt", column)] = now
                    changed = True
            if changed and self.is_mounted:
                # One redraw when the highlight is due to fade (a little late, never early).
                self.set_timer(HIGHLIGHT_SECONDS + 0.05, self.refresh)
        self._sets = sets

    def add_event(self, event: dict[str, Any]) -> None:
        """Count handler runs (``received``) per process and signal."""
        self.add_events((event,))

    def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        """A batch of the lab's events: one redraw at most, and only if the shown process's
        counts, reports or exit changed."""
        redraw = layout = False
        before = dict(self._handled.get(self.pid or 0, {}))
        counted: set[str] = set()  # signals whose count of the shown process moved
        for event in events:
            kind = event.get("kind")
            if kind == "received":
                if self._count(event):
                    counted.add(str(event.get("sig", "?")))
            elif kind == "exit" and isinstance(event.get("t"), int):
                pid = int(event.get("pid", 0))
                self._exit_t[pid] = event["t"]
                while len(self._exit_t) > MAX_COUNTED_PIDS:
                    self._exit_t.popitem(last=False)
                if pid == self.pid and self._snapshot is not None:
                    self._read(self._snapshot)  # what it did while it worked, from now on
                    redraw = True
            elif kind in ("flags", "core"):
                layout = self._add_reported(event) or layout
        if layout:
            self._refresh_sized()
        elif redraw:
            self.refresh()
        elif counted:
            self._refresh_counts(counted, before)

    def _count(self, event: dict[str, Any]) -> bool:
        """Count one handler run; whether it was the shown process's."""
        pid = int(event.get("pid", 0))
        counts = self._handled.setdefault(pid, {})
        self._handled.move_to_end(pid)
        sig = str(event.get("sig", "?"))
        counts[sig] = counts.get(sig, 0) + 1
        if len(self._handled) > MAX_COUNTED_PIDS:
            self._handled.popitem(last=False)
        return pid == self.pid

    def _add_reported(self, event: dict[str, Any]) -> bool:
        """Keep a ``flags`` worker's sigaction read-back, or where a ``core`` worker's core
        goes (core_pattern), as a line under the table (what /proc/PID/status cannot say);
        whether it is the shown process's."""
        pid = int(event.get("pid", 0))
        if event.get("kind") == "flags":
            flags = [str(f) for f in event.get("flags") or [] if f != "SA_RESTORER"][:8]
            mask = [str(m) for m in event.get("mask") or []][:8]
            line = f"sigaction {str(event.get('sig', '?'))[:14]}: "
            line += str(event.get("handler", "?"))[:12]
            line += " · " + (" ".join(flags) if flags else "no flags")
            if mask:
                line += " · sa_mask " + " ".join(m.removeprefix("SIG") for m in mask)
            key = f"flags {event.get('sig')}"
        elif event.get("action") == "armed":
            where = event.get("where")
            pattern = str(event.get("core_pattern", ""))[:60]
            if where == "pipe":
                line = f"core dumps piped to {str(event.get('program', '?'))[:40]} (core_pattern)"
            elif where == "elsewhere":
                line = f"core dumps go to {pattern} (core_pattern)"
            else:
                line = f"core dumps in its private directory as {pattern or 'core'}"
            key = "core"
        else:
            return False
        lines = self._reported.setdefault(pid, {})
        self._reported.move_to_end(pid)
        lines[key] = line
        while len(self._reported) > MAX_COUNTED_PIDS:
            self._reported.popitem(last=False)
        return pid == self.pid

    def is_highlighted(self, sig: int | str, column: str) -> bool:
        """Whether the cell of ``sig`` (a number, or "rt") in ``column`` shows as changed."""
        when = self.changed_at.get((sig, column))
        return when is not None and self._clock() - when < HIGHLIGHT_SECONDS

    # -- rendering -------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """One line of the panel, drawn again only if its text changed: a scan that changes
        one mask, a handler count or the user's SigQ repaints that row, not all forty (as a
        whole-widget render did, ~20 ms a time)."""
        texts = self._texts
        dirty = self._dirty_regions
        if texts is None or (dirty and not dirty <= self._patched):
            # Refreshed (not only rows _refresh_counts made anew): the text is made anew.
            texts = self._texts = list(self.render().split("\n", allow_blank=True))
        dirty.clear()
        self._patched.clear()
        width = self.size.width
        style = self.base_style
        if y >= len(texts):
            return Strip.blank(width, style)
        text = texts[y]
        drawn = self._strips.get(y)
        if drawn is None or drawn[0] != (text, width, style):
            line = text.copy()
            line.end = ""
            line.truncate(width, overflow="ellipsis", pad=True)  # CSS: nowrap, ellipsis
            line.stylize_before(style)
            drawn = (text, width, style), Strip(line.render(self.app.console), width)
            self._strips[y] = drawn
        return drawn[1]

    def render(self) -> Text:
        if self.pid is None:
            return Text("Select a process to see what it does with each signal.", style="dim")
        if self._view is None or self._sets is None:
            if not self._seen_snapshot:
                return Text(f"pid {self.pid}: waiting for the first /proc scan…", style="dim")
            return Text(f"pid {self.pid} is not in the latest /proc scan (gone?)", style="dim")
        return self._table(self._sets)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """With ``width: auto``: the wide table where it fits, else the compact one (the
        content cannot decide: its width depends on which table is drawn)."""
        room = container.width - self.styles.gutter.width
        return WIDE_WIDTH if room >= WIDE_WIDTH else min(max(room, 1), COMPACT_WIDTH)

    def _compact(self) -> bool:
        """Whether to draw one-glyph cells: the panel has less room than the wide table."""
        return 0 < self.content_region.width < WIDE_WIDTH

    def _cell(self, text: Text, sig: int | str, column: str, on: bool, compact: bool) -> None:
        word, style = MARK[column]
        shown = ("●" if compact else word) if on else "·"
        if self.is_highlighted(sig, column):
            style = "reverse bold"
        elif not on:
            style = "dim"
        if compact:
            text.append(f" {shown} ", style=style)
        else:
            text.append(shown.ljust(7), style=style)
        text.append(" ")

    def _table(self, sets: dict[str, frozenset[int]]) -> Text:
        view = self._view
        handled = self._handled.get(self.pid or 0, {})
        # A dashboard panel is often narrow: one-glyph cells under short headings there.
        compact = self._compact()
        text = Text(end="")
        who = view.role or "process"
        if view.index is not None:
            who += f" {view.index}"
        if view.behaviour:
            who += f" ({view.behaviour})"
        text.append(f"{who} · state {view.state}", style="bold")
        if self._note:
            text.append(f" · {self._note}", style="italic yellow")
        text.append("\n")
        if compact:
            header = " # " + "sig".ljust(7) + "dflt " + "".join(SHORT[c] + " " for c in COLUMNS)
        else:
            header = " # " + "signal".ljust(10) + "default".ljust(9)
            header += "".join(c.ljust(7) + " " for c in COLUMNS)
        text.append(header + "ran\n", style="dim u")
        rows, left_out = self._rows_shown(sets, handled)
        self._row_y = {}
        for y, sig in enumerate(rows, start=2):  # after the process's line and the header
            self._row_y[signal_name(sig)] = (sig, y)
            text.append_text(self._row_text(sig, sets, handled, compact))
            text.append("\n")
        if left_out:
            text.append(f"… {left_out} quiet rows left out\n", style="dim")
        text.append(self._realtime_line(sets, compact))
        queued, limit = tuple(view.masks.sigq) if view.masks.sigq else (0, 0)
        queue = (
            f"queued: {queued} of {limit}"
            if compact
            else f"queued for this user: {queued} of {limit}"
        )
        text.append(f"\n{queue} (SigQ)", style="dim")
        for line in self._reported.get(self.pid or 0, {}).values():
            text.append(f"\n{line}", style="italic")
        return text

    def _row_text(
        self, sig: int, sets: dict[str, frozenset[int]], handled: dict[str, int], compact: bool
    ) -> Text:
        """One standard signal's row: number, name, default action, the four columns, runs."""
        text = Text(end="")
        name = signal_name(sig)
        action = default_action(sig)
        text.append(f"{sig:>2} ", style="dim")
        shown = f"{name[3:]:<7}" if compact else f"{name:<10}"  # compact: USR1, not SIGUSR1
        text.append(shown, style="bold" if sig in sets["pending"] else "")
        text.append(f"{action:<5}" if compact else f"{action:<9}", style=ACTION_STYLE[action])
        for column in COLUMNS:
            if column == "caught" and sig in UNCATCHABLE:
                # SIGKILL and SIGSTOP can never have a handler (nor be ignored or blocked).
                never = " – " if compact else "never".ljust(7)
                text.append(never + " ", style="dim italic")
                continue
            self._cell(text, sig, column, sig in sets[column], compact)
        runs = handled.get(name, 0)
        text.append(f"{runs:>3}" if runs else "  ·", style="" if runs else "dim")
        return text

    def _refresh_counts(self, names: set[str], before: dict[str, int]) -> None:
        """The shown process's handler counts of ``names`` moved: redraw those rows alone if
        each already had a count (then nothing else on the panel depends on it), else all.
        A storm to the shown worker redrew the whole table for one number, ~2.5 ms a frame."""
        texts, sets = self._texts, self._sets
        rows = self._row_y
        if (
            texts is None
            or sets is None
            or any(before.get(name, 0) == 0 or name not in rows for name in names)
        ):
            self.refresh()
            return
        handled = self._handled.get(self.pid or 0, {})
        compact = self._compact()
        for name in names:
            sig, y = rows[name]
            if y >= len(texts):
                self.refresh()
                return
            texts[y] = self._row_text(sig, sets, handled, compact)
            region = Region(0, y, self.size.width, 1)
            self._patched.add(region.translate(self.content_offset))  # as refresh() marks it
            self.refresh(region)

    def _rows_shown(
        self, sets: dict[str, frozenset[int]], handled: dict[str, int]
    ) -> tuple[tuple[int, ...], int]:
        """The standard signals to draw, and how many were left out (``elide_quiet``).

        Drawn in number order either way; when they do not all fit, those with something
        pending or blocked or just changed come first, then caught, ignored or handled ones,
        then the rest, and exactly as many as fit are drawn (so the panel's height stays put)."""
        room = self.content_region.height
        if not self.elide_quiet or room <= 0:
            return STANDARD, 0
        # The lines around the rows: who, the header, the left-out note, RT, SigQ, reports.
        around = 5 + len(self._reported.get(self.pid or 0, {}))
        fits = max(room - around, 1)
        if fits >= len(STANDARD):
            return STANDARD, 0

        def rank(sig: int) -> int:
            if sig in sets["pending"] | sets["blocked"] or any(
                self.is_highlighted(sig, column) for column in COLUMNS
            ):
                return 0
            if sig in sets["caught"] | sets["ignored"] or handled.get(signal_name(sig)):
                return 1
            return 2

        chosen = sorted(STANDARD, key=lambda sig: (rank(sig), sig))[:fits]
        return tuple(sorted(chosen)), len(STANDARD) - len(chosen)

    def _realtime_line(self, sets: dict[str, frozenset[int]], compact: bool = False) -> Text:
        """The 31+ real-time signals in one line: counts per column, names where few."""
        line = Text("RT: " if compact else f"RT {RTMIN}–{RTMAX}: ", style="bold", end="")
        parts: list[Text] = []
        for column in COLUMNS:
            members = sorted(s for s in sets[column] if s >= RTMIN)
            label = f"{len(members)} {SHORT[column] if compact else column}"
            if members and len(members) <= 3 and not compact:
                label += " (" + ", ".join(signal_name(s)[3:] for s in members) + ")"
            style = "reverse bold" if self.is_highlighted("rt", column) else ""
            if not members and not style:
                style = "dim"
            parts.append(Text(label, style=style))
        return line + Text(" · ").join(parts)

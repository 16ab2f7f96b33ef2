"""What the sequence chart claims, without a screen: lanes, rows in time order, captions.

The lab's events reach the UI in *arrival* order, which is not the order things happened:
several processes write to one channel, a worker reports its handler runs after they ran
(handlers only record), the master writes its SIGCHLD after the fork it led to, and the
sampler reports a state it saw up to a scan period late. A chart drawn in arrival order says
false things ("forked, then got the SIGCHLD that caused the fork"). So:

- **a reorder window**: :meth:`SequenceModel.hold` keeps each event for at most
  :data:`REORDER_WINDOW_NS` (wall time) or until an event :data:`REORDER_WINDOW_NS` newer has
  arrived, then :meth:`SequenceModel.release` applies them in time-stamp order (so a handler
  run always finds the send that caused it). One exception: a send sigscope itself has just
  made is applied at once (nothing it causes can be older than it; see ``hold``);
- **rows sorted by time**: an event later than the window is still inserted where its time
  stamp puts it, never appended out of order;
- **one lane per process**: a respawned worker (a new pid in the same slot) gets a new lane;
  the old one ends at its reap.

The module imports no Textual: the chart widget draws this model, the event list uses its
captions (:func:`describe`), and tests read both.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_right
from collections import OrderedDict, deque
from typing import Any

from sigscope.events import CONTROLLER_ROLES
from sigscope.observe.lane_sentences import lane_sentence
from sigscope.signames import RTMIN, SignalError, parse_signal

Event = dict[str, Any]

MAX_ROWS = 2_000
"""Rows kept; older ones scroll away for good (memory stays flat)."""
STORM_WINDOW_NS = 250_000_000
"""Arrows closer together than this (same signal, same two lanes) merge into one row."""
MERGE_LOOKBACK = 8
"""How many recent rows a new arrow may merge into (a storm to two workers interleaves)."""
PENDING_KEYS = 1_024
PENDING_PER_KEY = 4_096
PENDING_MAX_AGE_NS = 30_000_000_000
"""A send whose handler has not run after this long is forgotten (blocked, ignored, lost)."""
COALESCE_SLACK_NS = 50_000_000
"""Sends older than this before a handler ran were merged by the kernel into that delivery."""
REORDER_WINDOW_NS = 30_000_000
"""How long after its time stamp an event may wait for older ones still on their way (30 ms).
Measured here (``python -m bench.bench_ui --disorder``): at a load of 12 on 2 cores, 81 of
468 events arrived after a newer one, overtaken by at most 29.5 ms (half the events arrive
within 0.4 ms of their time stamp). Later events are still inserted in time order; only
the pairing of a handler run with its send may then fail."""
LIVE_SKEW_NS = 5_000_000_000
"""An event stamped within this of the clock is live: its window counts from its time stamp
(the time it spent in the pipe counts too). Others (a replay) wait the window from arrival."""
HOLD_MAX = 100_000
"""Events held in the window at most (a storm): beyond it the oldest are applied at once."""
MAX_PID_LANES = 8  # lanes for processes without a worker index (orphans, strangers)
MAX_ENDED_LANES = 64  # lanes of reaped processes kept (for rows still in the deque)
DRAWN_KINDS = frozenset(
    {"sent", "received", "spawn", "fork", "exit", "reaped", "gone", "state", "phase"}
    | {"dropped", "ended", "report"}  # report: a playground's report() (issue 17)
)
"""The kinds the chart draws (the others, e.g. a periodic ``status``, change nothing)."""
STOP_SIGNALS = frozenset({"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"})
KERNEL_SIGNALS = frozenset({"SIGCHLD", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGPIPE", "SIGSEGV"})


def is_realtime(sig: str) -> bool:
    """Real-time signals queue (one delivery per send); standard ones coalesce while pending."""
    try:
        return parse_signal(sig) >= RTMIN
    except SignalError:
        return False


def format_ms(ns: float) -> str:
    """A latency in the unit a person reads best: µs, ms or s."""
    if ns < 1_000_000:
        return f"{ns / 1000:.0f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def _who(role: Any, pid: Any, index: Any = None) -> str:
    if role in CONTROLLER_ROLES:
        return "you"
    if role == "worker" and index is not None:
        return f"worker {index} ({pid})"
    if role in ("master", "worker"):
        return f"{role} {pid}"
    return f"pid {pid}"


def describe(event: Event) -> str:
    """One event as a sentence a student reads: the chart's captions and the event list's
    WHAT column both come from here (one wording, not two that drift apart)."""
    lane = lane_sentence(event)  # the terminal lane's events (issue 16)
    if lane is not None:
        return lane
    kind = event.get("kind")
    pid, sig = event.get("pid"), event.get("sig")
    me = _who(event.get("role"), pid, event.get("index"))
    if kind == "sent":
        target = _who(event.get("target_role"), event.get("target"))
        return f"{me} sent {sig} to {target}"
    if kind == "received":
        if event.get("via"):  # sigwaitinfo: taken from the pending set, no handler ran
            return f"{me} took {sig} with {event['via']}()"
        return f"{me} ran its {sig} handler"
    if kind in ("spawn", "fork"):
        child, index = event.get("child"), event.get("index")
        what = f"w{index}" if kind == "spawn" and index is not None else "a child"
        extra = f" ({event['behaviour']})" if event.get("behaviour") else ""
        return f"fork {what} pid {child}{extra}"
    if kind == "exit":
        code = event.get("code")
        if isinstance(code, int) and code < 0:
            name = sig or f"signal {-code}"
            if event.get("role") == "worker" and sig:
                # A worker's handler runs first, then (worker.die_by) resets the signal to its
                # default action and re-raises it, so that its parent sees "killed by SIG…".
                return f"pid {pid} dies by {name}: its handler re-raised it"
            return f"pid {pid} exits: dies by {name}"
        return f"pid {pid} exits with code {code}"
    if kind == "reaped":
        child, how = event.get("child"), event.get("how")
        if how == "signalled":
            core = ", core dumped" if event.get("core") else ""
            result = f"killed by {event.get('sig')}{core} ({event.get('exitcode')})"
        elif how == "exited":
            result = f"exited with code {event.get('exitcode')}"
        else:
            result = str(how or f"status {event.get('status')}")
        adopted = " (adopted)" if event.get("adopted") else ""
        return f"reaped{adopted}: pid {child} {result}"
    if kind == "gone":
        return (
            f"pid {event.get('child')} gone without a status (SIGCHLD ignored: the kernel "
            "reaped it)"
        )
    if kind == "state":
        child, state, old = event.get("child"), event.get("state"), event.get("old")
        if state == "Z":
            return f"pid {child} is a zombie: dead, not reaped yet"
        if state in ("T", "t"):
            return f"pid {child} stopped ({state})"
        if old in ("T", "t") and state not in ("gone", "X"):
            return f"pid {child} continued ({state})"
        if state in ("gone", "X"):
            return f"pid {child} has left the process table"
        return f"pid {child}: state {old} → {state}"
    if kind == "phase":
        return f"master: {event.get('phase')} shutdown"
    if kind == "dropped":
        return f"{event.get('count')} events lost (channel full)"
    if kind == "ended":
        return "the lab has ended"
    if kind == "start":
        if event.get("role") == "master":
            wanted, reaping = event.get("target"), event.get("reaping")
            return f"master {pid} starts: {wanted} workers, reaping {reaping}"
        return f"{me} starts ({event.get('behaviour')})"
    if kind == "ready":
        return f"{me} is ready: handlers installed"
    if kind == "call":  # a blocking call a behaviour makes (pause, sleep, read…): its progress
        text = f"{me}: {event.get('call', 'its call')} {event.get('state', '')}".rstrip()
        woke = event.get("woke_by")
        if woke:  # a name, or the names of the signals whose handlers ran (pause)
            names = [str(w) for w in woke] if isinstance(woke, list | tuple) else [str(woke)]
            text += f", woken by {', '.join(names[:6])}"
        waited = event.get("waited")
        if isinstance(waited, int | float) and not isinstance(waited, bool):
            text += f" after {waited:.3f} s"
        return text
    if kind == "status":
        return (
            f"master status: {event.get('live')} live of {event.get('target')} wanted, "
            f"reaping {event.get('reaping')}, {event.get('phase')}"
        )
    if kind == "mode":
        return f"master: reaping {event.get('old')} → {event.get('reaping')}"
    if kind == "backoff":
        return f"slot {event.get('index')} waits {event.get('delay')} s before a new worker"
    if kind == "timer":
        value = event.get("value")
        return f"{me}: {event.get('timer')} timer {event.get('action')}" + (
            f" ({value})" if value not in (None, "") else ""
        )
    if kind in ("note", "error"):
        text = str(event.get("text", ""))
        return text.splitlines()[-1] if text else str(kind)
    if kind == "report":  # the playground: the learner's report(**fields) (issue 17)
        skip = ("t", "pid", "role", "kind", "index", "snippet")
        fields = ", ".join(f"{k}={v!r}" for k, v in event.items() if k not in skip)
        return f"{me} reports {fields}"
    if kind == "snippet":
        action, ident = event.get("action"), event.get("id")
        if action == "raised":
            return f"{me}: snippet {ident} raised {event.get('exception')}"
        return f"{me}: snippet {ident} {action}"
    return f"{me}: {kind}"


class Lane:
    """One column of the chart: a sender lane (you, kernel) or one process's life."""

    __slots__ = ("key", "title", "pid", "order", "first_t", "end_t")

    def __init__(self, key: str, title: str, pid: int | None, order: tuple[int, int, int]) -> None:
        self.key = key
        self.title = title
        self.pid = pid
        self.order = order
        self.first_t: int | None = None  # the first row on it (a worker's: its fork)
        self.end_t: int | None = None  # its reap: rows after it do not draw the lane

    def alive_at(self, t: int) -> bool:
        """Whether the lane's line is drawn on a row at ``t``."""
        if self.first_t is not None and t < self.first_t:
            return False
        return self.end_t is None or t <= self.end_t


class ChartRow:
    """One row: an arrow (possibly aggregated), or a mark on a lane (fork, exit, reap…).

    Rows are mutable: a storm row's count and latency grow as sends and handlers arrive;
    ``version`` changes with each update so the widget re-renders only that row.
    """

    __slots__ = (
        "uid",
        "kind",
        "t",
        "last_t",
        "sender",
        "receiver",
        "sig",
        "text",
        "glyph",
        "style",
        "count",
        "handled",
        "lat_sum",
        "lat_max",
        "version",
        "undrawn",
        "from_kernel",
    )

    def __init__(
        self,
        uid: int,
        kind: str,
        t: int,
        receiver: str,
        sender: str | None = None,
        sig: str = "",
        text: str = "",
        glyph: str = "",
        style: str = "",
    ) -> None:
        self.uid = uid
        self.kind = kind  # "arrow" or "mark"
        self.t = t
        self.last_t = t
        self.sender = sender
        self.receiver = receiver
        self.sig = sig
        self.text = text
        self.glyph = glyph
        self.style = style
        self.count = 1
        self.handled = 0
        self.lat_sum = 0
        self.lat_max = 0
        self.version = 0
        # Event times not yet on screen: the widget turns them into sent-to-drawn delays.
        self.undrawn: list[int] = [t]
        # The receiver's siginfo said SI_KERNEL (strace's view: a tty's Ctrl+C, Ctrl+Z).
        self.from_kernel = False

    def label(self) -> str:
        """What the row says in the label column."""
        if self.kind != "arrow":
            return self.text
        parts = [self.sig + (f" ×{self.count}" if self.count > 1 else "")]
        if self.sender == "kernel":
            known = self.from_kernel or self.sig in KERNEL_SIGNALS
            parts.append("from the kernel" if known else "no known sender")
        if self.handled:
            if self.count == 1:
                parts.append(f"handled after {format_ms(self.lat_sum)}")
            else:
                avg = self.lat_sum / self.handled
                handled = "all handled" if self.handled == self.count else f"{self.handled} handled"
                parts.append(f"{handled}, avg {format_ms(avg)}")
        return " · ".join(parts)

    def touch(self, t: int) -> None:
        self.version += 1
        if len(self.undrawn) < 4096:
            self.undrawn.append(t)


class SequenceModel:
    """The chart's state, independent of any screen: lanes, rows and unmatched sends.

    ``add(event)`` takes events in the contract of :mod:`sigscope.events`. A ``sent``
    draws an arrow at once (so a SIGKILL, which never runs a handler, still shows); the
    ``received`` that matches it (same signal, the target's pid) adds its latency to that row.
    A ``received`` with no matching send is drawn from the *kernel* lane (SIGCHLD, SIGALRM, or a
    ``kill`` typed in another terminal).

    Matching follows the kernel's rules: real-time signals queue, so sends and handler runs
    pair first-in first-out; a standard signal is pending at most once, so when its handler
    runs, the older sends to the same process were merged into that one delivery.

    Events given to ``add`` are applied at once (rows still land in time order); ``hold`` +
    ``release`` put them through the reorder window first, which is what a live lab needs
    (but for sigscope's own sends, which ``hold`` applies at once: the arrow a person asked
    for does not wait a window).
    """

    def __init__(self, max_rows: int = MAX_ROWS, window_ns: int = REORDER_WINDOW_NS) -> None:
        self.rows: deque[ChartRow] = deque(maxlen=max_rows)
        self.lanes: list[Lane] = []
        self._lanes: dict[str, Lane] = {}
        self._pid_lane: OrderedDict[int, str] = OrderedDict()
        self._slot_gen: dict[int, int] = {}
        self._pid_seq = itertools.count()
        self._pending: OrderedDict[tuple[str, int], deque[tuple[int, ChartRow]]] = OrderedDict()
        self._last_received: dict[tuple[str, int], int] = {}
        # Handler runs drawn from the kernel lane for want of a send: a send that arrives later
        # than the window (but was made before the run) takes them back.
        self._unsent: OrderedDict[tuple[str, int], deque[tuple[int, ChartRow]]] = OrderedDict()
        # Sends a /proc scan said were no longer pending (forget_unmatched): a handler run
        # reported late (a worker busy in its work reports after it) still finds its send here.
        self._forgotten: OrderedDict[tuple[str, int], deque[tuple[int, ChartRow]]] = OrderedDict()
        self._stop_sent: dict[int, int] = {}  # pid -> time of the last stop signal sent to it
        self._cont_sent: dict[int, int] = {}  # pid -> time of the last SIGCONT sent to it
        self._uid = 0
        self.origin: int | None = None
        self.layout_version = 0
        self.changes = 0  # bumped by every event applied: rows may have new labels
        self.evicted = 0  # rows pushed out of the deque since the widget last looked
        self.sent = 0  # arrows started by a `sent` event (for benchmarks: counted vs sent)
        self.received = 0
        # Rows inserted above one already applied: an event later than the window, or one
        # older than a send of sigscope's own, which is applied at once (hold).
        self.late = 0
        # The reorder window: a heap by event time, and arrival times in arrival order.
        self.window_ns = window_ns
        self._held: list[tuple[int, int, Event]] = []
        self._arrivals: deque[tuple[int, int]] = deque()  # (due at, event t), arrival order
        self._seq = itertools.count()
        self._newest_seen = 0
        self._held_forks: dict[int, int] = {}  # child pid -> its spawn/fork events held
        for key in ("you", "kernel", "master"):
            self._lane(key, key, None)

    # -- the reorder window --------------------------------------------------------------------
    def hold(self, event: Event, now: int) -> None:
        """Take an event that arrived at ``now`` (wall clock, ns); it is applied by
        :meth:`release` once older events can no longer be on their way, except a send
        sigscope has just made (:meth:`_made_just_now`), which is applied at once."""
        t = _t(event)
        self._newest_seen = max(self._newest_seen, t)
        if self._made_just_now(event, t, now):
            self.add(event)
            return
        heapq.heappush(self._held, (t, next(self._seq), event))
        child = _forked(event)
        if child is not None:
            self._held_forks[child] = self._held_forks.get(child, 0) + 1
        due = t + self.window_ns if 0 <= now - t <= LIVE_SKEW_NS else now + self.window_ns
        self._arrivals.append((due, t))
        if len(self._held) > HOLD_MAX:
            self.add(self._pop_held())

    def _pop_held(self) -> Event:
        """The oldest held event, out of the window."""
        event = heapq.heappop(self._held)[2]
        child = _forked(event)
        if child is not None:
            left = self._held_forks.pop(child, 1) - 1
            if left > 0:
                self._held_forks[child] = left
        return event

    def _made_just_now(self, event: Event, t: int, now: int) -> bool:
        """A ``sent`` of sigscope's own (the controller's), live: it can be applied without
        waiting the window (on the conditions below).

        The controller stamps its ``sent`` in this process and hands it to its subscribers
        before it sends the signal (``sources.base.send_recorded``): whatever the signal causes
        (a handler run, a stop, a reap) is stamped later, and reaches the chart after it. So
        nothing the window waits for can belong *before* this row's meaning; events older than
        it that are still in the pipe are inserted above it by their time stamps when they
        come (rows stay sorted; :attr:`late` counts them), and a send applied early is queued
        for its handler run in time order (:meth:`_queue_send`), so a run still finds the send
        that caused it whichever of two sends was applied first.

        Only the send itself goes early, not the older events held with it: those may be
        overtaken still (a handler run whose send is in the pipe would be drawn "no known
        sender", a stop seen by the sampler before its ``sent`` arrived would be drawn when
        seen), so they keep their window. And only when:

        - it is live: stamped at most one window ago (a replay's events, old stamps, and a
          controller's send that waited longer than the window, which is due anyway);
        - no ``spawn``/``fork`` of the target is held: the lab knew the process (it could
          send), the chart has not drawn its fork yet; the fork must make its lane first, or
          the arrow would go to a pid lane the fork then moves (or, for a reused pid, to the
          ended lane of the earlier process);
        - the target's lane has not ended (a reused pid whose fork is still in the pipe).

        A target the chart has never seen (it was started after the process) gets a pid lane
        at once: waiting the window would not bring its fork.
        """
        if event.get("kind") != "sent" or event.get("role") not in CONTROLLER_ROLES:
            return False
        if not 0 <= now - t <= self.window_ns:
            return False
        target = event.get("target")
        if not isinstance(target, int) or target in self._held_forks:
            return False
        key = self._pid_lane.get(target)
        lane = self._lanes.get(key) if key is not None else None
        return lane is None or lane.end_t is None

    @property
    def held(self) -> int:
        """Events waiting in the reorder window."""
        return len(self._held)

    def release(self, now: int, everything: bool = False) -> int:
        """Apply, in time-stamp order, every held event that cannot be overtaken any more:
        one as old as the newest seen minus the window, or one whose window has passed (with
        every older one). Returns how many were applied."""
        limit = self._newest_seen - self.window_ns
        while self._arrivals and self._arrivals[0][0] <= now:
            limit = max(limit, self._arrivals.popleft()[1])
        applied = 0
        while self._held and (everything or self._held[0][0] <= limit):
            self.add(self._pop_held())
            applied += 1
        if not self._held:
            self._arrivals.clear()
        return applied

    def next_release(self, now: int) -> int | None:
        """Nanoseconds until :meth:`release` has something to apply (None: nothing held)."""
        if not self._held:
            return None
        if not self._arrivals:
            return 0
        return max(0, self._arrivals[0][0] - now)

    # -- lanes -----------------------------------------------------------------------------
    def _lane(self, key: str, title: str, pid: int | None) -> Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = Lane(key, title, pid, _lane_order(key, next(self._pid_seq)))
            self._lanes[key] = lane
            self.lanes.append(lane)
            self.lanes.sort(key=lambda la: la.order)
            self._forget_ended_lanes()
            self.layout_version += 1
        return lane

    def _forget_ended_lanes(self) -> None:
        """Keep the lanes of at most MAX_ENDED_LANES reaped processes that no row uses."""
        ended = [la for la in self.lanes if la.end_t is not None]
        if len(ended) <= MAX_ENDED_LANES:
            return
        used = {row.receiver for row in self.rows} | {row.sender for row in self.rows}
        for lane in sorted(ended, key=lambda la: la.end_t or 0)[: len(ended) - MAX_ENDED_LANES]:
            if lane.key not in used:
                self.lanes.remove(lane)
                del self._lanes[lane.key]

    def lane_of(
        self, pid: int, role: str | None = None, index: int | None = None, new: bool = False
    ) -> str:
        """The lane key of a process: master, w<index>[.<n>], p<pid>, or "other" past the cap.

        Each process has a lane of its own for its whole life: a worker that replaces another
        in the same slot (a new pid) gets a new lane ``w<index>.<n>``, titled like the slot.
        ``new``: a fork, so a pid whose lane has ended (pids are reused) starts a new one.
        """
        key = self._pid_lane.get(pid)
        known = key
        if key is not None and key in self._lanes:
            lane = self._lanes[key]
            # Known: its lane, unless a fork reuses the pid of a process that has ended, or its
            # role is learnt after another event named it (a pid lane so far).
            adopt = key.startswith("p") and (
                role == "master" or (role == "worker" and index is not None)
            )
            if not (new and lane.end_t is not None) and not adopt:
                return key
        if role in CONTROLLER_ROLES:
            key = "you"
        elif role == "master":
            key = "master"
        elif role == "worker" and index is not None:
            gen = self._slot_gen.get(index)
            slot = f"w{index}" if not gen else f"w{index}.{gen}"
            current = self._lanes.get(slot)
            if gen is None or (current is not None and current.pid not in (None, pid)):
                gen = 0 if gen is None else gen + 1
                slot = f"w{index}" if not gen else f"w{index}.{gen}"
            self._slot_gen[index] = gen
            key = slot
        else:
            pid_lanes = sum(1 for la in self.lanes if la.key.startswith("p"))
            key = f"p{pid}" if pid_lanes < MAX_PID_LANES else "other"
        if known is not None and known.startswith("p") and known in self._lanes:
            self._move_lane(known, key)
        self._pid_lane[pid] = key
        self._pid_lane.move_to_end(pid)
        if len(self._pid_lane) > 4 * MAX_ROWS:
            self._pid_lane.popitem(last=False)
        if key in ("you", "master") and key in self._lanes:
            lane = self._lanes[key]
            if key == "master" and lane.pid is None:
                lane.pid = pid
                self.layout_version += 1
            return key
        if key == "other":
            title = "others"
        elif key.startswith("p"):
            title = role or "pid"
        else:
            title = key.split(".")[0]
        lane = self._lane(key, title, None if key == "other" else pid)
        if lane.pid is None and key != "other":
            lane.pid = pid
            self.layout_version += 1
        return key

    def _move_lane(self, old: str, key: str) -> None:
        """A pid lane becomes the worker lane ``key`` (its slot was learnt late): its rows
        move with it."""
        lane = self._lanes.pop(old)
        self.lanes.remove(lane)
        for row in self.rows:
            if row.receiver == old or row.sender == old:
                row.receiver = key if row.receiver == old else row.receiver
                row.sender = key if row.sender == old else row.sender
                row.version += 1
        for pid, k in self._pid_lane.items():
            if k == old:
                self._pid_lane[pid] = key
        target = self._lanes.get(key)
        if target is None:
            lane.key, lane.title, lane.order = key, key.split(".")[0], _lane_order(key, 0)
            self._lanes[key] = lane
            self.lanes.append(lane)
            self.lanes.sort(key=lambda la: la.order)
        elif lane.first_t is not None:
            target.first_t = min(target.first_t or lane.first_t, lane.first_t)
        self.layout_version += 1

    def lane(self, key: str) -> Lane | None:
        return self._lanes.get(key)

    def column(self, key: str) -> int:
        for i, lane in enumerate(self.lanes):
            if lane.key == key:
                return i
        return 0

    def lane_of_event(self, event: Event) -> str:
        pid, role = int(event.get("pid", 0)), event.get("role")
        return self.lane_of(pid, role, event.get("index"))

    def _touch_lane(self, key: str | None, t: int) -> None:
        lane = self._lanes.get(key) if key else None
        fixed = lane is None or lane.key in ("you", "kernel", "master")
        if lane is not None and not fixed and (lane.first_t is None or t < lane.first_t):
            lane.first_t = t
            self.layout_version += 1

    # -- rows ------------------------------------------------------------------------------
    def _insert_at(self, t: int) -> int:
        """Where a row at ``t`` goes: after every row at or before ``t`` (rows stay sorted)."""
        i = len(self.rows)
        while i > 0 and self.rows[i - 1].t > t:
            i -= 1
        return i

    def _new_row(self, kind: str, t: int, receiver: str, **kw: Any) -> ChartRow:
        self._uid += 1
        row = ChartRow(self._uid, kind, t, receiver, **kw)
        i = self._insert_at(t)
        if len(self.rows) == self.rows.maxlen:
            if i == 0:
                return row  # older than every row kept: it would fall off at once
            self.rows.popleft()
            self.evicted += 1
            i -= 1
        if i == len(self.rows):
            self.rows.append(row)
        else:
            self.rows.insert(i, row)
            self.late += 1
        self._touch_lane(receiver, t)
        self._touch_lane(kw.get("sender"), t)
        return row

    def _arrow(self, t: int, sender: str, receiver: str, sig: str) -> ChartRow:
        """A new arrow, or one more signal on a recent row of the same storm."""

        def same_storm(row: ChartRow) -> bool:
            return (row.kind, row.sig, row.sender, row.receiver) == ("arrow", sig, sender, receiver)

        end = self._insert_at(t)
        for i in range(end - 1, max(-1, end - 1 - MERGE_LOOKBACK), -1):
            row = self.rows[i]
            if same_storm(row) and t - row.last_t <= STORM_WINDOW_NS:
                # t may be older than the row's last send (but not than its first: the row is
                # above the place for t): a send that waited the reorder window while newer
                # ones of the same storm were applied at once (hold) still joins its storm.
                row.count += 1
                row.last_t = max(row.last_t, t)
                row.touch(t)
                return row
        # The first row after t's place may be a storm row whose first send is newer than this
        # one: the storm's first sends waited the window (the app's thread was busy when they
        # came) while later ones were applied at once. They join the row, which now starts at t
        # (it stays in order: every row above it is at or before t).
        after = self.rows[end] if end < len(self.rows) else None
        if after is not None and same_storm(after) and after.t - t <= STORM_WINDOW_NS:
            after.count += 1
            after.t = t
            after.touch(t)
            return after
        return self._new_row("arrow", t, receiver, sender=sender, sig=sig)

    def mark(
        self, t: int, lane: str, glyph: str, text: str, style: str, other: str | None = None
    ) -> ChartRow:
        """A mark on ``lane`` (with a dotted line from ``other``, e.g. the parent of a fork)."""
        self.changes += 1
        return self._new_row("mark", t, lane, sender=other, glyph=glyph, text=text, style=style)

    # -- events ----------------------------------------------------------------------------
    def add(self, event: Event) -> None:
        """Apply one event of the lab's stream now (any kind; those the chart does not draw
        are ignored)."""
        kind = event.get("kind")
        t = _t(event)
        if t and (self.origin is None or t < self.origin):
            # Time stamps count from the earliest event (of any kind, as the event list's do),
            # even one that arrived late.
            if self.origin is not None:
                self.layout_version += 1
            self.origin = t
        if kind not in DRAWN_KINDS:
            return
        self.changes += 1
        if kind == "sent":
            self._sent(event, t)
        elif kind == "received":
            self._received(event, t)
        elif kind in ("spawn", "fork"):
            child = int(event["child"])
            index = event.get("index") if kind == "spawn" else None
            role = "worker" if kind == "spawn" else "orphan"
            lane = self.lane_of(child, role, index, new=True)
            parent = self.lane_of_event(event)
            self.mark(t, lane, "◉", describe(event), "green", parent)
        elif kind == "exit":
            lane = self.lane_of_event(event)
            self.mark(t, lane, "✕", describe(event), "yellow")
        elif kind in ("reaped", "gone"):
            self._reaped(event, t, kind)
        elif kind == "state":
            self._state(event, t)
        elif kind == "phase":
            lane = self.lane_of_event(event)
            self.mark(t, lane, "◆", describe(event), "bold yellow")
        elif kind == "dropped":
            lane = self.lane_of_event(event)
            self.mark(t, lane, "!", describe(event), "bold red")
        elif kind == "report":  # a playground's report(): drawn on its lane, like a handler run
            lane = self.lane_of_event(event)
            self.mark(t, lane, "✎", describe(event), "cyan")
        elif kind == "ended":
            self.mark(t, "master", "■", describe(event), "bold red")
            for lane_ in self.lanes:
                if lane_.key not in ("you", "kernel") and lane_.end_t is None:
                    lane_.end_t = t
            self.layout_version += 1

    def _sent(self, event: Event, t: int) -> None:
        sig = str(event.get("sig", "?"))
        target = int(event.get("target", 0))
        sender = self.lane_of_event(event)
        receiver = self.lane_of(target, event.get("target_role"))
        row = self._arrow(t, sender, receiver, sig)
        self.sent += 1
        # The newest send of each: a send applied at once (hold) may be followed by an older
        # one that was still in the pipe.
        if sig in STOP_SIGNALS:
            self._stop_sent[target] = max(t, self._stop_sent.get(target, t))
        elif sig == "SIGCONT":
            self._cont_sent[target] = max(t, self._cont_sent.get(target, t))
        for table in (self._stop_sent, self._cont_sent):
            if len(table) > PENDING_KEYS:
                table.pop(next(iter(table)))
        key = (sig, target)
        if self._took_back(key, t, row):
            return
        queue = self._pending.get(key)
        if queue is None:
            queue = self._pending[key] = deque(maxlen=PENDING_PER_KEY)
            if len(self._pending) > PENDING_KEYS:
                self._pending.popitem(last=False)
        else:
            self._pending.move_to_end(key)
            last = self._last_received.get(key)
            # A standard signal's sends from before its last handler run, with no second run
            # a second later, were merged into that delivery: they will never match.
            if last is not None and t - last > 1_000_000_000 and not is_realtime(sig):
                while queue and queue[0][0] <= last:
                    queue.popleft()
        while queue and t - queue[0][0] > PENDING_MAX_AGE_NS:
            queue.popleft()
        _queue_send(queue, t, row)

    def _received(self, event: Event, t: int) -> None:
        sig = str(event.get("sig", "?"))
        pid = int(event.get("pid", 0))
        receiver = self.lane_of_event(event)
        self.received += 1
        key = (sig, pid)
        queue = self._pending.get(key)
        while queue and t - queue[0][0] > PENDING_MAX_AGE_NS:
            queue.popleft()
        if queue and queue[0][0] <= t:
            sent_t, row = queue.popleft()
            if not is_realtime(sig):
                while queue and queue[0][0] <= t - COALESCE_SLACK_NS:
                    queue.popleft()
            self._last_received[key] = t
            if len(self._last_received) > PENDING_KEYS:
                self._last_received.pop(next(iter(self._last_received)))
            latency = t - sent_t
            row.handled += 1
            row.lat_sum += latency
            row.lat_max = max(row.lat_max, latency)
            row.version += 1  # a new label, not a new arrow: no sent-to-drawn sample
            return
        if self._found_forgotten(key, t):
            return
        # strace's siginfo (the terminal lane, attach) may say who sent it: kill() by a process
        # that has a lane (bg's SIGCONT from the shell) is drawn from that lane.
        sender = event.get("sender")
        if event.get("si_code") == "SI_USER" and isinstance(sender, int):
            lane = self._pid_lane.get(sender)
            if lane is not None and lane in self._lanes and lane != receiver:
                self._arrow(t, lane, receiver, sig)
                return
        row = self._arrow(t, "kernel", receiver, sig)
        if event.get("si_code") == "SI_KERNEL":  # the terminal lane's strace says who sent it
            row.from_kernel = True
        unsent = self._unsent.get(key)
        if unsent is None:
            unsent = self._unsent[key] = deque(maxlen=PENDING_PER_KEY)
            if len(self._unsent) > PENDING_KEYS:
                self._unsent.popitem(last=False)
        unsent.append((t, row))

    def _found_forgotten(self, key: tuple[str, int], t: int) -> bool:
        """A handler run at ``t`` whose send a scan had let go (the signal was no longer
        pending: delivered, its run not reported yet): the send with no run drawn gets it,
        rather than an arrow from the kernel saying "no known sender" (lesson 05: the pause
        worker reports its SIGUSR1 run after 5 s of work; a scan in between saw it delivered)."""
        forgotten = self._forgotten.get(key)
        if not forgotten:
            return False
        for i, (sent_t, row) in enumerate(forgotten):
            if sent_t <= t and t - sent_t <= PENDING_MAX_AGE_NS and row.handled == 0:
                del forgotten[i]
                latency = t - sent_t
                row.handled += 1
                row.lat_sum += latency
                row.lat_max = max(row.lat_max, latency)
                row.version += 1
                self._last_received[key] = max(self._last_received.get(key, 0), t)
                return True
        return False

    def _took_back(self, key: tuple[str, int], t: int, row: ChartRow) -> bool:
        """A send made at ``t`` whose handler run was already drawn from the kernel lane (its
        event overtook the send's by more than the window): move that run onto this send."""
        unsent = self._unsent.get(key)
        if not unsent:
            return False
        while unsent and unsent[0][0] - t > PENDING_MAX_AGE_NS:
            unsent.popleft()
        for i, (ran, kernel_row) in enumerate(unsent):
            if ran >= t and ran - t <= PENDING_MAX_AGE_NS:
                del unsent[i]
                kernel_row.count -= 1
                kernel_row.version += 1
                if kernel_row.count <= 0 and kernel_row in self.rows:
                    self.rows.remove(kernel_row)
                    self.layout_version += 1
                row.handled += 1
                row.lat_sum += ran - t
                row.lat_max = max(row.lat_max, ran - t)
                row.version += 1
                self._last_received[key] = max(self._last_received.get(key, 0), ran)
                return True
        return False

    def _reaped(self, event: Event, t: int, kind: str) -> None:
        child = int(event.get("child", 0))
        lane = self.lane_of(child)
        reaper = self.lane_of_event(event)
        # Its unmatched sends are not dropped here: a handler run of this child may still be
        # on its way (events arrive out of order); PENDING_MAX_AGE_NS and PENDING_KEYS bound
        # what is kept.
        if kind == "gone":
            self.mark(t, lane, "∅", describe(event), "magenta", reaper)
        else:
            self.mark(t, lane, "⊗", describe(event), "magenta", reaper)
        ended = self._lanes.get(lane)
        if ended is not None and lane not in ("you", "kernel", "other") and ended.pid == child:
            # The process is gone for good: its lane ends here (a new pid gets a new lane).
            ended.end_t = t if ended.end_t is None else min(ended.end_t, t)
            self.layout_version += 1
            self._forget_ended_lanes()

    def _state(self, event: Event, t: int) -> None:
        child = event.get("child")
        if child is None:
            return
        pid = int(child)
        lane = self.lane_of(pid)
        state, old = event.get("state"), event.get("old")
        # The sampler reports a change when it scans, up to a scan period after it happened.
        # A stop or continue we saw sent happened then (SIGCONT resumes the process when it is
        # sent; a stop signal stops it on delivery): draw it there, after its arrow, so that it
        # comes before what it caused (the reaps after a continue).
        if state == "Z":
            self.mark(t, lane, "Z", describe(event), "bold red")
        elif state in ("T", "t"):
            sent = self._stop_sent.pop(pid, None)
            at = sent + 1 if sent is not None and sent <= t else t
            self.mark(at, lane, state, describe(event), "bold blue")
        elif old in ("T", "t") and state not in ("gone", "X"):
            sent = self._cont_sent.pop(pid, None)
            at = sent + 1 if sent is not None and sent <= t else t
            text = describe(event) + (" by SIGCONT" if at != t else "")
            self.mark(at, lane, "▷", text, "blue")

    def forget_unmatched(self, pid: int, sigs: frozenset[str], before: int) -> None:
        """Drop sends to ``pid`` of signals in ``sigs`` made before ``before``: a snapshot
        shows those signals are not pending, so no handler run is coming for them."""
        for sig in sigs:
            queue = self._pending.get((sig, pid))
            while queue and queue[0][0] < before:
                forgotten = self._forgotten.get((sig, pid))
                if forgotten is None:
                    forgotten = self._forgotten[(sig, pid)] = deque(maxlen=PENDING_PER_KEY)
                    if len(self._forgotten) > PENDING_KEYS:
                        self._forgotten.popitem(last=False)
                forgotten.append(queue.popleft())

    def pending_keys(self) -> list[tuple[str, int]]:
        return [k for k, q in self._pending.items() if q]

    def take_evicted(self) -> int:
        n, self.evicted = self.evicted, 0
        return n


def _queue_send(queue: deque[tuple[int, ChartRow]], t: int, row: ChartRow) -> None:
    """Queue a send for its handler run in time order: the runs take the oldest first, and
    a send applied at once (``hold``) may be followed by an older one still in the pipe."""
    if not queue or queue[-1][0] <= t:
        queue.append((t, row))  # the usual case
        return
    if len(queue) == queue.maxlen:
        queue.popleft()  # as append would (a full deque refuses an insert)
    queue.insert(bisect_right(queue, t, key=lambda sent: sent[0]), (t, row))


def _forked(event: Event) -> int | None:
    """The child a ``spawn`` or ``fork`` event makes a lane for."""
    child = event.get("child")
    if event.get("kind") in ("spawn", "fork") and isinstance(child, int):
        return child
    return None


def _t(event: Event) -> int:
    t = event.get("t", 0)
    return t if isinstance(t, int) else 0


def _lane_order(key: str, seq: int) -> tuple[int, int, int]:
    """Fixed lanes first (you, kernel, master), then workers by slot and age, then others."""
    fixed = {"you": 0, "kernel": 1, "master": 2}
    if key in fixed:
        return (fixed[key], 0, 0)
    if key.startswith("w"):
        slot, _, gen = key[1:].partition(".")
        return (3, int(slot), int(gen or 0))
    if key.startswith("p"):
        return (4, seq, 0)
    return (5, 0, 0)

"""The dashboard on a recording: the same panels, driven by playback instead of a lab.

Keys: space plays or pauses, ``.`` steps one entry, ``[`` / ``]`` halve / double the speed,
``g`` / ``G`` jump to the start / the end, ``b`` / ``j`` jump a tenth of the recording back /
ahead. A recording has no process to signal: the dashboard's lab controls (quick signals, the
signal menu, TTIN/TTOU, reaping, spawn, restart) are neither shown nor bound, and the
quick-action buttons are replaced by the replay's own.

Every panel shows the recorded state at the play head: ages and timer countdowns run on the
recorded time of the last entry delivered (:attr:`Replay.head_t`), and the master panel's
"wanted" follows the recorded master (a replay cannot ask the master for its status, as the
live dashboard does after each change).

Where things live: the panels and the routing are the dashboard screen's
(:mod:`sigscope.ui.dashboard`); :class:`ReplayApp` only configures it in ``__init__`` — the
transport (:mod:`sigscope.ui.widgets.replay_transport`) in the action bar's place, the play
head as the clock, :class:`RecordedMaster` for the master panel's events, every recorded scan
kept in order, and what the end of the recording says — and adds the replay's keys. It extends
``start_lab`` and ``dashboard_ready`` (``super()``) and Textual's ``check_action``,
``get_system_commands`` and ``action_help``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from sigscope.sources.replay import Replay
from sigscope.ui.app import SigscopeApp
from sigscope.ui.commands import COMMANDS
from sigscope.ui.models.master import MasterState
from sigscope.ui.screens.help import HelpScreen
from sigscope.ui.settings import ReplaySettings
from sigscope.ui.widgets.replay_transport import ReplayTransport

MAX_JUMP = 50  # entries: b / j jump a tenth of the recording, at most this many

REPLAY_KEYS: tuple[tuple[str, str, str, str | None, str], ...] = (
    # key, action, title (help and palette), footer label, the key as help writes it
    ("space", "play_pause", "Replay: play or pause", "Play/Pause", "space"),
    ("full_stop", "step", "Replay: one entry forward (and pause)", "Step", "."),
    ("left_square_bracket", "speed(0.5)", "Replay: half as fast", "Slower", "["),
    ("right_square_bracket", "speed(2.0)", "Replay: twice as fast", "Faster", "]"),
    ("b", "jump_tenth(-1)", "Replay: a tenth of the recording back", None, "b"),
    ("j", "jump_tenth(1)", "Replay: a tenth of the recording ahead", None, "j"),
    ("g", "jump_to(0)", "Replay: back to the start", None, "g"),
    ("G", "jump_to(-1)", "Replay: to the end", None, "G"),
)

# The dashboard's actions that only look (the rest act on a live lab: a recording has nothing
# to act on). An allow-list: a lab action added to the dashboard later stays out of a replay.
VIEW_ACTIONS = frozenset({"filter_selected", "save_svg", "help", "quit", "focus_tree"})
LAB_ACTIONS = frozenset(
    name for name in (c.action.split("(", 1)[0] for c in COMMANDS) if name not in VIEW_ACTIONS
)


REPLAY_NOTE = (
    "\nA replay plays a recording back: nothing in it can be signalled, and every panel shows "
    "the recorded state at the play head (ages and timers count recorded time; the Master "
    "panel's 'wanted' follows what the recorded master did). space plays or pauses, . steps "
    "one entry, b / j jump a tenth of the recording, g / G go to its start / end. Every action "
    "is also in the command palette (ctrl+p)."
)


class ReplayHelpScreen(HelpScreen):
    """The help screen, its closing words about sending signals replaced by the replay's."""

    def on_mount(self) -> None:
        statics = list(self.query(Static))
        last = statics[-1] if statics else None
        if last is not None and "quick keys" in str(last.content):
            last.update(Text(REPLAY_NOTE))


def _action_name(action: str) -> str:
    return action.split("(", 1)[0]


def replay_help_keys() -> list[tuple[str, str]]:
    """(keys, what they do) for the replay's help screen: its own keys, then the dashboard's
    that still mean something on a recording."""
    rows = [(shown, title) for _, _, title, _, shown in REPLAY_KEYS]
    rows += [
        (c.shown_keys or c.keys, c.title)
        for c in COMMANDS
        if _action_name(c.action) not in LAB_ACTIONS
    ]
    rows.append(("ctrl+p", "Command palette: every action by name"))
    rows.append(("↑ ↓ / mouse", "Select a process or an event"))
    rows.append(("tab", "Move between panels"))
    rows.append(("p (in the chart)", "Pause or resume the sequence chart"))
    return rows


def recorded_target(target: int | None, phase: str, event: dict[str, Any]) -> int | None:
    """The master's wanted worker count after ``event``, read from the recording alone.

    The live dashboard asks the master for a ``status`` after each change; a replay cannot, so
    it follows what the master did: a spawn into slot N means it wants at least N + 1 workers
    (TTIN and the spawn command both spawn into the next slot; a refused TTIN spawns nothing),
    a TTOU while running lowers the target (never below 1), a WINCH sets it to 0.
    """
    kind = event.get("kind")
    if event.get("role") != "master":
        return target
    if kind in ("start", "status") and isinstance(event.get("target"), int):
        return int(event["target"])
    if kind == "spawn" and isinstance(event.get("index"), int):
        return max(target or 0, int(event["index"]) + 1)
    if kind == "received" and phase == "running" and target is not None:
        if event.get("sig") == "SIGTTOU" and target > 1:
            return target - 1
        if event.get("sig") == "SIGWINCH":
            return 0
    return target


class RecordedMaster:
    """The master panel's events on a recording: the stream, with the recorded master's target
    as a status event where it changes (the master panel's own word for a target is a status
    event, and a replay cannot ask the master for one)."""

    def __init__(self, state: Callable[[], MasterState]) -> None:
        self._state = state  # the master panel's state now
        self._target: int | None = None

    def reset(self) -> None:
        """A fresh replay: nothing is known of the target."""
        self._target = None

    def events(self, events: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Read lazily: the panel's state is current at each event."""
        for event in events:
            state = self._state()
            target = recorded_target(self._target, state.phase, event)
            if target != self._target:
                self._target = target
                if target != state.target:
                    # A status that changes nothing else.
                    yield {
                        "kind": "status",
                        "role": "master",
                        "target": target,
                        "backoff": dict(state.backoff),
                    }
            yield event


class ReplayApp(SigscopeApp):
    """A recording in the dashboard. Starts playing at once unless ``paused``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, action, footer or title, show=footer is not None)
        for key, action, title, footer, _ in REPLAY_KEYS
    ]

    def __init__(self, settings: ReplaySettings, speed: float = 1.0, paused: bool = False):
        super().__init__(settings)
        self.speed = speed
        self.autoplay = not paused
        self.transport = ReplayTransport(id="actions")
        self.recorded_master = RecordedMaster(lambda: self.master_panel.state)
        # The dashboard, configured for a recording: its transport instead of the lab's
        # buttons, the play head's clock, the master's target read from the recording, every
        # recorded scan kept in order, and the end of the recording kept on screen.
        dashboard = self.dashboard
        dashboard.actions = self.transport
        dashboard.use_clock(self.head_ns)
        dashboard.master_events = self.recorded_master.events
        dashboard.remembers_every_scan = True
        dashboard.lab_ended = self._recording_ended

    @property
    def replay(self) -> Replay | None:
        lab = self.lab
        return lab if isinstance(lab, Replay) else None

    def start_lab(self) -> None:
        super().start_lab()
        self.recorded_master.reset()
        replay = self.replay
        if replay is not None:
            replay.set_speed(self.speed)
            if self.autoplay:
                replay.play()

    def dashboard_ready(self) -> None:
        super().dashboard_ready()
        self.set_interval(0.25, self._show_position)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The lab's controls are neither shown (footer) nor run (keys, palette) here."""
        if action in LAB_ACTIONS:
            return False
        return super().check_action(action, parameters)

    def head_ns(self) -> int:
        """The recorded time at the play head (ages, rates and countdowns count recorded
        time: a paused replay's clocks stand still)."""
        replay = self.replay
        head = replay.head_t if replay is not None else None
        return head if head is not None else time.monotonic_ns()

    def _show_position(self) -> None:
        replay = self.replay
        if replay is None:
            return
        state = "▶" if replay.playing else ("■ end" if replay.at_end else "❚❚")
        self.sub_title = (
            f"{self.settings.describe(replay)} · {state} ×{replay.speed:g} · "
            f"{replay.position}/{replay.length}"
        )
        self.transport.show_playing(replay.playing)

    def action_play_pause(self) -> None:
        replay = self.replay
        if replay is None:
            return
        if replay.playing:
            replay.pause()
        else:
            if replay.at_end:
                self.action_jump_to(0)
                replay = self.replay
            if replay is not None:
                replay.play()
        self._show_position()

    def action_step(self) -> None:
        replay = self.replay
        if replay is not None:
            replay.pause()
            replay.step()
            self._show_position()

    def action_speed(self, factor: float) -> None:
        replay = self.replay
        if replay is not None:
            self.speed = replay.set_speed(replay.speed * factor)
            self._show_position()  # the header shows the speed: no toast over the panels

    def action_jump_to(self, position: int) -> None:
        replay = self.replay
        if replay is None:
            return
        target = replay.length if position < 0 else position
        self._jump(target)

    def jump_size(self) -> int:
        """How far b / j jump: a tenth of the recording (at least one entry, at most
        :data:`MAX_JUMP`), so that they are steps through a short recording too, not a
        jump to its start or end."""
        replay = self.replay
        length = replay.length if replay is not None else 0
        return max(1, min(MAX_JUMP, length // 10))

    def action_jump_tenth(self, direction: int) -> None:
        replay = self.replay
        if replay is not None:
            self._jump(replay.position + (1 if direction > 0 else -1) * self.jump_size())

    def _jump(self, target: int) -> None:
        replay = self.replay
        assert replay is not None
        playing = replay.playing
        replay.pause()
        if target < replay.position:
            # Backwards: a fresh replay (every panel cleared, a new generation so no late
            # message of the old one lands), then forwards to the target.
            self.autoplay = False
            self.start_lab()
            self.autoplay = True
            replay = self.replay
            if replay is None:
                return
        replay.jump(max(0, target))
        if playing and not replay.at_end:
            replay.play()
        self._show_position()

    def _recording_ended(self) -> None:
        # The recording reached its own lab's end: say so, keep everything on screen.
        self._set_banner(
            "The recorded lab ended here. g: back to the start · space: play again · q: quit"
        )
        self.refresh_tree()

    def action_help(self) -> None:
        self.push_screen(ReplayHelpScreen(replay_help_keys()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # The dashboard's palette minus what acts on a lab, plus the replay's own.
        lab_titles = {c.title for c in COMMANDS if _action_name(c.action) in LAB_ACTIONS}
        for command in super().get_system_commands(screen):
            if command.title not in lab_titles:
                yield command
        for _, action, title, _, shown in REPLAY_KEYS:
            yield SystemCommand(title, f"key: {shown}", lambda a=action: self.run_action(a))

"""The dashboard on a recording: the same panels, driven by playback instead of a lab.

Keys: space plays or pauses, ``.`` steps one entry, ``[`` / ``]`` halve / double the speed,
``g`` / ``G`` jump to the start / the end, ``b`` / ``j`` jump 50 entries back / ahead.
Sending signals is refused in plain words (a recording has no process to signal).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from sigscope.replay import Replay
from sigscope.ui.app import SigscopeApp
from sigscope.ui.sources import ReplaySettings

JUMP = 50

REPLAY_KEYS: tuple[tuple[str, str, str, str | None], ...] = (
    ("space", "play_pause", "Replay: play or pause", "Play/Pause"),
    ("full_stop", "step", "Replay: one entry forward", "Step"),
    ("left_square_bracket", "speed(0.5)", "Replay: half as fast", "Slower"),
    ("right_square_bracket", "speed(2.0)", "Replay: twice as fast", "Faster"),
    ("g", "jump_to(0)", "Replay: back to the start", None),
    ("G", "jump_to(-1)", "Replay: to the end", None),
    ("b", f"jump_by(-{JUMP})", f"Replay: {JUMP} entries back", None),
    ("j", f"jump_by({JUMP})", f"Replay: {JUMP} entries ahead", None),
)


class ReplayApp(SigscopeApp):
    """A recording in the dashboard. Starts playing at once unless ``paused``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, action, footer or title, show=footer is not None)
        for key, action, title, footer in REPLAY_KEYS
    ]

    def __init__(self, settings: ReplaySettings, speed: float = 1.0, paused: bool = False):
        super().__init__(settings)
        self.speed = speed
        self.autoplay = not paused

    @property
    def replay(self) -> Replay | None:
        lab = self.lab
        return lab if isinstance(lab, Replay) else None

    def start_lab(self) -> None:
        super().start_lab()
        replay = self.replay
        if replay is not None:
            replay.set_speed(self.speed)
            if self.autoplay:
                replay.play()

    def on_mount(self) -> None:
        # Textual runs SigscopeApp.on_mount too (handlers are called along the MRO): only
        # what the replay adds goes here.
        self.set_interval(0.25, self._show_position)

    def _show_position(self) -> None:
        replay = self.replay
        if replay is None:
            return
        state = "▶" if replay.playing else ("■ end" if replay.at_end else "❚❚")
        self.sub_title = (
            f"{self.settings.describe(replay)} · {state} ×{replay.speed:g} · "
            f"{replay.position}/{replay.length}"
        )

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
            self.notify(f"Replay speed ×{self.speed:g}", timeout=2)
            self._show_position()

    def action_jump_to(self, position: int) -> None:
        replay = self.replay
        if replay is None:
            return
        target = replay.length if position < 0 else position
        self._jump(target)

    def action_jump_by(self, delta: int) -> None:
        replay = self.replay
        if replay is not None:
            self._jump(replay.position + delta)

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

    def _lab_ended(self) -> None:
        # The recording reached its own lab's end: say so, keep everything on screen.
        self._set_banner(
            "The recorded lab ended here. g: back to the start · space: play again · q: quit"
        )
        self.refresh_tree()

    def get_system_commands(self, screen: Any) -> Any:
        from textual.app import SystemCommand

        yield from super().get_system_commands(screen)
        for key, action, title, _ in REPLAY_KEYS:
            yield SystemCommand(title, f"key: {key}", lambda a=action: self.run_action(a))

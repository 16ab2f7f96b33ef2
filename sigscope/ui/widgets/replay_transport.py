"""The replay's transport: the buttons that play, pause, step and jump through a recording.

A part of the dashboard (:mod:`sigscope.ui.dashboard`): the replay app puts it in the screen's
action bar in place of the lab's buttons (a recording has nothing to signal). Each button runs
the app's action of the same key (``space``, ``.``, ``b``, ``j``…), so a click and a key do the
same; the app tells the transport whether the recording is playing (:meth:`show_playing`).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container
from textual.css.query import NoMatches
from textual.widgets import Button

from sigscope.ui.widgets.action_button import ActionButton

# The quick-action buttons of the replay: (id, label, action, tooltip).
REPLAY_BUTTONS = (  # seven: one row of the compact layout's grid; G (to the end) is a key
    ("btn-replay-start", "Start", "jump_to(0)", "g: back to the start"),
    ("btn-replay-back", "« Back", "jump_tenth(-1)", "b: a tenth back"),
    ("btn-replay-play", "Play", "play_pause", "space: play or pause"),  # says "Pause" playing
    ("btn-replay-step", "Step", "step", ".: one entry"),
    ("btn-replay-ahead", "Ahead »", "jump_tenth(1)", "j: a tenth ahead"),
    ("btn-replay-slower", "Slower", "speed(0.5)", "["),
    ("btn-replay-faster", "Faster", "speed(2.0)", "]"),
)


class ReplayTransport(Container):
    """The replay's buttons, in the dashboard's action bar (give it ``id="actions"``)."""

    def compose(self) -> ComposeResult:
        for button_id, label, action, tip in REPLAY_BUTTONS:
            yield ActionButton(
                label, id=button_id, compact=True, tooltip=tip, action=f"app.{action}"
            )

    def show_playing(self, playing: bool) -> None:
        """The play button offers what a press does next: "Pause" while playing."""
        try:
            button = self.query_one("#btn-replay-play", Button)
        except NoMatches:
            return  # not composed yet
        label = "Pause" if playing else "Play"
        if str(button.label) != label:
            button.label = label

"""The master panel's model: what the arbiter says of its pool, from its own words.

Target, reaping mode, queued signals, phase and back-off come from the master's ``status``,
``mode``, ``phase`` and ``backoff`` events; live workers and zombies are counted from the tree
the UI shows (a :class:`MasterState` is replaced whole on each change, so the panel redraws only
when it is a different value).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

REAPING_HELP = {
    "handler": "SIGCHLD handler reaps at once",
    "off": "nobody reaps: zombies stay",
    "ignore": "SIGCHLD ignored: kernel reaps",
}

# What the master's state letter (from /proc, via the tree) says when it is not what its own
# words say: "phase running" beside a master the tree shows as stopped (T) was a contradiction.
PROCESS_STATES = {"T": "stopped", "t": "stopped", "Z": "exited (zombie)"}  # not D: a blink
SHUTTING_DOWN = frozenset({"graceful", "quick", "exiting", "ended"})


@dataclass(frozen=True)
class MasterState:
    """Everything the panel shows; replaced whole on each change."""

    pid: int | None = None
    target: int | None = None
    live: int = 0
    zombies: int = 0
    reaping: str | None = None
    queued: int | None = None
    phase: str = "starting"
    backoff: dict[str, Any] = field(default_factory=dict)
    ended: str | None = None  # why the lab ended, once it has
    process_state: str | None = None  # the master's state letter in /proc (from the tree)
    # A master that shuts down reaps its workers whatever the mode (it switches `off` to
    # `handler` on the way out); the panel keeps the mode the learner chose, and says this.
    reaps_to_exit: bool = False


def apply_event(state: MasterState, event: dict[str, Any], master_pid: int | None) -> MasterState:
    """The panel's state after one event (events of other processes leave it unchanged)."""
    kind = event.get("kind")
    if kind == "status":
        backoff = event.get("backoff") or {}
        phase = event.get("phase", state.phase)
        reaping = event.get("reaping", state.reaping)
        if phase in SHUTTING_DOWN and state.reaping is not None and reaping != state.reaping:
            return replace(state, phase=phase, reaps_to_exit=True)
        return replace(
            state,
            target=event.get("target", state.target),
            reaping=reaping,
            queued=event.get("queued", state.queued),
            phase=event.get("phase", state.phase),
            backoff={str(k): v for k, v in backoff.items()},
        )
    if kind == "start" and event.get("role") == "master":
        return replace(
            state,
            target=event.get("target", state.target),
            reaping=event.get("reaping", state.reaping),
            phase="running",
        )
    if kind == "mode":
        if state.phase in SHUTTING_DOWN:
            return replace(state, reaps_to_exit=event.get("reaping") != state.reaping)
        return replace(state, reaping=event.get("reaping", state.reaping))
    if kind == "phase":
        return replace(state, phase=str(event.get("phase")))
    if kind == "backoff":
        backoff = dict(state.backoff)
        backoff[str(event.get("index"))] = {
            "delay": event.get("delay"),
            "deaths": event.get("deaths"),
        }
        return replace(state, backoff=backoff)
    if kind == "reaped" and master_pid is not None and event.get("child") == master_pid:
        return replace(state, phase="ended", ended=_describe_end(event))
    return state


def _describe_end(event: dict[str, Any]) -> str:
    how = event.get("how")
    if how == "signalled":
        return f"killed by {event.get('sig')}"
    if how == "exited":
        return f"exited with code {event.get('exitcode')}"
    return "ended"


def shown_phase(state: MasterState) -> str:
    """The phase line: the master's own word, unless /proc says otherwise (stopped)."""
    if state.process_state in PROCESS_STATES and state.phase not in ("ended",):
        return f"{PROCESS_STATES[state.process_state]} ({state.process_state}) · {state.phase}"
    return state.phase

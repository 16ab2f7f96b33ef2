"""How to make a source: the settings a front end keeps for its whole life, so that a restart
makes a fresh source of the same kind.

- :class:`LabSettings`: a fresh lab (the CLI's ``--workers``, ``--behaviour``, ...);
- :class:`AttachSettings`: ``sigscope attach PID``, a tree the user owns, watched live;
- :class:`ReplaySettings`: ``sigscope replay FILE``, a recording played back.

Each makes its source (``make_source() -> Source``), names it for a header (``describe``) and
says whether the lab's own controls apply to it (``lab_controls``). No Textual here: the
dashboard, the lessons and the tests share these. It lives in ``ui`` (though it draws nothing)
because it is the one place above both ``sigscope.lab`` and ``sigscope.sources``: a lab is built
on the sources' core, so the factory that picks one cannot sit in either package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sigscope.lab.controller import Lab
    from sigscope.sources.attach import AttachedTree
    from sigscope.sources.base import Source
    from sigscope.sources.replay import Replay
    from sigscope.terminal.lane import TerminalSettings

# Each source's module is imported by the settings that make it, when they make it: a settings
# object is made before the first frame, the source after it (issue 14).

# Events the dashboard's lab keeps for waiting on (its panels keep their own bounded views):
# the lab's default, 200,000, made each storm of signals grow the dashboard by megabytes.
DASHBOARD_HISTORY = 10_000


class SourceSettings(Protocol):
    """What a front end needs to know to show something: a fresh lab, an attached tree or a
    recording."""

    @property
    def lab_controls(self) -> bool:
        """The source is a lab of our own: TTIN/TTOU, reaping, spawn and restart act on it."""
        ...

    def make_source(self) -> Source:
        """A new source, not started (bad settings raise a ``SourceError``: one plain line)."""
        ...

    def check(self) -> None:
        """Raise the ``SourceError`` that :meth:`make_source` would raise, if any: a front end
        calls it before its first frame, so that bad input is one line and no screen."""
        ...

    def describe(self, source: Source) -> str:
        """The header's sub-title for ``source`` (made by :meth:`make_source`)."""
        ...


@dataclass(frozen=True)
class LabSettings:
    """How to make the lab (the CLI's ``--workers``, ``--behaviour``, ...); kept for restarts."""

    workers: int = 2
    behaviour: str = "idle"
    params: dict[str, Any] = field(default_factory=dict)
    reaping: str = "handler"
    grace: float = 5.0

    record: Path | None = None  # --record FILE: events and snapshots as JSON lines
    lab_controls: bool = True  # TTIN/TTOU, reaping, spawn and restart act on this source
    terminal: TerminalSettings | None = None  # --terminal: a shell on a pty beside the lab

    def make_source(self) -> Lab:
        from sigscope.lab.controller import Lab

        return Lab(
            workers=self.workers,
            behaviour=self.behaviour,
            params=dict(self.params),
            reaping=self.reaping,
            grace=self.grace,
            record=self.record,
            terminal=self.terminal,
            history=DASHBOARD_HISTORY,
        )

    def check(self) -> None:
        # What Lab() checks, without importing the lab (master, worker, channel, recorder):
        # that waits until after the first frame (issue 14).
        from sigscope.lab.limits import check_lab

        check_lab(self.workers, self.behaviour, dict(self.params), None, self.reaping, self.grace)

    def describe(self, source: Source) -> str:
        return f"lab: master {source.master_pid} · {self.workers} × {self.behaviour}"


@dataclass(frozen=True)
class AttachSettings:
    """``sigscope attach PID``: a tree the user owns, watched live; sends only into it."""

    root: int
    strace: bool = False
    # Not a lab of ours: no master to ask for workers, no reaping mode, nothing to restart.
    lab_controls: bool = False

    def make_source(self) -> AttachedTree:
        from sigscope.sources.attach import AttachedTree

        return AttachedTree(self.root, strace=self.strace)  # refuses a bad root: AttachError

    def check(self) -> None:
        self.make_source()

    def describe(self, source: Source) -> str:
        proc = source.processes.get(self.root)
        comm = proc.behaviour if proc is not None else "?"
        return f"attached to pid {self.root} ({comm})" + (" · strace" if self.strace else "")


@dataclass(frozen=True)
class ReplaySettings:
    """``sigscope replay FILE``: a recording played back with no live process."""

    path: Path
    lab_controls: bool = False  # a recording: nothing to act on

    def make_source(self) -> Replay:
        from sigscope.sources.record import RecordingError, load
        from sigscope.sources.replay import Replay, ReplayError

        try:
            return Replay(load(self.path))
        except RecordingError as e:
            raise ReplayError(str(e)) from None

    def check(self) -> None:
        self.make_source()  # a recording is read to be checked (it is read again after)

    def describe(self, source: Source) -> str:
        from sigscope.sources.replay import Replay

        entries = f" ({source.length} entries)" if isinstance(source, Replay) else ""
        return f"replay of {self.path.name}{entries}"

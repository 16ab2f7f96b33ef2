"""The terminal lane (issue 16): a real shell on a real pty, its session watched and signalled.

No Textual here. :class:`TerminalLane` runs it; its events (roles ``shell`` and ``job``) are
documented with the others in :mod:`sigscope.events`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sigscope.terminal.lane import TerminalLane, TerminalSettings
    from sigscope.terminal.pty import TerminalError

__all__ = ["TerminalError", "TerminalLane", "TerminalSettings"]


def __getattr__(name: str) -> Any:
    # Imported when first asked for, not with the package: sigscope.terminal.headless (the
    # dashboard's --terminal options) is imported at every start (issue 14: first frame).
    if name in ("TerminalLane", "TerminalSettings"):
        from sigscope.terminal import lane

        return getattr(lane, name)
    if name == "TerminalError":
        from sigscope.terminal.pty import TerminalError

        return TerminalError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

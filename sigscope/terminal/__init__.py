"""The terminal lane (issue 16): a real shell on a real pty, its session watched and signalled.

No Textual here. :class:`TerminalLane` runs it; its events (roles ``shell`` and ``job``) are
documented with the others in :mod:`sigscope.events`.
"""

from sigscope.terminal.lane import TerminalLane, TerminalSettings
from sigscope.terminal.pty import TerminalError

__all__ = ["TerminalError", "TerminalLane", "TerminalSettings"]

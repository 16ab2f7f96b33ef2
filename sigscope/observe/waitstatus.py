"""Raw wait statuses, decoded the way the kernel packs them (never ``status >> 8`` alone).

``wait()`` returns one int that means different things by its low byte (wait(2), glibc's
``bits/waitstatus.h``)::

    low 7 bits == 0            exited:    exit code in bits 8-15
    low 7 bits == 0x7f         stopped:   stop signal in bits 8-15 (a ptrace event above)
    otherwise (not 0xffff)     signalled: signal in the low 7 bits, 0x80 = core dumped
    status == 0xffff           continued (by SIGCONT; only with WCONTINUED)

``status >> 8`` is the exit code only in the first case: a child killed by SIGKILL has status
9, and ``9 >> 8`` is 0 -- "success" (facts.md, correction 3). ``subprocess`` reports such a
child as ``-9``; a shell's ``$?`` as ``128 + 9 = 137``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigscope.signames import signal_name

_CONTINUED = 0xFFFF
_STOPPED_LOW = 0x7F
_CORE_FLAG = 0x80


class WaitStatusError(ValueError):
    """An int that no wait() could have returned."""


@dataclass(frozen=True)
class WaitStatus:
    """One raw status and what it means."""

    raw: int
    how: str  # "exited" | "signalled" | "stopped" | "continued"
    exitcode: int | None  # the exit code, only when it exited
    signal: int | None  # the killing or stopping signal
    core: bool  # a core dump was written (signalled only)

    @property
    def subprocess_code(self) -> int | None:
        """What ``os.waitstatus_to_exitcode`` and ``subprocess`` say: the code, or ``-N``."""
        if self.how == "exited":
            return self.exitcode
        if self.how == "signalled" and self.signal is not None:
            return -self.signal
        return None

    @property
    def shell_code(self) -> int | None:
        """What a shell's ``$?`` shows: the code, or ``128 + N`` for a signal.

        A shell shows 128+N for a stopped job too (Ctrl+Z gives 148); a continued child has
        no ``$?``.
        """
        if self.how == "exited":
            return self.exitcode
        if self.how in ("signalled", "stopped") and self.signal is not None:
            return 128 + self.signal
        return None

    @property
    def signal_name(self) -> str | None:
        return None if self.signal is None else signal_name(self.signal)

    def describe(self) -> str:
        """One line for a person: ``killed by SIGKILL (-9 in subprocess, 137 in a shell)``."""
        if self.how == "exited":
            return f"exited with code {self.exitcode}"
        if self.how == "signalled":
            core = ", core dumped" if self.core else ""
            return (
                f"killed by {self.signal_name}{core} "
                f"({self.subprocess_code} in subprocess, {self.shell_code} in a shell)"
            )
        if self.how == "stopped":
            return f"stopped by {self.signal_name}"
        return "continued by SIGCONT"

    def event_fields(self) -> dict[str, Any]:
        """The fields a ``reaped`` (or ``stopped``/``continued``) event carries: ``how``;
        ``exitcode`` (as ``os.waitstatus_to_exitcode`` gives it) when it ended; ``sig`` (a
        name) when a signal did it; ``core`` when it was killed."""
        if self.how == "exited":
            return {"how": "exited", "exitcode": self.exitcode}
        if self.how == "signalled":
            return {
                "how": "signalled",
                "exitcode": self.subprocess_code,
                "sig": self.signal_name,
                "core": self.core,
            }
        if self.how == "stopped":
            return {"how": "stopped", "sig": self.signal_name}
        return {"how": "continued"}


def decode_wait_status(raw: int) -> WaitStatus:
    """Decode a raw status from ``os.wait*``; agrees with ``os.WIF*``/``os.W*`` on every kind.

    Raises:
        WaitStatusError: a negative number, or one wider than 32 bits.
    """
    if not 0 <= raw <= 0xFFFFFFFF:
        raise WaitStatusError(f"{raw} is not a wait status (0 to 0xffffffff)")
    low = raw & 0x7F
    if raw == _CONTINUED:
        return WaitStatus(raw, "continued", None, None, False)
    if low == 0:
        return WaitStatus(raw, "exited", (raw >> 8) & 0xFF, None, False)
    if (raw & 0xFF) == _STOPPED_LOW:
        return WaitStatus(raw, "stopped", None, (raw >> 8) & 0xFF, False)
    return WaitStatus(raw, "signalled", None, low, bool(raw & _CORE_FLAG))

"""Signal names, numbers and default actions, as signal(7) gives them.

Real-time signals are named ``SIGRTMIN+n`` (n from 0), because their numbers differ between
C libraries; ``SIGRTMAX-n`` is accepted on input.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from dataclasses import dataclass

from sigscope.numbers import is_int, parse_int

RTMIN = signal.SIGRTMIN
RTMAX = signal.SIGRTMAX
NSIG = RTMAX + 1

# signal(7): the default action of each standard signal. Term = terminate, Core = terminate
# and dump core, Ign = ignore, Stop = stop the process, Cont = continue it if stopped.
_DEFAULT_ACTIONS: dict[str, str] = {
    "SIGHUP": "Term",
    "SIGINT": "Term",
    "SIGQUIT": "Core",
    "SIGILL": "Core",
    "SIGTRAP": "Core",
    "SIGABRT": "Core",
    "SIGBUS": "Core",
    "SIGFPE": "Core",
    "SIGKILL": "Term",
    "SIGUSR1": "Term",
    "SIGSEGV": "Core",
    "SIGUSR2": "Term",
    "SIGPIPE": "Term",
    "SIGALRM": "Term",
    "SIGTERM": "Term",
    "SIGSTKFLT": "Term",
    "SIGCHLD": "Ign",
    "SIGCONT": "Cont",
    "SIGSTOP": "Stop",
    "SIGTSTP": "Stop",
    "SIGTTIN": "Stop",
    "SIGTTOU": "Stop",
    "SIGURG": "Ign",
    "SIGXCPU": "Core",
    "SIGXFSZ": "Core",
    "SIGVTALRM": "Term",
    "SIGPROF": "Term",
    "SIGWINCH": "Ign",
    "SIGIO": "Term",
    "SIGPWR": "Term",
    "SIGSYS": "Core",
}

# Preferred names where Linux has aliases (SIGIOT = SIGABRT, SIGPOLL = SIGIO, SIGCLD = SIGCHLD).
_NAMES: dict[int, str] = {}
for _name in _DEFAULT_ACTIONS:
    _num = getattr(signal, _name, None)
    if _num is not None:
        _NAMES[int(_num)] = _name

_ALIASES = {"SIGIOT": "SIGABRT", "SIGPOLL": "SIGIO", "SIGCLD": "SIGCHLD"}

UNCATCHABLE = frozenset({int(signal.SIGKILL), int(signal.SIGSTOP)})


class SignalError(ValueError):
    """A signal name or number that does not name a signal on this system."""


def signal_name(num: int) -> str:
    """Name of signal ``num``: ``SIGTERM``, ``SIGRTMIN+3``; ``SIG?42`` if unknown."""
    if num in _NAMES:
        return _NAMES[num]
    if RTMIN <= num <= RTMAX:
        return f"SIGRTMIN+{num - RTMIN}"
    return f"SIG?{num}"


def signal_names(signals: Iterable[int]) -> list[str]:
    """Names of the signals, in number order; real-time ones as ``SIGRTMIN+n``."""
    return [signal_name(s) for s in sorted(set(signals))]


def parse_signal(text: str) -> int:
    """Parse a signal given as a name (with or without ``SIG``, any case) or a number.

    Raises:
        SignalError: with a message fit to show a user.
    """
    raw = text.strip()
    if not raw:
        raise SignalError("empty signal name")
    if is_int(raw):
        num = parse_int(raw, what="a signal number")
        if 1 <= num <= RTMAX and (num in _NAMES or num >= RTMIN):
            return num
        raise SignalError(f"no signal has number {num} (valid: 1-{RTMAX})")
    name = raw.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    name = _ALIASES.get(name, name)
    for base, origin, sign in (("SIGRTMIN", RTMIN, 1), ("SIGRTMAX", RTMAX, -1)):
        if name == base or name.startswith(base + ("+" if sign > 0 else "-")):
            offset_text = name[len(base) + 1 :] if name != base else "0"
            if not is_int(offset_text):
                raise SignalError(f"bad real-time signal {text!r} (e.g. RTMIN+2)")
            num = origin + sign * parse_int(offset_text)
            if not RTMIN <= num <= RTMAX:
                raise SignalError(
                    f"{text!r} is out of range: real-time signals are RTMIN+0 to "
                    f"RTMIN+{RTMAX - RTMIN}"
                )
            return num
    for num, known in _NAMES.items():
        if known == name:
            return num
    raise SignalError(f"unknown signal {text!r} (e.g. TERM, SIGUSR1, RTMIN+2, 15)")


def default_action(num: int) -> str:
    """The default action of signal ``num``: Term, Core, Stop, Cont or Ign."""
    if RTMIN <= num <= RTMAX:
        return "Term"
    return _DEFAULT_ACTIONS.get(signal_name(num), "Term")


@dataclass(frozen=True)
class SignalInfo:
    """One signal as a menu or a table shows it."""

    number: int
    name: str
    default_action: str
    catchable: bool


def all_signals() -> list[SignalInfo]:
    """Every signal of this system, standard then real-time, in number order."""
    nums = sorted(_NAMES) + list(range(RTMIN, RTMAX + 1))
    return [SignalInfo(n, signal_name(n), default_action(n), n not in UNCATCHABLE) for n in nums]


def catchable_signals() -> list[int]:
    """Numbers of the signals a process may install a handler for (not KILL, not STOP)."""
    return [s.number for s in all_signals() if s.catchable]

"""``si_code``: why a signal was sent, as ``sigwaitinfo`` and ``waitid`` report it.

Values are Linux's (``asm-generic/siginfo.h``). Codes <= 0 and ``SI_KERNEL`` mean the same for
every signal: who or what sent it. Positive codes below 0x80 depend on the signal (``CLD_*`` for
SIGCHLD, ``SEGV_*`` for SIGSEGV, ...), so naming them needs the signal number.
"""

from __future__ import annotations

import signal

# Codes that mean the same for every signal: who or what sent it.
_GENERIC: dict[int, tuple[str, str]] = {
    0: ("SI_USER", "sent by kill() or raise(); si_pid and si_uid name the sender"),
    0x80: ("SI_KERNEL", "sent by the kernel (e.g. SIGALRM from alarm or setitimer)"),
    -1: ("SI_QUEUE", "sent by sigqueue(), with a value"),
    -2: ("SI_TIMER", "a POSIX timer (timer_create) expired"),
    -3: ("SI_MESGQ", "a POSIX message queue changed state"),
    -4: ("SI_ASYNCIO", "an asynchronous I/O request completed"),
    -5: ("SI_SIGIO", "queued SIGIO"),
    -6: ("SI_TKILL", "sent by tkill() or tgkill() (pthread_kill, signal.pthread_kill)"),
    -7: ("SI_DETHREAD", "sent by execve() killing sibling threads"),
    -60: ("SI_ASYNCNL", "an asynchronous name lookup completed"),
}

_BY_SIGNAL: dict[int, tuple[str, ...]] = {
    int(signal.SIGILL): (
        "ILL_ILLOPC",
        "ILL_ILLOPN",
        "ILL_ILLADR",
        "ILL_ILLTRP",
        "ILL_PRVOPC",
        "ILL_PRVREG",
        "ILL_COPROC",
        "ILL_BADSTK",
        "ILL_BADIADDR",
    ),
    int(signal.SIGFPE): (
        "FPE_INTDIV",
        "FPE_INTOVF",
        "FPE_FLTDIV",
        "FPE_FLTOVF",
        "FPE_FLTUND",
        "FPE_FLTRES",
        "FPE_FLTINV",
        "FPE_FLTSUB",
    ),
    int(signal.SIGSEGV): (
        "SEGV_MAPERR",
        "SEGV_ACCERR",
        "SEGV_BNDERR",
        "SEGV_PKUERR",
        "SEGV_ACCADI",
        "SEGV_ADIDERR",
        "SEGV_ADIPERR",
        "SEGV_MTEAERR",
        "SEGV_MTESERR",
        "SEGV_CPERR",
    ),
    int(signal.SIGBUS): (
        "BUS_ADRALN",
        "BUS_ADRERR",
        "BUS_OBJERR",
        "BUS_MCEERR_AR",
        "BUS_MCEERR_AO",
    ),
    int(signal.SIGTRAP): (
        "TRAP_BRKPT",
        "TRAP_TRACE",
        "TRAP_BRANCH",
        "TRAP_HWBKPT",
        "TRAP_UNK",
        "TRAP_PERF",
    ),
    int(signal.SIGCHLD): (
        "CLD_EXITED",
        "CLD_KILLED",
        "CLD_DUMPED",
        "CLD_TRAPPED",
        "CLD_STOPPED",
        "CLD_CONTINUED",
    ),
    int(signal.SIGIO): ("POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"),
    int(signal.SIGSYS): ("SYS_SECCOMP", "SYS_USER_DISPATCH"),
}
# Codes Linux added out of sequence.
_EXTRA: dict[tuple[int, int], str] = {
    (int(signal.SIGFPE), 14): "FPE_FLTUNK",
    (int(signal.SIGFPE), 15): "FPE_CONDTRAP",
}


def si_code_name(code: int, signo: int | None = None) -> str:
    """The name of an ``si_code``: ``SI_USER``, ``SI_KERNEL``, ``SI_QUEUE``, ``CLD_EXITED``, ...

    A positive code names something only together with its signal; without ``signo`` (or for
    a code Linux does not define) the result is ``si_code N``.
    """
    if code in _GENERIC:
        return _GENERIC[code][0]
    if signo is not None and code > 0:
        if (signo, code) in _EXTRA:
            return _EXTRA[(signo, code)]
        names = _BY_SIGNAL.get(signo, ())
        if code <= len(names):
            return names[code - 1]
    return f"si_code {code}"


def si_code_meaning(code: int) -> str | None:
    """What a signal-independent code says about the sender, in words; None for others."""
    entry = _GENERIC.get(code)
    return None if entry is None else entry[1]

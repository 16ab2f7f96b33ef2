"""The program the ``exec`` behaviour execs: the lab's own, so that it reports what survived.

Run as ``python -P -m sigscope.lab.exec_probe FD INDEX JSON`` by a worker that has set a handler,
an ignore and a blocked, pending signal (execve(2), signal(7) "Signal mask and pending signals",
"Execve(2)": handlers reset to the default, ignores stay ignored, the mask and the pending
signals are kept). FD is the lab's event channel, left open across the exec on purpose; the
pid stays the worker's (exec replaces the program, not the process), so it writes as that
worker. It reads its own /proc/self/status at once, reports, then waits in ``pause()`` until a
signal's default action ends it: TERM from the master, or the handled signal, now SIG_DFL.

Python's own start-up changes some dispositions before this code runs: SIGPIPE and SIGXFSZ
set to SIG_IGN, SIGINT caught (only when it was SIG_DFL). The mask and other dispositions it
leaves alone, so the signals the behaviour chose show the kernel's rule.

Events: ``inherit`` (``phase="after-exec"``, ``blocked``, ``ignored``, ``caught``,
``pending`` (ShdPnd and SigPnd), ``handled`` (the signal the worker had a handler for) with
``disposition`` read back with ``sigaction``: ``SIG_DFL``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from sigscope import procfs
from sigscope.lab.channel import EventWriter
from sigscope.libc import SIG_DFL, SIG_IGN, get_action
from sigscope.numbers import parse_int
from sigscope.signames import parse_signal, signal_names


def read_masks(path: str = "/proc/self/status") -> dict[str, list[str]]:
    """blocked, ignored, caught and pending (process-wide and thread) names from /proc."""
    with open(path, "rb") as f:
        m = procfs.parse_status_masks(f.read())
    return {
        "blocked": signal_names(m.blocked),
        "ignored": signal_names(m.ignored),
        "caught": signal_names(m.caught),
        "pending": signal_names(m.all_pending),
    }


def main(argv: list[str]) -> int:
    try:
        fd = parse_int(argv[0], what="an fd", high=65535)
        index = parse_int(argv[1], what="a worker index", high=4096)
        expect = json.loads(argv[2][:4096])
        handled = parse_signal(str(expect["handled"]))
        parent = parse_int(str(expect["parent"]), what="a pid")
    except (IndexError, KeyError, TypeError, ValueError) as e:
        print(
            f"sigscope.lab.exec_probe: the lab runs this after an exec, not you ({e})",
            file=sys.stderr,
        )
        return 2
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)  # the master is gone: PDEATHSIG would have fired
    os.set_inheritable(fd, False)  # anything this program starts must not hold the channel
    events = EventWriter(fd, "worker")
    addr = get_action(handled).sa_handler or 0
    disposition = {SIG_DFL: "SIG_DFL", SIG_IGN: "SIG_IGN"}.get(addr, "handler")
    fields: dict[str, Any] = {"handled": expect["handled"], "disposition": disposition}
    fields.update(read_masks())
    events.emit("inherit", index=index, phase="after-exec", **fields)
    procfs.set_pdeathsig(signal.SIGKILL)  # kept across exec anyway; armed again to be sure
    while True:
        signal.pause()  # no handler of ours: only a default action ends this


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

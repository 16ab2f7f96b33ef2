"""idle: catches every catchable signal and reports it; TERM, INT and QUIT end it."""

from __future__ import annotations

from typing import Any

from sigscope.lab.behaviours import behaviour
from sigscope.signames import catchable_signals

from ._ending import ENDING


@behaviour("idle", "catches every catchable signal and reports it; TERM, INT, QUIT end it")
def idle(worker: Any, params: dict[str, Any]) -> None:
    worker.catch(catchable_signals())
    while True:
        arrived = worker.wait()
        worker.report(arrived)
        for sig, _t in arrived:
            if sig in ENDING:
                # What the default action would have done: the master sees "killed by SIGTERM".
                worker.die_by(sig)

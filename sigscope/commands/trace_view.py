"""How ``sigscope trace`` prints events: JSON lines, or one readable rich line each."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

_KIND_STYLE = {
    "sent": "bold cyan",
    "received": "bold green",
    "spawn": "blue",
    "reaped": "magenta",
    "exit": "yellow",
    "gone": "magenta",
    "error": "bold red",
    "dropped": "bold red",
    "backoff": "red",
    "state": "dim",
}
_SHOWN = ("t", "pid", "role", "kind", "sig", "index")


def describe(event: dict[str, Any]) -> str:
    """The fields of an event beyond the common ones, as ``key=value`` text."""
    rest = {k: v for k, v in event.items() if k not in _SHOWN}
    return " ".join(
        f"{k}={json.dumps(v) if isinstance(v, str | dict | list) else v}" for k, v in rest.items()
    )


class EventPrinter:
    def __init__(self, json_lines: bool) -> None:
        self.json_lines = json_lines
        self.origin: int | None = None
        self.console = Console(highlight=False, soft_wrap=True)
        self._header = False

    def show(self, event: dict[str, Any]) -> None:
        if self.json_lines:
            sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
            sys.stdout.flush()
            return
        if self.origin is None:
            self.origin = event.get("t", 0)
        if not self._header:
            self.console.print(
                Text(
                    f"{'ms':>9}  {'pid':>7}  {'role':<10} {'kind':<9} {'signal':<12} details",
                    style="bold underline",
                )
            )
            self._header = True
        ms = (event.get("t", 0) - self.origin) / 1e6
        role = event.get("role", "")
        if event.get("index") is not None and role == "worker":
            role = f"w{event['index']}"
        kind = event.get("kind", "")
        line = Text()
        line.append(f"{ms:9.2f}  {event.get('pid', ''):>7}  {role:<10} ")
        line.append(f"{kind:<9} ", style=_KIND_STYLE.get(kind, ""))
        line.append(f"{event.get('sig') or '':<12} ", style="bold")
        line.append(describe(event), style="dim")
        self.console.print(line)

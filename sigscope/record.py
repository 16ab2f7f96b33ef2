"""Recordings: a lab session as JSON lines, and reading one back with clear errors.

A recording is one JSON object a line. The first is the header
``{"kind": "recording", "version": 1, "t": …, "config": {…}}``; every other line is an event
(the contract in :mod:`sigscope.lab.events`) or an observer snapshot
``{"kind": "snapshot", "t": …, "processes": [{pid, ppid, pgid, state, comm, starttime,
threads, cpu_seconds, role, index, behaviour, masks: {pending, shared_pending, blocked,
ignored, caught: 16 hex digits; sigq: [queued, limit]}}, …]}``. Masks are kept in the /proc
form (hex, bit n-1 = signal n) so a recording made on one machine reads the same elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigscope.observe.masks import MaskError, decode_mask, encode_mask
from sigscope.observe.sampler import Masks, ProcessView, Snapshot

VERSION = 1
MAX_LINE = 1 << 20  # a longer line is not something sigscope wrote
_MASKS = ("pending", "shared_pending", "blocked", "ignored", "caught")


class RecordingError(Exception):
    """A recording that cannot be read; the message is ``FILE:LINE: what is wrong``."""


def header(config: dict[str, Any], t: int) -> dict[str, Any]:
    return {"kind": "recording", "version": VERSION, "t": t, "config": config}


def snapshot_to_json(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "kind": "snapshot",
        "t": snapshot.t,
        "processes": [
            {
                "pid": p.pid,
                "ppid": p.ppid,
                "pgid": p.pgid,
                "state": p.state,
                "comm": p.comm,
                "starttime": p.starttime,
                "threads": p.threads,
                "cpu_seconds": p.cpu_seconds,
                "role": p.role,
                "index": p.index,
                "behaviour": p.behaviour,
                "masks": {
                    **{m: encode_mask(getattr(p.masks, m)) for m in _MASKS},
                    "sigq": list(p.masks.sigq),
                },
            }
            for p in snapshot.processes
        ],
    }


def snapshot_from_json(data: dict[str, Any]) -> Snapshot:
    """The inverse of :func:`snapshot_to_json`. Raises KeyError, TypeError or ValueError."""
    views = []
    for p in data["processes"]:
        m = p["masks"]
        queued, limit = m["sigq"]
        pending, shared, blocked, ignored, caught = (decode_mask(m[name]) for name in _MASKS)
        masks = Masks(pending, shared, blocked, ignored, caught, (int(queued), int(limit)))
        views.append(
            ProcessView(
                int(p["pid"]),
                int(p["ppid"]),
                int(p["pgid"]),
                str(p["state"]),
                str(p["comm"]),
                int(p["starttime"]),
                int(p["threads"]),
                float(p["cpu_seconds"]),
                masks,
                p.get("role"),
                p.get("index"),
                p.get("behaviour"),
            )
        )
    return Snapshot(int(data["t"]), tuple(views))


@dataclass
class Recording:
    """A recording read back: its header, and its entries in order (events and snapshots)."""

    path: Path
    header: dict[str, Any]
    entries: list[dict[str, Any] | Snapshot]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for e in self.entries if isinstance(e, dict)]

    @property
    def snapshots(self) -> list[Snapshot]:
        return [e for e in self.entries if isinstance(e, Snapshot)]


def load(path: str | Path) -> Recording:
    """Read and check a recording.

    Raises:
        RecordingError: ``FILE:LINE: message`` for the first thing wrong (a missing or
            unreadable file, a file that is not a sigscope recording, a newer version, a line
            that is not JSON or not an event).
    """
    path = Path(path)
    name = str(path)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as e:
        raise RecordingError(f"{name}: cannot read: {e.strerror}") from None
    entries: list[dict[str, Any] | Snapshot] = []
    head: dict[str, Any] | None = None
    with f:
        for number, raw in enumerate(f, start=1):
            where = f"{name}:{number}"
            if len(raw) > MAX_LINE:
                raise RecordingError(f"{where}: line too long for a sigscope recording")
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as e:
                raise RecordingError(f"{where}: not JSON ({e})") from None
            if not isinstance(obj, dict):
                raise RecordingError(f"{where}: expected a JSON object, found {type(obj).__name__}")
            if head is None:
                if obj.get("kind") != "recording":
                    raise RecordingError(
                        f"{where}: not a sigscope recording (its first line has no "
                        '"kind": "recording" header)'
                    )
                version = obj.get("version")
                if version != VERSION:
                    raise RecordingError(
                        f"{where}: recording version {version!r}; this sigscope reads "
                        f"version {VERSION}"
                    )
                head = obj
                continue
            entries.append(_entry(obj, where))
    if head is None:
        raise RecordingError(f"{name}:1: empty file, not a sigscope recording")
    return Recording(path, head, entries)


def _entry(obj: dict[str, Any], where: str) -> dict[str, Any] | Snapshot:
    if obj.get("kind") == "snapshot":
        try:
            return snapshot_from_json(obj)
        except (KeyError, TypeError, ValueError, MaskError) as e:
            raise RecordingError(f"{where}: bad snapshot ({type(e).__name__}: {e})") from None
    missing = [k for k in ("t", "pid", "role", "kind") if k not in obj]
    if missing:
        raise RecordingError(f"{where}: an event needs {', '.join(missing)}")
    if not isinstance(obj["t"], int) or not isinstance(obj["pid"], int):
        raise RecordingError(f"{where}: an event's t and pid are whole numbers")
    if not isinstance(obj["kind"], str) or not isinstance(obj["role"], str):
        raise RecordingError(f"{where}: an event's kind and role are text")
    return obj

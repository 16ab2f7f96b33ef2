"""Recordings: a lab session as JSON lines, and reading one back with clear errors.

A recording is one JSON object a line. The first is the header
``{"kind": "recording", "version": 1, "t": …, "config": {…}}``; every other line is an event
(the contract in :mod:`sigscope.events`) or an observer snapshot
``{"kind": "snapshot", "t": …, "processes": [{pid, ppid, pgid, state, comm, starttime,
threads, cpu_seconds, role, index, behaviour, masks: {pending, shared_pending, blocked,
ignored, caught: 16 hex digits; sigq: [queued, limit]}}, …]}``. Masks are kept in the /proc
form (hex, bit n-1 = signal n) so a recording made on one machine reads the same elsewhere.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sigscope.observe.masks import MaskError, decode_mask, encode_mask
from sigscope.observe.sampler import ProcessView, Snapshot
from sigscope.procfs import Masks

VERSION = 1
MAX_LINE = 1 << 20  # a longer line is not something sigscope wrote
MAX_BYTES = 128 << 20  # a whole recording: hours of a lab; a bigger file is not one of ours
MAX_ENTRIES = 1_000_000
MAX_DEPTH = 8  # the deepest sigscope writes is 5 (snapshot → processes → masks → sigq)
MAX_PROCESSES = 4096  # in one snapshot
MAX_TEXT = 1 << 16  # one text field
PID_MAX = 1 << 22  # the kernel's largest pid_max
INT_MAX = (1 << 63) - 1  # t is monotonic_ns, starttime clock ticks: both fit in 63 bits
_HEX_MASK = re.compile(r"[0-9a-fA-F]{1,16}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # newline and tab are text (tracebacks)
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
                "switches": p.switches,
                "masks": {
                    **{m: encode_mask(getattr(p.masks, m)) for m in _MASKS},
                    "sigq": list(p.masks.sigq),
                },
            }
            for p in snapshot.processes
        ],
    }


def snapshot_from_json(data: dict[str, Any]) -> Snapshot:
    """The inverse of :func:`snapshot_to_json`, checking every field's type and size.

    Raises:
        RecordingError: without a place (the caller adds ``FILE:LINE``).
    """
    processes = data.get("processes")
    if not isinstance(processes, list) or len(processes) > MAX_PROCESSES:
        raise RecordingError(f"a snapshot's processes are a list of up to {MAX_PROCESSES}")
    views = []
    for p in processes:
        if not isinstance(p, dict):
            raise RecordingError("a snapshot's process is a JSON object")
        m = p.get("masks")
        if not isinstance(m, dict):
            raise RecordingError("a snapshot's process needs its masks (an object)")
        sigq = m.get("sigq")
        if not isinstance(sigq, list) or len(sigq) != 2:
            raise RecordingError("a snapshot's sigq is [queued, limit]")
        queued, limit = (_int(v, "sigq") for v in sigq)
        pending, shared, blocked, ignored, caught = (_mask(m.get(name), name) for name in _MASKS)
        masks = Masks(pending, shared, blocked, ignored, caught, (queued, limit))
        cpu = p.get("cpu_seconds")
        if isinstance(cpu, bool) or not isinstance(cpu, int | float) or not 0 <= cpu < 1e12:
            raise RecordingError("a snapshot's cpu_seconds is a number of seconds")
        views.append(
            ProcessView(
                _int(p.get("pid"), "pid", PID_MAX),
                _int(p.get("ppid"), "ppid", PID_MAX),
                _int(p.get("pgid"), "pgid", PID_MAX),
                _text(p.get("state"), "state", 2),
                _text(p.get("comm"), "comm", 64),
                _int(p.get("starttime"), "starttime"),
                _int(p.get("threads"), "threads", PID_MAX),
                float(cpu),
                masks,
                _optional_text(p.get("role"), "role"),
                _optional_int(p.get("index"), "index", PID_MAX),
                _optional_text(p.get("behaviour"), "behaviour"),
                # Wake-ups (voluntary context switches); recordings made before them have none.
                _optional_int(p.get("switches"), "switches"),
            )
        )
    return Snapshot(_int(data.get("t"), "t"), tuple(views))


def _int(value: object, name: str, high: int = INT_MAX) -> int:
    # bool is an int to Python, never to a recording.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise RecordingError(f"{name} must be a whole number 0-{high}, not {_shown(value)}")
    return value


def _optional_int(value: object, name: str, high: int = INT_MAX) -> int | None:
    return None if value is None else _int(value, name, high)


def _text(value: object, name: str, longest: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > longest:
        raise RecordingError(f"{name} must be text (up to {longest} characters)")
    if _CONTROL.search(value):
        # An escape sequence in a recording must not reach the user's terminal.
        raise RecordingError(f"{name} holds a control character: {_shown(value)}")
    return value


def _optional_text(value: object, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _mask(value: object, name: str) -> frozenset[int]:
    # 16 hex digits as the kernel prints them; int(…, 16) alone would take "٣" or a megabyte.
    if not isinstance(value, str) or not _HEX_MASK.fullmatch(value):
        raise RecordingError(f"mask {name} must be up to 16 hex digits, not {_shown(value)}")
    try:
        return decode_mask(value)
    except MaskError as e:
        raise RecordingError(str(e)) from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


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


def shown_path(path: str | Path) -> str:
    """A file name fit for the terminal: a name from a shared folder may hold escape
    sequences (``sigscope replay *``), so control characters are shown escaped, not sent."""
    text = str(path)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def open_for_writing(path: str | Path) -> IO[str]:
    """Open a recording to write, with care: never through a symlink at the last component
    (``O_NOFOLLOW``: a planted link must not make sigscope overwrite the file it points to),
    created private (0600, whatever the umask), and only a regular file (a FIFO would block
    the lab, a device is not a recording). ``O_NONBLOCK`` makes a FIFO fail at once instead of
    waiting for a reader; it changes nothing for a regular file.

    Raises:
        RecordingError: ``cannot record to PATH: why``, one line.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as e:
        why = e.strerror
        if e.errno == errno.ELOOP:
            why = "it is a symbolic link (sigscope does not write through one)"
        elif e.errno == errno.ENXIO:
            why = "it is not a regular file"
        raise RecordingError(f"cannot record to {shown_path(path)}: {why}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RecordingError(f"cannot record to {shown_path(path)}: it is not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "w", encoding="utf-8")


def _open_for_reading(path: Path) -> IO[bytes]:
    """A recording opened to read: only a regular file, no bigger than MAX_BYTES.

    ``O_NONBLOCK`` so that opening a FIFO cannot hang (it would wait for a writer); then
    ``fstat`` on what was opened (not the name, which can change meanwhile) refuses a FIFO, a
    device like /dev/zero, a folder.
    """
    name = shown_path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as e:
        raise RecordingError(f"{name}: cannot read: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise RecordingError(f"{name}: {kind}; a recording is a file sigscope wrote")
        if st.st_size > MAX_BYTES:
            raise RecordingError(
                f"{name}: {st.st_size} bytes is more than a recording may have ({MAX_BYTES})"
            )
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def load(path: str | Path) -> Recording:
    """Read and check a recording. A recording is untrusted input: the file may be anything,
    so memory and time are bounded (a line, the file, the nesting) and every field the UI
    reads is checked here, before any screen opens.

    Raises:
        RecordingError: ``FILE:LINE: message`` for the first thing wrong (a missing or
            unreadable file, a file that is not a sigscope recording, a newer version, a line
            that is not JSON or not an event).
    """
    path = Path(path)
    name = shown_path(path)
    f = _open_for_reading(path)
    entries: list[dict[str, Any] | Snapshot] = []
    head: dict[str, Any] | None = None
    total = 0
    with f:
        number = 0
        while True:
            try:
                raw = f.readline(MAX_LINE + 1)  # bounded: /dev/zero-like input never fills memory
            except OSError as e:  # a regular file can still fail to read (EIO: /proc/self/mem)
                raise RecordingError(f"{name}:{number + 1}: cannot read: {e.strerror}") from None
            if not raw:
                break
            number += 1
            where = f"{name}:{number}"
            total += len(raw)
            if len(raw) > MAX_LINE:
                raise RecordingError(f"{where}: line too long for a sigscope recording")
            if total > MAX_BYTES:
                raise RecordingError(f"{where}: more than a recording may have ({MAX_BYTES} bytes)")
            if not raw.strip():
                continue
            obj = _parse_line(raw, where)
            if head is None:
                head = _header(obj, where)
                continue
            if len(entries) >= MAX_ENTRIES:
                raise RecordingError(f"{where}: more than {MAX_ENTRIES} entries")
            entries.append(_entry(obj, where))
    if head is None:
        raise RecordingError(f"{name}:1: empty file, not a sigscope recording")
    return Recording(path, head, entries)


def _reject_constant(text: str) -> None:
    raise ValueError(f"{text} is not a number a recording holds")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 is inf to float(): not a time, not a number of ours
        raise ValueError(f"{text[:20]} is not a finite number")
    return value


def _parse_line(raw: bytes, where: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise RecordingError(f"{where}: JSON nested too deeply for a recording") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RecordingError(f"{where}: not JSON ({_one_line(e)})") from None
    if not isinstance(obj, dict):
        raise RecordingError(f"{where}: expected a JSON object, found {type(obj).__name__}")
    if _depth(obj) > MAX_DEPTH:
        raise RecordingError(f"{where}: JSON nested too deeply for a recording")
    return obj


def _one_line(e: Exception) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 120 else text[:119] + "…"


def _depth(obj: object) -> int:
    """How deeply lists and objects nest in ``obj`` (iteratively: no recursion to exhaust)."""
    deepest = 0
    todo: list[tuple[object, int]] = [(obj, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict):
            values: list[object] = list(item.values())
        elif isinstance(item, list):
            values = item
        else:
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            todo.extend((v, level + 1) for v in values)
    return deepest


def _header(obj: dict[str, Any], where: str) -> dict[str, Any]:
    if obj.get("kind") != "recording":
        raise RecordingError(
            f'{where}: not a sigscope recording (its first line has no "kind": "recording" header)'
        )
    version = obj.get("version")
    if version != VERSION or isinstance(version, bool):
        raise RecordingError(
            f"{where}: recording version {_shown(version)}; this sigscope reads version {VERSION}"
        )
    config = obj.get("config", {})
    if not isinstance(config, dict):
        raise RecordingError(f"{where}: the header's config must be an object (a table)")
    reaping = config.get("reaping", "handler")
    if not isinstance(reaping, str) or len(reaping) > 40:
        raise RecordingError(f"{where}: the header's config.reaping must be short text")
    return obj


# Fields of an event the UI, the replay and the lessons read, and the types they may have.
# Events may carry other fields too; these must have these types wherever they appear.
_EVENT_INTS = (
    "child", "target", "status", "index", "starttime", "sender", "sender_uid", "count",
    "deaths", "queued", "live", "parent", "old_parent", "ppid", "orphan", "waiting",
)  # fmt: skip
_EVENT_TEXTS = (
    "sig", "text", "how", "phase", "reaping", "old", "behaviour", "target_role", "child_role",
    "comm", "si_code", "mask", "state", "timer", "action", "via",
)  # fmt: skip
_NEEDS_CHILD = ("spawn", "fork", "reaped", "gone", "state", "appeared", "exited")
# The ints that are pids (or a worker's index) are bounded by pid_max; the others are not:
# starttime counts clock ticks since boot (past 4194304 after ~11.7 hours of uptime at
# 100 Hz), sender_uid is a 32-bit uid, the rest are counts or a wait status.
_EVENT_PIDS = ("child", "target", "index", "sender", "parent", "old_parent", "ppid")


def _entry(obj: dict[str, Any], where: str) -> dict[str, Any] | Snapshot:
    if obj.get("kind") == "snapshot":
        try:
            return snapshot_from_json(obj)
        except RecordingError as e:
            raise RecordingError(f"{where}: bad snapshot ({e})") from None
    try:
        return _event(obj)
    except RecordingError as e:
        raise RecordingError(f"{where}: {e}") from None


def _event(obj: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("t", "pid", "role", "kind") if k not in obj]
    if missing:
        raise RecordingError(f"an event needs {', '.join(missing)}")
    _int(obj["t"], "an event's t")
    _int(obj["pid"], "an event's pid", PID_MAX)
    _text(obj["kind"], "an event's kind", 40)
    _text(obj["role"], "an event's role", 40)
    kind = obj["kind"]
    if kind in _NEEDS_CHILD and "child" not in obj:
        raise RecordingError(f"a {kind} event needs its child (a pid)")
    for key in _EVENT_INTS:
        if key in obj:
            _optional_int(obj[key], f"an event's {key}", PID_MAX if key in _EVENT_PIDS else INT_MAX)
    if kind in _NEEDS_CHILD:
        _int(obj["child"], "an event's child", PID_MAX)
    for key in _EVENT_TEXTS:
        if key in obj:
            _optional_text(obj[key], f"an event's {key}")
    if "reaping" in obj:
        _text(obj["reaping"], "an event's reaping", 40)  # the replay keeps it as its mode
    for key in ("exitcode", "code"):
        value = obj.get(key)
        ok = value is None or isinstance(value, str) and len(value) <= 40
        ok = ok or (not isinstance(value, bool) and isinstance(value, int) and abs(value) < 1 << 31)
        if not ok:
            raise RecordingError(f"an event's {key} must be a whole number, not {_shown(value)}")
    numbers = ["delay", "grace", "value", "interval", "cpu"]
    if kind == "timer":
        numbers.append("previous")  # what alarm() returned; the timers panel formats it
    for key in numbers:
        value = obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise RecordingError(f"an event's {key} must be a number, not {_shown(value)}")
    if obj.get("backoff") is not None and not isinstance(obj["backoff"], dict):
        raise RecordingError(f"an event's backoff must be an object, not {_shown(obj['backoff'])}")
    return obj

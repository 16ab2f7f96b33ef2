"""The session observer: every process of the lane's session, from /proc, as events on change.

The processes are the keeper's descendants (the keeper is a child subreaper, so even an
orphaned ``nohup`` job stays one), less strace. For each: pid, ppid, pgid, sid, state, comm
and argv (``/proc/PID/stat`` and ``cmdline``, proc(5)); for the terminal: its foreground
process group, the ``tpgid`` field of any process that has it as controlling terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sigscope import procfs
from sigscope.events import Event

# States worth an event (the others flicker): zombie, stopped.
NOTABLE = frozenset({"Z", "T"})
GONE = frozenset({"Z", "X"})  # a process without a memory: its cmdline reads empty
ARGV_MAX = 16


@dataclass(frozen=True)
class SessionProcess:
    """One process of the session at one scan."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    tty_nr: int
    tpgid: int
    state: str
    comm: str
    argv: tuple[str, ...]
    starttime: int


def read_argv(pid: int) -> tuple[str, ...] | None:
    """The process's argv (the first ARGV_MAX words); None when its cmdline cannot be read."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            data = f.read(4096)
    except OSError:
        return None
    parts = data.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return tuple(p.decode(errors="replace") for p in parts[:ARGV_MAX])


@dataclass(frozen=True)
class SessionView:
    """What the observer last saw: the processes, the foreground group, the groups."""

    processes: dict[int, SessionProcess]
    foreground: int  # tpgid; -1 when no process has the terminal
    shell: int

    def groups(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for p in self.processes.values():
            out.setdefault(p.pgid, []).append(p.pid)
        return {g: sorted(m) for g, m in sorted(out.items())}


class SessionObserver:
    """Scans the session on demand; :meth:`scan` returns the events for what changed."""

    def __init__(self, root: int, shell: int, tty_nr: int | None = None) -> None:
        self.root = root
        self.shell = shell
        self.tty_nr = tty_nr
        self.exclude: set[int] = set()
        self.known: dict[int, SessionProcess] = {}
        self.foreground: int | None = None
        self.groups: dict[int, list[int]] = {}
        self.ended: set[int] = set()
        # Under strace (PTRACE_SEIZE) a job stopped by SIGTSTP/SIGTTIN/… shows "t (tracing
        # stop)", not "T"; so do strace's own brief stops at each fork and exec. The lane
        # keeps here the pids strace saw group-stopped (until a SIGCONT), shown as T; any
        # other t is strace's doing, not the job's, and shows the state it had before.
        self.group_stopped: set[int] = set()
        self.changed = False  # the last scan saw something new (events, or a state letter)

    def role(self, pid: int) -> str:
        return "shell" if pid == self.shell else "job"

    def view(self) -> SessionView:
        return SessionView(dict(self.known), self.foreground or -1, self.shell)

    def _pids(self) -> Iterable[int]:
        for pid in procfs.descendants_of(self.root):
            if pid not in self.exclude:
                yield pid

    def scan(self, t: int) -> list[Event]:
        seen: dict[int, SessionProcess] = {}
        for pid in self._pids():
            st = procfs.read_stat(pid)
            if st is None:
                continue
            state = st.state
            old = self.known.get(pid)
            if state == "t":
                # strace's own stop is a moment in a fork, an exec or a signal's delivery:
                # show the state the process had (S when first seen so).
                prior = old.state if old is not None and old.state != "T" else "S"
                state = "T" if pid in self.group_stopped else prior
            comm = st.comm
            # The same process at the last scan (not another one since given its pid).
            same = old if old is not None and old.starttime == st.starttime else None
            if same is not None and same.comm == comm and (same.argv or state in GONE):
                argv = same.argv
            else:
                read = read_argv(pid)
                argv = read or ()
                if read == () and state not in GONE and same is not None:
                    # Mid-exec: the kernel names the new program before it has laid out the
                    # new argv (cmdline reads empty; 275 of 3,000 execs scanned in a loop
                    # here). Show the process as it was until its argv can be read, so that
                    # the exec's event carries it. (One first seen so is re-read next scan.)
                    comm, argv = same.comm, same.argv
            seen[pid] = SessionProcess(
                pid,
                st.ppid,
                st.pgid,
                st.sid,
                st.tty_nr,
                st.tpgid,
                state,
                comm,
                argv,
                st.starttime,
            )
        events: list[Event] = []

        def add(pid: int, kind: str, **fields: object) -> None:
            events.append({"t": t, "pid": pid, "role": self.role(pid), "kind": kind, **fields})

        for pid, p in seen.items():
            old = self.known.get(pid)
            if old is None or old.starttime != p.starttime:
                add(
                    pid,
                    "joined",
                    pgid=p.pgid,
                    sid=p.sid,
                    ppid=p.ppid,
                    comm=p.comm,
                    argv=list(p.argv),
                )
                if p.state in NOTABLE:
                    add(pid, "state", child=pid, state=p.state, old=None)
                continue
            if old.comm != p.comm or old.argv != p.argv:
                add(pid, "exec", comm=p.comm, argv=list(p.argv))
            if old.state != p.state and (old.state in NOTABLE or p.state in NOTABLE):
                add(pid, "state", child=pid, state=p.state, old=old.state)
                if old.state == "T" and p.state not in ("Z", "X"):
                    add(pid, "continued", via="proc")
            if old.pgid != p.pgid or old.sid != p.sid:
                add(pid, "moved", pgid=p.pgid, sid=p.sid, old_pgid=old.pgid, old_sid=old.sid)
        for pid, old in self.known.items():
            if pid not in seen or seen[pid].starttime != old.starttime:
                add(pid, "left", pgid=old.pgid, comm=old.comm)
        # What a session tree shows changed (a state letter too, which makes no event).
        self.changed = bool(events) or seen != self.known
        self.known = seen
        # The foreground group of the terminal: the tpgid of any process whose controlling
        # terminal it is (every such process reports the same tpgid).
        tpgid = -1
        for p in seen.values():
            if p.tty_nr and (self.tty_nr is None or p.tty_nr == self.tty_nr) and p.tpgid > 0:
                tpgid = p.tpgid
                break
        groups = self.view().groups()
        for pgid in sorted(set(groups) | set(self.groups)):
            now_members = groups.get(pgid, [])
            before = self.groups.get(pgid, [])
            if now_members != before:
                events.append(
                    {
                        "t": t,
                        "pid": pgid,
                        "role": self.role(pgid),
                        "kind": "group",
                        "pgid": pgid,
                        "members": now_members,
                        "added": sorted(set(now_members) - set(before)),
                        "removed": sorted(set(before) - set(now_members)),
                    }
                )
        self.groups = groups
        if seen and tpgid != (self.foreground if self.foreground is not None else -1):
            events.append(
                {
                    "t": t,
                    "pid": self.shell,
                    "role": "shell",
                    "kind": "foreground",
                    "pgid": tpgid,
                    "previous": self.foreground,
                    "members": groups.get(tpgid, []),
                }
            )
            self.foreground = tpgid
        return events

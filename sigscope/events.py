"""The event record: what every source (a lab, an attached tree, a replay) reports, a dict each.

**Contract** (design.md): every event has ``t`` (``time.monotonic_ns()``), ``pid`` and ``role``
(``controller``, ``master``, ``worker``, ``orphan``) of the process the event belongs to,
``kind``, and ``sig`` (a name like ``SIGTERM``) where a signal is involved.

The role ``controller`` (:data:`CONTROLLER`) is sigscope's own process: the one that runs a lab
(in the dashboard, a lesson or ``sigscope trace``), follows an attached tree, or keeps a terminal
lane. Its events are what it did (``sent``, a ``reaped`` master or adopted orphan) or saw (the
sampler's ``state``, an attached tree's ``appeared``). Recordings made before issue 13 call it
``ui`` (:data:`OLD_CONTROLLER`); readers take both (:func:`is_controller`), and replaying an old
recording needs no conversion.

The kinds and their fields:

============  ======================================================================
kind          fields beyond t, pid, role
============  ======================================================================
sent          ``sig``, ``target`` (pid), ``target_role``; by the controller (role
              controller) or the master; by a worker to one of its own threads with ``via``
              (``pthread_kill``), ``thread`` (name) and ``native_id`` of the target thread;
              ``count`` when one event stands for a burst (a test's 10,000 signals);
              ``value`` and ``via`` (``sigqueue``) when sent queued (``SIGNAL=VALUE``)
received      ``sig``: this process's handler ran for it (``t`` is when it ran); the
              ``threads`` behaviour adds ``thread`` and ``native_id`` (which thread ran the
              Python handler) and ``targeted_thread`` (after a pthread_kill). ``sigwait``
              takes signals without a handler: ``via`` (``sigwaitinfo``), ``si_pid``,
              ``si_uid``, ``si_code``, ``si_code_name``, ``n`` (count of that signal);
              ``busy-c`` adds ``late_at_most`` (s since its C call began);
              ``sleep-loop`` adds ``noticed_after`` (s until its loop looked);
              ``signalfd`` reads them from a signalfd: ``via`` (``signalfd``), ``si_pid``,
              ``si_uid``, ``si_code``, ``si_code_name``, ``n``, ``value`` (``ssi_int``,
              only for SI_QUEUE)
spawn         ``child``, ``index``, ``behaviour``: the master forked a worker
fork          ``child``, ``starttime``: a worker forked a process of its own (the
              controller tracks it with role ``orphan``); orphan-maker adds ``orphan`` (n)
adopted       ``parent`` (the new parent: the subreaper), ``old_parent``: this orphan's
              parent exited and the kernel re-parented it
reaped        ``child``, ``status`` (raw), ``exitcode`` (``os.waitstatus_to_exitcode``),
              ``how`` (exited / signalled / stopped / continued), ``index`` if a worker,
              ``adopted: true`` when the controller reaped an orphan it had adopted
gone          ``child``: a worker vanished without a status (reaping ``ignore``)
exit          ``code``: this process is exiting (negative: it is about to die by -code)
start         ``behaviour``, ``index``, ``params``, ``inherited`` (the ``blocked``,
              ``ignored`` and ``caught`` signal names it starts with, from /proc: nothing
              blocked, SIGPIPE and SIGXFSZ ignored, SIGINT caught, as in a fresh Python
              process): a worker is about to run its behaviour;
              an orphan (role ``orphan``) says ``parent`` (the worker) and ``orphan`` (n)
ready         ``behaviour``: the behaviour has installed its handlers; a signal sent from
              now on reaches them (before it, a signal gets its default action).
              ``Worker.ready()``; the first ``Worker.wait()`` calls it.
status        the master's answer to SIGUSR1 / a status request: ``target``, ``live``,
              ``workers`` (list of {pid, index, behaviour}), ``reaping``, ``queued``,
              ``phase``, ``backoff``
mode          ``reaping``: the master's reaping mode changed
phase         ``phase``: running / graceful / quick / stopped-workers / exiting
backoff       ``index``, ``delay`` (s), ``deaths``: a slot that keeps dying waits
state         ``child``, ``state`` (Z, T, t, X, another /proc state, or ``gone``), ``old``
              (None when first seen), ``child_role`` and ``index`` when the lab knows it: the
              sampler saw a process enter or leave Z/T/t/X, or vanish (role controller, pid of the
              controller; added with ``Lab.add_event``)
timer         ``timer`` (``alarm``, ``ITIMER_REAL``, ``ITIMER_VIRTUAL``, ``ITIMER_PROF``),
              ``action`` (armed / fired / tick / cancelled), ``value`` (s left, float),
              ``interval`` (s, 0 if none); ``previous`` (what ``alarm()`` returned) and
              ``replaced_left`` (getitimer just before) for alarm; ``elapsed`` when an
              alarm fired; ``count`` and ``cpu`` (user+system s) for itimer
call          ``call`` (``pause()``, ``os.read(pipe)``, ``open(fifo)``), ``state``:
              ``waiting`` (blocked in it; ``confirmed`` when /proc showed the main thread
              asleep in it before the event was written: pause, blocked-read),
              ``returned``, ``failed`` (``exception``, ``text``: a raising handler aborted
              it), ``retried`` (a handler ran and Python retried it, PEP 475),
              ``restarted`` (SA_RESTART: the kernel restarted it, no Python handler ran);
              ``waited`` (s), ``sig``; for pause() also ``woke_by``, ``missed`` (handled
              before pause() began), ``late`` (s); ``flags`` waits in a C
              ``read(wakeup fd)``: ``interrupted`` (``errno`` EINTR: no SA_RESTART) or
              ``returned`` (``bytes``: restarted by SA_RESTART)
tripped       ``sig``: the C-level handler ran (a byte on the wakeup fd, read by a
              watcher thread); the Python handler runs later (``received``)
busy          ``call``, ``duration`` (s), ``started``/``ended`` (ns), ``handled``: a C
              call (busy-c) during which signals arrived; their handlers ran after it
counted       exact totals per signal: ``counts`` and ``total`` (sigwait, after a quiet
              spell, so they survive dropped ``received`` events); ``handled`` (Python
              handler runs) and ``tripped`` (C-level deliveries) for busy-c
blocked       ``signals`` (names), ``seconds`` (0: until ``release``), ``release``: the
              ``masked`` behaviour blocked them with pthread_sigmask
unblocked     ``signals``, ``pending`` (names pending at that moment), ``why`` (``timer`` /
              ``release``); the ``received`` events of what was pending follow it
disposition   ``sig``, ``disposition`` (``SIG_IGN`` / ``SIG_DFL`` / ``handler``),
              ``previous``: a behaviour set what the kernel does with ``sig``
crash         ``how`` (exit / raise / abort), ``code`` (exit only), ``after``: it crashes now
thread        ``action`` (``started``), ``thread`` (name), ``native_id``: a worker's thread
raised        ``call``, ``exception`` (class name), ``text``; ``errno`` for OSErrors,
              ``thread`` and ``native_id`` if not the main thread: a call raised, as taught
write         ``fd``, ``bytes``, ``reader`` (``gone``), ``sigpipe`` (the disposition):
              pipe-writer is about to write into a pipe
note          ``text``: a behaviour explains what it is doing
snippet       the ``playground`` worker ran learner's code: ``action`` = ``started``
              (``id``, ``lines``), ``output`` (``id``, ``stream`` stdout/stderr, ``text``,
              one line or 1 KiB at most), ``truncated`` (``limit``: output over it was
              dropped), ``finished`` (``id``, ``seconds``, ``result``: repr of a last
              expression), ``raised`` (``id``, ``exception``, ``text``: traceback;
              ``during="idle"`` when a learner's handler raised between snippets),
              ``stopped`` (Stop: SIGRTMAX, reserved), ``refused`` (``why``)
report        the learner's code called ``report(**fields)``: its fields (scalars, or
              their repr, 200 chars), ``snippet`` (id of the running snippet or None).
              A playground ``disposition`` or ``timer`` event also has ``snippet``; its
              ``received`` events come from a wrapper around the learner's handler, and
              its ``signal.alarm``/``setitimer`` calls and handled expiries are ``timer``
              events (armed / cancelled / fired / tick), as the alarm and itimer behaviours'
flags         ``sig``, ``handler`` (python / probe / SIG_DFL / SIG_IGN / handler +
              ``address``), ``flags`` (SA_* names read back with sigaction), ``flags_raw``,
              ``mask`` (sa_mask names), ``why`` (installed / changed): the ``flags``
              behaviour's disposition, as the kernel has it
handler       ``sig``, ``phase`` (enter / leave), ``depth``, ``run``, ``blocked`` (enter:
              the mask inside the C-level handler): the ``flags`` probe handler ran
child         ``child``, ``event`` (stopped / exited / reaped), ``sigchld``, ``zombie``,
              ``status``/``exitcode`` or ``error`` (ECHILD): a ``flags`` worker's child
inherit       ``phase`` (before / fork-child / subprocess / exec / after-exec),
              ``blocked``, ``ignored``, ``caught``, ``pending`` (names from /proc),
              ``child``, ``restore_signals``, ``program``, ``handled``, ``disposition``:
              the ``exec`` behaviour (after-exec comes from ``sigscope.lab.exec_probe``)
rtlimit       ``action`` (set / burst / drained), ``sig``, ``limit``, ``room``,
              ``already``, ``queued_ok``, ``queued_eagain``, ``kill_ok``, ``sent_ok``,
              ``received``, ``lost``, ``values``, ``codes``, ``sigq``: RLIMIT_SIGPENDING
core          ``action`` (armed / dumping / found / missing), ``sig``, ``limit``,
              ``core_pattern``, ``core_uses_pid``, ``where`` (directory / elsewhere / pipe),
              ``program``, ``directory``, ``expected``, ``worker``, ``path``, ``size``,
              ``removed``, ``text``: the ``core`` behaviour and its cleaner (role orphan)
unsafe        ``action`` (started / done / hanging / stuck), ``mode`` (print / lock),
              ``raised``, ``handler_runs``, ``seconds``, ``state``, ``wchan``, ``syscall``,
              ``after``: the ``unsafe`` behaviour (its RuntimeError is a ``raised``)
pidfd         ``step`` (alive / zombie / reaped / eperm / reuse), ``child``, ``kill0``,
              ``pidfd0``, ``sent`` (ok or an errno name), ``target``, ``as_uid``,
              ``number``, ``recycled``, ``old_global``, ``new_global``, ``kill0_before``,
              ``kill0_after``, ``pidfd_after``, ``skipped``/``why``: the ``pidfd`` behaviour
error         ``text``: something failed that the user should see
dropped       ``count``: this many events of this process were lost (channel full)
============  ======================================================================

**The terminal lane** (:mod:`sigscope.terminal`, issue 16) adds two roles: ``shell`` (the
session leader on the lane's pty: bash by default) and ``job`` (any other process of that
session, or one that left it with ``setsid``). Its events go into the same log as the lab's:

============  ======================================================================
kind          fields beyond t, pid, role
============  ======================================================================
terminal      role ``controller``, pid sigscope: the lane itself. ``action``: ``started``
              (``shell`` pid, ``argv``, ``tty`` name, ``rows``, ``cols``, ``strace``
              true/false), ``strace`` (``text``: why there are no received/exit events:
              strace missing or not permitted), ``hangup`` (sigscope closed the pty's
              master: the terminal hung up), ``closed`` (the lane ended)
joined        ``pgid``, ``sid``, ``ppid``, ``comm``, ``argv`` (list): a process appeared
              in the session (the shell's own joined comes first)
exec          ``comm``, ``argv``: it ran a new program (a job is forked as a copy of the
              shell, then execs: ``sleep 30`` is first ``bash``)
moved         ``pgid``, ``sid``, ``old_pgid``, ``old_sid``: setpgid(2) or setsid(2) moved it
left          ``pgid``, ``comm``: it is no longer in /proc (ended and reaped)
foreground    pid and role of the shell: ``pgid`` (the tty's new foreground process group,
              tpgid; -1 none), ``previous`` (None at first), ``members`` (its pids)
group         pid = ``pgid`` (the group's leader may be gone): ``pgid``, ``members``
              (sorted pids), ``added``, ``removed``; ``members`` empty: the group is gone
state         ``child`` (= pid), ``state``, ``old``: entered or left Z or T (as the
              sampler's state events, but on the process's own lane). Under strace a
              job's group-stop reads ``t`` in /proc: shown as T; strace's own brief stops
              (at each fork, exec, delivery) are not a state of the job and are not shown
stopped       ``sig`` (SIGTSTP, SIGTTIN, SIGTTOU, SIGSTOP), ``via`` (``strace``: its
              ``--- stopped by SIG ---``; ``proc``: state T seen, no strace, no ``sig``)
continued     ``via`` (``proc``): it left state T and still lives
received      ``sig``, ``si_code`` (``SI_KERNEL`` for a tty-generated signal, ``SI_USER``
              from kill), ``sender`` (si_pid), ``sender_uid``, ``via`` (``strace``); SIGCHLD
              adds ``si_status``: what the kernel delivered (the handler may run later)
exit          how it ended (the lab's ``exit`` kind, as attach's strace feed makes it; not
              ``ended``, which is the lab's own end and stops ``trace`` and the dashboard):
              ``code`` (exit code, or -N when killed by signal N), ``sig`` (killed by),
              ``core``, ``how`` (``exited with 0``, ``killed by SIGINT``), ``via``
              (``strace``; ``keeper``: the lane's reaper saw the status)
sent          role ``controller``: ``sig``, ``target`` (a pid, or -PGID for a whole group),
              ``target_role`` (``shell``, ``job``, ``group``), ``members`` for a group
============  ======================================================================

Lab processes write events to the channel of :mod:`sigscope.lab.channel`; an attached tree
makes them from /proc and strace (:mod:`sigscope.sources.attach`); a replay reads them back from
a recording (:mod:`sigscope.sources.replay`). Nothing here imports anything of sigscope's.
"""

from __future__ import annotations

import time
from typing import Any

Event = dict[str, Any]

CONTROLLER = "controller"
"""The role of sigscope's own process in its events (see above)."""
OLD_CONTROLLER = "ui"
"""What recordings made before issue 13 call the controller's role."""
CONTROLLER_ROLES = frozenset({CONTROLLER, OLD_CONTROLLER})
ROLES = (CONTROLLER, "master", "worker", "orphan")
"""The roles of a lab's events (the terminal lane adds ``shell`` and ``job``)."""


def is_controller(event: Event) -> bool:
    """The event is sigscope's own (role ``controller``, or ``ui`` in an old recording)."""
    return event.get("role") in CONTROLLER_ROLES


def now() -> int:
    """The event clock: ``time.monotonic_ns()``, shared by every process on the machine."""
    return time.monotonic_ns()


def controller_event(pid: int, kind: str, t: int | None = None, **fields: Any) -> Event:
    """An event of sigscope's own process (role ``controller``, ``pid`` its pid), at ``t`` (by
    default now): what it did or saw, with the kind's ``fields``."""
    return {"t": now() if t is None else t, "pid": pid, "role": CONTROLLER, "kind": kind, **fields}

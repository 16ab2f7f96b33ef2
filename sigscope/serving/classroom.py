"""A classroom on one server: lessons for the start page, student codes, where each page's
progress and status live, and how the process budget is shared between pages.

Everything a browser sends is untrusted, so each value is checked here once, in one place:

- a **student code** is 1 to :data:`MAX_CODE` characters of ``A-Z a-z 0-9 . _ -``, starting
  with a letter or digit (:func:`student_code`): it names a folder, so no ``/``, no ``..``,
  no control characters, nothing to escape in HTML;
- a **lesson name** is looked up among the lessons loaded when the server started
  (:class:`Catalog`): a number, an id, or an id without its number, never a path;
- a page's **status file** (written by the page's app, read by the teacher's view) is read
  back with a size limit and every field checked (:func:`read_status`).

Where things are kept (``$XDG_STATE_HOME/sigscope/serve``, see :mod:`sigscope.paths`):

- ``students/CODE/progress.json``: a student's progress, as ``sigscope lesson`` keeps it
  (:class:`~sigscope.course.progress.ProgressStore`); it outlives the page and the server, so a
  reload (or the next class) with the same code resumes where the student was;
- ``run-PID-XXXX/page-N.json``: what page N's app reports (lesson, step, steps done, hints,
  since when on this step), and ``page-N.progress.json`` for a page without a code. The run's
  folder is removed when the server stops.

The budget: every page *reserves* its app, its master and a cap of processes below the
master (``SIGSCOPE_MAX_WORKERS``, which the master enforces for the lab's whole life: TTIN,
spawns, what workers fork). A page is admitted only while the reservations fit in
``--max-processes``, so the total holds under any load the pages can make.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigscope import procfs
from sigscope.course.catalog import LessonFolderError, lesson_index, printable
from sigscope.course.lesson import LabSetup, Lesson
from sigscope.course.progress import LessonProgress, ProgressStore
from sigscope.lab.behaviours import BehaviourError, check_params
from sigscope.lab.limits import footprint
from sigscope.numbers import is_int
from sigscope.paths import state_dir

MAX_CODE = 40
CODE_SYNTAX = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_CODE - 1}}}")
MAX_STUDENTS = 1000  # student codes whose progress a serve's state directory keeps
MAX_NAME = 100  # characters of a lesson name from a browser
MAX_STATUS = 4096  # bytes of a page's status file; more is damage
MAX_STEPS = 256  # steps a status may name (a lesson has a handful): what fits in MAX_STATUS
MAX_HINTS = 1_000_000
STATUS_VERSION = 1
PAGE_OVERHEAD = 2  # a page's own processes besides its lab's workers: its app and its master


class ClassroomError(Exception):
    """Bad input from a browser (or the command line): one sentence, fit to show."""


def student_code(text: str) -> str:
    """``text`` as a student code, or :class:`ClassroomError` saying what one is."""
    code = text.strip()
    if not code:
        raise ClassroomError("a student code is needed")
    if len(code) > MAX_CODE or not CODE_SYNTAX.fullmatch(code):
        raise ClassroomError(
            f"a student code is 1 to {MAX_CODE} letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return code


# -- the lessons -------------------------------------------------------------------------------


def planned_processes(setup: LabSetup) -> int:
    """The processes a lesson's lab starts below its master (workers and what they fork), as
    the lab counts them against ``SIGSCOPE_MAX_WORKERS``."""
    planned = 0
    for i in range(setup.workers):
        spec = setup.slots[i] if i < len(setup.slots) else {}
        name = spec.get("behaviour", setup.behaviour)
        try:
            params = check_params(name, spec.get("params", {}) if spec else setup.params)
        except BehaviourError:
            params = {}
        planned += footprint(name, params)
    return planned


@dataclass(frozen=True)
class CatalogEntry:
    """A lesson a page may open: what the start page and the teacher's view show of it."""

    id: str
    path: Path
    title: str
    summary: str
    steps: int
    checked: tuple[int, ...]  # the steps the lab checks
    processes: int  # what its lab starts below its master
    runs_code: bool = False  # a solution runs Python from the lesson file
    step_titles: tuple[str, ...] = ()
    shell: bool = False  # its lab has a terminal lane: a real shell (serve --allow-code only)

    @property
    def number(self) -> str:
        return self.id.partition("-")[0]


class Catalog:
    """The lessons of a folder, loaded once when the server starts (broken files left out)."""

    def __init__(self, entries: Iterable[CatalogEntry], folder: Path) -> None:
        self.entries = list(entries)
        self.folder = folder
        self.by_id = {e.id: e for e in self.entries}

    @classmethod
    def load(cls, folder: Path) -> Catalog:
        """Raises ClassroomError when the folder cannot be read."""
        if not os.path.isdir(folder):
            raise ClassroomError(f"no lessons folder {printable(str(folder))!r}")
        try:
            index = lesson_index(folder, ProgressStore(Path(os.devnull)))
        except LessonFolderError as e:
            raise ClassroomError(str(e)) from None
        entries = []
        for item in index:
            lesson: Lesson | None = item.lesson
            if lesson is None:
                continue
            entries.append(
                CatalogEntry(
                    id=lesson.id,
                    path=item.path,
                    title=item.title,
                    summary=item.summary,
                    steps=len(lesson.steps),
                    checked=tuple(i for i, s in enumerate(lesson.steps) if s.checked),
                    processes=planned_processes(lesson.setup),
                    step_titles=tuple(printable(s.title or "") for s in lesson.steps),
                    shell=bool(getattr(lesson.setup, "terminal", False)),
                    runs_code=any(
                        a.kind == "code" for step in lesson.steps for a in step.solution or ()
                    ),
                )
            )
        return cls(entries, folder)

    def find(self, name: str) -> CatalogEntry:
        """The lesson called ``name`` (id, number, id without its number).

        Raises:
            ClassroomError: no such lesson (the message names the name, shortened).
        """
        wanted = name.strip().removesuffix(".toml")
        if len(wanted) > MAX_NAME or not wanted.isprintable():
            raise ClassroomError("that is not a lesson name")
        for entry in self.entries:
            number, _, rest = entry.id.partition("-")
            if wanted in (entry.id, rest) or (
                is_int(wanted) and is_int(number) and int(wanted) == int(number)
            ):
                return entry
        shown = wanted if len(wanted) <= 40 else wanted[:39] + "…"
        raise ClassroomError(f"there is no lesson {shown!r} on this server")


# -- where a page's progress and status are kept ------------------------------------------------


class ServeState:
    """The serve's folders under the XDG state directory (see the module's docstring)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else state_dir() / "serve"
        self.run: Path | None = None

    def open(self) -> ServeState:
        """Make this run's folder (private to the user). Raises OSError."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.root / "students").mkdir(exist_ok=True, mode=0o700)
        self.run = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=self.root))
        return self

    def close(self) -> None:
        if self.run is not None:
            shutil.rmtree(self.run, ignore_errors=True)
            self.run = None

    def picker_folder(self, entries: Iterable[CatalogEntry]) -> Path:
        """A folder of this run with the lesson files of ``entries`` (links to them): what a
        served lesson's picker (L) offers, so that a page cannot switch to a lesson the
        server refuses (a real shell without --allow-code, a lab bigger than --max-workers).
        Raises OSError."""
        assert self.run is not None
        folder = self.run / "lessons"
        folder.mkdir(mode=0o700, exist_ok=True)
        for entry in entries:
            link = folder / entry.path.name
            if not link.is_symlink():
                link.symlink_to(entry.path.resolve())
        return folder

    def status_file(self, page: int) -> Path:
        assert self.run is not None
        return self.run / f"page-{page}.json"

    def progress_file(self, page: int, code: str | None) -> Path:
        """Where a page's lesson progress is kept: the student's own file, or the page's."""
        if code is None:
            assert self.run is not None
            return self.run / f"page-{page}.progress.json"
        return self.student_progress(code)

    def student_progress(self, code: str, make: bool = True) -> Path:
        """The progress file of the student ``code``, its folder made if it is new (with
        ``make`` False, only checked: a page that is only asked for makes no folder).

        Raises:
            ClassroomError: not a code, or a new code when MAX_STUDENTS folders exist already
                (every new code is a folder: a visitor must not be able to fill the disk),
                or the folder cannot be made.
        """
        students = self.root / "students"
        folder = students / student_code(code)
        try:
            if not folder.is_dir():
                with os.scandir(students) as entries:  # (read no further than the limit)
                    if sum(1 for _ in itertools.islice(entries, MAX_STUDENTS)) >= MAX_STUDENTS:
                        raise ClassroomError(
                            f"this server keeps the progress of at most {MAX_STUDENTS} student "
                            "codes, and has them all: use a code it knows"
                        )
                if make:
                    folder.mkdir(exist_ok=True, mode=0o700)
        except OSError as e:
            raise ClassroomError(f"this server cannot keep progress ({e.strerror})") from None
        return folder / "progress.json"


# -- a page's status: written by its app, read by the server ----------------------------------


class ReportingStore(ProgressStore):
    """The progress store of a served lesson: it saves progress as ``sigscope lesson`` does,
    and reports each change (and the lesson being opened) in the page's status file, which
    the teacher's view reads. No Textual here: the lesson app only sees a ProgressStore."""

    def __init__(self, path: Path, status: Path | None) -> None:
        super().__init__(path)
        self.status = status
        self._step: tuple[str, int] | None = None
        self._since = time.time()

    def load(self, lesson_id: str, renamed_from: Iterable[str] = ()) -> LessonProgress:
        progress = super().load(lesson_id, renamed_from)
        self.report(lesson_id, progress)
        return progress

    def save(
        self, lesson_id: str, progress: LessonProgress, renamed_from: Iterable[str] = ()
    ) -> None:
        try:
            super().save(lesson_id, progress, renamed_from)
        finally:
            self.report(lesson_id, progress)

    def report(self, lesson_id: str, progress: LessonProgress) -> None:
        if self.status is None:
            return
        step = (lesson_id, progress.current)
        if step != self._step:
            self._step = step
            self._since = time.time()
        # Within what read_status accepts, whatever the progress file said (a damaged one can
        # say step 10**9 and a million steps done): the teacher's view still shows the page.
        write_status(
            self.status,
            {
                "lesson": lesson_id,
                "step": min(progress.current, MAX_STEPS - 1),
                "done": sorted(d for d in progress.done if 0 <= d < MAX_STEPS),
                "hints": min(sum(progress.hints.values()), MAX_HINTS),
                "since": self._since,
            },
        )


def write_status(path: Path, fields: dict[str, Any]) -> None:
    """Replace ``path`` with ``fields`` as JSON, atomically (a reader never sees half)."""
    data = json.dumps({"version": STATUS_VERSION, **fields}).encode()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".status-", suffix=".json")
    except OSError:
        return  # the server has stopped (its folder is gone): nobody reads it any more
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


@dataclass(frozen=True)
class PageStatus:
    """What a page's app said about its lesson, checked."""

    lesson: str
    step: int
    done: tuple[int, ...]
    hints: int
    since: float


def _count(value: Any, high: int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high:
        return value
    return None


def read_status(path: Path) -> PageStatus | None:
    """The status in ``path``, or None if there is none or it is not one (too big, not JSON,
    a field of the wrong type or out of range): the page's app is not trusted either."""
    try:
        if not path.is_file():  # (a FIFO planted there would block the read)
            return None
        with open(path, "rb") as f:
            data = f.read(MAX_STATUS + 1)
        if len(data) > MAX_STATUS:
            return None
        raw = json.loads(data)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(raw, dict) or raw.get("version") != STATUS_VERSION:
        return None
    lesson = raw.get("lesson")
    step = _count(raw.get("step"), MAX_STEPS - 1)
    hints = _count(raw.get("hints"), MAX_HINTS)
    done_raw = raw.get("done")
    since = raw.get("since")
    if (
        not isinstance(lesson, str)
        or len(lesson) > MAX_NAME
        or not lesson.isprintable()
        or step is None
        or hints is None
        or not isinstance(done_raw, list)
        or len(done_raw) > MAX_STEPS
        or not isinstance(since, float | int)
        or isinstance(since, bool)
    ):
        return None
    done = tuple(d for d in done_raw if _count(d, MAX_STEPS - 1) is not None)
    return PageStatus(lesson, step, done, hints, float(since))


def live_below(roots: Iterable[int]) -> dict[int, int]:
    """For each pid of ``roots``: how many live (not zombie) processes are below it, from
    one pass over /proc (the teacher's view asks for every page at once)."""
    children: dict[int, list[int]] = {}
    alive: set[int] = set()
    for pid in procfs.all_pids():
        st = procfs.read_stat(pid)
        if st is None:
            continue
        children.setdefault(st.ppid, []).append(pid)
        if st.state != "Z":
            alive.add(pid)
    counts = {}
    for root in roots:
        todo = list(children.get(root, ()))
        n = 0
        while todo:
            pid = todo.pop()
            n += pid in alive
            todo.extend(children.get(pid, ()))
        counts[root] = n
    return counts


# -- the process budget ----------------------------------------------------------------------


class Budget:
    """Processes reserved by the pages alive, within ``limit`` (see the module's docstring)."""

    def __init__(self, limit: int, per_lab: int) -> None:
        self.limit = limit
        self.per_lab = per_lab
        self.reserved: dict[int, int] = {}

    @property
    def used(self) -> int:
        return sum(self.reserved.values())

    def cap_for(self, needs: int) -> int | None:
        """The cap below the master a new page's lab would get (as much of ``per_lab`` as
        is left), or None if what is left is less than its lab ``needs`` at the start."""
        cap = min(self.per_lab, self.limit - self.used - PAGE_OVERHEAD)
        return cap if cap >= needs else None

    def take(self, page: int, cap: int) -> None:
        self.reserved[page] = PAGE_OVERHEAD + cap

    def give_back(self, page: int) -> None:
        self.reserved.pop(page, None)

"""``sigscope serve``: the dashboard, a lesson or a demo in every browser page, one lab per
page, and a teacher's view of the class.

Two entry points live here:

- :func:`add_parser` and :func:`run`: the command, as every command in :mod:`sigscope.commands`
  (its options, checked before anything starts; then the web server of
  :mod:`sigscope.ui.serve_web`, imported only now: it needs aiohttp and textual-serve);
- :func:`main_page`: what each page's app runs (``python -P -m sigscope.commands.serve …``,
  the argv made by :meth:`~sigscope.serving.rules.ServeSettings.app_argv`). It is not the
  ``sigscope`` command line: the server alone calls it, and it imports no web machinery.

The rules (keys, limits, clean-up) are in :mod:`sigscope.serving`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sigscope import procfs
from sigscope.commands._common import EXIT_USAGE
from sigscope.commands._lab_options import add_lab_options, workers_count
from sigscope.lab.limits import MAX_WORKERS_ENV, footprint
from sigscope.numbers import NumberError, parse_int
from sigscope.serving.rules import (
    DEFAULT_HOST,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_PER_CLIENT,
    DEFAULT_MAX_PROCESSES,
    DEFAULT_MAX_WORKERS,
    DEFAULT_PORT,
    MAX_CONNECTIONS_LIMIT,
    MAX_GRACE,
    MAX_PROCESSES_LIMIT,
    MAX_WARM,
    SERVER_PID_ENV,
    ServeError,
    ServeSettings,
    listen,
    new_token,
    on_loopback,
    user_name,
)

# -- the command line ------------------------------------------------------------------------


def _count(low: int, high: int, what: str) -> Any:
    def parse(text: str) -> int:
        try:
            n = parse_int(text, what=what)
        except NumberError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{n} {what}: choose from {low} to {high}")
        return n

    return parse


def port_number(text: str) -> int:
    try:
        n = parse_int(text, what="a port")
    except NumberError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"{n}: a port is from 0 to 65535")
    return n


def _behaviour_text(text: str) -> str:
    """Check ``NAME[:k=v,…]`` now (one line if wrong), but keep the text for the app's argv."""
    from sigscope.lab.behaviours import BehaviourError, parse_behaviour_spec

    try:
        parse_behaviour_spec(text)
    except BehaviourError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text.strip()


def add_parser(sub: Any) -> None:
    """Add the ``serve`` subcommand to the ``sigscope`` parser's subparsers."""
    parser = sub.add_parser(
        "serve",
        help="serve the dashboard, a lesson or a demo to browsers (one lab per page), and a "
        "teacher's view; on loopback by default",
        description="Serve sigscope to web browsers with textual-serve. Every page gets its "
        "own lab, started when the page connects and torn down when it closes. Without "
        "--lesson or --demo a page starts on a list of the lessons (and a field for a "
        "student code, under which its progress is kept); a second address, with its own "
        "key, is the teacher's view of every page. Listens on "
        f"{DEFAULT_HOST} unless --host says otherwise: anyone who can reach the port can "
        "start processes on this machine.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 for every interface: "
        "anyone who can reach the port and has the URL drives processes as you)",
    )
    parser.add_argument(
        "--allow-root",
        action="store_true",
        help="as root, allow a --host other than loopback (every page then runs as root)",
    )
    parser.add_argument(
        "--allow-code",
        action="store_true",
        help="let pages run Python in playground workers (remote code execution by design: "
        "loopback only; README: The playground)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--lesson",
        metavar="NAME",
        help="every page opens this lesson (number, id or file name; progress per page, "
        "kept under the student's code when the address has ?student=CODE)",
    )
    what.add_argument("--demo", metavar="NAME", help="every page plays this lesson as a demo")
    parser.add_argument(
        "--lessons-dir",
        metavar="DIR",
        help="a folder of lesson files (default: $SIGSCOPE_LESSONS, else the bundled lessons)",
    )
    parser.add_argument(
        "--max-connections",
        type=_count(1, MAX_CONNECTIONS_LIMIT, "connections"),
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"pages (and so labs) alive at once (default {DEFAULT_MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--max-per-client",
        type=_count(1, MAX_CONNECTIONS_LIMIT, "pages per client"),
        default=DEFAULT_MAX_PER_CLIENT,
        metavar="N",
        help=f"pages one client address may have open (default {DEFAULT_MAX_PER_CLIENT})",
    )
    parser.add_argument(
        "--max-processes",
        type=_count(3, MAX_PROCESSES_LIMIT, "processes"),
        default=DEFAULT_MAX_PROCESSES,
        metavar="N",
        help="processes of every page together: its app, its master and what its lab may "
        f"grow to (default {DEFAULT_MAX_PROCESSES})",
    )
    parser.add_argument(
        "--warm",
        type=_count(0, MAX_WARM, "spare apps"),
        default=0,
        metavar="N",
        help="keep N spare apps started, their imports done, for the next pages: a page "
        "then opens about a third of a second sooner, at about 60 MB each (default 0)",
    )
    parser.add_argument(
        "--max-workers",
        type=workers_count,
        default=DEFAULT_MAX_WORKERS,
        metavar="N",
        help=f"most processes below a lab's master (default {DEFAULT_MAX_WORKERS})",
    )
    add_lab_options(
        parser,
        workers_help="workers each dashboard's lab starts with (default 2, at most --max-workers)",
        behaviour_type=_behaviour_text,
        behaviour_default="idle",
    )


def settings_from(args: argparse.Namespace, catalog: Any = None) -> ServeSettings:
    """The settings, checked (a lesson named by --lesson/--demo is found in ``catalog``)."""
    if args.workers > args.max_workers:
        raise ServeError(f"--workers {args.workers} is more than --max-workers {args.max_workers}")
    if args.grace > MAX_GRACE:
        # Every closing page waits this long for stubborn workers: unbounded, a page could
        # keep processes alive for hours after it closed.
        raise ServeError(f"--grace {args.grace:g} is too long for serve: at most {MAX_GRACE:g} s")
    allow_code = bool(getattr(args, "allow_code", False))
    if args.behaviour.partition(":")[0].strip() == "playground" and not allow_code:
        raise ServeError(
            "the playground runs Python typed in the page; serve refuses it without --allow-code"
        )
    lesson = demo = None
    from sigscope.lab.behaviours import parse_behaviour_spec

    behaviour, params = parse_behaviour_spec(args.behaviour)
    needs = args.workers * footprint(behaviour, params)  # below a dashboard's master
    name = args.lesson if args.lesson is not None else args.demo
    if name is not None and catalog is not None:
        from sigscope.serving.classroom import ClassroomError

        option = "--lesson" if args.lesson is not None else "--demo"
        try:
            entry = catalog.find(name)
        except ClassroomError as e:
            raise ServeError(f"{option}: {e} (sigscope lessons lists them)") from None
        if entry.processes > args.max_workers:
            raise ServeError(
                f"{option} {entry.id}: its lab starts {entry.processes} processes below its "
                f"master, more than --max-workers {args.max_workers}"
            )
        if entry.shell and not allow_code:
            raise ServeError(
                f"{option} {entry.id} opens a real shell in every page (its terminal lane); "
                "serve refuses it without --allow-code"
            )
        if args.demo is not None and entry.runs_code and not allow_code:
            raise ServeError(
                f"--demo {entry.id} runs Python from the lesson file in every page; serve "
                "refuses it without --allow-code"
            )
        if args.lesson is not None:
            lesson = str(entry.path)
        else:
            demo = str(entry.path)
        needs = entry.processes
    if args.max_processes < 2 + needs:
        # A page reserves its app, its master and its lab (classroom.Budget): none would fit.
        raise ServeError(
            f"--max-processes {args.max_processes} leaves no room for one page: it needs "
            f"{2 + needs} (its app, its master and {needs} below it)"
        )
    return ServeSettings(
        allow_code=allow_code,
        host=args.host,
        port=args.port,
        max_connections=args.max_connections,
        max_per_client=args.max_per_client,
        max_processes=args.max_processes,
        max_workers=args.max_workers,
        workers=args.workers,
        behaviour=args.behaviour,
        reaping=args.reaping,
        grace=args.grace,
        lesson=lesson,
        demo=demo,
        lessons_dir=str(catalog.folder) if catalog is not None else "",
        warm=getattr(args, "warm", 0),
    )


def _error(text: str) -> int:
    print(f"sigscope serve: error: {text}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    """``sigscope serve``: bind, then serve until Ctrl+C / SIGTERM; every lab is closed."""
    from sigscope.course.catalog import lessons_dir
    from sigscope.serving.classroom import Catalog, ClassroomError, ServeState

    try:
        catalog = Catalog.load(lessons_dir(args.lessons_dir))
    except ClassroomError as e:
        return _error(str(e))
    try:
        settings = settings_from(args, catalog)
        sockets = listen(settings.host, settings.port)
    except ServeError as e:
        return _error(str(e))
    if settings.allow_code and not on_loopback(sockets):
        for s in sockets:
            s.close()
        return _error(
            f"--allow-code serves only on loopback, not {settings.host}: anyone who reached "
            f"the port with the URL would run any code as {user_name()}"
        )
    if settings.allow_code:
        print(
            "sigscope serve: warning: --allow-code: every page can run any Python as "
            f"{user_name()} on this machine (the playground); keep the URL to yourself",
            file=sys.stderr,
            flush=True,
        )
    if not on_loopback(sockets):
        port = sockets[0].getsockname()[1]
        if os.geteuid() == 0 and not getattr(args, "allow_root", False):
            for s in sockets:
                s.close()
            return _error(
                f"refusing to serve on {settings.host} as root: anyone who can reach port "
                f"{port} and has the URL would run processes as root (use loopback, run as "
                "another user, or add --allow-root)"
            )
        print(
            f"sigscope serve: warning: {settings.host} is not loopback: anyone who can reach "
            f"port {port} and has the URL (with its token) starts and signals processes on "
            f"this machine as {user_name()}",
            file=sys.stderr,
            flush=True,
        )
    try:
        from sigscope.ui.serve_web import DashboardServer
    except ImportError as e:
        for s in sockets:
            s.close()
        return _error(f"textual-serve is not installed ({e})")
    try:
        state = ServeState().open()
    except OSError as e:
        for s in sockets:
            s.close()
        return _error(f"cannot keep the class's progress in {e.filename}: {e.strerror}")
    # Orphans of a dead app come to us, not to init, so that we can check and reap them.
    procfs.set_child_subreaper()
    try:
        server = DashboardServer(settings, sockets, new_token(), catalog, state, new_token())
        return server.serve()
    finally:
        state.close()


# -- a page's app ------------------------------------------------------------------------------


def _exit_on_term(signum: int, frame: object) -> None:
    # SIGTERM / SIGHUP from the server: unwind, so that the lab is torn down and reaped.
    raise SystemExit(128 + signum)


def page_parser() -> argparse.ArgumentParser:
    """The page app's own arguments (made by ServeSettings.app_argv, never typed by a user)."""
    parser = argparse.ArgumentParser(prog="sigscope serve page", allow_abbrev=False)
    parser.add_argument("--code", choices=["on", "off"], default="off")
    parser.add_argument("--status", type=Path)
    kinds = parser.add_subparsers(dest="kind", required=True)
    dashboard = kinds.add_parser("dashboard", allow_abbrev=False)
    add_lab_options(dashboard)
    for kind in ("lesson", "demo"):
        one = kinds.add_parser(kind, allow_abbrev=False)
        one.add_argument("file", type=Path)
        one.add_argument("--progress", type=Path)
        one.add_argument("--picker", type=Path)  # the lessons L offers (default: its folder)
    return parser


WARM = "--warm"  # the first argument of a spare app (serve --warm N)
MAX_ORDER = 64 * 1024  # bytes of a spare's order (its page's argv and environment)
ORDER_ENV = ("COLUMNS", "ROWS", MAX_WORKERS_ENV)  # what an order may set in the environment


class OrderError(Exception):
    """A spare's order that is not one the server writes."""


def read_order(fd: int = 0) -> list[str] | None:
    """Wait for the server's order on ``fd`` (one line of JSON: the page's argv and a few
    variables of its environment), set those variables, and return the argv; None at EOF
    (the server no longer needs this spare).

    Read a byte at a time, so that nothing after the line (the page's first keys, its size)
    is taken from the pipe before the app's driver reads it.
    """
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_ORDER:
            raise OrderError("an order longer than 64 KiB")
    try:
        order = json.loads(data)
    except ValueError:
        raise OrderError("an order that is not JSON") from None
    argv, env = (order.get("argv"), order.get("env")) if isinstance(order, dict) else (0, 0)
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise OrderError("an order without an argv")
    if not isinstance(env, dict) or not all(
        k in ORDER_ENV and isinstance(v, str) for k, v in env.items()
    ):
        raise OrderError("an order with an environment it may not set")
    os.environ.update(env)
    return argv


def warm_up() -> None:
    """What every page's app imports, done before a page needs it (about 0.3 s of CPU)."""
    import sigscope.course.lesson  # noqa: F401
    import sigscope.ui.app  # noqa: F401
    import sigscope.ui.demo_app  # noqa: F401
    import sigscope.ui.lesson_app  # noqa: F401


def main_page(argv: Sequence[str]) -> int:
    """Run one page's app (the dashboard, a lesson or a demo): die with the server.

    PDEATHSIG is armed before anything else and then the parent is checked, so that an app
    whose server died a moment before the prctl ends as PDEATHSIG would have ended it.

    With ``--warm`` first, this is a spare (``serve --warm N``): it imports what an app needs,
    then waits for the server's order (:func:`read_order`), and runs that page's app.
    """
    procfs.set_pdeathsig(signal.SIGKILL)
    expected = os.environ.get(SERVER_PID_ENV)
    if expected is not None and str(os.getppid()) != expected:
        return 1
    if list(argv[:1]) == [WARM]:
        warm_up()
        try:
            order = read_order()
        except OrderError as e:
            print(f"sigscope serve: error: a spare app got {e}", file=sys.stderr)
            return EXIT_USAGE
        if order is None:
            return 0
        argv = order
    from sigscope.commands._common import UsageError
    from sigscope.commands._lab_options import check_worker_cap
    from sigscope.lab.code import CODE_ENV

    args = page_parser().parse_args(argv)
    # A page runs no code unless the server says --code=on (serve --allow-code): with "off"
    # its labs get no code directory, so no playground worker can receive any.
    os.environ[CODE_ENV] = args.code
    signal.signal(signal.SIGTERM, _exit_on_term)
    signal.signal(signal.SIGHUP, _exit_on_term)
    try:
        check_worker_cap()
    except UsageError as e:
        print(f"sigscope serve: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.kind == "dashboard":
        from sigscope.ui.app import run as run_dashboard
        from sigscope.ui.settings import LabSettings

        name, params = args.behaviour
        return run_dashboard(LabSettings(args.workers, name, params, args.reaping, args.grace))
    from sigscope.course.lesson import load_lesson
    from sigscope.course.problems import LessonInvalid
    from sigscope.ui.lesson_app import LessonApp, run_lesson_app

    try:
        lesson = load_lesson(args.file)
    except LessonInvalid as e:
        print(f"sigscope serve: error: {e.problems[0] if e.problems else e}", file=sys.stderr)
        return EXIT_USAGE
    # What the lesson picker (L) offers: the lessons this server lets a page open.
    folder = args.picker if args.picker is not None else args.file.parent
    if args.kind == "demo":
        from sigscope.ui.demo_app import DemoApp

        return run_lesson_app(DemoApp(lesson, folder))
    from sigscope.serving.classroom import ReportingStore

    progress = args.progress if args.progress is not None else Path(os.devnull)
    return run_lesson_app(LessonApp(lesson, folder, ReportingStore(progress, args.status)))


if __name__ == "__main__":
    raise SystemExit(main_page(sys.argv[1:]))

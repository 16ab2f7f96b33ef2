"""A classroom on one machine (issue 18): lessons in every browser page, a start page, progress
kept under a student's code, a teacher's view, and caps that say when the server is full.

The browser tests drive headless Chromium with Playwright, as tests/e2e/test_serve.py does
(they skip, saying why, where either is missing). Every server runs with its own
``XDG_STATE_HOME`` (a temporary folder): the students' progress it keeps goes there, never
into the user's own state. What the teacher's view says is read from its JSON
(``/teacher/pages``) and from its HTML page in the browser; what a page's lab is, from /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import tests.e2e.test_serve as serve_tests
from sigscope import procfs
from sigscope.lab.master import MAX_WORKERS_ENV
from sigscope.paths import bundled_lessons
from sigscope.serving.classroom import (
    Budget,
    Catalog,
    ClassroomError,
    ReportingStore,
    ServeState,
    read_status,
    student_code,
    write_status,
)
from sigscope.serving.rules import ServeSettings
from sigscope.ui.serve_web import plain
from tests.e2e.test_serve import (
    START_TIMEOUT,
    Served,
    existing,
    one_line_error,
    open_dashboard,
    refs_below,
    run_serve,
    serve,
    served_apps,
    shown,
    wait_until,
)

browser = serve_tests.browser  # headless Chromium under Playwright (or a skip that says why)
CATALOG = Catalog.load(bundled_lessons())
LESSON_1 = CATALOG.find("1")
LESSON_2 = CATALOG.find("2")
LESSON_3 = CATALOG.find("3")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The server's environment: its own state directory."""
    yield {**os.environ, "XDG_STATE_HOME": str(tmp_path)}


def teacher_rows(served: Served) -> list[dict[str, Any]]:
    with urllib.request.urlopen(
        f"{served.base}teacher/pages?token={served.teacher_token}", timeout=10
    ) as response:
        rows: list[dict[str, Any]] = json.load(response)["pages"]
    return rows


def row_of(served: Served, student: str, step: int | None = None) -> dict[str, Any] | None:
    """The teacher's row of the page of ``student`` (at ``step``, if given)."""
    for row in teacher_rows(served):
        if row["student"] == student and (step is None or row["step"] == step):
            return row
    return None


def app_pid(served: Served, number: int) -> int:
    line = served.wait_line(f"page {number} opened: app ")
    found = re.search(rf"page {number} opened: app (\d+),", line)
    assert found is not None, line
    return int(found.group(1))


def press(page: Any, key: str) -> None:
    page.focus(".xterm-helper-textarea")  # xterm.js takes keys here
    page.keyboard.type(key)


def status_of(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def all_gone(served: Served) -> bool:
    return not procfs.descendants_of(served.pid)


def close_pages(served: Served, *pages: Any, what: str) -> None:
    """Close ``pages``, then wait until every process the server had started is gone (what
    ``what`` names: their labs)."""
    lab = refs_below(served.pid)
    for page in pages:
        page.close()
    wait_until(lambda: not existing(lab) and all_gone(served), what=what)


# -- the start page and --lesson -------------------------------------------------------------


def test_the_start_page_lists_the_lessons_and_opens_the_one_picked(
    browser: Any, env: dict[str, str]
) -> None:
    with serve(env=env) as served:
        assert "serving the start page (" in served.wait_line("sigscope serve: serving ")
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        received: list[bytes] = []
        page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived",
                lambda p: received.append(p if isinstance(p, bytes) else p.encode()),
            ),
        )
        response = page.goto(served.start)
        assert response is not None and response.status == 200
        text = page.inner_text("#lessons")
        flat = " ".join(text.split())
        for entry in CATALOG.entries:  # every lesson, with its summary (as plain text)
            assert plain(entry.title) in flat, entry.title
            assert " ".join(plain(entry.summary).split()) in flat, entry.id
        assert page.query_selector(".xterm") is None and served.labs() == []
        page.fill("#student", "ada.l-1")
        page.check(f'input[value="{LESSON_2.id}"]')
        page.click("#open")
        page.wait_for_selector("body.-first-byte .xterm", timeout=START_TIMEOUT * 1000)
        assert f"lesson={LESSON_2.id}" in page.url and "student=ada.l-1" in page.url
        wait_until(
            lambda: LESSON_2.title.encode() in shown(received),
            what=f"the page to show {LESSON_2.title!r}",
            page=page,
        )
        served.wait_line(f"page 1 opened: app {app_pid(served, 1)}, lesson {LESSON_2.id} for ada")
        row = wait_until(lambda: row_of(served, "ada.l-1", 1), what="the teacher's row", page=page)
        assert row["lesson"] == LESSON_2.id and row["lab_alive"] and row["hints"] == 0
        close_pages(served, page, what="the page's lab to go")


def test_serve_lesson_opens_that_lesson_in_every_page(browser: Any, env: dict[str, str]) -> None:
    with serve("--lesson", "3", env=env) as served:
        assert f"serving lesson {LESSON_3.id} on " in served.wait_line("sigscope serve: serving ")
        page, received = open_dashboard(browser, served.start)  # no start page: the lesson
        wait_until(
            lambda: LESSON_3.title.encode() in shown(received),
            what=f"the page to show {LESSON_3.title!r}",
            page=page,
        )
        served.wait_line(f"page 1 opened: app {app_pid(served, 1)}, lesson {LESSON_3.id} (")
        # Another lesson in the address does not change what this server serves.
        other, received_2 = open_dashboard(browser, served.start + "&lesson=1")
        wait_until(lambda: LESSON_3.title.encode() in shown(received_2), page=other)
        assert [r["lesson"] for r in teacher_rows(served)] == [LESSON_3.id] * 2
        close_pages(served, page, other, what="both labs to go")


def test_serve_demo_plays_that_lesson_in_every_page(browser: Any, env: dict[str, str]) -> None:
    with serve("--demo", "1", env=env) as served:
        assert f"serving demo {LESSON_1.id} on " in served.wait_line("sigscope serve: serving ")
        page, received = open_dashboard(browser, served.start)
        wait_until(
            lambda: LESSON_1.title.encode() in shown(received),
            what=f"the demo to show {LESSON_1.title!r}",
            page=page,
        )
        [row] = teacher_rows(served)
        assert (row["kind"], row["lesson"], row["student"]) == ("demo", LESSON_1.id, "")
        assert row["step"] is None  # a demo keeps no progress: the view does not invent one
        close_pages(served, page, what="the demo's lab to go")


def test_the_start_page_also_opens_the_bare_dashboard(browser: Any, env: dict[str, str]) -> None:
    with serve("--workers", "1", env=env) as served:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        response = page.goto(served.start)
        assert response is not None and response.status == 200
        with page.expect_navigation():
            page.click("text=the bare dashboard")
        assert page.url.endswith("&dashboard=1")
        page.wait_for_selector("body.-first-byte .xterm", timeout=START_TIMEOUT * 1000)
        [master] = wait_until(served.labs, what="the dashboard's lab", page=page)
        [row] = teacher_rows(served)
        assert row["kind"] == "dashboard" and row["lab_alive"]
        assert procfs.read_stat(master) is not None
        close_pages(served, page, what="the lab to go")


# -- progress under a student's code -----------------------------------------------------------


def test_progress_survives_a_reload_with_the_same_student_code(
    browser: Any, env: dict[str, str]
) -> None:
    with serve(env=env) as served:
        page, received = open_dashboard(browser, served.start + "&lesson=1&student=ada")
        wait_until(lambda: LESSON_1.title.encode() in shown(received), page=page)
        wait_until(lambda: row_of(served, "ada", 1), what="ada on step 1", page=page)
        press(page, "]")
        wait_until(lambda: row_of(served, "ada", 2), what="ada on step 2", page=page)
        press(page, "]")
        wait_until(lambda: row_of(served, "ada", 3), what="ada on step 3", page=page)
        saved = Path(env["XDG_STATE_HOME"], "sigscope/serve/students/ada/progress.json")
        assert json.loads(saved.read_text())["lessons"][LESSON_1.id]["current"] == 2
        page.reload()
        served.wait_line("page 1 closed")
        served.wait_line("page 2 opened")
        row = wait_until(lambda: row_of(served, "ada", 3), what="ada back on step 3", page=page)
        assert row["page"] == 2 and row["step_title"] == LESSON_1.step_titles[2]
        # The code is what keeps it: another student starts at the beginning.
        other, _ = open_dashboard(browser, served.start + "&lesson=1&student=bob")
        wait_until(lambda: row_of(served, "bob", 1), what="bob on step 1", page=other)
        close_pages(served, page, other, what="the labs to go")
    # The run's own folder (status files) goes with the server; the students' progress stays.
    serve_dir = Path(env["XDG_STATE_HOME"], "sigscope/serve")
    assert sorted(p.name for p in serve_dir.iterdir()) == ["students"]
    assert saved.is_file()


def test_a_reload_at_the_per_client_limit_opens_the_page_again(
    browser: Any, env: dict[str, str]
) -> None:
    """A browser asks for the new page before it closes the old one: at --max-per-client the
    reload must not be refused as one page too many (it was: a 503 after every reload). A
    second page from that address, the same one in another tab or another lesson, is still
    refused."""
    with serve("--max-per-client", "1", env=env) as served:
        page, received = open_dashboard(browser, served.start + "&lesson=1&student=ada")
        wait_until(lambda: LESSON_1.title.encode() in shown(received), page=page)
        press(page, "]")
        wait_until(lambda: row_of(served, "ada", 2), what="ada on step 2", page=page)
        response = page.reload()
        assert response is not None and response.status == 200
        served.wait_line("page 1 closed")
        served.wait_line("page 2 opened")
        row = wait_until(lambda: row_of(served, "ada", 2), what="ada back on step 2", page=page)
        assert row["page"] == 2
        other = browser.new_page()
        for again in ("&lesson=1&student=ada", "&lesson=2&student=ada"):
            response = other.goto(served.start + again)
            assert response is not None and response.status == 503
            assert "Too many pages from your computer" in other.inner_text("body")
        other.close()
        close_pages(served, page, what="the lab to go")


def test_a_pages_lesson_picker_offers_only_the_lessons_it_may_open(
    browser: Any, env: dict[str, str]
) -> None:
    """L in a served lesson lists the lessons this server lets a page open: not one with a
    real shell (no --allow-code here), which the page's lab would refuse to start."""
    shells = [e for e in CATALOG.entries if e.shell]
    last = [e for e in CATALOG.entries if not e.shell][-1]
    assert shells
    with serve(env=env) as served:
        page, received = open_dashboard(browser, served.start + "&lesson=1&student=ada")
        wait_until(lambda: LESSON_1.title.encode() in shown(received), page=page)
        wait_until(lambda: row_of(served, "ada", 1), what="ada on step 1", page=page)
        before = len(shown(received))
        press(page, "L")
        wait_until(
            lambda: last.id.encode() in shown(received)[before:],
            what=f"the picker to list {last.id}",
            page=page,
        )
        picker = shown(received)[before:]
        assert LESSON_2.id.encode() in picker
        for entry in shells:
            assert entry.id.encode() not in picker, entry.id
        close_pages(served, page, what="the lab to go")


# -- the teacher's view ------------------------------------------------------------------------


def test_the_teachers_view_shows_pages_at_their_steps_and_ends_a_lab(
    browser: Any, env: dict[str, str]
) -> None:
    with serve(env=env) as served:
        ada, received = open_dashboard(browser, served.start + "&lesson=1&student=ada")
        bob, _ = open_dashboard(browser, served.start + "&lesson=1&student=bob")
        wait_until(lambda: row_of(served, "ada", 1) and row_of(served, "bob", 1), page=bob)
        wait_until(lambda: LESSON_1.title.encode() in shown(received), page=ada)
        press(ada, "]")
        wait_until(lambda: row_of(served, "ada", 2), what="ada on step 2", page=ada)
        number = {r["student"]: r["page"] for r in teacher_rows(served)}
        ada_app, bob_app = app_pid(served, number["ada"]), app_pid(served, number["bob"])

        teacher = browser.new_page()
        response = teacher.goto(served.teacher)
        assert response is not None and response.status == 200

        def rows_shown() -> str | None:
            try:
                text = teacher.inner_text("#pages")
            except Exception:  # the page refreshes itself every 2 s: read it between
                return None
            ok = all(
                f"{n}\t{who}\t{LESSON_1.id}\t{step} of {LESSON_1.steps}" in text
                for who, n, step in (("ada", number["ada"], 2), ("bob", number["bob"], 1))
            )
            return text if ok and text.count("yes (") == 2 else None

        text = wait_until(rows_shown, what="both pages in the teacher's view", page=teacher)
        assert LESSON_1.step_titles[1] in text
        # Live: bob moves on, and the open view shows it without being reloaded.
        loads: list[str] = []
        teacher.on("load", lambda _: loads.append("load"))
        press(bob, "]")

        def bob_moved() -> bool:
            try:
                return f"{number['bob']}\tbob\t{LESSON_1.id}\t2 of" in teacher.inner_text("#rows")
            except Exception:
                return False

        wait_until(bob_moved, what="bob on step 2 in the open view", page=teacher)
        assert loads == []
        lab = refs_below(ada_app)
        assert lab and procfs.descendants_of(bob_app)
        teacher.click(f"#end-{number['ada']}")
        teacher.wait_for_selector("#ended", timeout=30_000)
        assert (
            f"Page {number['ada']}'s lab is ended: no process of it is left."
            in teacher.inner_text("#ended")
        )
        # By the time the view answers, no process of that page is left...
        assert not existing(lab) and procfs.read_stat(ada_app) is None
        served.wait_line(f"page {number['ada']} closed by the teacher: app {ada_app}")
        ada.wait_for_selector("body.-closed", timeout=30_000)  # "Session ended" in the page
        # ...and the other page goes on.
        assert procfs.descendants_of(bob_app)
        assert [r["student"] for r in teacher_rows(served)] == ["bob"]
        close_pages(served, bob, what="bob's lab to go")


async def test_the_teachers_view_needs_its_own_key(env: dict[str, str]) -> None:
    with serve(env=env) as served:
        async with aiohttp.ClientSession() as session:
            for token in ("", served.token, "x" * 43):  # none, the students' key, a wrong one
                async with session.get(f"{served.base}teacher?token={token}") as response:
                    assert response.status == 403
                    assert served.teacher_token not in await response.text()
                async with session.post(
                    f"{served.base}teacher/end", data={"token": token, "page": "1"}
                ) as response:
                    assert response.status == 403
            # With its key, but from a page of another site (a cross-site form): refused.
            async with session.post(
                f"{served.base}teacher/end",
                data={"token": served.teacher_token, "page": "1"},
                headers={"Origin": "http://evil.example"},
                allow_redirects=False,
            ) as response:
                assert response.status == 403
            async with session.post(
                f"{served.base}teacher/end",
                data={"token": served.teacher_token, "page": "no"},
                allow_redirects=False,
            ) as response:
                assert response.status == 400
            async with session.get(served.teacher) as response:
                assert response.status == 200
                assert "No page is open." in await response.text()
            # A page number that is not open (never was, or closed): the view says so.
            async with session.post(
                f"{served.base}teacher/end", data={"token": served.teacher_token, "page": "99999"}
            ) as response:
                assert response.status == 200 and response.url.query.get("ended") == "none"
                assert "No such page is open (it may have closed already)." in (
                    await response.text()
                )


# -- a full server -----------------------------------------------------------------------------


def test_a_full_server_says_which_limit_with_a_503(browser: Any, env: dict[str, str]) -> None:
    with serve("--max-per-client", "1", "--workers", "1", env=env) as served:
        first, _ = open_dashboard(browser, served.url)
        wait_until(served.labs, what="the first page's lab")
        second = browser.new_page()
        response = second.goto(served.start + "&lesson=1")
        assert response is not None and response.status == 503
        text = second.inner_text("body")
        assert "Too many pages from your computer" in text
        assert "(127.0.0.1) already has 1 sigscope page open here" in text
        assert "(--max-per-client 1)" in text and "try again in a minute" in text
        # "Try again" asks for the same page again: the lesson (and code) kept.
        assert second.get_attribute("#again", "href") == f"/?token={served.token}&lesson=1"
        assert len(served.labs()) == 1
        close_pages(served, first, what="the lab to go")


async def test_every_pages_processes_fit_in_max_processes(env: dict[str, str]) -> None:
    """A page reserves its app, its master and its lab's cap; the cap the lab gets is what
    is left (up to --max-workers), and a page that would not fit gets a 503 and no app."""
    with serve("--max-processes", "6", "--workers", "2", env=env) as served:
        async with aiohttp.ClientSession() as session, session.ws_connect(served.ws_url()) as ws:
            [master] = wait_until(served.labs, what="the first page's lab")
            app = procfs.read_stat(master).ppid  # type: ignore[union-attr]
            environ = Path(f"/proc/{app}/environ").read_bytes().split(b"\0")
            assert f"{MAX_WORKERS_ENV}=4".encode() in environ  # 6 - the app - the master
            async with session.get(served.url) as response:
                assert response.status == 503
                text = await response.text()
                assert "This server is full" in text
                assert "past 6 processes (--max-processes 6)" in text
            async with session.ws_connect(served.ws_url()) as refused:
                message = await refused.receive(timeout=30)
                assert b"this server is full" in message.data
            served.wait_line("page refused: this server is full")
            assert len(served.labs()) == 1
            await ws.close()
        served.wait_line("page 1 closed")


# -- spare apps (serve --warm) ------------------------------------------------------------------


def spares_of(served: Served) -> list[int]:
    """The server's children that are spare apps (``… sigscope.commands.serve --warm``)."""
    return served_apps(served, b"--warm")


READ = {"x86_64": 0, "aarch64": 63}.get(os.uname().machine)  # read(2)'s number


def waits_for_its_order(pid: int) -> bool:
    """Whether ``pid`` is blocked in read(0, …): a spare that has imported everything."""
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return False
    return len(fields) > 1 and fields[0] == str(READ) and int(fields[1], 16) == 0


@pytest.mark.skipif(READ is None, reason="read(2)'s number on this machine is not known here")
async def test_a_spare_app_takes_the_next_page_with_that_pages_cap(env: dict[str, str]) -> None:
    with serve("--warm", "1", "--max-processes", "6", "--workers", "2", env=env) as served:
        [spare] = wait_until(lambda: spares_of(served), what="a spare app")
        wait_until(lambda: waits_for_its_order(spare), what="the spare to wait for its page")
        assert served.labs() == []  # a spare has imported, and started nothing
        async with aiohttp.ClientSession() as session, session.ws_connect(served.ws_url()) as ws:
            [master] = wait_until(served.labs, what="the page's lab")
            line = served.wait_line("page 1 opened: app ")
            assert line.startswith(f"sigscope serve: page 1 opened: app {spare}, dashboard ("), line
            assert line.endswith(", a spare app)"), line
            assert procfs.read_stat(master).ppid == spare  # type: ignore[union-attr]
            # The page's cap (6 - the app - the master = 4) reached its lab through the
            # spare's order, not its start: two TTINs (+) make 4 workers, a third is refused.
            # Then a TTOU (-): 3 if the cap held, 4 if the third TTIN had made a fifth.
            wait_until(lambda: len(procfs.children_of(master)) == 2, what="2 workers")
            for key, workers in (("+", 3), ("+", 4), ("+", None), ("-", 3)):
                await ws.send_json(["stdin", key])
                if workers is not None:
                    wait_until(
                        lambda n=workers: len(procfs.children_of(master)) == n,
                        what=f"{workers} workers after {key}",
                    )
            # (the page's app is the spare that was: its command line still says --warm)
            [fresh] = wait_until(
                lambda: [p for p in spares_of(served) if p != spare], what="a new spare"
            )
            assert fresh != spare
            lab = refs_below(spare)
            await ws.close()
        served.wait_line("page 1 closed")
        wait_until(lambda: not existing(lab), what="the page's lab to go")
        assert procfs.children_of(served.pid) == [fresh]
    # The server stopped: its spare ended with it.
    assert procfs.read_stat(fresh) is None


def test_a_spare_reads_only_its_order_and_refuses_a_bad_one() -> None:
    from sigscope.commands.serve import OrderError, read_order

    def order(data: bytes) -> list[str] | None:
        r, w = os.pipe()

        def write() -> None:  # in a thread: more than a pipe holds blocks until read
            with contextlib.suppress(BrokenPipeError), os.fdopen(w, "wb") as f:
                f.write(data)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            return read_order(r)
        finally:
            os.close(r)
            writer.join(10)

    key = MAX_WORKERS_ENV
    old = os.environ.get(key)
    try:
        got = order(b'{"argv": ["dashboard"], "env": {"%s": "3"}}\nKEYS' % key.encode())
        assert got == ["dashboard"] and os.environ[key] == "3"
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old
    assert order(b"") is None  # the server closed it: no page for this spare
    for bad, says in (
        (b"nope\n", "not JSON"),
        (b'{"argv": "dashboard", "env": {}}\n', "without an argv"),
        (b'{"argv": [], "env": {"LD_PRELOAD": "/x.so"}}\n', "may not set"),
        (b"[" * 70_000, "longer than 64 KiB"),
    ):
        with pytest.raises(OrderError, match=says):
            order(bad)


# -- bad input from the browser and the command line ------------------------------------------


@pytest.mark.parametrize(
    "query, says",
    [
        ("lesson=1&student=a/b", "<p>A student code is 1 to 40 letters, digits"),
        ("lesson=1&student=" + "a" * 41, "A student code is 1 to 40 letters"),
        ("lesson=1&student=..", "A student code is 1 to 40 letters"),
        ("lesson=1&student=%3Cscript%3E", "A student code is 1 to 40 letters"),
        ("lesson=1&student=%C3%A9", "A student code is 1 to 40 letters"),
        ("lesson=1&student=" + "a" * 10_000, "A student code is 1 to 40 letters"),
        ("lesson=../../etc/passwd", "There is no lesson &#x27;../../etc/passwd&#x27; on this"),
        ("lesson=/etc/passwd", "There is no lesson &#x27;/etc/passwd&#x27; on this"),
        ("lesson=" + "9" * 500, "That is not a lesson name"),
        ("lesson=%1B%5B2J", "That is not a lesson name"),
    ],
)
def test_bad_codes_and_lesson_names_are_refused_in_a_sentence(
    env: dict[str, str], query: str, says: str
) -> None:
    with serve(env=env) as served:
        status, text = status_of(f"{served.start}&{query}")
        assert status == 400
        assert says in text and "<script>" not in text
        assert served.labs() == [] and all_gone(served)


def test_a_lesson_bigger_than_max_workers_is_refused_for_that_reason(
    env: dict[str, str],
) -> None:
    """Not "this server is full" (it is empty): the lesson's lab does not fit --max-workers,
    which the start page says next to it (and does not let it be picked)."""
    big = max(CATALOG.entries, key=lambda e: e.processes)
    small = big.processes - 1
    with serve("--max-workers", str(small), "--workers", "1", env=env) as served:
        status, text = status_of(f"{served.start}&lesson={big.number}")
        assert status == 400, text
        assert (
            f"Lesson {big.number}&#x27;s lab is {big.processes} processes below its master, "
            f"and this server gives a lab at most {small} (sigscope serve --max-workers {small})"
        ) in text
        status, text = status_of(served.start)
        assert status == 200
        item = re.search(rf'value="{big.id}"[^>]*>', text)
        assert item is not None and "disabled" in item.group(0)
        assert f"(its lab is {big.processes} processes: this server allows {small})" in text
        assert served.labs() == []


def test_asking_for_a_page_makes_no_student_folder(env: dict[str, str]) -> None:
    """Only a page that opens (its websocket) keeps a new code: asking for pages with made-up
    codes (no lab, no cost) must not use up the server's MAX_STUDENTS codes."""
    with serve(env=env) as served:
        for code in ("zoe", "zed"):
            status, _ = status_of(f"{served.start}&lesson=1&student={code}")
            assert status == 200
        assert not Path(env["XDG_STATE_HOME"], "sigscope/serve/students/zoe").exists()
        assert list(Path(env["XDG_STATE_HOME"], "sigscope/serve/students").iterdir()) == []


async def test_a_websocket_with_a_bad_code_or_lesson_starts_nothing(env: dict[str, str]) -> None:
    with serve(env=env) as served:
        async with aiohttp.ClientSession() as session:
            for path in ("nope/-", "1/a%2Fb", "1/" + "b" * 41, "-/ada"):
                url = served.ws_url().replace("?", f"/{path}?")
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(url)
                assert refused.value.status == 400
        served.wait_line("websocket refused: there is no lesson 'nope' on this server")
        assert all_gone(served)


SHELL = next((e for e in CATALOG.entries if e.shell), None)


@pytest.mark.skipif(SHELL is None, reason="no lesson with a terminal lane here")
def test_a_lesson_with_a_shell_is_served_only_with_allow_code(env: dict[str, str]) -> None:
    assert SHELL is not None
    line = one_line_error(run_serve("--lesson", SHELL.number))
    assert f"--lesson {SHELL.id} opens a real shell in every page" in line, line
    assert "without --allow-code" in line
    with serve(env=env) as served:
        status, text = status_of(f"{served.start}&lesson={SHELL.number}&student=ada")
        assert status == 400
        assert "opens a real shell, and this server runs no learner code" in text
        status, text = status_of(served.start)
        assert status == 200
        found = re.search(rf'<input type="radio" name="lesson" value="{SHELL.id}"([^>]*)>', text)
        assert found is not None and "disabled" in found.group(1)
        assert served.labs() == [] and all_gone(served)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--lesson", "nope"], "--lesson: there is no lesson 'nope' on this server"),
        (["--lesson", "1", "--demo", "2"], "argument --demo: not allowed with argument --lesson"),
        (["--demo", "19"], "--demo 19-"),
        (["--max-processes", "2"], "2 processes: choose from 3 to 4096"),
        (["--max-processes", "3"], "--max-processes 3 leaves no room for one page: it needs 4"),
        (["--max-per-client", "0"], "0 pages per client: choose from 1 to 64"),
        (["--warm", "9"], "9 spare apps: choose from 0 to 8"),
        (["--lessons-dir", "/nonexistent"], "no lessons folder '/nonexistent'"),
    ],
)
def test_bad_classroom_options_are_one_line(args: list[str], says: str) -> None:
    line = one_line_error(run_serve(*args))
    assert says in line, line
    if args[0] == "--demo":
        assert "runs Python from the lesson file" in line and "--allow-code" in line


# -- the pieces, without a server --------------------------------------------------------------


@pytest.mark.parametrize("code", ["a", "Ada", "s-12.b_3", "x" * 40, " ada "])
def test_a_student_code_is_a_short_safe_name(code: str) -> None:
    assert student_code(code) == code.strip()


@pytest.mark.parametrize(
    "code", ["", " ", "x" * 41, ".hidden", "-rf", "a/b", "..", "a b", "é", "a\nb", "<b>", "a\\b"]
)
def test_anything_else_is_not_a_student_code(code: str) -> None:
    with pytest.raises(ClassroomError):
        student_code(code)


def test_the_start_page_shows_lesson_text_without_markdown_stars() -> None:
    shown = plain("terminate **and** write, a *pidfd*, `kill`")
    assert shown == "terminate and write, a pidfd, kill"
    assert plain("2*3*4, a * b") == "2*3*4, a * b"  # not emphasis: kept
    for entry in CATALOG.entries:  # (lesson 25's summary has a **strong** word)
        assert "*" not in plain(entry.summary) + plain(entry.title), entry.id


def test_a_page_reports_its_lesson_step_and_hints_in_a_status_file(tmp_path: Path) -> None:
    from sigscope.course.progress import LessonProgress

    status = tmp_path / "page-1.json"
    store = ReportingStore(tmp_path / "progress.json", status)
    progress = store.load(LESSON_1.id)
    first = read_status(status)
    assert first is not None and (first.lesson, first.step, first.done) == (LESSON_1.id, 0, ())
    store.save(LESSON_1.id, LessonProgress({0, 1}, 2, {1: 2, 2: 1}))
    later = read_status(status)
    assert later is not None and (later.step, later.done, later.hints) == (2, (0, 1), 3)
    assert later.since >= first.since
    # Progress itself is saved as sigscope lesson saves it, and read back by the next page.
    assert ReportingStore(tmp_path / "progress.json", None).load(LESSON_1.id).current == 2
    assert progress.current == 0


def test_a_damaged_progress_file_still_gives_the_teacher_a_status(tmp_path: Path) -> None:
    """A progress file edited to say step 10**9, a hundred thousand steps done and 10**12 hints
    (the lesson app shows its last step): the status stays within what read_status takes,
    so the teacher's view still shows the page, on its last step."""
    saved = {"current": 10**9, "done": list(range(100_000)), "hints": {"0": 10**12}}
    progress = tmp_path / "progress.json"
    progress.write_text(json.dumps({"version": 1, "lessons": {LESSON_1.id: saved}}))
    status = tmp_path / "page-1.json"
    ReportingStore(progress, status).load(LESSON_1.id)
    read = read_status(status)
    assert read is not None and status.stat().st_size <= 4096
    assert read.step == 255 and read.hints == 1_000_000 and read.done == tuple(range(256))


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b'{"version": 2, "lesson": "a", "step": 0, "done": [], "hints": 0, "since": 1}',
        b'{"version": 1, "lesson": "a", "step": -1, "done": [], "hints": 0, "since": 1}',
        b'{"version": 1, "lesson": "a", "step": true, "done": [], "hints": 0, "since": 1}',
        b'{"version": 1, "lesson": 5, "step": 0, "done": [], "hints": 0, "since": 1}',
        b'{"version": 1, "lesson": "\\u001b[2J", "step": 0, "done": [], "hints": 0, "since": 1}',
        b'{"version": 1, "lesson": "a", "step": 0, "done": {}, "hints": 0, "since": 1}',
        b'{"version": 1, "lesson": "a", "step": 0, "done": [], "hints": 0, "since": "x"}',
        b'{"version": 1, "lesson": "a", "step": 0, "done": [], "hints": 0, "since": 1, "pad": "'
        + b"x" * 5000
        + b'"}',
    ],
)
def test_a_status_file_that_is_not_one_is_ignored(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "page-1.json"
    path.write_bytes(content)
    assert read_status(path) is None


def test_a_status_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "page-1.json"
    write_status(path, {"lesson": "a", "step": 1, "done": [0], "hints": 0, "since": 5.0})
    assert read_status(path) is not None
    assert [p.name for p in tmp_path.iterdir()] == ["page-1.json"]  # no temporary left


def test_the_budget_gives_each_page_what_is_left_up_to_its_cap() -> None:
    budget = Budget(limit=25, per_lab=8)
    assert budget.cap_for(2) == 8
    budget.take(1, 8)
    budget.take(2, 8)  # 20 of 25 reserved
    assert budget.cap_for(2) == 3  # 25 - 20 - the app and its master
    assert budget.cap_for(4) is None  # a lab that starts 4 does not fit
    budget.take(3, 3)
    assert budget.used == 25 and budget.cap_for(0) is None
    budget.give_back(2)
    assert budget.cap_for(2) == 8


def test_state_folders_are_private_and_a_run_leaves_nothing(tmp_path: Path) -> None:
    state = ServeState(tmp_path / "serve").open()
    assert state.run is not None
    assert (tmp_path / "serve").stat().st_mode & 0o077 == 0
    progress = state.progress_file(1, "ada")
    assert progress == tmp_path / "serve/students/ada/progress.json"
    assert progress.parent.stat().st_mode & 0o077 == 0
    with pytest.raises(ClassroomError):
        state.progress_file(1, "../x")
    state.close()
    assert sorted(p.name for p in (tmp_path / "serve").iterdir()) == ["students"]


def test_new_student_codes_stop_at_the_limit_known_ones_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sigscope.serving import classroom

    monkeypatch.setattr(classroom, "MAX_STUDENTS", 2)
    state = ServeState(tmp_path / "serve").open()
    try:
        assert not state.student_progress("ada", make=False).parent.exists()  # only checked
        state.student_progress("ada")
        state.student_progress("bob")
        with pytest.raises(ClassroomError, match="at most 2 student codes"):
            state.student_progress("eve")
        with pytest.raises(ClassroomError, match="at most 2 student codes"):
            state.student_progress("eve", make=False)
        assert state.student_progress("ada").parent.is_dir()  # a known code still works
        assert not (tmp_path / "serve/students/eve").exists()
    finally:
        state.close()


def test_the_picker_folder_holds_the_lessons_given(tmp_path: Path) -> None:
    state = ServeState(tmp_path / "serve").open()
    try:
        folder = state.picker_folder([LESSON_1, LESSON_3])
        assert sorted(p.name for p in folder.iterdir()) == [LESSON_1.path.name, LESSON_3.path.name]
        assert (folder / LESSON_1.path.name).read_bytes() == LESSON_1.path.read_bytes()
        assert state.picker_folder([LESSON_1]) == folder  # again: no error
    finally:
        state.close()
    assert not (tmp_path / "serve" / "run").exists()


def test_a_lesson_page_runs_the_lesson_with_its_progress_and_status_files() -> None:
    argv = ServeSettings().app_argv("lesson", "/l/01.toml", "/run/page-1.json", "/s/p.json")
    assert argv[3:] == [
        "sigscope.commands.serve",
        "--code=off",
        "--status",
        "/run/page-1.json",
        "lesson",
        "/l/01.toml",
        "--progress",
        "/s/p.json",
    ]

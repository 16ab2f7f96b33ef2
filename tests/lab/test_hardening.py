"""Issue 11, the lab and its inputs: nothing from the current folder runs in the lab, a cap
counts every process of a lab, recordings and typed numbers are untrusted, ``--record`` opens
its file with care. Each test here failed on the code before the fix."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sigscope import procfs
from sigscope.lab import Lab, LabError
from sigscope.lab.master import MAX_WORKERS_ENV

T = 15.0


def sigscope(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        ["sigscope", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The result is a refusal: exit 2, one line on stderr, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# -- 1. nothing from the current folder runs in the lab -----------------------------------------

PLANTED = ("json", "signal", "select", "resource", "traceback", "ctypes", "sigscope")


def plant(folder: Path) -> Path:
    """Modules named like ones the master and workers import, each leaving a marker file."""
    markers = folder / "markers"
    markers.mkdir()
    for name in PLANTED:
        code = (
            "import os\n"
            f"open(os.path.join({str(markers)!r}, {name!r} + '-' + str(os.getpid())), 'w')"
            ".close()\n"
        )
        if name == "sigscope":
            (folder / name).mkdir()
            (folder / name / "__init__.py").write_text(code)
        else:
            (folder / f"{name}.py").write_text(code)
    return markers


def test_a_module_planted_in_the_current_folder_never_runs_in_the_lab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    markers = plant(tmp_path)
    monkeypatch.chdir(tmp_path)  # the master and its workers inherit this folder
    with Lab(workers=2, behaviour="orphan-maker", params={"linger": 0.2}) as lab:
        lab.wait_for(kind="fork", timeout=T)  # a worker forked a grandchild: all three ran
        pids = [lab.master_pid, *(w.pid for w in lab.live_workers())]
        for pid in pids:
            assert os.readlink(f"/proc/{pid}/cwd") == str(tmp_path)
    assert sorted(os.listdir(markers)) == []


def test_sigscope_trace_in_a_folder_with_planted_modules(tmp_path: Path) -> None:
    markers = plant(tmp_path)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    result = sigscope("trace", "--duration", "0.5", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert '"kind":"spawn"' in result.stdout.replace(" ", "")
    assert sorted(os.listdir(markers)) == []


# -- 2. a cap counts every process of a lab ------------------------------------------------------


def lab_processes(pgid: int) -> int:
    """Every process in the lab's process group (the master included), zombies too."""
    count = 0
    for pid in procfs.all_pids():
        st = procfs.read_stat(pid)
        if st is not None and st.pgid == pgid:
            count += 1
    return count


class Peak:
    """The most processes the lab's group held at once, sampled from /proc every 2 ms by a
    thread while the ``with`` block runs (zombies count)."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.most = max(self.most, lab_processes(self.pgid))

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_a_hup_storm_to_stubborn_workers_never_exceeds_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stubborn workers ignore TERM: a HUP retires them, but they live until the grace period
    ends. Counted or not, they are processes: with a cap of 8, never more than 8 + 1."""
    monkeypatch.setenv(MAX_WORKERS_ENV, "8")
    with Lab(workers=8, behaviour="stubborn", grace=0.3) as lab:
        assert lab.pgid is not None
        pgid = lab.pgid
        with Peak(pgid) as peak:  # sample /proc all through the storm
            since = lab.cursor()
            for _ in range(30):
                lab.send("master", "HUP")
                # Each HUP is received before the next: a storm the master really sees.
                lab.wait_for(since=since, kind="received", role="master", timeout=T)
                since = lab.cursor()
                time.sleep(0.02)
            # The storm is over: the lab recovers to 8 fresh workers, within the cap.
            lab.wait_until(
                lambda: (
                    len([w for w in lab.live_workers() if not w.exited]) == 8
                    and lab_processes(pgid) == 9
                ),
                timeout=T,
            )
            notes = [e for e in lab.events() if e["kind"] == "note"]
        assert peak.most <= 9, f"{peak.most} lab processes at once under a cap of 8"
        assert any("spawn waits" in n["text"] for n in notes), notes


@pytest.mark.parametrize("value", ["abc", "²", "-1", "", "8.5", "99999"])
def test_a_bad_max_workers_is_an_error_not_no_cap(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_WORKERS_ENV, value)
    with pytest.raises(LabError, match=MAX_WORKERS_ENV):
        Lab(workers=1)
    env = dict(os.environ)
    line = one_line_error(sigscope("trace", "--duration", "0.1", env=env))
    assert MAX_WORKERS_ENV in line
    # The dashboard refuses it before any screen opens (no terminal needed to see that).
    line = one_line_error(sigscope("--workers", "1", env=env))
    assert MAX_WORKERS_ENV in line


def test_workers_beyond_the_cap_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_WORKERS_ENV, "2")
    with pytest.raises(LabError, match="more than this lab may have"):
        Lab(workers=3)


# -- 6. --record opens its file with care ---------------------------------------------------------


def test_record_does_not_follow_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "rec.jsonl"
    link.symlink_to(victim)
    line = one_line_error(sigscope("trace", "--duration", "0.1", "--record", str(link)))
    assert "symbolic link" in line
    assert victim.read_text() == "precious\n"


def test_record_refuses_a_fifo_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "rec.fifo"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    line = one_line_error(sigscope("trace", "--duration", "0.1", "--record", str(fifo)))
    assert "not a regular file" in line
    assert time.monotonic() - t0 < 30  # not blocked waiting for a reader


def test_a_recording_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    old = os.umask(0o022)
    try:
        result = sigscope("trace", "--duration", "0.3", "--record", str(path))
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_lab_record_refuses_a_symlink_itself(tmp_path: Path) -> None:
    """The Lab opens with O_NOFOLLOW too: a link planted after the CLI's check is refused."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "rec.jsonl"
    link.symlink_to(victim)
    with pytest.raises(LabError, match="symbolic link"):
        Lab(workers=0, record=link).start()
    assert victim.read_text() == "precious\n"


# -- 7. digits that are not ASCII -----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["trace", "--send", "0.2:KILL@worker:²"],
        ["trace", "--send", "²:KILL"],
        ["trace", "--send", "0.2:²"],
        ["trace", "--send", "0.2:RTMIN+²"],
        ["trace", "--send", "0.2:٣"],
        ["trace", "--workers", "²"],
        ["trace", "--workers", "٣"],
        ["trace", "--duration", "²"],
        ["trace", "--grace", "½"],
        ["attach", "²"],
        ["attach", "٣٣"],
        ["replay", "x.jsonl", "--speed", "²"],
    ],
)
def test_digits_that_are_not_ascii_are_one_line(args: list[str]) -> None:
    one_line_error(sigscope(*args))


def test_a_lab_target_with_non_ascii_digits_is_refused() -> None:
    with Lab(workers=1) as lab:
        for target in ("²", "worker:²", "٣"):
            with pytest.raises(LabError):
                lab.send(target, "USR1")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_spawn_waiting_for_room_does_not_spin(monkeypatch: pytest.MonkeyPatch) -> None:
    """While retiring workers hold the cap, the master waits for room by re-checking a few
    times a second (or on SIGCHLD), not in a busy poll."""
    monkeypatch.setenv(MAX_WORKERS_ENV, "2")
    with Lab(workers=2, behaviour="stubborn", grace=30) as lab:
        since = lab.cursor()
        lab.send("master", "HUP")  # both retire, both ignore TERM: 30 s until KILL
        note = lab.wait_for(since=since, kind="note", role="master", timeout=T)
        assert "spawn waits" in note["text"]
        before = _cpu_seconds(lab.master_pid)
        time.sleep(1.0)  # a measurement window (a rate), not a wait for some condition
        used = _cpu_seconds(lab.master_pid) - before
        assert used < 0.2, f"the master used {used:.2f} s of CPU in 1 s, waiting for room"
        assert lab_processes(lab.master_pid) == 3  # master + the two retiring, no third


def test_orphans_count_against_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """orphan-maker workers fork grandchildren, which the controller adopts: they are lab
    processes too. A worker is respawned only when it and its orphans fit under the cap."""
    monkeypatch.setenv(MAX_WORKERS_ENV, "8")
    with pytest.raises(LabError, match="at most 8"):
        Lab(workers=2, behaviour="orphan-maker", params={"count": 4})  # 2 × (1 + 4) = 10
    params = {"count": 3, "linger": 0.5, "stay": 0.1}
    with Lab(workers=2, behaviour="orphan-maker", params=params) as lab:  # 2 × 4 = 8
        assert lab.pgid is not None
        most = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.0:  # several generations of workers and orphans
            most = max(most, lab_processes(lab.pgid))
            time.sleep(0.002)
        assert len([e for e in lab.events() if e["kind"] == "spawn"]) >= 3  # it did respawn
        since = lab.cursor()
        lab.spawn_worker("orphan-maker", {"count": 10})
        note = lab.wait_for(since=since, kind="note", role="master", timeout=T)
        assert "refused" in note["text"]
    assert most <= 9, f"{most} lab processes at once under a cap of 8"


def test_a_flags_worker_and_its_children_count_against_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """flags forks ``children`` on each USR2 and keeps each child a zombie for ``linger``
    seconds: a USR2 storm piled them up (162 lab processes under a cap of 8, measured, and a
    served page can spawn this worker). A flags worker counts as 1 + children, and a new batch
    first reaps the zombies of the last one."""
    monkeypatch.setenv(MAX_WORKERS_ENV, "8")
    with pytest.raises(LabError, match="at most 8"):
        Lab(workers=1, behaviour="flags", params={"children": 8})  # 1 + 8 = 9
    with Lab(workers=1, behaviour="flags", params={"children": 7, "linger": 60}) as lab:
        assert lab.pgid is not None
        with Peak(lab.pgid) as peak:
            lab.wait_for(kind="flags", timeout=T)  # installed: USR2 is caught from now on
            for batch in range(1, 6):
                lab.send("worker", "USR2")
                lab.wait_until(
                    lambda n=batch: (
                        len(
                            [
                                e
                                for e in lab.events()
                                if e["kind"] == "child" and e.get("event") == "exited"
                            ]  # fmt: skip
                        )
                        >= 7 * n
                    ),
                    timeout=T,
                )
    assert peak.most <= 9, f"{peak.most} lab processes at once under a cap of 8"


def test_a_record_file_name_with_escapes_is_shown_escaped(tmp_path: Path) -> None:
    """The refusal names the file: its control characters are shown escaped, not sent to the
    terminal (an OSC sequence in a name from a shared folder would retitle it, or worse)."""
    name = str(tmp_path / "missing" / "rec\x1b]0;owned\x07.jsonl")
    line = one_line_error(sigscope("trace", "--duration", "0.1", "--record", name))
    assert "\x1b" not in line and "\x07" not in line
    assert "\\x1b]0;owned\\x07" in line


LONG = "a" * 300  # one name longer than any file system allows (NAME_MAX 255): ENAMETOOLONG


@pytest.mark.parametrize(
    "args, env_lessons",
    [
        (["lessons"], LONG),
        (["lesson", "x"], LONG),
        (["demo", "x"], LONG),
        (["lessons", "--check", LONG], None),
        (["lessons", "--lessons-dir", LONG], None),
        (["trace", "--duration", "0.1", "--record", LONG], None),
        (["--record", LONG], None),
        (["replay", LONG], None),
    ],
)
def test_a_name_too_long_is_one_line(args: list[str], env_lessons: str | None) -> None:
    """``Path.is_dir()`` and ``exists()`` raise for ENAMETOOLONG (and EACCES) instead of
    answering False: a long $SIGSCOPE_LESSONS or file name was a traceback."""
    env = dict(os.environ)
    if env_lessons is not None:
        env["SIGSCOPE_LESSONS"] = env_lessons
    one_line_error(sigscope(*args, env=env))


def test_a_capped_labs_spawns_take_the_lessons_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A served page's Spawn… chose any parameter the behaviour takes: 8 busy-c workers of
    1 GiB under a cap of 8 (32 GiB for 4 pages). In a capped lab (serve's, a lesson's) a spawn
    takes the lessons' bounds; an uncapped lab (your own dashboard) still takes the full range."""
    monkeypatch.setenv(MAX_WORKERS_ENV, "8")
    with Lab(workers=1) as lab:
        for behaviour, params in (
            ("busy-c", {"mb": 1024}),
            ("orphan-maker", {"count": 64}),
            ("threads", {"count": 64}),
            ("core", {"mb": 1024}),
        ):
            with pytest.raises(LabError, match="may ask for"):
                lab.spawn_worker(behaviour, params)
        since = lab.cursor()
        lab.spawn_worker("busy-c", {"mb": 1})  # within the bounds: started
        lab.wait_for(since=since, kind="start", role="worker", behaviour="busy-c", timeout=T)
    monkeypatch.delenv(MAX_WORKERS_ENV)
    with Lab(workers=0) as lab:
        lab.spawn_worker("orphan-maker", {"count": 64, "linger": 0.1})  # accepted, not capped

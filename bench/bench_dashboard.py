"""The dashboard from the outside, as a user runs it: its CPU next to htop's, and its start-up.

* **CPU while watching 100 workers**: ``sigscope --workers 100`` runs in one window of a private
  tmux server (``-L``, 120x40), and once its lab is up, htop runs in a second window showing
  the same 101 processes (``htop -p master,workers``) at ``-d 3``: htop takes whole tenths of a
  second, 0.3 s is the nearest to the dashboard's 0.25 s (sampler and tree refresh), and it
  gives htop a little less work. Both watch the same lab at the same time, for 30 s (10 s with
  ``--quick``); the figure is each process's utime + stime from /proc/PID/stat (every thread),
  over that window, as a share of one core. Skipped, with the reason printed, when htop or
  tmux is not installed (``apt-get install htop``).
* **Start-up to first frame**: each program is spawned in a fresh pty (120x40,
  ``TERM=xterm-256color``), and the clock runs from just before the spawn to the first output
  that carries visible text: every escape sequence and control character removed, something
  printable left. Textual's set-up sequences (alternate screen, mouse modes) come earlier and
  do not count; its first painted frame does. The peer is :mod:`bench.bare_label`, a Textual
  app with one label, started the same way (``python -m``); ``sigscope`` is the installed
  command, which starts its lab (2 workers) just after its first frame. Interleaved, one
  warm-up run of each not counted. Also printed: the CPU time (utime + stime, whole clock
  ticks) the process had used when its first frame arrived, steadier than the wall time on a
  busy machine.

``python -m bench.bench_dashboard [--quick]``

``python -m bench.bench_dashboard --first-frame-only [--rounds N] [--compare-with DIR ...]``
times the start-up alone and prints it (the results file is left as it is). Each
``--compare-with DIR`` also starts the same ``sigscope`` command with ``PYTHONPATH=DIR``, so
that it imports the sigscope of another source tree (e.g. ``git archive HEAD sigscope lessons
| tar -x -C DIR``), in the same interleaved rounds: a change's before and after, on the same
machine at the same time.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

from bench.bench_lab import _wait_children
from bench.common import machine_line, save, see_gone, summary
from sigscope import procfs
from sigscope.events import now

MS = 1e6  # ns per ms
ROOT = Path(__file__).resolve().parents[1]
COLS, ROWS = 120, 40
WORKERS = 100
DASHBOARD_INTERVAL = 0.25  # the dashboard's sampler interval and tree refresh (seconds)
HTOP_DELAY = 3  # tenths of a second: the nearest htop allows to DASHBOARD_INTERVAL
TICK = os.sysconf("SC_CLK_TCK")


def _sigscope_command() -> str:
    return shutil.which("sigscope", path=os.path.dirname(sys.executable)) or "sigscope"


def _cpu_seconds(pid: int) -> float | None:
    st = procfs.read_stat(pid)
    return None if st is None else (st.utime + st.stime) / TICK


def _main_thread_cpu_seconds(pid: int) -> float | None:
    """The main thread's share (Textual's event loop runs there; the sampler, the lab's reader
    and Textual's input thread are the others): /proc/PID/task/PID/stat."""
    try:
        with open(f"/proc/{pid}/task/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


# -- CPU: dashboard vs htop, side by side in one tmux server ------------------------------------


class Tmux:
    """A private tmux server (its own socket): we start it, and kill only it."""

    def __init__(self) -> None:
        self.base = ["tmux", "-L", f"sigscope-bench-{os.getpid()}", "-f", "/dev/null"]
        self.server: int | None = None
        self.server_start: int | None = None
        self.socket = ""

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout.strip()

    def new_session(self, name: str, command: str) -> int:
        """Start the server with one window running ``command``; return its pid."""
        size = ["-x", str(COLS), "-y", str(ROWS)]
        self.run("new-session", "-d", *size, "-s", "bench", "-n", name, f"exec {command}")
        self.server = int(self.run("display-message", "-p", "-t", "bench", "#{pid}"))
        self.server_start = procfs.start_time(self.server)
        self.socket = self.run("display-message", "-p", "-t", "bench", "#{socket_path}")
        return int(self.run("list-panes", "-t", f"bench:{name}", "-F", "#{pane_pid}"))

    def new_window(self, name: str, command: str, env: dict[str, str] | None = None) -> int:
        """Run ``command`` in a new window; return its pid (``exec``: the pane's own pid)."""
        extra = [x for k, v in (env or {}).items() for x in ("-e", f"{k}={v}")]
        self.run("new-window", "-d", *extra, "-t", "bench", "-n", name, f"exec {command}")
        return int(self.run("list-panes", "-t", f"bench:{name}", "-F", "#{pane_pid}"))

    def kill_server(self) -> None:
        if self.server is None:
            return
        try:
            self.run("kill-server")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass
        see_gone({self.server: self.server_start})
        if self.socket:  # tmux leaves its socket file behind
            Path(self.socket).unlink(missing_ok=True)


def cpu_vs_htop(seconds: float) -> dict[str, Any]:
    """The dashboard's CPU over ``seconds`` of watching, and htop's beside it if installed."""
    if shutil.which("tmux") is None:
        return {"skipped": "tmux is not installed"}
    have_htop = shutil.which("htop") is not None
    tmux = Tmux()
    watched: dict[int, int | None] = {}
    names = {"sigscope": "dashboard", "htop": "htop"}
    home = tempfile.TemporaryDirectory()  # htop reads and writes its htoprc there, not ours
    try:
        ui, master, workers = start_dashboard(tmux, WORKERS, watched, timeout=120)
        pids = {"sigscope": ui}
        if have_htop:
            shown = ",".join(str(p) for p in [master, *sorted(workers)])
            pids["htop"] = tmux.new_window(
                "htop",
                f"htop -d {HTOP_DELAY} -p {shown}",
                env={"HOME": home.name, "XDG_CONFIG_HOME": home.name},
            )
            watched[pids["htop"]] = procfs.start_time(pids["htop"])
        time.sleep(3.0)  # past their start-up: only steady watching is measured
        before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        main_before = _main_thread_cpu_seconds(ui)
        time.sleep(seconds)
        after = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        main_after = _main_thread_cpu_seconds(ui)
        gone = [pid for pid, st in watched.items() if procfs.start_time(pid) != st]
        screens = {
            name: tmux.run("capture-pane", "-p", "-t", f"bench:{names[name]}") for name in pids
        }
        quit_s = _quit_dashboard(tmux, ui, watched[ui])
    finally:
        tmux.kill_server()
        killed = see_gone(watched, timeout=30)
        home.cleanup()
    out: dict[str, Any] = {
        "seconds": seconds,
        "workers": WORKERS,
        "dashboard_interval_s": DASHBOARD_INTERVAL,
        "htop_delay_s": HTOP_DELAY / 10,
    }
    for name in pids:
        b, a = before[name], after[name]
        if b is None or a is None:
            raise RuntimeError(f"{name} ended while it was being measured")
        out[name] = {
            "cpu_seconds": round(a - b, 3),
            "cpu_percent": round(100 * (a - b) / seconds, 2),
        }
    # What each showed at the end: the lab's workers, or the measurement means nothing.
    out["sigscope"]["showed_the_lab"] = f"{WORKERS + 1} shown" in screens["sigscope"]
    if have_htop:
        version = subprocess.run(["htop", "--version"], capture_output=True, text=True).stdout
        out["htop"]["version"] = version.strip()
        out["htop"]["showed_the_lab"] = "sigscope worker" in screens["htop"]
        theirs = out["htop"]["cpu_seconds"]
        out["ratio_sigscope_over_htop"] = (
            out["sigscope"]["cpu_seconds"] / theirs if theirs else None
        )
    else:
        out["htop"] = {"skipped": "htop is not installed (apt-get install htop)"}
    out["sigscope"]["quit_seconds"] = quit_s
    if main_before is not None and main_after is not None:
        out["sigscope"]["main_thread_cpu_seconds"] = round(main_after - main_before, 3)
    # The figures mean something only if the lab was there, and on both screens, throughout.
    problems = [f"{len(gone)} of the watched processes ended"] if gone else []
    problems += [f"{name} did not show the lab" for name in pids if not out[name]["showed_the_lab"]]
    if problems:
        out["invalid"] = "; ".join(problems)
        out["screens_at_the_end"] = {name: screen[:2000] for name, screen in screens.items()}
    if killed:
        out["had_to_kill"] = killed
    return out


def _quit_dashboard(tmux: Tmux, pid: int, start: int | None) -> float | None:
    """Press q, as a user would, and wait up to 30 s for the dashboard to close its lab and
    exit: seconds it took, or None if it was still there (the server's end then hangs it up)."""
    t0 = time.monotonic()
    tmux.run("send-keys", "-t", "bench:dashboard", "q")
    while time.monotonic() - t0 < 30:
        st = procfs.read_stat(pid)
        if st is None or st.starttime != start or st.state == "Z":
            return round(time.monotonic() - t0, 2)
        time.sleep(0.05)
    return None


def start_dashboard(
    tmux: Tmux, workers: int, watched: dict[int, int | None], timeout: float
) -> tuple[int, int, list[int]]:
    """Start ``sigscope --workers N`` in a new session of ``tmux``; wait for its master and its
    workers (each recorded in ``watched`` with its start time, for the clean-up check); return
    (dashboard pid, master pid, worker pids)."""
    ui = tmux.new_session("dashboard", f"{_sigscope_command()} --workers {workers}")
    watched[ui] = procfs.start_time(ui)
    master = _find_child(ui, timeout=60)
    watched[master] = procfs.start_time(master)
    found = _wait_children(master, workers, timeout=timeout)
    watched.update({pid: procfs.start_time(pid) for pid in found})
    return ui, master, list(found)


def _find_child(parent: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = procfs.children_of(parent)
        if kids:
            return kids[0]
        time.sleep(0.05)
    raise RuntimeError(f"{parent} started no lab within {timeout:g} s")


# -- start-up to first frame, in a pty ----------------------------------------------------------

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[P_^X][^\x1b]*\x1b\\"  # DCS, APC, PM, SOS
    r"|\x1b[()*+][0-9A-Za-z]"  # character set selection
    r"|\x1b."  # any other two-byte escape
)
_CONTROLS = re.compile(r"[\x00-\x20\x7f]")


def visible(output: bytes) -> str:
    """What of terminal output is printable text, escapes and controls (and spaces) removed."""
    return _CONTROLS.sub("", _ESCAPES.sub("", output.decode(errors="ignore")))


def first_frame(argv: list[str], extra_env: dict[str, str] | None = None) -> dict[str, float]:
    """Spawn ``argv`` in a fresh pty; ms to its first byte and to its first visible text."""
    master_fd, slave_fd = os.openpty()
    fcntl.ioctl(slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS))
    # Bytecode caches are written (the warm-up round writes them), as an installed program has
    # them (pip compiles what it installs): with PYTHONDONTWRITEBYTECODE set, as on some
    # machines, an editable checkout would compile every module of sigscope at each start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra_env or {})
    out = bytearray()
    first_byte = frame = None
    cpu: float | None = None
    t0 = now()
    proc = subprocess.Popen(
        argv,
        stdin=slave_fd,
        stdout=slave_fd,
        stderr=slave_fd,
        start_new_session=True,
        cwd=ROOT,
        env=env,
    )
    os.close(slave_fd)
    started = {proc.pid: procfs.start_time(proc.pid)}
    try:
        deadline = time.monotonic() + 60
        while frame is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master_fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master_fd, 65536)
            except OSError:  # EIO: the program ended and closed the pty
                break
            t = now()
            first_byte = first_byte or t
            out += chunk
            if visible(bytes(out)):
                frame = t
                cpu = _cpu_seconds(proc.pid)  # its CPU so far: steadier than wall time on a
                # busy machine (clock ticks, 10 ms each: compare medians)
        for kid in procfs.children_of(proc.pid):  # sigscope's lab master, to see it gone
            started[kid] = procfs.start_time(kid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # sigscope quits as on `q`: it closes its lab
        _drain_until_exit(master_fd, proc)
        os.close(master_fd)
        see_gone(started)
    if frame is None or first_byte is None:
        raise RuntimeError(f"{argv[-1]}: no frame within 60 s: {visible(bytes(out))[:200]!r}")
    times = {"first_byte_ms": (first_byte - t0) / MS, "first_frame_ms": (frame - t0) / MS}
    if cpu is not None:
        times["cpu_ms"] = cpu * 1000
    return times


def _drain_until_exit(fd: int, proc: subprocess.Popen[bytes]) -> None:
    """Keep reading the pty (a full pty would block the program's exit) until it has exited."""
    deadline = time.monotonic() + 15
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                os.read(fd, 65536)
            except OSError:
                time.sleep(0.01)
    proc.wait()


def startup(rounds: int, compare_with: list[str] | None = None) -> dict[str, Any]:
    """Each program's start-up to first frame, ``rounds`` times, interleaved (after one warm-up
    round); for each folder of ``compare_with``, also ``sigscope`` importing the source tree
    there."""
    programs: dict[str, tuple[list[str], dict[str, str]]] = {
        "sigscope": ([_sigscope_command()], {}),
        "bare_label": ([sys.executable, "-m", "bench.bare_label"], {}),
    }
    for i, folder in enumerate(compare_with or [], 1):
        tree = str(Path(folder).resolve())
        if not (Path(tree) / "sigscope" / "__init__.py").is_file():
            raise SystemExit(f"--compare-with {folder}: no sigscope/__init__.py there")
        programs[f"compared{i}"] = ([_sigscope_command()], {"PYTHONPATH": tree})
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in programs}
    for round_ in range(rounds + 1):
        for name, (argv, extra_env) in programs.items():
            result = first_frame(argv, extra_env)
            if round_:  # round 0 warms the page cache and the bytecode caches
                runs[name].append(result)
    out: dict[str, Any] = {"rounds": rounds, "size": f"{COLS}x{ROWS}"}
    for i, folder in enumerate(compare_with or [], 1):
        out[f"compared{i}_tree"] = folder
    for name, results in runs.items():
        out[name] = {
            "first_frame_ms": summary([r["first_frame_ms"] for r in results]),
            "first_byte_ms": summary([r["first_byte_ms"] for r in results]),
            "cpu_ms": summary([r["cpu_ms"] for r in results if "cpu_ms" in r]),
        }
    for name in programs:
        if name != "bare_label":
            out[f"ratio_{name}_over_bare_p50"] = (
                out[name]["first_frame_ms"]["p50"] / out["bare_label"]["first_frame_ms"]["p50"]
            )
    return out


def print_startup(up: dict[str, Any]) -> None:
    print(f"\nstart-up to first frame ({up['rounds']} runs each, in a {up['size']} pty)")
    print(f"  {'':28}{'frame p50':>10}{'max':>9}{'1st byte p50':>14}{'CPU p50':>10}")
    labels = {"sigscope": "sigscope (lab of 2)", "bare_label": "bare Textual label"}
    compared = sorted(k for k in up if k.startswith("compared") and not k.endswith("_tree"))
    labels.update({name: f"sigscope, --compare-with {name[8:]}" for name in compared})
    for name, label in labels.items():
        f, b, c = up[name]["first_frame_ms"], up[name]["first_byte_ms"], up[name]["cpu_ms"]
        print(f"  {label:28}{f['p50']:>10.0f}{f['p99']:>9.0f}{b['p50']:>14.0f}{c['p50']:>10.0f}")
    print(f"  {'ratio sigscope / bare':28}{up['ratio_sigscope_over_bare_p50']:>10.2f}   (ms)")
    for name in compared:
        ratio = up[f"ratio_{name}_over_bare_p50"]
        label = f"ratio --compare-with {name[8:]} / bare"
        print(f"  {label:28}{ratio:>10.2f}   ({up[f'{name}_tree']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_dashboard")
    parser.add_argument("--quick", action="store_true", help="10 s of watching, 3 start-ups")
    parser.add_argument(
        "--first-frame-only",
        action="store_true",
        help="time the start-up alone and print it (the results file is not written)",
    )
    parser.add_argument("--rounds", type=int, help="start-ups of each program (7; 3 quick)")
    parser.add_argument(
        "--compare-with",
        metavar="DIR",
        action="append",
        help="also start sigscope with PYTHONPATH=DIR (another source tree), interleaved; "
        "repeatable",
    )
    args = parser.parse_args(argv)
    seconds = 10.0 if args.quick else 30.0
    rounds = args.rounds or (3 if args.quick else 7)
    print(f"machine: {machine_line()}")
    up = startup(rounds, args.compare_with)
    print_startup(up)
    if args.first_frame_only:
        return 0
    cpu = cpu_vs_htop(seconds)
    print(f"\nCPU watching {WORKERS} workers for {seconds:g} s (utime+stime from /proc/PID/stat)")
    if "skipped" in cpu:
        print(f"  skipped: {cpu['skipped']}")
    else:
        labels = {
            "sigscope": f"sigscope dashboard (every {DASHBOARD_INTERVAL:g} s)",
            "htop": f"htop -d {HTOP_DELAY} (every {HTOP_DELAY / 10:g} s)",
        }
        for name, label in labels.items():
            r = cpu[name]
            if "skipped" in r:
                print(f"  {label:34}skipped: {r['skipped']}")
                continue
            print(f"  {label:34}{r['cpu_seconds']:>6.2f} s = {r['cpu_percent']:.1f}% of a core")
            if "main_thread_cpu_seconds" in r:
                print(f"  {'  of which the main thread':34}{r['main_thread_cpu_seconds']:>6.2f} s")
            if name == "sigscope":
                q = r["quit_seconds"]
                took = f"{q:>6.2f} s" if q is not None else "  more than 30 s"
                print(f"  {'  quitting it (q) took':34}{took}")
        if "invalid" in cpu:
            print(f"  INVALID: {cpu['invalid']} (screens saved in the results file)")
        if cpu.get("ratio_sigscope_over_htop"):
            print(f"  {'ratio sigscope / htop':34}{cpu['ratio_sigscope_over_htop']:>6.2f}")
    print(f"\n  written to {save('dashboard', {'startup': up, 'cpu': cpu})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The lab, measured side by side with its floor and its peer (gunicorn), in one run.

* signal sent -> ``received`` event back at the controller (p50 / p99), against the raw floor:
  plain ``os.kill`` to a Python process whose handler writes a byte to a pipe;
* TTIN -> new worker: sigscope's master vs gunicorn's arbiter, both timed the same way (the
  new child seen in /proc/PID/task/*/children), and sigscope's ``spawn`` event too;
* idle wake-ups per second (context switches) of each master and worker, vs gunicorn's.

``python -m bench.bench_lab [--quick]``
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import machine_line, save, summary
from sigscope import procfs
from sigscope.events import now
from sigscope.lab import Lab

MS = 1e6  # ns per ms


def received_latency(n: int) -> dict[str, Any]:
    """sent (just before pidfd_send_signal) -> the received event delivered at the controller."""
    arrived: dict[str, int] = {}
    got = threading.Event()

    def on_event(event: dict[str, Any]) -> None:
        if event["kind"] == "received" and event.get("sig") == "SIGUSR1":
            arrived["t"] = now()
            arrived["handler"] = event["t"]
            got.set()

    to_controller, to_handler = [], []
    with Lab(workers=1) as lab:
        pid = lab.live_workers()[0].pid
        lab.wait_for(kind="ready", pid=pid, timeout=10)
        lab.subscribe(on_event)
        for _ in range(n):
            got.clear()
            c = lab.cursor()
            lab.send(pid, "USR1")
            sent = lab.wait_for(kind="sent", since=c, timeout=10)["t"]
            if not got.wait(10):
                raise RuntimeError("a received event did not come back")
            to_controller.append((arrived["t"] - sent) / MS)
            to_handler.append((arrived["handler"] - sent) / MS)
    return {"to_controller_ms": summary(to_controller), "to_handler_ms": summary(to_handler)}


_FLOOR_CHILD = """
import os, signal, sys
w = int(sys.argv[1])
signal.signal(signal.SIGUSR1, lambda s, f: os.write(w, b"x"))
os.write(w, b"r")
while True:
    signal.pause()
"""


def raw_floor(n: int) -> dict[str, Any]:
    """The least any Python tool can do: os.kill, a handler that writes to a pipe, a read."""
    r, w = os.pipe()
    child = subprocess.Popen([sys.executable, "-c", _FLOOR_CHILD, str(w)], pass_fds=(w,))
    os.close(w)
    try:
        assert os.read(r, 1) == b"r"
        values = []
        for _ in range(n):
            t0 = now()
            os.kill(child.pid, signal.SIGUSR1)
            os.read(r, 1)
            values.append((now() - t0) / MS)
        return {"kill_to_pipe_ms": summary(values)}
    finally:
        child.kill()
        child.wait()
        os.close(r)


def _new_child(parent: int, known: set[int], timeout: float = 10.0) -> tuple[int, int]:
    """Busy-poll the parent's children until one not in ``known`` appears: (pid, t)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in procfs.children_of(parent):
            if pid not in known:
                return pid, now()
    raise RuntimeError(f"no new child of {parent} within {timeout}s")


def _wait_children(parent: int, count: int, timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = {
            p
            for p in procfs.children_of(parent)
            if (st := procfs.read_stat(p)) is not None and st.state != "Z"
        }
        if len(kids) == count:
            return kids
        time.sleep(0.005)
    raise RuntimeError(f"{parent} did not settle at {count} children")


def sigscope_ttin(n: int) -> dict[str, Any]:
    seen, event = [], []
    with Lab(workers=1) as lab:
        master = lab.master_pid
        for _ in range(n):
            known = _wait_children(master, 1)
            c = lab.cursor()
            t0 = now()
            os.kill(master, signal.SIGTTIN)  # the same plain kill() as for gunicorn
            _pid, t1 = _new_child(master, known)
            spawn = lab.wait_for(kind="spawn", since=c, timeout=10)
            seen.append((t1 - t0) / MS)
            event.append((spawn["t"] - t0) / MS)
            c = lab.cursor()
            lab.send("master", "TTOU")
            lab.wait_for(kind="reaped", since=c, timeout=10)
    return {"child_seen_ms": summary(seen), "spawn_event_ms": summary(event)}


def _start_gunicorn(workers: int, sock: Path, graceful: float = 1.0) -> subprocess.Popen[bytes]:
    exe = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    return subprocess.Popen(
        [
            exe,
            "--workers",
            str(workers),
            "--bind",
            f"unix:{sock}",
            "--graceful-timeout",
            f"{graceful:g}",
            "--no-control-socket",  # its default path is in $HOME, shared by every gunicorn
            "--chdir",
            str(Path(__file__).resolve().parents[1]),
            "bench.wsgi_app:app",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what we started
    except ProcessLookupError:
        pass
    proc.wait()


def gunicorn_ttin(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = _start_gunicorn(1, Path(tmp) / "g.sock")
        try:
            values = []
            for _ in range(n):
                known = _wait_children(proc.pid, 1)
                t0 = now()
                os.kill(proc.pid, signal.SIGTTIN)
                _pid, t1 = _new_child(proc.pid, known)
                values.append((t1 - t0) / MS)
                _wait_children(proc.pid, 2)
                os.kill(proc.pid, signal.SIGTTOU)
            return {"child_seen_ms": summary(values)}
        finally:
            _stop(proc)


def _switches(pid: int) -> int:
    total = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if "ctxt_switches" in line:
                total += int(line.split(":")[1])
    return total


def _wakeups(pids: dict[str, int], seconds: float) -> dict[str, float]:
    before = {name: _switches(pid) for name, pid in pids.items()}
    select.select([], [], [], seconds)
    return {name: (_switches(pid) - before[name]) / seconds for name, pid in pids.items()}


def idle_wakeups(seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Lab(workers=2) as lab:
        for w in lab.live_workers():
            lab.wait_for(kind="ready", pid=w.pid, timeout=10)
        time.sleep(0.5)
        pids = {"master": lab.master_pid}
        pids.update({f"worker {w.index}": w.pid for w in lab.live_workers()})
        out["sigscope"] = _wakeups(pids, seconds)
    with tempfile.TemporaryDirectory() as tmp:
        proc = _start_gunicorn(2, Path(tmp) / "g.sock")
        try:
            kids = sorted(_wait_children(proc.pid, 2))
            time.sleep(1.0)
            pids = {"master": proc.pid}
            pids.update({f"worker {i}": pid for i, pid in enumerate(kids)})
            out["gunicorn"] = _wakeups(pids, seconds)
        finally:
            _stop(proc)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_lab")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, 3 s idle window")
    args = parser.parse_args(argv)
    n = 200 if args.quick else 1000
    rounds = 10 if args.quick else 30
    idle = 3.0 if args.quick else 10.0
    print(f"machine: {machine_line()}")
    lat = received_latency(n)
    floor = raw_floor(n)
    ours, theirs = sigscope_ttin(rounds), gunicorn_ttin(rounds)
    wake = idle_wakeups(idle)
    figures = {
        "latency": lat,
        "floor": floor,
        "ttin": {"sigscope": ours, "gunicorn": theirs},
        "idle_wakeups_per_s": wake,
        "rounds": {"signals": n, "ttin": rounds, "idle_seconds": idle},
    }
    c, f = lat["to_controller_ms"], floor["kill_to_pipe_ms"]
    print(f"\nsignal sent -> received event at the controller ({n} x SIGUSR1)")
    print(f"  {'':28}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"  {'sigscope (to controller)':28}{c['p50']:>10.3f}{c['p99']:>10.3f}")
    h = lat["to_handler_ms"]
    print(f"  {'sigscope (handler ran)':28}{h['p50']:>10.3f}{h['p99']:>10.3f}")
    print(f"  {'raw floor (kill -> pipe)':28}{f['p50']:>10.3f}{f['p99']:>10.3f}")
    print(
        f"  {'ratio sigscope / floor':28}{c['p50'] / f['p50']:>10.2f}{c['p99'] / f['p99']:>10.2f}"
    )
    print(f"\nTTIN -> new worker ({rounds} rounds, new child seen in /proc)")
    so, go = ours["child_seen_ms"], theirs["child_seen_ms"]
    print(f"  {'':28}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"  {'sigscope':28}{so['p50']:>10.3f}{so['p99']:>10.3f}")
    print(f"  {'gunicorn ' + _gunicorn_version():28}{go['p50']:>10.3f}{go['p99']:>10.3f}")
    print(
        f"  {'ratio gunicorn / sigscope':28}{go['p50'] / so['p50']:>10.2f}"
        f"{go['p99'] / so['p99']:>10.2f}"
    )
    se = ours["spawn_event_ms"]
    print(f"  {'sigscope spawn event':28}{se['p50']:>10.3f}{se['p99']:>10.3f}")
    print(f"\nidle wake-ups per second over {idle:g} s (context switches)")
    for tool, per in wake.items():
        print("  " + tool + ": " + ", ".join(f"{k} {v:.1f}" for k, v in per.items()))
    print(f"\nwritten: {save('lab', figures)}")
    return 0


def _gunicorn_version() -> str:
    try:
        import gunicorn

        return str(gunicorn.__version__)
    except ImportError:
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())

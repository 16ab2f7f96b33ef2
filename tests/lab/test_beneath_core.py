"""The ``core`` behaviour: a core dump reaped with ``core: true``, its file measured and removed."""

from __future__ import annotations

import glob
import os
import signal

import pytest

from sigscope.lab import Lab

T = 20.0  # a core of a Python process is megabytes: slow on a busy disk


def _pattern() -> str:
    with open("/proc/sys/kernel/core_pattern") as f:
        return f.read().strip()


@pytest.mark.parametrize(
    ("params", "status", "sig"),
    [({}, 131, "SIGQUIT"), ({"signal": "SEGV", "fault": True}, 139, "SIGSEGV")],
)
def test_core_dump_reaped_with_wcoredump_and_no_file_left(
    params: dict[str, object], status: int, sig: str
) -> None:
    if _pattern().startswith("|"):
        pytest.skip("core_pattern pipes cores to a program here: no file to find")
    with Lab(workers=0) as lab:
        c = lab.cursor()
        lab.spawn_worker("core", params)
        pid = int(lab.wait_for(kind="spawn", behaviour="core", since=c, timeout=T)["child"])
        armed = lab.wait_for(kind="core", pid=pid, action="armed", timeout=T)
        assert armed["limit"] > 0 and armed["sig"] == sig
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        lab.send(pid, "USR1")
        dumping = lab.wait_for(kind="core", pid=pid, action="dumping", timeout=T)
        reaped = lab.wait_for(kind="reaped", role="master", child=pid, timeout=T)
        assert reaped["status"] == status  # the signal number | 0x80
        assert os.WCOREDUMP(reaped["status"]) and reaped["core"] is True
        assert os.WTERMSIG(reaped["status"]) == getattr(signal, sig)
        found = lab.wait_for(kind="core", action="found", worker=pid, timeout=T)
        assert found["size"] > 0 and found["removed"] is True
        assert not os.path.exists(found["path"])
        assert not os.path.exists(dumping["directory"])  # the private directory is gone too
        lab.wait_for(kind="reaped", child=found["pid"], timeout=T)  # the cleaner was reaped


def test_a_core_worker_that_never_dies_leaves_no_directory() -> None:
    before = set(glob.glob("/tmp/sigscope-core-*"))
    with Lab(workers=1, behaviour="core") as lab:
        lab.wait_for(kind="core", action="armed", timeout=T)
    assert set(glob.glob("/tmp/sigscope-core-*")) <= before


def test_a_core_dump_just_before_close_leaves_no_directory() -> None:
    """The lab SIGKILLs everything at close, the cleaner too: the lab removes the directory."""
    with Lab(workers=0) as lab:
        c = lab.cursor()
        lab.spawn_worker("core", {})
        pid = int(lab.wait_for(kind="spawn", behaviour="core", since=c, timeout=T)["child"])
        lab.wait_for(kind="ready", pid=pid, timeout=T)
        lab.send(pid, "USR1")
        dumping = lab.wait_for(kind="core", pid=pid, action="dumping", timeout=T)
    assert not os.path.exists(dumping["directory"])

"""Every send goes through a checked pidfd, and every refusal says why, in words."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from sigscope.safety import (
    NeedsConfirmation,
    ProcessRef,
    SendRefused,
    check_policy,
    describe_process,
    send_signal,
)


def sleeper(**kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"], **kwargs)  # type: ignore[call-overload]


def test_our_own_process_group_is_never_a_target() -> None:
    child = sleeper()  # same process group as the test
    try:
        with pytest.raises(SendRefused, match="own process group"):
            check_policy(child.pid)
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(os.getuid() != 0, reason="starting another user's process needs root")
def test_another_users_process_is_never_a_target() -> None:
    child = sleeper(user=65534, group=65534, extra_groups=[], start_new_session=True)
    try:
        with pytest.raises(SendRefused, match="belongs to another user"):
            check_policy(child.pid)
        with pytest.raises(SendRefused, match="belongs to another user"):
            send_signal(ProcessRef.of(child.pid), signal.SIGTERM, confirmed=True)
        assert child.poll() is None  # nothing reached it
    finally:
        child.kill()
        child.wait()


def test_outside_the_managed_tree_needs_confirmation_naming_the_process() -> None:
    child = sleeper(start_new_session=True)
    try:
        with pytest.raises(NeedsConfirmation) as refused:
            send_signal(ProcessRef.of(child.pid), signal.SIGTERM, managed=lambda pid: False)
        assert refused.value.pid == child.pid
        assert f"pid {child.pid} (sleep)" in refused.value.describe
        assert "outside the lab" in str(refused.value)
        assert child.poll() is None
        send_signal(
            ProcessRef.of(child.pid), signal.SIGTERM, managed=lambda pid: False, confirmed=True
        )
        assert child.wait(10) == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_reaped_process_refuses_instead_of_reaching_another() -> None:
    child = sleeper(start_new_session=True)
    ref = ProcessRef.of(child.pid)
    child.kill()
    child.wait()  # reaped: the pid is free for the kernel to give to anyone
    with pytest.raises(SendRefused, match="does not exist|has exited"):
        send_signal(ref, signal.SIGTERM)


def test_a_recycled_pid_is_refused() -> None:
    # A ProcessRef whose start time does not match the live process stands for a pid that
    # was reused: the pidfd is opened, checked, and the signal is not sent.
    child = sleeper(start_new_session=True)
    try:
        stale = ProcessRef(child.pid, ProcessRef.of(child.pid).starttime - 1)
        with pytest.raises(SendRefused, match="now belongs to another process"):
            send_signal(stale, signal.SIGTERM)
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_a_pidfd_of_an_exited_and_reaped_process_cannot_signal() -> None:
    child = sleeper(start_new_session=True)
    fd = os.pidfd_open(child.pid)
    try:
        child.kill()
        child.wait()
        with pytest.raises(ProcessLookupError):
            signal.pidfd_send_signal(fd, signal.SIGTERM)
    finally:
        os.close(fd)


def test_describe_names_the_process() -> None:
    child = sleeper(start_new_session=True)
    try:
        text = describe_process(child.pid)
        assert text.startswith(f"pid {child.pid} (sleep) of user ")
    finally:
        child.kill()
        child.wait()

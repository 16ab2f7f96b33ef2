"""The send policy's refusals that need no process of their own: pid 1 and below, sigscope
itself, an ancestor, a kernel thread. (Sends to real processes: tests/lab/test_safety.py.)"""

from __future__ import annotations

import os

import pytest

from sigscope import procfs
from sigscope.safety import (
    SendRefused,
    check_policy,
)


@pytest.mark.parametrize("pid", [0, 1, -1, -1234])
def test_pid_one_and_below_are_never_targets(pid: int) -> None:
    with pytest.raises(SendRefused, match="pid 1 is init"):
        check_policy(pid)


def test_sigscope_itself_is_never_a_target() -> None:
    with pytest.raises(SendRefused, match="sigscope itself"):
        check_policy(os.getpid())


def test_an_ancestor_is_never_a_target() -> None:
    with pytest.raises(SendRefused, match="ancestor"):
        check_policy(os.getppid())


def test_a_kernel_thread_is_never_a_target() -> None:
    kthreads = procfs.children_of(2)
    assert kthreads, "kthreadd has no children here"
    with pytest.raises(SendRefused, match="kernel thread"):
        check_policy(kthreads[0])
    with pytest.raises(SendRefused, match="kernel thread"):
        check_policy(2)

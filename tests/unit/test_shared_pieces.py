"""The pieces that now serve several callers (issue 13, fewer repeated blocks): each says what
its callers said before, word for word and field for field.

Pure: no process is started (a pipe is the only thing opened).
"""

from __future__ import annotations

import fcntl
import os
import signal
from pathlib import Path

import pytest

from sigscope.commands._common import can_record
from sigscope.events import CONTROLLER, controller_event
from sigscope.lab.behaviours import BehaviourError, check_params, not_negative
from sigscope.lab.behaviours._dispositions import disposition_name
from sigscope.lab.behaviours._drain import drain
from sigscope.safety import SendRefused, refusals_in_words


def test_can_record_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert can_record("sigscope", None)
    assert can_record("sigscope trace", str(tmp_path / "new.jsonl"))
    assert capsys.readouterr().err == ""
    assert not can_record("sigscope", str(tmp_path))
    assert (
        capsys.readouterr().err == f"sigscope: error: cannot record to {tmp_path}: it is a folder\n"
    )
    assert not can_record("sigscope trace", str(tmp_path / "no" / "x.jsonl"))
    err = capsys.readouterr().err
    assert err.startswith("sigscope trace: error: cannot record to ")
    assert err.endswith(": No such file or directory\n") and err.count("\n") == 1


def test_not_negative_in_the_behaviours_words() -> None:
    not_negative("crash", {"after": 0}, "after")  # 0 is allowed
    with pytest.raises(BehaviourError) as e:
        not_negative("crash", {"after": -0.5}, "after")
    assert str(e.value) == "crash: parameter 'after' must be >= 0, not -0.5"
    with pytest.raises(BehaviourError) as e:
        not_negative("pause", {"work": -1.0}, "work", unit=" seconds")
    assert str(e.value) == "pause: parameter 'work' must be >= 0 seconds, not -1.0"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("masked", "block"),
        ("signalfd", "read"),
        ("sigwait", "wait for"),
        ("stubborn", "ignore"),
    ],
)
def test_a_list_of_signals_refused_as_before(name: str, words: str) -> None:
    with pytest.raises(BehaviourError) as e:
        check_params(name, {"signals": []})
    assert str(e.value) == f"{name}: parameter 'signals' names no signal to {words}"
    with pytest.raises(BehaviourError) as e:
        check_params(name, {"signals": ["SIGUSR1", "SIGKILL"]})
    assert str(e.value) == (
        f"{name}: parameter 'signals': SIGKILL cannot be blocked, caught or ignored (the kernel "
        "does not allow it)"
    )


def test_refusals_in_words_with_the_callers_error() -> None:
    class LaneError(Exception):
        pass

    with pytest.raises(SendRefused) as e, refusals_in_words(gone="gone", denied="denied"):
        raise ProcessLookupError(3, "No such process")
    assert str(e.value) == "gone" and e.value.__suppress_context__  # no errno chain shown
    lane = refusals_in_words(gone="x", denied="not allowed", error=LaneError)
    with pytest.raises(LaneError, match="^not allowed$"), lane:
        raise PermissionError(1, "Operation not permitted")
    # Any other failure is not a refusal: it passes through as it was.
    with pytest.raises(OSError) as other, refusals_in_words(gone="x", denied="y"):
        raise OSError(22, "Invalid argument")
    assert type(other.value) is OSError


def test_controller_event_keys_in_the_contract_order() -> None:
    event = controller_event(42, "reaped", child=7, status=9, exitcode=-9)
    assert list(event) == ["t", "pid", "role", "kind", "child", "status", "exitcode"]
    assert (event["pid"], event["role"], event["kind"]) == (42, CONTROLLER, "reaped")
    assert isinstance(event["t"], int) and event["t"] > 0
    assert controller_event(1, "exited", t=123, child=2)["t"] == 123


def test_disposition_name_keeps_each_callers_word_for_unset() -> None:
    assert disposition_name(signal.SIG_IGN, unset="?") == "SIG_IGN"
    assert disposition_name(signal.SIG_DFL, unset="?") == "SIG_DFL"
    assert disposition_name(lambda s, f: None, unset="?") == "handler"
    assert disposition_name(None, unset="not set from Python") == "not set from Python"


def test_drain_reads_a_nonblocking_fd_empty() -> None:
    r, w = os.pipe()
    try:
        os.set_blocking(r, False)
        assert drain(r) == b""
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 18)  # room for more than one read's worth
        os.write(w, b"\x0a" * 70000)
        assert drain(r) == b"\x0a" * 70000
        assert drain(r) == b""
    finally:
        os.close(r)
        os.close(w)

"""Property-based tests of the signal-name and send-spec parsers against their own printers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigscope.sendspec import SendSpecError, parse_send_spec, parse_target
from sigscope.signames import SignalError, all_signals, parse_signal, signal_name

SIGNALS = [s.number for s in all_signals()]
targets = st.one_of(
    st.just("master"), st.just("worker"), st.integers(0, 511).map(lambda n: f"worker:{n}")
)


@given(st.sampled_from(SIGNALS), st.booleans(), st.booleans())
def test_every_signal_name_parses_back_to_its_number(sig: int, prefix: bool, lower: bool) -> None:
    name = signal_name(sig)
    text = name if prefix else name[3:]
    text = text.lower() if lower else text
    assert parse_signal(text) == sig
    assert parse_signal(str(sig)) == sig


@given(st.sampled_from(SIGNALS), st.floats(0, 1e6, allow_nan=False), targets)
def test_a_printed_spec_parses_back(sig: int, at: float, target: str) -> None:
    spec = parse_send_spec(f"{at!r}:{signal_name(sig)}@{target}")
    assert (spec.at, spec.sig, spec.target) == (at, sig, target)
    assert parse_send_spec(spec.text).sig == sig


@given(st.text(max_size=40))
def test_any_text_parses_or_says_why(text: str) -> None:
    try:
        spec = parse_send_spec(text)
    except SendSpecError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert spec.sig in SIGNALS and spec.at >= 0
        assert spec.target == "master" or spec.target.startswith("worker")


@given(st.integers())
def test_numbers_outside_the_signals_are_refused(n: int) -> None:
    if n in SIGNALS:
        assert parse_signal(str(n)) == n
    elif n >= 0:
        with pytest.raises(SignalError):
            parse_signal(str(n))


@given(st.text(max_size=20))
def test_targets_are_master_worker_or_worker_n(text: str) -> None:
    try:
        t = parse_target(text)
    except SendSpecError:
        return
    assert t in ("master", "worker") or (t.startswith("worker:") and t[7:].isdigit())

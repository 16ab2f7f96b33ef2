"""sigscope.procfs parses /proc/PID/stat and /proc/PID/status exactly as proc(5) numbers them.

Pure: the lines below were saved from a real process on Linux 6.x (a ``python -c`` that named
itself ``a) (b c)`` with prctl(PR_SET_NAME), blocked SIGUSR1, ignored SIGUSR2, caught SIGTERM,
and was sent SIGUSR1 by ``kill``). tests/lab/test_procfs.py reads the same from a live process.
"""

from __future__ import annotations

import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigscope import procfs
from sigscope.observe.masks import encode_mask

SAVED_STAT = (
    b"14933 (a) (b c)) S 14932 14933 14933 0 -1 4194304 1107 0 0 0 0 0 0 0 20 0 1 0 694125 "
    b"13328384 2454 18446744073709551615 94374844305408 94374844305749 140720793014208 0 0 0 "
    b"512 16783360 16386 1 0 0 17 1 0 0 0 0 0 94374844317104 94374844317720 94375846641664 "
    b"140720793020738 140720793021044 140720793021044 140720793022428 0\n"
)

SAVED_STATUS = b"""Name:\ta) (b c)
Umask:\t0022
State:\tS (sleeping)
Tgid:\t14933
Ngid:\t0
Pid:\t14933
PPid:\t14932
TracerPid:\t0
Uid:\t0\t0\t0\t0
Gid:\t0\t0\t0\t0
FDSize:\t256
NStgid:\t14933
NSpid:\t14933
NSpgid:\t14933
NSsid:\t14933
Kthread:\t0
VmPeak:\t   13016 kB
Threads:\t1
SigQ:\t1/96363
SigPnd:\t0000000000000000
ShdPnd:\t0000000000000200
SigBlk:\t0000000000000200
SigIgn:\t0000000001001800
SigCgt:\t0000000000004002
CapInh:\t0000000000000000
NoNewPrivs:\t0
Cpus_allowed_list:\t0-1
voluntary_ctxt_switches:\t1
nonvoluntary_ctxt_switches:\t0
"""


def test_saved_stat_line_with_spaces_and_parentheses_in_comm() -> None:
    st = procfs.parse_stat(SAVED_STAT)
    assert st == procfs.Stat(
        pid=14933,
        comm="a) (b c)",
        state="S",
        ppid=14932,
        pgid=14933,
        sid=14933,
        tty_nr=0,
        tpgid=-1,
        flags=4194304,  # PF_RANDOMIZE
        utime=0,
        stime=0,
        num_threads=1,
        starttime=694125,
    )


def numbered_line(comm: bytes = b"x") -> bytes:
    """A stat line whose field n (from 1, as proc(5) counts) holds the number n."""
    rest = " ".join(str(n) for n in range(3, 53)).replace("3", "R", 1)
    return b"1 (" + comm + b") " + rest.encode() + b"\n"


def test_each_field_comes_from_its_proc5_position() -> None:
    st = procfs.parse_stat(numbered_line())
    assert (st.pid, st.state, st.ppid, st.pgid, st.sid, st.tty_nr, st.tpgid) == (
        1,
        "R",
        4,
        5,
        6,
        7,
        8,
    )
    assert (st.flags, st.utime, st.stime, st.num_threads, st.starttime) == (9, 14, 15, 20, 22)
    assert st.cpu_ticks == 14 + 15


@pytest.mark.parametrize(
    "comm", [b"a b", b")", b"(", b"x) R 1 2 3", b"((", b"))", b"tab\there", b"new\nline", b""]
)
def test_comm_runs_from_the_first_open_to_the_last_close_parenthesis(comm: bytes) -> None:
    st = procfs.parse_stat(numbered_line(comm))
    assert st.comm == comm.decode()
    assert (st.ppid, st.starttime) == (4, 22)


@given(
    comm=st.binary(min_size=0, max_size=15).filter(lambda b: b"\0" not in b),
    pid=st.integers(1, 4194304),
    pgid=st.integers(0, 4194304),
    tpgid=st.integers(-1, 4194304),
    starttime=st.integers(0, 1 << 62),
)
def test_any_comm_and_numbers_round_trip(
    comm: bytes, pid: int, pgid: int, tpgid: int, starttime: int
) -> None:
    fields = [str(n) for n in range(3, 53)]
    fields[0], fields[2], fields[5], fields[19] = "S", str(pgid), str(tpgid), str(starttime)
    line = f"{pid} (".encode() + comm + b") " + " ".join(fields).encode() + b"\n"
    st = procfs.parse_stat(line)
    assert (st.pid, st.pgid, st.tpgid, st.starttime) == (pid, pgid, tpgid, starttime)
    assert st.comm == comm.decode(errors="replace")


@pytest.mark.parametrize("line", [b"", b"12 no parentheses S 1", b"12 (x) S 1 2 3\n"])
def test_a_line_that_is_not_stat_is_a_value_error(line: bytes) -> None:
    with pytest.raises(ValueError):
        procfs.parse_stat(line)


def test_saved_status_masks() -> None:
    m = procfs.parse_status_masks(SAVED_STATUS)
    usr1, usr2 = int(signal.SIGUSR1), int(signal.SIGUSR2)
    assert m.pending == frozenset()
    assert m.shared_pending == {usr1}  # kill() queues for the process: ShdPnd, not SigPnd
    assert m.all_pending == {usr1}
    assert m.blocked == {usr1}
    # Python itself ignores SIGPIPE and SIGXFSZ, and catches SIGINT
    assert m.ignored == {usr2, int(signal.SIGPIPE), int(signal.SIGXFSZ)}
    assert m.caught == {int(signal.SIGINT), int(signal.SIGTERM)}
    assert m.sigq == (1, 96363)


def test_masks_decode_every_bit_including_real_time_signals() -> None:
    signals = {1, 9, 19, 32, 34, 63, 64}
    status = b"Name:\tx\nSigQ:\t0/100\n" + b"".join(
        f"{key}:\t{encode_mask(signals if key == 'SigBlk' else set())}\n".encode()
        for key in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")
    )
    m = procfs.parse_status_masks(status)
    assert m.blocked == signals and m.caught == frozenset() and m.sigq == (0, 100)
    assert procfs.signals_in(0) == frozenset()
    assert procfs.signals_in(0x4002) == {2, 15}
    assert procfs.signals_in(1 << 63) == {64}


def test_identical_mask_lines_share_one_record() -> None:
    other = SAVED_STATUS.replace(b"Pid:\t14933", b"Pid:\t14934")
    assert procfs.parse_status_masks(other) is procfs.parse_status_masks(SAVED_STATUS)


def test_status_without_masks_and_a_broken_mask_block() -> None:
    assert procfs.parse_status_masks(b"Name:\tx\nState:\tS\n") is procfs.NO_MASKS
    with pytest.raises(ValueError):
        procfs.parse_status_masks(b"Name:\tx\nSigQ:\t0/1\nSigPnd:\t0\nBogus:\t1\n")
    with pytest.raises(ValueError):
        procfs.parse_status_masks(b"Name:\tx\nSigQ:\t0/1\nSigPnd:\t0\n")


def test_voluntary_switches() -> None:
    assert procfs.voluntary_switches(SAVED_STATUS) == 1
    assert procfs.voluntary_switches(b"Name:\tx\nvoluntary_ctxt_switches:\t12345") == 12345
    assert procfs.voluntary_switches(b"Name:\tx\nnonvoluntary_ctxt_switches:\t3\n") is None


def test_a_pid_no_process_can_have_reads_as_none() -> None:
    with open("/proc/sys/kernel/pid_max") as f:
        beyond = int(f.read()) + 1  # the kernel never hands out this pid
    assert procfs.read_stat(beyond) is None
    assert procfs.read_status(beyond) is None
    assert procfs.start_time(beyond) is None
    assert procfs.children_of(beyond) == []


def test_status_field_finds_a_line_by_its_exact_key() -> None:
    assert procfs.status_field(SAVED_STATUS, "Name") == "a) (b c)"  # the first line
    assert procfs.status_field(SAVED_STATUS, "Uid") == "0\t0\t0\t0"
    assert procfs.status_field(SAVED_STATUS, "Pid") == "14933"  # not PPid, not TracerPid
    assert procfs.status_field(SAVED_STATUS, "nonvoluntary_ctxt_switches") == "0"  # the last
    assert procfs.status_field(SAVED_STATUS, "Threads") == "1"
    assert procfs.status_field(SAVED_STATUS, "Missing") is None
    assert procfs.status_field(b"SigQ:\t3/9", "SigQ") == "3/9"  # no newline at the end

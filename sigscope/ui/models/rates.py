"""Received signals per second, per process, over the last half minute.

A storm, a periodic timer and a quiet worker look different at a glance: a wall, a comb, a
flat line. This is the counting (one-second buckets, bounded); the process tree's RATE column
draws the curve (``sigscope.ui.widgets.process_tree.rate_text``). A separate rates panel
existed once; the tree's column replaced it, and its module went with it.
"""

from __future__ import annotations

from collections import OrderedDict

WINDOW_SECONDS = 30
MAX_PIDS = 256


class RateHistory:
    """Counts of ``received`` events per process in one-second buckets, last
    :data:`WINDOW_SECONDS` seconds; memory is bounded by ``MAX_PIDS`` × the window."""

    def __init__(self, seconds: int = WINDOW_SECONDS) -> None:
        self.seconds = seconds
        self._buckets: OrderedDict[int, dict[int, int]] = OrderedDict()  # pid -> second -> n
        self._newest: dict[int, int] = {}

    def add(self, pid: int, t_ns: int) -> None:
        """One signal handled by ``pid`` at ``t_ns`` (``time.monotonic_ns()``); events may
        come slightly out of order (several processes write to one channel)."""
        second = t_ns // 1_000_000_000
        buckets = self._buckets.get(pid)
        if buckets is None:
            buckets = self._buckets[pid] = {}
            if len(self._buckets) > MAX_PIDS:
                old, _ = self._buckets.popitem(last=False)
                self._newest.pop(old, None)
        newest = max(second, self._newest.get(pid, second))
        self._newest[pid] = newest
        if second <= newest - self.seconds:
            return  # older than the window
        buckets[second] = buckets.get(second, 0) + 1
        if len(buckets) > self.seconds:
            for s in [s for s in buckets if s <= newest - self.seconds]:
                del buckets[s]

    def forget(self, pid: int) -> None:
        self._buckets.pop(pid, None)
        self._newest.pop(pid, None)

    def pids(self) -> list[int]:
        return list(self._buckets)

    def series(self, pid: int, now_ns: int) -> list[float]:
        """Signals per second for each of the last ``seconds`` whole seconds, oldest first
        (the current, unfinished second is last)."""
        now_s = now_ns // 1_000_000_000
        counts = self._buckets.get(pid, {})
        return [float(counts.get(s, 0)) for s in range(now_s - self.seconds + 1, now_s + 1)]

    def rate(self, pid: int, now_ns: int) -> float:
        """Signals in the last whole second (the current one is still filling)."""
        series = self.series(pid, now_ns)
        return series[-2] if len(series) >= 2 else 0.0

    def active(self, now_ns: int) -> bool:
        """Whether any process has a signal in the window (so the curves still move)."""
        oldest = now_ns // 1_000_000_000 - self.seconds
        return any(newest > oldest for newest in self._newest.values())

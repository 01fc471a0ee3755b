"""Throughput of a running synchronous job: time of day, and stragglers that slow every step.

A synchronous step waits for its slowest GPU, so the job runs at the speed of its slowest node.
The time lost this way is the ledger's ``slow`` bucket: the GPUs are busy, but the work they do is
a share of what they would do at full speed.

>>> round(diurnal_loss(0.02, 0.0, DAY), 6)   # a 2% dip at night costs 1% of a whole day
864.0
>>> s = Stragglers()
>>> s.add(100.0, 0.5, "slow GPU")
0
>>> s.end_of(0, 200.0)
>>> s.loss(0.0, 300.0)   # half speed for 100 s
(50.0, {'slow GPU': 50.0})
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

DAY = 86400.0


def diurnal_loss(amplitude: float, t0: float, t1: float) -> float:
    """Seconds of work lost in ``[t0, t1]`` when speed is ``1 - amplitude * (1 - cos(2 pi t / day)) / 2``.

    Full speed at midnight of the run's clock, the full dip at noon; the mean loss is half the amplitude.
    """
    if amplitude == 0 or t1 <= t0:
        return 0.0
    w = 2 * math.pi / DAY
    return amplitude / 2 * ((t1 - t0) - (math.sin(w * t1) - math.sin(w * t0)) / w)


@dataclass
class Span:
    """One straggler: slow from ``start`` until swapped out at ``end``."""

    start: float
    end: float
    speed: float
    cause: str


class Stragglers:
    """Slow nodes in the job: from when they turn slow until they are swapped out."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    def add(self, start: float, speed: float, cause: str) -> int:
        """A node turns slow at ``start``; returns its handle, for ``end_of``."""
        self.spans.append(Span(start, math.inf, speed, cause))
        return len(self.spans) - 1

    def end_of(self, handle: int, end: float) -> None:
        """The straggler ``handle`` is swapped out at ``end``."""
        self.spans[handle].end = end

    def loss(self, t0: float, t1: float) -> tuple[float, dict[str, float]]:
        """Seconds of work lost to stragglers in ``[t0, t1]``, in all and by cause (the slowest's)."""
        live = [s for s in self.spans if s.start < t1 and s.end > t0]
        if not live:
            return 0.0, {}
        edges = sorted({t0, t1, *(min(t1, max(t0, s.start)) for s in live), *(min(t1, max(t0, s.end)) for s in live)})
        total, by_cause = 0.0, dict[str, float]()
        for a, b in pairwise(edges):
            active = [s for s in live if s.start <= a and s.end >= b]
            if not active:
                continue
            slowest = min(active, key=lambda s: s.speed)
            lost = (b - a) * (1 - slowest.speed)
            total += lost
            by_cause[slowest.cause] = by_cause.get(slowest.cause, 0.0) + lost
        return total, by_cause


def slow_shares(stragglers: Stragglers, diurnal: float, t0: float, t1: float) -> dict[str | None, float]:
    """Shares of the work done in ``[t0, t1]`` lost to each straggler cause and (key ``None``) the time of day.

    The slowest straggler sets the pace; the time of day slows what the stragglers leave.

    >>> s = Stragglers()
    >>> _ = s.add(0.0, 0.5, "slow GPU")
    >>> slow_shares(s, 0.0, 0.0, 100.0)
    {'slow GPU': 0.5}
    """
    if t1 <= t0 or not (diurnal or stragglers.spans):
        return {}
    span = t1 - t0
    lost_s, by_cause = stragglers.loss(t0, t1)
    shares: dict[str | None, float] = {cause: secs / span for cause, secs in by_cause.items()}
    lost_d = diurnal_loss(diurnal, t0, t1)
    if lost_d:
        shares[None] = (1.0 - lost_s / span) * lost_d / span
    return shares

"""Throughput of a running synchronous job: time of day, and stragglers that slow every step.

A synchronous step waits for its slowest GPU, so the job runs at the speed of its slowest node.
The time lost this way is the ledger's ``slow`` bucket: the GPUs are busy, but the work they do is
a share of what they would do at full speed. The time of day sets the speed to
``1 - amplitude * (1 - cos(2 pi t / day)) / 2`` (full speed at midnight of the run's clock, the full
dip at noon). Only computing is slowed, not checkpoint writes, and the losses are integrated in closed
form over the computing of the checkpoint rhythm, so they do not depend on when the job books them.

>>> always = Rhythm(start=0.0, cycle=1.0, compute=1.0)   # computing all the time
>>> round(slow_loss(Stragglers(), 0.02, always, 0.0, DAY)[None], 6)   # a 2% dip at noon costs 1% of a day
864.0
>>> s = Stragglers()
>>> s.add(100.0, 0.5, "slow GPU")
0
>>> s.end_of(0, 200.0)
>>> slow_loss(s, 0.0, Rhythm(start=0.0, cycle=1.0, compute=1.0), 0.0, 300.0)   # half speed for 100 s
{'slow GPU': 50.0}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

DAY = 86400.0


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

    def pieces(self, t0: float, t1: float) -> list[tuple[float, float, float, str | None]]:
        """``[t0, t1]`` cut where the slowest straggler changes: ``(a, b, 1 - its speed, its cause)``.

        >>> s = Stragglers()
        >>> _ = s.add(100.0, 0.5, "slow GPU")
        >>> s.pieces(0.0, 300.0)
        [(0.0, 100.0, 0.0, None), (100.0, 300.0, 0.5, 'slow GPU')]
        """
        live = [s for s in self.spans if s.start < t1 and s.end > t0]
        if not live:
            return [(t0, t1, 0.0, None)]
        edges = sorted({t0, t1, *(min(t1, max(t0, s.start)) for s in live), *(min(t1, max(t0, s.end)) for s in live)})
        out: list[tuple[float, float, float, str | None]] = []
        for a, b in pairwise(edges):
            active = [s for s in live if s.start <= a and s.end >= b]
            if active:
                slowest = min(active, key=lambda s: s.speed)
                out.append((a, b, 1 - slowest.speed, slowest.cause))
            else:
                out.append((a, b, 0.0, None))
        return out


class Rhythm(NamedTuple):
    """When a run segment computes: from ``start``, ``compute`` seconds of every ``cycle`` (the rest blocks
    on a checkpoint).

    >>> r = Rhythm(start=0.0, cycle=70.0, compute=60.0)
    >>> r.compute_time(0.0, 150.0), r.compute_time(65.0, 75.0)
    (130.0, 5.0)
    """

    start: float
    cycle: float
    compute: float

    def _computed_by(self, t: float) -> float:
        k, rest = divmod(t - self.start, self.cycle)
        return k * self.compute + min(rest, self.compute)

    def compute_time(self, t0: float, t1: float) -> float:
        """Seconds of computing in ``[t0, t1]``."""
        return self._computed_by(t1) - self._computed_by(t0) if t1 > t0 else 0.0

    def cos_integral(self, t0: float, t1: float) -> float:
        """The integral of ``cos(2 pi t / day)`` over the computing in ``[t0, t1]``, in closed form."""
        if t1 <= t0:
            return 0.0
        w = 2 * math.pi / DAY
        if self.compute >= self.cycle:
            return (math.sin(w * t1) - math.sin(w * t0)) / w
        k0 = math.floor((t0 - self.start) / self.cycle)
        k1 = math.floor((t1 - self.start) / self.cycle)

        def piece(k: int) -> float:
            a = max(t0, self.start + k * self.cycle)
            b = min(t1, self.start + k * self.cycle + self.compute)
            return (math.sin(w * b) - math.sin(w * a)) / w if b > a else 0.0

        if k1 == k0:
            return piece(k0)
        total = piece(k0) + piece(k1)
        n = k1 - k0 - 1  # whole computing spans between the first and the last
        if n > 0:
            alpha = w * (self.start + (k0 + 1) * self.cycle)
            beta = w * self.cycle
            total += (_sin_sum(alpha + w * self.compute, beta, n) - _sin_sum(alpha, beta, n)) / w
        return total


def _sin_sum(alpha: float, beta: float, n: int) -> float:
    """``sum(sin(alpha + j * beta) for j in range(n))`` in closed form."""
    half = math.sin(beta / 2)
    if abs(half) < 1e-12:
        return n * math.sin(alpha)
    return math.sin(n * beta / 2) * math.sin(alpha + (n - 1) * beta / 2) / half


def slow_loss(stragglers: Stragglers, diurnal: float, rhythm: Rhythm, t0: float, t1: float) -> dict[str | None, float]:
    """Seconds of work lost, per GPU, in the computing of ``[t0, t1]``: by straggler cause and (key ``None``)
    to the time of day, which slows what the slowest straggler leaves.

    Exact: the losses of a run add up the same however it is cut into bookings.

    >>> s = Stragglers()
    >>> _ = s.add(0.0, 0.5, "slow GPU")
    >>> slow_loss(s, 0.0, Rhythm(0.0, 70.0, 60.0), 0.0, 140.0)
    {'slow GPU': 60.0}
    """
    if t1 <= t0 or not (diurnal or stragglers.spans):
        return {}
    out: dict[str | None, float] = {}
    for a, b, rate, cause in stragglers.pieces(t0, t1):
        if rate and cause is not None:
            out[cause] = out.get(cause, 0.0) + rate * rhythm.compute_time(a, b)
        if diurnal:
            # Speed 1 - A (1 - cos w t) / 2 of what the straggler leaves.
            lost = diurnal / 2 * (rhythm.compute_time(a, b) - rhythm.cos_integral(a, b))
            out[None] = out.get(None, 0.0) + (1 - rate) * lost
    return out

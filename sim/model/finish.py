"""When a run segment's work reaches a target: the moment the job stops computing to save its last state.

A run segment computes ``interval`` seconds of every ``cycle`` (the rest blocks on a checkpoint), so
the computing done after ``e`` seconds of it is ``k interval + min(rest, interval)`` (``k`` whole
cycles, ``rest`` into the next). ``elapsed_for`` inverts that in closed form: the earliest elapsed
time at which the computing reaches an amount, so a target met at the end of an interval is met
before that interval's checkpoint (the final save takes its place). With stragglers or the time of
day, work is computing minus what slowness takes; ``reach`` then searches the (non-decreasing) work
by bisection.

>>> elapsed_for(120.0, interval=60.0, cycle=70.0)   # two intervals: the second write is not needed
130.0
>>> elapsed_for(125.0, interval=60.0, cycle=70.0)
145.0
>>> reach(125.0, 60.0, 70.0, lo=0.0, hi=1000.0)
145.0
>>> reach(125.0, 60.0, 70.0, lo=0.0, hi=100.0)   # not within the horizon
inf
"""

from __future__ import annotations

import math
from collections.abc import Callable

#: Bisection stops when the bracket is this narrow, in seconds (or relative, for long runs).
_ABS_S = 1e-6
_REL = 1e-13


def elapsed_for(compute: float, interval: float, cycle: float) -> float:
    """The earliest elapsed time of a run segment at which it has computed ``compute`` seconds."""
    if compute <= 0:
        return 0.0
    whole = math.ceil(compute / interval) - 1
    return whole * cycle + min(compute - whole * interval, interval)


def computed_by(elapsed: float, interval: float, cycle: float) -> float:
    """Seconds of computing in the first ``elapsed`` seconds of a run segment.

    >>> computed_by(145.0, 60.0, 70.0), computed_by(135.0, 60.0, 70.0)
    (125.0, 120.0)
    """
    k, rest = divmod(elapsed, cycle)
    return k * interval + min(rest, interval)


def reach(
    work: float,
    interval: float,
    cycle: float,
    lo: float,
    hi: float,
    slowed: Callable[[float], float] | None = None,
) -> float:
    """The earliest elapsed time in ``[lo, hi]`` at which the segment's work reaches ``work``; ``inf`` if none.

    Work is computing minus ``slowed(e)`` (the work slowness took in the segment's first ``e``
    seconds, non-decreasing and below the computing); without ``slowed``, work is computing.
    """
    first = max(lo, elapsed_for(work, interval, cycle))
    if slowed is None:
        return first if first <= hi else math.inf
    if first > hi:
        return math.inf

    def short(e: float) -> bool:
        return computed_by(e, interval, cycle) - slowed(e) < work

    if not short(first):
        return first
    if short(hi):
        return math.inf
    a, b = first, hi  # short at a, not at b
    while b - a > max(_ABS_S, _REL * b):
        m = 0.5 * (a + b)
        if short(m):
            a = m
        else:
            b = m
    return b

"""Piecewise-linear traces (power in MW over seconds): build one from events, and measure it exactly.

A trace is a polyline ``(x, y)``: ``x`` in seconds, non-decreasing; ``y`` in MW, linear between
consecutive rows. A step is two rows at the same ``x``: the value before, then the value after. Every
function here is exact on such a trace (no sampling) and vectorized (no Python loop over rows), so a
100-day trace of a few hundred thousand rows costs milliseconds.

>>> x, y = build([10.0, 20.0], [-5.0, 0.0], [0.0, 1.0], start=0.0, end=25.0, level0=8.0)
>>> x.tolist(), y.tolist()
([0.0, 10.0, 10.0, 20.0, 25.0], [8.0, 8.0, 3.0, 3.0, 8.0])
>>> integral(x, y), time_below(x, y, 5.0), swings(x, y).tolist()
(137.5, 12.0, [-5.0, 5.0])
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "build",
    "cumulative",
    "envelopes",
    "fastest_ramp",
    "integral",
    "swing_times",
    "swings",
    "time_below",
    "value_at",
    "window",
]

Array = NDArray[np.float64]


def _trace(x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    """``x`` and ``y`` as float arrays of one length (at least one row), ``x`` non-decreasing; else ``ValueError``."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.ndim != 1 or xa.shape != ya.shape or not len(xa):
        raise ValueError(f"a trace needs x and y of one length, at least one row: got {xa.shape} and {ya.shape}")
    if np.any(np.diff(xa) < 0):
        raise ValueError("a trace's x (seconds) must be non-decreasing")
    return xa, ya


def build(
    t: ArrayLike,
    jump: ArrayLike,
    dslope: ArrayLike,
    start: float,
    end: float,
    level0: float,
    slope0: float = 0.0,
    tol: float = 1e-9,
    merge_s: float = 0.0,
) -> tuple[Array, Array]:
    """The compact trace from ``(start, level0)`` to ``(end, P(end))`` of events at times ``t``.

    Events less than ``merge_s`` seconds after the previous one are at its time (default: only equal
    times): sums computed two ways can miss each other by an ulp, and would draw a zero-width spike.

    At an event time the value jumps by the sum of the ``jump`` there and the slope (MW/s; ``slope0``
    from ``start``) changes by the sum of the ``dslope`` there. A time with a total jump gives two rows
    (before, after), a pure slope change one row, a time where nothing changes (|jump| <= ``tol`` MW
    and |dslope| <= ``tol`` MW/s) none. Sums and slopes within ``tol`` of zero are zero, so that float
    noise of long sums makes no rows. ``t`` in any order, repeats allowed, all within [start, end].

    >>> x, y = build([5.0, 0.0, 5.0, 8.0], [2.0, 1.0, -2.0, 0.0], [0.0, 0.0, 0.0, 0.5], 0.0, 10.0, 3.0)
    >>> x.tolist(), y.tolist()  # the two events at 5 s cancel: no row there
    ([0.0, 0.0, 8.0, 10.0], [3.0, 4.0, 4.0, 5.0])
    """
    ta = np.asarray(t, dtype=float).ravel()
    ja = np.broadcast_to(np.asarray(jump, dtype=float), ta.shape)
    da = np.broadcast_to(np.asarray(dslope, dtype=float), ta.shape)
    if end < start:
        raise ValueError(f"the trace ends ({end}) before it starts ({start})")
    if len(ta) and (ta.min() < start or ta.max() > end):
        raise ValueError(f"every event time must lie within [start, end] = [{start}, {end}]")
    # A zero event at each end makes both ends knots of their own; then one knot per distinct time.
    times = np.concatenate(([start], ta, [end]))
    order = np.argsort(times, kind="stable")
    times = times[order]
    first = np.flatnonzero(np.concatenate(([True], times[1:] - times[:-1] > merge_s)))
    knots = times[first]
    jumps = np.add.reduceat(np.concatenate(([0.0], ja, [0.0]))[order], first)
    dslopes = np.add.reduceat(np.concatenate(([0.0], da, [0.0]))[order], first)
    jumps[np.abs(jumps) <= tol] = 0.0
    dslopes[np.abs(dslopes) <= tol] = 0.0
    slopes = slope0 + np.cumsum(dslopes)  # the slope after each knot
    slopes[np.abs(slopes) <= tol] = 0.0
    change = jumps[:-1] + slopes[:-1] * np.diff(knots)
    before = level0 + np.concatenate(([0.0], np.cumsum(change)))
    stepped = jumps != 0.0
    rows = np.where(stepped | (dslopes != 0.0), 1 + stepped, 0)
    rows[0], rows[-1] = 1 + stepped[0], 1 + stepped[-1]  # the two ends always have their row
    at = np.cumsum(rows) - rows  # the first output row of each knot
    x = np.repeat(knots, rows)
    y = np.repeat(before, rows)
    y[at[stepped] + 1] = before[stepped] + jumps[stepped]
    return x, y


def integral(x: ArrayLike, y: ArrayLike) -> float:
    """The exact integral (MW·s, i.e. MJ) of the trace: trapezoids, steps add nothing.

    >>> integral([0.0, 10.0, 10.0, 20.0], [1.0, 1.0, 3.0, 5.0]) / 3600.0  # MWh
    0.013888888888888888
    """
    xa, ya = _trace(x, y)
    return float(np.sum(np.diff(xa) * (ya[:-1] + ya[1:])) / 2.0)


def _pieces(xa: Array, ya: Array) -> Array:
    """The integral from ``x[0]`` to each row (the row's own step excluded: a step adds nothing)."""
    return np.concatenate(([0.0], np.cumsum(np.diff(xa) * (ya[:-1] + ya[1:]) / 2.0)))


def cumulative(x: ArrayLike, y: ArrayLike, at: ArrayLike) -> Array:
    """The integral (MW·s) from ``x[0]`` to each time of ``at`` (clipped to the trace), exact on linear pieces.

    Energy cost with an hourly price profile: integrate to each hour's edge, difference, price.

    >>> x, y = [0.0, 7200.0], [100.0, 100.0]                       # 100 MW for two hours
    >>> edges = np.arange(0.0, 7201.0, 3600.0)
    >>> mwh = np.diff(cumulative(x, y, edges)) / 3600.0            # MWh in each hour
    >>> mwh.tolist(), float(mwh @ np.array([40.0, 90.0]))          # USD at 40 then 90 USD/MWh
    ([100.0, 100.0], 13000.0)
    """
    xa, ya = _trace(x, y)
    ta = np.clip(np.asarray(at, dtype=float), xa[0], xa[-1])
    i = np.searchsorted(xa, ta, side="right") - 1  # the last row at or before t: past any step at t
    j = np.minimum(i + 1, len(xa) - 1)
    dx = xa[j] - xa[i]
    frac = np.divide(ta - xa[i], dx, out=np.zeros_like(ta), where=dx > 0)
    value = ya[i] + frac * (ya[j] - ya[i])
    return np.asarray(_pieces(xa, ya)[i] + (ta - xa[i]) * (ya[i] + value) / 2.0, dtype=float)


def value_at(x: ArrayLike, y: ArrayLike, t: ArrayLike, side: Literal["left", "right"] = "right") -> Array:
    """The trace's value just after (``"right"``) or just before (``"left"``) each time of ``t``.

    Outside the trace: its first or last value.

    >>> x, y = [0.0, 10.0, 10.0, 20.0], [1.0, 1.0, 3.0, 5.0]
    >>> value_at(x, y, [10.0, 15.0]).tolist(), value_at(x, y, [10.0], side="left").tolist()
    ([3.0, 4.0], [1.0])
    """
    xa, ya = _trace(x, y)
    ta = np.asarray(t, dtype=float)
    n = len(xa)
    if side == "right":
        i = np.clip(np.searchsorted(xa, ta, side="right") - 1, 0, n - 1)  # the last row at or before t
        j = np.minimum(i + 1, n - 1)
    elif side == "left":
        j = np.clip(np.searchsorted(xa, ta, side="left"), 0, n - 1)  # the first row at or after t
        i = np.maximum(j - 1, 0)
    else:
        raise ValueError(f"side must be 'left' or 'right', not {side!r}")
    dx = xa[j] - xa[i]
    frac = np.divide(ta - xa[i], dx, out=np.ones_like(ta), where=dx > 0)
    return np.asarray(ya[i] + np.clip(frac, 0.0, 1.0) * (ya[j] - ya[i]), dtype=float)


def time_below(x: ArrayLike, y: ArrayLike, level: float) -> float:
    """Seconds during which the trace is below ``level``; a piece that crosses it adds its share.

    >>> time_below([0.0, 10.0, 10.0, 20.0], [1.0, 1.0, 3.0, 5.0], 4.0)  # 10 s at 1, then 5 s of the ramp
    15.0
    """
    xa, ya = _trace(x, y)
    below = ya < level
    dx = np.diff(xa)
    whole = float(dx[below[:-1] & below[1:]].sum())
    # A piece with one end below: along it the values are uniform between its ends, so the share below
    # is where the level falls between them.
    k = np.flatnonzero(below[:-1] != below[1:])
    y0, y1 = ya[k], ya[k + 1]
    low, high = np.minimum(y0, y1), np.maximum(y0, y1)
    return whole + float(np.sum((level - low) / (high - low) * dx[k]))


def _runs(ya: Array, tol: float) -> tuple[NDArray[np.intp], Array]:
    """The first row-difference and the signed size of each maximal monotone run."""
    d = np.diff(ya)
    sign = (d > tol).astype(np.int8) - (d < -tol).astype(np.int8)
    moving = sign != 0
    previous = np.concatenate((np.zeros(1, np.int8), sign[:-1]))
    starts = np.flatnonzero(moving & (sign != previous))
    if not len(starts):
        return starts, np.zeros(0)
    return starts, np.add.reduceat(np.where(moving, d, 0.0), starts)


def swings(x: ArrayLike, y: ArrayLike, tol: float = 1e-9) -> Array:
    """Signed sizes (MW) of the maximal monotone runs of the trace, in time order.

    Consecutive row differences of one sign make a run (steps and ramps alike); a flat piece
    (|difference| <= ``tol``) ends it. A failure of a synchronous job is a run down, later a run up.

    >>> swings([0.0, 5.0, 5.0, 9.0, 12.0, 14.0], [10.0, 10.0, 2.0, 2.0, 6.0, 10.0]).tolist()
    [-8.0, 8.0]
    """
    return swing_times(x, y, tol)[1]


def swing_times(x: ArrayLike, y: ArrayLike, tol: float = 1e-9) -> tuple[Array, Array]:
    """``(time each run starts, its signed size)``: ``swings`` with the seconds when each began.

    >>> [a.tolist() for a in swing_times([0.0, 5.0, 5.0, 9.0, 12.0], [10.0, 10.0, 2.0, 2.0, 6.0])]
    [[5.0, 9.0], [-8.0, 4.0]]
    """
    xa, ya = _trace(x, y)
    starts, sizes = _runs(ya, tol)
    return xa[starts], sizes


def _last_at_or_before(xa: Array, t: Array, i: NDArray[np.intp], forward: bool) -> NDArray[np.intp]:
    """The last row at or before each time of ``t``, searched from the rows ``i`` near it: forward from a
    row at or before t, or back from a row after it. A window of a second holds a row or two, so a few
    steps find nearly all; a binary search finds the rest (a burst of rows within the window)."""
    n = len(xa)
    i = i.copy()
    for _ in range(4):
        if forward:
            move = np.flatnonzero(xa[np.minimum(i + 1, n - 1)] <= t)
            move = move[i[move] + 1 < n]
        else:
            move = np.flatnonzero(xa[i] > t)
        if not len(move):
            return i
        i[move] += 1 if forward else -1
    rest = np.flatnonzero(xa[np.minimum(i + 1, n - 1)] <= t) if forward else np.flatnonzero(xa[i] > t)
    i[rest] = np.searchsorted(xa, t[rest], side="right") - 1
    return i


def _sides(xa: Array, ya: Array, t: Array, i: NDArray[np.intp]) -> tuple[Array, Array]:
    """The values just before and just after each time of ``t``; ``i``: the last row at or before it."""
    j = np.minimum(i + 1, len(xa) - 1)
    dx = xa[j] - xa[i]
    frac = np.divide(t - xa[i], dx, out=np.zeros_like(t), where=dx > 0)
    after = ya[i] + frac * (ya[j] - ya[i])
    # Only at a row's own time can the value before differ: the first row of that time holds it.
    before = after.copy()
    at = np.flatnonzero(xa[i] == t)
    before[at] = ya[np.searchsorted(xa, t[at], side="left")]
    return before, after


def fastest_ramp(x: ArrayLike, y: ArrayLike, window_s: float = 1.0) -> float:
    """The largest |P(t + w) - P(t)| / w (MW/s) over t in [x0, x_end - w]; a step of S MW gives S / w.

    The maximum lies where t or t + w is a row (one-sided values at steps), so those are the times
    evaluated. A trace shorter than ``w``: its range / w.

    >>> fastest_ramp([0.0, 10.0, 10.0, 20.0, 30.0], [1.0, 1.0, 9.0, 9.0, 4.0], window_s=2.0)  # the 8 MW step
    4.0
    """
    xa, ya = _trace(x, y)
    w = float(window_s)
    if not w > 0:
        raise ValueError(f"window_s must be positive, not {window_s}")
    if xa[-1] - xa[0] <= w:
        return float((ya.max() - ya.min()) / w)
    # Each distinct time: its value before (its first row) and after (its last row), and the slope to the next.
    first = np.flatnonzero(np.concatenate(([True], xa[1:] != xa[:-1])))
    u, before, after = xa[first], ya[first], ya[np.append(first[1:], len(xa)) - 1]
    gap = np.diff(u)
    slope, step = (before[1:] - after[:-1]) / gap, after - before
    # A time at least w from the times beside it is alone in its windows: those starting at it (with its
    # step or just after it) and those ending at it (without or with its step) are closed forms.
    alone = np.ones(len(u), dtype=bool)
    alone[:-1] &= gap >= w
    alone[1:] &= gap >= w
    best = 0.0
    k = np.flatnonzero(alone[:-1] & (u[:-1] <= xa[-1] - w))
    if len(k):
        best = max(best, float(np.abs(step[k] + slope[k] * w).max()), float(np.abs(slope[k]).max()) * w)
    k = np.flatnonzero(alone[1:] & (u[1:] >= xa[0] + w)) + 1
    if len(k):
        best = max(best, float(np.abs(step[k] + slope[k - 1] * w).max()), float(np.abs(slope[k - 1]).max()) * w)
    crowded = np.flatnonzero(~alone)
    if len(crowded):  # times closer than w: search the other end of each window
        last = np.append(first[1:], len(xa)) - 1
        best = max(best, _ramp_at(xa, ya, w, first[crowded], last[crowded]))
    return best / w


def _ramp_at(xa: Array, ya: Array, w: float, first: NDArray[np.intp], last: NDArray[np.intp]) -> float:
    """The largest |P(t + w) - P(t)| over the windows that start or end at some times, one-sided at steps;
    ``first`` and ``last``: the first and last row of each of those times (the values before and after)."""
    best = 0.0
    for forward in (True, False):
        ok = (xa[first] <= xa[-1] - w) if forward else (xa[first] >= xa[0] + w)
        start, end = first[ok], last[ok]
        t = xa[start] + (w if forward else -w)
        near = end if forward else np.maximum(start - 1, 0)
        left, right = _sides(xa, ya, t, _last_at_or_before(xa, t, near, forward))
        if len(t):
            best = max(best, float(np.abs(left - ya[start]).max()), float(np.abs(right - ya[end]).max()))
    return best


def envelopes(x: ArrayLike, y: ArrayLike, period_s: float) -> tuple[Array, Array, Array, Array]:
    """``(starts, lo, mean, hi)`` per period from ``x[0]`` (the last may be shorter): the exact minimum,
    time-weighted mean and maximum (MW), the values at the period's edges included.

    >>> x, y = [0.0, 10.0, 10.0, 30.0], [2.0, 2.0, 6.0, 6.0]
    >>> [a.tolist() for a in envelopes(x, y, 20.0)]
    [[0.0, 20.0], [2.0, 6.0], [4.0, 6.0], [6.0, 6.0]]
    """
    xa, ya = _trace(x, y)
    p = float(period_s)
    if not p > 0:
        raise ValueError(f"period_s must be positive, not {period_s}")
    count = max(1, int(np.ceil((xa[-1] - xa[0]) / p)))
    if count > 1 and xa[0] + (count - 1) * p >= xa[-1]:
        count -= 1
    starts = xa[0] + p * np.arange(count)
    ends = np.minimum(np.append(starts[1:], xa[-1]), xa[-1])
    at_start, at_end = value_at(xa, ya, starts, "right"), value_at(xa, ya, ends, "left")
    lo, hi = np.minimum(at_start, at_end), np.maximum(at_start, at_end)
    lo[0], hi[0] = min(lo[0], ya[0]), max(hi[0], ya[0])  # the value before a step at the very start
    lo[-1], hi[-1] = min(lo[-1], ya[-1]), max(hi[-1], ya[-1])  # and after one at the very end
    # Rows strictly inside each period (those on an edge are its one-sided values, already in): reduced
    # between pairs of indices, the first row after the start and the first at the end.
    first = np.searchsorted(xa, starts, side="right")
    stop = np.searchsorted(xa, ends, side="left")  # below len(xa): every end is at most the last time
    has = np.flatnonzero(stop > first)
    if len(has):
        pairs = np.stack((first[has], stop[has]), axis=1).ravel()
        lo[has] = np.minimum(lo[has], np.minimum.reduceat(ya, pairs)[::2])
        hi[has] = np.maximum(hi[has], np.maximum.reduceat(ya, pairs)[::2])
    width = ends - starts
    area = np.diff(cumulative(xa, ya, np.append(starts, ends[-1])))
    mean = np.divide(area, width, out=at_start.copy(), where=width > 0)
    return starts, lo, mean, hi


def window(x: ArrayLike, y: ArrayLike, t0: float, t1: float) -> tuple[Array, Array]:
    """The trace between ``t0`` and ``t1`` (clipped to it): the value just after ``t0``, the rows
    strictly between, the value just before ``t1``.

    >>> [a.tolist() for a in window([0.0, 10.0, 10.0, 20.0], [1.0, 1.0, 3.0, 5.0], 5.0, 15.0)]
    [[5.0, 10.0, 10.0, 15.0], [1.0, 1.0, 3.0, 4.0]]
    """
    xa, ya = _trace(x, y)
    if t1 < t0:
        raise ValueError(f"a window ends ({t1}) before it starts ({t0})")
    a, b = float(np.clip(t0, xa[0], xa[-1])), float(np.clip(t1, xa[0], xa[-1]))
    lo, hi = np.searchsorted(xa, a, side="right"), np.searchsorted(xa, b, side="left")
    x_out = np.concatenate(([a], xa[lo:hi], [b]))
    y_out = np.concatenate((value_at(xa, ya, [a], "right"), ya[lo:hi], value_at(xa, ya, [b], "left")))
    return x_out, y_out

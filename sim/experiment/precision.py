"""Precision on demand: replications are added until the 95% CI of one metric's mean is narrow enough.

The stopping rule is checked after every replication, in index order: the run stops at the first
``n`` (from ``min_replications``) whose first ``n`` replications give a half-width at or below the
target; replications computed beyond ``n`` are discarded. Replication ``r`` always draws from the same
streams (``sim.experiment.runner.replication_seeds``), so the replications kept, and every number
made from them, depend on the seed and the target only: not on the batches the work was cut into,
the number of processes or the executor.

>>> p = Precision(half_width=0.5, min_replications=2, max_replications=10)
>>> values = np.array([1.0, 3.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.2, 9.0])
>>> [round(float(h), 2) for h in prefix_stats(values)[1][5:8]]   # half-widths after 6, 7 and 8 replications
[0.66, 0.53, 0.45]
>>> stop_at(values, p), stop_at(values[:7], p)   # met at 8 (the ninth is discarded); after 7, not yet
(8, None)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from scipy import stats

from sim.config.errors import PrecisionError, shown
from sim.config.limits import MAX_REPLICATIONS
from sim.results.schema import CENSORED, OBJECTIVES, objective_metric

#: Replications before the rule is first checked, and the most it may take (``--min-replications``,
#: ``--max-replications``).
DEFAULT_MIN = 10
DEFAULT_MAX = 1000
#: A batch asks for this much more than the spread seen so far says is needed (fewer rounds; any extra is discarded).
MARGIN = 1.1

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True)
class Precision:
    """The target: the 95% CI half-width of ``metric``'s mean, absolute (``half_width``, in the metric's
    unit: 0.002 is 0.2 points of ETTR) or relative to the mean (``relative_half_width``: 0.01 is 1%)."""

    metric: str = "ettr"
    half_width: float | None = None
    relative_half_width: float | None = None
    min_replications: int = DEFAULT_MIN
    max_replications: int = DEFAULT_MAX
    censored: bool = False  # a missing value is "later than any" (time to train): the CI is unknown with one

    def __post_init__(self) -> None:
        if (self.half_width is None) == (self.relative_half_width is None):
            raise PrecisionError("give one target: an absolute half-width or a relative one", "precision")
        for name, value in (("precision", self.half_width), ("rel_precision", self.relative_half_width)):
            if value is not None and not (isinstance(value, int | float) and 0 < value < math.inf):
                raise PrecisionError(f"must be a number above 0, got {shown(value)}", name)
        lo, hi = self.min_replications, self.max_replications
        if not 2 <= lo <= MAX_REPLICATIONS:
            message = f"must be from 2 to {MAX_REPLICATIONS:,} (a CI needs two), got {shown(lo)}"
            raise PrecisionError(message, "min_replications")
        if not lo <= hi <= MAX_REPLICATIONS:
            message = f"must be from min_replications ({lo:,}) to {MAX_REPLICATIONS:,}, got {shown(hi)}"
            raise PrecisionError(message, "max_replications")

    def goal(self, mean: float) -> float:
        """The half-width to reach, at a mean of ``mean``."""
        if self.half_width is not None:
            return self.half_width
        assert self.relative_half_width is not None
        return self.relative_half_width * abs(mean)

    def to_json(self) -> dict[str, Any]:
        """What was asked: the ``precision`` block's settings in ``summary.json``."""
        return {
            "metric": self.metric,
            "half_width": self.half_width,
            "relative_half_width": self.relative_half_width,
            "min_replications": self.min_replications,
            "max_replications": self.max_replications,
        }


def prefix_stats(values: np.ndarray, censored: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 95% CI half-width of the first ``n`` values, for every ``n`` (as ``describe`` computes them).

    NaNs are left out, as ``describe`` leaves them out; for a censored metric a NaN makes every later
    half-width unknown (NaN). Fewer than two values give no half-width; values all equal give 0.
    """
    v = np.asarray(values, dtype=float)
    ok = ~np.isnan(v)
    x = np.where(ok, v, 0.0)
    shift = x[ok][0] if ok.any() else 0.0  # sums of deviations from a value near the mean keep their digits
    d = np.where(ok, x - shift, 0.0)
    count = np.cumsum(ok)
    s1, s2 = np.cumsum(d), np.cumsum(d * d)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = shift + s1 / count
        var = np.maximum(s2 - s1 * s1 / count, 0.0) / (count - 1)
        t = stats.t.ppf(0.975, np.maximum(count - 1, 1))
        half = np.where(count >= 2, t * np.sqrt(var / count), np.nan)
    # Equal values: describe's spread is exactly 0 (no rounding noise either).
    lo, hi = np.fmin.accumulate(np.where(ok, v, np.inf)), np.fmax.accumulate(np.where(ok, v, -np.inf))
    half = np.where((count >= 2) & (lo == hi), 0.0, half)
    if censored:
        half = np.where(np.cumsum(~ok) > 0, np.nan, half)
    return mean, half


def _columns(values: np.ndarray) -> list[np.ndarray]:
    """The series in ``values``: one (a vector), or one per column (replications x series)."""
    v = np.asarray(values, dtype=float)
    return [v] if v.ndim == 1 else [v[:, j] for j in range(v.shape[1])]


def _meets(values: np.ndarray, precision: Precision) -> np.ndarray:
    """For every ``n``: whether the first ``n`` values of every series meet the target."""
    ok = np.ones(len(values), dtype=bool)
    for column in _columns(values):
        mean, half = prefix_stats(column, precision.censored)
        goal = np.array([precision.goal(float(m)) for m in mean])
        with np.errstate(invalid="ignore"):
            ok &= ~np.isnan(half) & (half <= goal)
    return ok


def stop_at(values: np.ndarray, precision: Precision) -> int | None:
    """The first ``n`` from ``min_replications`` whose first ``n`` values meet the target (every series of a
    2-D ``values``: replications x series), or the maximum when every value up to it is there and none did;
    ``None`` while more values are needed."""
    n_min, n_max = precision.min_replications, precision.max_replications
    if len(values) >= n_min:
        ok = _meets(values, precision)
        for n in range(n_min, min(len(values), n_max) + 1):
            if ok[n - 1]:
                return n
    return n_max if len(values) >= n_max else None


def next_count(values: np.ndarray, precision: Precision, floor: int = 1) -> int:
    """How many more replications to compute: what the spread so far says is needed (by the series that needs
    the most), with a margin, at least ``floor`` (to keep workers busy) and at most as many as there are (a batch
    never more than doubles)."""
    have = len(values)
    if have < precision.min_replications:
        return precision.min_replications - have
    wanted = have
    for column in _columns(values):
        mean, half = prefix_stats(column, precision.censored)
        goal, h = precision.goal(float(mean[-1])), float(half[-1])
        # The half-width shrinks as 1 / sqrt(n); with none yet (or a goal of 0), double.
        need = 2 * have if math.isnan(h) or goal <= 0 else math.ceil(MARGIN * have * (h / goal) ** 2)
        wanted = max(wanted, need)
    more = min(max(wanted - have, floor, 1), have)
    return min(more, precision.max_replications - have)


def precision_target(
    half_width: float | Precision | None,
    relative: float | None,
    objective: str = "ettr",
    min_replications: int = DEFAULT_MIN,
    max_replications: int = DEFAULT_MAX,
) -> Precision | None:
    """The precision target of the arguments of ``run`` (``None`` without one); ``PrecisionError`` if unusable."""
    if isinstance(half_width, Precision):
        return half_width
    if half_width is None and relative is None:
        return None
    try:
        metric = objective_metric(objective)
    except KeyError:
        raise PrecisionError(f"{shown(objective)}: must be one of {', '.join(OBJECTIVES)}", "objective") from None
    # A time or cost to train not reached is later than any: its interval is unknown, the target unmet.
    return Precision(metric, half_width, relative, min_replications, max_replications, censored=metric in CENSORED)


@dataclass(frozen=True)
class Reached:
    """Where the rule stopped for one series of replications (a run, a sweep point, a scenario)."""

    replications: int
    half_width: float
    relative_half_width: float
    met: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "replications": self.replications,
            "half_width_reached": None if math.isnan(self.half_width) else self.half_width,
            "relative_half_width_reached": None if math.isnan(self.relative_half_width) else self.relative_half_width,
            "met": self.met,
        }


def reached(values: np.ndarray, precision: Precision) -> Reached:
    """The half-width of all of ``values`` (those kept), and whether it meets the target."""
    mean, half = prefix_stats(values, precision.censored)
    m, h = float(mean[-1]), float(half[-1])
    rel = h / abs(m) if m != 0 else math.nan
    met = not math.isnan(h) and h <= precision.goal(m)
    return Reached(len(values), h, rel, met)


@dataclass
class Series(Generic[T]):
    """The replications of one series computed so far, in index order, and where it stopped."""

    items: list[T]
    stop: int | None = None


def until_precise(
    keys: Sequence[K],
    play: Callable[[list[tuple[K, int, int]]], Mapping[K, list[T]]],
    value_of: Callable[[T], float | Sequence[float]],
    precision: Precision,
    workers: int = 1,
) -> dict[K, list[T]]:
    """Run every series (``keys``) until it meets ``precision``; return the replications kept of each.

    ``play(ranges)`` computes replications ``lo .. hi - 1`` of each ``(key, lo, hi)``, all together (on
    ``workers`` processes), and returns them in index order by key. ``value_of`` gives a replication's
    value of the metric, or several (scenarios compared on the same replications: each must meet the
    target). Each round gives every unfinished series the replications its spread says it lacks; the rule
    is then checked replication by replication.
    """
    series = {k: Series[T]([]) for k in keys}

    def values(items: list[T]) -> np.ndarray:
        return np.array([value_of(x) for x in items], dtype=float)

    while True:
        open_keys = [k for k, s in series.items() if s.stop is None]
        if not open_keys:
            break
        floor = -(-workers // len(open_keys))
        ranges = []
        for k in open_keys:
            have = len(series[k].items)
            ranges.append((k, have, have + next_count(values(series[k].items), precision, floor)))
        done = play(ranges)
        for k, _, _ in ranges:
            s = series[k]
            s.items.extend(done[k])
            s.stop = stop_at(values(s.items), precision)
    return {k: s.items[: s.stop] for k, s in series.items()}

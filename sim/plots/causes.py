"""Failure causes of a run, ranked by what they cost: the rows of the failure-impact chart and the timeline's causes.

A run can have twenty causes. A chart names the costliest ``top`` (default 8) and sums the rest in
one "other" row, whose 95% CI is that of the per-replication sums (``runs.parquet``), not a sum of
CIs. All charts of a run rank causes the same way (lost GPU-hours, then interruptions, then name),
so a cause has the same colour in each (``sim.plots.palette.cause_colors``); the report's table
lists every cause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sim.plots.base import stat
from sim.plots.palette import CAUSE_PALETTE, OTHER_COLOR, cause_colors

#: Causes a chart names before it sums the rest as "other"; at most MAX_TOP (the palette's length, less one).
TOP = 8
MAX_TOP = len(CAUSE_PALETTE) - 1
#: The by-cause blocks of a summary, and the fields of a CauseRow they fill (in its order).
BLOCKS = {
    "interruptions": "interruptions_by_cause",
    "lost_gpu_hours": "lost_gpu_hours_by_cause",
    "lost_usd": "lost_usd_by_cause",
}

Stat = tuple[float, float, float]


@dataclass(frozen=True)
class CauseRow:
    """A failure cause's mean and 95% CI, per run: interruptions, lost GPU-hours, lost money.

    ``members`` are the causes the row stands for: itself, or all those summed as "other".
    """

    name: str
    interruptions: Stat
    lost_gpu_hours: Stat
    lost_usd: Stat
    color: str = OTHER_COLOR
    members: tuple[str, ...] = ()

    @property
    def other(self) -> bool:
        """Whether this row sums several causes."""
        return len(self.members) > 1


def cause_rows(summary: dict[str, Any]) -> list[CauseRow]:
    """Causes that struck at least once or cost anything (stragglers slow the job without stopping it),
    costliest (lost GPU-hours) first; coloured by rank while the palette lasts."""
    counts = summary.get(BLOCKS["interruptions"], {})
    rows = [
        CauseRow(name, *_three([stat(summary.get(block, {}), name) for block in BLOCKS.values()]), members=(name,))
        for name in counts
    ]
    rows = [r for r in rows if r.interruptions[0] > 0 or r.lost_gpu_hours[0] > 0]
    rows.sort(key=lambda r: (-r.lost_gpu_hours[0], -r.interruptions[0], r.name))
    colors = cause_colors([r.name for r in rows[: len(CAUSE_PALETTE)]])
    return [replace(r, color=colors.get(r.name, OTHER_COLOR)) for r in rows]


def top_causes(summary: dict[str, Any], runs: pd.DataFrame | None, top: int = TOP) -> list[CauseRow]:
    """The ``top`` costliest causes and one "other" row for the rest; all of them if "other" would hold one.

    ``runs`` (``runs.parquet``) gives the per-replication sums behind the CI of "other"; without its
    by-cause columns "other" has its mean only. Raises ``ValueError`` for ``top`` outside 1..MAX_TOP.
    """
    if not 1 <= top <= MAX_TOP:
        raise ValueError(f"top causes: {top}: must be 1 to {MAX_TOP} (the palette has {len(CAUSE_PALETTE)} colours)")
    rows = cause_rows(summary)
    if len(rows) <= top + 1:
        return rows
    rest = rows[top:]
    names = tuple(r.name for r in rest)
    summed = _three([_summed(summary, runs, block, names) for block in BLOCKS.values()])
    other = CauseRow(f"other ({len(rest)} causes)", *summed, color=OTHER_COLOR, members=names)
    return [*rows[:top], other]


def _three(values: list[Stat]) -> tuple[Stat, Stat, Stat]:
    """Interruptions, lost GPU-hours and lost money, from one value per by-cause block."""
    interruptions, hours, usd = values
    return interruptions, hours, usd


def _summed(summary: dict[str, Any], runs: pd.DataFrame | None, block: str, names: tuple[str, ...]) -> Stat:
    """Mean and 95% CI of the per-replication sum over ``names`` of one by-cause block."""
    columns = [f"{block}.{n}" for n in names]
    if runs is not None and all(c in runs.columns for c in columns):
        return mean_ci(runs[columns].sum(axis=1).to_numpy(dtype=float))
    mean = sum(stat(summary.get(block, {}), n)[0] for n in names)
    return mean, mean, mean


def mean_ci(values: np.ndarray) -> Stat:
    """Mean and 95% t-interval of the mean (the interval of ``summary.json``); no interval for one value.

    >>> tuple(round(x, 3) for x in mean_ci(np.array([1.0, 2.0, 3.0])))
    (2.0, -0.484, 4.484)
    """
    from scipy import stats  # only the "other" row of a chart needs it

    v = values[np.isfinite(values)]
    mean = float(v.mean()) if v.size else math.nan
    if v.size < 2 or v.min() == v.max():
        return mean, mean, mean
    half = float(stats.t.ppf(0.975, v.size - 1)) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return mean, mean - half, mean + half


def row_of(rows: list[CauseRow]) -> dict[str, CauseRow]:
    """Each cause's row: its own, or "other"."""
    return {name: r for r in rows for name in r.members}

"""Node histories of a fitted window: when each node was at risk, which fault ended each stretch, its downtime.

A node is at risk from the window start (unless a fault that began before the window still holds it
down) until its first fault; then it is down until that fault's end (no end column: back at once; an
open repair: down to the window end), and at risk again from its return. These stretches are the
*intervals*; the first of a node that is up at the window start is a forward-recurrence time of a fleet
in steady state. A repair renews the part that failed: a cause's clock runs over the intervals of a node
from one of its own faults to the next (``Histories.own``), paused while the node is down. A fault that
starts while its node is already down (overlapping an earlier fault's [start, end)) is counted as a
fault of its cause but ends no interval and adds no downtime twice: it is *secondary*. Nodes absent from
the log share one group: one whole window at risk, with their count as weight, so a fleet of a billion
nodes costs one row.

>>> from sim.analysis.incidents import Incident
>>> h = histories([Incident(10.0, "psu", "n1", 2, 12.0), Incident(11.0, "nic", "n1", 3, 15.0)], nodes=3, window=100.0)
>>> h.counts.tolist(), h.exposure.tolist(), h.weight.tolist(), h.secondary_lines
([2.0, 0.0], [95.0, 100.0], [1.0, 2.0], (3,))
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.analysis.incidents import FitError, Incident

#: Intervals shorter than this (hours) count as this: two faults in the same second.
MIN_GAP_HOURS = 1.0 / 3600.0


@dataclass(frozen=True)
class Repairs:
    """Repair times (hours) of one cause's faults that started in the window; ``open`` ones are censored."""

    hours: np.ndarray
    open: np.ndarray


@dataclass(frozen=True)
class Intervals:
    """At-risk intervals of one cause: node group, length (hours), a first one, ended by the cause."""

    group: np.ndarray
    length: np.ndarray
    first: np.ndarray
    hit: np.ndarray


@dataclass(frozen=True)
class Histories:
    """Every node group's at-risk intervals, counts and exposure over a window of ``window`` hours.

    Groups are the named nodes, then (when ``weight[-1] > 1`` or a node is silent) the silent ones.
    ``iv_cause`` is the index in ``causes`` of the fault that ended an interval, or -1 (censored).
    """

    window: float
    causes: tuple[str, ...]
    weight: np.ndarray
    counts: np.ndarray
    exposure: np.ndarray
    iv_group: np.ndarray
    iv_length: np.ndarray
    iv_first: np.ndarray
    iv_cause: np.ndarray
    events: np.ndarray  # every fault of each cause, secondary ones included
    primary: np.ndarray  # the faults of each cause that ended an interval
    nodes_with_events: np.ndarray
    by_cause: np.ndarray  # faults of each group (rows) and cause (columns), secondary ones included
    repairs: tuple[Repairs, ...] | None
    secondary_lines: tuple[int, ...]
    open_repairs: int = 0

    @property
    def nodes(self) -> int:
        return round(float(self.weight.sum()))

    @property
    def exposure_hours(self) -> float:
        return float((self.weight * self.exposure).sum())

    @property
    def downtime_hours(self) -> float:
        return float((self.weight * (self.window - self.exposure)).sum())

    def own(self, cause: int) -> Intervals:
        """The intervals of one cause's clock: the at-risk time between its own faults.

        A repair renews the part that failed, so a cause's clock runs on over the faults of other
        causes (paused while the node is down): consecutive intervals of a node are joined up to one
        that the cause ended. A joined interval is a first one (forward recurrence) if its first
        piece is.
        """
        ends = self.iv_cause == cause
        start = np.ones(self.iv_group.size, dtype=bool)
        start[1:] = (self.iv_group[1:] != self.iv_group[:-1]) | ends[:-1]
        chain = np.cumsum(start) - 1
        heads = np.flatnonzero(start)
        return Intervals(
            group=self.iv_group[heads],
            length=np.bincount(chain, self.iv_length, heads.size),
            first=self.iv_first[heads],
            hit=np.bincount(chain, ends, heads.size) > 0,
        )


def histories(incidents: Sequence[Incident], nodes: int, window: float) -> Histories:
    """The histories of ``nodes`` nodes over ``[0, window]`` hours from ``incidents`` (any times: those
    before the window can hold a node down at its start; those after it are left out)."""
    if nodes < 1:
        raise FitError(f"--nodes: must be at least 1, got {nodes}")
    inside = [i for i in incidents if 0.0 <= i.hours <= window]
    if not inside:
        raise FitError("no incidents to fit in the window")
    has_ends = any(i.end_hours is not None for i in incidents)
    causes = tuple(sorted({i.cause for i in inside}))
    code = {c: k for k, c in enumerate(causes)}
    per_node: dict[str, list[Incident]] = defaultdict(list)
    for i in incidents:
        if i.hours <= window and (i.hours >= 0.0 or _end(i, window) > 0.0):
            per_node[i.node].append(i)
    named = list(per_node)
    if len(named) > nodes:
        raise FitError(f"--nodes {nodes}: the log names {len(named)} different nodes; give the whole fleet's size")
    groups, lengths, firsts, ends = [], [], [], []
    counts, exposure = [], []
    events = np.zeros(len(causes), dtype=np.int64)
    primary = np.zeros(len(causes), dtype=np.int64)
    failing: list[set[str]] = [set() for _ in causes]
    repair_h: list[list[float]] = [[] for _ in causes]
    repair_open: list[list[bool]] = [[] for _ in causes]
    secondary: list[int] = []
    by_cause = np.zeros((len(named) + (nodes > len(named)), len(causes)))
    for g, node in enumerate(named):
        rows = sorted(per_node[node], key=lambda r: (r.hours, r.line))
        down_until = max((_end(r, window) for r in rows if r.hours < 0.0), default=0.0)
        first = down_until <= 0.0  # up at the window start: the first interval is a forward recurrence
        at = max(down_until, 0.0)
        downtime = min(at, window)
        n = 0
        for r in (r for r in rows if r.hours >= 0.0):
            c = code[r.cause]
            n += 1
            events[c] += 1
            by_cause[g, c] += 1
            failing[c].add(node)
            if has_ends:
                open_ = r.end_hours is None or math.isnan(r.end_hours) or r.end_hours > window
                repair_h[c].append(max((window if open_ else _end(r, window)) - r.hours, MIN_GAP_HOURS))
                repair_open[c].append(open_)
            back = _end(r, window)
            if r.hours < down_until:
                secondary.append(r.line)  # the node is already down: no interval ends, no downtime twice
                if back > down_until:
                    downtime += min(back, window) - min(down_until, window)
                    down_until = at = back
                continue
            primary[c] += 1
            groups.append(g)
            lengths.append(max(r.hours - at, MIN_GAP_HOURS))
            firsts.append(first)
            ends.append(c)
            downtime += min(back, window) - r.hours
            down_until, at, first = back, back, False
        if at < window:
            groups.append(g)
            lengths.append(window - at)
            firsts.append(first)
            ends.append(-1)
        counts.append(float(n))
        exposure.append(max(window - downtime, 0.0))
    weight = [1.0] * len(named)
    silent = nodes - len(named)
    if silent:
        groups.append(len(named))
        lengths.append(window)
        firsts.append(True)
        ends.append(-1)
        counts.append(0.0)
        exposure.append(window)
        weight.append(float(silent))
    repairs = (
        tuple(Repairs(np.array(h), np.array(o, dtype=bool)) for h, o in zip(repair_h, repair_open, strict=True))
        if has_ends
        else None
    )
    return Histories(
        window=window,
        causes=causes,
        weight=np.array(weight),
        counts=np.array(counts),
        exposure=np.array(exposure),
        iv_group=np.array(groups, dtype=np.int64),
        iv_length=np.array(lengths),
        iv_first=np.array(firsts, dtype=bool),
        iv_cause=np.array(ends, dtype=np.int64),
        events=events,
        primary=primary,
        nodes_with_events=np.array([len(f) for f in failing], dtype=np.int64),
        by_cause=by_cause,
        repairs=repairs,
        secondary_lines=tuple(secondary),
        open_repairs=sum(int(np.sum(r.open)) for r in repairs) if repairs else 0,
    )


def _end(i: Incident, window: float) -> float:
    """When the node is back from fault ``i``: its end, its start without an end column, the window end if open."""
    if i.end_hours is None:
        return i.hours
    return window if math.isnan(i.end_hours) else i.end_hours

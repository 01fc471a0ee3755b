"""Failure clocks: when every node fails, why, and when it is back, drawn before the job runs.

A node's hardware fails and is repaired whether or not the job is using it at that moment, so
the whole hardware history of a replication is drawn up front, in vectors, from its own random
streams. The job never draws from them: changing a checkpoint setting cannot move a failure time
(common random numbers), and 100,000 GPUs cost a few numpy calls rather than a process each.

Each node owns one clock per component instance and mode (``sim.model.clocks``: which clocks, how
they are drawn, where they start). A ``restart`` failure renews only the clock that fired; a
``replace`` failure takes the node away for ``repair_hours``, after which it is as good as new: every
clock starts again. Servers may differ in their failure rates (``sim.model.fleet``).

>>> import numpy as np
>>> from sim.config.scenario import FailureMode
>>> m = FailureMode(name="gpu", scope="gpu", mtbf_hours=1000.0, repair_hours=10.0)
>>> tl = node_timeline([m], nodes=4, gpus_per_node=8, horizon_s=3600.0 * 200,
...                    rng=np.random.default_rng(1))
>>> bool(np.all(np.diff(tl.time[tl.ptr[0]:tl.ptr[1]]) > 0))
True
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sim.analysis.stationary import FleetAge
from sim.config.actions import ACTIONS
from sim.config.scenario import FailureMode
from sim.model.clocks import clock_columns, job_clock, scaled


@dataclass(frozen=True)
class NodeTimeline:
    """Every hardware failure of every node over the horizon, grouped by node (CSR layout).

    Failures of node ``n`` are ``time[ptr[n]:ptr[n+1]]`` (seconds, increasing), with the index of
    their mode in ``mode`` and the time the node is back in ``back`` (``nan`` for a restart).
    """

    ptr: np.ndarray
    time: np.ndarray
    mode: np.ndarray
    back: np.ndarray

    @property
    def nodes(self) -> int:
        return len(self.ptr) - 1

    @staticmethod
    def concat(parts: Sequence[NodeTimeline]) -> NodeTimeline:
        """Timelines of consecutive node ranges, as one."""
        ptr = [np.zeros(1, dtype=np.int64)]
        offset = 0
        for p in parts:
            ptr.append(p.ptr[1:] + offset)
            offset += len(p.time)
        return NodeTimeline(
            ptr=np.concatenate(ptr),
            time=np.concatenate([p.time for p in parts]),
            mode=np.concatenate([p.mode for p in parts]),
            back=np.concatenate([p.back for p in parts]),
        )


@dataclass(frozen=True)
class Round:
    """The failures of one round of draws: the next failure of each server that fails before the horizon."""

    node: np.ndarray
    time: np.ndarray
    column: np.ndarray
    mode: np.ndarray
    pulls: np.ndarray  # the server leaves for repair (actions replace, slow)


class Repairs(Protocol):
    """How long each failure of a round keeps its server in repair.

    Called once per round, before the clocks that fired are drawn again: it may change the failing
    servers' rows of ``rate`` (servers x clocks, mutable), which those draws then use (a repair that
    leaves the fault raises the rate; one that cures a bad server lowers it). ``rate`` is None for a
    fleet of like servers (give ``node_timeline`` a ``rate`` of ones to have one to change).
    """

    def __call__(self, failures: Round, rate: np.ndarray | None) -> np.ndarray:
        """Repair time (s) of each failure; ignored where the server is not pulled."""
        ...


class ModeRepairs:
    """Each mode's ``repair_hours`` (plus its detection for a straggler), lognormal when ``repair_sigma > 0``."""

    def __init__(self, modes: Sequence[FailureMode], rng: np.random.Generator) -> None:
        actions = [ACTIONS[m.action] for m in modes]
        # A straggler is pulled once it is found, so it is out from detection until repaired.
        self.mean_s = np.array(
            [
                (m.repair_hours or 0.0) * 3600.0 + (m.detect_minutes * 60.0 if a.repair_after_detect else 0.0)
                for m, a in zip(modes, actions, strict=True)
            ]
        )
        self.sigma = np.array([m.repair_sigma for m in modes])
        self.rng = rng

    def __call__(self, failures: Round, rate: np.ndarray | None) -> np.ndarray:
        m = failures.mode
        duration: np.ndarray = self.mean_s[m]
        spread = failures.pulls & (self.sigma[m] > 0)
        if spread.any():
            # Lognormal with the mode's mean: mu = log(mean) - sigma^2 / 2. Drawn only where asked,
            # so fixed repairs draw nothing and keep their streams.
            sg = self.sigma[m][spread]  # (duration is already a copy: fancy indexing)
            duration[spread] = duration[spread] * np.exp(sg * self.rng.standard_normal(sg.size) - sg**2 / 2)
        return duration


def node_timeline(
    modes: Sequence[FailureMode],
    nodes: int,
    gpus_per_node: int,
    horizon_s: float,
    rng: np.random.Generator,
    scopes: tuple[str, ...] = ("gpu", "node"),
    fleet_age: FleetAge = "new",
    rate: np.ndarray | None = None,
    repairs: Repairs | None = None,
) -> NodeTimeline:
    """Draw the failures of ``nodes`` nodes over ``horizon_s`` for the ``modes`` of ``scopes``.

    ``modes`` indexes the returned ``mode`` column; modes of other scopes are skipped here. With
    ``scopes=("rack",)`` the "nodes" are racks (see ``with_domains``). ``fleet_age``: where the
    clocks start (``sim.model.clocks``). ``rate``: each server's failure-rate multiplier per mode
    (nodes x modes; ``sim.model.fleet``), None for like servers. ``repairs``: how long a pulled
    server stays out (default ``ModeRepairs``, which draws from ``rng``).
    Draws happen in rounds (one failure per node per round), so the order of draws depends only
    on the modes, the node count and the stream.
    """
    cols = clock_columns(modes, gpus_per_node, scopes)
    empty = NodeTimeline(np.zeros(nodes + 1, np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0))
    if not len(cols) or nodes == 0:
        return empty
    pulls = np.array([ACTIONS[m.action].pulls_node for m in modes])
    repair = ModeRepairs(modes, rng) if repairs is None else repairs
    # The multiplier of every clock of every server, read at every draw (a repair may change it).
    col_rate = None if rate is None else np.ascontiguousarray(rate[:, cols.mode], dtype=float)

    clock = cols.first(rng, nodes, fleet_age, col_rate)
    active = np.arange(nodes)
    out_node, out_time, out_mode, out_back = [], [], [], []
    while active.size:
        sub = clock[active]
        j = np.argmin(sub, axis=1)
        t = sub[np.arange(active.size), j]
        live = t < horizon_s
        active, j, t = active[live], j[live], t[live]
        if not active.size:
            break
        m = cols.mode[j]
        rep = pulls[m]
        duration = repair(Round(active, t, j, m, rep), col_rate)
        back = np.where(rep, t + duration, np.nan)
        out_node.append(active)
        out_time.append(t)
        out_mode.append(m)
        out_back.append(back)
        if rep.any():
            # Back from repair as good as new: every clock of the server starts again.
            gone = active[rep]
            clock[gone] = back[rep][:, None] + cols.draw(rng, gone.size, None if col_rate is None else col_rate[gone])
        if (~rep).any():
            # A transient failure renews only the clock that fired.
            still, jj = active[~rep], j[~rep]
            fresh = cols.scale[jj] * rng.standard_exponential(jj.size) ** cols.inv_shape[jj]
            clock[still, jj] = t[~rep] + scaled(fresh, None if col_rate is None else col_rate[still, jj])
    if not out_node:
        return empty
    node = np.concatenate(out_node)
    time = np.concatenate(out_time)
    order = np.lexsort((time, node))
    counts = np.bincount(node, minlength=nodes)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return NodeTimeline(
        ptr=ptr,
        time=time[order],
        mode=np.concatenate(out_mode)[order],
        back=np.concatenate(out_back)[order],
    )


def job_timeline(
    modes: Sequence[FailureMode], horizon_s: float, rng: np.random.Generator, fleet_age: FleetAge = "new"
) -> tuple[np.ndarray, np.ndarray]:
    """Failure times (s, sorted) and mode indices of the job-scope ``modes``, each a renewal process."""
    times, idx = [], []
    for i, m in enumerate(modes):
        if m.scope != "job":
            continue
        t = job_clock(m, horizon_s, rng, fleet_age)
        times.append(t)
        idx.append(np.full(t.size, i, dtype=np.int64))
    if not times:
        return np.zeros(0), np.zeros(0, np.int64)
    all_t = np.concatenate(times)
    order = np.argsort(all_t, kind="stable")
    return all_t[order], np.concatenate(idx)[order]


def with_domains(timeline: NodeTimeline, domains: NodeTimeline, nodes_per_domain: int) -> NodeTimeline:
    """Add the failures of correlated domains (racks, switches) to every node under each.

    Domain ``d`` covers nodes ``d * nodes_per_domain`` up to the next domain. A failure that starts
    while its node is already down does not happen again; if it is a ``replace`` failure, the node
    stays down until the later of the two repairs.
    """
    if not len(domains.time):
        return timeline
    counts = np.diff(domains.ptr)
    dom = np.repeat(np.arange(domains.nodes), counts)
    node_lists, time_l, mode_l, back_l = [], [], [], []
    for offset in range(nodes_per_domain):
        n = dom * nodes_per_domain + offset
        keep = n < timeline.nodes
        node_lists.append(n[keep])
        time_l.append(domains.time[keep])
        mode_l.append(domains.mode[keep])
        back_l.append(domains.back[keep])
    own = np.repeat(np.arange(timeline.nodes), np.diff(timeline.ptr))
    node = np.concatenate([own, *node_lists])
    time = np.concatenate([timeline.time, *time_l])
    mode = np.concatenate([timeline.mode, *mode_l])
    back = np.concatenate([timeline.back, *back_l])
    order = np.lexsort((time, node))
    node, time, mode, back = node[order], time[order], mode[order], back[order]
    # Walk the nodes in one pass: a failure while down merges into the repair in progress.
    keep_rows: list[int] = []
    last_node, down_until, last_row = -1, -np.inf, -1
    for i in range(len(time)):
        if node[i] != last_node:
            last_node, down_until, last_row = int(node[i]), -np.inf, -1
        if time[i] < down_until:
            if not np.isnan(back[i]) and back[i] > down_until:
                back[last_row] = back[i]
                down_until = back[i]
            continue
        keep_rows.append(i)
        if not np.isnan(back[i]):
            down_until, last_row = back[i], i
    rows = np.array(keep_rows, dtype=np.int64)
    counts_out = np.bincount(node[rows], minlength=timeline.nodes)
    return NodeTimeline(
        ptr=np.concatenate([[0], np.cumsum(counts_out)]).astype(np.int64),
        time=time[rows],
        mode=mode[rows],
        back=back[rows],
    )


def with_technicians(timeline: NodeTimeline, technicians: int, horizon_s: float) -> NodeTimeline:
    """Queue the repairs of ``timeline`` for ``technicians`` working first come, first served.

    A repair starts when a technician is free; the node is back that much later, and because it is
    as good as new only from then on, all its later failures move by the same delay (failures
    pushed past the horizon are dropped).

    >>> tl = NodeTimeline(np.array([0, 1, 2]), np.array([10.0, 20.0]), np.array([0, 0]), np.array([50.0, 60.0]))
    >>> with_technicians(tl, 1, 1e9).back.tolist()   # node 1 waits for node 0's repair (10-50 s)
    [50.0, 90.0]
    """
    shift = np.zeros(timeline.nodes)
    time, back = timeline.time.copy(), timeline.back.copy()
    heap = [
        (float(time[timeline.ptr[n]]), n, int(timeline.ptr[n]))
        for n in range(timeline.nodes)
        if timeline.ptr[n] < timeline.ptr[n + 1]
    ]
    heapq.heapify(heap)
    free = [0.0] * technicians
    keep = np.zeros(len(time), dtype=bool)
    while heap:
        t, n, i = heapq.heappop(heap)
        if t >= horizon_s:
            continue
        keep[i] = True
        time[i] = t
        if not np.isnan(back[i]):
            start = max(t, heapq.heappop(free))
            end = start + (timeline.back[i] - timeline.time[i])
            heapq.heappush(free, end)
            back[i] = end
            shift[n] += start - t
        if i + 1 < timeline.ptr[n + 1]:
            heapq.heappush(heap, (float(timeline.time[i + 1] + shift[n]), n, i + 1))
    node_of = np.repeat(np.arange(timeline.nodes), np.diff(timeline.ptr))
    counts = np.bincount(node_of[keep], minlength=timeline.nodes)
    return NodeTimeline(
        ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        time=time[keep],
        mode=timeline.mode[keep],
        back=back[keep],
    )

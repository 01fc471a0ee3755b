"""Failure clocks: when every node fails, why, and when it is back, drawn before the job runs.

A node's hardware fails and is repaired whether or not the job is using it at that moment, so
the whole hardware history of a replication is drawn up front, in vectors, from its own random
streams. The job never draws from them: changing a checkpoint setting cannot move a failure time
(common random numbers), and 100,000 GPUs cost a few numpy calls rather than a process each.

Each node owns one clock per component instance and mode (``sim.model.clocks``: which clocks, how
they are drawn, where they start). A ``restart`` failure renews only the clock that fired; a
``replace`` failure takes the node away for ``repair_hours``, after which the part that failed is new:
its clock starts again, and the server's other clocks resume at the age they had (their parts were
not replaced, and nothing ages in repair). So every clock is a renewal process of its own, and a
fleet in steady state stays in it beside any other modes; exponential clocks, which have no age, are
simply drawn again. Servers may differ in their failure rates (``sim.model.fleet``).

>>> import numpy as np
>>> from sim.config.scenario import FailureMode
>>> m = FailureMode(name="gpu", scope="gpu", mtbf_hours=1000.0, repair_hours=10.0)
>>> tl = node_timeline([m], nodes=4, gpus_per_node=8, horizon_s=3600.0 * 200,
...                    rng=np.random.default_rng(1))
>>> bool(np.all(np.diff(tl.time[tl.ptr[0]:tl.ptr[1]]) > 0))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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
    their mode in ``mode`` and the time the node is back in ``back``: ``nan`` when the node stays
    in service (a restart, or a fault the repair pipeline missed), ``inf`` when it is retired.
    ``stage`` holds the repair pipeline's flags of each row and ``auto`` the seconds its repair
    spends in the automated stage (``sim.model.repairs``); both are zero without a pipeline.
    """

    ptr: np.ndarray
    time: np.ndarray
    mode: np.ndarray
    back: np.ndarray
    stage: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    auto: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        # Timelines built without the pipeline's columns (drawn without one, or scripted) get zeros.
        if len(self.stage) != len(self.time):
            object.__setattr__(self, "stage", np.zeros(len(self.time), np.uint8))
        if len(self.auto) != len(self.time):
            object.__setattr__(self, "auto", np.zeros(len(self.time)))

    @property
    def nodes(self) -> int:
        return len(self.ptr) - 1

    @property
    def node(self) -> np.ndarray:
        """The node of every row."""
        return np.repeat(np.arange(self.nodes), np.diff(self.ptr))

    def select(self, keep: np.ndarray, time: np.ndarray | None = None, back: np.ndarray | None = None) -> NodeTimeline:
        """The rows where ``keep`` (a mask) holds, with ``time`` and ``back`` replaced if given.

        >>> tl = NodeTimeline(np.array([0, 2, 3]), np.array([1.0, 2.0, 3.0]), np.zeros(3, np.int64), np.full(3, np.nan))
        >>> tl.select(np.array([True, False, True])).ptr.tolist()
        [0, 1, 2]
        """
        counts = np.bincount(self.node[keep], minlength=self.nodes)
        return NodeTimeline(
            ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            time=(self.time if time is None else time)[keep],
            mode=self.mode[keep],
            back=(self.back if back is None else back)[keep],
            stage=self.stage[keep],
            auto=self.auto[keep],
        )

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
            stage=np.concatenate([p.stage for p in parts]),
            auto=np.concatenate([p.auto for p in parts]),
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
        """Repair time (s) of each failure; ignored where the server is not pulled; nan: it stays after all."""
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
            # Drawn only where asked, so fixed repairs draw nothing and keep their streams.
            duration[spread] = lognormal(duration[spread], self.sigma[m][spread], self.rng)
        return duration


def lognormal(mean: np.ndarray, sigma: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Lognormal times of the given means: mu = log(mean) - sigma^2 / 2, one normal draw each."""
    sg = np.broadcast_to(sigma, np.shape(mean))
    out: np.ndarray = mean * np.exp(sg * rng.standard_normal(sg.size) - sg**2 / 2)
    return out


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
    aged = np.flatnonzero(cols.aged)  # Weibull clocks: their age survives a repair of another part
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
        old_rate = None if col_rate is None or not aged.size else col_rate[active][:, aged]
        duration = repair(Round(active, t, j, m, rep), col_rate)
        back = np.where(rep, t + duration, np.nan)
        rep = rep & ~np.isnan(back)  # a fault the repair pipeline missed leaves its server in service
        out_node.append(active)
        out_time.append(t)
        out_mode.append(m)
        out_back.append(back)
        if rep.any():
            # Back from repair: the part that failed is new, its clock starts again. The other Weibull
            # clocks resume at the age they had (their parts were not replaced; a rate the repair changed
            # scales what is left); exponential ones are memoryless, so they are simply drawn again.
            gone = active[rep]
            left = clock[gone][:, aged] - t[rep][:, None]
            clock[gone] = back[rep][:, None] + cols.draw(rng, gone.size, None if col_rate is None else col_rate[gone])
            if aged.size:
                if old_rate is not None and col_rate is not None:
                    new_rate = col_rate[gone][:, aged]
                    with np.errstate(invalid="ignore", divide="ignore"):
                        stretched = left * old_rate[rep] / new_rate
                    # A clock of rate 0 never fails, whatever it is multiplied by (inf x 0 is no time).
                    left = np.where(old_rate[rep] == new_rate, left, np.nan_to_num(stretched, nan=np.inf))
                fired = aged[None, :] == j[rep][:, None]
                clock[gone[:, None], aged[None, :]] = np.where(
                    fired, clock[gone][:, aged], back[rep][:, None] + left
                )
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

    Domain ``d`` covers nodes ``d * nodes_per_domain`` up to the next domain (see ``with_outages``
    for failures that strike a node already down).
    """
    if not len(domains.time):
        return timeline
    dom = domains.node
    parts = []
    for offset in range(nodes_per_domain):
        n = dom * nodes_per_domain + offset
        keep = n < timeline.nodes
        parts.append((n[keep], domains.time[keep], domains.mode[keep], domains.back[keep]))
    node, time, mode, back = (np.concatenate(column) for column in zip(*parts, strict=True))
    return with_outages(timeline, node, time, mode, back)


def with_outages(
    timeline: NodeTimeline,
    node: np.ndarray,
    time: np.ndarray,
    mode: np.ndarray,
    back: np.ndarray,
    stage: np.ndarray | None = None,
    auto: np.ndarray | None = None,
) -> NodeTimeline:
    """Add failure rows that reach nodes from outside their own clocks (a rack, a misdiagnosis).

    A failure that starts while its node is already down does not happen again; if it would keep
    the node down longer (a later return, or retirement), the node stays down until then. The
    node's own clocks run on: nothing of it was replaced.

    >>> tl = NodeTimeline(np.array([0, 1]), np.array([50.0]), np.array([0]), np.array([80.0]))
    >>> out = with_outages(tl, np.array([0]), np.array([40.0]), np.array([1]), np.array([60.0]))
    >>> out.time.tolist(), out.back.tolist()   # down 40-60 s, so the own failure at 50 s does not happen
    ([40.0], [80.0])
    """
    extra = NodeTimeline(
        ptr=np.zeros(1, np.int64),
        time=time,
        mode=mode,
        back=back,
        stage=np.zeros(len(time), np.uint8) if stage is None else stage,
        auto=np.zeros(len(time)) if auto is None else auto,
    )
    own_node = timeline.node
    hit = np.isin(own_node, node)  # only the nodes that receive rows need the walk
    columns = ("time", "mode", "back", "stage", "auto")
    rows = {c: np.concatenate([getattr(timeline, c)[hit], getattr(extra, c)]) for c in columns}
    n = np.concatenate([own_node[hit], node])
    order = np.lexsort((rows["time"], n))
    n = n[order]
    rows = {c: v[order] for c, v in rows.items()}
    t, b = rows["time"], rows["back"]
    keep = np.zeros(len(t), dtype=bool)
    last_node, down_until, last_row = -1, -np.inf, -1
    for i in range(len(t)):
        if n[i] != last_node:
            last_node, down_until, last_row = int(n[i]), -np.inf, -1
        if t[i] < down_until:
            if not np.isnan(b[i]) and b[i] > down_until:
                b[last_row] = b[i]
                down_until = b[i]
            continue
        keep[i] = True
        if not np.isnan(b[i]):
            down_until, last_row = b[i], i
    node_all = np.concatenate([own_node[~hit], n[keep]])
    merged = {c: np.concatenate([getattr(timeline, c)[~hit], v[keep]]) for c, v in rows.items()}
    order = np.lexsort((merged["time"], node_all))
    counts = np.bincount(node_all, minlength=timeline.nodes)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return NodeTimeline(ptr=ptr, **{c: v[order] for c, v in merged.items()})

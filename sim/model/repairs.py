"""The repair pipeline: how long a pulled server is out, who repairs it, and whether the repair works.

Without ``repair.auto_hours`` a pulled server spends its mode's ``repair_hours`` (lognormal with
``repair_sigma``) in a technician's hands. With it, an automated stage comes first (mean
``auto_hours``, lognormal ``auto_sigma``, no technician); with ``escalate_probability`` it cannot fix
the fault and a technician's manual repair (the mode's ``repair_hours``) follows. The stage that ends
the repair reports success but leaves the fault with ``auto_fail_probability`` or
``manual_fail_probability`` (AIReSim's semantics). Like the failure clocks, every outcome is drawn
before the job runs, from streams of its own.

Each row of a ``NodeTimeline`` carries the pipeline's flags (``stage``, the bits below) and the
seconds of its repair spent in the automated stage (``auto``): the technician queue
(``with_technicians``) and the per-replication figures (``fleet_metrics``) read them.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config.actions import ACTIONS
from sim.config.scenario import FailureMode, Repair
from sim.model.clocks import clock_columns
from sim.model.failures import ModeRepairs, NodeTimeline, Round, lognormal, node_timeline

#: The repair went through the automated stage.
AUTO = np.uint8(1)
#: The automated stage escalated it to a technician's manual repair.
ESCALATED = np.uint8(2)
#: The repair reported success but left the fault.
UNFIXED = np.uint8(4)
#: Misdiagnosed: this faulty server stayed in service (its row pulls nothing; ``back`` is nan).
MISSED = np.uint8(8)
#: Misdiagnosed: this healthy server was pulled for another's fault.
WRONG = np.uint8(16)

HOUR = 3600.0

@dataclass
class Stages:
    """The stages of some repairs: total time (s), time in the automated stage (s), flags."""

    duration: np.ndarray
    auto: np.ndarray
    stage: np.ndarray
    by_auto: np.ndarray  # the automated stage ended the repair (no escalation)


def stages(repair: Repair, manual_s: np.ndarray, rng: np.random.Generator) -> Stages:
    """The automated stage and its escalation for repairs whose manual stage would take ``manual_s``.

    Without ``auto_hours`` a repair is its manual stage alone. The draws (escalations, then automated
    times if ``auto_sigma > 0``) are one per repair whatever the outcome, so the stream stays paired.
    """
    k = len(manual_s)
    if repair.auto_hours is None:
        return Stages(manual_s, np.zeros(k), np.zeros(k, np.uint8), np.zeros(k, dtype=bool))
    escalate = rng.random(k) < repair.escalate_probability
    auto = np.full(k, repair.auto_hours * HOUR)
    if repair.auto_sigma > 0:
        auto = lognormal(auto, repair.auto_sigma, rng)
    flags = np.where(escalate, AUTO | ESCALATED, AUTO).astype(np.uint8)
    return Stages(auto + np.where(escalate, manual_s, 0.0), auto, flags, ~escalate)


class Pipeline:
    """The repair pipeline as the ``Repairs`` hook of ``node_timeline``: one per call (it keeps the
    rows' stages for ``annotate``).

    Manual repair times are the mode's (``ModeRepairs``, drawn from the node stream as without a
    pipeline); the automated stage, escalations, failed repairs and misdiagnoses come from ``rng``,
    in vectors, one draw of each kind per pulled server and round. A fault left in a server (a
    failed repair, or a misdiagnosis) raises the rate of the clock that fired by
    ``unfixed_multiplier`` until the server's next failure: after a failed repair that clock restarts at
    the server's return, raised (the others resume, as after any repair); after a misdiagnosis that clock
    alone restarts, raised. ``cured``: the servers' rate multipliers per mode once a repair that works has made a bad
    server good (None: a repair does not change them).
    """

    def __init__(
        self,
        modes: Sequence[FailureMode],
        repair: Repair,
        nodes: int,
        gpus_per_node: int,
        node_rng: np.random.Generator,
        rng: np.random.Generator,
        cured: np.ndarray | None = None,
    ) -> None:
        self.manual = ModeRepairs(modes, node_rng)
        self.repair = repair
        self.rng = rng
        # The hook sees rates per clock (node_timeline's columns), not per mode.
        columns = clock_columns(modes, gpus_per_node, ("gpu", "node")).mode
        self.cured = None if cured is None or not repair.cures_bad_nodes else cured[:, columns]
        self.misdiagnosable = np.array([ACTIONS[m.action].leaves_job_at_once for m in modes], dtype=bool)
        self.raised = np.full(nodes, -1, dtype=np.int64)  # per server: the clock left faulty, or -1
        self.before = np.zeros(nodes)  # that clock's rate before it was raised
        self.rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def __call__(self, failures: Round, rate: np.ndarray | None) -> np.ndarray:
        r = self.repair
        node = failures.node
        duration = self.manual(failures, rate)
        flags = np.zeros(len(node), np.uint8)
        auto = np.zeros(len(node))
        if rate is not None:
            # The raise lasts until the server's next failure: this one.
            back = np.flatnonzero(self.raised[node] >= 0)
            if back.size:
                n = node[back]
                rate[n, self.raised[n]] = self.before[n]
                self.raised[n] = -1
        pulled = np.flatnonzero(failures.pulls)
        if pulled.size:
            st = stages(r, duration[pulled], self.rng)
            duration = duration.copy()
            duration[pulled] = st.duration
            auto[pulled] = st.auto
            flags[pulled] = st.stage
            p = np.where(st.by_auto, r.auto_fail_probability, r.manual_fail_probability)
            unfixed = np.zeros(pulled.size, dtype=bool)
            if r.auto_fail_probability > 0 or r.manual_fail_probability > 0:
                unfixed = self.rng.random(pulled.size) < p
            missed = np.zeros(pulled.size, dtype=bool)
            if r.misdiagnosis_probability > 0:
                missed = self.rng.random(pulled.size) < r.misdiagnosis_probability
                missed &= self.misdiagnosable[failures.mode[pulled]]
            flags[pulled[unfixed]] |= UNFIXED
            gone = pulled[missed]
            flags[gone], auto[gone], duration[gone] = MISSED, 0.0, np.nan
            faulty = pulled[unfixed | missed]
            if rate is not None and self.cured is not None:
                fixed = node[pulled[~(unfixed | missed)]]
                rate[fixed] = self.cured[fixed]
            if faulty.size:
                assert rate is not None, "a pipeline that leaves faults needs a rate array"
                n, col = node[faulty], failures.column[faulty]
                self.before[n] = rate[n, col]
                self.raised[n] = col
                rate[n, col] *= r.unfixed_multiplier
        self.rows.append((node, failures.time, flags, auto))
        return duration

    def annotate(self, timeline: NodeTimeline) -> NodeTimeline:
        """``timeline`` (drawn with this hook) with the stages of its rows."""
        if not self.rows:
            return timeline
        node, time, flags, auto = (np.concatenate(c) for c in zip(*self.rows, strict=True))
        order = np.lexsort((time, node))  # the order node_timeline gives its rows
        assert np.array_equal(time[order], timeline.time), "annotate needs the timeline this hook drew"
        return NodeTimeline(timeline.ptr, timeline.time, timeline.mode, timeline.back, flags[order], auto[order])


def server_timeline(
    modes: Sequence[FailureMode],
    nodes: int,
    gpus_per_node: int,
    horizon_s: float,
    node_rng: np.random.Generator,
    repair: Repair,
    repair_rng: np.random.Generator,
    rate: np.ndarray | None = None,
    cured: np.ndarray | None = None,
    **clock_options: Any,
) -> NodeTimeline:
    """``node_timeline`` of ``nodes`` servers through the repair pipeline (``Pipeline``).

    ``rate`` and ``cured``: the servers' rate multipliers per mode as drawn and once cured (None:
    like servers); ``clock_options`` go to ``node_timeline``. With the pipeline off this is
    ``node_timeline`` itself, draw for draw.
    """
    if not repair.pipeline:
        return node_timeline(modes, nodes, gpus_per_node, horizon_s, node_rng, rate=rate, **clock_options)
    if rate is None and repair.leaves_faults:
        rate = np.ones((nodes, len(modes)))  # a fault left in a server raises its rate
    hook = Pipeline(modes, repair, nodes, gpus_per_node, node_rng, repair_rng, cured)
    drawn = node_timeline(modes, nodes, gpus_per_node, horizon_s, node_rng, rate=rate, repairs=hook, **clock_options)
    return hook.annotate(drawn)


def needs_technician(timeline: NodeTimeline) -> np.ndarray:
    """Rows whose repair takes a technician: a server back after repair, unless the automated stage
    alone repaired it (a retired server, back ``inf``, is never repaired)."""
    auto_only = (timeline.stage & AUTO).astype(bool) & ~(timeline.stage & ESCALATED).astype(bool)
    needs: np.ndarray = np.isfinite(timeline.back) & ~auto_only
    return needs


def with_technicians(timeline: NodeTimeline, technicians: int, horizon_s: float) -> NodeTimeline:
    """Queue the manual repairs of ``timeline`` for ``technicians`` working first come, first served.

    A repair that needs a technician (``needs_technician``) asks for one when its automated stage is
    over (at once without one); the node is back that much later, and because its clocks do not run
    while it is in repair, all its later failures move by the same delay (failures pushed past the
    horizon are dropped).

    >>> tl = NodeTimeline(np.array([0, 1, 2]), np.array([10.0, 20.0]), np.array([0, 0]), np.array([50.0, 60.0]))
    >>> with_technicians(tl, 1, 1e9).back.tolist()   # node 1 waits for node 0's repair (10-50 s)
    [50.0, 90.0]
    """
    shift = np.zeros(timeline.nodes)
    t0, b0, auto = timeline.time, timeline.back, timeline.auto
    time, back = t0.copy(), b0.copy()
    needs = needs_technician(timeline)
    ptr = timeline.ptr
    heap = [(float(t0[ptr[n]]), n, int(ptr[n])) for n in range(timeline.nodes) if ptr[n] < ptr[n + 1]]
    heapq.heapify(heap)
    free = [0.0] * technicians
    keep = np.zeros(len(time), dtype=bool)
    while heap:
        t, n, i = heapq.heappop(heap)
        if t >= horizon_s:
            continue
        keep[i] = True
        time[i] = t
        if needs[i]:
            ready = t + auto[i]
            start = max(ready, heapq.heappop(free))
            end = start + (b0[i] - t0[i] - auto[i])
            heapq.heappush(free, end)
            back[i] = end
            shift[n] += start - ready
        elif not np.isnan(b0[i]):
            back[i] = t + (b0[i] - t0[i])  # repaired without a technician (or retired: inf)
        if i + 1 < ptr[n + 1]:
            heapq.heappush(heap, (float(t0[i + 1] + shift[n]), n, i + 1))
    return timeline.select(keep, time=time, back=back)


def fleet_metrics(timeline: NodeTimeline, modes: Sequence[FailureMode], horizon_s: float) -> dict[str, float]:
    """Retirements, repairs by stage, failed repairs, misdiagnoses and node-hours in repair.

    Everything is counted at the failure that pulled the server (all within the horizon); the
    node-hours in repair are those before the horizon, from the moment the server is out for repair
    (a straggler: once found) to its return, rack and switch outages included. ``spares_consumed``
    is the job's (``sim.model.cluster``): 0 here.

    >>> from sim.config.scenario import FailureMode
    >>> m = FailureMode(name="gpu", scope="gpu", mtbf_hours=1000.0, repair_hours=10.0)
    >>> tl = NodeTimeline(np.array([0, 2]), np.array([0.0, 7200.0]), np.array([0, 0]), np.array([3600.0, np.inf]))
    >>> fm = fleet_metrics(tl, [m], horizon_s=1e9)
    >>> fm["nodes_retired"], fm["repairs_manual"], fm["repair_node_hours"]
    (1.0, 1.0, 1.0)
    """
    stage, back, mode = timeline.stage, timeline.back, timeline.mode
    # A run that reached its target ends before the horizon: what came after its end does not count.
    within = timeline.time <= horizon_s
    own = np.array([m.scope in ("gpu", "node") for m in modes], dtype=bool)[mode] & within
    repaired = own & np.isfinite(back)
    auto = (stage & AUTO).astype(bool)
    escalated = (stage & ESCALATED).astype(bool)
    found_s = np.array([m.detect_minutes * 60.0 if ACTIONS[m.action].repair_after_detect else 0.0 for m in modes])
    out_from = np.minimum(timeline.time + found_s[mode], horizon_s)
    down = np.isfinite(back)
    in_repair = np.maximum(np.minimum(back[down], horizon_s) - out_from[down], 0.0)
    return {
        "nodes_retired": float(np.sum(np.isinf(back) & within)),
        "spares_consumed": 0.0,
        "repairs_auto": float(np.sum(repaired & auto)),
        "repairs_manual": float(np.sum(repaired & (escalated | ~auto))),
        "failed_repairs": float(np.sum(repaired & (stage & UNFIXED).astype(bool))),
        "misdiagnoses": float(np.sum((stage & MISSED).astype(bool) & within)),
        "repair_node_hours": float(in_repair.sum() / HOUR),
    }

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

import numpy as np

from sim.config.actions import ACTIONS
from sim.config.scenario import FailureMode
from sim.model.failures import NodeTimeline

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

#: The per-replication figures of the fleet, in the order of the runs table.
FLEET_METRICS: tuple[str, ...] = (
    "nodes_retired",
    "spares_consumed",
    "repairs_auto",
    "repairs_manual",
    "failed_repairs",
    "misdiagnoses",
    "repair_node_hours",
)


def needs_technician(timeline: NodeTimeline) -> np.ndarray:
    """Rows whose repair takes a technician: a server back after repair, unless the automated stage
    alone repaired it (a retired server, back ``inf``, is never repaired)."""
    auto_only = (timeline.stage & AUTO).astype(bool) & ~(timeline.stage & ESCALATED).astype(bool)
    return np.isfinite(timeline.back) & ~auto_only


def with_technicians(timeline: NodeTimeline, technicians: int, horizon_s: float) -> NodeTimeline:
    """Queue the manual repairs of ``timeline`` for ``technicians`` working first come, first served.

    A repair that needs a technician (``needs_technician``) asks for one when its automated stage is
    over (at once without one); the node is back that much later, and because it is as good as new
    only from then on, all its later failures move by the same delay (failures pushed past the
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
    own = np.array([m.scope in ("gpu", "node") for m in modes], dtype=bool)[mode]
    repaired = own & np.isfinite(back)
    auto = (stage & AUTO).astype(bool)
    escalated = (stage & ESCALATED).astype(bool)
    found_s = np.array([m.detect_minutes * 60.0 if ACTIONS[m.action].repair_after_detect else 0.0 for m in modes])
    out_from = np.minimum(timeline.time + found_s[mode], horizon_s)
    down = np.isfinite(back)
    in_repair = np.maximum(np.minimum(back[down], horizon_s) - out_from[down], 0.0)
    return {
        "nodes_retired": float(np.sum(np.isinf(back))),
        "spares_consumed": 0.0,
        "repairs_auto": float(np.sum(repaired & auto)),
        "repairs_manual": float(np.sum(repaired & (escalated | ~auto))),
        "failed_repairs": float(np.sum(repaired & (stage & UNFIXED).astype(bool))),
        "misdiagnoses": float(np.sum((stage & MISSED).astype(bool))),
        "repair_node_hours": float(in_repair.sum() / HOUR),
    }

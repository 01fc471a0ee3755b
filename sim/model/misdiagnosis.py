"""Misdiagnosis: the wrong server is pulled for a fault, and the faulty one stays in service.

The repair pipeline (``sim.model.repairs.Pipeline``) marks the faults it misdiagnoses: their rows
pull nothing (``back`` nan, flag ``MISSED``) and the faulty server runs on with its failure rate
raised. This pass adds the other half: for each of them, in time order, a healthy server chosen at
random from the whole fleet (the job's servers and the spares, whose membership is not known before
the job runs) goes down at that moment for a repair of the same mode, through the same pipeline
stages (it was healthy, so the repair cannot leave a fault). Its row is a failure like any other: if
the job holds it, the job loses it. The victim's own clocks run on (nothing of it was replaced);
its own failures that fall inside that repair do not happen (``with_outages``).

The choice: a uniform draw picks a server, and the first one from there on (cyclically) that is up
at that moment and is not the faulty server is pulled. Retired servers are down for good, so they
are never chosen; a fault missed while its server is itself in repair for another's fault does not
happen. Drawn from a stream of its own, after retirement, so the draws do not depend on the job.

>>> import numpy as np
>>> from sim.config.scenario import FailureMode, Repair
>>> from sim.model.repairs import MISSED, WRONG
>>> m = FailureMode(name="gpu", scope="gpu", mtbf_hours=1000.0, repair_hours=10.0)
>>> tl = NodeTimeline(np.array([0, 1, 1]), np.array([100.0]), np.array([0]), np.array([np.nan]), np.array([MISSED]))
>>> out = misdiagnose(tl, [m], Repair(misdiagnosis_probability=0.5), np.random.default_rng(0))
>>> out.node.tolist(), out.back.tolist(), bool(out.stage[1] & WRONG)
([0, 1], [nan, 36100.0], True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.config.scenario import FailureMode, Repair
from sim.model.failures import ModeRepairs, NodeTimeline, Round, with_outages
from sim.model.repairs import MISSED, WRONG, stages


def misdiagnose(
    timeline: NodeTimeline, modes: Sequence[FailureMode], repair: Repair, rng: np.random.Generator
) -> NodeTimeline:
    """``timeline`` with a healthy server pulled for every fault the pipeline missed."""
    missed = np.flatnonzero(timeline.stage & MISSED)
    if not missed.size:
        return timeline
    node = timeline.node
    missed = missed[np.lexsort((node[missed], timeline.time[missed]))]  # time order
    k = missed.size
    pick = rng.random(k)
    mode = timeline.mode[missed]
    failures = Round(node[missed], timeline.time[missed], np.zeros(k, np.int64), mode, np.ones(k, dtype=bool))
    manual = ModeRepairs(modes, rng)(failures, None)
    st = stages(repair, manual, rng)
    ptr, times, back = timeline.ptr, timeline.time, timeline.back
    fleet = timeline.nodes
    outages: dict[int, list[tuple[float, float]]] = {}

    def down(n: int, t: float) -> bool:
        if any(a <= t < b for a, b in outages.get(n, ())):
            return True
        i = int(np.searchsorted(times[ptr[n] : ptr[n + 1]], t, side="right")) - 1
        return i >= 0 and bool(back[ptr[n] + i] > t)  # nan (stays in service) compares False

    rows: list[tuple[int, float, int, float, int, float]] = []
    for i, row in enumerate(missed):
        source, t = int(node[row]), float(times[row])
        if any(a <= t < b for a, b in outages.get(source, ())):
            continue  # the faulty server is itself in repair for another's fault: no failure
        start = int(pick[i] * fleet)
        victim = next(
            (v for v in ((start + step) % fleet for step in range(fleet)) if v != source and not down(v, t)), None
        )
        if victim is None:
            continue  # no server up to pull
        end = t + float(st.duration[i])
        outages.setdefault(victim, []).append((t, end))
        rows.append((victim, t, int(mode[i]), end, int(st.stage[i] | WRONG), float(st.auto[i])))
    if not rows:
        return timeline
    n, t0, m, b, s, a = (np.array(c) for c in zip(*rows, strict=True))
    return with_outages(timeline, n, t0, m.astype(np.int64), b, s.astype(np.uint8), a)

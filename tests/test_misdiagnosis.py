"""Misdiagnosis: a healthy server is pulled for a missed fault; hand-made histories and a whole replication."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import scripted, tiny

from sim.config.scenario import FailureMode, Repair
from sim.experiment.runner import play
from sim.model.failures import NodeTimeline
from sim.model.misdiagnosis import misdiagnose
from sim.model.repairs import AUTO, MISSED, WRONG, fleet_metrics

M = [FailureMode(name="gpu", scope="gpu", mtbf_hours=1000.0, repair_hours=10.0)]
REPAIR = Repair(misdiagnosis_probability=0.5)


def timeline(nodes: int, rows: list[tuple[int, float, float, int]]) -> NodeTimeline:
    """(node, time, back, stage) rows of mode 0."""
    rows = sorted(rows)
    counts = np.bincount([r[0] for r in rows], minlength=nodes)
    return NodeTimeline(
        ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        time=np.array([r[1] for r in rows]),
        mode=np.zeros(len(rows), np.int64),
        back=np.array([r[2] for r in rows]),
        stage=np.array([r[3] for r in rows], dtype=np.uint8),
    )


def rows_of(tl: NodeTimeline, n: int) -> list[tuple[float, float, int]]:
    s = slice(tl.ptr[n], tl.ptr[n + 1])
    return list(zip(tl.time[s].tolist(), tl.back[s].tolist(), tl.stage[s].tolist(), strict=True))


def test_the_victim_is_a_server_up_at_the_time() -> None:
    """Whatever the draw, the faulty server and servers down (in repair, retired) are passed over."""
    tl = timeline(4, [(0, 100.0, np.nan, MISSED), (1, 50.0, 500.0, 0), (2, 20.0, np.inf, 0), (3, 200.0, 300.0, 0)])
    for seed in range(20):
        out = misdiagnose(tl, M, REPAIR, np.random.default_rng(seed))
        # Server 3 is pulled at 100 s for the 10-hour repair; its own failure at 200 s falls inside it.
        assert rows_of(out, 3) == [(100.0, 36100.0, WRONG)]
        assert rows_of(out, 0) == [(100.0, math.nan, MISSED)] or math.isnan(rows_of(out, 0)[0][1])
        assert rows_of(out, 1) == rows_of(tl, 1) and rows_of(out, 2) == rows_of(tl, 2)


def test_a_fault_missed_while_its_server_is_in_repair_does_not_happen() -> None:
    """Server 1, pulled for server 0's fault at 100 s, is in repair at 200 s: its own missed fault is dropped."""
    tl = timeline(2, [(0, 100.0, np.nan, MISSED), (1, 200.0, np.nan, MISSED)])
    out = misdiagnose(tl, M, REPAIR, np.random.default_rng(0))
    assert rows_of(out, 1) == [(100.0, 36100.0, WRONG)]
    assert fleet_metrics(out, M, 1e9)["misdiagnoses"] == 1.0


def test_victims_go_through_the_pipeline_stages() -> None:
    """A victim's repair is drawn through the same stages: automated, then manual with the escalation odds."""
    r = Repair(auto_hours=1.0, escalate_probability=0.0, misdiagnosis_probability=0.5)
    tl = timeline(3, [(0, 100.0, np.nan, MISSED)])
    out = misdiagnose(tl, M, r, np.random.default_rng(1))
    victim = out.node[(out.stage & WRONG) > 0][0]
    assert victim in (1, 2)
    assert rows_of(out, int(victim)) == [(100.0, 3700.0, WRONG | AUTO)]


def test_nothing_missed_draws_nothing() -> None:
    """Without missed faults the timeline is returned as it is."""
    tl = timeline(2, [(0, 100.0, 200.0, 0)])
    assert misdiagnose(tl, M, REPAIR, np.random.default_rng(0)) is tl


def test_a_replication_with_misdiagnoses_counts_them_and_keeps_its_ledger() -> None:
    """On a busy little fleet, misdiagnoses happen at about their probability and every GPU-second is booked."""
    import sim

    s = tiny(
        {
            "cluster.spare_nodes": 4,
            "run.duration_days": 60.0,
            "failure.1.mtbf_hours": 200.0,
            "repair.misdiagnosis_probability": 0.3,
        }
    )
    result = sim.run(s, replications=4, seed=2)
    for rep in result.replications:
        m = rep.metrics
        pulls = m["repairs_manual"]  # every pull is a manual repair here, the victims' included
        assert m["misdiagnoses"] > 0 and pulls > 0
        assert abs(sum(rep.gpu_seconds.values()) - s.cluster.gpus * s.horizon_seconds) < 1e-6 * s.horizon_seconds
    runs = result.runs
    share = runs["misdiagnoses"].sum() / runs["repairs_manual"].sum()
    n = runs["repairs_manual"].sum()
    assert abs(share - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n)


@pytest.mark.parametrize(("faulty", "pulled"), [(0, 1), (1, 0), (2, 0)])
def test_the_job_stops_once_and_loses_only_the_pulled_server(faulty: int, pulled: int) -> None:
    """A missed fault (back nan) and the healthy server pulled at the same moment are one interruption; the
    job replaces the pulled server only (a spare's missed fault pulling a job server stops it too)."""
    s = tiny({"cluster.spare_nodes": 2})
    rows = [(faulty, 3600.0, 1, math.nan), (pulled, 3600.0, 1, 7200.0)]
    rep = play(s, scripted(s.fleet_nodes, rows), np.zeros(0), np.zeros(0, np.int64))
    assert rep.metrics["interruptions"] == 1.0
    assert rep.metrics["spares_consumed"] == 1.0
    assert math.isclose(sum(rep.gpu_seconds.values()), s.cluster.gpus * s.horizon_seconds, rel_tol=1e-9)

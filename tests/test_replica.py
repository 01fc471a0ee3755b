"""Replica-level recovery against its closed form, a scripted case, and its ledger."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import scripted, tiny

import sim
from sim.config.errors import ScenarioError
from sim.config.loading import scenario_from_dict, with_overrides
from sim.config.scenario import Scenario
from sim.experiment.runner import play


def replica_scenario(replicas: int, mtbf_h: float, stall_h: float, restart_h: float, days: float = 200) -> Scenario:
    """Node-scope transient faults on one-node replicas, no detection delay, no spares needed."""
    return scenario_from_dict(
        {
            "name": "replica",
            "run": {"duration_days": days},
            "cluster": {"gpus": 8 * replicas},
            "checkpoint": {"interval_minutes": 30, "write_seconds": 60},
            "restart": {"fixed_minutes": restart_h * 60},
            "recovery": {"strategy": "replica", "stall_minutes": stall_h * 60},
            "failure": [{"name": "fault", "scope": "node", "mtbf_hours": mtbf_h, "action": "restart"}],
        }
    )


@pytest.mark.parametrize(
    ("replicas", "stall_h", "restart_h", "n"),
    [
        (4, 0.1, 0.5, 20),  # make test's: fewer replications, the same band in standard errors
        pytest.param(4, 0.1, 0.5, 40, marks=pytest.mark.slow),
        pytest.param(6, 0.05, 1.0, 40, marks=pytest.mark.slow),
    ],
)
def test_matches_the_closed_form(replicas: int, stall_h: float, restart_h: float, n: int) -> None:
    """ETTR = exp(-R lam S - lam D) tau / (tau + delta): a replica computes when no replica failed in
    the last S and it did not fail in the S + D before (see sim/replica.py)."""
    lam = 1 / 10.0
    result = sim.run(replica_scenario(replicas, 1 / lam, stall_h, restart_h), replications=n, seed=4)
    row = result.summary.loc["ettr"]
    expected = math.exp(-replicas * lam * stall_h - lam * restart_h) * 1800 / 1860
    se = row["std"] / math.sqrt(n)
    # Two points: family-wise 95% band; all-replicas-out outages (which roll back) are below 1e-4 here.
    assert abs(row["mean"] - expected) < 2.24 * se + 1e-4, (row["mean"], expected, se)
    assert result.summary.loc["fraction_lost", "mean"] < 1e-4


def test_scripted_failure() -> None:
    """One fault on replica 1 of 2 (S = 6 min, D = 5 min): both stall 360 s, then replica 1 is out 300 s more."""
    s = tiny(
        {"recovery.strategy": "replica", "recovery.stall_minutes": 6.0, "checkpoint.write_seconds": 0.0},
    )
    rep = play(s, scripted(3, [(1, 5000.0, 1, 8600.0)]), np.zeros(0), np.zeros(0, np.int64))
    g = rep.gpu_seconds
    assert g["restart"] == pytest.approx(16 * 360 + 8 * 300)
    assert g["lost"] == 0.0 and g["wait"] == 0.0
    assert g["useful"] == pytest.approx(16 * 86400 - 16 * 360 - 8 * 300)
    assert rep.interruptions_by_cause == {"gpu fault": 1.0}


def test_waits_for_a_spare_node() -> None:
    """Without spares a replaced node's replica waits for the repair while the other one computes."""
    s = tiny(
        {
            "recovery.strategy": "replica",
            "recovery.stall_minutes": 6.0,
            "cluster.spare_nodes": 0,
            "checkpoint.write_seconds": 0.0,
        }
    )
    rep = play(s, scripted(2, [(1, 5000.0, 1, 8600.0)]), np.zeros(0), np.zeros(0, np.int64))
    g = rep.gpu_seconds
    # Node 1 is back at 8,600 s: replica 1 waits 8,600 - 5,360 s, then restarts 300 s.
    assert g["wait"] == pytest.approx(8 * (8600 - 5360))
    assert g["restart"] == pytest.approx(16 * 360 + 8 * 300)
    assert sum(g.values()) == pytest.approx(16 * 86400, rel=1e-12)


def test_losing_every_replica_rolls_back() -> None:
    """When both replicas are out at once, the work since the last checkpoint is lost."""
    s = tiny({"recovery.strategy": "replica", "recovery.stall_minutes": 6.0})
    rep = play(s, scripted(3, [(0, 5000.0, 1, 8600.0), (1, 5100.0, 1, 8700.0)]), np.zeros(0), np.zeros(0, np.int64))
    # The first checkpoint committed at 3,660 s; from then to 5,000 s both computed 1,340 s, and
    # replica 1 alone 0 s more (stalled 5,000-5,460).
    assert rep.gpu_seconds["lost"] == pytest.approx(16 * 1340)
    assert sum(rep.gpu_seconds.values()) == pytest.approx(16 * 86400, rel=1e-12)


def test_losing_every_replica_rolls_back_past_checkpoints_held_in_memory_only() -> None:
    """Regression (found by the invariant mixes): with method memory, a total outage loses the work since
    the last persisted checkpoint, including what only peers' memory held (was: a negative lost)."""
    s = tiny(
        {
            "recovery.strategy": "replica",
            "checkpoint.interval_minutes": 10.0,
            "checkpoint.write_seconds": 0.0,
            "checkpoint.method": "memory",
            "checkpoint.snapshot_seconds": 0.0,
            "checkpoint.persist_every": 3,
            "restart.memory_load_seconds": 0.0,
        }
    )
    rep = play(s, scripted(3, [(0, 2700.0, 1, 9000.0), (1, 2700.0, 1, 9000.0)]), np.zeros(0), np.zeros(0, np.int64))
    # Checkpoint 3 (at 30 min) is persisted, checkpoint 4 (40 min) only in memory: 15 minutes of both are lost.
    assert rep.gpu_seconds["lost"] == pytest.approx(16 * 900)
    assert sum(rep.gpu_seconds.values()) == pytest.approx(16 * 86400, rel=1e-12)


def test_recovers_most_of_what_sync_loses() -> None:
    """At 16k GPUs with the Llama 3 mix, replica recovery with a 3-minute stall beats sync restarts."""
    base = tiny(
        {
            "failure_preset": "llama3",
            "cluster.gpus": 16384,
            "cluster.spare_nodes": 40,
            "run.duration_days": 10,
            "workload.tensor_parallel": 8,
            "workload.pipeline_parallel": 16,
        }
    )
    sync = sim.run(base, replications=3, seed=2)
    rep = sim.run(
        with_overrides(base, {"recovery.strategy": "replica", "recovery.stall_minutes": 3}),
        replications=3,
        seed=2,
    )
    lost_sync = 1 - sync.summary.loc["ettr", "mean"]
    lost_rep = 1 - rep.summary.loc["ettr", "mean"]
    assert lost_rep < 0.6 * lost_sync
    assert rep.summary.loc["interruptions", "mean"] == pytest.approx(
        sync.summary.loc["interruptions", "mean"], rel=0.05
    )


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"workload.tensor_parallel": 3}, "does not divide cluster.gpus"),
        ({"workload.tensor_parallel": 12, "cluster.gpus": 48}, "must fill whole nodes"),
        ({"workload.tensor_parallel": 16}, "at least two data-parallel replicas"),
    ],
)
def test_bad_layouts(overrides: dict[str, object], needle: str) -> None:
    """A replica layout that does not fit the cluster is refused with the key to change."""
    with pytest.raises(ScenarioError, match=needle):
        tiny({"recovery.strategy": "replica", **overrides})


Rows = list[tuple[int, float, int, float]]


def paired(overrides: dict[str, object], rows: Rows, **sections: object) -> tuple[dict[str, float], dict[str, float]]:
    """The ledgers of the same failures under the restart and the replica strategy."""
    out = []
    for strategy in ("restart", "replica"):
        s = tiny({**overrides, "recovery.strategy": strategy}, **sections)
        out.append(play(s, scripted(3, rows), np.zeros(0), np.zeros(0, np.int64)).gpu_seconds)
    return out[0], out[1]


def test_replica_time_of_day_as_the_synchronous_job() -> None:
    """Without failures, the time of day slows every replica as it slows the synchronous job."""
    sync, replica = paired({"workload.diurnal_amplitude": 0.02}, [])
    assert replica == pytest.approx(sync)
    assert replica["slow"] > 0


def test_replica_maintenance_as_the_synchronous_job() -> None:
    """Without failures, planned maintenance stops every replica, which then restart: as the synchronous job."""
    sync, replica = paired({"maintenance.every_days": 0.25, "maintenance.hours": 1.0}, [])
    assert replica == pytest.approx(sync)
    assert replica["maintenance"] == pytest.approx(16 * 3 * 3600)


def test_replica_straggler_as_the_synchronous_job() -> None:
    """A straggler slows every replica until it is swapped out: 600 s at half speed, no restart."""
    from builders import BASE

    straggler = {**BASE["failure"][1], "name": "slow GPU", "action": "slow", "slowdown": 0.5, "detect_minutes": 10.0}
    rows = [(0, 5000.0, 2, 5000.0 + 600 + 3600)]
    sync, replica = paired({}, rows, failure=[*BASE["failure"], straggler])
    assert replica == pytest.approx(sync)
    assert replica["slow"] == pytest.approx(16 * 300)


def test_replica_failure_during_maintenance_waits_for_the_window() -> None:
    """A replica that fails during a window recovers after it, not during it."""
    s = tiny({"recovery.strategy": "replica", "maintenance.every_days": 0.25, "maintenance.hours": 1.0})
    rep = play(s, scripted(3, [(1, 22000.0, 1, 23000.0)]), np.zeros(0), np.zeros(0, np.int64))
    online = [e[0] for e in rep.events if e[1] == "replica_online"]
    assert all(t >= 21600.0 + 3600.0 for t in online if t > 21600.0)
    assert sum(rep.gpu_seconds.values()) == pytest.approx(16 * 86400)

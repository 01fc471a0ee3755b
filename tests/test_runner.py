"""Replications against closed forms (Daly 2006), determinism, and common random numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from builders import RUN_JSON_KEYS, tiny
from scipy import stats

import sim
from sim.analysis.analytic import daly_ettr
from sim.config.loading import scenario_from_dict, with_overrides
from sim.config.scenario import Scenario
from sim.experiment.runner import replication_seeds, simulate
from sim.experiment.statistics import describe

M_S = 3600.0  # job MTBF of the Daly cases; everything else is a multiple of it
HORIZON_MTBF = 400  # horizon in MTBFs: the end effect (one partial segment) is well under the noise
REPS = 60

# (tau/M, delta/M, R/M): checkpoint interval, write, restart, spanning the range.
FAST_GRID = [(0.05, 0.01, 0.1), (0.5, 0.05, 0.5), (2.0, 0.02, 0.2)]
FULL_GRID = [(tau, delta, r) for tau in (0.05, 0.1, 0.3, 1.0, 2.0) for delta in (0.01, 0.1) for r in (0.0, 0.2, 0.5)]


def daly_scenario(tau: float, delta: float, r: float, spares: bool = False) -> Scenario:
    """Daly's assumptions: exponential failures, no detection, fixed write and restart."""
    if spares:
        # Node faults on 4 nodes, replaced at once from a pool far larger than the repairs can drain.
        failure: list[dict[str, Any]] = [
            {"name": "node", "scope": "node", "mtbf_hours": 4 * M_S / 3600, "repair_hours": 2 * M_S / 3600}
        ]
        cluster = {"gpus": 32, "spare_nodes": 40}
    else:
        failure = [{"name": "crash", "scope": "job", "mtbf_hours": M_S / 3600, "action": "restart"}]
        cluster = {"gpus": 8}
    return scenario_from_dict(
        {
            "name": "daly",
            "run": {"duration_days": HORIZON_MTBF * M_S / 86400},
            "cluster": cluster,
            "checkpoint": {"interval_minutes": tau * M_S / 60, "write_seconds": delta * M_S},
            "restart": {"fixed_minutes": r * M_S / 60},
            "failure": failure,
        }
    )


def check_daly(grid: list[tuple[float, float, float]], spares: bool = False, seed: int = 2006) -> None:
    """Mean ETTR within 0.01 of Daly and inside a family-wise 95% band (Bonferroni over the grid)."""
    z = stats.norm.ppf(1 - 0.05 / (2 * len(grid)))
    for tau, delta, r in grid:
        result = sim.run(daly_scenario(tau, delta, r, spares), replications=REPS, seed=seed)
        row = result.summary.loc["ettr"]
        expected = daly_ettr(tau * M_S, delta * M_S, r * M_S, M_S)
        se = row["std"] / math.sqrt(REPS)
        err = abs(row["mean"] - expected)
        assert err < 0.01, (tau, delta, r, row["mean"], expected)
        assert err < z * se, f"tau/M={tau} delta/M={delta} R/M={r}: {row['mean']:.4f} vs {expected:.4f}, se {se:.4f}"


def test_daly_restart_in_place() -> None:
    """Job-scope exponential crashes restarted in place match Daly's ETTR (CI subset)."""
    check_daly(FAST_GRID)


@pytest.mark.slow
def test_daly_with_ample_spares() -> None:
    """Node faults swapped for spares at once match Daly's ETTR too."""
    check_daly(FAST_GRID[:2], spares=True)


@pytest.mark.slow
def test_daly_full_grid() -> None:
    """The whole grid of tau/M from 0.05 to 2 and R/M up to 0.5 matches Daly."""
    check_daly(FULL_GRID)
    check_daly(FULL_GRID, spares=True)


def test_ledger_sums_to_capacity() -> None:
    """Every GPU-second of every replication is in exactly one bucket (1e-9 relative)."""
    s = tiny({"failure_preset": "llama3", "cluster.gpus": 4096, "run.duration_days": 20})
    for rep in sim.run(s, replications=3, seed=5).replications:
        total = sum(rep.gpu_seconds.values())
        assert total == pytest.approx(s.cluster.gpus * s.horizon_seconds, rel=1e-9)
        fractions = sum(v for k, v in rep.metrics.items() if k.startswith("fraction_"))
        assert fractions == pytest.approx(1.0, rel=1e-9)


def test_same_results_on_any_number_of_processes() -> None:
    """jobs=1 and jobs=2 give identical tables and JSON."""
    s = tiny({"failure_preset": "llama3", "cluster.gpus": 2048})
    one, two = sim.run(s, replications=4, seed=11), sim.run(s, replications=4, seed=11, jobs=2)
    assert one.to_json() == two.to_json()
    assert one.runs.equals(two.runs)
    assert one.events.equals(two.events)


def test_replication_does_not_depend_on_count() -> None:
    """Replication r draws the same failures whether 2 or 5 replications are run."""
    s = tiny({"failure_preset": "llama3", "cluster.gpus": 2048})
    assert sim.run(s, replications=2, seed=3).replications[1] == sim.run(s, replications=5, seed=3).replications[1]
    assert replication_seeds(3, 2)[1].spawn_key == replication_seeds(3, 5)[1].spawn_key


def test_checkpoint_interval_does_not_move_failures() -> None:
    """Common random numbers: every failure time is the same whatever the checkpoint interval."""
    seed = replication_seeds(21, 1)[0]
    times = []
    for minutes in (5, 30, 120):
        s = tiny(
            {
                "failure_preset": "llama3",
                "cluster.gpus": 4096,
                "run.duration_days": 5,
                "checkpoint.interval_minutes": minutes,
            }
        )
        rep = simulate(s, seed)
        times.append([(e[0], e[2], e[3]) for e in rep.events if e[1].startswith("failure")])
    assert times[0] == times[1] == times[2]
    assert len(times[0]) > 10


def test_describe_matches_scipy() -> None:
    """describe() gives the t-interval of scipy and numpy's percentiles."""
    values = stats.norm.rvs(size=30, random_state=1)
    d = describe(values)
    low, high = stats.t.interval(0.95, 29, loc=values.mean(), scale=stats.sem(values))
    assert (d["ci95_low"], d["ci95_high"]) == pytest.approx((low, high))
    assert d["p50"] == pytest.approx(float(sorted(values)[14] + sorted(values)[15]) / 2)


def test_json_document_shape() -> None:
    """to_json() has the documented keys and every metric has mean, std, ci95, p10, p50, p90."""
    doc = sim.run(tiny({"failure_preset": "llama3", "cluster.gpus": 2048}), replications=3, seed=1).to_json()
    assert set(doc) == RUN_JSON_KEYS
    metrics = doc["metrics"]
    assert isinstance(metrics, dict)
    for name in (
        "ettr",
        "effective_compute_ratio",
        "theoretical_flop",
        "realized_flop",
        "interruptions",
        "job_mtbf_hours",
        "energy_mwh",
        "energy_cost_usd",
        *(f"fraction_{b}" for b in sim.model.ledger.BUCKETS),
    ):
        assert set(metrics[name]) == {"mean", "std", "ci95", "p10", "p50", "p90"}, name
    assert "faulty GPU" in doc["interruptions_by_cause"]  # type: ignore[operator]


def test_warning_when_failures_outpace_restarts() -> None:
    """Failures faster than a restart still end at the horizon, with ETTR near 0 and a warning."""
    s = tiny({"failure.0.mtbf_hours": 0.05, "restart.fixed_minutes": 30})
    result = sim.run(s, replications=2, seed=1)
    assert result.summary.loc["ettr", "mean"] < 0.01
    assert any("shorter than a restart" in w for w in result.warnings)
    assert sum(result.replications[0].gpu_seconds.values()) == pytest.approx(16 * 86400, rel=1e-9)


def test_describe_constant_values_have_no_spread() -> None:
    """Identical values (a constant metric, or one replication) have zero std and a point CI."""
    d = describe(np.full(7, 5.123456789e25))
    assert d["std"] == 0.0 and d["ci95_low"] == d["ci95_high"] == d["mean"] == 5.123456789e25
    assert describe(np.array([2.0]))["ci95_high"] == 2.0


def llama_small(**overrides: object) -> Scenario:
    """4,096 GPUs with the Llama 3 mix for 10 days, with the given dotted overrides."""
    return tiny(
        {
            "failure_preset": "llama3",
            "cluster.gpus": 4096,
            "cluster.spare_nodes": 16,
            "run.duration_days": 10,
            "checkpoint.interval_minutes": 30,
            **overrides,
        }
    )


METRICS = ["ettr", "fraction_lost", "fraction_checkpoint", "fraction_restart", "interruptions"]


def test_async_with_blocking_snapshot_is_sync() -> None:
    """async with snapshot = write, and memory persisting every snapshot with a storage-speed
    restore, give exactly the sync results, replication by replication."""
    sync = sim.run(llama_small(), replications=4, seed=9).runs[METRICS]
    asyn = sim.run(
        llama_small(**{"checkpoint.method": "async", "checkpoint.snapshot_seconds": 60.0}), replications=4, seed=9
    ).runs[METRICS]
    mem = sim.run(
        llama_small(
            **{"checkpoint.method": "memory", "checkpoint.snapshot_seconds": 60.0, "restart.memory_load_seconds": 0.0}
        ),
        replications=4,
        seed=9,
    ).runs[METRICS]
    assert sync.equals(asyn) and sync.equals(mem)


def test_slow_write_orders_the_methods() -> None:
    """With a 10-minute write and a 20 s snapshot: sync < async <= memory in every replication."""
    slow = {"checkpoint.write_seconds": 600.0, "checkpoint.snapshot_seconds": 20.0}
    runs = {
        m: sim.run(
            llama_small(**slow, **{"checkpoint.method": m, "restart.memory_load_seconds": 0.0}), replications=5, seed=3
        )
        for m in ("sync", "async", "memory")
    }
    e = {m: r.runs["ettr"].to_numpy() for m, r in runs.items()}
    assert (e["sync"] < e["async"]).all() and (e["async"] <= e["memory"]).all()
    for r in runs.values():
        for rep in r.replications:
            assert sum(rep.gpu_seconds.values()) == pytest.approx(4096 * 10 * 86400, rel=1e-9)


def test_memory_restore_matches_daly() -> None:
    """Crashes restored from peers' memory are Daly's model with the snapshot as the write and the
    memory load as the restart; the slow persists in the background cost nothing while no copy is lost."""
    tau, snap, r_mem = 0.3, 0.01, 0.05
    s = daly_scenario(tau, 0.2, 0.5)
    s = with_overrides(
        s,
        {
            "checkpoint.method": "memory",
            "checkpoint.snapshot_seconds": snap * M_S,
            "checkpoint.persist_every": 4,
            "restart.fixed_minutes": 0.0,
            "restart.memory_load_seconds": r_mem * M_S,
        },
    )
    row = sim.run(s, replications=REPS, seed=12).summary.loc["ettr"]
    expected = daly_ettr(tau * M_S, snap * M_S, r_mem * M_S, M_S)
    se = row["std"] / math.sqrt(REPS)
    assert abs(row["mean"] - expected) < min(0.01, 3 * se), (row["mean"], expected, se)


def test_rack_failures_wait_for_spares_only_when_short() -> None:
    """With fewer spares than a rack holds the job waits after rack failures; with two racks of spares it does not."""
    rack = {"name": "rack power", "scope": "rack", "mtbf_hours": 500.0, "repair_hours": 8.0}

    def scenario(spares: int) -> Scenario:
        return tiny(
            {"cluster.gpus": 512, "cluster.spare_nodes": spares, "cluster.nodes_per_rack": 8, "run.duration_days": 60},
            failure=[rack],
        )

    short = sim.run(scenario(4), replications=3, seed=2)
    ample = sim.run(scenario(16), replications=3, seed=2)
    assert short.summary.loc["fraction_wait", "mean"] > 0.01
    assert ample.summary.loc["fraction_wait", "mean"] < 0.1 * short.summary.loc["fraction_wait", "mean"]
    assert short.to_json()["interruptions_by_cause"]["rack power"]["mean"] > 5  # type: ignore[index]
    for rep in short.replications:
        assert sum(rep.gpu_seconds.values()) == pytest.approx(512 * 60 * 86400, rel=1e-9)


def test_rack_scope_needs_the_rack_size() -> None:
    """A rack-scope mode without cluster.nodes_per_rack is refused."""
    with pytest.raises(sim.ScenarioError, match=r"needs cluster\.nodes_per_rack"):
        tiny(failure=[{"name": "r", "scope": "rack", "mtbf_hours": 5.0, "repair_hours": 1.0}])


def test_few_technicians_make_the_job_wait() -> None:
    """One technician for a fleet that needs several keeps failed nodes out longer: more waiting."""

    def scenario(techs: int | None) -> Scenario:
        return tiny(
            {
                "cluster.gpus": 512,
                "cluster.spare_nodes": 2,
                "run.duration_days": 30,
                "repair.technicians": techs,
                "failure.1.mtbf_hours": 400.0,
                "failure.1.repair_hours": 12.0,
                "failure.1.repair_sigma": 0.5,
            }
        )

    many = sim.run(scenario(None), replications=3, seed=4)
    one = sim.run(scenario(1), replications=3, seed=4)
    assert one.summary.loc["fraction_wait", "mean"] > many.summary.loc["fraction_wait", "mean"] + 0.01


@pytest.mark.parametrize(
    "overrides",
    [
        {"checkpoint.method": "memory", "checkpoint.snapshot_seconds": 5.0, "restart.memory_load_seconds": 30.0},
        {
            "recovery.strategy": "shrink",
            "cluster.spare_nodes": 0,
            "workload.tensor_parallel": 8,
            "workload.pipeline_parallel": 4,
        },
        {
            "recovery.strategy": "shrink",
            "cluster.spare_nodes": 2,
            "workload.tensor_parallel": 8,
            "workload.pipeline_parallel": 4,
            "checkpoint.method": "memory",
            "checkpoint.snapshot_seconds": 5.0,
            "restart.memory_load_seconds": 30.0,
            "checkpoint.persist_every": 3,
        },
    ],
)
def test_ledger_sums_with_unsaved_work(overrides: dict[str, object]) -> None:
    """Memory-only and paused work is booked exactly once, whatever state the horizon finds the job in."""
    s = llama_small(**{"run.duration_days": 20, **overrides})
    for rep in sim.run(s, replications=6, seed=1).replications:
        assert sum(rep.gpu_seconds.values()) == pytest.approx(4096 * 20 * 86400, rel=1e-9)


def test_horizon_during_a_restart_from_memory() -> None:
    """Crashes every half hour and 20-minute restarts: many runs end mid-restart with memory-only work
    held for the restore; it is booked useful, once."""
    s = tiny(
        {
            "failure.0.mtbf_hours": 0.5,
            "restart.fixed_minutes": 20.0,
            "checkpoint.interval_minutes": 10.0,
            "checkpoint.method": "memory",
            "checkpoint.snapshot_seconds": 5.0,
            "checkpoint.persist_every": 4,
            "restart.memory_load_seconds": 10.0,
            "run.duration_days": 2,
        }
    )
    reps = sim.run(s, replications=12, seed=3).replications
    ended_down = [r for r in reps if r.events[-1][1] in ("detect", "restart")]
    assert ended_down, "no replication ended during a restart: the test needs another seed"
    for rep in reps:
        assert sum(rep.gpu_seconds.values()) == pytest.approx(16 * 2 * 86400, rel=1e-12)



def test_a_truncated_event_log_is_a_warning() -> None:
    """A replication whose event log dropped rows says so in the result's warnings; a full log does not."""
    from sim.experiment.runner import Replication, Result, warnings_for

    s = tiny()
    empty: dict[str, Any] = {"metrics": {"ettr": 0.9}, "interruptions_by_cause": {}, "lost_gpu_hours_by_cause": {}}
    full = Replication(index=0, events=[], **empty)
    cut = Replication(index=1, events=[], events_dropped=7, **empty)
    assert not any("event log" in w for w in warnings_for(s, Result(s, 0, [full])))
    assert any("dropped 7 more" in w for w in warnings_for(s, Result(s, 0, [full, cut])))


def test_fleet_age_and_like_servers_keep_exponential_runs_to_the_bit() -> None:
    """Exponential clocks draw the same in a new and a stationary fleet, and an explicit fleet of like servers
    draws nothing; Weibull clocks and bad servers change the run (the runner passes both on)."""
    seed = replication_seeds(4, 1)[0]
    base = {"failure_preset": "llama3", "cluster.gpus": 4096, "run.duration_days": 5}
    plain = simulate(tiny(base), seed)
    assert simulate(tiny({**base, "cluster.fleet_age": "new"}), seed) == plain
    like = {"heterogeneity.bad_node_multiplier": 5.0, "heterogeneity.per_mode": True}
    assert simulate(tiny({**base, **like}), seed) == plain
    assert simulate(tiny({**base, **like, "heterogeneity.bad_node_fraction": 0.2}), seed) != plain
    weibull = {"failure.1.distribution": "weibull", "failure.1.shape": 0.5, "failure.1.mtbf_hours": 50.0}
    aged = [simulate(tiny({**weibull, "cluster.fleet_age": age}), seed) for age in ("new", "stationary")]
    assert aged[0] != aged[1]

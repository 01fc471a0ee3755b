"""The power trace: exact small cases (swings, ramps, smoothing, repairs, prices) and the ledger's energy."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from builders import scripted, tiny

import sim
from sim.analysis.draw import STILL, draw, ledger_energy
from sim.config.loading import load_scenario
from sim.config.scenario import Scenario
from sim.experiment.runner import Replication, play, simulate
from sim.results.schema import ENERGY_GROUPS

#: BASE's job: 16 GPUs; an H100 draws 700 W computing, 70 W standing still, with 575 W of host each.
GPUS, COMPUTE_W, STILL_W = 16, 700.0 + 575.0, 70.0 + 575.0
#: BASE's rhythm over its day: 60 min computing, 60 s writing: 23 whole cycles, then 2,220 s computing.
CHECKPOINTS, DAY = 23, 86400.0
W_TO_MWH = 1.0 / 3.6e9


def quiet_day(scenario: Scenario, job_crashes: tuple[float, ...] = (), node_failures: Any = ()) -> Replication:
    """A day of ``scenario`` (BASE's cluster: two job servers, one spare) with scripted failures only."""
    times = np.array(job_crashes, dtype=float)
    return play(scenario, scripted(3, list(node_failures)), times, np.zeros(times.size, dtype=np.int64))


def power(**keys: Any) -> Scenario:
    """BASE with ``[power]`` keys and a threshold below one job's swing (16 x 630 W = 0.01 MW)."""
    return tiny({"power.swing_threshold_mw": 0.005, **{f"power.{k}": v for k, v in keys.items()}})


def test_full_load_of_the_100k_cluster_is_semianalysis_150_mw_from_its_own_breakdown() -> None:
    """700 W GPU + 575 W host per GPU, idle spares, 10% of IT beyond the servers: 143.1 MW, ~150 MW within 5%."""
    s = load_scenario("scenarios/h100_100k.toml")
    servers = 100_000 * (700.0 + 575.0) + 250 * 8 * (70.0 + 575.0)
    assert draw(s).full_load_w == pytest.approx(servers / 0.9, rel=1e-12)
    assert abs(draw(s).full_load_w / 150e6 - 1.0) < 0.05


def test_a_quiet_day_swings_once_per_checkpoint_and_peaks_at_full_load() -> None:
    """No failure: each checkpoint write is one swing of the job's 16 x 630 W; the peak is full load."""
    rep = quiet_day(power())
    m = rep.metrics
    assert m["swings_per_day"] == CHECKPOINTS
    assert m["largest_swing_mw"] == pytest.approx(GPUS * (COMPUTE_W - STILL_W) / 1e6)
    assert m["power_peak_mw"] == pytest.approx(m["full_load_mw"])
    assert m["interruptions"] == 0


def test_each_interruption_while_computing_is_one_swing() -> None:
    """With writes drawing as much as computing, the swings are the crashes, one each."""
    rep = quiet_day(power(checkpoint_fraction=1.0), job_crashes=(1000.0, 20000.0, 50000.0))
    assert rep.metrics["interruptions"] == 3
    assert rep.metrics["swings_per_day"] == 3


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"recovery.strategy": "shrink"},
        {"recovery.strategy": "replica"},
        {"checkpoint.method": "async", "checkpoint.snapshot_seconds": 10.0},
        {"checkpoint.method": "memory", "checkpoint.snapshot_seconds": 10.0, "restart.memory_load_seconds": 30.0},
        {"maintenance.every_days": 0.3, "maintenance.hours": 1.0},
        {"power.checkpoint_fraction": 0.4, "power.floor_fraction": 0.2},
        {"energy.it_watts_per_gpu": 1500.0, "energy.idle_fraction": 0.5},
    ],
)
def test_the_trace_integrates_to_the_ledger_s_energy(overrides: dict[str, Any]) -> None:
    """Without ramps the trace's energy is every bucket's GPU-seconds at its watts, plus spares and the rest."""
    s = tiny({"failure.0.mtbf_hours": 2.0, "failure.1.mtbf_hours": 30.0, **overrides})
    for i in range(3):
        rep = simulate(s, np.random.SeedSequence(11), i)
        m = rep.metrics
        seconds = m["run_days"] * DAY
        job = ledger_energy(s, rep.gpu_seconds, seconds, 0.0)
        expected = (sum(job.values()) + m["energy_spares_mwh"] / s.energy.pue) * s.energy.pue
        assert m["interruptions"] > 0
        assert m["energy_mwh"] == pytest.approx(expected, rel=1e-10)
        assert sum(m[f"energy_{g}_mwh"] for g in ENERGY_GROUPS) == pytest.approx(m["energy_mwh"], rel=1e-12)
        assert m["energy_computing_mwh"] == pytest.approx(job["computing"] * s.energy.pue, rel=1e-10)


def test_a_ramp_up_costs_half_its_rise_over_its_length() -> None:
    """Every computing stretch (24 a day) starts 100 s below full draw on average by half the rise."""
    flat = quiet_day(power()).metrics
    ramped = quiet_day(power(ramp_up_seconds=100.0)).metrics
    deficit = (CHECKPOINTS + 1) * GPUS * (COMPUTE_W - STILL_W) * 100.0 / 2.0 * W_TO_MWH
    assert flat["energy_mwh"] - ramped["energy_mwh"] == pytest.approx(deficit, rel=1e-9)
    assert ramped["energy_computing_mwh"] == pytest.approx(flat["energy_computing_mwh"] - deficit, rel=1e-9)


def test_the_fastest_ramp_is_the_step_or_the_steepest_ramp() -> None:
    """A step of S MW moves S MW within the 1 s window; ramps of 100 s up and 50 s down move S/50 a second."""
    step = GPUS * (COMPUTE_W - STILL_W) / 1e6
    assert quiet_day(power()).metrics["fastest_ramp_mw_per_s"] == pytest.approx(step)
    ramps = quiet_day(power(ramp_up_seconds=100.0, ramp_down_seconds=50.0)).metrics
    assert ramps["fastest_ramp_mw_per_s"] == pytest.approx(step / 50.0)
    assert ramps["swings_per_day"] == CHECKPOINTS  # a ramp down is still one swing


def test_a_server_in_repair_draws_nothing() -> None:
    """The spare fails at 1,000 s and is back an hour later: its idle draw is missing for that hour."""
    spare_node_w = 8 * STILL_W
    rep = quiet_day(power(), node_failures=[(2, 1000.0, 1, 4600.0)])
    assert rep.metrics["energy_spares_mwh"] == pytest.approx((DAY - 3600.0) * spare_node_w * W_TO_MWH)
    assert quiet_day(power()).metrics["energy_spares_mwh"] == pytest.approx(DAY * spare_node_w * W_TO_MWH)


def test_a_power_floor_removes_the_swings_at_the_price_of_the_writes_drawing_full() -> None:
    """Smoothing at 100% of TDP: no swing; the writes' GPU-seconds drew 630 W more each."""
    rep = quiet_day(power(floor_fraction=1.0))
    m = rep.metrics
    assert m["swings_per_day"] == 0
    assert m["swings_avoided_per_day"] == CHECKPOINTS
    extra = rep.gpu_seconds["checkpoint"] * (COMPUTE_W - STILL_W) * W_TO_MWH
    assert m["smoothing_energy_mwh"] == pytest.approx(extra, rel=1e-9)
    assert quiet_day(power()).metrics["smoothing_energy_mwh"] == 0.0


def test_hourly_prices_equal_to_a_flat_price_cost_the_same() -> None:
    """24 equal hourly prices are a flat price; cheap nights and dear days land between the two."""
    flat = quiet_day(tiny({"energy.usd_per_kwh": 0.1})).metrics
    hourly = quiet_day(tiny({"energy.usd_per_kwh_by_hour": [0.1] * 24})).metrics
    assert hourly["energy_cost_usd"] == pytest.approx(flat["energy_cost_usd"], rel=1e-12)
    mixed = quiet_day(tiny({"energy.usd_per_kwh_by_hour": [0.05] * 12 + [0.15] * 12})).metrics
    assert 0.05 * 1000 * flat["energy_mwh"] < mixed["energy_cost_usd"] < 0.15 * 1000 * flat["energy_mwh"]
    assert mixed["energy_cost_usd"] == pytest.approx(flat["energy_cost_usd"], rel=0.01)  # a near-flat draw


def test_time_below_half_load_is_the_time_the_job_stands_still() -> None:
    """Without host or other IT, a standing job draws 10% of full: a two-hour restart is two hours below half."""
    s = tiny(
        {
            "power.host_watts_per_gpu": 0.0,
            "power.other_it_fraction": 0.0,
            "power.checkpoint_fraction": 1.0,
            "restart.fixed_minutes": 120.0,
            "cluster.spare_nodes": 0,
        }
    )
    rep = quiet_day(s, job_crashes=(10000.0,))
    assert rep.metrics["hours_below_half_load"] == pytest.approx(2.0, rel=1e-9)


def test_the_trace_is_kept_unless_asked_not_to() -> None:
    """``power_trace=False`` keeps no trace, and the same metrics."""
    s = tiny({"failure.0.mtbf_hours": 5.0})
    kept = simulate(s, np.random.SeedSequence(3), 0)
    dropped = simulate(s, np.random.SeedSequence(3), 0, power_trace=False)
    assert kept.power is not None and dropped.power is None
    assert kept.metrics == dropped.metrics
    x, y = kept.power
    assert (
        x[0] == 0.0 and x[-1] == DAY and math.isclose(float(np.trapezoid(y, x)) / 3600.0, kept.metrics["it_energy_mwh"])
    )


def test_energy_groups_are_computing_the_still_buckets_spares_and_the_rest() -> None:
    """The report's energy groups match the buckets the trace draws by."""
    assert ("computing", *STILL, "spares", "other_it") == ENERGY_GROUPS


def test_the_trace_is_the_same_on_any_executor() -> None:
    """Same seed, same trace, whether one process or two play the replications."""
    s = tiny({"failure.0.mtbf_hours": 5.0, "run.replications": 3})
    one, two = sim.run(s, seed=4), sim.run(s, seed=4, jobs=2)
    pd.testing.assert_frame_equal(one.power, two.power)
    assert one.power.groupby("replication").size().tolist() == [r.power[0].size for r in one.replications]  # type: ignore[index]


def test_swings_are_the_interruptions_while_computing_and_the_writes_begun() -> None:
    """Over a day of frequent crashes, the swings are exactly the crashes that struck computing GPUs plus the
    checkpoint writes begun, counted from the event log and the checkpoint rhythm."""
    s = tiny({"failure.0.mtbf_hours": 1.5, "checkpoint.interval_minutes": 10.0, "power.swing_threshold_mw": 0.005})
    cycle, interval = 600.0 + s.write_seconds, 600.0
    for i in range(4):
        rep = simulate(s, np.random.SeedSequence(5), i)
        expected, start, state = 0, 0.0, "run"

        def writes_begun(start: float, end: float) -> int:
            return math.ceil(max(0.0, end - start - interval) / cycle)

        for t, kind, *_ in rep.events:
            if kind == "failure" and state == "run":
                expected += writes_begun(start, t) + ((t - start) % cycle < interval)
            if kind in ("run", "detect", "wait", "restart", "maintenance"):
                state, start = kind, t
        if state == "run":
            expected += writes_begun(start, DAY)
        assert rep.metrics["interruptions"] > 5
        assert rep.metrics["swings_per_day"] * rep.metrics["run_days"] == expected


def test_an_instant_replica_recovery_draws_no_spike() -> None:
    """Replica recovery with no detection, stall or restart: the job stops and resumes at one instant, and the
    trace has no zero-width spike above full load (it had one when two sums of a time missed by an ulp)."""
    s = tiny(
        {"recovery.strategy": "replica", "recovery.stall_minutes": 0.0, "restart.fixed_minutes": 0.0},
        run={"duration_days": 0.5, "replications": 2},
        cluster={"gpus": 32, "gpus_per_node": 8, "spare_nodes": 0},
        workload={"tensor_parallel": 8},
        checkpoint={"interval_minutes": 10.0, "write_seconds": 0.0},
        failure=[{"name": "m0", "scope": "job", "action": "restart", "mtbf_hours": 12.0}],
    )
    for rep in sim.run(s, seed=0).replications:
        assert rep.power is not None
        assert rep.power[1].max() <= rep.metrics["full_load_mw"] * (1 + 1e-12)


def test_a_ramp_down_into_the_final_save_stays_under_full_load() -> None:
    """Computing that ends in a state drawing more than standing still (the final save, writes at 30% of TDP)
    hands over to it without a bump above full load while the rest of its draw ramps down."""
    s = tiny(
        {"run.target_compute_days": 0.025, "power.checkpoint_fraction": 0.3, "power.ramp_down_seconds": 5.0},
        run={"duration_days": 0.5, "replications": 2},
        cluster={"gpus": 32, "gpus_per_node": 8, "spare_nodes": 0},
        checkpoint={"interval_minutes": 10.0, "write_seconds": 30.0},
        restart={"fixed_minutes": 0.0},
        failure=[{"name": "m0", "scope": "gpu", "mtbf_hours": 192.0, "repair_hours": 0.5}],
    )
    for rep in sim.run(s, seed=0).replications:
        assert rep.metrics["target_reached"] == 1.0
        assert rep.metrics["power_peak_mw"] <= rep.metrics["full_load_mw"] * (1 + 1e-12)

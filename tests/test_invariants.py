"""Invariants under random feature mixes: every replication of every mix keeps the ledger sound.

Over methods x strategies x maintenance x time of day x stragglers x silent corruption x ``keep`` x
spares x repair times x detection x fleet age x bad servers and frailty x the repair pipeline (automated
stage, failed repairs, misdiagnosis, cures) x retirement policies x targets x prices, each replication
has every ledger bucket >= 0, buckets summing to job GPUs x the time it covers (the finish of a run
that reached its target, else the horizon), useful work equal to the target when reached, bucket
costs summing to the total, energy by group summing to the power trace's (and, without ramps, to the
ledger's), ETTR at most the failure-free run's, interruptions equal to the failures
logged as hitting the job, and either a result or a ``ScenarioError``: never another exception; the
fleet's figures are >= 0 and retire at most the fleet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sim
from sim.analysis.draw import ledger_energy
from sim.config.errors import ScenarioError
from sim.config.loading import scenario_from_dict
from sim.config.scenario import Scenario
from sim.experiment.runner import Replication
from sim.results.schema import BUCKETS, ENERGY_GROUPS, FLEET_METRICS

#: Relative tolerance of the ledger checks: float sums over thousands of postings.
REL = 1e-9


@st.composite
def failure_modes(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One to four failure modes of any scope and action, at rates that give a handful to hundreds of failures."""
    modes = []
    for i in range(draw(st.integers(1, 4))):
        scope = draw(st.sampled_from(["gpu", "node", "job", "rack"]))
        action = draw(st.sampled_from(["replace", "restart", "slow"] if scope in ("gpu", "node") else ["restart"]))
        if scope == "rack":
            action = "replace"
        per_instance = {"gpu": 64.0, "node": 8.0, "rack": 2.0, "job": 1.0}[scope]
        mode: dict[str, Any] = {
            "name": f"m{i}",
            "scope": scope,
            "action": action,
            "mtbf_hours": per_instance * draw(st.sampled_from([3.0, 12.0, 48.0, 200.0])),
            "detect_minutes": draw(st.sampled_from([0.0, 0.0, 2.0, 30.0])),
        }
        if draw(st.booleans()):
            mode |= {"distribution": "weibull", "shape": draw(st.sampled_from([0.7, 1.5]))}
        if action == "replace":
            mode["repair_hours"] = draw(st.sampled_from([0.5, 6.0, 48.0]))
            mode["repair_sigma"] = draw(st.sampled_from([0.0, 0.8]))
        if action == "slow":
            mode["slowdown"] = draw(st.sampled_from([0.3, 0.8]))
            mode["repair_hours"] = 2.0
        if action == "restart" and scope != "rack" and draw(st.integers(0, 4)) == 0:
            mode["detect_hours"] = draw(st.sampled_from([0.5, 6.0]))  # silent corruption, found late
        modes.append(mode)
    return modes


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A small scenario with a random mix of every feature that combines with the others."""
    method = draw(st.sampled_from(["sync", "async", "memory"]))
    checkpoint: dict[str, Any] = {
        "interval_minutes": draw(st.sampled_from([10.0, 45.0, 180.0])),
        "write_seconds": draw(st.sampled_from([0.0, 30.0, 600.0])),
        "method": method,
    }
    if method != "sync":
        checkpoint["snapshot_seconds"] = min(checkpoint["write_seconds"], draw(st.sampled_from([0.0, 10.0])))
    if method == "memory":
        checkpoint["persist_every"] = draw(st.sampled_from([1, 3]))
    if draw(st.booleans()):
        checkpoint["keep"] = draw(st.sampled_from([1, 2, 5]))
    raw: dict[str, Any] = {
        "name": "mix",
        "run": {"duration_days": draw(st.sampled_from([0.5, 2.0, 5.0])), "replications": 2},
        "cluster": {
            "gpus": 32,
            "gpus_per_node": 8,
            "spare_nodes": draw(st.sampled_from([0, 1, 4])),
            "nodes_per_rack": 2,
            "fleet_age": draw(st.sampled_from(["stationary", "new"])),
        },
        "workload": {
            "tensor_parallel": 8,
            "diurnal_amplitude": draw(st.sampled_from([0.0, 0.0, 0.1])),
        },
        "checkpoint": checkpoint,
        "restart": {"fixed_minutes": draw(st.sampled_from([0.0, 5.0, 20.0]))},
        "recovery": {
            "strategy": draw(st.sampled_from(["restart", "replica", "shrink"])),
            "stall_minutes": draw(st.sampled_from([0.0, 3.0])),
        },
        "failure": draw(failure_modes()),
    }
    if method == "memory":
        raw["restart"]["memory_load_seconds"] = 30.0
    if draw(st.booleans()):
        every, hours = draw(st.sampled_from([0.25, 1.0])), draw(st.sampled_from([0.5, 2.0]))
        raw["maintenance"] = {"every_days": every, "hours": hours}
    raw["repair"] = repairs(draw)
    if draw(st.booleans()):
        raw["retirement"] = retirement(draw)
    share = draw(st.sampled_from([None, None, 0.05, 0.4, 0.85]))
    if share is not None:
        # A target (run.target_*): the run ends when the work is done and saved; some replications fall short.
        raw["run"]["target_compute_days"] = share * raw["run"]["duration_days"]
    if draw(st.booleans()):
        raw["cost"] = draw(
            st.sampled_from([{"usd_per_gpu_hour": 2.5, "usd_per_spare_node_hour": 20.0}, {"capex_usd": 1e6}])
        )
    if draw(st.booleans()):
        raw["power"] = {
            "checkpoint_fraction": draw(st.sampled_from([None, 0.3])),
            "ramp_up_seconds": draw(st.sampled_from([0.0, 0.0, 20.0, 3600.0])),
            "ramp_down_seconds": draw(st.sampled_from([0.0, 0.0, 5.0])),
            "floor_fraction": draw(st.sampled_from([0.0, 0.5, 1.0])),
        }
        raw["power"] = {k: v for k, v in raw["power"].items() if v is not None}
        if draw(st.booleans()):
            raw["energy"] = {"usd_per_kwh_by_hour": [0.05] * 12 + [0.15] * 12}
    if draw(st.booleans()):
        raw["heterogeneity"] = {
            "bad_node_fraction": draw(st.sampled_from([0.0, 0.25])),
            "bad_node_multiplier": draw(st.sampled_from([1.0, 6.0])),
            "frailty_cv": draw(st.sampled_from([0.0, 1.0])),
            "per_mode": draw(st.booleans()),
        }
    return raw


def repairs(draw: st.DrawFn) -> dict[str, Any]:
    """The [repair] section: technicians, an automated stage, repairs that leave the fault, misdiagnosis, cures."""
    repair: dict[str, Any] = {}
    if draw(st.booleans()):
        repair["technicians"] = draw(st.sampled_from([1, 3]))
    if draw(st.booleans()):
        repair |= {
            "auto_hours": draw(st.sampled_from([0.0, 2.0])),
            "auto_sigma": draw(st.sampled_from([0.0, 0.8])),
            "escalate_probability": draw(st.sampled_from([0.0, 0.5, 1.0])),
            "auto_fail_probability": draw(st.sampled_from([0.0, 0.4])),
        }
    if draw(st.booleans()):
        repair |= {
            "manual_fail_probability": draw(st.sampled_from([0.0, 0.2, 1.0])),
            "unfixed_multiplier": draw(st.sampled_from([1.0, 6.0])),
            "misdiagnosis_probability": draw(st.sampled_from([0.0, 0.3, 1.0])),
            "cures_bad_nodes": draw(st.booleans()),
        }
    return repair


def retirement(draw: st.DrawFn) -> dict[str, Any]:
    """A [retirement] policy: k failures in a window, or a score."""
    if draw(st.booleans()):
        return {
            "policy": "window",
            "failures": draw(st.sampled_from([1, 2, 3])),
            "window_days": draw(st.sampled_from([0.1, 1.0])),
        }
    return {
        "policy": "score",
        "failure_penalty": draw(st.sampled_from([30.0, 60.0])),
        "uptime_credit": draw(st.sampled_from([0.0, 10.0])),
        "credit_days": draw(st.sampled_from([0.1, 1.0])),
    }


def _ignore(note: str) -> None:
    pass


def phase_allowance(scenario: Scenario, metrics: dict[str, float]) -> float:
    """How far above the failure-free run's ETTR a run with failures can come, as a share of the horizon.

    Failures cannot add work, but each stop moves the checkpoint rhythm: a period that ends without
    a rollback (the horizon, a maintenance window, a rejoin) can end while computing where the
    failure-free run was writing (at most one blocking time), and computing can move to faster
    hours of the day (at most the amplitude over one cycle).
    """
    blocking = scenario.blocking_seconds
    cycle = scenario.checkpoint.interval_minutes * 60.0 + blocking
    stops = 1 + metrics["planned_interruptions"] + metrics["interruptions"]
    return stops * (blocking + scenario.workload.diurnal_amplitude * cycle) / (metrics["run_days"] * 86400.0)


def check_mix(raw: dict[str, Any], seed: int, note: Callable[[str], None] = _ignore) -> None:
    """Run ``raw`` (if it is a valid scenario) and its failure-free twin; assert every invariant.

    ``note`` records what was run (hypothesis ``event`` in the property tests).
    """
    try:
        scenario = scenario_from_dict(raw)
    except ScenarioError as e:
        note(f"refused: {str(e).split(':')[0]}")
        return  # a refused mix is a valid outcome; the refusal itself is tested elsewhere
    note(f"ran: {scenario.recovery.strategy}, {scenario.checkpoint.method}")
    result = sim.run(scenario, seed=seed)
    calm = sim.run(scenario_from_dict({**raw, "failure": []}), seed=seed)
    ceiling = max(r.metrics["ettr"] for r in calm.replications)
    events = result.events
    target = scenario.target_gpu_seconds
    for rep in result.replications:
        led = rep.gpu_seconds
        # The ledger covers [0, finish] of a run that reached its target, else the whole horizon.
        seconds = rep.metrics["run_days"] * 86400.0
        assert seconds <= scenario.horizon_seconds * (1 + REL)
        capacity = scenario.cluster.gpus * seconds
        if target is not None:
            reached = rep.metrics["target_reached"] == 1.0
            assert reached == (seconds < scenario.horizon_seconds), "finished exactly when short of the horizon"
            if reached:
                assert math.isclose(led["useful"], target, rel_tol=REL), f"useful {led['useful']} != target {target}"
            else:
                assert led["useful"] <= target * (1 + REL), "past the target without finishing"
        if rep.metrics["total_cost_usd"] > 0:
            priced = sum(rep.metrics[f"{b}_cost_usd"] for b in BUCKETS) + rep.metrics["spare_cost_usd"]
            assert math.isclose(priced, rep.metrics["total_cost_usd"], rel_tol=REL), "bucket costs differ from total"
        for bucket in BUCKETS:
            assert led[bucket] >= -REL * capacity, f"{bucket} < 0: {led[bucket]} in {raw}"
        assert math.isclose(sum(led.values()), capacity, rel_tol=REL), f"ledger sums to {sum(led.values())}"
        bound = ceiling + phase_allowance(scenario, rep.metrics)
        assert rep.metrics["ettr"] <= bound * (1 + REL) + REL, f"ETTR {rep.metrics['ettr']} above {bound}"
        m = rep.metrics
        assert all(m[name] >= 0 for name in FLEET_METRICS), "a fleet figure below 0"
        assert m["nodes_retired"] <= scenario.fleet_nodes, "more servers retired than the fleet holds"
        check_power(scenario, rep, seconds)
        mine = events[events["replication"] == rep.index]
        logged = int((mine["kind"] == "failure").sum())
        assert rep.metrics["interruptions"] == logged, "interruptions differ from failures logged"


def check_power(scenario: Scenario, rep: Replication, seconds: float) -> None:
    """The power trace: energy by group >= 0 and summing to the trace's; without ramps, the ledger's energy."""
    m = rep.metrics
    groups = [m[f"energy_{g}_mwh"] for g in ENERGY_GROUPS]
    assert all(g >= -REL * m["energy_mwh"] for g in groups if g), f"an energy group < 0: {groups}"
    assert math.isclose(sum(groups), m["energy_mwh"], rel_tol=1e-9), "energy by group differs from the trace's"
    assert rep.power is not None
    x, y = rep.power
    assert x[0] == 0.0 and math.isclose(x[-1], seconds, rel_tol=REL), "the trace does not cover the run"
    assert (y >= -1e-9).all(), "a negative draw"
    assert m["power_peak_mw"] <= m["full_load_mw"] * (1 + 1e-9) or scenario.power.floor_fraction > 1.0
    if scenario.power.ramp_up_seconds == 0 and scenario.power.ramp_down_seconds == 0:
        job = sum(v for k, v in ledger_energy(scenario, rep.gpu_seconds, seconds, 0.0).items())
        expected = (job + m["energy_spares_mwh"] / scenario.energy.pue) * scenario.energy.pue
        assert math.isclose(m["energy_mwh"], expected, rel_tol=1e-9), f"trace {m['energy_mwh']} != ledger {expected}"


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(raw=scenarios(), seed=st.integers(0, 2**16))
def test_random_mixes_keep_the_ledger_sound(raw: dict[str, Any], seed: int) -> None:
    """A seeded sample of feature mixes: buckets >= 0, summing to capacity, ETTR <= ceiling, counts agree."""
    check_mix(raw, seed, event)


@pytest.mark.slow
@settings(max_examples=2500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(raw=scenarios(), seed=st.integers(0, 2**16))
def test_random_mixes_at_length(raw: dict[str, Any], seed: int) -> None:
    """The same invariants over many more mixes (``make test-all``)."""
    check_mix(raw, seed, event)


#: A rack of two with a Weibull and a lognormal-repair failure: found by the long run above.
RACKS: dict[str, Any] = {
    "name": "mix",
    "run": {"duration_days": 0.5, "replications": 2},
    "cluster": {"gpus": 32, "gpus_per_node": 8, "spare_nodes": 4, "nodes_per_rack": 2},
    "workload": {"tensor_parallel": 8},
    "checkpoint": {"interval_minutes": 10.0, "write_seconds": 0.0},
    "restart": {"fixed_minutes": 0.0},
    "failure": [
        {"name": "m0", "scope": "rack", "mtbf_hours": 6.0, "repair_hours": 0.5}
        | {"distribution": "weibull", "shape": 1.5},
        {"name": "m1", "scope": "gpu", "action": "restart", "mtbf_hours": 192.0},
        {"name": "m2", "scope": "rack", "mtbf_hours": 400.0, "repair_hours": 0.5},
    ],
}


def test_a_failure_an_ulp_before_the_clock_is_not_a_negative_delay() -> None:
    """Regression: the simulation clock, a sum of delays, passed a drawn failure time by an ulp (ValueError)."""
    check_mix(RACKS, seed=3)


def test_a_replica_straggler_swapped_out_before_a_rack_failure() -> None:
    """Regression: a rack failure of a straggler already swapped out reached the replica job with no replica."""
    slow = {"name": "m1", "scope": "gpu", "action": "slow", "mtbf_hours": 192.0, "slowdown": 0.3, "repair_hours": 2.0}
    rack = {"name": "m2", "scope": "rack", "mtbf_hours": 24.0, "repair_hours": 0.5, "repair_sigma": 0.8}
    raw = {**RACKS, "recovery": {"strategy": "replica"}, "failure": [{**RACKS["failure"][0], "shape": 1.0}, slow, rack]}
    raw["failure"][0].pop("distribution")
    check_mix(raw, seed=0)

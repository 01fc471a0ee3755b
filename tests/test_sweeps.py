"""Sweeps: parameter parsing, grids, Daly's curve and optimum, pairing, executors and resume."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from builders import tiny
from scipy import stats
from test_runner import M_S, daly_scenario

import sim.experiment.sweeps
from sim.analysis.analytic import daly_ettr, daly_interval
from sim.config.errors import SweepError
from sim.config.loading import PolicySwitched
from sim.experiment.grid import build_points, grid, parse_param, parse_values
from sim.experiment.sweeps import run_sweep, sweep

INTERVAL = "checkpoint.interval_minutes"


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("5,10,20", [5, 10, 20]),
        ("0.5, 2", [0.5, 2]),
        ("daly,young", ["daly", "young"]),
        ("5:20:5", [5, 10, 15, 20]),
        ("5:21:5", [5, 10, 15, 20]),
        ("0.1:0.3:0.1", [0.1, 0.2, 0.3]),
        ("log:1:100:3", [1.0, 10.0, 100.0]),
        ("log:5:240:9", [5.0, 8.112, 13.16, 21.35, 34.64, 56.2, 91.18, 147.9, 240.0]),
    ],
)
def test_parse_values(text: str, values: list[object]) -> None:
    """Lists, linear ranges (inclusive) and log ranges (4 significant digits inside, exact ends)."""
    got = parse_values(text)
    assert got == (pytest.approx(values) if isinstance(values[0], float) else values)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("k=", "k: no values"),
        ("k=5:1:1", "needs STEP > 0 and HI >= LO"),
        ("k=1:5", "expected LO:HI:STEP"),
        ("k=1:x:1", "'x' is not a finite number"),
        ("k=log:0:10:3", "needs 0 < LO < HI"),
        ("k=log:1:10:2.5", "a whole N >= 2"),
        ("k=1,,2", "an empty value"),
        ("=1,2", "expected KEY=V1,V2"),
        ("k", "expected KEY=V1,V2"),
    ],
)
def test_bad_params(text: str, needle: str) -> None:
    """Malformed parameter values name the parameter and the problem, in library words (no option names)."""
    with pytest.raises(SweepError, match=needle.replace("(", r"\(").replace("+", r"\+")) as caught:
        parse_param(text)
    assert "--" not in str(caught.value)


def test_grid_order() -> None:
    """The first parameter varies slowest."""
    assert grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]


def test_points_are_validated_before_work() -> None:
    """Unknown keys, bad values and repeats are refused while building the points."""
    s = tiny()
    with pytest.raises(SweepError, match="did you mean 'interval_minutes'"):
        build_points(s, {"checkpoint.interval_minute": [1, 2]})
    with pytest.raises(SweepError, match=r"cluster\.gpus: must be a multiple"):
        build_points(s, {"cluster.gpus": [16, 12]})
    with pytest.raises(SweepError, match="repeated values"):
        build_points(s, {INTERVAL: [5, 5]})
    with pytest.raises(SweepError, match="nothing to sweep"):
        build_points(s, {})


@pytest.mark.slow
def test_sweep_follows_daly_and_peaks_at_its_optimum() -> None:
    """On Daly's assumptions every point matches Daly within 0.01 and its SE band, and Daly's interval wins."""
    delta, r = 0.02, 0.1
    tau_opt = daly_interval(delta * M_S, M_S) / M_S
    taus = [tau_opt / 4, tau_opt / 2, tau_opt, tau_opt * 2, tau_opt * 4]
    base = daly_scenario(tau_opt, delta, r)
    result = run_sweep(base, {INTERVAL: [t * M_S / 60 for t in taus]}, replications=40, seed=6, jobs=1)
    z = stats.norm.ppf(1 - 0.05 / (2 * len(taus)))
    for tau, (_, row) in zip(taus, result.points.iterrows(), strict=True):
        expected = daly_ettr(tau * M_S, delta * M_S, r * M_S, M_S)
        se = (row["ettr.ci95_high"] - row["ettr.mean"]) / stats.t.ppf(0.975, 39)
        assert abs(row["ettr.mean"] - expected) < min(0.01, z * se), tau
    assert result.best[INTERVAL] == pytest.approx(tau_opt * M_S / 60)
    # Common random numbers: within a replication, the same failures at every interval.
    per_rep = result.runs.groupby("replication")["interruptions"].nunique()
    assert (per_rep == 1).all()


def test_paired_difference_is_much_sharper() -> None:
    """The CI of a paired difference is far narrower than the unpaired CI of the same difference."""
    s = tiny({"failure_preset": "llama3", "cluster.gpus": 4096, "run.duration_days": 10})
    result = run_sweep(s, {INTERVAL: [20, 30]}, replications=30, seed=2, jobs=1)
    a, b = (g["ettr"].to_numpy() for _, g in result.runs.groupby(INTERVAL))
    paired = stats.t.ppf(0.975, 29) * np.std(a - b, ddof=1) / math.sqrt(30)
    unpaired = stats.t.ppf(0.975, 58) * math.sqrt(np.var(a, ddof=1) / 30 + np.var(b, ddof=1) / 30)
    assert paired < 0.25 * unpaired
    row = result.points[result.points["ettr.diff_mean"] != 0].iloc[0]
    assert row["ettr.diff_ci95_high"] - row["ettr.diff_ci95_low"] == pytest.approx(2 * paired)


def small() -> tuple[object, dict[str, list[int]]]:
    s = tiny({"failure_preset": "llama3", "cluster.gpus": 2048, "run.duration_days": 5})
    return s, {INTERVAL: [10, 30, 60], "restart.fixed_minutes": [5, 10]}


def test_processes_give_the_same_table() -> None:
    """jobs=2 gives the same runs table as jobs=1, in grid order."""
    s, params = small()
    one = sweep(s, params, replications=3, seed=4, jobs=1)  # type: ignore[arg-type]
    two = sweep(s, params, replications=3, seed=4, jobs=2)  # type: ignore[arg-type]
    assert one.equals(two)
    assert list(one.columns[:3]) == [INTERVAL, "restart.fixed_minutes", "replication"]
    assert len(one) == 6 * 3


class Stop(Exception):
    """Raised by a progress callback to interrupt a sweep midway."""


def test_resume_after_interruption(tmp_path: Path) -> None:
    """An interrupted sweep resumed in its folder gives the uninterrupted table and recomputes nothing done."""
    s, params = small()

    def stop_after(k: int):  # type: ignore[no-untyped-def]
        def progress(done: int, total: int) -> None:
            if done >= k:
                raise Stop

        return progress

    with pytest.raises(Stop):
        run_sweep(s, params, replications=3, seed=4, jobs=1, out=tmp_path / "a", progress=stop_after(7))  # type: ignore[arg-type]
    resumed = run_sweep(s, params, replications=3, seed=4, jobs=1, out=tmp_path / "a", resume=True)  # type: ignore[arg-type]
    assert (resumed.reused, resumed.computed) == (7, 11)
    whole = run_sweep(s, params, replications=3, seed=4, jobs=1, out=tmp_path / "b")  # type: ignore[arg-type]
    assert resumed.runs.equals(whole.runs)
    again = run_sweep(s, params, replications=3, seed=4, jobs=1, out=tmp_path / "a", resume=True)  # type: ignore[arg-type]
    assert (again.reused, again.computed) == (18, 0)


def test_store_refuses_other_scenarios(tmp_path: Path) -> None:
    """A folder with another scenario's or seed's sweep is refused; without --resume any sweep is."""
    s, params = small()
    run_sweep(s, params, replications=1, seed=4, jobs=1, out=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(SweepError, match="pass --resume"):
        run_sweep(s, params, replications=1, seed=4, jobs=1, out=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(SweepError, match="differs in seed"):
        run_sweep(s, params, replications=1, seed=5, jobs=1, out=tmp_path, resume=True)  # type: ignore[arg-type]
    other = tiny({"failure_preset": "llama3", "cluster.gpus": 4096, "run.duration_days": 5})
    with pytest.raises(SweepError, match=r"differs in scenario\.cluster\.gpus"):
        run_sweep(other, params, replications=1, seed=4, jobs=1, out=tmp_path, resume=True)


def test_more_replications_reuse_the_stored_ones(tmp_path: Path) -> None:
    """Resuming with more replications or more points computes only what is new."""
    s, params = small()
    run_sweep(s, params, replications=2, seed=4, jobs=1, out=tmp_path)  # type: ignore[arg-type]
    more = run_sweep(
        s,
        {**params, INTERVAL: [10, 30, 60, 120]},
        replications=3,
        seed=4,
        jobs=1,  # type: ignore[arg-type]
        out=tmp_path,
        resume=True,
    )
    assert (more.reused, more.computed) == (12, 24 - 12)


def test_json_document() -> None:
    """to_json has one entry per point with params, run-shaped metrics and paired differences."""
    s, params = small()
    doc = run_sweep(s, params, replications=2, seed=4, jobs=1).to_json()  # type: ignore[arg-type]
    assert len(doc["points"]) == 6
    first = doc["points"][0]
    assert first["params"] == {INTERVAL: 10, "restart.fixed_minutes": 5}
    assert set(first["metrics"]["ettr"]) == {"mean", "std", "ci95", "p10", "p50", "p90"}
    assert set(first["paired_difference_from_best"]["ettr"]) == {"mean", "ci95"}
    best = next(p for p in doc["points"] if p["params"] == doc["best"])
    assert best["paired_difference_from_best"]["ettr"]["mean"] == 0.0


def test_dask_cluster_gives_the_same_table() -> None:
    """A Dask scheduler with two workers (in this process: threads, no start-up race) gives the local table."""
    distributed = pytest.importorskip("distributed")
    s, params = small()
    local = sweep(s, params, replications=2, seed=4, jobs=1)  # type: ignore[arg-type]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        remote = sweep(s, params, replications=2, seed=4, scheduler=cluster.scheduler_address)  # type: ignore[arg-type]
    assert remote.equals(local)


def test_unreachable_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler address nobody answers on is a clear error."""
    pytest.importorskip("distributed")
    monkeypatch.setattr(sim.experiment.sweeps, "CONNECT_TIMEOUT", "1s")  # refused at once; no need to retry 10 s
    s, params = small()
    with pytest.raises(SweepError, match="cannot reach the Dask scheduler"):
        sweep(s, params, replications=1, seed=4, scheduler="tcp://127.0.0.1:9")  # type: ignore[arg-type]


def test_lower_is_better_for_time_and_cost() -> None:
    """A cost objective picks the cheapest point; the paired differences from it are >= 0."""
    s = tiny({"cost.usd_per_gpu_hour": 2.0, "failure.0.mtbf_hours": 2.0, "run.target_compute_days": 0.25})
    params = {"checkpoint.interval_minutes": [2, 20, 200]}
    result = run_sweep(s, params, replications=3, seed=4, jobs=1, objective="cost_to_train")
    assert result.objective == "cost_to_train_usd"
    costs = result.points["cost_to_train_usd.mean"].to_numpy()
    assert result.best == {"checkpoint.interval_minutes": 20} and costs[1] == costs.min()
    assert (result.points["cost_to_train_usd.diff_mean"].to_numpy() >= 0).all()
    assert result.to_json()["objective"] == "cost_to_train_usd"


def test_a_point_short_of_its_target_is_never_best() -> None:
    """A point where some replication misses the target has no mean time: it ranks last."""
    s = tiny({"failure.0.mtbf_hours": 2.0, "run.target_compute_days": 0.5, "run.duration_days": 1.0})
    params = {"checkpoint.interval_minutes": [1, 30]}  # 1 min between 60 s writes: half the time at best
    result = run_sweep(s, params, replications=3, seed=4, jobs=1, objective="time_to_train")
    means = result.points["time_to_train_days.mean"].to_numpy()
    assert np.isnan(means[0]) and not np.isnan(means[1])
    assert result.best == {"checkpoint.interval_minutes": 30}


def test_sim_sweep_of_the_interval_under_daly_warns_and_runs_fixed() -> None:
    """sim.sweep of the interval of a daly scenario: fixed intervals, with a PolicySwitched warning saying so."""
    s = tiny({"checkpoint.policy": "daly"})
    with pytest.warns(PolicySwitched, match="the sweep runs fixed intervals .*'daly'"):
        runs = sweep(s, {INTERVAL: [10, 20]}, replications=1, jobs=1)
    assert sorted(runs[INTERVAL]) == [10, 20]
    result = run_sweep(s, {INTERVAL: [10, 20]}, replications=1, jobs=1)
    assert result.scenario.checkpoint.policy == "fixed" and len(result.notes) == 1
    # Sweeping the policy too, or a fixed policy: nothing switched, nothing said.
    assert run_sweep(s, {"checkpoint.policy": ["fixed"], INTERVAL: [10]}, replications=1, jobs=1).notes == []
    assert run_sweep(tiny(), {INTERVAL: [10]}, replications=1, jobs=1).notes == []

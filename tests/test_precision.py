"""Precision on demand: the stopping rule, its independence from batches and executors, runs, sweeps, the command."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import tiny

import sim
from sim.cli import main
from sim.config.errors import PrecisionError
from sim.experiment import precision as precision_module
from sim.experiment.precision import Precision, prefix_stats, reached, stop_at, until_precise
from sim.experiment.statistics import describe
from sim.experiment.sweeps import run_sweep


def _noisy() -> sim.Scenario:
    # A crash every 5 hours over 2 days: ETTR spreads by about 3 points between replications.
    return tiny({"failure.0.mtbf_hours": 5.0}, run={"duration_days": 2.0, "replications": 2, "seed": 3})


def test_prefix_stats_match_describe() -> None:
    """Mean and half-width of every prefix are describe's, NaNs left out alike; constant values give 0."""
    rng = np.random.default_rng(1)
    values = rng.normal(0.8, 0.03, 40)
    values[[5, 17]] = np.nan
    mean, half = prefix_stats(values)
    for n in range(2, 41):
        d = describe(values[:n])
        assert mean[n - 1] == pytest.approx(d["mean"], rel=1e-12)
        assert half[n - 1] == pytest.approx(d["ci95_high"] - d["mean"], rel=1e-9)
    assert math.isnan(half[0])
    assert prefix_stats(np.full(5, 0.7))[1][1:].tolist() == [0.0] * 4


def test_censored_values_leave_the_interval_unknown() -> None:
    """A missing value of a censored metric (a target not reached) makes every later half-width unknown."""
    half = prefix_stats(np.array([1.0, 2.0, np.nan, 3.0]), censored=True)[1]
    assert not math.isnan(half[1]) and math.isnan(half[2]) and math.isnan(half[3])


def test_stop_at_is_the_first_replication_that_meets_the_target() -> None:
    """The rule stops at the first n from the minimum that meets the target; at the maximum when none does."""
    rng = np.random.default_rng(2)
    values = rng.normal(0.8, 0.03, 300)
    p = Precision(half_width=0.01, min_replications=10, max_replications=300)
    n = stop_at(values, p)
    assert n is not None
    half = prefix_stats(values)[1]
    assert half[n - 1] <= 0.01 and all(h > 0.01 for h in half[9 : n - 1])
    assert stop_at(values[: n - 1], p) is None
    tight = Precision(half_width=1e-6, min_replications=10, max_replications=50)
    assert stop_at(values[:49], tight) is None and stop_at(values[:50], tight) == 50
    assert not reached(values[:50], tight).met


def test_several_series_stop_when_every_one_meets() -> None:
    """Series on the same replications (scenarios compared) stop at the first n at which every one meets it."""
    rng = np.random.default_rng(4)
    values = np.column_stack([rng.normal(0.8, 0.01, 400), rng.normal(0.7, 0.05, 400)])
    p = Precision(half_width=0.01, min_replications=10, max_replications=400)
    n = stop_at(values, p)
    assert n is not None and n >= max(stop_at(values[:, 0], p) or 0, stop_at(values[:, 1], p) or 0)
    halves = np.column_stack([prefix_stats(values[:, j])[1] for j in range(2)])
    assert (halves[n - 1] <= 0.01).all() and all((halves[k] > 0.01).any() for k in range(9, n - 1))


def test_relative_target() -> None:
    """A relative target is a half-width relative to the mean of the replications so far."""
    rng = np.random.default_rng(3)
    values = rng.normal(100.0, 10.0, 500)
    n = stop_at(values, Precision(relative_half_width=0.01, max_replications=500))
    assert n is not None
    mean, half = prefix_stats(values)
    assert half[n - 1] <= 0.01 * abs(mean[n - 1]) < half[n - 2]


def _synthetic(batches: list[list[tuple[str, int, int]]]) -> Any:
    """``play`` for until_precise: deterministic values per (key, index), recording the batches asked for."""

    def play(ranges: list[tuple[str, int, int]]) -> dict[str, list[float]]:
        batches.append(ranges)
        def value(k: str, i: int) -> float:
            return float(np.random.default_rng([ord(k[0]), i]).normal(1.0, 0.2))

        return {k: [value(k, i) for i in range(lo, hi)] for k, lo, hi in ranges}

    return play


@pytest.mark.parametrize("workers", [1, 3, 64])
def test_results_do_not_depend_on_the_batches(workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the batch sizes (workers, or random ones), every series keeps the same replications."""
    p = Precision(half_width=0.05, min_replications=5, max_replications=400)
    reference = until_precise(["a", "b"], _synthetic([]), float, p, workers=1)
    batches: list[list[tuple[str, int, int]]] = []
    assert until_precise(["a", "b"], _synthetic(batches), float, p, workers=workers) == reference
    rng = np.random.default_rng(workers)
    monkeypatch.setattr(precision_module, "next_count", lambda values, precision, floor=1: int(rng.integers(1, 40)))
    assert until_precise(["a", "b"], _synthetic([]), float, p, workers=workers) == reference
    assert all(reached(np.array(items), p).met for items in reference.values())
    assert {len(items) for items in reference.values()} != {5}


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"half_width": 0.01, "relative_half_width": 0.01}, "precision"),
        ({}, "precision"),
        ({"half_width": 0.0}, "precision"),
        ({"relative_half_width": math.inf}, "rel_precision"),
        ({"half_width": 0.01, "min_replications": 1}, "min_replications"),
        ({"half_width": 0.01, "min_replications": 20, "max_replications": 10}, "max_replications"),
    ],
)
def test_bad_targets_name_their_argument(kwargs: dict[str, Any], argument: str) -> None:
    """An unusable target raises PrecisionError naming the argument (the command line names its option)."""
    with pytest.raises(PrecisionError) as e:
        Precision(**kwargs)
    assert e.value.argument == argument


def test_run_to_precision_is_the_same_run_on_any_jobs() -> None:
    """sim.run with a precision stops where the target is met, and gives the very runs of a fixed count of that size."""
    s = _noisy()
    one = sim.run(s, precision=0.01)
    assert one.precision is not None and one.precision["met"]
    n = len(one.replications)
    assert n == one.precision["replications"] > 10 and one.scenario.run.replications == n
    two = sim.run(s, precision=0.01, jobs=2)
    assert two.runs.equals(one.runs) and two.precision == one.precision
    fixed = sim.run(s, replications=n)
    assert fixed.runs.equals(one.runs)
    half = one.summary.loc["ettr", "ci95_high"] - one.summary.loc["ettr", "mean"]
    assert half == pytest.approx(one.precision["half_width_reached"], rel=1e-9) and half <= 0.01
    assert one.to_json()["precision"] == one.precision


def test_run_short_of_the_target_says_so() -> None:
    """A target out of reach stops at the maximum, with met false and a warning that names it."""
    result = sim.run(_noisy(), precision=1e-4, max_replications=20)
    assert len(result.replications) == 20 and result.precision is not None and not result.precision["met"]
    assert sum(w.startswith("precision not reached: ETTR ± ") for w in result.warnings) == 1


def test_run_refuses_a_count_and_a_target() -> None:
    """replications and a precision target together are refused (the target chooses the count)."""
    with pytest.raises(PrecisionError):
        sim.run(_noisy(), replications=5, precision=0.01)


def test_sweep_to_precision_per_point() -> None:
    """Each point of a sweep runs until its own target; counts differ, results do not depend on jobs."""
    s = _noisy()
    p = Precision(half_width=0.01, max_replications=300)
    params = {"checkpoint.interval_minutes": [10, 90]}
    a = run_sweep(s, params, precision=p, jobs=1)
    b = run_sweep(s, params, precision=p, jobs=2)
    assert a.runs.equals(b.runs) and a.points.equals(b.points)
    counts = a.points["replications"].tolist()
    assert counts[0] != counts[1] and a.replications == max(counts)
    assert a.points["precision_met"].all() and (a.points["half_width_reached"] <= 0.01).all()
    doc = a.to_json()
    assert doc["precision"]["met_at_every_point"] is True
    assert [pt["replications"] for pt in doc["points"]] == counts
    fixed = run_sweep(s, {"checkpoint.interval_minutes": [90]}, replications=counts[1], jobs=1)
    assert fixed.runs["ettr"].tolist() == a.runs[a.runs["checkpoint.interval_minutes"] == 90]["ettr"].tolist()


def test_sweep_to_precision_on_dask_is_the_local_sweep() -> None:
    """The same target on a Dask scheduler (two in-process workers) keeps the same replications as one process."""
    distributed = pytest.importorskip("distributed")
    s = _noisy()
    p = Precision(half_width=0.02, max_replications=100)
    params = {"checkpoint.interval_minutes": [10, 90]}
    local = run_sweep(s, params, precision=p, jobs=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        remote = run_sweep(s, params, precision=p, scheduler=cluster.scheduler_address)
    assert remote.runs.equals(local.runs) and remote.points.equals(local.points)


def test_sweep_resumed_to_precision_reuses_the_store(tmp_path: Path) -> None:
    """A sweep to a precision run again on its store computes nothing and gives the same tables."""
    s = _noisy()
    p = Precision(half_width=0.02, max_replications=200)
    params = {"checkpoint.interval_minutes": [10, 30]}
    first = run_sweep(s, params, precision=p, jobs=1, out=tmp_path)
    again = run_sweep(s, params, precision=p, jobs=1, out=tmp_path, resume=True)
    assert again.computed == 0 and again.reused == first.computed
    assert again.points.equals(first.points)


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "noisy.toml"
    path.write_text(
        'name = "noisy"\n[run]\nduration_days = 2\nseed = 3\n[cluster]\ngpus = 16\n[checkpoint]\nwrite_seconds = 60\n'
        '[[failure]]\nname = "crash"\nscope = "job"\nmtbf_hours = 5\naction = "restart"\n'
    )
    return path


def test_command_line_run_to_precision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run --precision` says how many replications it took, in the report and in summary.json."""
    code = main(["run", str(_file(tmp_path)), "--precision", "0.01", "--no-plots", "-o", str(tmp_path / "o")])
    out = capsys.readouterr().out
    doc = json.loads((tmp_path / "o" / "summary.json").read_text())
    n = doc["precision"]["replications"]
    assert code == 0 and doc["replications"] == n and doc["scenario_resolved"]["run"]["replications"] == n
    assert f"{n} replications for ETTR ± " in out and "(± 1.00 pp asked, 10 to 1,000)" in out


def test_command_line_max_hit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run --precision` short of its target at --max-replications warns on stderr and records met false."""
    args = ["run", str(_file(tmp_path)), "--precision", "1e-4", "--max-replications", "12", "--no-plots"]
    code = main([*args, "-o", str(tmp_path / "o"), "-f", "json"])
    captured = capsys.readouterr()
    assert code == 0 and json.loads(captured.out)["precision"]["met"] is False
    assert "trainsim: warning: precision not reached: ETTR ± " in captured.err


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--precision", "0.01", "-n", "5"], "--replications: not with --precision"),
        (["--precision", "0.01", "--rel-precision", "0.01"], "give one of them"),
        (["--max-replications", "50"], "--max-replications: only with --precision"),
        (["--precision", "-1"], "--precision must be a number above 0"),
        (["--rel-precision", "0.01", "--min-replications", "1"], "--min-replications must be from 2"),
        (["--precision", "0.01", "--objective", "speed"], "--objective 'speed'"),
    ],
)
def test_command_line_bad_precision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    """Bad precision options: exit 2, one line naming the option, before any simulation."""
    code = main(["run", str(_file(tmp_path)), "--no-plots", "-o", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_command_line_sweep_to_precision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`sweep --precision` runs each point to it and reports the counts per point."""
    args = ["sweep", str(_file(tmp_path)), "-p", "checkpoint.interval_minutes=10,90", "--precision", "0.01"]
    code = main([*args, "--no-plots", "-o", str(tmp_path / "w"), "-j", "1"])
    out = capsys.readouterr().out
    doc = json.loads((tmp_path / "w" / "summary.json").read_text())
    counts = [p["replications"] for p in doc["points"]]
    assert code == 0 and doc["precision"]["met_at_every_point"] and counts[0] != counts[1]
    assert f"x {min(counts)}-{max(counts)} replications" in out and "each point until ETTR ± 1.00 pp" in out

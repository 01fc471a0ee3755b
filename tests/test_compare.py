"""sim.compare: variants, names, fleets, paired and unpaired intervals, common random numbers, the results folder."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from builders import RUN_JSON_KEYS, tiny
from scipy import stats

import sim
from sim.config.errors import CompareError, WorkLimitError
from sim.config.loading import load_scenario
from sim.config.scenario import Scenario
from sim.experiment.compare import compare, fleet_differences, lineup, parse_variant
from sim.experiment.compare_save import write_compare, write_compare_failure
from sim.experiment.differences import welch
from sim.results.folder import CompareFolder, RunFolder, load

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
#: A job-scope crash every 4 hours and GPU faults: enough failures in a day for every metric to vary.
FAILING = {"failure.0.mtbf_hours": 4.0, "failure.1.mtbf_hours": 500.0}
FAST_RESTART = {"restart.fixed_minutes": 1.0}


def busy(overrides: dict[str, Any] | None = None) -> Scenario:
    """The builders' tiny scenario with failures that strike several times a day."""
    return tiny({**FAILING, **(overrides or {})})


def widths(result: sim.CompareResult, metric: str) -> tuple[float, float]:
    """Paired and unpaired 95% CI widths of ``metric`` for the second scenario."""
    row = result.differences.set_index("metric").loc[metric]
    return row["ci95_high"] - row["ci95_low"], row["unpaired_ci95_high"] - row["unpaired_ci95_low"]


@pytest.mark.parametrize(
    ("text", "name", "overrides"),
    [
        ("fast:restart.fixed_minutes=5", "fast", {"restart.fixed_minutes": 5}),
        (
            " a-1 : checkpoint.method = async , checkpoint.snapshot_seconds=3",
            "a-1",
            {"checkpoint.method": "async", "checkpoint.snapshot_seconds": 3},
        ),
        ('x:failure.0.source="a, b"', "x", {"failure.0.source": "a, b"}),
    ],
)
def test_parse_variant(text: str, name: str, overrides: dict[str, object]) -> None:
    """NAME:KEY=VALUE,... gives the name and TOML-typed values; a comma inside a value stays with it."""
    assert parse_variant(text) == (name, overrides)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("fast", "expected NAME:KEY=VALUE"),
        ("fast:", "expected NAME:KEY=VALUE"),
        (":restart.fixed_minutes=5", "expected NAME:KEY=VALUE"),
        ("fast:restart.fixed_minutes", "is not KEY=VALUE"),
        ("fast:=5", "is not KEY=VALUE"),
        ("fast:a=1,a=2", "a given twice"),
    ],
)
def test_malformed_variants_are_refused(text: str, needle: str) -> None:
    """A malformed --variant is a CompareError about the variants, saying what was expected."""
    with pytest.raises(CompareError, match=needle) as e:
        parse_variant(text)
    assert e.value.argument == "variants"


def test_welch_matches_scipy() -> None:
    """Welch's interval is scipy's for two independent samples of unequal variance."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 9), rng.normal(0.5, 3, 14)
    ci = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert welch(a, b) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert welch([1.0, 1.0], [2.0, 2.0]) == (1.0, 1.0)  # no spread: the difference itself
    assert all(math.isnan(x) for x in welch([1.0], [2.0, 3.0]))  # one value: no interval


def test_identical_scenarios_give_zero_differences() -> None:
    """The same scenario twice: every paired difference and its interval are exactly zero; names made unique."""
    result = compare([busy(), busy()], replications=4, seed=1)
    assert result.names == ["tiny", "tiny-2"]
    d = result.differences
    assert len(d) > 20 and set(d["baseline"]) == {"tiny"} and set(d["scenario"]) == {"tiny-2"}
    finite = d.dropna(subset=["mean"])
    assert (finite["mean"] == 0).all()
    assert ((finite["ci95_low"] == 0) & (finite["ci95_high"] == 0)).all()
    # The unpaired interval does not know the two are the same runs: it keeps the spread of each.
    assert (d.set_index("metric").loc["ettr", "unpaired_ci95_high"]) > 0


def test_paired_narrower_than_unpaired_on_a_variant() -> None:
    """A variant that changes the restart only sees the same failures: its paired CIs are far narrower."""
    result = compare([busy()], variants={"fast": FAST_RESTART}, replications=8, seed=2)
    assert result.fleets == [[], []] and not result.notes
    b, f = (result[n].runs for n in result.names)
    crashes = "interruptions_by_cause.crash"
    assert (b[crashes] == f[crashes]).all()  # the same crashes, replication by replication
    for metric in ("ettr", "effective_compute_ratio", "realized_flop", "fraction_lost", "fraction_checkpoint"):
        paired, unpaired = widths(result, metric)
        assert 0 < paired < 0.5 * unpaired, metric
    assert widths(result, "interruptions") == (0.0, pytest.approx(widths(result, "interruptions")[1]))


def test_shipped_pair_shares_its_fleet() -> None:
    """h100_100k_ft.toml changes only the job: the two shipped files see the same failures."""
    base, ft = (load_scenario(SCENARIOS / f) for f in ("h100_100k.toml", "h100_100k_ft.toml"))
    assert fleet_differences(base, ft) == []
    assert (ft.checkpoint.method, ft.recovery.strategy) == ("async", "replica")


def test_paired_narrower_than_unpaired_on_two_shipped_scenarios() -> None:
    """h100_100k against h100_100k_ft (five days): paired CIs of the headline metrics narrower than Welch's."""
    days = {"run.duration_days": 5.0}
    base, ft = (load_scenario(SCENARIOS / f, days) for f in ("h100_100k.toml", "h100_100k_ft.toml"))
    result = compare([base, ft], replications=6, seed=0)
    for metric in ("ettr", "realized_flop", "usd_lost_to_failures", "interruptions"):
        paired, unpaired = widths(result, metric)
        assert paired < unpaired, metric


def test_fleet_differences_name_the_keys() -> None:
    """Job keys share the fleet; spares, GPUs and failure modes do not, and are named."""
    base = busy()
    assert fleet_differences(base, busy({"checkpoint.interval_minutes": 5.0, "workload.mfu": 0.3})) == []
    assert fleet_differences(base, busy({"cluster.spare_nodes": 3})) == ["cluster.spare_nodes"]
    assert fleet_differences(base, busy({"cluster.gpus": 32})) == ["cluster.gpus"]
    assert fleet_differences(base, busy({"failure.1.mtbf_hours": 900.0})) == ["failure modes"]
    assert fleet_differences(base, busy({"failure.1.name": "other name"})) == []


def test_other_fleets_and_spares_get_notes() -> None:
    """A scenario on another fleet, or with other spares, gets a note on what pairing then means."""
    variants = {"more": {"cluster.gpus": 32}, "spares": {"cluster.spare_nodes": 3}}
    plan = lineup([busy()], variants, 2, 0)
    more, spares = plan.notes
    assert "more runs another fleet than tiny (cluster.gpus)" in more and "less, or not at all" in more
    assert "spares has other spares" in spares and "job's own servers draw the same failure times" in spares
    # Spares that share the repair crew with the job's servers move their repairs: another fleet, then.
    crew = lineup([busy({"repair.technicians": 1})], variants, 2, 0)
    assert "spares runs another fleet than tiny (cluster.spare_nodes)" in crew.notes[1]


def test_spares_of_their_own_are_paired_by_the_job_servers() -> None:
    """Other spares only: the job's servers keep their stream, so the pairing is "same job servers"."""
    result = compare([busy()], variants={"spares": {"cluster.spare_nodes": 4}}, replications=2, seed=1)
    assert result.fleets == [[], ["cluster.spare_nodes"]]
    assert result.pairings == ["same failures", "same job servers"]


@pytest.mark.slow
def test_results_do_not_depend_on_jobs() -> None:
    """One process or two: the same tables, to the byte."""
    one = compare([busy()], variants={"fast": FAST_RESTART}, replications=3, seed=5, jobs=1)
    two = compare([busy()], variants={"fast": FAST_RESTART}, replications=3, seed=5, jobs=2)
    pd.testing.assert_frame_equal(one.differences, two.differences)
    pd.testing.assert_frame_equal(one.runs, two.runs)


def test_replications_and_seed_default_to_the_first_scenario_and_are_recorded() -> None:
    """Without replications and seed, the first scenario's run.replications and run.seed serve every scenario."""
    result = compare([busy(), busy({"restart.fixed_minutes": 2.0, "run.seed": 99, "run.replications": 5})])
    assert (result.replications, result.seed) == (2, 7)
    assert all(
        (r.scenario.run.replications, r.scenario.run.seed, len(r.replications)) == (2, 7, 2) for r in result.results
    )


def test_variant_setting_the_interval_of_a_daly_scenario_runs_fixed() -> None:
    """A variant that gives the interval to a daly scenario runs it fixed, with a note; the baseline stays daly."""
    result = compare(
        [tiny({"checkpoint.policy": "daly"})],
        variants={"i5": {"checkpoint.interval_minutes": 5.0}},
        replications=1,
        seed=0,
    )
    assert [r.scenario.checkpoint.policy for r in result.results] == ["daly", "fixed"]
    assert result["i5"].scenario.checkpoint.interval_minutes == 5.0
    assert result.notes == [
        "variant i5 sets checkpoint.interval_minutes, so it runs checkpoint.policy = 'fixed' instead of tiny's 'daly'"
    ]


@pytest.mark.parametrize(
    ("scenarios", "variants", "needle"),
    [
        ("one", {}, "nothing to compare: give a second scenario or a variant"),
        ("one", {"x": {"restart.fixed_minute": 1}}, "'x': restart.fixed_minute: unknown key (did you mean"),
        ("one", {"x": {"run.seed": 3}}, "run.seed is the comparison's own"),
        ("one", {"x": {}, "y": {"restart.fixed_minutes": -1}}, "'y': restart.fixed_minutes"),
        ("one", {"tiny": {"restart.fixed_minutes": 1}}, "'tiny': the name of two scenarios"),
        ("one", {"no spaces": {"restart.fixed_minutes": 1}}, "'no spaces': name"),
    ],
)
def test_bad_comparisons_are_refused_before_any_work(
    scenarios: str, variants: dict[str, dict[str, object]], needle: str
) -> None:
    """Unknown keys, bad values, clashing names and fixed settings in variants: one CompareError naming them."""
    with pytest.raises(CompareError) as e:
        lineup([busy()], variants, 2, 0)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_work_limit_names_the_scenario() -> None:
    """A scenario above max_events is refused before any work, named."""
    with pytest.raises(WorkLimitError, match=r"^big: "):
        lineup([busy()], {"big": {"failure.1.mtbf_hours": 1.0}}, 2, 0, max_events=10)


def test_result_api(tmp_path: Path) -> None:
    """Result objects, tables and the JSON document: the shape docs/compare.md gives."""
    result = compare({"base": busy(), "quick": busy(FAST_RESTART)}, replications=3, seed=4)
    assert result.names == ["base", "quick"] and result["quick"].scenario.name == "quick"
    assert list(result.runs.columns[:2]) == ["scenario", "replication"] and len(result.runs) == 6
    assert list(result.summary.columns) == ["base", "quick"] and "ettr" in result.summary.index
    doc = result.to_json()
    assert set(doc) == {"scenarios", "differences"}
    assert [set(s) for s in doc["scenarios"]] == [RUN_JSON_KEYS] * 2
    assert all(
        set(d) == {"baseline", "scenario", "metric", "mean", "ci95", "unpaired_ci95"} for d in doc["differences"]
    )
    assert {d["metric"] for d in doc["differences"]} >= {"ettr", "realized_flop", "fraction_restart", "interruptions"}
    json.dumps(doc, allow_nan=False)  # strict JSON


def test_results_folder_reads_back(tmp_path: Path) -> None:
    """write_compare leaves summary, runs, differences and a complete run folder per scenario, read back by load."""
    result = compare([busy()], variants={"fast": FAST_RESTART}, replications=2, seed=4)
    sources = [{"file": "tiny.toml", "variant": None}, {"file": "tiny.toml", "variant": FAST_RESTART}]
    write_compare(tmp_path / "out", result, [b"name = 'tiny'", b"name = 'tiny'"], "2026-01-01T00:00:00Z", sources)
    folder = load(tmp_path / "out")
    assert isinstance(folder, CompareFolder) and folder.names == ["tiny", "fast"]
    s = folder.summary
    assert s["status"] == "ok" and (s["replications"], s["seed"], s["baseline"]) == (2, 4, "tiny")
    assert s["sources"][1] == {"name": "fast", "file": "tiny.toml", "variant": FAST_RESTART}
    assert s["fleet_differences"] == {"tiny": [], "fast": []}
    assert s["scenarios"][1]["scenario_resolved"]["restart"]["fixed_minutes"] == 1.0  # each with its provenance
    assert len(folder.differences) == len(result.differences) and len(folder.runs) == 4
    fast = folder.scenario("fast")
    assert isinstance(fast, RunFolder) and fast.summary["overrides"] == FAST_RESTART and fast.events is not None
    assert (tmp_path / "out" / "scenarios" / "fast" / "scenario.toml").read_bytes() == b"name = 'tiny'"


def test_failure_is_recorded_beside_earlier_results(tmp_path: Path) -> None:
    """An interrupted comparison records what it was without touching the complete results already there."""
    result = compare([busy(), busy()], replications=1, seed=0)
    sources = [{"file": None, "variant": None}] * 2
    write_compare(tmp_path / "out", result, [None, None], "2026-01-01T00:00:00Z", sources)
    path = write_compare_failure(
        tmp_path / "out", [r.scenario for r in result.results], 0, 1, KeyboardInterrupt(), "2026-01-01T00:00:00Z"
    )
    assert path.parent != tmp_path / "out" and json.loads(path.read_text())["status"] == "interrupted"
    assert isinstance(load(tmp_path / "out"), CompareFolder)


def test_time_and_cost_to_train_are_compared_and_a_missed_target_has_no_difference() -> None:
    """With a target and a rental price: paired differences of the time and cost to train and the cost of
    unreliability; a variant that misses the target in some replication has no time difference."""
    target = {"run.target_compute_days": 0.5, "cost.usd_per_gpu_hour": 2.0}
    variants = {"fast": FAST_RESTART, "slow": {"restart.fixed_minutes": 600.0}}
    result = compare([busy(target)], variants=variants, replications=4, seed=3)
    d = result.differences.set_index(["scenario", "metric"])
    fast = d.loc["fast"]
    for metric in ("time_to_train_days", "cost_to_train_usd", "unreliability_cost_usd", "total_cost_usd"):
        assert fast.loc[metric, "mean"] < 0 and fast.loc[metric, "ci95_high"] < 0, metric
    slow_runs = result["slow"].runs
    assert slow_runs["target_reached"].min() == 0.0, "the case needs a variant that misses the target"
    assert math.isnan(d.loc[("slow", "time_to_train_days"), "mean"])
    assert math.isnan(d.loc[("slow", "time_to_train_days"), "unpaired_ci95_low"])


@pytest.mark.slow
def test_compare_to_precision_is_the_same_on_any_jobs() -> None:
    """With a precision target every scenario runs the same replications until each one's ETTR meets it."""
    scenarios = {"a": busy(), "b": busy(FAST_RESTART)}
    one = compare(scenarios, precision=0.01, jobs=1)
    two = compare(scenarios, precision=0.01, jobs=2)
    assert one.runs.equals(two.runs) and one.differences.equals(two.differences)
    n = one.replications
    assert one.precision is not None and one.precision["met"] and one.precision["replications"] == n > 10
    assert all(r.precision is not None and r.precision["half_width_reached"] <= 0.01 for r in one.results)
    assert all(len(r.replications) == n == r.scenario.run.replications for r in one.results)
    fixed = compare(scenarios, replications=n)
    assert fixed.runs.equals(one.runs)
    # The first n at which both met it: one fewer and at least one of them had not.
    shorter = compare(scenarios, replications=n - 1)
    halves = [r.summary.loc["ettr", "ci95_high"] - r.summary.loc["ettr", "mean"] for r in shorter.results]
    assert max(halves) > 0.01
    assert compare_save_precision(one)["met"] is True


def compare_save_precision(result: sim.CompareResult) -> dict[str, Any]:
    """The precision block of the comparison's summary.json."""
    from sim.experiment.compare_save import summary_document

    sources = [{"file": None, "variant": None}] * len(result.results)
    block: dict[str, Any] = summary_document(result, "2025-01-01T00:00:00Z", sources)["precision"]
    return block


def test_compare_warnings_are_grouped_by_kind() -> None:
    """A warning shared by every scenario is one line; one of a single scenario names it; silent otherwise."""
    plain = compare({"a": tiny(), "b": tiny(FAST_RESTART)}, replications=2)
    assert plain.warnings == []
    slip = compare({"a": tiny({"workload.mfu": 0.9}), "b": tiny({"workload.mfu": 0.9})}, replications=2)
    assert slip.warnings == [next(w for w in slip.results[0].warnings if w.startswith("workload.mfu = 0.9"))]
    one = compare({"a": tiny(), "b": tiny({"workload.mfu": 0.9})}, replications=2)
    assert len(one.warnings) == 1 and one.warnings[0].startswith("at b: workload.mfu = 0.9 ")

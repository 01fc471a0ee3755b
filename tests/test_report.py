"""Terminal reports: the run report's figures and the analytic check."""

from __future__ import annotations

import io
import itertools
import math

import pandas as pd
import pytest
from rich.console import Console

import sim
from sim.analysis.estimates import check_report
from sim.config.loading import load_scenario_text
from sim.experiment.runner import Result
from sim.report import terminal as report
from sim.report.sweep import points_renderable
from sim.results.schema import BUCKETS

TEXT = """\
name = "small"
title = "small test"
[run]
duration_days = 4
[cluster]
gpus = 64
spare_nodes = 1
[workload]
mfu = 0.35
parameters = 1e9
[checkpoint]
write_seconds = 60
[energy]
usd_per_kwh = 0.1
capex_usd = 1e7
[[failure]]
name = "crash"
scope = "job"
mtbf_hours = 8
action = "restart"
[[failure]]
name = "bad GPU"
scope = "gpu"
mtbf_hours = 1000
repair_hours = 48
detect_minutes = 5
[[failure]]
name = "never"
scope = "job"
mtbf_hours = 1e9
action = "restart"
"""

DALY = """\
name = "daly"
[cluster]
gpus = 8
[checkpoint]
policy = "daly"
write_seconds = 300
[restart]
fixed_minutes = 10
[[failure]]
name = "crash"
scope = "job"
mtbf_hours = {mtbf}
action = "restart"
"""


@pytest.fixture(scope="module")
def result() -> Result:
    """Three replications of a small scenario with two live failure modes and one that never strikes."""
    return sim.run(load_scenario_text(TEXT), replications=3, seed=5)


def render(renderable: object, width: int = 120) -> str:
    """Plain text of a rich renderable."""
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_waterfall_adds_up(result: Result) -> None:
    """The waterfall runs from 100% through MFU and each bucket to realized / theoretical."""
    steps = report.waterfall(result)
    assert steps[0][2] == 1.0 and steps[1][2] == pytest.approx(0.35)
    for (_, _, before), (_, change, after) in itertools.pairwise(steps[1:-1]):
        assert after == pytest.approx(before + change)
    ecr = result.summary.loc["effective_compute_ratio", "mean"]
    assert steps[-2][2] == pytest.approx(ecr) and steps[-1][2] == pytest.approx(ecr)
    assert len(steps) == 3 + len(BUCKETS) - 1  # peak, MFU, every non-useful bucket, realized


def test_causes_sorted_and_priced(result: Result) -> None:
    """Causes come costliest first, never-struck ones are left out, money = lost GPU-hours x cost per GPU-hour."""
    rows = report.causes(result)
    names = [r[0] for r in rows]
    assert set(names) == {"crash", "bad GPU"}
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)
    s = result.scenario
    runs = result.runs
    per_gpu_hour = runs["total_cost_usd"] / (s.cluster.gpus * s.horizon_seconds / 3600)
    for name, _, _, usd in rows:
        # Priced in each replication at that replication's cost per GPU-hour, then averaged.
        assert usd == pytest.approx((runs[f"lost_gpu_hours_by_cause.{name}"] * per_gpu_hour).mean())


def test_text_report_sections(result: Result) -> None:
    """The report shows headline, waterfall, causes, tokens, energy and cost."""
    text = render(report.text_report(result))
    for part in ("ETTR", "realized / theoretical FLOP", "Compute waterfall", "not model FLOPs", "checkpoint writes"):
        assert part in text
    for part in ("Interruptions by cause", "crash", "bad GPU", "tokens", "energy (MWh)", "total cost", "job MTBF"):
        assert part in text
    assert "never" not in text.split("Interruptions by cause")[1]


def test_fleet_table_only_when_a_fleet_feature_is_on(result: Result) -> None:
    """The fleet table is left out of a plain run and shown, every figure, when retirement or a pipeline is on."""
    assert "Fleet: retirement and repairs" not in render(report.text_report(result))
    extra = '[repair]\nauto_hours = 2\nescalate_probability = 0.5\n[retirement]\npolicy = "window"\nfailures = 2\n'
    fleet = sim.run(load_scenario_text(TEXT.replace("[[failure]]", extra + "[[failure]]", 1)), replications=2, seed=5)
    text = render(report.text_report(fleet))
    for label in (
        "servers retired",
        "spares consumed",
        "automated repairs",
        "manual repairs",
        "server-hours in repair",
    ):
        assert label in text.split("Fleet: retirement and repairs")[1]


def test_report_fits_80_columns(result: Result) -> None:
    """The report's tables fit a standard terminal without wrapping their labels."""
    text = render(report.text_report(result), width=80)
    assert "not model FLOPs (1 - MFU, MFU = 35.0%)" in text
    assert "realized / theoretical FLOP" in text


def test_warnings_stay_out_of_the_report(result: Result) -> None:
    """Warnings go to stderr, one line each (the command prints them): the report on stdout holds none."""
    result.warnings.append("something odd")
    try:
        text = render(report.text_report(result), width=120)
    finally:
        result.warnings.pop()
    assert "something odd" not in text


@pytest.mark.parametrize(("mtbf_hours", "daly_minutes"), [(24, 117), (6, 57), (0.25, 9.1)])
def test_check_matches_daly_examples(mtbf_hours: float, daly_minutes: float) -> None:
    """Daly's own examples (R = 10 min, delta = 5 min) come out of check_report."""
    c = check_report(load_scenario_text(DALY.format(mtbf=mtbf_hours)))
    assert c["daly_interval_minutes"] == pytest.approx(daly_minutes, abs=0.6 if daly_minutes > 10 else 0.06)
    assert c["young_interval_minutes"] == pytest.approx(math.sqrt(2 * 300 * mtbf_hours * 3600) / 60)
    assert c["interval_minutes_used"] == c["daly_interval_minutes"]
    assert c["job_mtbf_hours"] == pytest.approx(mtbf_hours)


def test_check_ettr_estimates() -> None:
    """First-order and Daly ETTR are close to each other and to the closed form at the interval used."""
    c = check_report(load_scenario_text(DALY.format(mtbf=24)))
    tau, delta, r, m = c["interval_minutes_used"] * 60, 300.0, 600.0, 86400.0
    expected = tau / (m * math.exp(r / m) * math.expm1((tau + delta) / m))
    assert c["daly_ettr"] == pytest.approx(expected)
    assert c["first_order_ettr"] == pytest.approx(expected, abs=0.005)


def test_check_without_failures() -> None:
    """With no failure modes the intervals are not applicable and the job checkpoints once per horizon."""
    s = load_scenario_text(
        'name = "calm"\n[run]\nduration_days = 2\n[cluster]\ngpus = 8\n'
        '[checkpoint]\npolicy = "young"\nwrite_seconds = 60'
    )
    c = check_report(s)
    assert c["job_mtbf_hours"] is None and c["young_interval_minutes"] is None and c["daly_interval_minutes"] is None
    assert c["interval_minutes_used"] == 2 * 24 * 60 and c["causes"] == []
    assert "n/a (no failures)" in render(report.check_renderable(c))


def test_check_sizes_and_counts() -> None:
    """Checkpoint size, write and load times come from parameters and bandwidth; nodes and spares are counted."""
    s = load_scenario_text(
        'name = "big"\n[cluster]\ngpus = 1024\nspare_nodes = 8\n[workload]\nparameters = 70e9\n'
        "[checkpoint]\nbytes_per_parameter = 14\n[storage]\nwrite_gb_per_s = 100\nread_gb_per_s = 200\n"
        "[restart]\nload_checkpoint = true\nfixed_minutes = 5\n"
    )
    c = check_report(s)
    assert c["checkpoint_bytes"] == pytest.approx(980e9)
    assert c["write_seconds"] == pytest.approx(9.8) and c["load_seconds"] == pytest.approx(4.9)
    assert c["restart_minutes"] == pytest.approx(5 + 4.9 / 60)
    assert (c["job_nodes"], c["spare_nodes"]) == (128, 8)
    assert c["theoretical_flop"] == pytest.approx(1024 * 989.4e12 * 100 * 86400)


def test_check_text_lists_modes_by_rate() -> None:
    """The check report lists the failure modes, most frequent first, and both intervals."""
    s = load_scenario_text(TEXT)
    c = check_report(s)
    assert [m["name"] for m in c["causes"]] == ["crash", "bad GPU", "never"]
    text = render(report.check_renderable(c), width=80)
    assert "Young" in text and "Daly" in text and "job MTBF" in text and "gpu x 64" in text


MARKUP = """\
name = "markup"
[run]
duration_days = 4
[cluster]
gpus = 64
[checkpoint]
write_seconds = 60
[[failure]]
name = "GPU [/] 3"
scope = "job"
mtbf_hours = 8
action = "restart"
[[failure]]
name = "[red]bad[/red] GPU"
scope = "gpu"
mtbf_hours = 1000
repair_hours = 48
"""


def test_cause_names_are_text_not_markup() -> None:
    """Cause names with square brackets print as written in the run and check reports, not as rich markup."""
    result = sim.run(load_scenario_text(MARKUP), replications=2, seed=1)
    assert {r[0] for r in report.causes(result)} == {"GPU [/] 3", "[red]bad[/red] GPU"}
    for text in (render(report.text_report(result)), render(report.check_renderable(check_report(result.scenario)))):
        assert "GPU [/] 3" in text and "[red]bad[/red] GPU" in text


def test_swept_values_are_text_not_markup() -> None:
    """A swept string value with square brackets prints as typed in the sweep table."""
    stats = {"ettr": 0.9, "effective_compute_ratio": 0.36, "interruptions": 3.0}
    points = pd.DataFrame(
        {
            "title": ["[/]", "[bold]x[/bold]"],
            **{f"{m}.mean": [v, v] for m, v in stats.items()},
            **{f"ettr.{p}": [0.9, 0.9] for p in ("ci95_low", "ci95_high")},
            **{f"ettr.diff_{p}": [0.0, 0.0] for p in ("mean", "ci95_low", "ci95_high")},
        }
    )
    text = render(points_renderable(points, ["title"]))
    assert "[/]" in text and "[bold]x[/bold]" in text


#: The small scenario with a target of 2 compute-days (about 2.2 days at its ETTR of 90%) and enough spares.
TARGET = TEXT.replace(
    "duration_days = 4", "duration_days = 4\ntarget_compute_days = 2\nstart_date = 2025-03-01"
).replace("spare_nodes = 1", "spare_nodes = 8")


def test_time_to_train_in_the_report() -> None:
    """A target: the time to train, its finish date, the cost to train lead the headline; none are cut at 80."""
    r = sim.run(load_scenario_text(TARGET), replications=3, seed=5)
    text = render(report.text_report(r), width=80)
    assert "target 2 compute-days" in text
    for part in ("time to train (days)", "finish date", "2025-03-0", "cost to train", "cost of unreliability"):
        assert part in text
    assert "…" not in text


def test_a_target_missed_in_some_replications() -> None:
    """Replications short of the target: no mean (not reached), the percentiles that are known, a warning."""
    short = TARGET.replace("target_compute_days = 2", "target_compute_days = 3.6")  # 4 days at ETTR 90%
    r = sim.run(load_scenario_text(short), replications=6, seed=5)
    reached = r.runs["target_reached"].to_numpy()
    assert 0 < reached.sum() < 6, "the case needs some replications on each side"
    text = render(report.text_report(r))
    assert "not reached" in text
    assert any(f"not reached in {int(6 - reached.sum())} of 6 replications" in w for w in r.warnings)
    doc = r.to_json()
    assert doc["metrics"]["time_to_train_days"]["mean"] is None
    assert doc["finish_date"]["p10"] is not None and doc["finish_date"]["p90"] is None


def test_an_unreachable_target_is_a_warning() -> None:
    """A target that needs more days than the horizon even without failures says so."""
    r = sim.run(load_scenario_text(TARGET.replace("target_compute_days = 2", "target_compute_days = 4")), 2, 5)
    assert any("even without failures" in w and "run.target_compute_days" in w for w in r.warnings)


def test_check_gives_the_closed_form_time_to_train() -> None:
    """`check` with a target: Daly's model's mean time to train and its standard deviation."""
    data = check_report(load_scenario_text(TARGET))
    assert data["target_key"] == "target_compute_days"
    assert 2.0 < data["time_to_train_days_estimate"] < 4.0 and data["time_to_train_days_sd"] > 0
    assert "time to train (Daly's model)" in render(report.check_renderable(data))


def test_rental_prices_show_rental_not_capex() -> None:
    """Rented GPUs: the rental line, no amortised capex line (zero), and the cost of unreliability."""
    rented = TEXT.replace("capex_usd = 1e7", "").replace("usd_per_kwh = 0.1", "") + "[cost]\nusd_per_gpu_hour = 2.5\n"
    text = render(report.text_report(sim.run(load_scenario_text(rented), replications=2, seed=5)))
    assert "GPU rental" in text and "amortised capex" not in text and "cost of unreliability" in text


def test_a_sweep_names_the_points_short_of_their_target() -> None:
    """A sweep with a target: each point where replications missed it gets a line saying how many."""
    from sim.experiment.sweeps import run_sweep
    from sim.report.sweep import sweep_renderable

    s = load_scenario_text(TARGET)
    result = run_sweep(s, {"run.duration_days": [2.1, 4]}, replications=3, seed=5, jobs=1)
    text = render(sweep_renderable(result))
    assert "run.duration_days=2.1: not reached in 3 of 3 replications within 2.1 days" in text
    assert "run.duration_days=4:" not in text

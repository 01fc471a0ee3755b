"""The shipped scenarios and study script: they load, cite their numbers, and reproduce what they claim."""

from __future__ import annotations

import importlib
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from PIL import Image

import sim
from sim.results.schema import BUCKETS

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.toml"))
#: A `key = value` line whose value starts with a digit or a sign (a number).
NUMBER_LINE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*[-+]?\d")


def test_the_three_scenarios_are_shipped() -> None:
    """The product card's scenarios are all there."""
    assert {p.name for p in SHIPPED} >= {"h100_100k.toml", "llama3_16k.toml", "gpt4_a100_20k.toml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_scenario_loads_and_validates(path: Path) -> None:
    """Every shipped scenario loads, validates, has a title and a source for every failure mode."""
    scenario = sim.load_scenario(path)
    assert scenario.title
    assert scenario.modes
    assert all(m.source for m in scenario.modes)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_number_has_a_source_comment(path: Path) -> None:
    """Every numeric key in a shipped scenario carries a trailing comment (its source, or "assumed")."""
    bare = [
        line for line in path.read_text(encoding="utf-8").splitlines() if NUMBER_LINE.match(line) and "#" not in line
    ]
    assert bare == []


@pytest.mark.slow
def test_llama3_16k_reproduces_the_paper() -> None:
    """llama3_16k gives 419 unexpected interruptions within 10% and ETTR above 0.90, beyond 3 standard errors."""
    n = 100
    result = sim.run(sim.load_scenario(SCENARIOS / "llama3_16k.toml"), replications=n, seed=20240723)
    runs = result.runs
    count, count_se = runs["interruptions"].mean(), runs["interruptions"].std(ddof=1) / math.sqrt(n)
    ettr, ettr_se = runs["ettr"].mean(), runs["ettr"].std(ddof=1) / math.sqrt(n)
    # The whole +-3 SE band of the mean must sit inside 419 +- 10%: a pass is not a lucky draw, and the
    # test cannot flake (Poisson SD ~20 gives SE ~2 at n = 100, against a 42-interruption margin).
    assert abs(count - 419) + 3 * count_se <= 0.10 * 419, (count, count_se)
    assert ettr - 3 * ettr_se > 0.90, (ettr, ettr_se)


def test_gpt4_theoretical_flop() -> None:
    """gpt4_a100_20k's theoretical FLOP is 20,000 A100 x 312 TFLOP/s dense BF16 x 95 days."""
    result = sim.run(sim.load_scenario(SCENARIOS / "gpt4_a100_20k.toml"), replications=1, seed=1)
    theoretical = result.runs["theoretical_flop"].iloc[0]
    assert theoretical == pytest.approx(20000 * 312e12 * 95 * 86400, rel=1e-12)
    # ... and its MFU puts the effective compute ratio near what the published 2.15e25 FLOP imply.
    assert result.runs["effective_compute_ratio"].iloc[0] == pytest.approx(2.15e25 / theoretical, abs=0.01)


def test_h100_100k_theoretical_flop() -> None:
    """h100_100k's theoretical FLOP is 100,000 H100 x 1978.9 TFLOP/s dense FP8 x 100 days."""
    result = sim.run(sim.load_scenario(SCENARIOS / "h100_100k.toml"), replications=1, seed=1)
    assert result.runs["theoretical_flop"].iloc[0] == pytest.approx(1e5 * 1978.9e12 * 100 * 86400, rel=1e-12)


def test_seed_figures_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """scenarios/seed_figures.py runs (in process) with a small --replications and exits 0."""
    assert _script("seed_figures").main(["--replications", "2", "--seed", "1"]) == 0
    assert "effective compute ratio" in capsys.readouterr().out


def _study(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCENARIOS / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _short_h100(tmp_path: Path, days: float = 2.0) -> Path:
    """h100_100k.toml with a run of ``days``: the study scripts' code paths at a fraction of their cost."""
    text = (SCENARIOS / "h100_100k.toml").read_text(encoding="utf-8")
    short, n = re.subn(r"(?m)^duration_days = 100\.0 .*$", f"duration_days = {days}", text)
    assert n == 1
    path = tmp_path / "h100_100k_short.toml"
    path.write_text(short, encoding="utf-8")
    return path


def _script(name: str) -> Any:
    """The study script ``scenarios/NAME.py`` as a module, to run its ``main`` in process."""
    if str(SCENARIOS) not in sys.path:
        sys.path.insert(0, str(SCENARIOS))
    return importlib.import_module(name)


@pytest.mark.slow
def test_checkpoint_interval_sweep_script_runs_and_resumes(tmp_path: Path) -> None:
    """checkpoint_interval_sweep.py prints the table, the optimum, Young and Daly; --out resumes."""
    out = tmp_path / "cis"
    args = ("--replications", "2", "--seed", "1", "--jobs", "1", "--out", str(out))
    first = _study("checkpoint_interval_sweep.py", *args)
    assert first.returncode == 0, first.stderr
    for text in ("empirical optimum", "Young (1974) interval", "Daly (2006) interval", "(26 computed, 0 reused"):
        assert text in first.stdout
    # Common random numbers: a checkpoint interval moves no failure, so the counts agree point by point.
    assert "interruptions identical across intervals in every replication: yes" in first.stdout
    assert (out / "sweep.sqlite").exists() and (out / "points.csv").exists()
    again = _study("checkpoint_interval_sweep.py", *args)
    assert again.returncode == 0, again.stderr
    assert "(0 computed, 26 reused" in again.stdout
    other = _study("checkpoint_interval_sweep.py", "--replications", "2", "--seed", "2", "--out", str(out))
    assert other.returncode == 2
    assert "seed" in other.stderr


def test_checkpoint_interval_sweep_on_a_short_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """checkpoint_interval_sweep.py in process on a 2-day 100k run: the table, Young and Daly; --out resumes."""
    cis = _script("checkpoint_interval_sweep")
    monkeypatch.setattr(cis, "SCENARIO", _short_h100(tmp_path))
    args = ["--replications", "2", "--seed", "1", "--jobs", "1", "--out", str(tmp_path / "cis")]
    assert cis.main(args) == 0
    first = capsys.readouterr().out
    for text in ("empirical optimum", "Young (1974) interval", "Daly (2006) interval", "(26 computed, 0 reused"):
        assert text in first
    assert "interruptions identical across intervals in every replication: yes" in first
    assert cis.main(args) == 0
    assert "(0 computed, 26 reused" in capsys.readouterr().out
    assert cis.main(["--replications", "2", "--seed", "2", "--out", str(tmp_path / "cis")]) == 2
    assert "seed" in capsys.readouterr().err


@pytest.mark.slow
def test_scale_sweep_script_runs() -> None:
    """scale_sweep.py covers 1,000 to 1,000,000 GPUs and says that job-scope modes do not scale."""
    proc = _study("scale_sweep.py", "--replications", "2", "--seed", "1", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    assert "     1,000 " in proc.stdout and " 1,000,000 " in proc.stdout
    assert "job-scope modes" in proc.stdout
    bad = _study("scale_sweep.py", "--replications", "2", "--sizes", "1001")
    assert bad.returncode == 2
    assert "multiple of 8" in bad.stderr


def test_scale_sweep_script_on_small_clusters(capsys: pytest.CaptureFixture[str]) -> None:
    """scale_sweep.py in process on two small sizes prints a row for each and its notes; a size off the server
    grid exits 2."""
    scale = _script("scale_sweep")
    assert scale.main(["--replications", "2", "--seed", "1", "--jobs", "1", "--sizes", "1000,4000"]) == 0
    out = capsys.readouterr().out
    assert "     1,000 " in out and "     4,000 " in out
    assert "job-scope modes" in out
    assert scale.main(["--replications", "2", "--sizes", "1001"]) == 2
    assert "multiple of 8" in capsys.readouterr().err


def test_strategies_script_on_a_short_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """strategies.py in process on a 2-day 100k run: every configuration's row, the CSV, the chart and the
    comparison's folder."""
    out = tmp_path / "strategies"
    strategies = _script("strategies")
    code = strategies.main([str(_short_h100(tmp_path)), "--replications", "2", "--seed", "1", "--jobs", "1",
                            "--out", str(out)])  # fmt: skip
    assert code == 0
    stdout = capsys.readouterr().out
    for label in ("sync + restart (baseline)", "async + restart", "memory + restart", "sync + replica"):
        assert f"\n{label} " in stdout
    table = pd.read_csv(out / "strategies.csv")
    assert len(table) == 7
    assert (table[[f"fraction_{b}" for b in BUCKETS]].sum(axis=1) - 1).abs().max() < 1e-3
    assert (out / "strategies.png").exists()
    assert {"compare_ledger.png", "report.html", "differences.csv"} <= {p.name for p in (out / "compare").iterdir()}


@pytest.mark.slow
def test_strategies_script_runs(tmp_path: Path) -> None:
    """strategies.py prints one table of every configuration, writes its chart, CSV and runs, and the comparison's
    folder."""
    out = tmp_path / "strategies"
    proc = _study("strategies.py", "--replications", "2", "--seed", "1", "--jobs", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for label in ("sync + restart (baseline)", "async + restart", "memory + restart", "sync + replica"):
        assert f"\n{label} " in proc.stdout
    assert "sync + shrink, 1% spares - sync + restart, 1% spares:" in proc.stdout
    assert "The same comparison on the command line: trainsim compare " in proc.stdout
    table = pd.read_csv(out / "strategies.csv")
    assert len(table) == 7
    # The ledger columns cover the GPU-time (exactness per replication is the engine tests' job).
    assert (table[[f"fraction_{b}" for b in BUCKETS]].sum(axis=1) - 1).abs().max() < 1e-3
    assert table.loc[0, "diff_baseline.mean"] == 0.0 and table.loc[1, "diff_baseline.mean"] > 0
    rejoins = dict(zip(table["configuration"], table["rejoins"], strict=True))
    assert rejoins["sync + shrink, 1% spares"] > 0 and rejoins["sync + restart (baseline)"] == 0
    assert len(pd.read_parquet(out / "runs.parquet")) == 7 * 2
    with Image.open(out / "strategies.png") as png:
        assert png.size[0] >= 1200 and png.size[1] >= 700
    assert len(pd.read_parquet(out / "compare" / "runs.parquet")) == 7 * 2
    assert {"compare_ledger.png", "report.html", "differences.csv"} <= {p.name for p in (out / "compare").iterdir()}
    bad = _study("strategies.py", "--replications", "1", "--out", str(out))
    assert bad.returncode == 2 and "at least 2" in bad.stderr


@pytest.mark.slow
def test_strategies_script_takes_any_scenario(tmp_path: Path) -> None:
    """strategies.py on another file: its own snapshot limit, replica layout and spares; a bad file in one line."""
    out = tmp_path / "llama"
    args = ("--replications", "2", "--jobs", "1", "--out", str(out))
    proc = _study("strategies.py", str(SCENARIOS / "llama3_16k.toml"), *args)
    assert proc.returncode == 0, proc.stderr
    assert "llama3_16k.toml (16,384 x H100-SXM, 54 days)" in proc.stdout
    assert "replicas of 1024 GPUs (16 replicas)" in proc.stdout and "sync + shrink, 0.98% spares" in proc.stdout
    assert "--set checkpoint.snapshot_seconds=2.835" in proc.stdout  # the file writes in 2.8 s: no longer snapshot
    bad = _study("strategies.py", str(tmp_path / "missing.toml"), *args)
    assert bad.returncode == 2 and "no such scenario file" in bad.stderr and "Traceback" not in bad.stderr


def test_correlated_scenario_has_every_failure_kind() -> None:
    """h100_100k_correlated loads with rack and switch domains, late SDC, stragglers and maintenance;
    a 10-day run books maintenance, slow and wait time, rack interruptions, and a ledger that sums exactly."""
    path = SCENARIOS / "h100_100k_correlated.toml"
    scenario = sim.load_scenario(path)
    modes = {m.name: m for m in scenario.modes}
    assert modes["rack power/cooling"].scope == "rack" and scenario.cluster.nodes_per_rack == 4
    assert modes["leaf switch"].scope == "switch" and scenario.cluster.nodes_per_switch == 32
    sdc = modes["silent data corruption"]
    assert sdc.detect_hours > 0 and sdc.action == "restart" and scenario.checkpoint.keep is not None
    assert modes["straggler"].action == "slow" and modes["NCCL watchdog timeout"].detect_minutes == 10.0
    assert scenario.failure_preset is None  # the Llama 3 modes are written out, split where they change
    # The shipped 250 spares never run short for long; 130 (about the servers in repair at once plus
    # a switch's 32) make correlated failures wait for repairs.
    short = sim.load_scenario(path, overrides={"run.duration_days": 10, "cluster.spare_nodes": 130})
    result = sim.run(short, replications=2, seed=0)
    runs = result.runs
    assert (runs["fraction_maintenance"] > 0).all() and (runs["planned_interruptions"] == 8).all()
    assert (runs["fraction_slow"] > 0).all() and (runs["fraction_wait"] > 0).all()
    assert (runs["interruptions_by_cause.rack power/cooling"] > 0).all()
    assert (runs["interruptions_by_cause.straggler"] == 0).all()  # stragglers cost throughput, not restarts
    assert (runs["lost_gpu_hours_by_cause.straggler"] > 0).all()
    capacity = short.cluster.gpus * short.horizon_seconds
    for rep in result.replications:
        assert set(rep.gpu_seconds) == set(BUCKETS)
        assert sum(rep.gpu_seconds.values()) == pytest.approx(capacity, rel=1e-9)


#: Kokolis et al. (2024), "Revisiting Reliability in Large-Scale Machine Learning Research Clusters":
#: 6.5 failures per 1,000 node-days on Meta's research clusters; job MTTF projected 1.8 h at 16,384
#: GPUs and 0.23 h at 131,072 (eight-GPU nodes).
NODE_FAILURES_PER_DAY = 6.5 / 1000.0


@pytest.mark.parametrize(("gpus", "mttf_hours"), [(16_384, 1.8), (131_072, 0.23)])
def test_job_mttf_projections_of_meta_research_clusters(gpus: int, mttf_hours: float) -> None:
    """At 6.5 failures per 1,000 node-days, the job MTBF is Meta's projection (to its two digits), and the
    simulated count of interruptions matches it within 3 standard errors (Poisson)."""
    s = sim.load_scenario_text(
        f"""name = "meta-rsc"
[run]
duration_days = 10
[cluster]
gpus = {gpus}
[checkpoint]
write_seconds = 60
[restart]
fixed_minutes = 0
[[failure]]
name = "node"
scope = "node"
mtbf_hours = {24.0 / NODE_FAILURES_PER_DAY}
action = "restart"
"""
    )
    from sim.analysis.analytic import job_mtbf_seconds

    mtbf_h = job_mtbf_seconds(s) / 3600.0
    assert round(mtbf_h, 2 if mtbf_h < 1 else 1) == pytest.approx(mttf_hours, abs=0.011)
    result = sim.run(s, replications=4, seed=11)
    count = float(result.runs["interruptions"].sum())
    expected = 4 * s.horizon_seconds / 3600.0 / mtbf_h
    assert abs(count - expected) < 3 * math.sqrt(expected)


def test_retirement_study_tables_pair_every_configuration_with_none() -> None:
    """The study's summary takes the ETTR gained replication by replication, and its report names the best policy."""
    sys.path.insert(0, str(SCENARIOS))
    import retirement_study as study

    rows = []
    for r, base in enumerate((0.60, 0.62, 0.64)):
        for name, gain, retired in (
            ("none", 0.0, 0),
            ("window: 2 failures in 7 days", 0.01, 100),
            ("score: +10 per 1 day up", 0.002, 5),
            ("no bad servers", 0.02, 0),
        ):
            rows.append(
                {
                    "configuration": name,
                    "replication": r,
                    "ettr": base + gain + 0.001 * r * (name != "none"),
                    "nodes_retired": retired,
                    "spares_consumed": 4000,
                    "interruptions": 4200,
                    "failed_repairs": 1000,
                    "fraction_wait": 0.0,
                }
            )
    table = study.summarise(pd.DataFrame(rows))
    gained = dict(zip(table["configuration"], table["gained.mean"], strict=True))
    assert gained["none"] == 0.0 and gained["window: 2 failures in 7 days"] == pytest.approx(0.011)
    text = study.report(table, replications=3, seed=0, seconds=1.0)
    assert "Best policy here: window: 2 failures in 7 days, +1.10" in text
    assert "no bad servers - none): +2.10" in text


@pytest.mark.slow
def test_retirement_study_script_runs(tmp_path: Path) -> None:
    """retirement_study.py runs every configuration paired with none and writes its table, runs and chart."""
    out = tmp_path / "retirement"
    proc = _study("retirement_study.py", "--replications", "2", "--seed", "1", "--jobs", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for name in ("window: 2 failures in 7 days", "window: 5 failures in 30 days", "score: +10 per 1 day up"):
        assert f"\n{name} " in proc.stdout
    table = pd.read_csv(out / "retirement.csv")
    assert len(table) == 13 and table.loc[0, "gained.mean"] == 0.0
    assert len(pd.read_parquet(out / "runs.parquet")) == 13 * 2
    with Image.open(out / "retirement.png") as png:
        assert png.size[0] >= 1200

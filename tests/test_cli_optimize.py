"""``trainsim optimize``: the report, JSON, its results folder (tables, optimum, chart, report.html), bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_cli import TINY, run_cli

from sim.results.folder import SweepFolder, load

INTERVAL = "checkpoint.interval_minutes"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small, fast scenario file (the one of test_cli)."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def optimize(tiny: Path, out: Path, *extra: str) -> list[str]:
    """The arguments of a quick search of ``tiny`` into ``out``."""
    return ["optimize", str(tiny), "-n", "3", "-j", "1", "-o", str(out), *extra]


def test_optimize_prints_best_next_to_young_and_daly(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`optimize` prints the best interval, its bracket and ETTR CI, and Young's and Daly's intervals."""
    code, stdout, stderr = run_cli([*optimize(tiny, tmp_path / "o", "--no-plots"), "--param", INTERVAL], capsys)
    assert code == 0, stderr
    for text in ("simulated best", "bracket", "Young (1974)", "Daly (2006)", "95% CI", "Evaluated points"):
        assert text in stdout
    assert "optimizing checkpoint.interval_minutes of tiny" in stderr
    assert f"results in {tmp_path / 'o'}/" in stderr


def test_optimize_json(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`optimize --format json` prints one JSON object: best, bracket, CI, Young, Daly and every point."""
    args = optimize(tiny, tmp_path / "o", "--range", "5:200", "-f", "json", "--no-plots")
    code, stdout, _ = run_cli(args, capsys)
    assert code == 0
    doc = json.loads(stdout)
    lo, hi = doc["bracket"]
    assert 5 <= lo <= doc["best"] <= hi <= 200 and doc["key"] == INTERVAL
    assert doc["young_minutes"] > 0 and doc["daly_minutes"] > 0 and len(doc["best_ci95"]) == 2
    assert len(doc["points"]) >= 2
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["optimum"] == doc


def test_optimize_writes_a_results_folder(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The folder holds every value evaluated (runs, points), the optimum, the scenario, the chart and report.html."""
    out = tmp_path / "o"
    code, _, stderr = run_cli(optimize(tiny, out, "--range", "5:200"), capsys)
    assert code == 0, stderr
    files = {p.name for p in out.iterdir()}
    assert files == {"scenario.toml", "runs.parquet", "points.csv", "summary.json", "optimize.png", "report.html"}
    doc = json.loads((out / "summary.json").read_text())
    points = pd.read_csv(out / "points.csv")
    runs = pd.read_parquet(out / "runs.parquet")
    values = sorted(points[INTERVAL].tolist())
    assert doc["status"] == "ok" and doc["seed"] == doc["scenario_resolved"]["run"]["seed"] and doc["replications"] == 3
    assert [p["params"][INTERVAL] for p in doc["points"]] == values == doc["params"][INTERVAL]
    assert len(runs) == 3 * len(values) and doc["optimum"]["best"] in values
    assert doc["best"] == {INTERVAL: doc["optimum"]["best"]}
    assert doc["search"] == {"key": INTERVAL, "range": [5.0, 200.0], "objective": "ettr"}
    assert doc["scenario_resolved"]["checkpoint"]["policy"] == "fixed"
    assert (out / "scenario.toml").read_text() == tiny.read_text()
    folder = load(out)
    assert isinstance(folder, SweepFolder)
    html = (out / "report.html").read_text()
    assert "Optimize report" in html and "<h3>Optimum</h3>" in html and "Daly (2006)" in html


def test_plot_redraws_an_optimize_folder(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`trainsim plot` draws the search's chart and report.html again from the folder alone."""
    out = tmp_path / "o"
    assert run_cli(optimize(tiny, out, "--no-plots"), capsys)[0] == 0
    code, stdout, _ = run_cli(["plot", str(out)], capsys)
    assert code == 0 and stdout.split() == [str(out / "optimize.png"), str(out / "report.html")]


def test_optimize_refuses_a_sweep_folder(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An --out holding a sweep (its store) is refused before any work, and left as it was."""
    out = tmp_path / "s"
    sweep = ["sweep", str(tiny), "-p", f"{INTERVAL}=10,20", "-n", "1", "-j", "1", "--no-plots", "-o", str(out)]
    assert run_cli(sweep, capsys)[0] == 0
    before = sorted(p.name for p in out.iterdir())
    code, _, stderr = run_cli(optimize(tiny, out), capsys)
    assert code == 2 and "sweep.sqlite" in stderr and sorted(p.name for p in out.iterdir()) == before


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--range", "5-60"], "--range"),
        (["--range", "60:5"], "--range"),
        (["--param", f"{INTERVAL}=5,10"], "give a key only"),
        (["--param", "checkpoint.interval_minute", "--range", "5:60"], "did you mean"),
        (["--replications", "0"], "--replications"),
    ],
)
def test_optimize_bad_input_exits_2(
    extra: list[str], expected: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad optimize input exits 2 with one line and no traceback, and writes no folder."""
    code, stdout, stderr = run_cli(["optimize", str(tiny), "-j", "1", "-o", str(tmp_path / "o"), *extra], capsys)
    assert code == 2 and expected in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr + stdout
    assert not (tmp_path / "o").exists()

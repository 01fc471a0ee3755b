"""Sweep result folders (sim.experiment.sweep_save) and the sweep and optimize text reports (sim.report.sweep)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from builders import tiny
from rich.console import Console

from sim.experiment import sweep_save as sweep_output
from sim.experiment.store import Store
from sim.experiment.sweeps import SweepResult, run_sweep
from sim.report import sweep as sweep_report

INTERVAL = "checkpoint.interval_minutes"


@pytest.fixture(scope="module")
def result() -> SweepResult:
    """A 3-point, 3-replication sweep of the builders' tiny scenario with frequent crashes."""
    s = tiny({"failure.0.mtbf_hours": 2.0, "run.duration_days": 2.0})
    return run_sweep(s, {INTERVAL: [5, 20, 80]}, replications=3, jobs=1)


def render(renderable: object, width: int = 120) -> str:
    """What the report prints, as plain text."""
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def cells(text: str) -> list[list[str]]:
    """The body rows of the rendered points table, cell by cell."""
    lines = [line for line in text.splitlines() if "│" in line]
    return [[c.strip() for c in line.split("│")] for line in lines]


def test_write_sweep_round_trips_the_tables(result: SweepResult, tmp_path: Path) -> None:
    """runs.parquet and points.csv hold exactly the sweep's tables; summary.json the document and provenance."""
    out = tmp_path / "s"
    sweep_output.write_sweep(
        out, result, b"scenario text", "2025-01-01T00:00:00Z", 1.5, [f"{INTERVAL}=5,20,80"], {"a.b": 1}
    )
    assert pd.read_parquet(out / "runs.parquet").equals(result.runs)
    pd.testing.assert_frame_equal(pd.read_csv(out / "points.csv"), result.points, check_exact=False, rtol=1e-12)
    doc = json.loads((out / "summary.json").read_text())
    assert doc["status"] == "ok" and doc["overrides"] == {"a.b": 1} and doc["runtime_s"] == 1.5
    assert doc["points"] == json.loads(json.dumps(result.to_json()["points"]).replace("NaN", "null"))
    assert (out / "scenario.toml").read_bytes() == b"scenario text"
    assert [p.name for p in tmp_path.iterdir()] == ["s"]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_failed_write_keeps_the_earlier_results(
    result: SweepResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table that cannot be written leaves the folder's earlier summary and tables as they were."""
    sweep_output.write_sweep(tmp_path / "s", result, "x", "t", 1.0, [])
    before = {p.name: p.read_bytes() for p in (tmp_path / "s").iterdir()}

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    with pytest.raises(OSError):
        sweep_output.write_sweep(tmp_path / "s", result, "x", "t", 1.0, [])
    assert {p.name: p.read_bytes() for p in (tmp_path / "s").iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


def test_write_sweep_replaces_old_tables_and_keeps_the_store(result: SweepResult, tmp_path: Path) -> None:
    """A finished sweep replaces the folder's earlier tables and charts, and carries its store's rows over."""
    out = tmp_path / "s"
    store = Store.open(out, result.scenario, seed=1, resume=False)
    store.put("{}", 0, {"ettr": 0.5})
    store.close()
    for name in ("summary.json", "runs.parquet", "points.csv", "sweep_curve.png", "report.html"):
        (out / name).write_text("old")
    sweep_output.write_sweep(out, result, "new scenario", "t", 1.0, [])
    assert sorted(p.name for p in out.iterdir()) == sorted(["scenario.toml", "sweep.sqlite", *sweep_output.FILES[1:]])
    assert Store.open(out, result.scenario, seed=1, resume=True).load() == {("{}", 0): {"ettr": 0.5}}


def test_foreign_results(tmp_path: Path) -> None:
    """A run's folder is foreign to a sweep; a sweep's folder (with a store) or an empty one is not."""
    assert sweep_output.foreign_results(tmp_path / "missing") == []
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "events.parquet").write_text("")
    assert sweep_output.foreign_results(tmp_path) == ["events.parquet", "summary.json"]
    (tmp_path / "sweep.sqlite").write_text("")
    assert sweep_output.foreign_results(tmp_path) == []


def test_failure_summary(tmp_path: Path) -> None:
    """An interrupted sweep's summary says so, with the grid; a failed one carries the traceback."""
    s = tiny()
    try:
        raise ValueError("bad luck")
    except ValueError as e:
        error = e
    where = sweep_output.write_sweep_failure(tmp_path, s, 7, 2, {INTERVAL: [5, 10]}, error, "x", "t", 0.5, ["x"], None)
    doc = json.loads(where.read_text())
    assert where == tmp_path / "summary.json" and (tmp_path / "scenario.toml").read_text() == "x"
    assert doc["status"] == "failed" and "bad luck" in doc["traceback"] and doc["params"] == {INTERVAL: [5, 10]}
    where = sweep_output.write_sweep_failure(
        tmp_path, s, 7, 2, {INTERVAL: [5]}, KeyboardInterrupt(), "x", "t", 0.5, ["x"], None
    )
    doc = json.loads(where.read_text())
    assert doc["status"] == "interrupted" and "traceback" not in doc and doc["seed"] == 7


def test_failure_beside_complete_results(result: SweepResult, tmp_path: Path) -> None:
    """A sweep interrupted in a folder with complete results records it in a sibling folder; the results stay."""
    out = tmp_path / "s"
    sweep_output.write_sweep(out, result, "x", "t", 1.0, [])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    where = sweep_output.write_sweep_failure(
        out, result.scenario, 7, 2, {INTERVAL: [5]}, KeyboardInterrupt(), "x", "t", 0.5, []
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert where.parent.name.startswith("s.interrupted-") and json.loads(where.read_text())["status"] == "interrupted"


def test_report_marks_the_best_row(result: SweepResult) -> None:
    """The sweep report has one row per point, the best marked, and the computed and reused counts."""
    text = render(sweep_report.sweep_renderable(result))
    best = sweep_report.fmt_value(result.best[INTERVAL])
    rows = cells(text)
    assert [r[1] for r in rows] == ["5", "20", "80"]
    assert [r[0] == "*" for r in rows] == [r[1] == best for r in rows]
    assert [r[-1] == "best" for r in rows] == [r[1] == best for r in rows]
    assert "computed 9, reused 0 replications" in text and f"best: {INTERVAL}={best}" in text
    assert all("±" in r[2] for r in rows) and "nan" not in text.lower()


def test_report_fits_80_columns(result: SweepResult) -> None:
    """A two-key sweep fits an 80-column terminal without cutting a number."""
    s = tiny({"failure.0.mtbf_hours": 2.0, "run.duration_days": 1.0})
    two = run_sweep(s, {INTERVAL: [5, 13.16], "cluster.spare_nodes": [0, 1]}, replications=2, jobs=1)
    text = render(sweep_report.sweep_renderable(two), width=80)
    assert "…" not in text and max(map(len, text.splitlines())) <= 80


def test_one_replication_has_no_interval(result: SweepResult) -> None:
    """With one replication there is no CI: values print without a ± and never as nan."""
    one = run_sweep(result.scenario, {INTERVAL: [5, 20]}, replications=1, jobs=1)
    text = render(sweep_report.sweep_renderable(one))
    assert not any("±" in c for r in cells(text) for c in r) and "nan" not in text.lower()

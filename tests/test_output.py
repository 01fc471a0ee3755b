"""Result folders: atomic files, summary documents, failed runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.config.loading import load_scenario_text
from sim.config.scenario import Scenario
from sim.experiment import save
from sim.experiment.runner import Result
from sim.results import files as output

TEXT = """\
name = "small"
[run]
duration_days = 3
[cluster]
gpus = 16
[checkpoint]
write_seconds = 30
[[failure]]
name = "crash"
scope = "job"
mtbf_hours = 10
action = "restart"
"""


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """A small scenario with one failure mode."""
    return load_scenario_text(TEXT)


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> Result:
    """Two replications of the small scenario."""
    return sim.run(scenario, replications=2, seed=3)


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    """An atomic write replaces the old content and leaves no temporary file."""
    target = tmp_path / "f.txt"
    target.write_text("old")
    output.atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    """A writer that raises midway leaves neither a partial target nor a temporary file."""
    target = tmp_path / "data.bin"
    with pytest.raises(RuntimeError), output.atomic_path(target) as tmp:
        tmp.write_bytes(b"half of the")
        raise RuntimeError("disk on fire")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_old_file_when_writer_raises(tmp_path: Path) -> None:
    """A failed rewrite keeps the previous complete file."""
    target = tmp_path / "summary.json"
    target.write_text("{}")
    with pytest.raises(KeyboardInterrupt), output.atomic_path(target) as tmp:
        tmp.write_text('{"half": ')
        raise KeyboardInterrupt
    assert target.read_text() == "{}" and [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_atomic_file_mode_follows_umask(tmp_path: Path) -> None:
    """An atomically written file is readable by others like any new file (not mkstemp's 0600)."""
    target = tmp_path / "x"
    output.atomic_write_text(target, "x")
    assert target.stat().st_mode & 0o044 == (0o666 & ~_umask()) & 0o044


def _umask() -> int:
    """The process's file creation mask (reading it means setting it; it is put straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_results_files_and_keys(result: Result, tmp_path: Path) -> None:
    """write_results writes the four files and the power trace; summary.json holds the JSON document plus provenance."""
    out = tmp_path / "r"
    save.write_results(out, result, TEXT, "2024-01-01T00:00:00Z", {"run.duration_days": 3})
    assert {p.name for p in out.iterdir()} == {*output.FILES, output.POWER}
    doc = json.loads((out / "summary.json").read_text())
    assert {k: doc[k] for k in result.to_json()} == json.loads(output.dumps(result.to_json()))
    assert doc["status"] == "ok" and doc["version"] == sim.__version__ and doc["seed"] == 3
    assert doc["scenario_resolved"] == result.scenario.model_dump(mode="json")
    assert doc["started_utc"] == "2024-01-01T00:00:00Z" and doc["interval_minutes_used"] == 30.0
    assert doc["overrides"] == {"run.duration_days": 3} and isinstance(doc["runtime_s"], float)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), result.runs, check_dtype=False)
    assert len(pd.read_parquet(out / "events.parquet")) == len(result.events)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "power.parquet"), result.power)


def test_no_overrides_key_without_overrides(result: Result) -> None:
    """A run without --set has no "overrides" key."""
    assert "overrides" not in save.summary_document(result, "t")


def test_failed_write_keeps_the_earlier_results(
    result: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing the tables fails, the folder keeps its earlier results byte for byte, and no temporary is left."""
    out = tmp_path / "r"
    save.write_results(out, result, TEXT, "t")
    (out / "waterfall.png").write_bytes(b"chart of the earlier results")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(self: pd.DataFrame, path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(b"PAR1 trunc")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        save.write_results(out, result, TEXT, "t")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_write_failure(scenario: Scenario, tmp_path: Path) -> None:
    """A failed run's summary.json has status failed, the error, the scenario and the seed."""
    out = tmp_path / "r"
    out.mkdir()
    (out / "runs.parquet").write_bytes(b"stale")  # no summary: not results, so the record replaces it
    try:
        raise ValueError("replication 3 diverged")
    except ValueError as e:
        summary = save.write_failure(out, scenario, 9, 4, e, TEXT, "t", {"run.seed": 9})
    assert summary == out / "summary.json"
    doc = json.loads(summary.read_text())
    assert doc["status"] == "failed" and doc["error"] == "ValueError: replication 3 diverged"
    assert "Traceback" in doc["traceback"] and doc["seed"] == 9 and doc["replications"] == 4
    assert doc["scenario_resolved"]["name"] == "small" and doc["overrides"] == {"run.seed": 9}
    assert {p.name for p in out.iterdir()} == {"summary.json", "scenario.toml"}


def test_failure_beside_complete_results(result: Result, scenario: Scenario, tmp_path: Path) -> None:
    """Interrupted next to complete results: they stay byte for byte; the record goes to a sibling folder."""
    out = tmp_path / "r"
    save.write_results(out, result, TEXT, "t")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    summary = save.write_failure(out, scenario, 3, 2, KeyboardInterrupt(), TEXT, "t")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert summary.parent.parent == tmp_path and summary.parent.name.startswith("r.interrupted-")
    doc = json.loads(summary.read_text())
    assert doc["status"] == doc["error"] == "interrupted" and "traceback" not in doc and doc["seed"] == 3
    assert (summary.parent / "scenario.toml").read_text() == TEXT


def test_dumps_is_strict_json() -> None:
    """Non-finite floats become null, so the output parses in any JSON reader."""
    text = output.dumps({"a": float("nan"), "b": [float("-inf"), 1.5]})
    assert json.loads(text) == {"a": None, "b": [None, 1.5]}


def test_default_out_dir(scenario: Scenario) -> None:
    """Results go to results/<scenario name> by default."""
    assert output.default_out_dir(scenario) == Path("results") / "small"

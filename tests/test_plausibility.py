"""Plausibility warnings: each triggered by its case and silent otherwise, in run, sweep and on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import tiny

import sim
from sim.analysis.plausibility import WAIT_SHARE, Flag, grouped, points_warnings, scenario_flags, wait_flag
from sim.cli import main
from sim.experiment.sweeps import run_sweep

#: Checkpoint and storage sections whose write time comes from the size and the bandwidth.
SIZED = {"interval_minutes": 60.0}


def kinds(overrides: dict[str, Any] | None = None, **sections: Any) -> list[str]:
    return [f.kind for f in scenario_flags(tiny(overrides, **sections))]


def test_tiny_is_silent() -> None:
    """The plain test scenario earns no warning: every check is silent unless its case holds."""
    assert kinds() == []


def test_memory() -> None:
    """A 70B model unsharded on one GPU per copy cannot fit in 80 GB; sharded over 16 GPUs it does."""
    assert kinds({"workload.parameters": 70e9}) == ["memory"]
    assert kinds({"workload.parameters": 70e9, "workload.shard_optimizer": True}) == []


def test_write_longer_than_the_job_mtbf() -> None:
    """An hour-long write against a 30-minute job MTBF warns; a one-minute write does not."""
    crash = {"failure.0.mtbf_hours": 0.5}
    assert kinds(crash | {"checkpoint.write_seconds": 3600.0}) == ["write_vs_mtbf"]
    assert kinds(crash | {"checkpoint.write_seconds": 60.0}) == []


def test_restart_longer_than_the_job_mtbf() -> None:
    """A 45-minute restart against a 30-minute job MTBF warns; a 5-minute one does not."""
    crash = {"failure.0.mtbf_hours": 0.5}
    assert kinds(crash | {"restart.fixed_minutes": 45.0}) == ["restart_vs_mtbf"]
    assert kinds(crash | {"restart.fixed_minutes": 5.0}) == []


def test_mfu_above_any_published_run() -> None:
    """An MFU of 0.9 warns; 0.55 (MegaScale's) does not."""
    assert kinds({"workload.mfu": 0.9}) == ["mfu"]
    assert kinds({"workload.mfu": 0.55}) == []


@pytest.mark.parametrize(
    ("gb_per_s", "warned"),
    [(1600.0, True), (16.0, False), (0.01, True)],
    ids=["MB/s typed as GB/s", "plausible", "TB/s typed as GB/s"],
)
def test_write_bandwidth_unit_slip(gb_per_s: float, warned: bool) -> None:
    """Write bandwidth per GPU above a PCIe 5.0 x16 link or below 1 MB/s warns; 1 GB/s per GPU does not."""
    found = kinds({"workload.parameters": 1e9}, checkpoint=SIZED, storage={"write_gb_per_s": gb_per_s})
    assert found == (["write_gb_per_s"] if warned else [])


def test_bandwidth_not_used_is_not_checked() -> None:
    """A write bandwidth that the given write time overrides, and a read bandwidth never read, stay silent."""
    assert kinds({"workload.parameters": 1e9}, storage={"write_gb_per_s": 1600.0, "read_gb_per_s": 0.01}) == []


@pytest.mark.parametrize(("gb_per_s", "warned"), [(1600.0, True), (16.0, False)])
def test_read_bandwidth_unit_slip(gb_per_s: float, warned: bool) -> None:
    """A read bandwidth loaded at every restart is checked as the write bandwidth is."""
    overrides = {"workload.parameters": 1e9, "restart.load_checkpoint": True}
    found = kinds(overrides, storage={"read_gb_per_s": gb_per_s})
    assert found == (["read_gb_per_s"] if warned else [])


def test_restart_minutes_that_look_like_seconds() -> None:
    """A 180-minute fixed restart warns; a 20-minute one does not."""
    assert kinds({"restart.fixed_minutes": 180.0}) == ["restart_minutes"]
    assert kinds({"restart.fixed_minutes": 20.0}) == []


def test_server_mtbf_that_looks_like_the_jobs() -> None:
    """A server-scope mode failing every 100 hours per server warns; every 10,000 hours does not."""
    assert kinds({"failure.1.mtbf_hours": 100.0}) == ["server_mtbf"]
    assert kinds({"failure.1.mtbf_hours": 10_000.0}) == []


def test_wait_flag_threshold() -> None:
    """More than 10% of the time waiting warns; 10% itself and less do not."""
    assert wait_flag(WAIT_SHARE + 1e-9) is not None
    assert wait_flag(WAIT_SHARE) is None and wait_flag(0.0) is None


def _short_of_spares(spares: int) -> sim.Scenario:
    # 32 servers, each failing every 1,000 hours and out for 48: the job loses one every 31 hours.
    overrides = {"cluster.gpus": 256, "cluster.spare_nodes": spares, "failure.1.repair_hours": 48.0}
    return tiny(overrides | {"failure.1.mtbf_hours": 1000.0}, run={"duration_days": 10.0, "replications": 2, "seed": 1})


def test_run_warns_when_the_job_waits_for_spares() -> None:
    """A job short of spares waits more than 10% of the time and says so; with spares enough it is silent."""
    short = sim.run(_short_of_spares(0))
    assert short.summary.loc["fraction_wait", "mean"] > WAIT_SHARE
    assert sum("waits for spare servers" in w for w in short.warnings) == 1
    ample = sim.run(_short_of_spares(16))
    assert ample.summary.loc["fraction_wait", "mean"] < WAIT_SHARE
    assert not any("waits for spare servers" in w for w in ample.warnings)


def test_grouped_names_the_points() -> None:
    """A warning at some points names them; one shared by every point is given once, as it is."""
    lines = grouped([("x=1", [Flag("memory", "a")]), ("x=2", [Flag("memory", "b")]), ("x=3", [])])
    assert lines == ["at x=1; x=2 (figures of x=1): a"]
    assert grouped([("x=1", [Flag("mfu", "m")]), ("x=2", [Flag("mfu", "m")])]) == ["m"]
    assert grouped([("x=1", []), ("x=2", [])]) == []


def test_points_warnings_wait_lists_each_point() -> None:
    """The wait warning of several points gives each its share, and says when the spares stay fixed."""
    s = tiny()
    lines = points_warnings([("gpus=16", s, 0.02), ("gpus=64", s, 0.3), ("gpus=256", s, 0.6)], fixed_spares=1)
    assert len(lines) == 1 and "gpus=64 (30.0%), gpus=256 (60.0%)" in lines[0] and "gpus=16" not in lines[0]
    assert "cluster.spare_nodes stays 1 at every point" in lines[0]


def test_gpus_sweep_with_fixed_spares_names_the_waiting_points() -> None:
    """A cluster.gpus sweep with one spare throughout: the large cluster waits, and the warning names it alone."""
    base = tiny(
        {"failure.1.mtbf_hours": 1000.0, "failure.1.repair_hours": 48.0},
        run={"duration_days": 10.0, "replications": 2, "seed": 1},
    )
    result = run_sweep(base, {"cluster.gpus": [16, 512]}, jobs=1)
    waits = result.points["fraction_wait.mean"].tolist()
    assert waits[0] < WAIT_SHARE < waits[1]
    lines = [w for w in result.warnings if "waits for spare servers" in w]
    assert len(lines) == 1 and "cluster.gpus=512" in lines[0] and "cluster.gpus=16 " not in lines[0]
    assert "cluster.spare_nodes stays 1 at every point" in lines[0]
    spared = run_sweep(base, {"cluster.gpus": [16, 512], "cluster.spare_nodes": [64]}, jobs=1)
    assert not any("waits for spare servers" in w for w in spared.warnings)


def _write(tmp_path: Path, overrides: str = "") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "s"\n[run]\nduration_days = 1\nreplications = 2\n[cluster]\ngpus = 16\n'
        f"[workload]\n{overrides}\n[checkpoint]\nwrite_seconds = 60\n"
        '[[failure]]\nname = "crash"\nscope = "job"\nmtbf_hours = 24\naction = "restart"\n'
    )
    return path


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_command_line_warns_on_stderr_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """`run` prints each warning once, in one line on stderr, in either format; nothing on stdout; in summary.json."""
    path = _write(tmp_path, "mfu = 0.9\nparameters = 70e9")
    code = main(["run", str(path), "--no-plots", "-o", str(tmp_path / "o"), "-f", fmt])
    out, err = capsys.readouterr()
    assert code == 0 and "warning" not in out
    lines = [line for line in err.splitlines() if line.startswith("trainsim: warning: ")]
    assert len(lines) == 2 and "cannot fit" in lines[0] and "workload.mfu = 0.9" in lines[1]
    assert len(json.loads((tmp_path / "o" / "summary.json").read_text())["warnings"]) == 2


def test_command_line_silent_otherwise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plausible scenario: no warning on stderr from `run` or `sweep`, and none in summary.json."""
    path = _write(tmp_path, "mfu = 0.4")
    assert main(["run", str(path), "--no-plots", "-o", str(tmp_path / "o")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["warnings"] == []
    sweep = ["sweep", str(path), "-p", "workload.mfu=0.3,0.4", "--no-plots", "-o", str(tmp_path / "w"), "-j", "1"]
    assert main(sweep) == 0
    assert "warning" not in capsys.readouterr().err
    assert json.loads((tmp_path / "w" / "summary.json").read_text())["warnings"] == []


def test_sweep_warns_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sweep whose MFU values include an implausible one names that point, on stderr and in summary.json."""
    path = _write(tmp_path, "mfu = 0.4")
    code = main(["sweep", str(path), "-p", "workload.mfu=0.4,0.9", "--no-plots", "-o", str(tmp_path / "w"), "-j", "1"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("trainsim: warning: ")]
    assert code == 0 and len(lines) == 1 and lines[0].startswith("trainsim: warning: at workload.mfu=0.9: ")
    assert json.loads((tmp_path / "w" / "summary.json").read_text())["warnings"] == [lines[0][19:]]


def test_check_lists_the_warnings_a_run_would_give(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`trainsim check` shows the scenario's warnings (text and JSON) before anything runs; none when plausible."""
    path = _write(tmp_path, "mfu = 0.9")
    assert main(["check", str(path), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["warnings"]) == 1 and doc["warnings"][0].startswith("workload.mfu = 0.9 ")
    assert main(["check", str(path)]) == 0
    assert "warning: workload.mfu = 0.9" in capsys.readouterr().out
    assert main(["check", str(_write(tmp_path, "mfu = 0.4")), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []

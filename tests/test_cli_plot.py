"""`trainsim plot`, and the charts `run` and `sweep` draw at the end (`--no-plots` to skip)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import TINY, run_cli

import sim.cli.plot
import sim.experiment.runner
from sim.cli import main

RUN_CHARTS = {"waterfall.png", "failure_impact.png", "timeline.png", "power.png"}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def pngs(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.png")}


def one_line_error(code: int, stdout: str, stderr: str, expected: str) -> None:
    assert code == 2, stderr
    assert stderr.startswith("trainsim: error: ") and expected in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr + stdout


def test_run_draws_charts_and_report(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """By default `run` ends with the run charts and report.html; --format json still prints only JSON."""
    out = tmp_path / "o"
    code, stdout, stderr = run_cli(["run", str(tiny), "-n", "2", "-o", str(out), "-f", "json"], capsys)
    assert code == 0, stderr
    assert json.loads(stdout)["replications"] == 2
    assert pngs(out) == RUN_CHARTS and (out / "report.html").exists()


def test_no_plots_writes_no_chart(tiny: Path, tmp_path: Path) -> None:
    """--no-plots: no PNG and no report; and a new run removes the charts of the folder's old results."""
    out = tmp_path / "o"
    (tmp_path / "o").mkdir()
    (out / "waterfall.png").write_bytes(b"stale")
    (out / "report.html").write_text("stale")
    assert main(["run", str(tiny), "--no-plots", "-n", "1", "-o", str(out), "-q"]) == 0
    assert pngs(out) == set() and not (out / "report.html").exists()
    sweep_out = tmp_path / "s"
    args = ["sweep", str(tiny), "--no-plots", "-p", "checkpoint.interval_minutes=10,20", "-n", "1", "-j", "1"]
    assert main([*args, "-o", str(sweep_out), "-q"]) == 0
    assert pngs(sweep_out) == set() and not (sweep_out / "report.html").exists()


def test_sweep_draws_charts_and_report(tiny: Path, tmp_path: Path) -> None:
    """By default `sweep` ends with sweep_curve.png and report.html (no scale chart without cluster.gpus)."""
    out = tmp_path / "s"
    args = ["sweep", str(tiny), "-p", "checkpoint.interval_minutes=5,10,20", "-n", "2", "-j", "1"]
    assert main([*args, "-o", str(out), "-q"]) == 0
    assert pngs(out) == {"sweep_curve.png"} and (out / "report.html").exists()


@pytest.mark.slow  # the SVGs; tests/test_plots.py writes them fast
def test_plot_command_prints_what_it_wrote(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`plot DIR --svg` writes PNG and SVG charts and report.html, and prints each path on stdout."""
    out = tmp_path / "o"
    assert main(["run", str(tiny), "--no-plots", "-n", "1", "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    code, stdout, stderr = run_cli(["plot", str(out), "--svg"], capsys)
    assert code == 0, stderr
    printed = {Path(line).name for line in stdout.splitlines()}
    svgs = {name.replace(".png", ".svg") for name in RUN_CHARTS}
    assert printed == RUN_CHARTS | svgs | {"report.html"}
    assert all((out / name).exists() for name in printed)


def test_plot_refuses_a_folder_that_is_not_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not a folder, or a folder with no summary.json: exit 2 with one line."""
    one_line_error(*run_cli(["plot", str(tmp_path / "nope")], capsys), "no such folder")
    one_line_error(*run_cli(["plot", str(tmp_path)], capsys), "is not a results folder")
    assert not (tmp_path / "report.html").exists()


def test_plot_refuses_an_incomplete_folder(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run folder without runs.parquet: exit 2 naming the missing file."""
    out = tmp_path / "o"
    assert main(["run", str(tiny), "--no-plots", "-n", "1", "-o", str(out), "-q"]) == 0
    (out / "runs.parquet").unlink()
    capsys.readouterr()
    one_line_error(*run_cli(["plot", str(out)], capsys), "runs.parquet is missing")
    assert pngs(out) == set()


def test_plot_refuses_a_failed_run(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder of a run that failed: exit 2 saying it did not finish, with its error."""

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom in replication")

    monkeypatch.setattr(sim.experiment.runner, "simulate", boom)
    out = tmp_path / "o"
    assert main(["run", str(tiny), "-o", str(out), "-q"]) == 1
    assert pngs(out) == set()  # a failed run draws nothing
    capsys.readouterr()
    code, stdout, stderr = run_cli(["plot", str(out)], capsys)
    one_line_error(code, stdout, stderr, "did not finish (status failed)")
    assert "boom in replication" in stderr


def test_chart_failure_keeps_results_and_exit_0(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chart that fails after a good run: exit 0, results intact, one warning line even with --quiet."""

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("no room on the canvas")

    monkeypatch.setattr(sim.cli.plot, "draw", broken)
    out = tmp_path / "o"
    code, _, stderr = run_cli(["run", str(tiny), "-n", "1", "-o", str(out), "-q"], capsys)
    assert code == 0
    assert stderr.startswith("trainsim: warning: charts and report.html not written")
    assert "no room on the canvas" in stderr and f"trainsim plot {out}" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert json.loads((out / "summary.json").read_text())["status"] == "ok"


def test_plot_causes_option(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--causes N reaches the run charts (the causes they name before 'other'); out of 1..9 it exits 2."""
    import sim.plots.run
    from sim.plots.causes import MAX_TOP, TOP

    assert (sim.cli.plot.CAUSES, sim.cli.plot.MAX_CAUSES) == (TOP, MAX_TOP)  # the copy kept for a light --help
    out = tmp_path / "o"
    assert main(["run", str(tiny), "--no-plots", "-n", "1", "-o", str(out), "-q"]) == 0
    asked: list[int] = []
    monkeypatch.setattr(sim.plots.run, "write_run_charts", lambda folder, svg, top: asked.append(top) or [])
    capsys.readouterr()  # the run's report
    code, _, stderr = run_cli(["plot", str(out), "--causes", "3"], capsys)
    assert code == 0 and asked == [3], stderr
    code, stdout, stderr = run_cli(["plot", str(out), "--causes", "10"], capsys)
    one_line_error(code, stdout, stderr, "--causes")

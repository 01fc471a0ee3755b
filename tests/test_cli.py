"""The ``trainsim`` command line: results folder, JSON output, determinism, exit codes and messages."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from builders import RUN_JSON_KEYS

import sim.experiment.runner
from sim.cli import main

TINY = """\
name = "tiny"
title = "a tiny cluster for tests"
[run]
duration_days = 5
replications = 3
seed = 7
[cluster]
gpus = 32
spare_nodes = 1
[workload]
mfu = 0.4
parameters = 1e9
[checkpoint]
write_seconds = 60
[energy]
usd_per_kwh = 0.08
capex_usd = 1e6
[[failure]]
name = "crash"
scope = "job"
mtbf_hours = 12
action = "restart"
[[failure]]
name = "bad GPU"
scope = "gpu"
mtbf_hours = 2000
repair_hours = 24
"""

STAT_KEYS = {"mean", "std", "ci95", "p10", "p50", "p90"}
DESIGN_METRICS = {
    "ettr",
    "effective_compute_ratio",
    "theoretical_flop",
    "realized_flop",
    "interruptions",
    "job_mtbf_hours",
    "fraction_useful",
    "fraction_lost",
    "fraction_checkpoint",
    "fraction_detect",
    "fraction_restart",
    "fraction_wait",
    "fraction_maintenance",
    "energy_mwh",
    "energy_cost_usd",
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small, fast scenario file."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``trainsim`` in process; return exit code, stdout and stderr."""
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_no_power_trace_writes_no_trace_and_the_same_metrics(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--no-power-trace` leaves power.parquet out; the power metrics are the same."""
    docs = []
    for flag in ([], ["--no-power-trace"]):
        out = tmp_path / f"o{len(flag)}"
        code, stdout, _ = run_cli(
            ["run", str(tiny), "--no-plots", "--out", str(out), "--format", "json", *flag], capsys
        )
        assert code == 0
        assert (out / "power.parquet").exists() == (not flag)
        docs.append(json.loads(stdout)["metrics"])
    assert docs[0]["swings_per_day"] == docs[1]["swings_per_day"] and docs[0]["energy_mwh"] == docs[1]["energy_mwh"]


def test_run_writes_all_files(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run` writes summary.json, runs.parquet, events.parquet, power.parquet and scenario.toml, with the keys.

    With --no-plots, and only those (charts and report.html: tests/test_cli_plot.py).
    """
    out = tmp_path / "out"
    code, stdout, _ = run_cli(
        ["run", str(tiny), "--no-plots", "--out", str(out), "--set", "checkpoint.interval_minutes=20"], capsys
    )
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "summary.json",
        "runs.parquet",
        "events.parquet",
        "power.parquet",
        "scenario.toml",
    }
    doc = json.loads((out / "summary.json").read_text())
    for key in ("status", "scenario", "replications", "seed", "metrics", "interruptions_by_cause"):
        assert key in doc
    for key in ("lost_gpu_hours_by_cause", "scenario_resolved", "version", "runtime_s", "warnings"):
        assert key in doc
    assert doc["status"] == "ok" and doc["seed"] == 7 and doc["replications"] == 3
    assert doc["interval_minutes_used"] == 20.0 and doc["started_utc"].endswith("Z")
    assert doc["overrides"] == {"checkpoint.interval_minutes": 20}
    assert doc["scenario_resolved"]["checkpoint"]["interval_minutes"] == 20.0
    assert (out / "scenario.toml").read_text() == TINY
    assert "Compute waterfall" in stdout and "ETTR" in stdout


def test_run_tables_have_one_row_per_replication_and_event(tiny: Path, tmp_path: Path) -> None:
    """runs.parquet has one row per replication; events.parquet has the event columns."""
    import pandas as pd

    assert main(["run", str(tiny), "--no-plots", "-o", str(tmp_path / "o"), "-n", "2", "-q"]) == 0
    runs = pd.read_parquet(tmp_path / "o" / "runs.parquet")
    events = pd.read_parquet(tmp_path / "o" / "events.parquet")
    assert list(runs["replication"]) == [0, 1] and "ettr" in runs.columns
    assert {"replication", "time_hours", "kind", "cause", "lost_gpu_hours"} <= set(events.columns)


def test_format_json_matches_design(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--format json` prints one JSON object with the documented keys and nothing else on stdout."""
    code, stdout, stderr = run_cli(
        ["run", str(tiny), "--no-plots", "-o", str(tmp_path / "o"), "--format", "json"], capsys
    )
    assert code == 0
    doc = json.loads(stdout)
    assert set(doc) == RUN_JSON_KEYS
    assert set(doc["metrics"]) >= DESIGN_METRICS
    for block in (
        doc["metrics"],
        doc["interruptions_by_cause"],
        doc["lost_gpu_hours_by_cause"],
        doc["lost_usd_by_cause"],
    ):
        for stat in block.values():
            assert set(stat) == STAT_KEYS and len(stat["ci95"]) == 2
    assert set(doc["interruptions_by_cause"]) == {"crash", "bad GPU"}
    assert "trainsim:" in stderr  # progress goes to stderr


def test_json_nan_becomes_null(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A metric without a value (job MTBF with no failure) is null, never NaN."""
    path = tmp_path / "calm.toml"
    path.write_text('name = "calm"\n[run]\nduration_days = 1\n[cluster]\ngpus = 8\n[checkpoint]\nwrite_seconds = 10\n')
    code, stdout, _ = run_cli(
        ["run", str(path), "--no-plots", "-o", str(tmp_path / "o"), "-n", "2", "-f", "json"], capsys
    )
    assert code == 0 and "NaN" not in stdout
    assert json.loads(stdout)["metrics"]["job_mtbf_hours"]["mean"] is None


def test_same_seed_same_json(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same seed gives identical JSON across runs and across --jobs 1 and --jobs 2."""
    base = ["run", str(tiny), "--no-plots", "-f", "json", "-n", "4", "--seed", "11", "-q"]
    outputs = []
    for i, jobs in enumerate(["1", "1", "2"]):
        code, stdout, _ = run_cli([*base, "--jobs", jobs, "-o", str(tmp_path / f"o{i}")], capsys)
        assert code == 0
        outputs.append(stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert json.loads(outputs[0])["seed"] == 11


def test_quiet_keeps_stderr_empty(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--quiet` prints nothing on stderr for a successful run."""
    code, stdout, stderr = run_cli(
        ["run", str(tiny), "--no-plots", "-o", str(tmp_path / "o"), "-q", "-f", "json"], capsys
    )
    assert code == 0 and stderr == "" and json.loads(stdout)


def test_warning_when_failures_outpace_restarts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario whose failures come faster than a restart ends at the horizon with a warning."""
    path = tmp_path / "storm.toml"
    path.write_text(
        'name = "storm"\n[run]\nduration_days = 1\n[cluster]\ngpus = 8\n[checkpoint]\nwrite_seconds = 10\n'
        '[restart]\nfixed_minutes = 30\n[[failure]]\nname = "storm"\nscope = "job"\nmtbf_hours = 0.05\n'
        'action = "restart"\n'
    )
    code, stdout, stderr = run_cli(["run", str(path), "--no-plots", "-o", str(tmp_path / "o"), "-n", "2"], capsys)
    assert code == 0 and "warning:" not in stdout
    lines = [line for line in stderr.splitlines() if "warning:" in line]
    assert len(lines) == 2 and "shorter than a restart" in lines[0] and "near zero" in lines[1]
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["warnings"]


BAD_FILES = {
    "malformed TOML": ('name = "x"\n[cluster\ngpus = 8\n', "malformed TOML"),
    "unknown key": ('name = "x"\n[cluster]\ngpus = 8\nspare_node = 1\n', "did you mean 'spare_nodes'"),
    "wrong type": ('name = "x"\n[cluster]\ngpus = "many"\n', "cluster.gpus"),
    "negative duration": ('name = "x"\n[run]\nduration_days = -1\n[cluster]\ngpus = 8\n', "run.duration_days"),
    "zero duration": ('name = "x"\n[run]\nduration_days = 0\n[cluster]\ngpus = 8\n', "run.duration_days"),
    "mfu above 1": ('name = "x"\n[cluster]\ngpus = 8\n[workload]\nmfu = 1.5\n', "workload.mfu"),
    "gpus not a multiple": ('name = "x"\n[cluster]\ngpus = 12\n', "cluster.gpus"),
    "unknown GPU": ('name = "x"\n[cluster]\ngpus = 8\ngpu = "B300"\n', "cluster.gpu"),
}


@pytest.mark.parametrize("command", ["run", "check"])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_exits_2(case: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad scenario file exits 2 with one short line naming the key and no traceback."""
    text, expected = BAD_FILES[case]
    path = tmp_path / "bad.toml"
    path.write_text(text + "[checkpoint]\nwrite_seconds = 10\n")
    out = ["-o", str(tmp_path / "o")] if command == "run" else []
    code, stdout, stderr = run_cli([command, str(path), *out], capsys)
    assert code == 2
    assert expected in stderr and stderr.startswith("trainsim: error: ")
    assert len(stderr.strip().splitlines()) == 1 and len(stderr) < 300
    assert "Traceback" not in stderr + stdout
    assert not (tmp_path / "o").exists()  # nothing written for bad input


BAD_ARGS = {
    "unknown --set key": (["--set", "checkpoint.interval_minute=5"], "did you mean 'interval_minutes'"),
    "--set wrong type": (["--set", "cluster.gpus=many"], "cluster.gpus"),
    "--set not an assignment": (["--set", "cluster.gpus"], "KEY=VALUE"),
    "--set mfu above 1": (["--set", "workload.mfu=1.2"], "workload.mfu"),
    "--set zero duration": (["-s", "run.duration_days=0"], "run.duration_days"),
    "--replications 0": (["--replications", "0"], "--replications"),
    "--jobs 0": (["--jobs", "0"], "--jobs"),
    "--seed -1": (["--seed", "-1"], "--seed"),
    "--replications abc": (["-n", "abc"], "--replications"),
    "--format xml": (["--format", "xml"], "--format"),
    "unknown option": (["--bogus"], "--bogus"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARGS))
def test_bad_option_exits_2(case: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad option value exits 2 with one short line naming the option or key."""
    extra, expected = BAD_ARGS[case]
    code, stdout, stderr = run_cli(["run", str(tiny), "-o", str(tmp_path / "o"), *extra], capsys)
    assert code == 2
    assert expected in stderr and stderr.startswith("trainsim: error: ")
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr + stdout


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing scenario file exits 2 with one line naming the file."""
    code, _, stderr = run_cli(["run", str(tmp_path / "nope.toml")], capsys)
    assert code == 2 and "nope.toml: no such scenario file" in stderr and len(stderr.splitlines()) == 1


def test_out_is_a_file_exits_2(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--out` naming an existing file is bad input, found before simulating."""
    (tmp_path / "f").write_text("x")
    code, _, stderr = run_cli(["run", str(tiny), "-o", str(tmp_path / "f")], capsys)
    assert code == 2 and "--out" in stderr


def test_failing_simulation_writes_failed_summary(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A simulation that raises exits 1 and still leaves summary.json with status failed, scenario and seed."""

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom in replication")

    out = tmp_path / "o"
    monkeypatch.setattr(sim.experiment.runner, "simulate", boom)
    code, _, stderr = run_cli(["run", str(tiny), "-o", str(out), "--seed", "5"], capsys)
    assert code == 1 and "boom in replication" in stderr and "Traceback" not in stderr
    assert f"details in {out / 'summary.json'}" in stderr
    doc = json.loads((out / "summary.json").read_text())
    assert doc["status"] == "failed" and "boom in replication" in doc["error"]
    assert doc["seed"] == 5 and doc["scenario_resolved"]["name"] == "tiny"
    assert (out / "scenario.toml").read_text() == TINY
    assert sorted(p.name for p in out.iterdir()) == ["scenario.toml", "summary.json"]


def files(folder: Path) -> dict[str, bytes]:
    """Every file of ``folder`` and its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("error", "status", "code"), [(KeyboardInterrupt, "interrupted", 130), (RuntimeError, "failed", 1)]
)
def test_run_that_does_not_finish_keeps_earlier_results(
    error: type[BaseException],
    status: str,
    code: int,
    tiny: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C or an error over complete results keeps them byte for byte; the record goes to a sibling it names."""
    out = tmp_path / "o"
    assert main(["run", str(tiny), "--no-plots", "-n", "1", "-o", str(out), "-q"]) == 0
    (out / "waterfall.png").write_bytes(b"chart of the earlier results")
    before = files(out)

    def stop(*args: object, **kwargs: object) -> None:
        raise error("stopped")

    monkeypatch.setattr(sim.experiment.runner, "simulate", stop)
    capsys.readouterr()
    got, _, stderr = run_cli(["run", str(tiny), "-o", str(out), "--seed", "5", "-q"], capsys)
    assert got == code and files(out) == before
    (record,) = tmp_path.glob(f"o.{status}-*")
    assert f"details in {record / 'summary.json'}; the earlier results in {out}/ are kept" in stderr
    doc = json.loads((record / "summary.json").read_text())
    assert doc["status"] == status and doc["seed"] == 5 and doc["scenario"] == "tiny"
    assert (record / "scenario.toml").read_text() == TINY
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["o", record.name, "tiny.toml"])


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ({"notes.txt": "mine"}, "did not write (notes.txt)"),
        ({"sweep.sqlite": "", "points.csv": ""}, "did not write (points.csv, sweep.sqlite)"),
    ],
)
def test_out_holding_other_files_exits_2(
    setup: dict[str, str], expected: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out holding files that are not a run's results (the user's, a sweep's) is refused, untouched."""
    out = tmp_path / "o"
    out.mkdir()
    for name, text in setup.items():
        (out / name).write_text(text)
    code, _, stderr = run_cli(["run", str(tiny), "-o", str(out)], capsys)
    assert code == 2 and expected in stderr and len(stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(setup)


def test_out_holding_the_current_folder_exits_2(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--out . cannot be replaced whole while the command runs in it."""
    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path.parent)):
        code, _, stderr = run_cli(["run", str(tiny), "-o", out], capsys)
        assert code == 2 and "is the current folder or holds it" in stderr


def test_check_prints_intervals(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check` validates and prints job MTBF, Young and Daly intervals."""
    code, stdout, _ = run_cli(["check", str(tiny)], capsys)
    assert code == 0
    for text in ("valid", "job MTBF", "Young", "Daly", "first-order ETTR", "crash", "bad GPU"):
        assert text in stdout


def test_check_json(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check --format json` prints one JSON object with the analytic figures, overrides applied."""
    code, stdout, _ = run_cli(["check", str(tiny), "-f", "json", "--set", "checkpoint.policy=daly"], capsys)
    assert code == 0
    doc = json.loads(stdout)
    mtbf_h = 1 / (1 / 12 + 32 / 2000)
    assert doc["job_mtbf_hours"] == pytest.approx(mtbf_h)
    assert doc["young_interval_minutes"] == pytest.approx(np.sqrt(2 * 60 * mtbf_h * 3600) / 60)
    assert doc["interval_minutes_used"] == pytest.approx(doc["daly_interval_minutes"])


def test_no_arguments_shows_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`trainsim` alone prints the help and exits 2."""
    code, stdout, _ = run_cli([], capsys)
    assert code == 2 and "run" in stdout and "check" in stdout


def test_help_explains_options(capsys: pytest.CaptureFixture[str]) -> None:
    """`run --help` explains every option."""
    code, stdout, _ = run_cli(["run", "--help"], capsys)
    assert code == 0
    for option in ("--set", "--replications", "--seed", "--jobs", "--out", "--format", "--quiet", "--no-plots"):
        assert option in stdout


def test_python_dash_m_sim(tmp_path: Path) -> None:
    """`python -m sim` runs the command line: bad input gives exit 2 and one line, no traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[cluster]\ngpus = 8\n[workload]\nmfu = 2\n[checkpoint]\nwrite_seconds = 1\n')
    proc = subprocess.run([sys.executable, "-m", "sim", "run", str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("trainsim: error: ") and "workload.mfu" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


#: Where each command can be interrupted: the function the test makes raise KeyboardInterrupt, and its arguments.
CTRL_C = {
    "run": ("sim.experiment.runner.simulate", ["run", "{tiny}", "-o", "{out}"]),
    "sweep": (
        "sim.experiment.executors.run_unit",
        ["sweep", "{tiny}", "-p", "checkpoint.interval_minutes=5", "-j", "1", "-o", "{out}"],
    ),
    "optimize": ("sim.experiment.executors.run_unit", ["optimize", "{tiny}", "-j", "1", "-o", "{out}"]),
    "check": ("sim.analysis.estimates.check_report", ["check", "{tiny}"]),
    "plot": ("sim.results.folder.load", ["plot", "{out}"]),
    "fit": (
        "sim.analysis.incidents.read_log",
        ["fit", "{tiny}", "--nodes", "8", "--start", "2024-01-01", "--end", "2024-02-01"],
    ),
}


@pytest.mark.parametrize("command", sorted(CTRL_C))
def test_ctrl_c_exits_130_in_every_command(
    command: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C exits 130 in every command, no traceback; run, sweep and optimize folders record "interrupted"."""

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    target, args = CTRL_C[command]
    monkeypatch.setattr(target, interrupt)
    out = tmp_path / "o"
    code, stdout, stderr = run_cli([a.format(tiny=tiny, out=out) for a in args], capsys)
    assert code == 130 and "Traceback" not in stdout + stderr
    if command in ("run", "sweep", "optimize"):
        doc = json.loads((out / "summary.json").read_text())
        assert doc["status"] == doc["error"] == "interrupted" and "traceback" not in doc
        assert f"trainsim: interrupted (details in {out / 'summary.json'}" in stderr


def test_killed_during_the_simulation_keeps_results(tiny: Path, tmp_path: Path) -> None:
    """A run SIGKILLed midway leaves the earlier results as they were and nothing beside them."""
    out = tmp_path / "o"
    assert main(["run", str(tiny), "--no-plots", "-n", "1", "-o", str(out), "-q"]) == 0
    before = files(out)
    killed_run("after", "sim.experiment.runner:simulate", 1, out)
    assert files(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["o", "tiny.toml"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the one-step swap is Linux's")
@pytest.mark.parametrize(
    ("when", "target", "kept"),
    [("before", "sim.results.staging:swap_in", 1), ("after", "sim.results.staging:_exchange", 2)],
    ids=["before the swap", "after the swap"],
)
def test_killed_while_swapping_then_next_run_cleans_up(
    when: str, target: str, kept: int, tiny: Path, tmp_path: Path
) -> None:
    """Killed just before or after its swap, a run leaves one complete folder (the earlier or its own) and a
    temporary, which the next run into the same place removes."""
    out = tmp_path / "o"
    assert main(["run", str(tiny), "--no-plots", "-n", "1", "-o", str(out), "-q"]) == 0
    before = files(out)
    killed_run(when, target, 1, out)
    assert json.loads((out / "summary.json").read_text())["replications"] == kept
    if kept == 1:
        assert files(out) == before
    (left,) = (p for p in tmp_path.iterdir() if p.name.startswith(".o."))
    assert left.name.endswith(".tmp")
    assert main(["run", str(tiny), "--no-plots", "-n", "1", "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o", "tiny.toml"]


def killed_run(when: str, target: str, n: int, out: Path) -> None:
    """Run ``trainsim run`` of TINY (2 replications) into ``out`` and SIGKILL it at the chosen call."""
    scenario = out.parent / "tiny.toml"
    args = ["run", str(scenario), "--no-plots", "-n", "2", "-o", str(out), "-q"]
    killed_at = Path(__file__).with_name("killed_at.py")
    proc = subprocess.run(
        [sys.executable, str(killed_at), when, target, str(n), "--", *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-300:]

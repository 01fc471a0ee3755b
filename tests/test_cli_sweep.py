"""``trainsim sweep``: result files, JSON, bad input, refusal, interruption and resume."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_cli import STAT_KEYS, TINY, run_cli

import sim.experiment.executors
from sim.cli import main
from sim.cli.progress import Tracker

INTERVAL = "checkpoint.interval_minutes"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
GRID = ["--param", f"{INTERVAL}=10,20,40", "--param", "cluster.spare_nodes=0,1"]
#: Columns every runs table has besides the swept keys.
METRICS = {"ettr", "effective_compute_ratio", "interruptions", "realized_flop", "fraction_lost"}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small, fast scenario file (the one of test_cli)."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def sweep(tiny: Path, out: Path, *extra: str) -> int:
    """Run a quiet 6-point, 2-replication sweep of ``tiny`` into ``out``; return the exit code."""
    return main(["sweep", str(tiny), "--no-plots", *GRID, "-n", "2", "-j", "1", "-q", "-o", str(out), *extra])


def summary(out: Path) -> dict[str, Any]:
    """The folder's summary.json."""
    doc: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return doc


def test_sweep_writes_documented_files(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A sweep writes runs.parquet, points.csv, summary.json, scenario.toml and the store, with their columns."""
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        ["sweep", str(tiny), "--no-plots", *GRID, "-n", "2", "-j", "1", "-o", str(out)], capsys
    )
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} >= {
        "runs.parquet",
        "points.csv",
        "summary.json",
        "scenario.toml",
        "sweep.sqlite",
    }
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs.columns[:3]) == [INTERVAL, "cluster.spare_nodes", "replication"]
    assert set(runs.columns) >= METRICS and len(runs) == 6 * 2
    assert runs["cluster.spare_nodes"].dtype.kind == "i"  # swept integers stay integers
    points = pd.read_csv(out / "points.csv")
    assert len(points) == 6 and list(points.columns[:2]) == [INTERVAL, "cluster.spare_nodes"]
    assert {"ettr.mean", "ettr.ci95_low", "ettr.ci95_high", "ettr.diff_mean", "ettr.diff_ci95_high"} <= set(points)
    doc = summary(out)
    assert doc["status"] == "ok" and doc["seed"] == 7 and doc["replications"] == 2
    assert (doc["computed"], doc["reused"], doc["total"]) == (12, 0, 12)
    assert doc["param_specs"] == [f"{INTERVAL}=10,20,40", "cluster.spare_nodes=0,1"]
    assert doc["params"] == {INTERVAL: [10, 20, 40], "cluster.spare_nodes": [0, 1]}
    assert doc["overrides"] == {} and doc["scenario_resolved"]["name"] == "tiny"
    assert doc["version"] == sim.__version__ and doc["started_utc"].endswith("Z") and doc["runtime_s"] > 0
    assert (out / "scenario.toml").read_text() == TINY
    assert "computed 12, reused 0 replications" in stdout and "best: " in stdout and "ETTR" in stdout
    assert "sweeping 6 points x 2 replications" in stderr and "results in" in stderr


def test_sweep_json_is_the_summary_document(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--format json` prints only the sweep document: points with params and run-shaped metrics."""
    out = tmp_path / "out"
    code, stdout, _ = run_cli(
        ["sweep", str(tiny), "--no-plots", *GRID, "-n", "2", "-j", "1", "-o", str(out), "-f", "json"], capsys
    )
    assert code == 0
    doc = json.loads(stdout)
    assert len(doc["points"]) == 6 and "NaN" not in stdout
    first = doc["points"][0]
    assert first["params"] == {INTERVAL: 10, "cluster.spare_nodes": 0}
    assert set(first["metrics"]["ettr"]) == STAT_KEYS and set(first["metrics"]) >= METRICS
    assert set(first["paired_difference_from_best"]["ettr"]) == {"mean", "ci95"}
    assert doc["best"] in [p["params"] for p in doc["points"]]
    saved = summary(out)
    assert {k: saved[k] for k in doc} == doc  # summary.json is this document plus provenance


def test_quiet_sweep_keeps_stderr_empty(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--quiet` prints nothing on stderr, and no progress bar when stderr is not a terminal."""
    code, stdout, stderr = run_cli(
        ["sweep", str(tiny), "--no-plots", *GRID, "-n", "1", "-o", str(tmp_path / "o"), "-q"], capsys
    )
    assert code == 0 and stderr == "" and "best: " in stdout


def test_default_out_folder(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --out a sweep writes to results/<scenario name>-sweep/."""
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", str(tiny), "--no-plots", "-p", f"{INTERVAL}=10,20", "-n", "1", "-j", "1", "-q"]) == 0
    assert (tmp_path / "results" / "tiny-sweep" / "summary.json").exists()


BAD_PARAMS = {
    "unknown key": (["-p", "checkpoint.interval_minute=5,10"], "did you mean 'interval_minutes'"),
    "empty list": (["-p", f"{INTERVAL}="], "no values"),
    "malformed range": (["-p", f"{INTERVAL}=5:60"], "expected LO:HI:STEP"),
    "backwards range": (["-p", f"{INTERVAL}=60:5:5"], "HI >= LO"),
    "malformed log range": (["-p", f"{INTERVAL}=log:5:240"], "expected log:LO:HI:N"),
    "not a number in a range": (["-p", f"{INTERVAL}=5:x:5"], "is not a finite number"),
    "value fails validation": (["-p", "workload.mfu=0.5,1.5"], "workload.mfu"),
    "wrong type": (["-p", "cluster.gpus=many"], "cluster.gpus"),
    "repeated key": (["-p", f"{INTERVAL}=5", "-p", f"{INTERVAL}=10"], "given twice"),
    "repeated value": (["-p", f"{INTERVAL}=5,5"], "repeated values"),
    "no equals sign": (["-p", INTERVAL], "expected KEY=V1,V2"),
    "no --param": ([], "--param"),
    "unknown objective": (["-p", f"{INTERVAL}=5", "--objective", "speed"], "objective"),
    "--jobs 0": (["-p", f"{INTERVAL}=5", "-j", "0"], "--jobs"),
    "--replications 0": (["-p", f"{INTERVAL}=5", "-n", "0"], "--replications"),
}


def test_interval_sweep_of_a_daly_scenario_runs_fixed_intervals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scenarios/h100_100k.toml (policy daly): a sweep of the interval runs fixed intervals, says so in one line
    on stderr and in summary.json, and its chart still marks Young's and Daly's intervals."""
    from sim.plots.sweep import sweep_curve
    from sim.results.folder import load

    out = tmp_path / "s"
    args = ["sweep", str(SCENARIOS / "h100_100k.toml"), "--param", f"{INTERVAL}=2,4", "--set", "run.duration_days=1"]
    code, stdout, stderr = run_cli([*args, "-n", "1", "-j", "1", "--no-plots", "-o", str(out)], capsys)
    assert code == 0, stderr
    notes = [line for line in stderr.splitlines() if line.startswith("trainsim: note: ")]
    assert len(notes) == 1
    assert f"{INTERVAL} is swept, so the sweep runs fixed intervals" in notes[0] and "'daly'" in notes[0]
    doc = summary(out)
    assert doc["notes"] == [notes[0].removeprefix("trainsim: note: ")]
    assert doc["scenario_resolved"]["checkpoint"]["policy"] == "fixed"
    assert [p["params"][INTERVAL] for p in doc["points"]] == [2, 4] and "best: " in stdout
    folder = load(out)
    legend = [t.get_text() for t in sweep_curve(folder).axes[0].get_legend().get_texts()]
    assert any(t.startswith("Young (1974)") for t in legend) and any(t.startswith("Daly (2006)") for t in legend)
    quiet = run_cli([*args, "-n", "1", "-j", "1", "--no-plots", "-q", "-o", str(tmp_path / "q")], capsys)
    assert quiet[0] == 0 and quiet[2] == ""


@pytest.mark.parametrize("case", sorted(BAD_PARAMS))
def test_bad_param_exits_2_before_any_work(
    case: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad --param exits 2 with one line naming it, no traceback, no simulation and no files."""

    def no_work(*args: object) -> None:
        raise AssertionError("a replication ran")

    monkeypatch.setattr(sim.experiment.executors, "run_unit", no_work)
    extra, expected = BAD_PARAMS[case]
    code, stdout, stderr = run_cli(["sweep", str(tiny), "-o", str(tmp_path / "o"), *extra], capsys)
    assert code == 2, stderr
    assert stderr.startswith("trainsim: error: ") and expected in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr + stdout
    assert not (tmp_path / "o").exists()


def test_other_scenarios_sweep_is_refused(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out holding another scenario's (or seed's) sweep exits 2 and leaves that sweep untouched."""
    out = tmp_path / "out"
    assert sweep(tiny, out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith("sweep.")}
    capsys.readouterr()
    for extra, expected in [
        (["--resume", "--set", "workload.mfu=0.5"], "different scenario or seed"),
        (["--resume", "--seed", "8"], "different scenario or seed"),
        ([], "pass --resume"),
    ]:
        code, _, stderr = run_cli(["sweep", str(tiny), *GRID, "-n", "2", "-o", str(out), *extra], capsys)
        assert code == 2 and expected in stderr and len(stderr.strip().splitlines()) == 1
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith("sweep.")}
    assert after == before


def test_run_folder_is_refused(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out holding the results of `trainsim run` exits 2: a sweep never mixes its files with them."""
    out = tmp_path / "out"
    assert main(["run", str(tiny), "--no-plots", "-n", "1", "-q", "-o", str(out)]) == 0
    capsys.readouterr()
    code, _, stderr = run_cli(["sweep", str(tiny), *GRID, "-o", str(out)], capsys)
    assert code == 2 and "not a sweep" in stderr and not (out / "sweep.sqlite").exists()


def test_resume_reuses_and_extends(tiny: Path, tmp_path: Path) -> None:
    """--resume recomputes nothing finished; more replications compute only the new ones."""
    out = tmp_path / "out"
    assert sweep(tiny, out) == 0
    first = pd.read_parquet(out / "runs.parquet")
    assert sweep(tiny, out, "--resume") == 0
    assert (summary(out)["computed"], summary(out)["reused"]) == (0, 12)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), first)
    assert sweep(tiny, out, "--resume", "-n", "3") == 0
    assert (summary(out)["computed"], summary(out)["reused"]) == (6, 12)


def test_interrupted_sweep_records_and_resumes(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C exits 130 with an "interrupted" summary; --resume then finishes with the same table."""
    real = sim.experiment.executors.run_unit
    calls = []

    def interrupted_after_five(*args: Any) -> Any:
        calls.append(args)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return real(*args)

    out, clean = tmp_path / "out", tmp_path / "clean"
    monkeypatch.setattr(sim.experiment.executors, "run_unit", interrupted_after_five)
    code, _, stderr = run_cli(["sweep", str(tiny), "--no-plots", *GRID, "-n", "2", "-j", "1", "-o", str(out)], capsys)
    assert code == 130 and "--resume" in stderr
    assert summary(out)["status"] == "interrupted" and not (out / "runs.parquet").exists()
    monkeypatch.setattr(sim.experiment.executors, "run_unit", real)
    assert sweep(tiny, out, "--resume") == 0 and sweep(tiny, clean) == 0
    assert (summary(out)["computed"], summary(out)["reused"]) == (7, 5)
    assert pd.read_parquet(out / "runs.parquet").equals(pd.read_parquet(clean / "runs.parquet"))


def test_failed_sweep_writes_failed_summary(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replication that raises exits 1 and leaves a failed summary.json with the error and provenance."""

    def boom(*args: object) -> None:
        raise RuntimeError("boom in replication")

    monkeypatch.setattr(sim.experiment.executors, "run_unit", boom)
    out = tmp_path / "out"
    code, _, stderr = run_cli(
        ["sweep", str(tiny), "--no-plots", *GRID, "-j", "1", "-o", str(out), "--seed", "5"], capsys
    )
    assert code == 1 and "boom in replication" in stderr and "Traceback" not in stderr
    doc = summary(out)
    assert doc["status"] == "failed" and "boom in replication" in doc["error"] and doc["seed"] == 5
    assert doc["params"][INTERVAL] == [10, 20, 40] and doc["scenario_resolved"]["name"] == "tiny"


def _stored(path: Path) -> int:
    """Rows committed to a sweep store so far (0 while it does not exist yet)."""
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:  # the table is not there yet
        return 0


#: The test-only wrapper that runs trainsim and SIGKILLs it at a chosen call.
KILLED_AT = Path(__file__).with_name("killed_at.py")
#: A 4-point, 3-replication sweep of the tiny scenario (the folder is added with -o).
KILL_SWEEP = ["--no-plots", "-p", f"{INTERVAL}=10,20,40,80", "-n", "3", "-j", "1", "-q"]
KILL_TOTAL = 4 * 3


def killed(when: str, target: str, n: int, args: list[str]) -> None:
    """Run ``trainsim ARGS`` in a child that SIGKILLs itself ``when`` the ``n``-th call of ``target`` happens."""
    proc = subprocess.run(
        [sys.executable, str(KILLED_AT), when, target, str(n), "--", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, f"not killed: exit {proc.returncode}; {proc.stderr[-300:]}"


def resumed_equals_uninterrupted(tiny: Path, killed_out: Path, clean: Path, done: int) -> None:
    """--resume in ``killed_out`` recomputes only what was not committed and gives the uninterrupted tables."""
    args = ["sweep", str(tiny), *KILL_SWEEP]
    assert main([*args, "-o", str(killed_out), "--resume"]) == 0
    if not (clean / "summary.json").exists():
        assert main([*args, "-o", str(clean)]) == 0
    doc = summary(killed_out)
    assert (doc["reused"], doc["computed"]) == (done, KILL_TOTAL - done)
    assert pd.read_parquet(killed_out / "runs.parquet").equals(pd.read_parquet(clean / "runs.parquet"))
    assert (killed_out / "points.csv").read_text() == (clean / "points.csv").read_text()
    assert [p.name for p in killed_out.parent.iterdir() if p.name.startswith(".")] == []


def test_sigkill_then_resume_gives_the_uninterrupted_table(tiny: Path, tmp_path: Path) -> None:
    """A sweep SIGKILLed right after its 5th commit, resumed, gives the uninterrupted tables, recomputing none of 5."""
    out = tmp_path / "killed"
    killed("after", "sim.experiment.store:Store.put", 5, ["sweep", str(tiny), *KILL_SWEEP, "-o", str(out)])
    assert _stored(out / "sweep.sqlite") == 5 and not (out / "summary.json").exists()
    resumed_equals_uninterrupted(tiny, out, tmp_path / "clean", 5)


@pytest.mark.slow
def test_every_kill_point_resumes_to_the_same_table(tiny: Path, tmp_path: Path) -> None:
    """Killed after each of its commits in turn, every resumed sweep gives the uninterrupted table."""
    for k in range(1, KILL_TOTAL + 1):
        out = tmp_path / f"killed-{k}"
        killed("after", "sim.experiment.store:Store.put", k, ["sweep", str(tiny), *KILL_SWEEP, "-o", str(out)])
        assert _stored(out / "sweep.sqlite") == k
        resumed_equals_uninterrupted(tiny, out, tmp_path / "clean", k)


@pytest.mark.slow
def test_sigkill_while_extending_keeps_the_earlier_results(tiny: Path, tmp_path: Path) -> None:
    """A sweep extended with --resume and killed before its swap leaves the earlier complete folder as it was."""
    out = tmp_path / "s"
    assert main(["sweep", str(tiny), *KILL_SWEEP, "-o", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith("sweep.sqlite")}
    more = ["sweep", str(tiny), *KILL_SWEEP, "-n", "4", "--resume", "-o", str(out)]
    killed("before", "sim.results.staging:swap_in", 1, more)
    assert {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith("sweep.sqlite")} == before
    assert _stored(out / "sweep.sqlite") == 4 * 4
    assert main(more) == 0 and (summary(out)["computed"], summary(out)["reused"]) == (0, 16)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_interrupted_extension_keeps_the_earlier_results(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while extending a complete sweep: the results stay, the record goes beside them, --resume finishes."""
    out = tmp_path / "s"
    assert sweep(tiny, out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith("sweep.sqlite")}

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.experiment.executors, "run_unit", interrupt)
    capsys.readouterr()
    code, _, stderr = run_cli(
        ["sweep", str(tiny), "--no-plots", *GRID, "-n", "3", "-j", "1", "-o", str(out), "--resume"], capsys
    )
    assert code == 130 and f"the earlier results in {out}/ are kept" in stderr and "--resume" in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith("sweep.sqlite")} == before
    (record,) = tmp_path.glob("s.interrupted-*")
    assert summary(record)["status"] == "interrupted" and summary(record)["replications"] == 3


def test_tracker_adds_up_the_optimizer_rounds() -> None:
    """The progress callback starts the folder once, and adds up sweeps that each count from zero."""
    starts: list[tuple[int, int]] = []
    tracker = Tracker(False, "test", lambda done, total: starts.append((done, total)))
    for done, total in [(3, 10), (7, 10), (10, 10), (0, 4), (4, 4), (0, 2), (2, 2)]:
        tracker(done, total)
    assert starts == [(3, 10)] and (tracker.done, tracker.total) == (16, 16)

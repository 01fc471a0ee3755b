"""``trainsim compare``: the results folder, the report, the JSON document, common random numbers and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from builders import RUN_JSON_KEYS
from test_cli import TINY, run_cli

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FAST = "fast:restart.fixed_minutes=1"


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A small, fast scenario file (the one of test_cli)."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``trainsim compare`` quietly in process, without charts."""
    return run_cli(["compare", *args, "--no-plots", "-q"], capsys)


def document(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """The ``--format json`` document of a comparison that succeeds."""
    code, out, err = compare(capsys, *args, "--format", "json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def narrower(doc: dict[str, Any], scenario: str, metric: str) -> bool:
    """Whether the paired 95% CI of ``metric`` of ``scenario`` is narrower than the unpaired one."""
    d = next(d for d in doc["differences"] if d["scenario"] == scenario and d["metric"] == metric)
    return bool(d["ci95"][1] - d["ci95"][0] < d["unpaired_ci95"][1] - d["unpaired_ci95"][0])


def test_compare_writes_its_folder_and_report(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Files and variants: the folder holds the tables, a run folder per scenario; stdout the three tables."""
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        ["compare", str(tiny), str(tiny), "--variant", FAST, "-n", "3", "--no-plots", "-o", str(out)], capsys
    )
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == {"summary.json", "runs.parquet", "differences.csv", "scenarios"}
    assert sorted(p.name for p in (out / "scenarios").iterdir()) == ["fast", "tiny", "tiny-2"]
    for name in ("tiny", "tiny-2", "fast"):
        run = out / "scenarios" / name
        assert {"summary.json", "runs.parquet", "events.parquet", "scenario.toml"} <= {p.name for p in run.iterdir()}
        assert (run / "scenario.toml").read_text() == TINY
    summary = json.loads((out / "summary.json").read_text())
    assert summary["names"] == ["tiny", "tiny-2", "fast"] and (summary["replications"], summary["seed"]) == (3, 7)
    assert summary["sources"][2]["variant"] == {"restart.fixed_minutes": 1}
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs.columns[:2]) == ["scenario", "replication"] and len(runs) == 9
    differences = pd.read_csv(out / "differences.csv")
    assert set(differences["scenario"]) == {"tiny-2", "fast"} and set(differences["baseline"]) == {"tiny"}
    for needle in (
        "compare: 3 scenarios against tiny",
        "Scenarios",
        "Where the job's GPU-time goes",
        "Differences from tiny",
        "unpaired 95% CI",
        "tiny (baseline)",
    ):
        assert needle in stdout
    assert "comparing 3 scenarios x 3 replications" in stderr and "results in" in stderr


def test_json_document_shape(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json prints {"scenarios": [run documents], "differences": [...]} against the first, nothing else."""
    doc = document(
        capsys,
        str(tiny),
        "--variant",
        FAST,
        "--variant",
        "slow:restart.fixed_minutes=20",
        "-n",
        "2",
        "-o",
        str(tmp_path / "out"),
    )
    assert set(doc) == {"scenarios", "differences"}
    assert [s["scenario"] for s in doc["scenarios"]] == ["tiny", "fast", "slow"]
    assert all(set(s) == RUN_JSON_KEYS and s["replications"] == 2 and s["seed"] == 7 for s in doc["scenarios"])
    metrics = [m for m in doc["scenarios"][0]["metrics"]]
    assert [(d["scenario"], d["metric"]) for d in doc["differences"]] == [
        (s, m) for s in ("fast", "slow") for m in metrics
    ]
    for d in doc["differences"]:
        assert set(d) == {"baseline", "scenario", "metric", "mean", "ci95", "unpaired_ci95"} and d["baseline"] == "tiny"
        assert len(d["ci95"]) == 2 and len(d["unpaired_ci95"]) == 2


def test_identical_files_give_zero_differences(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same file twice: every difference and every paired interval is zero."""
    doc = document(capsys, str(tiny), str(tiny), "-n", "4", "-o", str(tmp_path / "out"))
    assert [s["scenario"] for s in doc["scenarios"]] == ["tiny", "tiny-2"]
    values = [d for d in doc["differences"] if d["mean"] is not None]
    assert values and all(d["mean"] == 0 and d["ci95"] == [0, 0] for d in values)


def test_set_applies_to_every_scenario(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--set changes every scenario; a variant's own overrides come after it."""
    doc = document(
        capsys,
        str(tiny),
        "--variant",
        FAST,
        "--set",
        "restart.fixed_minutes=7",
        "--set",
        "workload.mfu=0.3",
        "-n",
        "1",
        "-o",
        str(tmp_path / "out"),
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    restarts = [s["scenario_resolved"]["restart"]["fixed_minutes"] for s in summary["scenarios"]]
    mfus = [s["scenario_resolved"]["workload"]["mfu"] for s in summary["scenarios"]]
    assert restarts == [7, 1] and mfus == [0.3, 0.3] and len(doc["scenarios"]) == 2


def test_paired_narrower_on_two_shipped_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """h100_100k.toml against h100_100k_ft.toml (same fleet, five days): the paired CIs are the narrower."""
    doc = document(
        capsys,
        str(SCENARIOS / "h100_100k.toml"),
        str(SCENARIOS / "h100_100k_ft.toml"),
        "--set",
        "run.duration_days=5",
        "-n",
        "5",
        "-o",
        str(tmp_path / "out"),
    )
    for metric in ("ettr", "effective_compute_ratio", "realized_flop", "usd_lost_to_failures", "interruptions"):
        assert narrower(doc, "h100-100k-ft", metric), metric


def test_paired_narrower_on_a_variant_of_a_shipped_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """h100_100k.toml and a variant with 5-minute restarts: paired CIs narrower, interruptions the same."""
    doc = document(
        capsys,
        str(SCENARIOS / "h100_100k.toml"),
        "--variant",
        "fast:restart.fixed_minutes=5",
        "--set",
        "run.duration_days=5",
        "-n",
        "5",
        "-o",
        str(tmp_path / "out"),
    )
    for metric in ("ettr", "realized_flop", "usd_lost_to_failures", "fraction_lost"):
        assert narrower(doc, "fast", metric), metric
    interruptions = next(d for d in doc["differences"] if d["metric"] == "interruptions")
    assert interruptions["mean"] == 0 and interruptions["ci95"] == [0, 0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["--variant", "fast:restart.fixed_minute=5"],
            "--variant 'fast': restart.fixed_minute: unknown key (did you mean",
        ),
        (["--variant", "fast"], "--variant 'fast': expected NAME:KEY=VALUE,..."),
        (["--variant", "fast:restart.fixed_minutes"], "--variant fast: 'restart.fixed_minutes' is not KEY=VALUE"),
        (["--variant", "fast:restart.fixed_minutes=-3"], "--variant 'fast': restart.fixed_minutes"),
        (["--variant", FAST, "--variant", FAST], "--variant fast: two variants of that name"),
        (["no/such/file.toml"], "no/such/file.toml: no such scenario file"),
        ([], "nothing to compare: give a second scenario or a variant"),
        (["--variant", FAST, "--replications", "0"], "--replications must be from 1 to"),
        (["--variant", FAST, "--seed", "-1"], "--seed must be from 0 to"),
        (["--variant", FAST, "--jobs", "0"], "--jobs: must be at least 1"),
        (["--variant", FAST, "--set", "cluster.gpu=B300"], "cluster.gpu: unknown GPU 'B300'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    """Unknown keys in a variant, malformed variants, missing files, bad counts: one line, exit 2, nothing written."""
    out = tmp_path / "out"
    code, stdout, stderr = compare(capsys, str(tiny), *args, "-o", str(out))
    assert code == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    assert needle in stderr
    assert not out.exists()


def test_out_with_other_files_is_refused(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A results folder holding files a comparison did not write is refused, and left as it was."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, stderr = compare(capsys, str(tiny), "--variant", FAST, "-o", str(out))
    assert code == 2 and "holds files that trainsim compare did not write (notes.txt)" in stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_second_comparison_replaces_the_first(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Comparing into the same folder again replaces it whole: no run folder of the first is left behind."""
    out = tmp_path / "out"
    assert compare(capsys, str(tiny), "--variant", FAST, "-n", "1", "-o", str(out))[0] == 0
    assert compare(capsys, str(tiny), "--variant", "other:restart.fixed_minutes=2", "-n", "1", "-o", str(out))[0] == 0
    assert sorted(p.name for p in (out / "scenarios").iterdir()) == ["other", "tiny"]


def test_notes_on_stderr_with_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --format json, the notes (a variant made fixed, another fleet) go to stderr, one line each."""
    daly = tmp_path / "daly.toml"
    daly.write_text(TINY.replace("write_seconds = 60", 'write_seconds = 60\npolicy = "daly"'))
    code, out, err = run_cli(
        [
            "compare",
            str(daly),
            "--variant",
            "i5:checkpoint.interval_minutes=5",
            "--variant",
            "big:cluster.gpus=64",
            "-n",
            "1",
            "-f",
            "json",
            "--no-plots",
            "-o",
            str(tmp_path / "out"),
        ],
        capsys,
    )
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("trainsim: note: ")]
    assert len(notes) == 2
    assert "variant i5 sets checkpoint.interval_minutes, so it runs checkpoint.policy = 'fixed'" in notes[0]
    assert "big runs another fleet than tiny (cluster.gpus)" in notes[1]
    assert json.loads(out)["scenarios"][1]["scenario"] == "i5"


def test_warnings_on_stderr_one_line_each(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Warnings on stderr, one line per kind: a variant's own MFU names it; none in the report on stdout."""
    args = ["compare", str(tiny), "--variant", "hot:workload.mfu=0.9", "-n", "2", "--no-plots"]
    code, out, err = run_cli([*args, "-o", str(tmp_path / "c")], capsys)
    lines = [line for line in err.splitlines() if line.startswith("trainsim: warning: ")]
    assert code == 0 and "warning" not in out
    # The tiny file's servers fail every 250 h (both scenarios: one line, no names); the MFU is the variant's.
    mfu = [line for line in lines if "workload.mfu" in line]
    assert len(mfu) == 1 and mfu[0].startswith("trainsim: warning: at hot: workload.mfu = 0.9 ")
    assert any(line.startswith("trainsim: warning: a server fails") for line in lines)
    assert json.loads((tmp_path / "c" / "summary.json").read_text())["warnings"] == [line[19:] for line in lines]


def test_compare_to_precision(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`compare --precision` runs every scenario on the same replications until each one's ETTR meets it."""
    fast = ["--variant", "fast:restart.fixed_minutes=1"]
    doc = document(capsys, str(tiny), *fast, "--precision", "0.05", "-o", str(tmp_path / "c"))
    n = doc["scenarios"][0]["replications"]
    assert all(s["replications"] == n and s["precision"]["met"] for s in doc["scenarios"])
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["precision"]["met"] is True and summary["replications"] == n
    code, _, err = compare(capsys, str(tiny), str(tiny), "--precision", "0.05", "-n", "3", "-o", str(tmp_path / "d"))
    assert code == 2 and "--replications: not with --precision" in err

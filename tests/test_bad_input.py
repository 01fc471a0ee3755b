"""Bad and runaway input: each case the hardening review found ends in exit 2 with one short line, or works.

Every test here reproduces one cause of a traceback, an internal error, a hang, runaway memory or a
silent null result found by mutating inputs; tests/test_fuzz.py looks for more at random.
"""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path

import pytest
from test_cli import run_cli

import sim.cli.plot
import sim.experiment.executors
from sim.analysis.analytic import daly_ettr
from sim.analysis.estimates import check_report
from sim.analysis.histories import histories
from sim.analysis.incidents import Incident
from sim.cli import main
from sim.config.errors import ScenarioError
from sim.config.loading import load_scenario_text, parse_value
from sim.results.schema import INTERVAL

SCENARIO = """\
name = "small"
[run]
duration_days = 2
replications = 1
[cluster]
gpus = 64
[checkpoint]
write_seconds = 60
interval_minutes = 30
[[failure]]
name = "crash"
scope = "job"
mtbf_hours = 24
action = "restart"
[[failure]]
name = "bad node"
scope = "node"
mtbf_hours = 5000
repair_hours = 24
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A two-day, eight-node scenario file."""
    path = tmp_path / "small.toml"
    path.write_text(SCENARIO)
    return path


def refused(result: tuple[int, str, str], *needles: str) -> str:
    """Assert exit 2 with one short error line holding every needle, no traceback; return the line."""
    code, out, err = result
    assert code == 2, err
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trainsim: error: ") and len(lines[0]) < 500, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def run_args(path: Path, tmp_path: Path, *extra: str) -> list[str]:
    return ["run", str(path), "-q", "--no-plots", "-o", str(tmp_path / "out"), *extra]


# ---------------------------------------------------------------- trainsim check: closed forms


def test_daly_ettr_of_an_interval_of_thousands_of_mtbfs_is_zero_not_an_overflow() -> None:
    """Daly's ETTR with interval, write or restart hundreds of MTBFs long underflows to 0 instead of overflowing."""
    assert daly_ettr(3.6e6, 60.0, 600.0, 360.0) == 0.0  # interval 10,000 x MTBF
    assert daly_ettr(600.0, 3.6e6, 600.0, 360.0) == 0.0  # write
    assert daly_ettr(600.0, 60.0, 3.6e6, 360.0) == 0.0  # restart
    assert daly_ettr(3600.0, 60.0, 600.0, 86400.0) == pytest.approx(0.95626, abs=1e-5)


def test_check_with_interval_far_beyond_the_mtbf(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check` with a checkpoint interval 10,000 x the job MTBF reports ETTR 0 (it raised OverflowError)."""
    extra = ["--set", "failure.0.mtbf_hours=0.1", "--set", "checkpoint.interval_minutes=6e4"]
    code, out, err = run_cli(["check", str(small), "-f", "json", *extra], capsys)
    assert code == 0, err
    assert json.loads(out)["daly_ettr"] == 0.0


@pytest.mark.parametrize(
    ("key", "value", "shown_as"),
    [
        ("failure.0.mtbf_hours", "inf", "failure[0].mtbf_hours"),
        ("checkpoint.interval_minutes", "inf", "checkpoint.interval_minutes"),
        ("checkpoint.write_seconds", "inf", "checkpoint.write_seconds"),
        ("checkpoint.bytes_per_parameter", "inf", "checkpoint.bytes_per_parameter"),
        ("run.duration_days", "nan", "run.duration_days"),
    ],
)
def test_infinite_values_are_refused(
    small: Path, key: str, value: str, shown_as: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`inf` and `nan` are refused with the key (inf MTBF was a ZeroDivisionError, inf intervals a null ETTR)."""
    refused(run_cli(["check", str(small), "--set", f"{key}={value}"], capsys), shown_as, "finite")


@pytest.mark.parametrize(
    ("key", "value"),
    [("cluster.gpus", '"64"'), ("run.duration_days", '" 2 "'), ("run.seed", "false"), ("workload.mfu", "true")],
)
def test_numbers_must_be_numbers(small: Path, key: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Numbers written as strings and booleans are refused (they passed as numbers)."""
    refused(run_cli(["check", str(small), "--set", f"{key}={value}"], capsys), key, "must be a")


def test_ints_pass_for_floats() -> None:
    """An integer is a number where a float is expected."""
    s = load_scenario_text(SCENARIO.replace("duration_days = 2", "duration_days = 3"))
    assert s.run.duration_days == 3.0 and isinstance(s.run.duration_days, float)


# ---------------------------------------------------------------- reading files and values


def test_non_utf8_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario file that is not UTF-8 is refused (it was a UnicodeDecodeError)."""
    path = tmp_path / "latin1.toml"
    path.write_bytes(SCENARIO.replace('"small"', '"sm\xe4ll"').encode("latin-1"))
    refused(run_cli(["check", str(path)], capsys), "not UTF-8", "0xe4")


def test_deeply_nested_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Arrays nested 3,000 deep are refused in one line (a RecursionError with a 3,000-line traceback)."""
    path = tmp_path / "deep.toml"
    path.write_text(SCENARIO + "x = " + "[" * 3000 + "]" * 3000 + "\n")
    refused(run_cli(["check", str(path)], capsys), "nested too deeply")


def test_integers_of_thousands_of_digits(small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """5,000-digit integers in a file or in --set are refused, quoted briefly (a ValueError)."""
    path = tmp_path / "huge.toml"
    path.write_text(SCENARIO.replace("gpus = 64", "gpus = " + "9" * 5000))
    refused(run_cli(["check", str(path)], capsys), "too long to read")
    refused(run_cli(["check", str(small), "--set", "cluster.gpus=" + "9" * 5000], capsys), "cluster.gpus")
    line = refused(run_cli(["check", str(small), "--set", "cluster.gpus=" + "9" * 4000], capsys), "cluster.gpus")
    assert "an integer of about 4001 digits" in line


def test_set_value_cannot_smuggle_more_keys() -> None:
    """A --set value is one TOML literal; text with more keys after it is text, not the literal before it."""
    assert parse_value("16\nname = 'x'") == "16\nname = 'x'"


def test_error_messages_quote_briefly(small: Path) -> None:
    """Errors quote at most a few dozen characters of a huge key or value (a 6.9 MB error line)."""
    with pytest.raises(ScenarioError) as key_error:
        load_scenario_text(SCENARIO, {"cluster." + "k" * 100_000: 1})
    with pytest.raises(ScenarioError) as value_error:
        load_scenario_text(SCENARIO, {"title": "\x00" * 100_000})
    assert len(str(key_error.value)) < 300 and len(str(value_error.value)) < 300


def test_weibull_shape_too_small(small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Weibull shape 0.005 is refused by `check` and `run` (math.gamma overflowed in the run)."""
    extra = ["--set", "failure.1.distribution='weibull'", "--set", "failure.1.shape=0.005"]
    refused(run_cli(["check", str(small), *extra], capsys), "failure[1].shape")
    refused(run_cli(run_args(small, tmp_path, *extra), capsys), "failure[1].shape")


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("failure.0.name", "GPU\x1b[2J", "control characters"),
        ("failure.0.name", "GPU\u202eUPG", "control characters"),
        ("failure.0.name", "two\nlines", "line breaks"),
        ("title", "bell\x07", "control characters"),
    ],
)
def test_names_and_text_hold_no_control_codes(key: str, value: str, needle: str) -> None:
    """Escape codes and bidi overrides in names and titles are refused (they reached the terminal)."""
    with pytest.raises(ScenarioError, match=needle):
        load_scenario_text(SCENARIO, {key: value})
    s = load_scenario_text(SCENARIO, {"title": "GPU\u00a0fleet, 2024 ✓", "failure.0.name": "NCCL [timeout] (Ω)"})
    assert s.title == "GPU\u00a0fleet, 2024 ✓"


# ---------------------------------------------------------------- paths


def test_scenario_name_too_long_for_a_folder(small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 5,000-character scenario name is refused (its results folder name was 'File name too long')."""
    line = refused(run_cli(["check", str(small), "--set", "name='" + "a" * 5000 + "'"], capsys), "name:", "100")
    assert "a" * 100 not in line


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_out_path_component_too_long(
    small: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --out with a 300-character component is refused before any work ('File name too long' traceback)."""
    out = str(tmp_path / ("b" * 300))
    extra = ["-p", "checkpoint.interval_minutes=10,20", "-j", "1"] if command == "sweep" else []
    refused(run_cli([command, str(small), "-q", "--no-plots", "-o", out, *extra], capsys), "--out")


def test_out_path_with_nul(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An --out with a NUL character is refused in one line (click's path check)."""
    refused(run_cli(["run", str(small), "-q", "--no-plots", "-o", "res\x00ults"], capsys), "--out")


def test_plot_into_a_folder_it_cannot_write(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`trainsim plot` on a folder it cannot write exits 2 with one line (a PermissionError traceback)."""
    out = tmp_path / "out"
    assert main(run_args(small, tmp_path)) == 0

    def read_only(*args: object) -> list[Path]:
        raise PermissionError(13, "Permission denied", str(out / "waterfall.png"))

    monkeypatch.setattr(sim.cli.plot, "draw", read_only)
    capsys.readouterr()
    refused(run_cli(["plot", str(out)], capsys), "cannot write the charts", "Permission denied")


# ---------------------------------------------------------------- sweeps


def no_work(*args: object) -> None:
    raise AssertionError("a replication ran")


@pytest.mark.parametrize(
    ("values", "needles"),
    [
        ('checkpoint.write_seconds=60,"70"', ("mixed types",)),
        ("checkpoint.interval_minutes=0:inf:1", ("not a finite number",)),
        ("checkpoint.interval_minutes=log:1:10:1e6", ("above the limit of 10,000 points", "--max-points")),
        ("checkpoint.interval_minutes=1:1e12:1", ("1e+12 values", "--max-points")),
        ("checkpoint.interval_minutes=1:2:1e-300", ("values, above the limit",)),
        ("cluster.spare_nodes=1," + "9" * 5000, ("mixed types",)),
        ("cluster.spare_nodes=" + ",".join(map(str, range(20_000))), ("20,000 values", "--max-points")),
    ],
)
def test_bad_grids_are_refused_before_any_work(
    small: Path,
    tmp_path: Path,
    values: str,
    needles: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Mixed types (ArrowInvalid after the whole sweep ran), infinite ranges and huge grids: exit 2 up front."""
    monkeypatch.setattr(sim.experiment.executors, "run_unit", no_work)
    args = ["sweep", str(small), "-q", "--no-plots", "-j", "1", "-o", str(tmp_path / "s"), "-p", values]
    refused(run_cli(args, capsys), "--param", *needles)
    assert not (tmp_path / "s").exists()


def test_grid_size_is_the_product_of_the_value_counts(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two parameters of 200 values make 40,000 points: refused; --max-points sets the limit."""
    monkeypatch.setattr(sim.experiment.executors, "run_unit", no_work)
    grid = ["-p", "checkpoint.interval_minutes=1:200:1", "-p", "restart.fixed_minutes=1:200:1"]
    args = ["sweep", str(small), "-q", "--no-plots", "-j", "1", "-o", str(tmp_path / "s")]
    refused(run_cli([*args, *grid], capsys), "200 x 200 = 40,000 points", "--max-points")
    small_grid = ["-p", "checkpoint.interval_minutes=10,20", "-p", "restart.fixed_minutes=1:3:1"]
    refused(run_cli([*args, *small_grid, "--max-points", "5"], capsys), "2 x 3 = 6 points, above the limit of 5")
    code, _, err = run_cli([*args, *small_grid, "--max-points", "6"], capsys)
    assert code == 1 and "a replication ran" in err  # accepted: its first replication starts


# ---------------------------------------------------------------- runaway work


def test_maintenance_window_longer_than_its_period(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 30 h window every day is refused by `check` and `run`, naming both keys (run died: Negative delay)."""
    extra = ["--set", "maintenance.every_days=1", "--set", "maintenance.hours=30"]
    for args in (["check", str(small), *extra], run_args(small, tmp_path, *extra)):
        refused(run_cli(args, capsys), "maintenance.hours", "maintenance.every_days")


def test_too_many_maintenance_windows(small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Maintenance every 1e-6 days (two million windows in two days, 39 s and 1.8 GB) is refused up front."""
    extra = ["--set", "maintenance.every_days=1e-6", "--set", "maintenance.hours=0"]
    refused(run_cli(run_args(small, tmp_path, *extra), capsys), "maintenance.every_days", "100,000")


def test_rack_larger_than_the_fleet_is_the_fleet() -> None:
    """A rack of a million servers over eight is the eight (memory followed the rack size: 7 GB, 116 s)."""
    rack = '[[failure]]\nname = "rack"\nscope = "rack"\nmtbf_hours = 100\nrepair_hours = 1\n'
    huge = load_scenario_text(SCENARIO.replace("gpus = 64", "gpus = 64\nnodes_per_rack = 1000000") + rack)
    assert huge.domain_nodes("rack") == huge.fleet_nodes == 8
    fleet = load_scenario_text(SCENARIO.replace("gpus = 64", "gpus = 64\nnodes_per_rack = 8") + rack)
    assert check_report(huge)["causes"] == check_report(fleet)["causes"]


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("failure.1.mtbf_hours", "1e-300", "failure[1].mtbf_hours"),
        ("cluster.spare_nodes", "1000000000", "cluster.spare_nodes"),
        ("cluster.gpus", "1000000000000000000000000000000", "cluster.gpus"),
        ("cluster.gpus", "1e30", "cluster.gpus"),
    ],
)
def test_fleets_and_rates_beyond_memory(
    small: Path, tmp_path: Path, key: str, value: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Huge fleets and failure rates are refused before any array is sized (array-size errors, 112 GiB)."""
    refused(run_cli(run_args(small, tmp_path, "--set", f"{key}={value}"), capsys), needle)
    assert not (tmp_path / "out").exists()


def test_failure_storm_is_refused_up_front(small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A job MTBF of one second over 100 days (8.6 million interruptions) is refused, naming the mode and count."""
    storm = ["--set", f"failure.0.mtbf_hours={1 / 3600}", "--set", "run.duration_days=100"]
    line = refused(run_cli(run_args(small, tmp_path, *storm), capsys), "failure[0].mtbf_hours", "'crash'", "8.64e+06")
    assert "--max-events" in line


def test_max_events_sets_the_limit(small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--max-events lowers or raises the limit on run, sweep and optimize."""
    # Two days of a 24 h job MTBF and a 5,000 h node MTBF over eight nodes: about 2.08 events.
    refused(run_cli(run_args(small, tmp_path, "--max-events", "1"), capsys), "about 2.08 events", "--max-events")
    sweep = ["sweep", str(small), "-q", "--no-plots", "-j", "1", "-n", "1", "-o", str(tmp_path / "s")]
    refused(run_cli([*sweep, "-p", "checkpoint.interval_minutes=10,20", "--max-events", "1"], capsys), "--max-events")
    optimize = ["optimize", str(small), "-q", "-n", "1", "-j", "1", "-o", str(tmp_path / "o"), "--max-events", "1"]
    refused(run_cli(optimize, capsys), "--max-events")
    assert main(run_args(small, tmp_path, "--max-events", "3")) == 0


# ---------------------------------------------------------------- fit


def write_log(path: Path, causes: list[str]) -> Path:
    rows = [f"2024-01-{1 + i % 28:02d}T00:00:00Z,{cause},n{i}" for i, cause in enumerate(causes)]
    path.write_text("timestamp,cause,node\n" + "\n".join(rows) + "\n")
    return path


WINDOW = ["--start", "2024-01-01T00:00:00Z", "--end", "2024-02-01T00:00:00Z"]


def test_fit_of_a_huge_fleet_holds_only_the_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`fit --nodes 1000000000` fits in little memory: silent nodes share one censored gap (it allocated 8 GB)."""
    rows = [Incident(2.0, "a", "n1", 2), Incident(5.0, "a", "n1", 3), Incident(7.0, "a", "n2", 4)]
    h = histories(rows, nodes=10**6, window=10.0)
    assert h.weight.size == 3 and h.weight.sum() == 10**6
    log = write_log(tmp_path / "log.csv", ["psu"] * 30)
    tracemalloc.start()
    try:
        code, out, err = run_cli(["fit", str(log), "--nodes", "1000000000", *WINDOW, "-f", "json"], capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, err
    assert peak < 50e6
    assert json.loads(out)["modes"][0]["exposure_hours"] == pytest.approx(1e9 * 744, rel=1e-6)


def test_fit_table_escapes_cause_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Escape codes and markup in a cause name are shown, not acted on (they reached the terminal)."""
    log = write_log(tmp_path / "log.csv", ["\x1b[2Jwipe"] * 3 + ["[/x]"] * 3)
    code, out, err = run_cli(["fit", str(log), "--nodes", "10", *WINDOW], capsys)
    assert code == 0, err
    assert "\x1b" not in out and "\\x1b[2Jwipe" in out and "[/x]" in out


def test_fit_time_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A time whose offset moves it past year 9999 is a bad time, not an OverflowError."""
    log = write_log(tmp_path / "log.csv", ["psu"] * 3)
    args = ["fit", str(log), "--nodes", "10", "--start", "2024-01-01T00:00:00Z", "--end", "9999-12-31T23:00:00-05:00"]
    refused(run_cli(args, capsys), "--end", "not an ISO 8601 time")


def test_fit_nodes_beyond_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--nodes of 10^30 is refused (its exposure would not be a float)."""
    log = write_log(tmp_path / "log.csv", ["psu"] * 3)
    refused(run_cli(["fit", str(log), "--nodes", str(10**30), *WINDOW], capsys), "--nodes")


def test_infinite_float_helpers_stay_finite() -> None:
    """The refusals above leave no path to a non-finite analytic figure for an accepted scenario."""
    report = check_report(load_scenario_text(SCENARIO))
    assert all(math.isfinite(v) for v in (report["daly_ettr"], report["first_order_ettr"], report["job_mtbf_hours"]))


def test_fit_refusal_is_one_line_even_with_skip_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log with only bad rows under --skip-bad exits 2 with one line (the skip warning came first)."""
    log = tmp_path / "log.csv"
    log.write_text("timestamp,cause,node\n2030-13-01T00:00:00Z,psu,n1\n")
    result = run_cli(["fit", str(log), "--nodes", "10", *WINDOW, "--skip-bad"], capsys)
    refused(result, "no usable incidents", "1 bad row")


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["retirement.policy=window", "retirement.failures=0"], ("retirement.failures", "greater than or equal to 1")),
        (["retirement.policy=sometimes"], ("retirement.policy",)),
        (["retirement.policy=score", "retirement.credit_days=0"], ("retirement.credit_days",)),
        (["repair.auto_hours=2", "repair.escalate_probability=1.5"], ("repair.escalate_probability",)),
        (["repair.misdiagnosis_probability=-0.1"], ("repair.misdiagnosis_probability",)),
        (["repair.unfixed_multiplier=0.5"], ("repair.unfixed_multiplier",)),
        (["repair.manual_fail_probability=0.2", "repair.auto_fail_probability=0.4"], ("repair.auto_fail_probability",)),
    ],
)
def test_bad_repair_and_retirement_keys(
    small: Path, tmp_path: Path, extra: list[str], needles: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """Out-of-range or ignored repair-pipeline and retirement keys end in one line naming the key, exit 2."""
    flags = [a for kv in extra for a in ("--set", kv)]
    refused(run_cli(run_args(small, tmp_path, *flags), capsys), *needles)


def test_failed_repairs_that_storm_are_refused_up_front(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Repairs that always leave the fault with a huge multiplier make a failure storm: refused before any work."""
    extra = ["repair.manual_fail_probability=1", "repair.unfixed_multiplier=1e6", "failure.1.mtbf_hours=100"]
    flags = [a for kv in extra for a in ("--set", kv)]
    refused(run_cli(run_args(small, tmp_path, *flags), capsys), "failure[1].mtbf_hours", "events per replication")


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--set", "run.target_flop=1e22", "--set", "run.target_tokens=1e9"], ["run.target_tokens", "one target"]),
        (["--set", "run.target_tokens=1e9"], ["run.target_tokens", "workload.parameters"]),
        (["--set", "run.start_date=20250301"], ["run.start_date"]),
        (["--set", "cost.usd_per_gpu_hour=-1"], ["cost.usd_per_gpu_hour"]),
        (["--objective", "time_to_train"], ["objective", "needs a target"]),
    ],
)
def test_targets_prices_and_objectives_are_refused_in_one_line(
    small: Path, tmp_path: Path, extra: list[str], needles: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two targets, tokens without a model size, a date that is not one, a negative price, a time objective
    without a target: exit 2, one line naming the key."""
    args = ["sweep", str(small), "-q", "--no-plots", "-o", str(tmp_path / "s"), "-p", f"{INTERVAL}=10,20"]
    refused(run_cli([*args, *extra], capsys), *needles)

"""``trainsim run`` and ``trainsim check``: simulate a scenario, or print its analytic view."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from sim.cli.app import (
    BadInput,
    Failed,
    Format,
    app,
    check_replaceable,
    info,
    parse_overrides,
    precision_target,
    warn,
)
from sim.cli.options import (
    FormatOpt,
    JobsOpt,
    MaxEventsOpt,
    MaxReplicationsOpt,
    MinReplicationsOpt,
    NoPlotsOpt,
    PrecisionObjectiveOpt,
    PrecisionOpt,
    QuietOpt,
    RelPrecisionOpt,
    ReplicationsOpt,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    out_option,
)
from sim.config.errors import ScenarioError
from sim.config.limits import DEFAULT_MAX_EVENTS

if TYPE_CHECKING:
    from sim.config.scenario import Scenario


def _load(path: Path, overrides: dict[str, Any]) -> tuple[Scenario, bytes]:
    """The validated scenario and the file's bytes (for the copy in the results folder)."""
    from sim.analysis.analytic import interval_seconds
    from sim.config.loading import load_scenario

    scenario = load_scenario(path, overrides)
    # The policy's interval can be impossible (young/daly with a zero write time): bad input, not a crash.
    try:
        interval_seconds(scenario)
    except ScenarioError as e:
        raise ScenarioError(f"{path}: {e}") from None
    return scenario, path.read_bytes()


def _prepare_out(out: Path | None, scenario: Scenario) -> Path:
    """The results folder, checked now so a bad ``--out`` fails before the simulation, not after.

    The results are built beside the folder and swapped in whole, so the folder must hold nothing
    but results of ``trainsim run``, and its parent must be writable.
    """
    from sim.results import files as output
    from sim.results import staging

    folder = output.default_out_dir(scenario) if out is None else out
    try:
        if folder.exists() and not folder.is_dir():
            raise BadInput(f"--out {folder}: exists and is not a folder")
        check_replaceable(folder, output.RUN_FOLDER, "trainsim run")
        staging.tidy(folder)  # a killed run's temporaries, a swap cut short
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a name too long, a read-only or missing parent, ...
        raise BadInput(f"--out {folder}: cannot create the folder: {e.strerror}") from None
    if not os.access(folder.resolve().parent, os.W_OK):
        raise BadInput(f"--out {folder}: cannot write beside it (results are built there, then moved in)")
    return folder


@app.command("run")
def run_command(
    scenario_path: ScenarioArg,
    set_: SetOpt = None,
    replications: ReplicationsOpt = None,
    seed: SeedOpt = None,
    jobs: JobsOpt = 1,
    out: Annotated[
        Path | None,
        out_option("summary.json, runs.parquet, events.parquet, power.parquet, scenario.toml", "<scenario name>"),
    ] = None,
    fmt: FormatOpt = Format.text,
    quiet: QuietOpt = False,
    no_plots: NoPlotsOpt = False,
    max_events: MaxEventsOpt = DEFAULT_MAX_EVENTS,
    precision: PrecisionOpt = None,
    rel_precision: RelPrecisionOpt = None,
    min_replications: MinReplicationsOpt = None,
    max_replications: MaxReplicationsOpt = None,
    objective: PrecisionObjectiveOpt = "ettr",
    no_power_trace: Annotated[
        bool,
        typer.Option(
            "--no-power-trace",
            help="Write no power.parquet (the power trace, a row per change of the draw); the power metrics stay.",
        ),
    ] = False,
) -> None:
    """Simulate a scenario: print the report, write the results folder, its charts and report.html."""
    from rich.console import Console

    from sim.analysis.plausibility import scenario_flags
    from sim.analysis.work import check_work
    from sim.experiment import runner, save
    from sim.report import terminal as report
    from sim.results import files as output
    from sim.results.precision import until_text

    if replications is not None and replications < 1:
        raise BadInput(f"--replications: must be at least 1, got {replications}")
    if seed is not None and seed < 0:
        raise BadInput(f"--seed: must be 0 or more, got {seed}")
    if jobs < 1:
        raise BadInput(f"--jobs: must be at least 1, got {jobs}")
    target = precision_target(precision, rel_precision, objective, min_replications, max_replications, replications)
    overrides = parse_overrides(set_)
    # --replications and --seed become part of the scenario, so the recorded scenario is what ran.
    effective = dict(overrides)
    if replications is not None:
        effective["run.replications"] = replications
    if seed is not None:
        effective["run.seed"] = seed
    scenario, text = _load(scenario_path, effective)
    n, root = scenario.run.replications, scenario.run.seed
    check_work(scenario, max_events)
    folder = _prepare_out(out, scenario)

    how_many = f"{n} replication{'s' if n != 1 else ''}" if target is None else until_text(target.to_json())
    info(f"simulating {how_many} of {scenario.name} (seed {root}, {jobs} process{'es' if jobs != 1 else ''})", quiet)
    # What the scenario alone says is worth knowing before a long run, not after it.
    early = [f.text for f in scenario_flags(scenario)]
    warn(early, quiet)
    started = output.utc_now()
    start = time.perf_counter()
    err_console = Console(stderr=True)
    write_error: OSError | None = None
    try:
        # The spinner is a thread; forking worker processes under a live thread risks deadlocks.
        count: dict[str, Any] = {"replications": n} if target is None else {"precision": target}
        count["power_trace"] = not no_power_trace
        if err_console.is_terminal and not quiet and jobs == 1:
            with err_console.status("simulating..."):
                result = runner.run(scenario, seed=root, jobs=jobs, max_events=max_events, **count)
        else:
            result = runner.run(scenario, seed=root, jobs=jobs, max_events=max_events, **count)
        try:
            save.write_results(folder, result, text, started, overrides)
        except OSError as e:
            write_error = e  # print the report anyway: the simulation's work is not lost with the files
    except (Exception, KeyboardInterrupt) as e:
        _run_failed(folder, scenario, n, e, text, started, overrides, time.perf_counter() - start)

    if fmt is Format.json:
        sys.stdout.write(output.dumps(result.to_json()) + "\n")
    else:
        report.print_report(result, Console())
    warn(result.warnings, quiet, shown=early)
    if write_error is not None:
        raise Failed(f"cannot write results to {folder}: {write_error} (its earlier contents are kept)")
    from sim.cli.plot import finish  # here, not at the top: importing it registers `plot` (the order of --help)

    finish(folder, no_plots, quiet, result.runtime_s)


def _run_failed(
    folder: Path,
    scenario: Scenario,
    replications: int,
    error: BaseException,
    text: bytes,
    started: str,
    overrides: dict[str, Any],
    elapsed: float,
) -> NoReturn:
    """Record a run that raised or was interrupted, where it destroys nothing, then raise what the command reports."""
    from sim.experiment import save

    try:
        summary = save.write_failure(
            folder, scenario, scenario.run.seed, replications, error, text, started, overrides, elapsed
        )
        beside = "" if summary.parent == folder else f"; the earlier results in {folder}/ are kept"
        where = f"details in {summary}{beside}"
    except OSError as disk_error:  # report the simulation's error, not only the disk's
        where = f"and its summary could not be written: {disk_error}; {folder}/ is unchanged"
    if isinstance(error, KeyboardInterrupt):
        info(f"interrupted ({where})", quiet=False)
        raise error
    raise Failed(f"simulation failed: {type(error).__name__}: {error} ({where})") from error


@app.command("check")
def check_command(scenario_path: ScenarioArg, set_: SetOpt = None, fmt: FormatOpt = Format.text) -> None:
    """Validate a scenario and print its analytic view: job MTBF by cause, Young and Daly intervals, ETTR."""
    from rich.console import Console

    from sim.analysis.estimates import check_report
    from sim.report import terminal as report
    from sim.results import files as output

    scenario, _ = _load(scenario_path, parse_overrides(set_))
    data = check_report(scenario)
    if fmt is Format.json:
        sys.stdout.write(output.dumps(data) + "\n")
    else:
        report.print_check(data, Console())

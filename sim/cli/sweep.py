"""``trainsim sweep``: registered on ``sim.cli.app.app``, thin like the rest of it (optimize: ``sim.cli.optimize``).

Bad input (a malformed ``--param``, a value that fails validation, a results folder of another
sweep) exits 2 before any simulation starts: ``run_sweep`` validates every point and the store
before it runs anything, and this module touches the results folder only once it has.

>>> parse_params(["checkpoint.interval_minutes=5:15:5", "cluster.spare_nodes=0,8"])
{'checkpoint.interval_minutes': [5, 10, 15], 'cluster.spare_nodes': [0, 8]}
>>> parse_range("5:240")
(5.0, 240.0)
"""

from __future__ import annotations

import math
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
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
    AllCoresJobsOpt,
    FormatOpt,
    MaxEventsOpt,
    MaxPointsOpt,
    MaxReplicationsOpt,
    MinReplicationsOpt,
    NoPlotsOpt,
    ObjectiveOpt,
    PointReplicationsOpt,
    PrecisionOpt,
    QuietOpt,
    RelPrecisionOpt,
    ScenarioArg,
    SchedulerOpt,
    SeedOpt,
    SetOpt,
    out_option,
)
from sim.config.errors import SweepError, shown
from sim.config.limits import DEFAULT_MAX_EVENTS, DEFAULT_MAX_POINTS, MAX_REPLICATIONS, MAX_SEED

if TYPE_CHECKING:
    from sim.config.scenario import Scenario

# ---------------------------------------------------------------- parsing


def parse_params(specs: Sequence[str], max_points: int = DEFAULT_MAX_POINTS) -> dict[str, list[Any]]:
    """``--param KEY=VALUES`` options as a grid; a key given twice is an error, not a silent override."""
    from sim.experiment.grid import parse_param

    params: dict[str, list[Any]] = {}
    for spec in specs:
        key, values = parse_param(spec, max_points)
        if key in params:
            raise SweepError(f"{shown(key)}: given twice; put all its values in one --param", "params")
        params[key] = values
    return params


def parse_range(text: str) -> tuple[float, float]:
    """``--range LO:HI`` as two numbers; whether they make a usable range is the search's call."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise BadInput(f"--range {shown(text)}: expected LO:HI, two numbers such as 5:240") from None
    if not (0 < lo < hi < math.inf):
        raise BadInput(f"--range {shown(text)}: needs finite numbers with 0 < LO < HI")
    return lo, hi


def _check_counts(replications: int | None, seed: int | None, jobs: int | None) -> None:
    if replications is not None and not 1 <= replications <= MAX_REPLICATIONS:
        raise BadInput(f"--replications: must be from 1 to {MAX_REPLICATIONS:,}, got {shown(replications)}")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise BadInput(f"--seed: must be from 0 to {MAX_SEED}, got {shown(seed)}")
    if jobs is not None and jobs < 1:
        raise BadInput(f"--jobs: must be at least 1, got {jobs}")


def _load(path: Path, overrides: dict[str, Any]) -> tuple[Scenario, bytes]:
    from sim.config.loading import load_scenario

    # Not cli._load: a base interval that is impossible (young with no write time) may be fixed by
    # the swept values, and build_points checks every point's interval anyway.
    return load_scenario(path, overrides), path.read_bytes()


def _check_out(folder: Path) -> None:
    """Refuse an ``--out`` that cannot hold this sweep, creating nothing; finish a swap into it that was cut short."""
    from sim.experiment import sweep_save as sweep_output
    from sim.results import staging

    try:
        if folder.exists() and not folder.is_dir():
            raise BadInput(f"--out {folder}: exists and is not a folder")
        foreign = sweep_output.foreign_results(folder)
        if foreign:
            files = ", ".join(foreign)
            raise BadInput(f"--out {folder}: holds results of a run, not a sweep ({files}); choose another --out")
        check_replaceable(folder, sweep_output.SWEEP_FOLDER, "trainsim sweep")
        # Before the store is opened: a swap cut short has the folder, and its store, under another name.
        staging.tidy(folder)
    except OSError as e:  # a name too long, a folder that cannot be read
        raise BadInput(f"--out {folder}: cannot use the folder: {e.strerror}") from None


def _workers(jobs: int | None, scheduler: str | None) -> str:
    if scheduler:
        return f"on Dask at {scheduler}"
    n = (os.cpu_count() or 1) if jobs is None else jobs
    return f"{n} process{'es' if n != 1 else ''}"


# ---------------------------------------------------------------- sweep


@app.command("sweep")
def sweep_command(
    scenario_path: ScenarioArg,
    param: Annotated[
        list[str],
        typer.Option(
            "--param",
            "-p",
            metavar="KEY=VALUES",
            help=(
                "A scenario key and its values: V1,V2,... or a range LO:HI:STEP or a log range log:LO:HI:N, "
                "e.g. checkpoint.interval_minutes=log:5:240:9; repeat for a grid over several keys."
            ),
            show_default=False,
        ),
    ],
    set_: SetOpt = None,
    replications: PointReplicationsOpt = None,
    seed: SeedOpt = None,
    jobs: AllCoresJobsOpt = None,
    scheduler: SchedulerOpt = None,
    out: Annotated[
        Path | None,
        out_option(
            "sweep.sqlite (each replication as it finishes), runs.parquet, points.csv, summary.json, scenario.toml",
            "<scenario name>-sweep",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue the sweep in --out: finished replications are reused, not recomputed."),
    ] = False,
    fmt: FormatOpt = Format.text,
    quiet: QuietOpt = False,
    objective: ObjectiveOpt = "ettr",
    no_plots: NoPlotsOpt = False,
    max_points: MaxPointsOpt = DEFAULT_MAX_POINTS,
    max_events: MaxEventsOpt = DEFAULT_MAX_EVENTS,
    precision: PrecisionOpt = None,
    rel_precision: RelPrecisionOpt = None,
    min_replications: MinReplicationsOpt = None,
    max_replications: MaxReplicationsOpt = None,
) -> None:
    """Sweep a grid of scenario keys with paired replications: a table per point, written to --out with charts.

    With --precision or --rel-precision, each point runs until its objective's 95% CI is that narrow."""
    from sim.cli.progress import Tracker, show_bar
    from sim.experiment import sweep_save as sweep_output
    from sim.experiment.store import FILE as STORE
    from sim.experiment.sweeps import interval_sweep, run_sweep
    from sim.report import sweep as sweep_report
    from sim.results import files as output
    from sim.results.precision import until_text

    params = parse_params(param, max_points)
    _check_counts(replications, seed, jobs)
    target = precision_target(precision, rel_precision, objective, min_replications, max_replications, replications)
    overrides = parse_overrides(set_)
    scenario, text = _load(scenario_path, overrides)
    folder = sweep_output.default_sweep_dir(scenario) if out is None else out
    _check_out(folder)
    n = scenario.run.replications if replications is None else replications
    root = scenario.run.seed if seed is None else seed
    note = interval_sweep(scenario, params)[1]

    def on_start(done: int, total: int) -> None:
        if note:
            info(f"note: {note}", quiet)
        first = n if target is None else target.min_replications
        points = total // first
        reused = f"; {done} stored replications reused" if done else ""
        each = f"{n} replication{'s' if n != 1 else ''}" if target is None else until_text(target.to_json())
        info(
            f"sweeping {points} point{'s' if points != 1 else ''} x {each} "
            f"of {scenario.name} (seed {root}, {_workers(jobs, scheduler)}{reused})",
            quiet,
        )

    started = output.utc_now()
    start = time.perf_counter()
    tracker = Tracker(show_bar(quiet), "sweep", on_start)
    write_error: OSError | None = None
    try:
        with tracker:
            count = n if target is None else None
            result = run_sweep(
                scenario,
                params,
                count,
                root,
                jobs,
                scheduler,
                folder,
                resume,
                objective,
                tracker,
                max_points,
                max_events,
                target,
            )
        runtime = time.perf_counter() - start
        try:
            sweep_output.write_sweep(folder, result, text, started, runtime, param, overrides)
        except OSError as e:
            write_error = e  # print the report anyway: the results are in the store
    except SweepError:
        raise
    except (Exception, KeyboardInterrupt) as e:
        if not tracker.started:  # the store could not be opened: nothing was run or written
            if isinstance(e, sqlite3.Error):
                raise BadInput(f"--out {folder}: cannot use {STORE}: {e}") from e
            raise
        elapsed = time.perf_counter() - start
        _sweep_failed(folder, scenario, root, n, params, e, text, started, elapsed, param, overrides)
    if fmt is Format.json:
        sys.stdout.write(output.dumps(result.to_json()) + "\n")
    else:
        sweep_report.print_sweep(result)
    warn(result.warnings, quiet)
    if write_error is not None:
        raise Failed(f"cannot write results to {folder}: {write_error} (the results are in {folder / STORE})")
    from sim.cli.plot import finish  # here, not at the top: importing it registers `plot` (the order of --help)

    finish(folder, no_plots, quiet, runtime)


def _sweep_failed(
    folder: Path,
    scenario: Scenario,
    seed: int,
    replications: int,
    params: dict[str, list[Any]],
    error: BaseException,
    text: bytes,
    started: str,
    runtime: float,
    specs: Sequence[str],
    overrides: dict[str, Any],
) -> NoReturn:
    """Record a sweep that raised or was interrupted, where it destroys nothing, then raise what the command reports."""
    from sim.experiment import sweep_save as sweep_output
    from sim.experiment.store import FILE as STORE

    try:
        summary = sweep_output.write_sweep_failure(
            folder, scenario, seed, replications, params, error, text, started, runtime, specs, overrides
        )
        beside = "" if summary.parent == folder else f"; the earlier results in {folder}/ are kept"
        where = f"details in {summary}{beside}"
    except OSError as disk_error:  # report the sweep's error, not only the disk's
        where = f"and its summary could not be written: {disk_error}"
    kept = f"finished replications are kept in {folder / STORE}: rerun with --resume to continue"
    if isinstance(error, KeyboardInterrupt):
        info(f"interrupted ({where}); {kept}", quiet=False)
        raise error
    raise Failed(f"sweep failed: {type(error).__name__}: {error} ({where}; {kept})") from error

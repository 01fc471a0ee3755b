"""``trainsim optimize``: the paired search of ``sim.experiment.optimize``, its report and its results folder.

Bad input (a key with values, a bad ``--range``, an objective that does not exist) exits 2 before any
simulation; the results folder is checked before the search and written once it is done.
"""

from __future__ import annotations

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
    check_out,
    info,
    parse_overrides,
    warn,
)
from sim.cli.options import (
    AllCoresJobsOpt,
    FormatOpt,
    MaxEventsOpt,
    NoPlotsOpt,
    ObjectiveOpt,
    PointReplicationsOpt,
    QuietOpt,
    ScenarioArg,
    SchedulerOpt,
    SeedOpt,
    SetOpt,
    out_option,
)
from sim.cli.sweep import _check_counts, _load, _workers, parse_range
from sim.config.errors import SweepError, shown
from sim.config.limits import DEFAULT_MAX_EVENTS
from sim.results.schema import INTERVAL

if TYPE_CHECKING:
    from sim.config.scenario import Scenario


@app.command("optimize")
def optimize_command(
    scenario_path: ScenarioArg,
    param: Annotated[
        str,
        typer.Option(
            "--param",
            "-p",
            metavar="KEY",
            help="The numeric scenario key to optimise (a key only, no values).",
        ),
    ] = INTERVAL,
    range_: Annotated[
        str | None,
        typer.Option(
            "--range",
            metavar="LO:HI",
            help="Search range in the key's unit. Default for the interval: Daly's interval / 8 to x 8.",
            show_default=False,
        ),
    ] = None,
    set_: SetOpt = None,
    replications: PointReplicationsOpt = None,
    seed: SeedOpt = None,
    jobs: AllCoresJobsOpt = None,
    scheduler: SchedulerOpt = None,
    out: Annotated[
        Path | None,
        out_option(
            "runs.parquet and points.csv (every value evaluated), summary.json (with the optimum), scenario.toml, "
            "the chart and report.html",
            "<scenario name>-optimize",
        ),
    ] = None,
    fmt: FormatOpt = Format.text,
    quiet: QuietOpt = False,
    objective: ObjectiveOpt = "ettr",
    no_plots: NoPlotsOpt = False,
    max_events: MaxEventsOpt = DEFAULT_MAX_EVENTS,
) -> None:
    """Find the value of a key (the checkpoint interval) with the best objective, by a paired search; vs Young, Daly.

    Writes a results folder: every value evaluated, the optimum with its CI, the chart and report.html."""
    from sim.cli.progress import Tracker, show_bar
    from sim.experiment import optimize_save
    from sim.experiment.optimize import optimize
    from sim.report import sweep as sweep_report
    from sim.results import files as output

    key = param.strip()
    if "=" in key or not key:
        raise BadInput(f"--param {shown(param)}: give a key only, e.g. {INTERVAL}; the range goes in --range LO:HI")
    lo, hi = parse_range(range_) if range_ is not None else (None, None)
    _check_counts(replications, seed, jobs)
    overrides = parse_overrides(set_)
    scenario, text = _load(scenario_path, overrides)
    n = scenario.run.replications if replications is None else replications
    root = scenario.run.seed if seed is None else seed
    folder = optimize_save.default_optimize_dir(scenario) if out is None else out
    check_out(folder, optimize_save.OPTIMIZE_FOLDER, "trainsim optimize")
    search = optimize_save.search_block(key, lo, hi, objective)

    def on_start(done: int, total: int) -> None:
        info(
            f"optimizing {key} of {scenario.name} ({n} replication{'s' if n != 1 else ''} per value, "
            f"seed {root}, {_workers(jobs, scheduler)})",
            quiet,
        )

    started = output.utc_now()
    start = time.perf_counter()
    tracker = Tracker(show_bar(quiet), "optimize", on_start)
    write_error: OSError | None = None
    try:
        with tracker:
            best = optimize(scenario, key, lo, hi, n, root, jobs, scheduler, objective, tracker, max_events=max_events)
        runtime = time.perf_counter() - start
        try:
            optimize_save.write_optimum(folder, best, text, started, runtime, search, overrides)
        except OSError as e:
            write_error = e  # print the answer anyway: the search's work is not lost with the files
    except SweepError:
        raise
    except (Exception, KeyboardInterrupt) as e:
        if not tracker.started:
            raise
        _optimize_failed(folder, scenario, root, n, e, text, started, time.perf_counter() - start, search, overrides)
    if fmt is Format.json:
        sys.stdout.write(output.dumps(best.to_json()) + "\n")
    else:
        sweep_report.wide_console().print(sweep_report.optimum_renderable(best, scenario.name, n, root))
    warn(best.sweep.warnings if best.sweep is not None else [], quiet)
    if write_error is not None:
        raise Failed(f"cannot write results to {folder}: {write_error} (its earlier contents are kept)")
    from sim.cli.plot import finish  # here, not at the top: importing it registers `plot` (the order of --help)

    finish(folder, no_plots, quiet, runtime)


def _optimize_failed(
    folder: Path,
    scenario: Scenario,
    seed: int,
    replications: int,
    error: BaseException,
    text: bytes,
    started: str,
    runtime: float,
    search: dict[str, Any],
    overrides: dict[str, Any],
) -> NoReturn:
    """Record a search that raised or was interrupted, where it destroys nothing; raise what the command reports."""
    from sim.experiment.optimize_save import write_optimize_failure

    try:
        summary = write_optimize_failure(
            folder, scenario, seed, replications, error, text, started, runtime, search, overrides
        )
        beside = "" if summary.parent == folder else f"; the earlier results in {folder}/ are kept"
        where = f"details in {summary}{beside}"
    except OSError as disk_error:
        where = f"and its summary could not be written: {disk_error}"
    if isinstance(error, KeyboardInterrupt):
        info(f"interrupted ({where})", quiet=False)
        raise error
    raise Failed(f"optimize failed: {type(error).__name__}: {error} ({where})") from error

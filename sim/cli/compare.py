"""``trainsim compare``: scenarios and variants on the same failures, with paired differences from the first.

Everything is checked before any simulation (the files, every variant, the counts, the work, the
results folder): bad input exits 2 with one line. The comparison itself is ``sim.experiment.compare``;
the folder ``sim.experiment.compare_save``; the report and charts read that folder's files.
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
    ScenarioReplicationsOpt,
    ScenariosSeedOpt,
    SetOpt,
    out_option,
)
from sim.config.limits import DEFAULT_MAX_EVENTS

if TYPE_CHECKING:
    from sim.config.scenario import Scenario


def _prepare_out(folder: Path) -> None:
    """Refuse an ``--out`` the comparison cannot replace whole, creating nothing it would not write anyway."""
    from sim.experiment.compare_save import COMPARE_FOLDER

    check_out(folder, COMPARE_FOLDER, "trainsim compare")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"--out {folder}: cannot use the folder: {e.strerror}") from None


@app.command("compare")
def compare_command(
    scenario_paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="SCENARIO",
            help="Scenario files (TOML); the first is the baseline every other is compared with.",
            show_default=False,
        ),
    ],
    variant: Annotated[
        list[str] | None,
        typer.Option(
            "--variant",
            metavar="NAME:KEY=VALUE,...",
            help=(
                "The first scenario with overrides, named NAME, e.g. fast:restart.fixed_minutes=5; several "
                "keys separated by commas; values as for --set; repeatable."
            ),
            show_default=False,
        ),
    ] = None,
    set_: SetOpt = None,
    replications: ScenarioReplicationsOpt = None,
    seed: ScenariosSeedOpt = None,
    jobs: JobsOpt = 1,
    out: Annotated[
        Path | None,
        out_option(
            "summary.json, runs.parquet, differences.csv, a run folder per scenario in scenarios/, the charts and "
            "report.html",
            "<first scenario's name>-compare",
        ),
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
) -> None:
    """Run scenarios (and variants of the first) on the same failures; paired differences from the first."""
    from sim.analysis.plausibility import points_warnings
    from sim.cli.progress import Tracker, show_bar
    from sim.config.errors import CompareError
    from sim.config.loading import load_scenario
    from sim.experiment import compare_save
    from sim.experiment.compare import lineup, parse_variant, run_lineup
    from sim.report.compare import print_compare
    from sim.results import files as output
    from sim.results.precision import until_text

    if jobs < 1:
        raise BadInput(f"--jobs: must be at least 1, got {jobs}")
    target = precision_target(precision, rel_precision, objective, min_replications, max_replications, replications)
    variants: dict[str, dict[str, Any]] = {}
    for spec in variant or ():
        name, overrides_ = parse_variant(spec)
        if name in variants:
            raise CompareError(f"{name}: two variants of that name; give each its own", "variants")
        variants[name] = overrides_
    overrides = parse_overrides(set_)
    loaded = [load_scenario(p, overrides) for p in scenario_paths]
    texts = [p.read_bytes() for p in scenario_paths]
    plan = lineup(loaded, variants, replications, seed, max_events)
    sources: list[dict[str, Any]] = [{"file": str(p), "variant": None} for p in scenario_paths]
    sources += [{"file": str(scenario_paths[0]), "variant": v} for v in variants.values()]
    texts += [texts[0]] * len(variants)
    folder = compare_save.default_compare_dir(plan.scenarios[0]) if out is None else out
    _prepare_out(folder)

    each = f"{plan.replications} replications" if target is None else until_text(target.to_json())
    # What the scenarios alone say is worth knowing before a long comparison, not after it.
    early = points_warnings([(sc.name, sc, 0.0) for sc in plan.scenarios])
    warn(early, quiet)

    def on_start(done: int, total: int) -> None:
        info(
            f"comparing {len(plan.scenarios)} scenarios x {each} on the same seeds "
            f"(seed {plan.seed}, {jobs} process{'es' if jobs != 1 else ''})",
            quiet,
        )

    started = output.utc_now()
    start = time.perf_counter()
    write_error: OSError | None = None
    try:
        with Tracker(show_bar(quiet), "compare", on_start) as tracker:
            result = run_lineup(plan, jobs, tracker, target)
        try:
            compare_save.write_compare(folder, result, texts, started, sources, overrides)
        except OSError as e:
            write_error = e  # print the report anyway
    except (Exception, KeyboardInterrupt) as e:
        _compare_failed(folder, plan.scenarios, plan.seed, plan.replications, e, started, overrides, start)
    summary = compare_save.summary_document(result, started, sources, overrides)
    if fmt is Format.json:
        sys.stdout.write(output.dumps(result.to_json()) + "\n")
        for note in result.notes:
            info(f"note: {note}", quiet)
    else:
        print_compare(summary)
    warn(result.warnings, quiet, shown=early)
    if write_error is not None:
        raise Failed(f"cannot write results to {folder}: {write_error} (its earlier contents are kept)")
    from sim.cli.plot import finish  # here, not at the top: importing it registers `plot` (the order of --help)

    finish(folder, no_plots, quiet, result.runtime_s)


def _compare_failed(
    folder: Path,
    scenarios: list[Scenario],
    seed: int,
    replications: int,
    error: BaseException,
    started: str,
    overrides: dict[str, Any],
    start: float,
) -> NoReturn:
    """Record a comparison that raised or was interrupted, where it destroys nothing; raise what the command reports."""
    from sim.experiment.compare_save import write_compare_failure

    try:
        summary = write_compare_failure(
            folder, scenarios, seed, replications, error, started, overrides, time.perf_counter() - start
        )
        beside = "" if summary.parent == folder else f"; the earlier results in {folder}/ are kept"
        where = f"details in {summary}{beside}"
    except OSError as disk_error:
        where = f"and its summary could not be written: {disk_error}; {folder}/ is unchanged"
    if isinstance(error, KeyboardInterrupt):
        info(f"interrupted ({where})", quiet=False)
        raise error
    raise Failed(f"comparison failed: {type(error).__name__}: {error} ({where})") from error

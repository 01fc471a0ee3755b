"""``trainsim fit``: the fleet model fitted to an incident log, and its predictive check; thin like the rest.

The model is in ``sim.analysis.fleet_fit`` (and the modules it names), the check in
``sim.experiment.predict``, its chart in ``sim.plots.predict``, the printed forms in
``sim.cli.fit_output``. Bad input exits 2 with one line: a missing file or column, rows with a bad
time, an end before its start or a missing value (with their line or row numbers, unless
``--skip-bad``), an empty log, no incident in the window, ``--end`` not after ``--start``, ``--nodes``
below 1.
"""

from __future__ import annotations

import datetime as dt
import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli.app import BadInput, app, info, visible
from sim.cli.fit_log import TimeUnit, fit_notes, log_columns, log_warnings, time_option
from sim.config.errors import shown

if TYPE_CHECKING:
    import pandas as pd

    from sim.analysis.fleet_fit import FleetFit
    from sim.analysis.incidents import IncidentLog


class FitFormat(enum.StrEnum):
    """What ``trainsim fit --format`` prints on stdout."""

    text = "text"
    json = "json"
    toml = "toml"


class Scope(enum.StrEnum):
    """The scope of the fitted modes: what the log's ``node`` column and ``--nodes`` count."""

    node = "node"
    gpu = "gpu"


class HeterogeneityChoice(enum.StrEnum):
    """How nodes differ: tested and chosen (auto), or a model imposed."""

    auto = "auto"
    none = "none"
    gamma = "gamma"
    bad_nodes = "bad-nodes"


class FleetAge(enum.StrEnum):
    """The fleet at the window start: in steady state, or new."""

    stationary = "stationary"
    new = "new"


#: The largest fleet ``--nodes`` takes: silent nodes cost nothing to fit, but a count must stay a count.
MAX_NODES = 10**12
#: Largest work (replications x (nodes + expected faults)) a check spends; fewer replications above it,
#: and no check below MIN_CHECK_REPLICATIONS (about 10 s on one core).
MAX_CHECK_WORK = 4e7
MIN_CHECK_REPLICATIONS = 40
#: What ``--out`` writes.
OUT_FILES = ("fit.toml", "fit.json", "check_windows.csv", "check_histogram.csv", "check.png")


def _check(
    fit: FleetFit, data: IncidentLog, hours: float, check_end: dt.datetime | None, t0: dt.datetime,
    windows: int, replications: int, seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]] | str:  # fmt: skip
    """The predictive check's tables and what they are about, or why it was not run."""
    if check_end is None:
        start, span, where = 0.0, hours, "the fit window (in sample)"
    else:
        start = hours
        span = (check_end - t0).total_seconds() / 3600.0 - hours
        where = "after the fit window (out of sample)"
        if span <= 0:
            raise BadInput(f"--check-end {stamp(check_end)}: must be after --end")
    n = min(replications, int(MAX_CHECK_WORK / fit.work(start + span)))
    if n < min(MIN_CHECK_REPLICATIONS, replications):
        return f"predictive check skipped: {fit.nodes:,} nodes are too many to simulate here (--check-windows 0)"
    from pydantic import ValidationError

    from sim.experiment import predict

    length = span / windows
    try:
        seen = predict.observed(data.incidents, fit.nodes, start, length, windows)
        sim = predict.simulate(fit, length, windows, n, seed, start=start)
    except (ValidationError, ValueError) as e:
        return f"predictive check skipped: {str(e).splitlines()[0]}"
    starts = [start + i * length for i in range(windows)]
    about = {"span": where, "start_hours": start, "window_hours": length, "replications": n, "seed": seed}
    return predict.check_table(seen, sim, starts, length), predict.histogram_table(seen, sim), about


def stamp(t: dt.datetime) -> str:
    from sim.cli.fit_output import stamp as s

    return s(t)


@app.command("fit")
def fit_command(
    log: Annotated[
        Path,
        typer.Argument(
            metavar="LOG",
            help="Incident log: CSV, JSON (.json: an array of objects), JSON lines (.jsonl, .ndjson) or Parquet "
            "(.parquet) with columns timestamp (ISO 8601, UTC unless it has an offset; numbers with --time-unit), "
            "cause, node, and optionally the fault's end (--end-column), or start and end rows (--event-column); "
            "nested fields as outer.inner; other columns are ignored.",
            show_default=False,
        ),
    ],
    nodes: Annotated[
        int,
        typer.Option(
            "--nodes",
            help="Fleet size: every node observed over the window, including those absent from the log.",
            show_default=False,
        ),
    ],
    start: Annotated[
        str,
        typer.Option(
            "--start",
            metavar="TIME",
            help="Window start, e.g. 2024-07-01T00:00:00Z (a number with --time-unit).",
            show_default=False,
        ),
    ],
    end: Annotated[str, typer.Option("--end", metavar="TIME", help="Window end (after --start).", show_default=False)],
    fmt: Annotated[
        FitFormat,
        typer.Option(
            "--format",
            "-f",
            help='text: tables; json: one JSON object {"modes": [...], "heterogeneity": ..., "check": ...}; '
            "toml: the fleet model for a scenario ([cluster] fleet_age, [heterogeneity], [[failure]]).",
        ),
    ] = FitFormat.text,
    scope: Annotated[
        Scope,
        typer.Option(
            "--scope",
            help="Scope of the fitted modes; the node column and --nodes then count its instances (GPUs for gpu).",
        ),
    ] = Scope.node,
    skip_bad: Annotated[
        bool,
        typer.Option("--skip-bad", help="Fit without the bad rows (listed on stderr) instead of refusing the log."),
    ] = False,
    time_column: Annotated[
        str, typer.Option("--time-column", metavar="NAME", help="Column of each fault's start (nested: outer.inner).")
    ] = "timestamp",
    cause_column: Annotated[
        str, typer.Option("--cause-column", metavar="NAME", help="Column of the cause, e.g. fault_type.Class.")
    ] = "cause",
    node_column: Annotated[str, typer.Option("--node-column", metavar="NAME", help="Column of the node.")] = "node",
    end_column: Annotated[
        str | None,
        typer.Option(
            "--end-column", metavar="NAME", help="Column of each fault's end (the node back); optional [default: end]."
        ),
    ] = None,
    event_column: Annotated[
        str | None,
        typer.Option(
            "--event-column",
            metavar="NAME",
            help="A fault's start and end are separate rows, told apart "
            "by this column (--event-values); each end closes the open start of its node and cause.",
        ),
    ] = None,
    event_values: Annotated[
        str,
        typer.Option(
            "--event-values",
            metavar="START,END",
            help="Values of --event-column (or their last or first word, e.g. fault_start).",
        ),
    ] = "start,end",
    time_unit: Annotated[
        TimeUnit | None,
        typer.Option(
            "--time-unit", help="Times are numbers of this unit from --time-origin (also --start, --end, --check-end)."
        ),
    ] = None,
    time_origin: Annotated[
        str | None,
        typer.Option(
            "--time-origin",
            metavar="ISO",
            help="What numeric times count from [default: 1970-01-01T00:00:00Z, Unix time].",
        ),
    ] = None,
    heterogeneity: Annotated[
        HeterogeneityChoice,
        typer.Option(
            "--heterogeneity",
            help="auto: test the per-node counts for overdispersion, then gamma frailty or bad nodes by AIC; "
            "or impose one.",
        ),
    ] = HeterogeneityChoice.auto,
    fleet_age: Annotated[
        FleetAge,
        typer.Option("--fleet-age", help="stationary: a fleet in production; new: every node new at --start."),
    ] = FleetAge.stationary,
    check_windows: Annotated[
        int,
        typer.Option("--check-windows", min=0, max=1000, metavar="K", help="Windows of the predictive check; 0: none."),
    ] = 4,
    check_end: Annotated[
        str | None,
        typer.Option(
            "--check-end",
            metavar="TIME",
            help="Check the log between --end and this time (out of sample) instead of the fit window.",
        ),
    ] = None,
    check_replications: Annotated[
        int, typer.Option("--check-replications", min=1, max=100_000, metavar="N", help="Simulated fleets.")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the predictive check.")] = 0,
    chart: Annotated[
        Path | None, typer.Option("--chart", metavar="PATH", help="Write the check's chart (PNG or SVG).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="DIR", help=f"Write {', '.join(OUT_FILES)} into DIR."),
    ] = None,
) -> None:
    """Fit the fleet model of an incident log (heterogeneity, each cause's law, repair laws) and check it."""
    from rich.console import Console

    from sim.analysis.fleet_fit import fit_fleet
    from sim.analysis.incidents import FitError, read_log, window_hours
    from sim.cli import fit_output as show
    from sim.results import files as output

    if nodes < 1:
        raise BadInput(f"--nodes: must be at least 1, got {nodes}")
    if nodes > MAX_NODES:
        raise BadInput(f"--nodes: must be at most {MAX_NODES:.0e}, got {shown(nodes)}")
    columns = log_columns(time_column, cause_column, node_column, end_column, event_column, event_values, time_unit,
                       time_origin)  # fmt: skip
    t0, t1 = time_option("--start", start, columns), time_option("--end", end, columns)
    t2 = None if check_end is None else time_option("--check-end", check_end, columns)
    try:
        hours = window_hours(t0, t1)
        data = read_log(log, t0, columns)
        # Warnings wait for the fit: a refused log gets its one error line and nothing else.
        warnings = log_warnings(log, data, hours, skip_bad)
        fit = fit_fleet(data.incidents, nodes, hours, heterogeneity=heterogeneity.value,
                        stationary=fleet_age is FleetAge.stationary)  # fmt: skip
    except FitError as e:
        raise BadInput(str(e)) from None
    check = None
    if check_windows:
        check = _check(fit, data, hours, t2, t0, check_windows, check_replications, seed)
    for warning in [*warnings, *fit_notes(log, fit, data.unit)] + ([check] if isinstance(check, str) else []):
        info(warning, quiet=False)
    name = log.name
    doc = {
        "log": str(log),
        "scope": scope.value,
        "window": {"start": show.stamp(t0), "end": show.stamp(t1), "hours": hours},
        **fit.to_json(),
    }
    toml = show.toml_text(fit, name, t0, t1, scope.value)
    about = {"scenario": f"fit of {name}: {nodes:,} {scope.value}s", "seed": seed}
    if isinstance(check, tuple):
        windows_t, hist_t, what = check
        doc["check"] = show.check_json(windows_t, hist_t, what)
        about["replications"] = what["replications"]
        footnote = (f"Checked: {what['span']}. Simulated by the simulator's own clocks from the fitted keys, "
                    "the parameters drawn from their sampling law in each replication.")  # fmt: skip
        from sim.plots.predict import write_check_chart

        if chart is not None:
            write_check_chart(chart, windows_t, hist_t, about, footnote)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        output.atomic_write_text(out / "fit.toml", toml)
        output.atomic_write_text(out / "fit.json", output.dumps(doc, indent=2) + "\n")
        if isinstance(check, tuple):
            output.atomic_write_text(out / "check_windows.csv", windows_t.to_csv(index=False))
            output.atomic_write_text(out / "check_histogram.csv", hist_t.to_csv(index=False))
            write_check_chart(out / "check.png", windows_t, hist_t, about, footnote)
    if fmt is FitFormat.json:
        sys.stdout.write(output.dumps(doc) + "\n")
    elif fmt is FitFormat.toml:
        sys.stdout.write(toml)
    else:
        console = Console()
        for table in show.modes_tables(fit, name, scope.value, console):
            console.print(table)
        for f in fit.modes:
            for note in (f.note, f"repairs: {f.repair.note}" if f.repair and f.repair.note else ""):
                if note:
                    console.print(f"{visible(f.name)}: {note}", markup=False, highlight=False)
        console.print(f"Heterogeneity: {show.heterogeneity_summary(fit.heterogeneity)}", markup=False,
                      highlight=False)  # fmt: skip
        if isinstance(check, tuple):
            for table in show.check_tables(windows_t, hist_t, f"Predictive check: {what['span']}, "
                                           f"{what['replications']} simulated fleets"):  # fmt: skip
                console.print(table)

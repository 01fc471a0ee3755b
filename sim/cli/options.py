"""The options several commands share, each declared once as an ``Annotated`` type (``SetOpt``, ``SeedOpt``, ...).

A command takes one as ``set_: SetOpt = None``; its default stays in the command's signature. Where
the help of an option names what differs between commands (what a results folder holds, what one
replication count covers), a function builds the option from that part alone.

>>> out_option("summary.json", "<scenario name>").help
'Results folder: summary.json. Default: results/<scenario name>/.'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sim.cli.app import Format
from sim.config.limits import DEFAULT_MAX_EVENTS, DEFAULT_MAX_POINTS
from sim.results.schema import OBJECTIVES


def out_option(files: str, default: str) -> Any:
    """``--out DIR``: the results folder holds ``files``; by default it is ``results/<default>/``."""
    return typer.Option(
        "--out", "-o", metavar="DIR", help=f"Results folder: {files}. Default: results/{default}/.", show_default=False
    )


def replications_option(each: str, scenario: str = "the scenario's") -> Any:
    """``--replications``: ``each`` says what the count is per; the default is ``scenario`` run.replications."""
    return typer.Option(
        "--replications", "-n", help=f"{each}. Default: {scenario} run.replications.", show_default=False
    )


def seed_option(what: str, scenario: str = "the scenario's") -> Any:
    """``--seed``: ``what`` describes it; the default is ``scenario`` run.seed."""
    return typer.Option("--seed", help=f"{what}. Default: {scenario} run.seed.", show_default=False)


ScenarioArg = Annotated[
    Path,
    typer.Argument(metavar="SCENARIO", help="Scenario file (TOML), e.g. scenarios/h100_100k.toml.", show_default=False),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help=(
            "Override one scenario key, in the key's own unit, e.g. checkpoint.interval_minutes=20 or "
            "cluster.gpus=16384; values are TOML literals (numbers, true/false, strings); repeatable."
        ),
        show_default=False,
    ),
]
#: ``trainsim run``'s replications; a sweep's and a comparison's are paired across points or scenarios.
ReplicationsOpt = Annotated[int | None, replications_option("Independent replications (count, at least 1)")]
PointReplicationsOpt = Annotated[
    int | None, replications_option("Replications per point (at least 1), paired across points")
]
ScenarioReplicationsOpt = Annotated[
    int | None,
    replications_option("Replications per scenario, paired across scenarios", "the first scenario's"),
]
SeedOpt = Annotated[int | None, seed_option("Root random seed (integer, 0 or more); same seed, same results")]
ScenariosSeedOpt = Annotated[
    int | None, seed_option("Root random seed of every scenario (0 or more)", "the first scenario's")
]
#: Worker processes on this machine: one by default (``run``, ``compare``).
JobsOpt = Annotated[
    int,
    typer.Option("--jobs", "-j", help="Worker processes for the replications; results are identical for any value."),
]
#: Worker processes of a search over points (``sweep``, ``optimize``): every core by default.
AllCoresJobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        help="Worker processes (default: all cores); results are identical for any value.",
        show_default=False,
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Run on an existing Dask scheduler, e.g. tcp://10.0.0.1:8786 (needs the dask extra of trainsim); "
        "results are identical to local processes.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="text: tables for people; json: exactly one JSON object on stdout, for programs."
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress, information, notes or warnings on stderr.")]
NoPlotsOpt = Annotated[
    bool,
    typer.Option(
        "--no-plots",
        help="Do not draw the charts and report.html at the end (trainsim plot DIR draws them later).",
    ),
]
MaxEventsOpt = Annotated[
    int,
    typer.Option(
        "--max-events",
        metavar="N",
        min=1,
        help=(
            "Refuse, before any work, a scenario (or any point of a sweep) whose replications expect more than N "
            "events each: failures of every server, spares included (instances x horizon / MTBF per failure "
            "mode; a rack or switch failure counts once per server under it), and maintenance windows. "
            f"Default {DEFAULT_MAX_EVENTS:,}: about 25 s and 0.4 GB per replication when they all hit the job."
        ),
        show_default=False,
    ),
]
MaxPointsOpt = Annotated[
    int,
    typer.Option(
        "--max-points",
        metavar="N",
        min=1,
        help=(
            f"Refuse a grid of more than N points (all --param values combined), counted before any value "
            f"is built. Default {DEFAULT_MAX_POINTS:,}."
        ),
        show_default=False,
    ),
]
#: What ranks the points of a sweep or a search.
ObjectiveOpt = Annotated[
    str,
    typer.Option(
        "--objective",
        help=(
            f"What ranks the points: {', '.join(OBJECTIVES)}. The highest mean is best, except for "
            "time_to_train, cost_to_train, cost_per_exaflop and total_cost (the lowest); time_to_train and "
            "cost_to_train need a target (run.target_flop, run.target_tokens or run.target_compute_days)."
        ),
    ),
]
#: What ``--precision`` is about, in a run or a comparison.
PrecisionObjectiveOpt = Annotated[
    str,
    typer.Option(
        "--objective",
        help=(
            "The metric --precision and --rel-precision apply to (in every scenario of a comparison): "
            f"{', '.join(OBJECTIVES)}."
        ),
    ),
]
PrecisionOpt = Annotated[
    float | None,
    typer.Option(
        "--precision",
        metavar="HALF_WIDTH",
        help=(
            "Add replications until the 95% CI of the objective's mean is within +- HALF_WIDTH, in the metric's "
            "unit (0.002 = 0.2 points of ETTR); results are the same for any --jobs. Instead of --replications."
        ),
        show_default=False,
    ),
]
RelPrecisionOpt = Annotated[
    float | None,
    typer.Option(
        "--rel-precision",
        metavar="FRACTION",
        help="As --precision, relative to the mean: 0.01 = +- 1% of the objective's mean.",
        show_default=False,
    ),
]
MinReplicationsOpt = Annotated[
    int | None,
    typer.Option(
        "--min-replications",
        metavar="N",
        help="With --precision: replications before the target is first checked (default 10, at least 2).",
        show_default=False,
    ),
]
MaxReplicationsOpt = Annotated[
    int | None,
    typer.Option(
        "--max-replications",
        metavar="N",
        help="With --precision: the most replications (default 1000); the report says when it stopped short.",
        show_default=False,
    ),
]

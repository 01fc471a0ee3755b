"""The ``trainsim`` command (also ``python -m sim``): thin; it parses, calls the API, prints.

Exit codes: 0 done; 2 bad input (one line on stderr naming the key and the problem, no
traceback); 1 anything else (a failed simulation still leaves a ``summary.json``), an
interrupt included. Reports go to stdout, progress and information to stderr.

>>> main(["check", "no/such/file.toml"])
2
"""

from __future__ import annotations

import enum
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

import sim.experiment.runner
from sim.analysis.analytic import interval_seconds
from sim.analysis.estimates import check_report
from sim.config.scenario import Scenario, ScenarioError, load_scenario, parse_assignment
from sim.config.version import VERSION
from sim.experiment import save
from sim.experiment.sweeps import SweepError
from sim.report import terminal as report
from sim.results import files as output

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# DESIGN.md: 1 for anything that is neither done nor bad input, an interrupt included.
EXIT_INTERRUPTED = EXIT_FAILED
# typer (0.29 and later) turns Ctrl-C in a command into Exit(130), which main() receives as a return value.
TYPER_INTERRUPTED = 130


class BadInput(Exception):
    """A command-line value that cannot be used (exit code 2)."""


class Failed(Exception):
    """A run that went wrong after its input was accepted (exit code 1)."""


class Format(enum.StrEnum):
    """What ``--format`` prints on stdout."""

    text = "text"
    json = "json"


app = typer.Typer(
    name="trainsim",
    help=(
        "Simulate a long LLM training run on a large GPU cluster: failures, checkpoints, restarts, "
        "repairs, and the compute they cost. Exit codes: 0 done, 2 bad input, 1 anything else."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

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
NoPlotsOpt = Annotated[
    bool,
    typer.Option(
        "--no-plots",
        help="Do not draw the charts and report.html at the end (trainsim plot DIR draws them later).",
    ),
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="text: tables for people; json: exactly one JSON object on stdout, for programs."
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trainsim {VERSION}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Simulate a long LLM training run on a large GPU cluster."""


def _info(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"trainsim: {message}", file=sys.stderr, flush=True)


def _overrides(assignments: Sequence[str] | None) -> dict[str, Any]:
    """``--set KEY=VALUE`` options as a dict; a later value for a key wins."""
    return dict(parse_assignment(a) for a in assignments or ())


def _load(path: Path, overrides: dict[str, Any]) -> tuple[Scenario, bytes]:
    """The validated scenario and the file's bytes (for the copy in the results folder)."""
    scenario = load_scenario(path, overrides)
    # The policy's interval can be impossible (young/daly with a zero write time): bad input, not a crash.
    try:
        interval_seconds(scenario)
    except ScenarioError as e:
        raise ScenarioError(f"{path}: {e}") from None
    return scenario, path.read_bytes()


def _prepare_out(out: Path | None, scenario: Scenario) -> Path:
    """The results folder, created now so a bad ``--out`` fails before the simulation, not after."""
    folder = output.default_out_dir(scenario) if out is None else out
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"--out {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"--out {folder}: cannot create the folder: {e.strerror}") from None
    return folder


@app.command("run")
def run_command(
    scenario_path: ScenarioArg,
    set_: SetOpt = None,
    replications: Annotated[
        int | None,
        typer.Option(
            "--replications",
            "-n",
            help="Independent replications (count, at least 1). Default: the scenario's run.replications.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Root random seed (integer, 0 or more); same seed, same results. Default: the scenario's run.seed.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", help="Worker processes for the replications; results are identical for any value."
        ),
    ] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help=(
                "Results folder: summary.json, runs.parquet, events.parquet, scenario.toml. "
                "Default: results/<scenario name>/."
            ),
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = Format.text,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress, information or warnings on stderr.")
    ] = False,
    no_plots: NoPlotsOpt = False,
) -> None:
    """Simulate a scenario: print the report, write the results folder, its charts and report.html."""
    if replications is not None and replications < 1:
        raise BadInput(f"--replications: must be at least 1, got {replications}")
    if seed is not None and seed < 0:
        raise BadInput(f"--seed: must be 0 or more, got {seed}")
    if jobs < 1:
        raise BadInput(f"--jobs: must be at least 1, got {jobs}")
    overrides = _overrides(set_)
    # --replications and --seed become part of the scenario, so the recorded scenario is what ran.
    effective = dict(overrides)
    if replications is not None:
        effective["run.replications"] = replications
    if seed is not None:
        effective["run.seed"] = seed
    scenario, text = _load(scenario_path, effective)
    n, root = scenario.run.replications, scenario.run.seed
    folder = _prepare_out(out, scenario)

    _info(
        f"simulating {n} replication{'s' if n != 1 else ''} of {scenario.name} "
        f"(seed {root}, {jobs} process{'es' if jobs != 1 else ''})",
        quiet,
    )
    started = output.utc_now()
    start = time.perf_counter()
    err_console = Console(stderr=True)
    try:
        # The spinner is a thread; forking worker processes under a live thread risks deadlocks.
        if err_console.is_terminal and not quiet and jobs == 1:
            with err_console.status("simulating..."):
                result = sim.experiment.runner.run(scenario, replications=n, seed=root, jobs=jobs)
        else:
            result = sim.experiment.runner.run(scenario, replications=n, seed=root, jobs=jobs)
    except (Exception, KeyboardInterrupt) as e:
        elapsed = time.perf_counter() - start
        try:
            summary = output.write_failure(folder, scenario, root, n, e, text, started, overrides, elapsed)
            where = f"details in {summary}"
        except OSError as disk_error:  # report the simulation's error, not only the disk's
            where = f"and its summary could not be written: {disk_error}"
        if isinstance(e, KeyboardInterrupt):
            _info(f"interrupted ({where})", quiet=False)
            raise
        raise Failed(f"simulation failed: {type(e).__name__}: {e} ({where})") from e

    write_error: OSError | None = None
    try:
        save.write_results(folder, result, text, started, overrides)
    except OSError as e:
        write_error = e  # print the report anyway: the simulation's work is not lost with the files

    if fmt is Format.json:
        sys.stdout.write(output.dumps(result.to_json()) + "\n")
        for w in result.warnings:
            _info(f"warning: {w}", quiet)
    else:
        report.print_report(result, Console())
    if write_error is not None:
        raise Failed(f"cannot write results to {folder}: {write_error}")
    if not no_plots:
        from sim.cli.plot import draw_after  # imports matplotlib: only when drawing

        draw_after(folder, quiet)
    _info(f"results in {folder}/ ({result.runtime_s:.2f} s)", quiet)


@app.command("check")
def check_command(scenario_path: ScenarioArg, set_: SetOpt = None, fmt: FormatOpt = Format.text) -> None:
    """Validate a scenario and print its analytic view: job MTBF by cause, Young and Daly intervals, ETTR."""
    scenario, _ = _load(scenario_path, _overrides(set_))
    data = check_report(scenario)
    if fmt is Format.json:
        sys.stdout.write(output.dumps(data) + "\n")
    else:
        report.print_check(data, Console())


def _click_class(name: str) -> type[Exception]:
    """The click exception class ``name`` that typer raises (typer 0.29 and later vendor their own click)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name and issubclass(cls, Exception):
            return cls
    raise LookupError(name)


_USAGE_ERROR = _click_class("UsageError")
_CLICK_EXCEPTION = _click_class("ClickException")


def _message(e: Exception) -> str:
    format_message = getattr(e, "format_message", None)
    return str(format_message()) if callable(format_message) else str(e)


def _error(message: str) -> None:
    # One line: the first line of the message, so a multi-line library error cannot flood the terminal.
    first = str(message).strip().splitlines()[0] if str(message).strip() else "unknown error"
    print(f"trainsim: error: {first}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=list(argv) if argv is not None else None, prog_name="trainsim", standalone_mode=False)
    except _USAGE_ERROR as e:
        ctx: Any = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError":
            # typer's rich help prints itself and returns ""; plain click returns the text.
            text = ctx.get_help() if ctx else str(e)
            if text:
                print(text)
        else:
            _error(f"{_message(e)} (see '{ctx.command_path if ctx else 'trainsim'} --help')")
        return EXIT_BAD_INPUT
    except _CLICK_EXCEPTION as e:
        _error(_message(e))
        return int(getattr(e, "exit_code", EXIT_FAILED))
    except typer.Abort:
        return EXIT_INTERRUPTED
    except (ScenarioError, SweepError, BadInput) as e:
        _error(str(e))
        return EXIT_BAD_INPUT
    except Failed as e:
        _error(str(e))
        return EXIT_FAILED
    except Exception as e:
        # Not bad input but a bug or an environment problem: the traceback is what a bug report needs.
        traceback.print_exc()
        _error(f"{type(e).__name__}: {e}")
        return EXIT_FAILED
    if rv == TYPER_INTERRUPTED:
        return EXIT_INTERRUPTED
    return rv if isinstance(rv, int) else EXIT_OK

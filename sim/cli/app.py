"""The ``trainsim`` command (also ``python -m sim``): thin; it parses, calls the API, prints.

Exit codes: 0 done; 2 bad input (one line on stderr naming the key and the problem, no
traceback); 130 interrupted (Ctrl-C; earlier results are kept); 1 anything else (a failed
simulation still leaves a ``summary.json``). Reports go to stdout, progress and information to
stderr. Command modules import the model and the libraries inside their commands, so that
``--help`` and ``--version`` start fast.

>>> main(["check", "no/such/file.toml"])
2
"""

from __future__ import annotations

import enum
import sys
import traceback
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from sim.config.errors import InputError
from sim.config.version import VERSION

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: Ctrl-C, as shells report a process ended by SIGINT (128 + 2); typer returns it from a command, too.
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """An error reported in one line, with the exit code it carries (as click's own errors do)."""

    exit_code = EXIT_FAILED

    def format_message(self) -> str:
        return str(self)


class BadInput(CommandError):
    """A command-line value that cannot be used."""

    exit_code = EXIT_BAD_INPUT


class Failed(CommandError):
    """A run that went wrong after its input was accepted."""

    exit_code = EXIT_FAILED


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


def info(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"trainsim: {message}", file=sys.stderr, flush=True)


def warn(lines: Iterable[str], quiet: bool, shown: Collection[str] = ()) -> None:
    """Print each warning on stderr in one line (``--quiet`` silences them), but those already ``shown``."""
    for line in lines:
        if line not in shown:
            info(f"warning: {visible(line)}", quiet)


def parse_overrides(assignments: Sequence[str] | None) -> dict[str, Any]:
    """``--set KEY=VALUE`` options as a dict; a later value for a key wins."""
    from sim.config.loading import parse_assignment

    return dict(parse_assignment(a) for a in assignments or ())


def check_replaceable(folder: Path, ours: Collection[str], command: str) -> None:
    """Refuse an ``--out`` that replacing the whole folder would harm: the current folder (or one
    holding it), or a folder with files that ``command`` did not write (``ours`` names those it does)."""
    from sim.results import staging

    here = Path.cwd()
    if folder.resolve() in (here, *here.parents):
        raise BadInput(f"--out {folder}: is the current folder or holds it; choose a folder of its own for the results")
    others = staging.strangers(folder, ours)
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise BadInput(f"--out {folder}: holds files that {command} did not write ({shown}); choose another --out")


def precision_target(
    half_width: float | None,
    relative: float | None,
    objective: str,
    min_replications: int | None,
    max_replications: int | None,
    replications: int | None,
) -> Any:
    """The ``Precision`` of ``--precision`` or ``--rel-precision`` and their bounds, or ``None`` without one.

    Bad input (both targets, bounds without a target, a target with ``--replications``) raises.
    """
    if half_width is None and relative is None:
        for name, value in (("--min-replications", min_replications), ("--max-replications", max_replications)):
            if value is not None:
                raise BadInput(f"{name}: only with --precision or --rel-precision")
        return None
    if half_width is not None and relative is not None:
        raise BadInput("--precision and --rel-precision: give one of them")
    if replications is not None:
        raise BadInput("--replications: not with --precision or --rel-precision (they choose the count)")
    from sim.experiment.precision import DEFAULT_MAX, DEFAULT_MIN
    from sim.experiment.precision import precision_target as target

    lo = DEFAULT_MIN if min_replications is None else min_replications
    hi = max(DEFAULT_MAX, lo) if max_replications is None else max_replications
    return target(half_width, relative, objective, lo, hi)


def check_out(folder: Path, ours: Collection[str], command: str) -> None:
    """Refuse an ``--out`` that ``command`` cannot replace whole (not a folder, the current folder, a folder with
    files it did not write), creating nothing; finish a swap into it that was cut short."""
    from sim.results import staging

    try:
        if folder.exists() and not folder.is_dir():
            raise BadInput(f"--out {folder}: exists and is not a folder")
        check_replaceable(folder, ours, command)
        staging.tidy(folder)
    except OSError as e:  # a name too long, a folder that cannot be read
        raise BadInput(f"--out {folder}: cannot use the folder: {e.strerror}") from None


#: The longest error line printed: a message that quotes a huge value must not flood the terminal.
MAX_ERROR_CHARS = 400


def one_line(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    r"""The first line of ``message``, cut to ``limit`` characters, with control characters made visible.

    >>> one_line("bad \x1b[31m key")
    'bad \\x1b[31m key'
    >>> len(one_line("y" * 500)), one_line("first\nsecond")
    (400, 'first')
    """
    text = str(message).strip()
    first = visible(text.splitlines()[0] if text else "unknown error")
    return first if len(first) <= limit else first[: limit - 1] + "…"


def visible(text: str) -> str:
    r"""``text`` with control characters shown as escapes: codes from a log or a file name would act on the terminal.

    >>> visible("GPU\x1b[2J")
    'GPU\\x1b[2J'
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _error(message: str) -> None:
    print(f"trainsim: error: {one_line(message)}", file=sys.stderr, flush=True)


#: The options of the library's arguments, for errors about them (``InputError.argument`` and ``.limit``).
_OPTIONS = {
    "params": "--param",
    "range": "--range",
    "scheduler": "--scheduler",
    "replications": "--replications",
    "seed": "--seed",
    "jobs": "--jobs",
    "objective": "--objective",
    "precision": "--precision",
    "rel_precision": "--rel-precision",
    "min_replications": "--min-replications",
    "max_replications": "--max-replications",
    "max_points": "--max-points",
    "max_events": "--max-events",
    "variants": "--variant",
}


def in_option_words(error: InputError) -> str:
    """A library error in the command line's words: the options of the arguments it is about.

    >>> from sim.config.errors import SweepError
    >>> in_option_words(SweepError("checkpoint.interval_minutes: no values", "params"))
    '--param checkpoint.interval_minutes: no values'
    >>> in_option_words(SweepError("a grid of 20,000 points, above the limit of 10,000", limit="max_points"))
    'a grid of 20,000 points, above the limit of 10,000 (--max-points raises the limit)'
    """
    text = str(error)
    if error.argument in _OPTIONS:
        text = f"{_OPTIONS[error.argument]} {text}"
    if error.limit in _OPTIONS:
        text += f" ({_OPTIONS[error.limit]} raises the limit)"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=list(argv) if argv is not None else None, prog_name="trainsim", standalone_mode=False)
    except InputError as e:
        _error(in_option_words(e))
        return EXIT_BAD_INPUT
    except (typer.Abort, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    except Exception as e:
        code = getattr(e, "exit_code", None)
        if isinstance(code, int) and callable(getattr(e, "format_message", None)):
            return _reported(e, code)  # click's errors and ours carry their exit code and message
        # Not bad input but a bug or an environment problem: the traceback is what a bug report needs.
        traceback.print_exc()
        _error(f"{type(e).__name__}: {e}")
        return EXIT_FAILED
    return rv if isinstance(rv, int) else EXIT_OK


def _reported(e: Any, code: int) -> int:
    """Print a click or command error in one line (or the help it stands for) and return its exit code."""
    ctx: Any = getattr(e, "ctx", None)
    if type(e).__name__ == "NoArgsIsHelpError":
        # typer's rich help prints itself and returns ""; plain click returns the text.
        text = ctx.get_help() if ctx else str(e)
        if text:
            print(text)
    elif ctx is not None and code == EXIT_BAD_INPUT:
        _error(f"{e.format_message()} (see '{ctx.command_path} --help')")
    else:
        _error(str(e.format_message()))
    return code

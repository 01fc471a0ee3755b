"""``trainsim fit``: failure modes fitted to an incident log; registered on ``sim.cli.app.app``, thin like the rest.

The model and its assumptions are in ``sim.analysis.fit``. Bad input exits 2 with one line: a missing file
or column, rows with a bad time, a time outside the window or a missing value (with their line
numbers, unless ``--skip-bad``), an empty log, ``--end`` not after ``--start``, ``--nodes`` below 1.

>>> print(failure_block_number(1234.5678), failure_block_number(0.71234, 3))
1235.0 0.712
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.app import BadInput, app, info, visible
from sim.config.errors import shown

if TYPE_CHECKING:
    from rich.table import Table

    from sim.analysis.fit import ModeFit


class FitFormat(enum.StrEnum):
    """What ``trainsim fit --format`` prints on stdout."""

    text = "text"
    json = "json"
    toml = "toml"


class Scope(enum.StrEnum):
    """The scope of the fitted modes: what the log's ``node`` column and ``--nodes`` count."""

    node = "node"
    gpu = "gpu"


REPAIR_HOURS = 72.0
#: The largest fleet ``--nodes`` takes: silent nodes cost nothing to fit, but a count must stay a count.
MAX_NODES = 10**12


def failure_block_number(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, as a TOML float."""
    return repr(float(f"{x:.{digits}g}"))


def _stamp(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _time_option(name: str, text: str) -> dt.datetime:
    from sim.analysis.fit import parse_time

    try:
        return parse_time(text)
    except ValueError:
        raise BadInput(f"{name} {shown(text)}: not an ISO 8601 time, e.g. 2024-07-01T00:00:00Z") from None


def _num(x: float) -> str:
    """Hours to the hour from 100 to a million, else three significant digits."""
    return f"{x:,.0f}" if 100 <= x < 1e6 else f"{x:.3g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _ci(pair: Sequence[float]) -> str:
    return f"{_num(pair[0])}-{_num(pair[1])}"


def toml_blocks(
    fits: Sequence[ModeFit], log_name: str, nodes: int, start: dt.datetime, end: dt.datetime, scope: Scope
) -> str:
    """Ready-to-paste ``[[failure]]`` blocks, one per cause, each with a comment on its fit."""
    from sim.analysis.fit import ALPHA

    window = f"{_stamp(start)}..{_stamp(end)}"
    events = sum(f.events for f in fits)
    lines = [
        f"# Fitted by trainsim fit from {log_name}: {_plural(events, 'event')}, {_plural(nodes, scope.value)}, "
        f"window {window}.",
        f"# Each {scope.value} a renewal process per cause; Weibull only where the likelihood-ratio test "
        f"against exponential gives p < {ALPHA:g}.",
    ]
    for f in fits:
        w = f.weibull
        ci = w.mtbf_ci95 if f.distribution == "weibull" else f.exponential.ci95
        lines += [
            "",
            f"# {f.name}: {_plural(f.events, 'event')} on {_plural(f.nodes_with_events, scope.value)}; "
            f"MTBF 95% CI {_ci(ci)} h; Weibull shape {w.shape:.3g} (95% CI {_ci(w.shape_ci95)}), "
            f"likelihood-ratio p = {f.lr_p_value:.3g}",
            *([f"# {f.name}: {f.note}"] if f.note else []),
            "[[failure]]",
            f"name = {json.dumps(f.name, ensure_ascii=False)}",
            f'scope = "{scope.value}"',
            f"mtbf_hours = {failure_block_number(f.mtbf_hours)}",
            f'distribution = "{f.distribution}"',
        ]
        if f.distribution == "weibull":
            lines.append(f"shape = {failure_block_number(f.shape, 3)}")
        source = f"fitted from {log_name}: {_plural(f.events, 'event')}, window {window}"
        lines += [
            'action = "replace"',
            f"repair_hours = {REPAIR_HOURS!r}  # assumed: set your own",
            f"source = {json.dumps(source, ensure_ascii=False)}",
        ]
    return "\n".join(lines) + "\n"


def _table(fits: Sequence[ModeFit], log_name: str, nodes: int, hours: float, scope: Scope) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from sim.analysis.fit import ALPHA

    table = Table(
        title=Text(f"Failure modes fitted from {visible(log_name)}: {nodes} {scope.value}s, {hours:,.1f} h window"),
        caption=f"shape: of the Weibull fit, whatever the law; Weibull only if LR p < {ALPHA:g}",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
        show_edge=False,
    )
    for name in ("cause", "events", f"{scope.value}s", "law", "MTBF h", "95% CI", "shape", "95% CI", "LR p"):
        table.add_column(name, justify="left" if name in ("cause", "law") else "right")
    for f in fits:
        w = f.weibull
        ci = w.mtbf_ci95 if f.distribution == "weibull" else f.exponential.ci95
        table.add_row(
            Text(visible(f.name)),  # a cause name is data: no markup, no escape codes
            str(f.events),
            str(f.nodes_with_events),
            f.distribution,
            _num(f.mtbf_hours),
            _ci(ci),
            f"{w.shape:.3g}",
            _ci(w.shape_ci95),
            f"{f.lr_p_value:.2g}",
        )
    return table


@app.command("fit")
def fit_command(
    log: Annotated[
        Path,
        typer.Argument(
            metavar="LOG.csv",
            help="Incident log: CSV with columns timestamp (ISO 8601, UTC unless it has an offset), cause, node; "
            "other columns are ignored.",
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
        str, typer.Option("--start", metavar="ISO", help="Window start, e.g. 2024-07-01T00:00:00Z.", show_default=False)
    ],
    end: Annotated[str, typer.Option("--end", metavar="ISO", help="Window end (after --start).", show_default=False)],
    fmt: Annotated[
        FitFormat,
        typer.Option(
            "--format",
            "-f",
            help='text: a table; json: one JSON object {"modes": [...]}; toml: failure blocks for a scenario.',
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
) -> None:
    """Fit each cause of an incident log: exponential or Weibull, by maximum likelihood with censoring."""
    from rich.console import Console

    from sim.analysis.fit import FitError, describe_lines, fit_log, read_log, window_hours
    from sim.results import files as output

    if nodes < 1:
        raise BadInput(f"--nodes: must be at least 1, got {nodes}")
    if nodes > MAX_NODES:
        raise BadInput(f"--nodes: must be at most {MAX_NODES:.0e}, got {shown(nodes)}")
    t0, t1 = _time_option("--start", start), _time_option("--end", end)
    try:
        hours = window_hours(t0, t1)
        data = read_log(log, t0, t1)
        # Warnings wait for the fit: a refused log gets its one error line and nothing else.
        warnings: list[str] = []
        if data.bad:
            n = len(data.bad)
            listed = f"{n} bad row{'s' if n != 1 else ''}: {describe_lines(data.bad)}"
            if not skip_bad:
                raise BadInput(f"{log}: {listed} (fix them, or pass --skip-bad to fit without them)")
            warnings.append(f"warning: {log}: skipped {listed}")
        if data.duplicates:
            lines = ", ".join(str(line) for line in data.duplicates[:10])
            more = "..." if len(data.duplicates) > 10 else ""
            warnings.append(f"warning: {log}: dropped {len(data.duplicates)} repeated rows (lines {lines}{more})")
        if not data.incidents:
            skipped = f" ({len(data.bad)} bad rows skipped)" if data.bad else ""
            raise BadInput(f"{log}: no usable incidents to fit{skipped}")
        fits = fit_log(data.incidents, nodes, hours)
    except FitError as e:
        raise BadInput(str(e)) from None
    for warning in warnings:
        info(warning, quiet=False)
    name = log.name
    if fmt is FitFormat.json:
        doc = {
            "log": str(log),
            "nodes": nodes,
            "scope": scope.value,
            "window": {"start": _stamp(t0), "end": _stamp(t1), "hours": hours},
            "events": sum(f.events for f in fits),
            "modes": [f.to_json() for f in fits],
        }
        sys.stdout.write(output.dumps(doc) + "\n")
    elif fmt is FitFormat.toml:
        sys.stdout.write(toml_blocks(fits, name, nodes, t0, t1, scope))
    else:
        console = Console()
        console.print(_table(fits, name, nodes, hours, scope))
        for f in fits:
            if f.note:
                console.print(f"{visible(f.name)}: {f.note}", markup=False, highlight=False)

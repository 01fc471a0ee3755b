"""``trainsim plot``, and the charts that ``trainsim run`` and ``trainsim sweep`` draw when they finish.

Charts and ``report.html`` are drawn from the files of a complete results folder, so they can be
drawn again at any time. When ``run`` or ``sweep`` draws them, its results are already written:
a chart that fails then costs a warning on stderr, not the exit code, since the simulation did
what was asked and ``trainsim plot`` can draw the charts later.

matplotlib is imported only when something is drawn: ``trainsim check`` and ``--no-plots`` runs
do not pay for it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.app import BadInput, app, info, one_line

#: Failure causes a run's charts name before "other", and the most they can (sim.plots.causes.TOP and
#: MAX_TOP; repeated here so that `trainsim --help` does not import matplotlib).
CAUSES = 8
MAX_CAUSES = 9

if TYPE_CHECKING:
    from sim.results.folder import CompareFolder, RunFolder, SweepFolder


def draw(folder: RunFolder | SweepFolder | CompareFolder, svg: bool = False, causes: int = CAUSES) -> list[Path]:
    """Write the folder's charts, then ``report.html`` (which embeds them); return the paths written.

    ``causes``: the failure causes a run's charts name before summing the rest as "other".
    """
    from sim.report.draw import draw_folder

    return draw_folder(folder, svg, causes)


def draw_after(folder_path: Path, quiet: bool) -> list[Path]:
    """Draw the charts at the end of ``run`` or ``sweep``; on failure warn (even with --quiet) and go on."""
    from sim.results.folder import load

    try:
        return draw(load(folder_path))
    except Exception as e:
        # The results are written and complete: losing a chart must not turn the run into a failure.
        print(
            one_line(
                f"trainsim: warning: charts and report.html not written ({type(e).__name__}: {one_line(str(e), 100)}); "
                f"the results are complete: retry with trainsim plot {folder_path}"
            ),
            file=sys.stderr,
            flush=True,
        )
        return []


def finish(folder: Path, no_plots: bool, quiet: bool, seconds: float) -> None:
    """The end of ``run``, ``sweep`` and ``compare``: the charts (unless ``--no-plots``), then where the results are."""
    if not no_plots:
        draw_after(folder, quiet)
    info(f"results in {folder}/ ({seconds:.2f} s)", quiet)


@app.command("plot")
def plot_command(
    results_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RESULTS_DIR",
            help="A folder written by trainsim run, sweep or compare (it has summary.json).",
            show_default=False,
        ),
    ],
    svg: Annotated[bool, typer.Option("--svg", help="Also write each chart as SVG, next to its PNG.")] = False,
    causes: Annotated[
        int,
        typer.Option(
            "--causes",
            metavar="N",
            min=1,
            max=MAX_CAUSES,
            help=f"Failure causes a run's charts name (1-{MAX_CAUSES}); the rest are summed as 'other'.",
        ),
    ] = CAUSES,
) -> None:
    """Draw the charts (PNG, 1440 x 810 px, 16:9) and report.html of a results folder; print their paths."""
    from sim.results.folder import NotResults, load

    try:
        folder = load(results_dir)
    except NotResults as e:
        raise BadInput(str(e)) from None
    try:
        paths = draw(folder, svg, causes)
    except OSError as e:  # a read-only folder, a full disk: the folder given cannot take the charts
        raise BadInput(f"{results_dir}: cannot write the charts: {e.strerror or e}") from None
    for path in paths:
        print(path)

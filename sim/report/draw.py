"""Drawing a results folder: its charts, then ``report.html`` (which embeds them), from the folder's files alone.

What ``trainsim plot`` does, and ``trainsim run``, ``sweep``, ``optimize`` and ``compare`` at their end,
and ``save()`` of the results of ``sim.run``, ``sim.run_sweep``, ``sim.optimize`` and ``sim.compare``.
"""

from __future__ import annotations

from pathlib import Path

from sim.plots import compare as compare_plots
from sim.plots import run as run_plots
from sim.plots import sweep as sweep_plots
from sim.plots.causes import TOP
from sim.report.compare_html import write_compare_html
from sim.report.html import write_report_html
from sim.results.folder import CompareFolder, RunFolder, SweepFolder


def draw_folder(folder: RunFolder | SweepFolder | CompareFolder, svg: bool = False, causes: int = TOP) -> list[Path]:
    """Write the folder's charts, then ``report.html``; return the paths written.

    ``causes``: the failure causes a run's charts name before summing the rest as "other".
    """
    if isinstance(folder, CompareFolder):
        return [*compare_plots.write_compare_charts(folder, svg), write_compare_html(folder)]
    if isinstance(folder, SweepFolder):
        charts = sweep_plots.write_sweep_charts(folder, svg)
    else:
        charts = run_plots.write_run_charts(folder, svg, causes)
    return [*charts, write_report_html(folder)]

"""Every chart of a results folder by name: what ``trainsim plot`` writes, and one of them as a Figure (notebooks).

A run folder has ``waterfall``, ``failure_impact``, ``timeline`` and (with ``power.parquet``) ``power``;
a sweep folder ``sweep_curve`` and, for a sweep of ``cluster.gpus``, ``scale``; an optimize folder
``optimize``; a compare folder ``compare_ledger`` and ``compare_differences``. The folder may be on
disk or in memory (the same tables, ``sim.notebook``): charts read its tables only.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from sim.plots.base import Build
from sim.plots.causes import TOP
from sim.plots.compare import compare_builds
from sim.plots.run import run_builds
from sim.plots.sweep import sweep_builds
from sim.results.folder import CompareFolder, RunFolder, SweepFolder
from sim.results.schema import GPUS


def builds(folder: RunFolder | SweepFolder | CompareFolder, top: int = TOP, replication: int = 0) -> list[Build]:
    """The charts of ``folder``, in the order of its report (``top`` and ``replication``: a run's options)."""
    if isinstance(folder, CompareFolder):
        return compare_builds(folder)
    if isinstance(folder, SweepFolder):
        return sweep_builds(folder)
    return run_builds(folder, top, replication)


def kinds(folder: RunFolder | SweepFolder | CompareFolder) -> list[str]:
    """The names of the charts this folder has: a ``scale`` chart only for a sweep of cluster.gpus, a ``timeline``
    only with the event log, a ``power`` chart only with the power trace."""
    skip = set()
    if isinstance(folder, SweepFolder) and GPUS not in folder.keys:
        skip.add("scale")
    if isinstance(folder, RunFolder) and folder.events is None:
        skip.add("timeline")
    if isinstance(folder, RunFolder) and folder.power is None:
        skip.add("power")
    return [name for name, _ in builds(folder) if name not in skip]


def figure(
    folder: RunFolder | SweepFolder | CompareFolder, kind: str, top: int = TOP, replication: int = 0
) -> Figure:
    """The chart ``kind`` of ``folder``; ``ValueError`` naming the kinds there are, or saying why this one is not."""
    named = dict(builds(folder, top, replication))
    if kind not in named:
        raise ValueError(f"no chart {kind!r} for these results: choose one of {', '.join(named)}")
    fig = named[kind]()
    if fig is None:
        why = {
            "timeline": "a run without its event log",
            "power": "a run without its power trace (power.parquet)",
        }.get(kind, "a sweep that does not vary cluster.gpus")
        raise ValueError(f"no chart {kind!r} for {why}")
    return fig

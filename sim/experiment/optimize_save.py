"""``trainsim optimize`` result folders: every value evaluated as a sweep folder, plus the optimum.

The folder holds what a sweep folder holds (``scenario.toml``, ``runs.parquet``: every replication of
every value evaluated, ``points.csv``: one row per value, ``summary.json``), so ``trainsim plot`` and
``sim.results.folder.load`` read it as a sweep; ``summary.json`` adds ``optimum`` (the ``--format
json`` document of ``trainsim optimize``: the best value with its CI, the bracket, Young's and Daly's
intervals, the rounds) and ``search`` (the key, its range and the objective asked). It is built beside
the old folder and swapped in whole (``sim.results.staging``).

>>> from sim.config.loading import load_scenario_text
>>> default_optimize_dir(load_scenario_text('name = "tiny"\\n[cluster]\\ngpus = 8\\n[checkpoint]\\nwrite_seconds = 1'))
PosixPath('results/tiny-optimize')
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.config.scenario import Scenario
from sim.experiment.optimize import Optimum
from sim.experiment.save import write_failure
from sim.experiment.store import FILES as STORE_FILES
from sim.experiment.sweep_save import POINTS, RUNS, SWEEP_FOLDER, in_memory, summary_document
from sim.results import files as output
from sim.results.folder import SweepFolder
from sim.results.staging import staged_folder

#: Everything an optimize folder may hold: a sweep folder's files, charts and report, but no store (a folder
#: with a sweep's store is a sweep's, and is not replaced).
OPTIMIZE_FOLDER = SWEEP_FOLDER - set(STORE_FILES)


def default_optimize_dir(scenario: Scenario) -> Path:
    """Where ``trainsim optimize`` writes when no ``--out`` is given: ``results/<scenario name>-optimize``."""
    return Path("results") / f"{scenario.name}-optimize"


def search_block(key: str, lo: float | None, hi: float | None, objective: str) -> dict[str, Any]:
    """What was asked of the search: the key, the range given (``None``: the default), the objective."""
    return {"key": key, "range": None if lo is None or hi is None else [lo, hi], "objective": objective}


def optimize_document(
    optimum: Optimum,
    started_utc: str,
    runtime_s: float,
    search: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``summary.json`` of a finished search: its values as a sweep's summary, the optimum and the search."""
    assert optimum.sweep is not None
    doc = summary_document(optimum.sweep, started_utc, runtime_s, [optimum.key], overrides)
    doc["optimum"] = optimum.to_json()
    doc["search"] = dict(search)
    return doc


def optimize_folder(
    optimum: Optimum, started_utc: str, runtime_s: float, search: Mapping[str, Any], path: str | Path | None = None
) -> SweepFolder:
    """The folder of ``optimum`` in memory: the tables ``write_optimum`` writes, for charts drawn without writing."""
    assert optimum.sweep is not None
    doc = optimize_document(optimum, started_utc, runtime_s, search)
    return in_memory(doc, optimum.sweep, path or default_optimize_dir(optimum.sweep.scenario))


def write_optimum(
    folder: str | Path,
    optimum: Optimum,
    scenario_text: str | bytes | None,
    started_utc: str,
    runtime_s: float,
    search: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Replace ``folder`` with the complete folder of a finished search; return the summary's path."""
    assert optimum.sweep is not None
    out = Path(folder)
    with staged_folder(out, OPTIMIZE_FOLDER) as tmp:
        output.write_scenario_copy(tmp, scenario_text)
        with output.atomic_path(tmp / RUNS) as path:
            optimum.sweep.runs.to_parquet(path, index=False)
        with output.atomic_path(tmp / POINTS) as path:
            optimum.sweep.points.to_csv(path, index=False)
        output.write_summary(tmp, optimize_document(optimum, started_utc, runtime_s, search, overrides))
    return out / output.SUMMARY


def write_optimize_failure(
    folder: str | Path,
    scenario: Scenario,
    seed: int,
    replications: int,
    error: BaseException,
    scenario_text: str | bytes | None,
    started_utc: str,
    runtime_s: float,
    search: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Record a search that raised or was interrupted (its status, the error, the scenario, the seed and the
    search); into ``folder`` if that holds no results, else beside it. Return the summary's path."""
    extra = {"search": dict(search)}
    args = (scenario, seed, replications, error, scenario_text, started_utc, overrides, runtime_s)
    return write_failure(folder, *args, extra=extra, ours=OPTIMIZE_FOLDER)

"""Sweep result folders: ``runs.parquet``, ``points.csv``, ``summary.json``, ``scenario.toml``.

The folder also holds ``sweep.sqlite`` (``sim.experiment.store``), which ``run_sweep`` fills as replications
finish; the files here are written once the sweep is complete. As for ``trainsim run``, the complete
folder (tables, summary and a copy of the store) is built beside the old one and swapped in whole
(``sim.results.staging``), so a folder with a ``summary.json`` is complete and consistent, and a
sweep that is killed or interrupted leaves the folder's earlier results as they were (its finished
replications are in the store, for ``--resume``).

>>> from sim.config.loading import load_scenario_text
>>> default_sweep_dir(load_scenario_text('name = "tiny"\\n[cluster]\\ngpus = 8\\n[checkpoint]\\nwrite_seconds = 1'))
PosixPath('results/tiny-sweep')
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.scenario import Scenario
from sim.experiment.store import FILE as STORE
from sim.experiment.store import FILES as STORE_FILES
from sim.experiment.store import copy as copy_store
from sim.experiment.sweeps import SweepResult
from sim.results import files as output
from sim.results.folder import SweepFolder
from sim.results.formats import fmt_value
from sim.results.staging import failure_home, staged_folder

RUNS = output.RUNS
POINTS = "points.csv"
SUMMARY = output.SUMMARY
SCENARIO_COPY = output.SCENARIO_COPY
#: Files of a complete sweep folder besides the store, in the order they are written (summary last).
FILES = (SCENARIO_COPY, RUNS, POINTS, SUMMARY)
#: Everything a sweep folder may hold.
SWEEP_FOLDER = frozenset({*FILES, *STORE_FILES, *output.DRAWN})


def default_sweep_dir(scenario: Scenario) -> Path:
    """Where ``trainsim sweep`` writes when no ``--out`` is given: ``results/<scenario name>-sweep``."""
    return Path("results") / f"{scenario.name}-sweep"


def foreign_results(folder: Path) -> list[str]:
    """Result files in ``folder`` that no sweep made (a ``trainsim run`` folder): a sweep must not mix with them.

    A folder with a sweep store is a sweep folder; whether it is *this* sweep's is the store's call.
    """
    if not folder.is_dir() or (folder / STORE).exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name in (*FILES, output.EVENTS))


def _sweep_provenance(
    scenario: Scenario,
    seed: int,
    started_utc: str,
    runtime_s: float | None,
    param_specs: Sequence[str],
    overrides: Mapping[str, Any] | None,
) -> dict[str, Any]:
    doc = output.provenance(scenario, seed, started_utc, overrides)
    doc["param_specs"] = list(param_specs)
    doc["overrides"] = dict(overrides or {})  # always present: {} says "no --set", unlike a missing key
    doc["runtime_s"] = runtime_s
    return doc


def summary_document(
    result: SweepResult,
    started_utc: str,
    runtime_s: float,
    param_specs: Sequence[str],
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``summary.json`` of a finished sweep: the ``--format json`` document plus provenance."""
    doc: dict[str, Any] = {"status": "ok", **result.to_json()}
    doc["params"] = {k: list(v) for k, v in result.params.items()}
    doc.update(_sweep_provenance(result.scenario, result.seed, started_utc, runtime_s, param_specs, overrides))
    doc["total"] = result.computed + result.reused
    doc["computed"] = result.computed
    doc["reused"] = result.reused
    doc["warnings"] = list(result.warnings)
    doc["notes"] = list(result.notes)
    return doc


def param_specs(params: Mapping[str, Sequence[Any]]) -> list[str]:
    """The ``--param`` options that give ``params``, for a sweep run from Python (``KEY=V1,V2,...``).

    >>> param_specs({"checkpoint.interval_minutes": [5, 10.5], "checkpoint.method": ["sync", "async"]})
    ['checkpoint.interval_minutes=5,10.5', 'checkpoint.method=sync,async']
    """
    return [f"{k}={','.join(fmt_value(v) for v in vs)}" for k, vs in params.items()]


def sweep_folder(
    result: SweepResult,
    started_utc: str,
    runtime_s: float,
    specs: Sequence[str] | None = None,
    path: str | Path | None = None,
) -> SweepFolder:
    """The folder of ``result`` in memory: the tables ``write_sweep`` writes (``points.csv`` and ``summary.json`` as
    read back), for charts drawn without writing anything. ``path`` only names it."""
    doc = summary_document(result, started_utc, runtime_s, specs or param_specs(result.params))
    return in_memory(doc, result, path or default_sweep_dir(result.scenario))


def in_memory(summary: Mapping[str, Any], result: SweepResult, path: str | Path) -> SweepFolder:
    """A sweep folder of ``summary`` and ``result``'s tables, read back as ``sim.results.folder.load`` reads them."""
    points = pd.read_csv(io.StringIO(result.points.to_csv(index=False)))
    return SweepFolder(Path(path), json.loads(output.dumps(summary)), result.runs, points)


def write_sweep(
    folder: str | Path,
    result: SweepResult,
    scenario_text: str | bytes | None,
    started_utc: str,
    runtime_s: float,
    param_specs: Sequence[str],
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Replace ``folder`` with the complete folder of a finished sweep; return the summary's path.

    The new folder holds the scenario copy, the tables, a copy of the store (so ``--resume`` goes on
    from it) and, last, ``summary.json``; it is swapped in whole once written.
    """
    out = Path(folder)
    with staged_folder(out, SWEEP_FOLDER) as tmp:
        output.write_scenario_copy(tmp, scenario_text)
        with output.atomic_path(tmp / RUNS) as path:
            result.runs.to_parquet(path, index=False)
        with output.atomic_path(tmp / POINTS) as path:
            result.points.to_csv(path, index=False)
        if (out / STORE).exists():
            copy_store(out / STORE, tmp / STORE)
        output.write_summary(tmp, summary_document(result, started_utc, runtime_s, param_specs, overrides))
    return out / SUMMARY


def write_sweep_failure(
    folder: str | Path,
    scenario: Scenario,
    seed: int,
    replications: int,
    params: Mapping[str, Sequence[Any]],
    error: BaseException,
    scenario_text: str | bytes | None,
    started_utc: str,
    runtime_s: float,
    param_specs: Sequence[str],
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Record a sweep that raised or was interrupted: what it was, and how to continue. Return the summary's path.

    Its finished replications stay in the store; ``--resume`` with the same command continues. The
    record goes into ``folder`` beside the store if the folder holds no complete results, else into
    a new sibling folder, and the results stay as they were.
    """
    out = Path(folder)
    doc: dict[str, Any] = output.failure_fields(error)
    doc.update({"scenario": scenario.name, "replications": replications})
    doc["params"] = {k: list(v) for k, v in params.items()}
    doc.update(_sweep_provenance(scenario, seed, started_utc, runtime_s, param_specs, overrides))
    home = failure_home(out, doc["status"])
    if home != out:
        with staged_folder(home, SWEEP_FOLDER) as tmp:
            output.write_scenario_copy(tmp, scenario_text)
            output.write_summary(tmp, doc)
        return home / SUMMARY
    # The folder holds the store of this sweep, which must stay: write beside it, file by file.
    for name in (RUNS, POINTS):
        (out / name).unlink(missing_ok=True)
    output.write_scenario_copy(out, scenario_text)
    return output.write_summary(out, doc)

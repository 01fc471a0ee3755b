"""Sweep result folders: ``runs.parquet``, ``points.csv``, ``summary.json``, ``scenario.toml``.

The folder also holds ``sweep.sqlite`` (``sim.experiment.store``), which ``run_sweep`` fills as replications
finish; the files here are written once the sweep is complete. As for ``trainsim run``, every file
is atomic and ``summary.json`` is removed when a sweep starts and written last, so a folder with a
``summary.json`` is complete and consistent, and a sweep that was killed leaves none (its finished
replications are in the store, for ``--resume``).

>>> from sim.config.loading import load_scenario_text
>>> default_sweep_dir(load_scenario_text('name = "tiny"\\n[cluster]\\ngpus = 8\\n[checkpoint]\\nwrite_seconds = 1'))
PosixPath('results/tiny-sweep')
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.config.scenario import Scenario
from sim.experiment.store import FILE as STORE
from sim.experiment.sweeps import SweepResult
from sim.results import files as output

RUNS = output.RUNS
POINTS = "points.csv"
SUMMARY = output.SUMMARY
SCENARIO_COPY = output.SCENARIO_COPY
#: Files of a complete sweep folder besides the store, in the order they are written (summary last).
FILES = (SCENARIO_COPY, RUNS, POINTS, SUMMARY)


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


def begin(folder: Path, scenario_text: str | bytes | None) -> None:
    """Mark the folder incomplete (no summary), and drop tables that a new grid could contradict."""
    output.begin(folder, scenario_text)
    for name in (RUNS, POINTS):
        (folder / name).unlink(missing_ok=True)


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
    return doc


def write_sweep(
    folder: str | Path,
    result: SweepResult,
    started_utc: str,
    runtime_s: float,
    param_specs: Sequence[str],
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Write the tables and, last, ``summary.json`` of a finished sweep; return the summary's path.

    The scenario copy is written by ``begin`` when the sweep starts.
    """
    out = Path(folder)
    (out / SUMMARY).unlink(missing_ok=True)
    with output.atomic_path(out / RUNS) as tmp:
        result.runs.to_parquet(tmp, index=False)
    with output.atomic_path(out / POINTS) as tmp:
        result.points.to_csv(tmp, index=False)
    summary = out / SUMMARY
    doc = summary_document(result, started_utc, runtime_s, param_specs, overrides)
    output.atomic_write_text(summary, output.dumps(doc, indent=2) + "\n")
    return summary


def write_sweep_failure(
    folder: str | Path,
    scenario: Scenario,
    seed: int,
    replications: int,
    params: Mapping[str, Sequence[Any]],
    error: BaseException,
    started_utc: str,
    runtime_s: float,
    param_specs: Sequence[str],
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """``summary.json`` of a sweep that raised or was interrupted: what it was, and how to continue.

    Its finished replications stay in the store; ``--resume`` with the same command continues.
    """
    out = Path(folder)
    for name in (RUNS, POINTS):
        (out / name).unlink(missing_ok=True)
    interrupted = isinstance(error, KeyboardInterrupt)
    doc: dict[str, Any] = {
        "status": "interrupted" if interrupted else "failed",
        "error": "interrupted" if interrupted else f"{type(error).__name__}: {error}",
        "scenario": scenario.name,
        "replications": replications,
        "params": {k: list(v) for k, v in params.items()},
    }
    if not interrupted:
        doc["traceback"] = "".join(traceback.format_exception(error))
    doc.update(_sweep_provenance(scenario, seed, started_utc, runtime_s, param_specs, overrides))
    summary = out / SUMMARY
    output.atomic_write_text(summary, output.dumps(doc, indent=2) + "\n")
    return summary

"""Compare result folders: ``summary.json``, ``runs.parquet``, ``differences.csv`` and a run folder per scenario.

``scenarios/<name>/`` is a complete ``trainsim run`` folder of each scenario (its ``summary.json`` with
the seed and the scenario as resolved, ``runs.parquet``, ``events.parquet`` and the scenario file it
came from), so ``trainsim plot`` draws any one of them. As for ``run`` and ``sweep``, the whole folder
is built beside its target and swapped in once complete (``sim.results.staging``): a comparison that
fails or is interrupted leaves the earlier results as they were.

>>> from sim.config.loading import load_scenario_text
>>> default_compare_dir(load_scenario_text('name = "tiny"\\n[cluster]\\ngpus = 8\\n[checkpoint]\\nwrite_seconds = 1'))
PosixPath('results/tiny-compare')
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.scenario import Scenario
from sim.config.version import VERSION
from sim.experiment import save
from sim.experiment.compare import CompareResult
from sim.results import files as output
from sim.results.folder import CompareFolder
from sim.results.staging import failure_home, staged_folder

RUNS = output.RUNS
DIFFERENCES = "differences.csv"
SCENARIOS = "scenarios"
SUMMARY = output.SUMMARY
#: What a complete compare folder holds besides its charts, in the order written (summary last).
FILES = (SCENARIOS, RUNS, DIFFERENCES, SUMMARY)
#: Everything a compare folder may hold.
COMPARE_FOLDER = frozenset({*FILES, *output.DRAWN})


def default_compare_dir(scenario: Scenario) -> Path:
    """Where ``trainsim compare`` writes when no ``--out`` is given: ``results/<first scenario's name>-compare``."""
    return Path("results") / f"{scenario.name}-compare"


def summary_document(
    result: CompareResult,
    started_utc: str,
    sources: Sequence[Mapping[str, Any]],
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``summary.json``: the ``--format json`` document, each scenario with its provenance, and the comparison's.

    ``sources`` says where each scenario came from: ``{"file": path or None, "variant": overrides or None}``.
    """
    runs = [
        save.summary_document(r, started_utc, {**(overrides or {}), **(src.get("variant") or {})})
        for r, src in zip(result.results, sources, strict=True)
    ]
    doc: dict[str, Any] = {"status": "ok", **result.to_json(), "scenarios": runs}
    doc |= {
        "baseline": result.names[0],
        "names": result.names,
        "replications": result.replications,
        "seed": result.seed,
        "sources": [{"name": n, **src} for n, src in zip(result.names, sources, strict=True)],
        "overrides": dict(overrides or {}),
        "fleet_differences": dict(zip(result.names, result.fleets, strict=True)),
        "pairing": dict(zip(result.names, result.pairings, strict=True)),
        "notes": list(result.notes),
        "warnings": list(result.warnings),
        "version": VERSION,
        "started_utc": started_utc,
        "runtime_s": result.runtime_s,
    }
    if result.precision is not None:
        doc["precision"] = dict(result.precision)
    return doc


def compare_folder(
    result: CompareResult,
    started_utc: str,
    sources: Sequence[Mapping[str, Any]] | None = None,
    path: str | Path | None = None,
) -> CompareFolder:
    """The folder of ``result`` in memory: the tables ``write_compare`` writes (``differences.csv`` and
    ``summary.json`` as read back), for charts drawn without writing anything. ``path`` only names it."""
    given = sources or [{"file": None, "variant": None}] * len(result.results)
    summary = json.loads(output.dumps(summary_document(result, started_utc, given)))
    differences = pd.read_csv(io.StringIO(result.differences.to_csv(index=False)))
    where = Path(path or default_compare_dir(result.results[0].scenario))
    return CompareFolder(where, summary, result.runs, differences)


def write_compare(
    folder: str | Path,
    result: CompareResult,
    texts: Sequence[str | bytes | None],
    started_utc: str,
    sources: Sequence[Mapping[str, Any]],
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Replace ``folder`` with the complete folder of ``result``; return the path of its ``summary.json``.

    ``texts``: each scenario's file as given (a variant's is its base file's), or ``None``.
    """
    out = Path(folder)
    with staged_folder(out, COMPARE_FOLDER) as tmp:
        for r, text, src in zip(result.results, texts, sources, strict=True):
            own = {**(overrides or {}), **(src.get("variant") or {})}
            save.write_results(tmp / SCENARIOS / r.scenario.name, r, text, started_utc, own)
        with output.atomic_path(tmp / RUNS) as path:
            result.runs.to_parquet(path, index=False)
        with output.atomic_path(tmp / DIFFERENCES) as path:
            result.differences.to_csv(path, index=False)
        output.write_summary(tmp, summary_document(result, started_utc, sources, overrides))
    return out / SUMMARY


def write_compare_failure(
    folder: str | Path,
    scenarios: Sequence[Scenario],
    seed: int,
    replications: int,
    error: BaseException,
    started_utc: str,
    overrides: Mapping[str, Any] | None = None,
    runtime_s: float | None = None,
) -> Path:
    """Record a comparison that raised or was interrupted (status, error, every scenario as resolved, the seed)
    where it destroys no results: ``folder`` if that holds none, else a new sibling. Return the summary's path."""
    doc = output.failure_document(scenarios[0], seed, replications, error, started_utc, overrides, runtime_s)
    doc |= {"names": [s.name for s in scenarios], "scenarios_resolved": [s.model_dump(mode="json") for s in scenarios]}
    home = failure_home(Path(folder), doc["status"])
    with staged_folder(home, COMPARE_FOLDER) as tmp:
        output.write_summary(tmp, doc)
    return home / SUMMARY

"""Writing a run's result folder: the ``--format json`` document plus provenance, and its tables;
or, for a run that raised or was interrupted, the record of what it was.

The file primitives (atomic writes, names, strict JSON) are ``sim.results.files``, the swap of a
whole folder ``sim.results.staging``; this module is the one place that turns an engine ``Result``
into those files. Earlier results in the folder stay as they were until the new ones are complete.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from sim.analysis.analytic import interval_seconds
from sim.config.scenario import Scenario
from sim.experiment.runner import Result
from sim.results.files import (
    EVENTS,
    POWER,
    RUN_FOLDER,
    RUNS,
    SUMMARY,
    atomic_path,
    dumps,
    failure_document,
    provenance,
    write_scenario_copy,
    write_summary,
)
from sim.results.folder import RunFolder
from sim.results.staging import failure_home, staged_folder


def summary_document(result: Result, started_utc: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``summary.json`` of a finished run: the ``--format json`` document plus provenance."""
    doc: dict[str, Any] = {"status": "ok", **result.to_json()}
    doc.update(provenance(result.scenario, result.seed, started_utc, overrides))
    doc["runtime_s"] = result.runtime_s
    doc["warnings"] = list(result.warnings)
    doc["interval_minutes_used"] = interval_seconds(result.scenario) / 60.0
    doc["derived"] = derived(result.scenario)
    return doc


def derived(scenario: Scenario) -> dict[str, float]:
    """Values the model computed from the scenario, so that charts need not recompute them."""
    return {
        "interval_minutes": interval_seconds(scenario) / 60.0,
        "write_seconds": scenario.write_seconds,
        "restart_seconds": scenario.restart_seconds,
        "job_nodes": scenario.job_nodes,
        "peak_flops_per_gpu": scenario.peak_flops_per_gpu,
    }


def run_folder(result: Result, started_utc: str, path: str | Path | None = None) -> RunFolder:
    """The folder of ``result`` in memory: the tables ``write_results`` writes (``summary.json`` as read back, strict
    JSON), for charts drawn without writing anything. ``path`` only names it (default: the scenario's name)."""
    summary = json.loads(dumps(summary_document(result, started_utc)))
    kept = any(r.power is not None for r in result.replications)
    return RunFolder(
        Path(path or result.scenario.name), summary, result.runs, result.events, result.power if kept else None
    )


def write_results(
    out_dir: str | Path,
    result: Result,
    scenario_text: str | bytes | None,
    started_utc: str,
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Replace ``out_dir`` with a complete result folder for ``result``; return the path of ``summary.json``.

    The folder is built beside ``out_dir`` and swapped in whole once written: until then ``out_dir``
    keeps its earlier results, charts included (charts of the new results are drawn afterwards).
    """
    out = Path(out_dir)
    with staged_folder(out, RUN_FOLDER) as tmp:
        write_scenario_copy(tmp, scenario_text)
        with atomic_path(tmp / RUNS) as path:
            result.runs.to_parquet(path, index=False)
        with atomic_path(tmp / EVENTS) as path:
            result.events.to_parquet(path, index=False)
        if any(r.power is not None for r in result.replications):
            with atomic_path(tmp / POWER) as path:
                result.power.to_parquet(path, index=False, compression="zstd")  # a third smaller than snappy
        write_summary(tmp, summary_document(result, started_utc, overrides))
    return out / SUMMARY


def write_failure(
    out_dir: str | Path,
    scenario: Scenario,
    seed: int,
    replications: int,
    error: BaseException,
    scenario_text: str | bytes | None,
    started_utc: str,
    overrides: Mapping[str, Any] | None = None,
    runtime_s: float | None = None,
    extra: Mapping[str, Any] | None = None,
    ours: Collection[str] = RUN_FOLDER,
) -> Path:
    """Record a run that raised or was interrupted: a scenario copy and a ``summary.json`` with the status
    (``failed`` or ``interrupted``), the error, the scenario and the seed. Return the summary's path.

    The record replaces ``out_dir`` only if that holds no results (nothing, or an earlier failure);
    next to complete results it goes into a new sibling folder (``sim.results.staging.failure_home``),
    and the results stay as they were. ``extra``: more keys of the record (an optimize's search);
    ``ours``: the files a folder of this command may hold.
    """
    doc = failure_document(scenario, seed, replications, error, started_utc, overrides, runtime_s)
    doc.update(extra or {})
    home = failure_home(Path(out_dir), doc["status"])
    with staged_folder(home, ours) as tmp:
        write_scenario_copy(tmp, scenario_text)
        write_summary(tmp, doc)
    return home / SUMMARY

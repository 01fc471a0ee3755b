"""Writing a finished run's result folder: the ``--format json`` document plus provenance, and its tables.

The file primitives (atomic writes, names, strict JSON) are ``sim.results.files``; this module is
the one place that turns an engine ``Result`` into those files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.analysis.analytic import interval_seconds
from sim.config.scenario import Scenario
from sim.experiment.runner import Result
from sim.results.files import EVENTS, RUNS, SUMMARY, atomic_path, atomic_write_text, begin, dumps, provenance


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


def write_results(
    out_dir: str | Path,
    result: Result,
    scenario_text: str | bytes | None,
    started_utc: str,
    overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Write a complete result folder for ``result``; return the path of ``summary.json``."""
    out = Path(out_dir)
    begin(out, scenario_text)
    with atomic_path(out / RUNS) as tmp:
        result.runs.to_parquet(tmp, index=False)
    with atomic_path(out / EVENTS) as tmp:
        result.events.to_parquet(tmp, index=False)
    summary = out / SUMMARY
    atomic_write_text(summary, dumps(summary_document(result, started_utc, overrides), indent=2) + "\n")
    return summary

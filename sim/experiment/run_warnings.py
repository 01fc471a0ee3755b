"""Warnings about a run, in plain language: the plausibility checks of its scenario
(``sim.analysis.plausibility``), then what its results say (a clipped event log, a precision or a
target not reached, no useful work).

They read a result through ``Ran`` (what ``sim.experiment.runner.Result`` offers), so that the runner
can call them without this module importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from sim.analysis.plausibility import scenario_flags, wait_flag
from sim.config.scenario import Scenario
from sim.model.process import EVENT_ROWS
from sim.model.spec import JobSpec
from sim.results.precision import shortfall
from sim.results.target import not_reached_text


class Replicated(Protocol):
    """One replication, as the warnings read it."""

    @property
    def metrics(self) -> dict[str, float]: ...
    @property
    def events_dropped(self) -> int: ...


class Ran(Protocol):
    """A run's replications, as the warnings read them (``sim.experiment.runner.Result``)."""

    @property
    def scenario(self) -> Scenario: ...
    @property
    def replications(self) -> Sequence[Replicated]: ...
    @property
    def precision(self) -> dict[str, Any] | None: ...


def warnings_for(scenario: Scenario, result: Ran) -> list[str]:
    """Plain-language warnings about a scenario and its results: the plausibility checks
    (``sim.analysis.plausibility``), then what the results say (``result_warnings``)."""
    out = [f.text for f in scenario_flags(scenario)]
    wait = wait_flag(mean_wait(result), scenario.cluster.spare_nodes)
    if wait is not None:
        out.append(wait.text)
    return out + result_warnings(result)


def mean_wait(result: Ran) -> float:
    """The mean share of the job's time spent waiting for spares or repairs (0 without replications)."""
    waiting = [r.metrics.get("fraction_wait", 0.0) for r in result.replications]
    return float(np.mean(waiting)) if waiting else 0.0


def result_warnings(result: Ran) -> list[str]:
    """What the results say beyond plausibility: a clipped event log, a precision not reached, no useful work."""
    out = []
    dropped = [r for r in result.replications if r.events_dropped]
    if dropped:
        out.append(
            f"the event log of {len(dropped)} replication{'s' if len(dropped) != 1 else ''} kept its first "
            f"{EVENT_ROWS:,} rows and dropped {sum(r.events_dropped for r in dropped):,} more: "
            "the timeline shows the start of those runs; every metric counts them all"
        )
    missed = None if result.precision is None else shortfall(result.precision)
    if missed is not None:
        out.append(missed)
    ettr = [r.metrics["ettr"] for r in result.replications]
    if ettr and max(ettr) < 0.05:
        out.append(f"ETTR is near zero in every replication (max {max(ettr):.3f}): failures outpace recovery")
    out.extend(_target_warnings(result.scenario, result))
    return out


def _target_warnings(scenario: Scenario, result: Ran) -> list[str]:
    """A target out of reach even without failures, or not reached in some replications."""
    target = scenario.target_gpu_seconds
    if target is None or not result.replications:
        return []
    days = scenario.run.duration_days
    # Without any failure the job computes interval / (interval + blocking) of the time.
    seg = JobSpec.from_scenario(scenario).segment
    needed = target / scenario.cluster.gpus * seg.cycle_s / seg.interval_s / 86400.0
    if needed > days:
        return [
            f"run.{scenario.run.target_key}: needs {needed:,.1f} days even without failures, more than "
            f"run.duration_days ({days:g}): no replication can reach it"
        ]
    share = sum(r.metrics["target_reached"] for r in result.replications) / len(result.replications)
    text = not_reached_text(share, len(result.replications), days)
    return [] if text is None else [f"run.{scenario.run.target_key}: {text}; raise run.duration_days"]

"""Parameter sweeps: grids of scenarios (``sim.experiment.grid``), replications paired by common random
numbers, executors, durable incremental results and resume.

Replication ``r`` of every point draws from the same random streams (child ``r`` of the seed), so a
parameter that does not touch failures leaves every failure time unchanged, and differences between
points are paired: their noise is far below that of the values themselves.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.plausibility import points_warnings
from sim.analysis.work import DEFAULT_MAX_EVENTS
from sim.config.errors import PrecisionError, SweepError, shown
from sim.config.limits import DEFAULT_MAX_POINTS, MAX_REPLICATIONS, MAX_SEED
from sim.config.loading import PolicySwitched, fixed_for_interval
from sim.config.scenario import Scenario
from sim.experiment.grid import Point, build_points, describe_point, point_key
from sim.experiment.precision import Precision, Reached
from sim.experiment.runner import metrics_json
from sim.experiment.statistics import describe, json_number
from sim.experiment.store import Store, StoreMismatch
from sim.experiment.units import Unit, play_points
from sim.results.precision import points_shortfall
from sim.results.schema import CENSORED, GPUS, INTERVAL, OBJECTIVES, best_index, objective_metric

# ---------------------------------------------------------------- Dask

#: How long to try reaching a Dask scheduler before giving up (Dask's own notation).
CONNECT_TIMEOUT = "10s"


def connect(scheduler: str) -> Any:
    """A Dask client of the scheduler at ``scheduler``; a clear ``SweepError`` when there is none."""
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("a Dask scheduler needs Dask: pip install 'trainsim[dask]'", "scheduler") from None
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as e:
        raise SweepError(f"{shown(scheduler)}: cannot reach the Dask scheduler ({e})", "scheduler") from None


# ---------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    """A finished sweep: the tidy runs table, per-point statistics, and what was reused."""

    scenario: Scenario
    seed: int
    replications: int
    params: dict[str, list[Any]]
    runs: pd.DataFrame
    points: pd.DataFrame
    objective: str
    computed: int
    reused: int
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The precision asked (``sim.experiment.precision``) and whether every point met it; ``None`` for a fixed count.
    precision: dict[str, Any] | None = None

    @property
    def best(self) -> Point:
        i = best_index(self.points[f"{self.objective}.mean"].tolist(), self.objective)
        # Column by column: a row of a mixed table is upcast to float (spare_nodes 1 -> 1.0).
        return {k: _plain(self.points[k].iloc[i]) for k in self.params}

    def to_json(self) -> dict[str, Any]:
        """``{"points": [{"params", "metrics", "paired_difference_from_best"}, ...], ...}``."""

        keys = list(self.params)
        metric_names = [c for c in self.runs.columns if c not in (*keys, "replication")]
        out = []
        # Both tables are in grid order: groupby(sort=False) keeps the order of first appearance.
        groups = self.runs.groupby(keys, sort=False)
        for i, ((_, group), (_, row)) in enumerate(zip(groups, self.points.iterrows(), strict=True)):
            summary = pd.DataFrame({m: describe(group[m].to_numpy(float), m in CENSORED) for m in metric_names}).T
            diffs = {
                m: {
                    "mean": json_number(row[f"{m}.diff_mean"]),
                    "ci95": [json_number(row[f"{m}.diff_ci95_low"]), json_number(row[f"{m}.diff_ci95_high"])],
                }
                for m in PAIRED_METRICS
                if f"{m}.diff_mean" in row.index
            }
            point: dict[str, Any] = {
                "params": {k: _plain(self.points[k].iloc[i]) for k in keys},
                "replications": len(group),
                "metrics": metrics_json(summary),
                "paired_difference_from_best": diffs,
            }
            if self.precision is not None:
                point["precision"] = {
                    "replications": len(group),
                    "half_width_reached": json_number(row["half_width_reached"]),
                    "relative_half_width_reached": json_number(row["relative_half_width_reached"]),
                    "met": bool(row["precision_met"]),
                }
            out.append(point)
        doc = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "replications": self.replications,
            "objective": self.objective,
            "best": self.best,
            "points": out,
        }
        if self.precision is not None:
            doc["precision"] = dict(self.precision)
        return doc


#: Metrics whose paired difference from the best point is reported (those a run has).
PAIRED_METRICS = (
    "ettr",
    "effective_compute_ratio",
    "realized_flop",
    "interruptions",
    "usd_lost_to_failures",
    "time_to_train_days",
    "cost_to_train_usd",
    "total_cost_usd",
    "usd_per_useful_exaflop",
    "unreliability_cost_usd",
)


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def run_sweep(
    scenario: Scenario,
    params: Mapping[str, Sequence[Any]],
    replications: int | None = None,
    seed: int | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    objective: str = "ettr",
    progress: Callable[[int, int], None] | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    max_events: float = DEFAULT_MAX_EVENTS,
    precision: Precision | None = None,
) -> SweepResult:
    """Run every point of the grid ``params`` for ``replications`` replications, or with ``precision`` as
    many as each point needs (``sim.experiment.precision``); see ``sweep``."""
    if precision is not None and replications is not None:
        raise PrecisionError("give replications or a precision target, not both", "replications")
    n = scenario.run.replications if replications is None else replications
    root = scenario.run.seed if seed is None else seed
    check_objective(objective, [])
    if not 1 <= n <= MAX_REPLICATIONS:
        raise SweepError(f"replications must be from 1 to {MAX_REPLICATIONS:,}, got {shown(n)}", "replications")
    if not 0 <= root <= MAX_SEED:
        raise SweepError(f"seed must be from 0 to {MAX_SEED}, got {shown(root)}", "seed")
    cores = os.cpu_count() or 1
    workers = cores if jobs is None else jobs
    if workers < 1:
        raise SweepError(f"jobs must be >= 1, got {shown(workers)}", "jobs")
    workers = min(workers, cores)  # more processes than cores only cost memory: results are the same for any count
    values = {k: list(v) for k, v in params.items()}
    scenario, note = interval_sweep(scenario, values)
    points = build_points(scenario, values, max_points, max_events)
    objective = check_objective(objective, [s for _, s in points])
    # Connect before touching `out` or calling progress: that first call tells the caller that all
    # input, the scheduler included, was accepted.
    client = connect(scheduler) if scheduler else None
    try:
        try:
            store = Store.open(out, scenario, root, resume) if out is not None else None
        except StoreMismatch as e:
            raise SweepError(str(e)) from None
        played = play_points({point_key(p): s for p, s in points}, n, precision, root, workers, client, store, progress)
    finally:
        if client is not None:
            client.close()
    runs = tidy(points, played.counts, played.results)
    table = points_table(runs, list(values), objective)
    block = None
    if precision is not None and played.reached is not None:
        reached = [played.reached[point_key(p)] for p, _ in points]
        table = with_precision(table, reached)
        block = precision.to_json() | {"met_at_every_point": all(r.met for r in reached)}
    result = SweepResult(
        scenario,
        root,
        max(played.counts.values()),
        values,
        runs,
        table,
        objective,
        computed=played.computed,
        reused=played.reused,
        warnings=sweep_warnings(scenario, points, table),
        precision=block,
        notes=[note] if note else [],
    )
    if block is not None:
        labelled = [(describe_point(p), r.to_json()) for (p, _), r in zip(points, reached, strict=True)]
        missed = points_shortfall(block, labelled)
        result.warnings += [missed] if missed else []
    return result


def interval_sweep(scenario: Scenario, params: Mapping[str, Any]) -> tuple[Scenario, str | None]:
    """The scenario a sweep of ``params`` runs, and a one-line note when a sweep of the interval made it fixed."""
    fixed, was = fixed_for_interval(scenario, params)
    if was is None:
        return scenario, None
    return fixed, (
        f"{INTERVAL} is swept, so the sweep runs fixed intervals (checkpoint.policy = 'fixed' instead of "
        f"{scenario.name}'s {was!r}); Young's and Daly's intervals are marked on the chart"
    )


def with_precision(table: pd.DataFrame, reached: Sequence[Reached]) -> pd.DataFrame:
    """The points table with where each point's precision stopped: half-widths reached, and whether it was met."""
    out = table.copy()
    out["half_width_reached"] = [r.half_width for r in reached]
    out["relative_half_width_reached"] = [r.relative_half_width for r in reached]
    out["precision_met"] = [r.met for r in reached]
    return out


def check_objective(objective: str, scenarios: Iterable[Scenario]) -> str:
    """The metric ``objective`` ranks by; ``SweepError`` for an unknown one, or for a time or cost to
    train when one of ``scenarios`` has no target."""
    try:
        metric = objective_metric(objective)
    except KeyError:
        raise SweepError(f"objective {shown(objective)}: must be one of {', '.join(OBJECTIVES)}", "objective") from None
    if metric in CENSORED and any(s.target_gpu_seconds is None for s in scenarios):
        raise SweepError(
            f"objective {shown(objective)}: needs a target in the scenario: run.target_flop, run.target_tokens "
            "or run.target_compute_days",
            "objective",
        )
    return metric


def sweep_warnings(scenario: Scenario, points: list[tuple[Point, Scenario]], table: pd.DataFrame) -> list[str]:
    """The plausibility warnings of a sweep's points (``sim.analysis.plausibility``), one line per kind."""
    waits = table["fraction_wait.mean"].tolist() if "fraction_wait.mean" in table else [0.0] * len(points)
    labelled = [(describe_point(p), s, float(w)) for (p, s), w in zip(points, waits, strict=True)]
    keys = set(points[0][0]) if points else set()
    fixed = scenario.cluster.spare_nodes if GPUS in keys and "cluster.spare_nodes" not in keys else None
    return points_warnings(labelled, fixed)


def sweep(
    scenario: Scenario,
    params: Mapping[str, Sequence[Any]],
    replications: int | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Sweep a grid of scenario keys; one row per point and replication (the tidy runs table).

    Options as ``run_sweep``: ``seed``, ``jobs`` (default: all cores), ``scheduler`` (a Dask
    scheduler address), ``out`` (a folder to keep each finished replication in), ``resume``,
    ``max_points`` (grid size, default ``DEFAULT_MAX_POINTS``) and ``max_events`` (expected events
    per replication of any point, default ``sim.analysis.work.DEFAULT_MAX_EVENTS``). Bad parameters
    raise ``SweepError``, and a point above ``max_events`` a ``WorkLimitError``, before any work starts.
    Sweeping ``checkpoint.interval_minutes`` under policy young or daly sweeps fixed intervals, with
    a ``PolicySwitched`` warning.
    """
    result = run_sweep(scenario, params, replications, **options)
    for note in result.notes:
        warnings.warn(note, PolicySwitched, stacklevel=2)
    return result.runs


def tidy(
    points: Iterable[tuple[Point, Scenario]],
    replications: int | Mapping[str, int],
    results: Mapping[Unit, dict[str, float]],
) -> pd.DataFrame:
    """The runs table in grid order: swept keys, ``replication``, then every metric.

    ``replications``: per point, or by point key (a sweep to a precision keeps as many as each needed).
    """
    rows = []
    for point, _ in points:
        key = point_key(point)
        count = replications if isinstance(replications, int) else replications[key]
        for r in range(count):
            rows.append({**point, "replication": r, **results[(key, r)]})
    return pd.DataFrame(rows)


def points_table(runs: pd.DataFrame, keys: list[str], objective: str = "ettr") -> pd.DataFrame:
    """Per point: mean and 95% CI of every metric, and the paired difference from the best point.

    The best point has the best mean ``objective`` (``best_index``). A difference is taken replication by
    replication (same failures at every point), so its CI is that of the paired differences.
    """
    metric_names = [c for c in runs.columns if c not in (*keys, "replication")]
    groups = list(runs.groupby(keys, sort=False))
    means = [describe(g[objective].to_numpy(float), objective in CENSORED)["mean"] for _, g in groups]
    best = groups[best_index(means, objective)][1].set_index("replication")
    rows = []
    for point, g in groups:
        values = point if isinstance(point, tuple) else (point,)
        row: dict[str, Any] = dict(zip(keys, values, strict=True))
        row["replications"] = len(g)
        g = g.set_index("replication")
        # Paired on the replications both points ran (all of them, unless a precision target chose the counts).
        common = g.index.intersection(best.index)
        for m in metric_names:
            d = describe(g[m].to_numpy(float), m in CENSORED)
            row.update({f"{m}.mean": d["mean"], f"{m}.ci95_low": d["ci95_low"], f"{m}.ci95_high": d["ci95_high"]})
        for m in PAIRED_METRICS:
            if m in g:
                diff = describe((g.loc[common, m] - best.loc[common, m]).to_numpy(float), m in CENSORED)
                row.update(
                    {
                        f"{m}.diff_mean": diff["mean"],
                        f"{m}.diff_ci95_low": diff["ci95_low"],
                        f"{m}.diff_ci95_high": diff["ci95_high"],
                    }
                )
        rows.append(row)
    return pd.DataFrame(rows)

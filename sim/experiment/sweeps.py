"""Parameter sweeps: grids of scenarios, replications paired by common random numbers, executors,
durable incremental results and resume.

Replication ``r`` of every point draws from the same random streams (child ``r`` of the seed), so a
parameter that does not touch failures leaves every failure time unchanged, and differences between
points are paired: their noise is far below that of the values themselves.

>>> parse_param("checkpoint.interval_minutes=5,10,20")
('checkpoint.interval_minutes', [5, 10, 20])
>>> parse_param("checkpoint.interval_minutes=5:20:5")[1]
[5, 10, 15, 20]
>>> parse_param("checkpoint.interval_minutes=log:5:240:5")[1]
[5.0, 13.16, 34.64, 91.18, 240.0]

The size of a grid is known before its values are built, and a grid above ``max_points`` points
(``DEFAULT_MAX_POINTS``) is refused before any of it is:

>>> parse_values("1:1e12:1")
Traceback (most recent call last):
...
sim.config.errors.SweepError: range '1:1e12:1': 1e+12 values, above the limit of 10,000 points
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.analytic import interval_seconds
from sim.analysis.plausibility import points_warnings
from sim.analysis.work import DEFAULT_MAX_EVENTS, check_work
from sim.config.errors import ScenarioError, SweepError, WorkLimitError, clip_key, shown
from sim.config.limits import DEFAULT_MAX_POINTS, MAX_REPLICATIONS, MAX_SEED
from sim.config.loading import parse_value, with_overrides
from sim.config.scenario import Scenario
from sim.experiment.executors import execute
from sim.experiment.runner import describe, json_number, metrics_json
from sim.experiment.store import Store, StoreMismatch
from sim.results.schema import GPUS, OBJECTIVES

#: Significant digits of log-spaced values: readable column values, exact endpoints.
LOG_DIGITS = 4

Point = dict[str, Any]
Unit = tuple[str, int]  # (point key, replication)


# ---------------------------------------------------------------- parameters and grids


def parse_values(text: str, max_points: int = DEFAULT_MAX_POINTS) -> list[Any]:
    """A parameter's values: ``V1,V2,...``, a range ``LO:HI:STEP`` or a log range ``log:LO:HI:N``.

    Range ends and steps are finite numbers; more than ``max_points`` values are refused before
    they are built.
    """
    text = text.strip()
    if not text:
        raise SweepError("no values (expected V1,V2,... or LO:HI:STEP or log:LO:HI:N)")
    values: list[Any]
    if text.startswith("log:"):
        parts = text[4:].split(":")
        if len(parts) != 3:
            raise SweepError(f"log range {shown(text)}: expected log:LO:HI:N")
        lo, hi, n = (_number(p, text) for p in parts)
        if not (lo > 0 and hi > lo and n >= 2 and float(n).is_integer()):
            raise SweepError(f"log range {shown(text)}: needs 0 < LO < HI and a whole N >= 2")
        _check_count(n, text, max_points)
        inner = [float(f"{v:.{LOG_DIGITS}g}") for v in np.geomspace(lo, hi, int(n))[1:-1]]
        return [float(lo), *inner, float(hi)]
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise SweepError(f"range {shown(text)}: expected LO:HI:STEP")
        lo, hi, step = (_number(p, text) for p in parts)
        if not (step > 0 and hi >= lo):
            raise SweepError(f"range {shown(text)}: needs STEP > 0 and HI >= LO")
        count = (hi - lo) / step + 1  # a float: inf for a step too small to count, which is refused
        _check_count(count, text, max_points)
        n = math.floor((hi - lo) / step + 1e-9) + 1
        whole = all(isinstance(x, int) for x in (lo, hi, step))
        return [lo + i * step if whole else round(lo + i * step, 12) for i in range(n)]
    _check_count(text.count(",") + 1, text, max_points)
    values = [parse_value(v.strip()) for v in text.split(",")]
    if any(v == "" for v in values):
        raise SweepError(f"values {shown(text)}: an empty value")
    return values


def _check_count(count: float, text: str, max_points: int) -> None:
    if count > max_points:
        what = "values" if ":" not in text else ("log range" if text.startswith("log:") else "range")
        many = f"{count:,.0f}" if count < 1e9 else f"{count:.3g}"
        message = f"{what} {shown(text)}: {many} values, above the limit of {max_points:,} points"
        raise SweepError(message, limit="max_points")


def _number(text: str, whole: str) -> int | float:
    value = parse_value(text.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SweepError(f"{shown(whole)}: {shown(text)} is not a finite number")
    if isinstance(value, int) and abs(value) > 2**53:
        raise SweepError(f"{shown(whole)}: {shown(value)} is too large for a range")
    return value


def parse_param(text: str, max_points: int = DEFAULT_MAX_POINTS) -> tuple[str, list[Any]]:
    """Split ``KEY=VALUES`` into the key and its values (see ``parse_values``)."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise SweepError(
            f"{shown(text)}: expected KEY=V1,V2,... e.g. checkpoint.interval_minutes=5,10,20", "params"
        )
    key = key.strip()
    try:
        return key, parse_values(values, max_points)
    except SweepError as e:
        raise SweepError(f"{clip_key(key)}: {e}", "params", e.limit) from None




def grid(params: Mapping[str, Sequence[Any]]) -> list[Point]:
    """Every combination of the parameters' values, the first parameter varying slowest."""
    keys = list(params)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(params[k] for k in keys))]


def point_key(point: Point) -> str:
    """A point's identity in the results store: its parameters as canonical JSON."""
    return json.dumps(point, sort_keys=True)


def build_points(
    scenario: Scenario,
    params: Mapping[str, Sequence[Any]],
    max_points: int = DEFAULT_MAX_POINTS,
    max_events: float = DEFAULT_MAX_EVENTS,
) -> list[tuple[Point, Scenario]]:
    """Validate every point, and the work each costs, before any work starts; errors name the key and the value.

    The grid's size is the product of the value counts: above ``max_points`` it is refused before
    it is built. A point whose replications expect more than ``max_events`` events each is refused
    with a ``WorkLimitError`` (a ``ScenarioError``, as ``sim.run`` raises; see ``sim.analysis.work``).
    """
    if not params:
        raise SweepError("nothing to sweep: give at least one parameter and its values", "params")
    size = 1
    for key, values in params.items():
        if not values:
            raise SweepError(f"{clip_key(key)}: no values", "params")
        _check_values(key, values)
        size *= len(values)
    if size > max_points:
        counts = " x ".join(str(len(v)) for v in params.values())
        raise SweepError(f"a grid of {counts} = {size:,} points, above the limit of {max_points:,}", limit="max_points")
    out = []
    for point in grid(params):
        try:
            s = with_overrides(scenario, point)
            interval_seconds(s)
            check_work(s, max_events)
        except WorkLimitError as e:
            raise WorkLimitError(f"{_describe_point(point)}: {e}", "params") from None
        except ScenarioError as e:
            raise SweepError(f"{_describe_point(point)}: {e}", "params") from None
        out.append((point, s))
    return out


def _check_values(key: str, values: Sequence[Any]) -> None:
    """One parameter's values: plain scalars of one type (ints and floats mix), each once."""
    kinds = set()
    for v in values:
        if not isinstance(v, bool | int | float | str):
            raise SweepError(f"{clip_key(key)}: {shown(v)} is not a number, a string or a boolean", "params")
        kinds.add("number" if isinstance(v, int | float) and not isinstance(v, bool) else type(v).__name__)
    if len(kinds) > 1:
        # A results column holds one type: mixed values would fail only when the results are written.
        mixed = ", ".join(sorted(kinds))
        raise SweepError(f"{clip_key(key)}: values of mixed types ({mixed}); give one type", "params")
    if len(set(map(repr, values))) != len(values):
        raise SweepError(f"{clip_key(key)}: repeated values in {shown(list(values))}", "params")


def _describe_point(point: Point) -> str:
    return " ".join(f"{clip_key(k)}={shown(v)}" for k, v in point.items())


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
    warnings: list[str] = field(default_factory=list)

    @property
    def best(self) -> Point:
        i = int(np.argmax(self.points[f"{self.objective}.mean"].to_numpy()))
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
            summary = pd.DataFrame({m: describe(group[m].to_numpy(float)) for m in metric_names}).T
            diffs = {
                m: {
                    "mean": json_number(row[f"{m}.diff_mean"]),
                    "ci95": [json_number(row[f"{m}.diff_ci95_low"]), json_number(row[f"{m}.diff_ci95_high"])],
                }
                for m in PAIRED_METRICS
                if f"{m}.diff_mean" in row.index
            }
            out.append(
                {
                    "params": {k: _plain(self.points[k].iloc[i]) for k in keys},
                    "metrics": metrics_json(summary),
                    "paired_difference_from_best": diffs,
                }
            )
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "replications": self.replications,
            "objective": self.objective,
            "best": self.best,
            "points": out,
        }


#: Metrics a sweep can maximise.
#: Metrics whose paired difference from the best point is reported.
PAIRED_METRICS = ("ettr", "effective_compute_ratio", "realized_flop", "interruptions", "usd_lost_to_failures")


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
) -> SweepResult:
    """Run every point of the grid ``params`` for ``replications`` replications; see ``sweep``."""
    n = scenario.run.replications if replications is None else replications
    root = scenario.run.seed if seed is None else seed
    if objective not in OBJECTIVES:
        raise SweepError(f"objective {shown(objective)}: must be one of {', '.join(OBJECTIVES)}", "objective")
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
    points = build_points(scenario, values, max_points, max_events)
    # Connect before touching `out` or calling progress: that first call tells the caller that all
    # input, the scheduler included, was accepted.
    client = connect(scheduler) if scheduler else None
    try:
        try:
            store = Store.open(out, scenario, root, resume) if out is not None else None
        except StoreMismatch as e:
            raise SweepError(str(e)) from None
        results, computed, reused = _play(points, n, root, workers, client, store, progress)
    finally:
        if client is not None:
            client.close()
    runs = tidy(points, n, results)
    table = points_table(runs, list(values), objective)
    return SweepResult(
        scenario,
        root,
        n,
        values,
        runs,
        table,
        objective,
        computed=computed,
        reused=reused,
        warnings=sweep_warnings(scenario, points, table),
    )


def sweep_warnings(scenario: Scenario, points: list[tuple[Point, Scenario]], table: pd.DataFrame) -> list[str]:
    """The plausibility warnings of a sweep's points (``sim.analysis.plausibility``), one line per kind."""
    waits = table["fraction_wait.mean"].tolist() if "fraction_wait.mean" in table else [0.0] * len(points)
    labelled = [(_describe_point(p), s, float(w)) for (p, s), w in zip(points, waits, strict=True)]
    keys = set(points[0][0]) if points else set()
    fixed = scenario.cluster.spare_nodes if GPUS in keys and "cluster.spare_nodes" not in keys else None
    return points_warnings(labelled, fixed)


def _play(
    points: list[tuple[Point, Scenario]],
    n: int,
    root: int,
    workers: int,
    client: Any,
    store: Store | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[dict[Unit, dict[str, float]], int, int]:
    """Run what the store does not hold yet, committing each result as it arrives.

    Returns every result, and how many were computed and how many reused from the store.
    """
    results: dict[Unit, dict[str, float]] = {} if store is None else store.load()
    wanted = [(point_key(p), r) for p, _ in points for r in range(n)]
    done = reused = sum(1 for u in wanted if u in results)
    todo = [(s, point_key(p), r, root) for p, s in points for r in range(n) if (point_key(p), r) not in results]
    if progress:
        progress(done, len(wanted))
    try:
        for key, r, row in execute(todo, workers, client):
            results[(key, r)] = row
            if store is not None:
                store.put(key, r, row)
            done += 1
            if progress:
                progress(done, len(wanted))
    finally:
        if store is not None:
            store.close()
    return results, len(todo), reused


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
    """
    return run_sweep(scenario, params, replications, **options).runs


def tidy(
    points: Iterable[tuple[Point, Scenario]], replications: int, results: Mapping[Unit, dict[str, float]]
) -> pd.DataFrame:
    """The runs table in grid order: swept keys, ``replication``, then every metric."""
    rows = []
    for point, _ in points:
        key = point_key(point)
        for r in range(replications):
            rows.append({**point, "replication": r, **results[(key, r)]})
    return pd.DataFrame(rows)


def points_table(runs: pd.DataFrame, keys: list[str], objective: str = "ettr") -> pd.DataFrame:
    """Per point: mean and 95% CI of every metric, and the paired difference from the best point.

    The best point has the highest mean ``objective``. A difference is taken replication by
    replication (same failures at every point), so its CI is that of the paired differences.
    """
    metric_names = [c for c in runs.columns if c not in (*keys, "replication")]
    groups = list(runs.groupby(keys, sort=False))
    means = [g[objective].mean() for _, g in groups]
    best = groups[int(np.argmax(means))][1].set_index("replication")
    rows = []
    for point, g in groups:
        values = point if isinstance(point, tuple) else (point,)
        row: dict[str, Any] = dict(zip(keys, values, strict=True))
        g = g.set_index("replication")
        for m in metric_names:
            d = describe(g[m].to_numpy(float))
            row.update({f"{m}.mean": d["mean"], f"{m}.ci95_low": d["ci95_low"], f"{m}.ci95_high": d["ci95_high"]})
        for m in PAIRED_METRICS:
            if m in g:
                diff = describe((g[m] - best[m]).to_numpy(float))
                row.update(
                    {
                        f"{m}.diff_mean": diff["mean"],
                        f"{m}.diff_ci95_low": diff["ci95_low"],
                        f"{m}.diff_ci95_high": diff["ci95_high"],
                    }
                )
        rows.append(row)
    return pd.DataFrame(rows)

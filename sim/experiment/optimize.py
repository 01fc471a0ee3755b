"""Paired search for the value of one numeric key (the checkpoint interval) that maximises ETTR (or
another objective: the highest effective compute, the shortest time or the lowest cost to train).

Every evaluated value runs the same replications on the same failures (common random numbers), so
two values are compared by the CI of their paired difference. The search starts from a log grid
over the range, then refines around the best value while both its neighbours are significantly
worse; it stops when a neighbour cannot be told apart from the best (more refinement would only
chase noise), when the bracket is narrower than ``rel_tol``, or after ``max_rounds``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.analytic import daly_interval, job_mtbf_seconds, young_interval
from sim.analysis.work import DEFAULT_MAX_EVENTS
from sim.config.errors import ScenarioError, SweepError, shown
from sim.config.loading import with_overrides
from sim.config.scenario import Scenario
from sim.experiment.statistics import json_number
from sim.experiment.sweeps import SweepResult, check_objective, points_table, run_sweep, sweep_warnings
from sim.results.schema import INTERVAL, LOWER_IS_BETTER, best_index

#: Default search range for the interval, as factors of Daly's interval.
DEFAULT_SPAN = 8.0
FIRST_GRID = 9


@dataclass
class Optimum:
    """Where the search ended, and every point it evaluated."""

    key: str
    best: float
    bracket: tuple[float, float]
    objective: str
    best_mean: float
    best_ci95: tuple[float, float]
    young_minutes: float | None
    daly_minutes: float | None
    points: pd.DataFrame
    rounds: int
    at_edge: bool
    #: Every value evaluated as one sweep (its runs, points, best and warnings): what the results folder holds.
    sweep: SweepResult | None = None

    def to_json(self) -> dict[str, Any]:
        rows = [
            {
                "value": float(r[self.key]),
                "mean": json_number(r[f"{self.objective}.mean"]),
                "ci95": [json_number(r[f"{self.objective}.ci95_low"]), json_number(r[f"{self.objective}.ci95_high"])],
                "paired_difference_from_best": {
                    "mean": json_number(r[f"{self.objective}.diff_mean"]),
                    "ci95": [
                        json_number(r[f"{self.objective}.diff_ci95_low"]),
                        json_number(r[f"{self.objective}.diff_ci95_high"]),
                    ],
                },
            }
            for _, r in self.points.iterrows()
        ]
        return {
            "key": self.key,
            "objective": self.objective,
            "best": self.best,
            "bracket": list(self.bracket),
            "best_mean": json_number(self.best_mean),
            "best_ci95": [json_number(x) for x in self.best_ci95],
            "young_minutes": json_number(self.young_minutes),
            "daly_minutes": json_number(self.daly_minutes),
            "at_edge_of_range": self.at_edge,
            "rounds": self.rounds,
            "points": rows,
        }


def closed_form_minutes(scenario: Scenario) -> tuple[float | None, float | None]:
    """Young's and Daly's intervals in minutes (None without failures)."""
    mtbf = job_mtbf_seconds(scenario)
    write = scenario.blocking_seconds
    if math.isinf(mtbf) or write <= 0:
        return None, None
    return young_interval(write, mtbf) / 60.0, daly_interval(write, mtbf) / 60.0


def optimize(
    scenario: Scenario,
    key: str = INTERVAL,
    lo: float | None = None,
    hi: float | None = None,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    objective: str = "ettr",
    progress: Callable[[int, int], None] | None = None,
    max_rounds: int = 6,
    rel_tol: float = 0.02,
    max_events: float = DEFAULT_MAX_EVENTS,
) -> Optimum:
    """Find the value of ``key`` in ``[lo, hi]`` with the best mean ``objective`` (the highest, or the
    lowest for a time or a cost: ``sim.results.schema.LOWER_IS_BETTER``).

    For the checkpoint interval the policy is set to ``fixed`` (the swept value is the interval)
    and the range defaults to Daly's interval divided and multiplied by 8. Every value is checked,
    its work included (``max_events``, see ``run_sweep``), before any is simulated.
    """
    young, daly = closed_form_minutes(scenario)
    if key == INTERVAL:
        try:
            scenario = with_overrides(scenario, {"checkpoint.policy": "fixed"})
        except ScenarioError as e:
            raise SweepError(str(e)) from None
        if lo is None or hi is None:
            if daly is None:
                raise SweepError("no failure modes (or a free checkpoint) to take a range from: give lo, hi", "range")
            lo = daly / DEFAULT_SPAN if lo is None else lo
            hi = daly * DEFAULT_SPAN if hi is None else hi
    if lo is None or hi is None:
        raise SweepError(f"{shown(key)}: give the range to search, lo and hi", "range")
    if not (0 < lo < hi and math.isfinite(hi)):
        raise SweepError(f"{lo:g}:{hi:g}: needs finite numbers with 0 < lo < hi", "range")
    n = scenario.run.replications if replications is None else replications
    root = scenario.run.seed if seed is None else seed
    objective = check_objective(objective, [scenario])
    # Differences from the best, signed so that > 0 is better whatever the objective's direction.
    sign = -1.0 if objective in LOWER_IS_BETTER else 1.0

    runs: list[pd.DataFrame] = []
    tried: list[float] = []
    computed = 0

    def evaluate(values: list[float]) -> pd.DataFrame:
        nonlocal computed
        new = sorted({float(round(v, 6)) for v in values} - set(tried))
        if new:
            result = run_sweep(
                scenario,
                {key: new},
                n,
                seed=root,
                jobs=jobs,
                scheduler=scheduler,
                objective=objective,
                progress=progress,
                max_events=max_events,
            )
            runs.append(result.runs)
            tried.extend(new)
            computed += result.computed
        table = pd.concat(runs).sort_values([key, "replication"], kind="stable").reset_index(drop=True)
        return points_table(table, [key], objective)

    def best_of(points: pd.DataFrame) -> int:
        return best_index(points[f"{objective}.mean"].tolist(), objective)

    def better_high(points: pd.DataFrame) -> np.ndarray:
        """The upper end of each point's CI of (point - best), signed: < 0 means surely worse."""
        end = "high" if sign > 0 else "low"
        return np.asarray(sign * points[f"{objective}.diff_ci95_{end}"].to_numpy(float))

    points = evaluate(list(np.geomspace(lo, hi, FIRST_GRID)))
    rounds = 1
    while rounds < max_rounds:
        values = points[key].to_numpy(float)
        b = best_of(points)
        if b == 0 or b == len(values) - 1:
            break  # optimum at the edge: the range should be moved, not refined
        left, right = values[b - 1], values[b + 1]
        worse = better_high(points)
        if not (worse[b - 1] < 0 and worse[b + 1] < 0) or (right - left) / values[b] < rel_tol:
            break  # a neighbour is as good as the best within noise, or the bracket is tight
        points = evaluate([math.sqrt(left * values[b]), math.sqrt(values[b] * right)])
        rounds += 1

    values = points[key].to_numpy(float)
    b = best_of(points)
    same = better_high(points) >= 0
    i, j = b, b
    while i > 0 and same[i - 1]:
        i -= 1
    while j < len(values) - 1 and same[j + 1]:
        j += 1
    row = points.iloc[b]
    table = pd.concat(runs).sort_values([key, "replication"], kind="stable").reset_index(drop=True)
    tried_points = [({key: v}, with_overrides(scenario, {key: v})) for v in points[key].tolist()]
    sweep = SweepResult(
        scenario,
        root,
        n,
        {key: points[key].tolist()},
        table,
        points,
        objective,
        computed=computed,
        reused=0,
        warnings=sweep_warnings(scenario, tried_points, points),
    )
    return Optimum(
        key=key,
        best=float(values[b]),
        bracket=(float(values[i]), float(values[j])),
        objective=objective,
        best_mean=float(row[f"{objective}.mean"]),
        best_ci95=(float(row[f"{objective}.ci95_low"]), float(row[f"{objective}.ci95_high"])),
        young_minutes=young if key == INTERVAL else None,
        daly_minutes=daly if key == INTERVAL else None,
        points=points,
        rounds=rounds,
        at_edge=b in (0, len(values) - 1),
        sweep=sweep,
    )

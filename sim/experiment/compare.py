"""Paired comparison of scenarios: every scenario on the same failures, differences from the first with CIs.

Every scenario runs the same replications from the same seed: replication ``r`` of each draws its
failures from child ``r`` of the seed (common random numbers). Where the fleets agree (the keys of
``fleet``: servers, failure modes, horizon, repairs), the failure times are the same, so the
difference between two scenarios, taken replication by replication, holds far less noise than
either value: its 95% t-interval (``ci95``) is far narrower than Welch's interval for two
independent samples (``unpaired_ci95``), reported beside it for contrast (``sim.experiment.differences``).
Where the fleets differ (more GPUs, other failure modes), the failures differ too: the paired interval is
still valid, but no narrower.

>>> parse_variant("fast:restart.fixed_minutes=5,checkpoint.method=async")
('fast', {'restart.fixed_minutes': 5, 'checkpoint.method': 'async'})
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.analytic import interval_seconds
from sim.analysis.plausibility import points_warnings
from sim.analysis.work import DEFAULT_MAX_EVENTS, check_work
from sim.config.errors import CompareError, PrecisionError, ScenarioError, WorkLimitError, clip_key, shown
from sim.config.limits import MAX_REPLICATIONS, MAX_SEED
from sim.config.loading import fixed_for_interval, load_scenario, parse_value, with_overrides
from sim.config.scenario import Scenario
from sim.experiment.differences import differences
from sim.experiment.precision import DEFAULT_MAX, DEFAULT_MIN, Precision, precision_target, reached, until_precise
from sim.experiment.run_warnings import mean_wait, result_warnings, warnings_for
from sim.experiment.runner import Replication, Result, child_seed, simulate
from sim.experiment.statistics import json_number
from sim.experiment.workers import worker_pool

# ---------------------------------------------------------------- input


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME:KEY=VALUE,KEY=VALUE,...`` as the name and its overrides (values are TOML literals, as for ``--set``).

    A piece without ``=`` belongs to the value before it (an array such as ``[1,2]``).
    """
    name, sep, rest = text.partition(":")
    example = "e.g. fast-restart:restart.fixed_minutes=5,checkpoint.method=async"
    if not sep or not name.strip() or not rest.strip():
        raise CompareError(f"{shown(text)}: expected NAME:KEY=VALUE,... {example}", "variants")
    pieces: list[str] = []
    for piece in rest.split(","):
        if "=" in piece or not pieces:
            pieces.append(piece)
        else:
            pieces[-1] += "," + piece
    overrides: dict[str, Any] = {}
    for piece in pieces:
        key, sep, value = piece.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CompareError(f"{name.strip()}: {shown(piece)} is not KEY=VALUE ({example})", "variants")
        if key in overrides:
            raise CompareError(f"{name.strip()}: {clip_key(key)} given twice", "variants")
        overrides[key] = parse_value(value.strip())
    return name.strip(), overrides


def fleet(scenario: Scenario) -> dict[str, Any]:
    """What the failure draws of a replication depend on, by key: two scenarios that agree here see the same failures.

    The servers (job and spares, racks, switches), the horizon, the failure modes (but their names and
    sources), repairs, bad servers and retirement. Everything else (checkpoints, restarts, recovery,
    the workload, prices) is the job's, and moves no failure time.
    """
    d = scenario.model_dump(mode="json")
    out: dict[str, Any] = {"run.duration_days": d["run"]["duration_days"]}
    out |= {f"cluster.{k}": v for k, v in d["cluster"].items() if k != "gpu"}
    for section in ("repair", "heterogeneity", "retirement"):
        out |= {f"{section}.{k}": v for k, v in d[section].items() if k != "source"}
    out["failure modes"] = [m.model_dump(mode="json", exclude={"name", "source"}) for m in scenario.modes]
    return out


def fleet_differences(baseline: Scenario, other: Scenario) -> list[str]:
    """The keys of ``fleet`` in which ``other`` differs from ``baseline`` (none: the same failures)."""
    a, b = fleet(baseline), fleet(other)
    return [k for k in a if a[k] != b.get(k)] + [k for k in b if k not in a]


#: Fleet keys whose difference leaves the job's own servers on the same failure times (their draws are the spares').
SPARES_ONLY = ["cluster.spare_nodes"]


def pairing(baseline: Scenario, keys: list[str]) -> str:
    """How a scenario whose fleet differs from the baseline's in ``keys`` is paired with it: ``same failures``,
    ``same job servers`` (other spares only, on their own stream, sharing no repair crew, rack or switch with
    the job's servers), or ``other fleet``."""
    if not keys:
        return "same failures"
    shared = baseline.repair.technicians is not None or any(m.scope in ("rack", "switch") for m in baseline.modes)
    return "same job servers" if keys == SPARES_ONLY and not shared else "other fleet"


def fleet_note(baseline: Scenario, name: str, keys: list[str]) -> str:
    """What a fleet difference means for the pairing, in one line."""
    if pairing(baseline, keys) == "same job servers":
        return (
            f"{name} has other spares than {baseline.name} (cluster.spare_nodes): the job's own servers draw the "
            "same failure times, the spares their own"
        )
    return (
        f"{name} runs another fleet than {baseline.name} ({', '.join(keys)}): it draws other failure times "
        "(job-scope failures may still coincide), so pairing sharpens its differences less, or not at all"
    )


@dataclass
class Lineup:
    """The scenarios of a comparison, validated and named, and what was changed or noticed on the way."""

    scenarios: list[Scenario]
    replications: int
    seed: int
    notes: list[str] = field(default_factory=list)
    fleets: list[list[str]] = field(default_factory=list)  # per scenario: fleet keys that differ from the first


Given = Scenario | str | Path


def lineup(
    scenarios: Sequence[Given] | Mapping[str, Given],
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    max_events: float = DEFAULT_MAX_EVENTS,
) -> Lineup:
    """Validate everything before any work: the scenarios, the variants (the first scenario with overrides,
    named by their key), the counts and the work each costs. Names are made unique (``name-2``: its position).

    ``replications`` and ``seed`` default to the first scenario's, and become part of every scenario.
    """
    named = list(scenarios.items()) if isinstance(scenarios, Mapping) else [(None, s) for s in scenarios]
    loaded = [(name, s if isinstance(s, Scenario) else load_scenario(s)) for name, s in named]
    if not loaded:
        raise CompareError("nothing to compare: give at least one scenario", "scenarios")
    notes: list[str] = []
    base = loaded[0][1]
    for name, overrides in (variants or {}).items():
        keys = list(overrides)
        fixed = [k for k in keys if k in ("run.replications", "run.seed")]
        if fixed:
            # One count and one seed for every scenario: that is what pairs them.
            raise CompareError(f"{shown(name)}: {fixed[0]} is the comparison's own (replications, seed)", "variants")
        try:
            s, was = fixed_for_interval(base, keys)
            loaded.append((name, with_overrides(s, overrides)))
        except ScenarioError as e:
            raise CompareError(f"{shown(name)}: {e}", "variants") from None
        if was is not None:
            notes.append(
                f"variant {name} sets checkpoint.interval_minutes, so it runs checkpoint.policy = 'fixed' "
                f"instead of {base.name}'s {was!r}"
            )
    if len(loaded) < 2:
        raise CompareError("nothing to compare: give a second scenario or a variant", "scenarios")
    n = base.run.replications if replications is None else replications
    root = base.run.seed if seed is None else seed
    if not 1 <= n <= MAX_REPLICATIONS:
        raise CompareError(f"must be from 1 to {MAX_REPLICATIONS:,}, got {shown(n)}", "replications")
    if not 0 <= root <= MAX_SEED:
        raise CompareError(f"must be from 0 to {MAX_SEED}, got {shown(root)}", "seed")
    out: list[Scenario] = []
    seen: set[str] = set()
    for i, (given, s) in enumerate(loaded):
        name = s.name if given is None else given
        if name in seen:
            if given is not None:
                raise CompareError(f"{shown(name)}: the name of two scenarios; give each its own", "variants")
            name = f"{name}-{i + 1}"
        seen.add(name)
        try:
            s = with_overrides(s, {"name": name, "run.replications": n, "run.seed": root})
            interval_seconds(s)  # young or daly with nothing to compute from: bad input, not a crash
            check_work(s, max_events)
        except WorkLimitError as e:
            raise WorkLimitError(f"{name}: {e}") from None
        except ScenarioError as e:
            raise CompareError(f"{shown(name)}: {e}", None if given is None else "variants") from None
        out.append(s)
    fleets = [fleet_differences(out[0], s) for s in out]
    notes += [fleet_note(out[0], s.name, keys) for s, keys in zip(out[1:], fleets[1:], strict=True) if keys]
    return Lineup(out, n, root, notes, fleets)


# ---------------------------------------------------------------- the comparison


@dataclass
class CompareResult:
    """Scenarios run on the same failures: each one's ``Result`` and the paired differences from the first."""

    results: list[Result]
    seed: int
    replications: int
    differences: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    fleets: list[list[str]] = field(default_factory=list)
    runtime_s: float = 0.0
    #: Plausibility warnings one line per kind (naming the scenarios), then each scenario's own, prefixed by its name.
    warnings: list[str] = field(default_factory=list)
    #: The precision asked and whether every scenario met it (each one's ``Result.precision`` has its own).
    precision: dict[str, Any] | None = None

    @property
    def names(self) -> list[str]:
        """The scenarios' names, in order: the first is the baseline."""
        return [r.scenario.name for r in self.results]

    @property
    def pairings(self) -> list[str]:
        """Per scenario, how it is paired with the first (``pairing``)."""
        return [pairing(self.results[0].scenario, keys) for keys in self.fleets]

    def __getitem__(self, name: str) -> Result:
        return self.results[self.names.index(name)]

    @property
    def runs(self) -> pd.DataFrame:
        """Every scenario's runs table, one below the other, with a first column ``scenario``."""
        return pd.concat([r.runs.assign(scenario=r.scenario.name) for r in self.results], ignore_index=True)[
            ["scenario", *dict.fromkeys(c for r in self.results for c in r.runs.columns)]
        ]

    @property
    def summary(self) -> pd.DataFrame:
        """The mean of every metric (rows) for every scenario (columns)."""
        return pd.DataFrame({r.scenario.name: r.summary["mean"] for r in self.results})

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` document: ``{"scenarios": [run documents], "differences": [...]}``."""
        return {
            "scenarios": [r.to_json() for r in self.results],
            "differences": [
                {
                    "baseline": row["baseline"],
                    "scenario": row["scenario"],
                    "metric": row["metric"],
                    "mean": json_number(row["mean"]),
                    "ci95": [json_number(row["ci95_low"]), json_number(row["ci95_high"])],
                    "unpaired_ci95": [json_number(row["unpaired_ci95_low"]), json_number(row["unpaired_ci95_high"])],
                }
                for row in self.differences.to_dict("records")
            ],
        }


Task = tuple[int, Scenario, np.random.SeedSequence, int]
Row = tuple[Replication, ...]  # replication r of every scenario, in order


def _play(task: Task) -> tuple[int, Replication, float]:
    i, scenario, seed_seq, r = task
    start = time.perf_counter()
    return i, simulate(scenario, seed_seq, r, power_trace=False), time.perf_counter() - start


def run_lineup(
    plan: Lineup,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    precision: Precision | None = None,
) -> CompareResult:
    """Run every scenario of ``plan`` on ``jobs`` processes (the same results for any ``jobs``).

    With ``precision``, every scenario runs the same replications until the objective's mean of each
    meets it (``sim.experiment.precision``: checked replication by replication, so the count does not
    depend on ``jobs``); the paired differences are then narrower still.
    """
    if jobs < 1:
        raise CompareError(f"must be at least 1, got {shown(jobs)}", "jobs")
    k = len(plan.scenarios)
    root = np.random.SeedSequence(plan.seed)
    seconds = [0.0] * k
    count = [0, 0]  # replications done, and asked for so far
    start = time.perf_counter()
    workers = min(jobs, os.cpu_count() or 1)
    with worker_pool(workers) if workers > 1 else contextlib.nullcontext() as pool:

        def play(lo: int, hi: int) -> list[Row]:
            # Replication by replication, so that a partial run has every scenario as far along.
            scenarios = list(enumerate(plan.scenarios))
            tasks: list[Task] = [(i, s, child_seed(root, r), r) for r in range(lo, hi) for i, s in scenarios]
            slots: dict[tuple[int, int], Replication] = {}
            count[1] += len(tasks)

            def keep(i: int, rep: Replication, secs: float) -> None:
                slots[(i, rep.index)] = rep
                seconds[i] += secs
                count[0] += 1
                if progress:
                    progress(*count)

            if progress:
                progress(*count)
            if pool is None or len(tasks) == 1:
                for t in tasks:
                    keep(*_play(t))
            else:
                for f in as_completed([pool.submit(_play, t) for t in tasks]):
                    keep(*f.result())
            return [tuple(slots[(i, r)] for i in range(k)) for r in range(lo, hi)]

        if precision is None:
            rows = play(0, plan.replications)
        else:

            def value(row: Row) -> list[float]:
                return [rep.metrics.get(precision.metric, math.nan) for rep in row]

            def rounds(ranges: list[tuple[int, int, int]]) -> dict[int, list[Row]]:
                ((key, lo, hi),) = ranges
                return {key: play(lo, hi)}

            rows = until_precise([0], rounds, value, precision, workers)[0]
    n = len(rows)
    results = []
    for i, s in enumerate(plan.scenarios):
        reps = [row[i] for row in rows]
        if precision is not None:
            s = with_overrides(s, {"run.replications": n})
        result = Result(s, plan.seed, reps, runtime_s=seconds[i])
        if precision is not None:
            values = np.array([r.metrics.get(precision.metric, math.nan) for r in reps])
            result.precision = precision.to_json() | reached(values, precision).to_json()
        result.warnings.extend(warnings_for(s, result))
        results.append(result)
    block = None
    if precision is not None:
        met = all(r.precision is not None and r.precision["met"] for r in results)
        block = precision.to_json() | {"replications": n, "met": met}
    return CompareResult(
        results,
        plan.seed,
        n,
        differences(results),
        list(plan.notes),
        list(plan.fleets),
        time.perf_counter() - start,
        warnings=compare_warnings(results),
        precision=block,
    )


def compare_warnings(results: Sequence[Result]) -> list[str]:
    """The scenarios' plausibility warnings, one line per kind naming them, then each one's own (its name first)."""
    labelled = [(r.scenario.name, r.scenario, mean_wait(r)) for r in results]
    own = [f"{r.scenario.name}: {w}" for r in results for w in result_warnings(r)]
    return points_warnings(labelled) + own


def compare(
    scenarios: Sequence[Given] | Mapping[str, Given],
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    max_events: float = DEFAULT_MAX_EVENTS,
    progress: Callable[[int, int], None] | None = None,
    precision: float | Precision | None = None,
    rel_precision: float | None = None,
    objective: str = "ettr",
    min_replications: int = DEFAULT_MIN,
    max_replications: int = DEFAULT_MAX,
) -> CompareResult:
    """Run ``scenarios`` (Scenario objects or file paths; a mapping names them) and ``variants`` of the first
    on the same failures, and take every metric's paired difference from the first.

    ``replications`` and ``seed`` default to the first scenario's. Bad input raises ``CompareError`` or
    ``ScenarioError`` (a scenario above ``max_events``: ``WorkLimitError``) before any work starts.
    ``precision`` or ``rel_precision`` (as for ``sim.run``) runs replications until every scenario's
    ``objective`` meets it, instead of ``replications``.
    """
    target = precision_target(precision, rel_precision, objective, min_replications, max_replications)
    if target is not None and replications is not None:
        raise PrecisionError("give replications or a precision target, not both", "replications")
    return run_lineup(lineup(scenarios, variants, replications, seed, max_events), jobs, progress, target)

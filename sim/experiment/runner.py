"""Replications: one seeded run of the model, many of them (in parallel), and their statistics.

>>> from sim.config.loading import load_scenario_text
>>> s = load_scenario_text('''name = "tiny"
... [run]
... duration_days = 10
... [cluster]
... gpus = 64
... [checkpoint]
... write_seconds = 60
... [[failure]]
... name = "crash"
... scope = "job"
... mtbf_hours = 24
... action = "restart"''')
>>> result = run(s, replications=4, seed=1)
>>> bool(0.8 < result.summary.loc["ettr", "mean"] < 1.0)
True
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import simpy
from simpy.core import StopSimulation

from sim.analysis.work import DEFAULT_MAX_EVENTS, check_work
from sim.config.errors import PrecisionError
from sim.config.loading import with_overrides
from sim.config.scenario import Scenario
from sim.experiment.precision import DEFAULT_MAX, DEFAULT_MIN, Precision, precision_target, reached, until_precise
from sim.experiment.run_warnings import warnings_for
from sim.experiment.statistics import STAT_COLUMNS, describe, finish_dates, stat_json
from sim.experiment.workers import worker_pool
from sim.model import power
from sim.model.cluster import Cluster
from sim.model.failures import NodeTimeline, job_timeline, node_timeline, with_domains
from sim.model.fleet import fleet_rates
from sim.model.job import Job
from sim.model.ledger import Ledger, cost_per_gpu_second, metrics
from sim.model.misdiagnosis import misdiagnose
from sim.model.process import EVENT_ROWS
from sim.model.repairs import fleet_metrics, server_timeline, with_technicians
from sim.model.replica import ReplicaJob
from sim.model.retirement import retire
from sim.model.spec import JobSpec
from sim.results.schema import CENSORED

#: Random streams of a replication, spawned from its SeedSequence in this order. Append, never
#: reorder: a child's stream depends only on its index.
STREAMS = (
    "job_nodes",
    "spare_nodes",
    "job_failures",
    "job_targets",
    "racks",
    "switches",
    "frailty",
    "bad_nodes",
    "job_repairs",
    "spare_repairs",
    "misdiagnoses",
)

#: Per-cause figures of a replication, each a column ``<kind>.<cause>`` of the runs table.
BY_CAUSE = ("interruptions_by_cause", "lost_gpu_hours_by_cause", "lost_usd_by_cause")
EVENT_COLUMNS = ["replication", "time_hours", "kind", "cause", "node", "lost_gpu_hours"]
POWER_COLUMNS = ["replication", "time_s", "it_mw", "facility_mw"]


@dataclass
class Replication:
    """What one replication produced."""

    index: int
    metrics: dict[str, float]
    interruptions_by_cause: dict[str, float]
    lost_gpu_hours_by_cause: dict[str, float]
    events: list[tuple[float, str, str, int, float]]
    gpu_seconds: dict[str, float] = field(default_factory=dict)
    lost_usd_by_cause: dict[str, float] = field(default_factory=dict)
    events_dropped: int = 0  # events past the log's limit (a failure storm), counted but not kept
    # The IT draw, (seconds, MW), a polyline; not compared (arrays): the metrics made from it are.
    power: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False)

    def row(self, causes: Sequence[str]) -> dict[str, float]:
        """Every metric, and every by-cause figure as ``<kind>.<cause>`` (0 where it never struck)."""
        out = dict(self.metrics)
        for kind in BY_CAUSE:
            values: dict[str, float] = getattr(self, kind)
            out.update({f"{kind}.{c}": values.get(c, 0.0) for c in causes})
        return out


@dataclass
class Result:
    """Many replications of one scenario: per-run table, statistics, event log, warnings."""

    scenario: Scenario
    seed: int
    replications: list[Replication]
    runtime_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    #: The ``precision`` block (``sim.experiment.precision``): asked and reached; ``None`` for a fixed count.
    precision: dict[str, Any] | None = None

    @property
    def causes(self) -> list[str]:
        return [m.name for m in self.scenario.modes]

    @property
    def runs(self) -> pd.DataFrame:
        """One row per replication, one column per metric (by-cause columns named ``kind.cause``)."""
        return pd.DataFrame([{"replication": r.index, **r.row(self.causes)} for r in self.replications])

    @property
    def events(self) -> pd.DataFrame:
        """One row per event of every replication."""
        rows = [(r.index, t / 3600.0, k, c, n, g) for r in self.replications for (t, k, c, n, g) in r.events]
        return pd.DataFrame(rows, columns=EVENT_COLUMNS)

    @property
    def power(self) -> pd.DataFrame:
        """The IT and facility draw of every replication that kept its trace: a polyline per replication
        (linear between rows; a step is two rows at one time), as ``power.parquet`` holds it."""
        pue = self.scenario.energy.pue
        parts = [
            pd.DataFrame({"replication": np.full(r.power[0].size, r.index, np.int32), "time_s": r.power[0],
                          "it_mw": r.power[1], "facility_mw": r.power[1] * pue})
            for r in self.replications
            if r.power is not None
        ]  # fmt: skip
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=POWER_COLUMNS)

    @property
    def summary(self) -> pd.DataFrame:
        """Statistics of every metric over the replications: rows are metrics."""
        runs = self.runs.drop(columns="replication")
        stats_of = {name: describe(runs[name].to_numpy(), name in CENSORED) for name in runs.columns}
        return pd.DataFrame(stats_of).T[STAT_COLUMNS]

    def to_json(self) -> dict[str, object]:
        """The ``--format json`` document of ``trainsim run`` (its keys: docs/results.md)."""
        summary = self.summary

        def block(prefix: str) -> dict[str, object]:
            return {
                name[len(prefix) :]: stat_json(summary.loc[name]) for name in summary.index if name.startswith(prefix)
            }

        doc: dict[str, object] = {
            "scenario": self.scenario.name,
            "replications": len(self.replications),
            "seed": self.seed,
            "metrics": metrics_json(summary),
            **{kind: block(f"{kind}.") for kind in BY_CAUSE},
        }
        start = self.scenario.run.start_date
        if start is not None and "time_to_train_days" in summary.index:
            doc["finish_date"] = finish_dates(summary, start)
        if self.precision is not None:
            doc["precision"] = dict(self.precision)
        return doc


def metrics_json(summary: pd.DataFrame) -> dict[str, object]:
    """The ``metrics`` block of the JSON documents: every metric but the by-cause ones."""
    return {n: stat_json(summary.loc[n]) for n in summary.index if n.split(".")[0] not in BY_CAUSE}


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One SeedSequence per replication; replication ``r`` gets the same one whatever the count."""
    root = np.random.SeedSequence(seed)
    return [child_seed(root, r) for r in range(replications)]


def child_seed(seed_seq: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """Child ``i`` of ``seed_seq``, as ``spawn`` would make it, without spawn's hidden counter.

    ``SeedSequence.spawn`` numbers children from a counter kept in the object, so spawning twice
    from one object gives different streams; deriving the child from its key keeps a replication's
    streams the same however often it is played.

    >>> root = np.random.SeedSequence(5)
    >>> child_seed(root, 1).generate_state(1) == root.spawn(2)[1].generate_state(1)
    array([ True])
    """
    return np.random.SeedSequence(
        entropy=seed_seq.entropy, spawn_key=(*seed_seq.spawn_key, i), pool_size=seed_seq.pool_size
    )


def simulate(
    scenario: Scenario, seed_seq: np.random.SeedSequence, index: int = 0, power_trace: bool = True
) -> Replication:
    """Run one replication of ``scenario`` from ``seed_seq``; ``power_trace``: keep the power trace."""
    rngs = {name: np.random.default_rng(child_seed(seed_seq, i)) for i, name in enumerate(STREAMS)}
    timeline = fleet_timeline(scenario, rngs)
    job_times, job_modes = job_timeline(scenario.modes, scenario.horizon_seconds, rngs["job_failures"],
                                        scenario.cluster.fleet_age)  # fmt: skip
    # Which replica a job-scope failure strikes (replica recovery): drawn for every strategy alike.
    targets = rngs["job_targets"].random(job_times.size)
    return play(scenario, timeline, job_times, job_modes, index, targets, power_trace=power_trace)


def fleet_timeline(scenario: Scenario, rngs: dict[str, np.random.Generator]) -> NodeTimeline:
    """Every server's failures and returns over the horizon (job servers, then spares), as a replication
    draws them from its streams ``rngs`` (``STREAMS``), before and whatever the job does.

    >>> from sim.config.loading import load_scenario_text
    >>> s = load_scenario_text('''name = "fleet"
    ... [cluster]
    ... gpus = 64
    ... [checkpoint]
    ... write_seconds = 60
    ... [[failure]]
    ... name = "psu"
    ... scope = "node"
    ... mtbf_hours = 100
    ... repair_hours = 1''')
    >>> seed = np.random.SeedSequence(1)
    >>> tl = fleet_timeline(s, {name: np.random.default_rng(child_seed(seed, i)) for i, name in enumerate(STREAMS)})
    >>> tl.nodes, bool(150 < len(tl.time) < 250)   # 8 servers, 2400 h: about 190 failures
    (8, True)
    """
    modes = scenario.modes
    horizon = scenario.horizon_seconds
    gpn = scenario.cluster.gpus_per_node
    age = scenario.cluster.fleet_age
    # Servers that differ: multipliers of every server (job's, then spares), from streams of their own.
    fleet = fleet_rates(scenario.heterogeneity, modes, scenario.fleet_nodes, rngs["frailty"], rngs["bad_nodes"])
    rate = None if fleet is None else fleet.multiplier
    # What a repair that works makes of a bad server (repair.cures_bad_nodes): good, its frailty kept.
    cured = None if fleet is None else replace(fleet, bad=np.zeros_like(fleet.bad)).multiplier
    rep = scenario.repair
    parts = (("job", 0, scenario.job_nodes), ("spare", scenario.job_nodes, scenario.fleet_nodes))
    timeline = NodeTimeline.concat(
        [
            server_timeline(
                modes,
                stop - start,
                gpn,
                horizon,
                rngs[f"{part}_nodes"],
                rep,
                rngs[f"{part}_repairs"],
                rate=_rows(rate, start, stop),
                cured=_rows(cured, start, stop),
                fleet_age=age,
            )
            for part, start, stop in parts
        ]
    )
    # Retirement first: a retired server needs no repair (it never holds a technician), and it is
    # never pulled for another's fault.
    timeline = retire(timeline, scenario.retirement)
    timeline = misdiagnose(timeline, modes, rep, rngs["misdiagnoses"])
    if scenario.repair.technicians is not None:
        # Server repairs share the technicians; rack and switch repairs are crews of their own.
        timeline = with_technicians(timeline, scenario.repair.technicians, horizon)
    for scope, stream in (("rack", "racks"), ("switch", "switches")):
        per = scenario.domain_nodes(scope)
        if per is not None and any(m.scope == scope for m in modes):
            n = -(-timeline.nodes // per)
            domains = node_timeline(modes, n, 1, horizon, rngs[stream], scopes=(scope,), fleet_age=age)
            timeline = with_domains(timeline, domains, per)
    return timeline


def _rows(rate: np.ndarray | None, start: int, stop: int) -> np.ndarray | None:
    return None if rate is None else rate[start:stop]


def play(
    scenario: Scenario,
    timeline: NodeTimeline,
    job_times: np.ndarray,
    job_modes: np.ndarray,
    index: int = 0,
    job_targets: np.ndarray | None = None,
    event_rows: int = EVENT_ROWS,
    power_trace: bool = True,
) -> Replication:
    """Play the job against given failures (drawn by ``simulate``, or scripted by a test).

    ``event_rows``: the most rows of the event log kept (the rest are counted: a failure storm's
    log must not fill the memory); ``power_trace``: keep the power trace (its metrics are always made).
    """
    modes = scenario.modes
    env = simpy.Environment()
    cluster = Cluster(env, modes, timeline, job_times, job_modes, scenario.job_nodes)
    ledger = Ledger(scenario.cluster.gpus)
    spec = JobSpec.from_scenario(scenario)
    job: Job | ReplicaJob
    if spec.strategy == "replica":
        targets = [] if job_targets is None else job_targets.tolist()
        job = ReplicaJob(env, cluster, ledger, spec, job_targets=targets, event_rows=event_rows)
    else:
        job = Job(env, cluster, ledger, spec, event_rows=event_rows)
    cluster.start(job.start())
    if spec.target_gs is not None:
        # The run ends when the final save after reaching the target is done, or at the horizon.
        job.stop = env.event()
        job.stop.callbacks.append(StopSimulation.callback)
    env.run(until=scenario.horizon_seconds)
    job.close()
    seconds = scenario.horizon_seconds if job.finished_at is None else job.finished_at
    seg = job.segment
    draw = power.trace(scenario, job.spans.rows, timeline, seconds, seg.cycle_s, seg.interval_s)
    plain = None
    if scenario.power.smoothing:
        plain = power.trace(scenario, job.spans.rows, timeline, seconds, seg.cycle_s, seg.interval_s, smoothing=False)
    watts = power.figures(scenario, draw, ledger.gpu_seconds, seconds, plain)
    energy = (watts["energy_mwh"], watts["energy_cost_usd"])
    values = metrics(scenario, ledger, seconds, finished=job.finished_at is not None, energy=energy)
    values.update(watts)
    if isinstance(job, Job):
        # Silent corruptions found after every kept checkpoint was already corrupted (see the README).
        values["sdc_beyond_history"] = float(job.beyond_history)
    values.update(fleet_metrics(timeline, modes, seconds))
    values["spares_consumed"] = float(cluster.filled)
    usd = cost_per_gpu_second(scenario, values, seconds)
    return Replication(
        index=index,
        metrics=values,
        interruptions_by_cause={c: float(n) for c, n in ledger.interruptions.items()},
        lost_gpu_hours_by_cause={c: v / 3600.0 for c, v in ledger.lost_by_cause.items()},
        events=job.log.rows,
        events_dropped=job.log.dropped,
        gpu_seconds=dict(ledger.gpu_seconds),
        lost_usd_by_cause={c: v * usd for c, v in ledger.lost_by_cause.items()},
        power=(draw.x, draw.y) if power_trace else None,
    )


def _simulate_args(args: tuple[Scenario, np.random.SeedSequence, int, bool]) -> Replication:
    return simulate(*args)


def run(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    indices: Iterable[int] | None = None,
    max_events: float = DEFAULT_MAX_EVENTS,
    precision: float | Precision | None = None,
    rel_precision: float | None = None,
    objective: str = "ettr",
    min_replications: int = DEFAULT_MIN,
    max_replications: int = DEFAULT_MAX,
    power_trace: bool = True,
) -> Result:
    """Run ``replications`` (default: the scenario's) from ``seed``, on ``jobs`` processes.

    The result is the same, byte for byte, for any ``jobs``. A scenario that expects more than
    ``max_events`` events in a replication is refused before any work (``WorkLimitError``).

    ``precision`` (an absolute 95% CI half-width of ``objective``'s mean, 0.002 for 0.2 points of
    ETTR) or ``rel_precision`` (relative to the mean) runs replications until it is met, from
    ``min_replications`` to ``max_replications`` (``sim.experiment.precision``; ``replications``
    is then not given). ``Result.precision`` says how many it took and what was reached.
    ``power_trace=False``: keep no power trace (``Result.power`` is empty; the power metrics stay).
    """
    root = scenario.run.seed if seed is None else seed
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    target = precision_target(precision, rel_precision, objective, min_replications, max_replications)
    if target is not None and (replications is not None or indices is not None):
        raise PrecisionError("give replications or a precision target, not both", "replications")
    n = scenario.run.replications if replications is None else replications
    if n < 1:
        raise ValueError(f"replications must be >= 1, got {n}")
    check_work(scenario, max_events)
    start = time.perf_counter()
    todo = list(range(n)) if indices is None else list(indices)
    workers = min(jobs, os.cpu_count() or 1, len(todo) if target is None else jobs)
    with worker_pool(workers) if workers > 1 else contextlib.nullcontext() as pool:
        if target is None:
            reps = play_replications(scenario, root, todo, pool, power_trace)
            block = None
        else:

            def play_ranges(ranges: list[tuple[int, int, int]]) -> dict[int, list[Replication]]:
                ((key, lo, hi),) = ranges
                return {key: play_replications(scenario, root, list(range(lo, hi)), pool, power_trace)}

            def value(r: Replication) -> float:
                return r.metrics.get(target.metric, math.nan)

            reps = until_precise([0], play_ranges, value, target, workers)[0]
            block = target.to_json() | reached(np.array([value(r) for r in reps]), target).to_json()
            # The scenario as it ran: rerunning it with its replications gives these very results.
            scenario = with_overrides(scenario, {"run.replications": len(reps)})
    result = Result(scenario=scenario, seed=root, replications=reps, runtime_s=time.perf_counter() - start)
    result.precision = block
    result.warnings.extend(warnings_for(scenario, result))
    return result


def play_replications(
    scenario: Scenario,
    root: int,
    indices: list[int],
    pool: ProcessPoolExecutor | None = None,
    power_trace: bool = True,
) -> list[Replication]:
    """Replications ``indices`` of ``scenario`` from seed ``root``, in that order, here or on ``pool``."""
    base = np.random.SeedSequence(root)
    args = [(scenario, child_seed(base, i), i, power_trace) for i in indices]
    if pool is None or len(args) <= 1:
        return [_simulate_args(a) for a in args]
    return list(pool.map(_simulate_args, args))

"""Checkpoint methods and recovery strategies on any scenario (default: the 100k-H100 run), on the same failures.

Every configuration is the scenario file (by default ``scenarios/h100_100k.toml``: 100,000 H100,
100 days, Llama 3 failure mix, 10-minute restarts, 28 TB checkpoints written and read at 2 TB/s,
Daly's interval from the blocking checkpoint time) with a few overrides, listed by ``configs``:

- checkpoint methods, restart recovery: ``sync`` (the file as given: the baseline), ``async``
  (block for a snapshot, write in the background), ``memory`` (snapshot into the pair partner's host
  memory, every 4th checkpoint persisted, restore from memory);
- recovery strategies, sync checkpoints: ``replica`` (only the failed data-parallel replica
  restarts, after a whole-job stall) and ``async + replica``; and, with half the file's spares (for
  the 100k run 125 servers, 1%, instead of 250) so that the pool runs dry, ``restart`` against
  ``shrink`` (restart on the complete replicas instead of waiting for repairs).

The comparison is ``sim.compare``: the file and its variants, every one on the same replications
from the same seed, so replication r of each draws the same failure times (common random numbers;
cutting spares changes only the spares' own draws), and a difference from the baseline is taken
replication by replication. This script adds the study's own table, secondary contrasts, closed
forms and assumptions; ``trainsim compare`` gives the same comparison for any files and variants.

Assumed values (no published figure; change them in ``ASSUMED``):

- ``snapshot_seconds = 3``: copying a GPU's share of the state to host memory (28 TB / 100,000 GPUs
  = 280 MB per GPU) takes well under a second over PCIe; 3 s leaves room for quiescing the step
  (the file's whole write time when that is shorter).
- ``restart.memory_load_seconds = 5``: restoring 280 MB per GPU from a partner's host memory over
  the network, against 14 s to read 28 TB from storage at 2 TB/s.
- ``persist_every = 4``: one in-memory checkpoint in four also goes to storage.
- ``recovery.stall_minutes = 3``: the whole job pauses a few minutes while the replicas agree on a
  new quorum after each failure.
- Unless the file sets its own ``tensor_parallel`` x ``pipeline_parallel``, a data-parallel replica
  of ``tensor_parallel = 8`` x the smallest ``pipeline_parallel`` of at least 100 that divides the
  job (for the 100k run: 800 GPUs, 100 servers, 125 replicas): the simulator only uses the product,
  the GPUs that hold one full copy of the state (e.g. TP 8 x PP 20 with the state sharded 5 ways
  inside the replica, as in HSDP). A replica must hold the whole state to be recovered from its
  peers: 28 TB / 800 = 35 GB per GPU, 44% of an H100's 80 GB (``trainsim check``); a replica of 80
  GPUs would need 350 GB per GPU.

Run: .venv/bin/python scenarios/strategies.py [SCENARIO] [--replications N] [--seed S] [--jobs J] [--out DIR]
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import study
from study import ci_text, versus

import sim
from sim.analysis.analytic import daly_ettr, interval_seconds, job_mtbf_seconds, mean_detect_seconds
from sim.config.errors import InputError
from sim.config.scenario import Scenario
from sim.experiment.compare import CompareResult
from sim.experiment.compare_save import write_compare
from sim.experiment.differences import differences
from sim.experiment.statistics import describe
from sim.results.files import utc_now
from sim.results.schema import BUCKETS

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "h100_100k.toml"
DEFAULT_OUT = Path("results") / "strategies"
#: Ledger buckets with a column of their own in the text table; any others are summed as "other".
SHOWN = ("useful", "lost", "checkpoint", "detect", "restart", "wait")

#: Assumed values (see the module docstring).
ASSUMED: dict[str, Any] = {
    "snapshot_seconds": 3.0,
    "memory_load_seconds": 5.0,
    "persist_every": 4,
    "stall_minutes": 3.0,
    "tensor_parallel": 8,
    "min_pipeline_parallel": 100,
}


def methods(scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    """The overrides of the async and memory methods; a snapshot no longer than the file's whole write.

    >>> methods(sim.load_scenario(SCENARIO))[0]
    {'checkpoint.method': 'async', 'checkpoint.snapshot_seconds': 3.0}
    """
    snapshot = min(ASSUMED["snapshot_seconds"], scenario.write_seconds)
    asynchronous = {"checkpoint.method": "async", "checkpoint.snapshot_seconds": snapshot}
    memory = {
        "checkpoint.method": "memory",
        "checkpoint.snapshot_seconds": snapshot,
        "checkpoint.persist_every": ASSUMED["persist_every"],
        "restart.memory_load_seconds": ASSUMED["memory_load_seconds"],
    }
    return asynchronous, memory


@dataclass(frozen=True)
class Config:
    """One configuration: its name (a variant's), label, overrides of the file, and the configuration it is best
    compared with."""

    name: str
    label: str
    overrides: dict[str, Any] = field(default_factory=dict)
    against: str | None = None


BASELINE = "sync + restart (baseline)"


def layout(scenario: Scenario) -> dict[str, Any] | None:
    """Overrides that give the replica strategies their data-parallel replica; ``None`` when none fits the job.

    The file's own layout if it sets one; else TP 8 x the smallest PP of at least 100 that divides the GPUs.

    >>> layout(sim.load_scenario(SCENARIO))
    {'workload.tensor_parallel': 8, 'workload.pipeline_parallel': 100}
    """
    w = scenario.workload
    if w.tensor_parallel * w.pipeline_parallel > 1:
        return {}
    tp, gpus = ASSUMED["tensor_parallel"], scenario.cluster.gpus
    pp = next((p for p in range(ASSUMED["min_pipeline_parallel"], gpus // tp + 1) if gpus % (tp * p) == 0), None)
    return None if pp is None else {"workload.tensor_parallel": tp, "workload.pipeline_parallel": pp}


def configs(scenario: Scenario) -> tuple[list[Config], list[str]]:
    """The configurations that apply to ``scenario``, and notes on those left out."""
    asynchronous, memory = methods(scenario)
    out = [
        Config(scenario.name, BASELINE),
        Config("async-restart", "async + restart", asynchronous, BASELINE),
        Config("memory-restart", "memory + restart", memory, "async + restart"),
    ]
    notes = []
    replica = layout(scenario)
    if replica is None:
        notes.append(
            f"replica and shrink left out: no replica of TP {ASSUMED['tensor_parallel']} x PP >= "
            f"{ASSUMED['min_pipeline_parallel']} divides {scenario.cluster.gpus:,} GPUs; set the layout in the file"
        )
        return out, notes
    stall = {"recovery.strategy": "replica", "recovery.stall_minutes": ASSUMED["stall_minutes"]}
    out += [
        Config("sync-replica", "sync + replica", {**replica, **stall}, BASELINE),
        Config("async-replica", "async + replica", {**replica, **stall, **asynchronous}, "sync + replica"),
    ]
    low = scenario.cluster.spare_nodes // 2
    if low < 1:
        notes.append("restart and shrink with fewer spares left out: the file has fewer than 2 spare servers")
        return out, notes
    spares = f"{100 * low / scenario.job_nodes:.2g}% spares"
    fewer = {"cluster.spare_nodes": low}
    out += [
        Config("sync-restart-fewer-spares", f"sync + restart, {spares}", fewer, BASELINE),
        Config(
            "sync-shrink-fewer-spares",
            f"sync + shrink, {spares}",
            {**replica, **fewer, "recovery.strategy": "shrink"},
            f"sync + restart, {spares}",
        ),
    ]
    return out, notes


def set_flags(overrides: dict[str, Any]) -> str:
    """The ``trainsim run`` options that make a configuration: ``--set key=value ...``.

    >>> set_flags({"checkpoint.method": "async", "checkpoint.snapshot_seconds": 3.0})
    '--set checkpoint.method=async --set checkpoint.snapshot_seconds=3'
    """
    return " ".join(f"--set {k}={v:g}" if isinstance(v, float) else f"--set {k}={v}" for k, v in overrides.items())


def rejoins(events: pd.DataFrame) -> pd.Series:
    """Per replication, restarts that began while the job was running: replicas rejoining (strategy shrink).

    A failure takes the job through ``detect`` first, so ``run`` directly followed by ``restart`` is a rejoin.

    >>> ev = pd.DataFrame({"replication": [0, 0, 0, 0, 0], "kind": ["run", "failure", "detect", "restart", "run"]})
    >>> rejoin = ev.assign(replication=1, kind=["run", "restart", "run", "failure", "detect"])
    >>> rejoins(pd.concat([ev, rejoin], ignore_index=True)).tolist()
    [0, 1]
    """
    previous = events.groupby("replication")["kind"].shift()
    hit = (events["kind"] == "restart") & (previous == "run")
    return hit.groupby(events["replication"]).sum().astype(int)


def run_all(path: Path, cfgs: list[Config], replications: int, seed: int, jobs: int) -> CompareResult:
    """Every configuration on the same failures: ``sim.compare`` of the file and its variants (any ``jobs``, the
    same results)."""
    variants = {c.name: c.overrides for c in cfgs[1:]}
    return sim.compare([path], replications=replications, seed=seed, jobs=jobs, variants=variants)


def closed_forms(result: CompareResult, cfgs: list[Config]) -> list[str]:
    """Closed forms for the baseline (Daly 2006) and the replica configurations (``sim/model/replica.py``)."""
    lines = []
    for cfg in cfgs:
        if cfg.label not in (BASELINE, "sync + replica", "async + replica"):
            continue
        s = result[cfg.name].scenario
        m, tau, delta = job_mtbf_seconds(s), interval_seconds(s), s.blocking_seconds
        if s.recovery.strategy == "restart":
            r = s.restart_seconds + mean_detect_seconds(s)
            lines.append(
                f"  {cfg.label}: Daly's ETTR tau / (M e^(R/M) (e^((tau + delta)/M) - 1)) with M = {m / 60:.2f} min, "
                f"tau = {tau / 60:.2f} min, delta = {delta:g} s, R = {r / 60:.2f} min: "
                f"{daly_ettr(tau, delta, r, m) * 100:.2f}%"
            )
        else:
            units = s.cluster.gpus // s.unit_gpus
            stall, d = s.recovery.stall_minutes * 60, s.restart_seconds
            ettr = math.exp(-stall / m - d / (units * m)) * tau / (tau + delta)
            lines.append(
                f"  {cfg.label}: e^(-S/M - D/(R M)) tau / (tau + delta) with S = {stall / 60:g} min, "
                f"M = {m / 60:.2f} min, D = {d / 60:.2f} min, R = {units} replicas, tau = {tau / 60:.2f} min, "
                f"delta = {delta:g} s: {ettr * 100:.2f}% (no detection delay)"
            )
    return lines


def summarise(result: CompareResult, cfgs: list[Config]) -> pd.DataFrame:
    """Per configuration: ETTR and effective compute (mean, CI), mean ledger fractions, paired ETTR differences."""
    name = {c.label: c.name for c in cfgs}
    diffs = result.differences.set_index(["scenario", "metric"])
    rows = []
    for cfg in cfgs:
        r = result[cfg.name]
        t = r.runs.set_index("replication")
        ettr = describe(t["ettr"].to_numpy(dtype=float))
        row: dict[str, Any] = {"configuration": cfg.label}
        row |= {f"ettr.{k}": ettr[k] for k in ("mean", "ci95_low", "ci95_high")}
        row["effective_compute_ratio"] = float(t["effective_compute_ratio"].mean())
        row["interruptions"] = float(t["interruptions"].mean())
        row["rejoins"] = float(rejoins(r.events).reindex(t.index, fill_value=0).mean())
        row |= {f"fraction_{b}": float(t[f"fraction_{b}"].mean()) for b in BUCKETS}
        row["fraction_other"] = sum(row[f"fraction_{b}"] for b in BUCKETS if b not in SHOWN)
        # The baseline against itself: zero, as every other row's difference is read.
        d = (
            diffs.loc[(cfg.name, "ettr")]
            if cfg.label != BASELINE
            else dict.fromkeys(("mean", "ci95_low", "ci95_high"), 0.0)
        )
        row |= {f"diff_baseline.{k}": d[k] for k in ("mean", "ci95_low", "ci95_high")}
        if cfg.against is not None:
            vs = differences([result[name[cfg.against]], r]).set_index("metric").loc["ettr"]
            row |= {"against": cfg.against} | {f"diff_against.{k}": vs[k] for k in ("mean", "ci95_low", "ci95_high")}
        rows.append(row)
    return pd.DataFrame(rows)


def report(
    table: pd.DataFrame, result: CompareResult, cfgs: list[Config], path: Path, notes: list[str], seconds: float
) -> str:
    """The study's text: one table, the paired contrasts, and the overrides of each configuration."""
    base = result.results[0].scenario
    # Buckets without a column of their own (e.g. maintenance) get one only when they hold time.
    other = bool(table["fraction_other"].max() > 0)
    head = (
        f"{'configuration':<27} {'ETTR % [95% CI]':<22} {'eff. compute %':>14} {'lost %':>7} {'ckpt %':>7} "
        f"{'detect %':>8} {'restart %':>9} {'wait %':>7}{' other %' if other else ''} {'rejoins':>7}  "
        f"{'ETTR - baseline, pp [95% CI]':<28}"
    )
    lines = [
        f"Checkpoint methods and recovery strategies: {path} "
        f"({base.cluster.gpus:,} x {base.cluster.gpu}, {base.run.duration_days:g} days)",
        f"{result.replications} replications per configuration, seed {result.seed}, the same failures in every "
        f"configuration (common random numbers); {seconds:.1f} s",
        "ledger columns: mean share of the job's GPU-time; "
        f"ETTR (useful) + lost + ckpt + detect + restart + wait{' + other' if other else ''} = 100%; "
        "rejoins: mean restarts per run to take dropped replicas back (shrink)",
        "",
        head,
        "-" * len(head),
    ]
    for _, r in table.iterrows():
        ettr = ci_text(r["ettr.mean"], r["ettr.ci95_low"], r["ettr.ci95_high"])
        diff = versus(r, "diff_baseline", BASELINE)
        lines.append(
            f"{r['configuration']:<27} {ettr:<22} {r['effective_compute_ratio'] * 100:>14.2f} "
            f"{r['fraction_lost'] * 100:>7.2f} {r['fraction_checkpoint'] * 100:>7.2f} "
            f"{r['fraction_detect'] * 100:>8.2f} {r['fraction_restart'] * 100:>9.2f} {r['fraction_wait'] * 100:>7.2f}"
            f"{f' {r.fraction_other * 100:>7.2f}' if other else ''} {r['rejoins']:>7.0f}  {diff:<28}"
        )
    lines += ["", "Paired contrasts (ETTR, percentage points, 95% CI of the replication-by-replication difference):"]
    for _, r in table.iterrows():
        if isinstance(r.get("against"), str):
            d = ci_text(r["diff_against.mean"], r["diff_against.ci95_low"], r["diff_against.ci95_high"], sign=True)
            lines.append(f"  {r['configuration']} - {r['against']}: {d}")
    lines += ["", "Closed forms (exponential failures, instant spares):", *closed_forms(result, cfgs)]
    lines += ["", f"Overrides of {path} (trainsim run {path} ...):"]
    for cfg in cfgs:
        lines.append(f"  {cfg.label}: {set_flags(cfg.overrides) or '(none)'}")
    replica = next((result[c.name].scenario for c in cfgs if c.label == "sync + replica"), None)
    fewer = next((result[c.name].scenario for c in cfgs if "shrink" in c.label), None)
    assumed = (
        f"Assumed: snapshot {result.results[1].scenario.checkpoint.snapshot_seconds:g} s, "
        f"memory load {ASSUMED['memory_load_seconds']:g} s, "
        f"persist every {ASSUMED['persist_every']} checkpoints, stall {ASSUMED['stall_minutes']:g} min"
    )
    if replica is not None:
        assumed += f", replicas of {replica.unit_gpus} GPUs ({replica.cluster.gpus // replica.unit_gpus:,} replicas)"
    if fewer is not None:
        assumed += (
            f", fewer spares: {fewer.cluster.spare_nodes} servers "
            f"({100 * fewer.cluster.spare_nodes / base.job_nodes:.2g}% of {base.job_nodes:,}; "
            f"the file has {base.cluster.spare_nodes})"
        )
    lines += ["", assumed + ".", *(f"Note: {n}." for n in notes)]
    lines += [
        "",
        "The same comparison on the command line: trainsim compare "
        + " ".join([str(path), *(f"--variant {c.name}:{_assignments(c.overrides)}" for c in cfgs[1:])]),
    ]
    return "\n".join(lines)


def _assignments(overrides: dict[str, Any]) -> str:
    return ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in overrides.items())


def _shown(path: Path) -> Path:
    """``path`` relative to the current folder when it is under it (``scenarios/h100_100k.toml``), else as given."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def main(argv: list[str] | None = None) -> int:
    a = study.arguments(__doc__, 100, DEFAULT_OUT, argv, scenario=SCENARIO)
    start = time.perf_counter()
    started = utc_now()
    try:
        cfgs, notes = configs(sim.load_scenario(a.scenario))
        result = run_all(a.scenario, cfgs, a.replications, a.seed, a.jobs)
    except InputError as e:  # a scenario or a configuration this file cannot take: one line, exit 2
        print(f"strategies.py: error: {e}", file=sys.stderr)
        return 2
    table = summarise(result, cfgs)
    text = report(table, result, cfgs, _shown(a.scenario), notes, time.perf_counter() - start)
    print(text)
    # The comparison's own folder (runs, differences, a run folder per configuration, its charts and report.html),
    # then the study's files beside it; strategies.png is the comparison's ledger chart.
    folder = a.out / "compare"
    sources = [{"file": str(a.scenario), "variant": c.overrides if i else None} for i, c in enumerate(cfgs)]
    write_compare(folder, result, [a.scenario.read_bytes()] * len(cfgs), started, sources)
    from sim.plots.base import save  # matplotlib: only once the results are written
    from sim.plots.compare import ledger, write_compare_charts
    from sim.report.compare_html import write_compare_html
    from sim.results.folder import CompareFolder, load

    write_compare_charts(folder)
    write_compare_html(folder)
    compared = load(folder)
    assert isinstance(compared, CompareFolder)

    def chart(path: Path) -> None:
        save(ledger(compared), path)

    study.save(a.out, "strategies", text, table, result.runs, chart)
    print(f"and the comparison's folder {folder}/ (trainsim plot {folder} draws its charts again)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

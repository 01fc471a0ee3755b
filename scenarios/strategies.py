"""Checkpoint methods and recovery strategies on the 100k-H100 run, compared on the same failures.

Every configuration is ``scenarios/h100_100k.toml`` (100,000 H100, 100 days, Llama 3 failure mix,
10-minute restarts, 28 TB checkpoints written and read at 2 TB/s, Daly's interval from the blocking
checkpoint time) with a few overrides, listed in ``CONFIGS``:

- checkpoint methods, restart recovery: ``sync`` (the file as shipped: the baseline), ``async``
  (block for a snapshot, write in the background), ``memory`` (snapshot into the pair partner's host
  memory, every 4th checkpoint persisted, restore from memory);
- recovery strategies, sync checkpoints: ``replica`` (only the failed data-parallel replica
  restarts, after a whole-job stall) and ``async + replica``; and, with spares cut from 250 servers
  (2%) to 125 (1%) so that the pool runs dry, ``restart`` against ``shrink`` (restart on the
  complete replicas instead of waiting for repairs).

Assumed values (no published figure; change them in ``ASSUMED``):

- ``snapshot_seconds = 3``: copying a GPU's share of the state to host memory (28 TB / 100,000 GPUs
  = 280 MB per GPU) takes well under a second over PCIe; 3 s leaves room for quiescing the step.
- ``restart.memory_load_seconds = 5``: restoring 280 MB per GPU from a partner's host memory over
  the network, against 14 s to read 28 TB from storage at 2 TB/s.
- ``persist_every = 4``: one in-memory checkpoint in four also goes to storage.
- ``recovery.stall_minutes = 3``: the whole job pauses a few minutes while the replicas agree on a
  new quorum after each failure.
- A data-parallel replica of 800 GPUs (100 servers; 125 replicas), written ``tensor_parallel = 8``,
  ``pipeline_parallel = 100``: the simulator only uses the product, the GPUs that hold one full copy
  of the state (e.g. TP 8 x PP 20 with the state sharded 5 ways inside the replica, as in HSDP).
  A replica must hold the whole state to be recovered from its peers: 28 TB / 800 = 35 GB per
  GPU, 44% of an H100's 80 GB (``trainsim check``); a replica of 80 GPUs would need 350 GB per GPU.

All configurations run the same replications from the same seed: replication r of each draws the
same failure times (common random numbers; cutting spares changes only the spares' own draws), so
the difference from the baseline is taken replication by replication, and its CI is much narrower
than those of the two values.

Run: .venv/bin/python scenarios/strategies.py [--replications N] [--seed S] [--jobs J] [--out DIR]
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import study
from matplotlib.figure import Figure
from study import ci_text, paired, versus

import sim
from sim.analysis.analytic import daly_ettr, interval_seconds, job_mtbf_seconds, mean_detect_seconds
from sim.experiment.statistics import describe
from sim.plots.palette import BUCKET_COLORS
from sim.results.schema import BUCKET_LABELS, BUCKETS

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
    "pipeline_parallel": 100,
    "low_spares": 125,
}

ASYNC = {"checkpoint.method": "async", "checkpoint.snapshot_seconds": ASSUMED["snapshot_seconds"]}
MEMORY = {
    "checkpoint.method": "memory",
    "checkpoint.snapshot_seconds": ASSUMED["snapshot_seconds"],
    "checkpoint.persist_every": ASSUMED["persist_every"],
    "restart.memory_load_seconds": ASSUMED["memory_load_seconds"],
}
LAYOUT = {
    "workload.tensor_parallel": ASSUMED["tensor_parallel"],
    "workload.pipeline_parallel": ASSUMED["pipeline_parallel"],
}
REPLICA = {**LAYOUT, "recovery.strategy": "replica", "recovery.stall_minutes": ASSUMED["stall_minutes"]}
LOW_SPARES = {"cluster.spare_nodes": ASSUMED["low_spares"]}


@dataclass(frozen=True)
class Config:
    """One configuration: a label, its overrides of h100_100k.toml, and the configuration it is best compared with."""

    label: str
    overrides: dict[str, Any] = field(default_factory=dict)
    against: str | None = None


CONFIGS: tuple[Config, ...] = (
    Config("sync + restart (baseline)"),
    Config("async + restart", ASYNC, "sync + restart (baseline)"),
    Config("memory + restart", MEMORY, "async + restart"),
    Config("sync + replica", REPLICA, "sync + restart (baseline)"),
    Config("async + replica", {**REPLICA, **ASYNC}, "sync + replica"),
    Config("sync + restart, 1% spares", LOW_SPARES, "sync + restart (baseline)"),
    Config(
        "sync + shrink, 1% spares", {**LAYOUT, **LOW_SPARES, "recovery.strategy": "shrink"}, "sync + restart, 1% spares"
    ),
)
BASELINE = CONFIGS[0].label


def set_flags(overrides: dict[str, Any]) -> str:
    """The ``trainsim run`` options that make a configuration: ``--set key=value ...``.

    >>> set_flags({"checkpoint.method": "async", "checkpoint.snapshot_seconds": 3.0})
    '--set checkpoint.method=async --set checkpoint.snapshot_seconds=3'
    """
    return " ".join(f"--set {k}={v:g}" if isinstance(v, float) else f"--set {k}={v}" for k, v in overrides.items())


def _chunk(args: tuple[int, int, int, list[int]]) -> pd.DataFrame:
    """Replications ``indices`` of configuration ``i`` (in a worker process)."""
    i, replications, seed, indices = args
    cfg = CONFIGS[i]
    scenario = sim.load_scenario(SCENARIO, overrides=cfg.overrides)
    result = sim.run(scenario, replications=replications, seed=seed, indices=indices)
    runs = result.runs
    runs.insert(0, "configuration", cfg.label)
    runs["rejoins"] = rejoins(result.events).reindex(runs["replication"], fill_value=0).to_numpy()
    return runs


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


def run_all(replications: int, seed: int, jobs: int) -> pd.DataFrame:
    """The runs table of every configuration: one row per configuration and replication.

    All (configuration, chunk of replications) tasks share one pool of ``jobs`` processes; the
    result does not depend on ``jobs``.
    """
    chunk = 5
    tasks = [
        (i, replications, seed, list(range(k, min(k + chunk, replications))))
        for i in range(len(CONFIGS))
        for k in range(0, replications, chunk)
    ]
    if jobs == 1:
        parts = [_chunk(t) for t in tasks]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            parts = list(pool.map(_chunk, tasks))
    return pd.concat(parts, ignore_index=True)


def closed_forms() -> list[str]:
    """Closed forms for the baseline (Daly 2006) and the replica configurations (``sim/model/replica.py``)."""
    lines = []
    for label in (BASELINE, "sync + replica", "async + replica"):
        s = sim.load_scenario(SCENARIO, overrides=next(c for c in CONFIGS if c.label == label).overrides)
        m, tau, delta = job_mtbf_seconds(s), interval_seconds(s), s.blocking_seconds
        if s.recovery.strategy == "restart":
            r = s.restart_seconds + mean_detect_seconds(s)
            lines.append(
                f"  {label}: Daly's ETTR tau / (M e^(R/M) (e^((tau + delta)/M) - 1)) with M = {m / 60:.2f} min, "
                f"tau = {tau / 60:.2f} min, delta = {delta:g} s, R = {r / 60:.2f} min: "
                f"{daly_ettr(tau, delta, r, m) * 100:.2f}%"
            )
        else:
            units = s.cluster.gpus // s.unit_gpus
            stall, d = s.recovery.stall_minutes * 60, s.restart_seconds
            ettr = math.exp(-stall / m - d / (units * m)) * tau / (tau + delta)
            lines.append(
                f"  {label}: e^(-S/M - D/(R M)) tau / (tau + delta) with S = {stall / 60:g} min, M = {m / 60:.2f} min, "
                f"D = {d / 60:.2f} min, R = {units} replicas, tau = {tau / 60:.2f} min, delta = {delta:g} s: "
                f"{ettr * 100:.2f}% (no detection delay)"
            )
    return lines


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: ETTR and effective compute (mean, CI), mean ledger fractions, paired ETTR differences."""
    by = {label: t.set_index("replication") for label, t in runs.groupby("configuration", sort=False)}
    base = by[BASELINE]["ettr"]
    rows = []
    for cfg in CONFIGS:
        t = by[cfg.label]
        ettr = describe(t["ettr"].to_numpy(dtype=float))
        row: dict[str, Any] = {"configuration": cfg.label}
        row |= {f"ettr.{k}": ettr[k] for k in ("mean", "ci95_low", "ci95_high")}
        row["effective_compute_ratio"] = float(t["effective_compute_ratio"].mean())
        row["interruptions"] = float(t["interruptions"].mean())
        row["rejoins"] = float(t["rejoins"].mean())
        row |= {f"fraction_{b}": float(t[f"fraction_{b}"].mean()) for b in BUCKETS}
        row["fraction_other"] = sum(row[f"fraction_{b}"] for b in BUCKETS if b not in SHOWN)
        vs_base = paired(t["ettr"], base)
        row |= {f"diff_baseline.{k}": vs_base[k] for k in ("mean", "ci95_low", "ci95_high")}
        if cfg.against is not None:
            vs = paired(t["ettr"], by[cfg.against]["ettr"])
            row |= {"against": cfg.against} | {f"diff_against.{k}": vs[k] for k in ("mean", "ci95_low", "ci95_high")}
        rows.append(row)
    return pd.DataFrame(rows)


def report(table: pd.DataFrame, replications: int, seed: int, seconds: float) -> str:
    """The study's text: one table, the paired contrasts, and the overrides of each configuration."""
    base = sim.load_scenario(SCENARIO)
    # Buckets without a column of their own (e.g. maintenance) get one only when they hold time.
    other = bool(table["fraction_other"].max() > 0)
    head = (
        f"{'configuration':<27} {'ETTR % [95% CI]':<22} {'eff. compute %':>14} {'lost %':>7} {'ckpt %':>7} "
        f"{'detect %':>8} {'restart %':>9} {'wait %':>7}{' other %' if other else ''} {'rejoins':>7}  "
        f"{'ETTR - baseline, pp [95% CI]':<28}"
    )
    lines = [
        "Checkpoint methods and recovery strategies: scenarios/h100_100k.toml "
        f"({base.cluster.gpus:,} x {base.cluster.gpu}, {base.run.duration_days:g} days, Llama 3 failure mix)",
        f"{replications} replications per configuration, seed {seed}, the same failures in every configuration "
        f"(common random numbers); {seconds:.1f} s",
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
    lines += ["", "Closed forms (exponential failures, instant spares):", *closed_forms()]
    lines += ["", "Overrides of scenarios/h100_100k.toml (trainsim run scenarios/h100_100k.toml ...):"]
    for cfg in CONFIGS:
        lines.append(f"  {cfg.label}: {set_flags(cfg.overrides) or '(none)'}")
    lines += [
        "",
        f"Assumed: snapshot {ASSUMED['snapshot_seconds']:g} s, memory load {ASSUMED['memory_load_seconds']:g} s, "
        f"persist every {ASSUMED['persist_every']} checkpoints, stall {ASSUMED['stall_minutes']:g} min, "
        f"replicas of {ASSUMED['tensor_parallel'] * ASSUMED['pipeline_parallel']} GPUs "
        f"({base.cluster.gpus // (ASSUMED['tensor_parallel'] * ASSUMED['pipeline_parallel']):,} replicas), "
        f"low spares {ASSUMED['low_spares']} servers (1% of {base.job_nodes:,}; "
        f"the file has {base.cluster.spare_nodes}).",
    ]
    return "\n".join(lines)


def chart(table: pd.DataFrame, replications: int, seed: int, path: Path) -> None:
    """Stacked bars of the ledger per configuration, ETTR and its CI marked; PNG of 1400 x 820 px."""
    fig = Figure(figsize=(14, 8.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    n = len(table)
    y = np.arange(n)[::-1]  # the baseline on top
    buckets = [b for b in BUCKETS if b == "useful" or table[f"fraction_{b}"].max() > 0]
    left = np.zeros(n)
    for b in buckets:
        width = table[f"fraction_{b}"].to_numpy(dtype=float) * 100
        color, label = BUCKET_COLORS.get(b, "#999999"), BUCKET_LABELS.get(b, b)
        ax.barh(y, width, left=left, height=0.62, color=color, label=label, edgecolor="white")
        left += width
    ettr = table["ettr.mean"].to_numpy(dtype=float) * 100
    low = table["ettr.ci95_low"].to_numpy(dtype=float) * 100
    high = table["ettr.ci95_high"].to_numpy(dtype=float) * 100
    ax.errorbar(ettr, y, xerr=[ettr - low, high - ettr], fmt="none", ecolor="black", elinewidth=1.6, capsize=6)
    for yi, (_, r) in zip(y, table.iterrows(), strict=True):
        text = f"ETTR {r['ettr.mean'] * 100:.1f}%  [{r['ettr.ci95_low'] * 100:.1f}, {r['ettr.ci95_high'] * 100:.1f}]"
        ax.text(1.5, yi, text, va="center", ha="left", color="white", fontsize=11, fontweight="bold")
    labels = []
    for _, r in table.iterrows():
        if r["configuration"] == BASELINE:
            labels.append(f"{r['configuration']}")
        else:
            d = r["diff_baseline.mean"] * 100
            labels.append(f"{r['configuration']}\n{d:+.1f} pp vs baseline (paired)")
    ax.set_yticks(y, labels, fontsize=11)
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the job's GPU-time (%)", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    fig.suptitle(
        "Which checkpoint method and recovery strategy keep the most of 100,000 H100s useful?",
        fontsize=15,
        x=0.01,
        ha="left",
    )
    ax.set_title(
        f"scenarios/h100_100k.toml, Llama 3 failure mix, 10-min restarts; {replications} replications, seed {seed}, "
        "the same failures in every configuration; whiskers: 95% CI of mean ETTR",
        fontsize=10,
        loc="left",
        color="#444444",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(buckets), frameon=False, fontsize=10)
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    return study.main(__doc__, "strategies", 100, DEFAULT_OUT, run_all, summarise, report, chart, argv)


if __name__ == "__main__":
    sys.exit(main())

"""What retiring servers that keep failing is worth on the 100k-H100 run, by policy and threshold, paired.

Every configuration is ``scenarios/h100_100k_fleet.toml`` (100,000 H100, 100 days, Llama 3 failure mix;
15% bad servers failing 6x as often as good ones; AIReSim's repair pipeline: automated repair 2 h,
escalating to a 48-hour manual repair with probability 0.8, repairs that leave the fault 40% / 20% of the
time) with its ``[retirement]`` policy overridden:

- ``none``: the baseline; bad servers stay bad and every repair returns its server;
- ``window``: a server is retired at the failure that makes ``k`` failures within ``W`` days, for
  k = 2..5, with W = 7 days (AIReSim's ThresholdRemoval window) and W = 30 days (the file's; assumed);
- ``score`` (AIReSim's ScoredRemoval): a score of 100 loses 30 at each failure and gains 10 for every
  whole ``credit_days`` of uptime; retired at 0. With AIReSim's credit of a day, and (assumed) a week
  and a month;
- ``no bad servers``, for reference: the fleet as if every bad server had been replaced by a good one
  before the run (every server at the good servers' rate), the most that retiring them could win back.

A retired server never comes back and is not replaced: the spare pool (250 servers) shrinks by one.

Every configuration is a ``sim.sweep`` with the same seed, so replication r of each draws the same
failures: retirement is a filter on the drawn histories, and moves no other server's failure. The ETTR
gained is the difference from ``none`` taken replication by replication; its CI is that of the paired
differences, much narrower than those of the two values.

Run: .venv/bin/python scenarios/retirement_study.py [--replications N] [--seed S] [--jobs J] [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import study
from matplotlib.figure import Figure
from study import ci_text, paired, versus

import sim
from sim.analysis.stationary import good_multiplier
from sim.experiment.statistics import describe

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "h100_100k_fleet.toml"
DEFAULT_OUT = Path("results") / "retirement_study"
BASELINE = "none"
#: Gains beyond this many points (a policy that starves the job) are drawn clipped.
OFF_SCALE = 5.0

#: Each sweep: a label, and the grid it runs (every point with the same seed).
GRIDS: tuple[tuple[str, dict[str, list[Any]]], ...] = (
    ("none", {"retirement.policy": ["none"]}),
    (
        "window",
        {"retirement.policy": ["window"], "retirement.window_days": [7.0, 30.0], "retirement.failures": [2, 3, 4, 5]},
    ),
    ("score", {"retirement.policy": ["score"], "retirement.credit_days": [1.0, 7.0, 30.0]}),
)
#: The reference configuration: every server as good as the fleet's good ones.
ORACLE = "no bad servers"


def oracle(scenario: sim.Scenario) -> dict[str, list[Any]]:
    """The grid of ``ORACLE``: no bad servers, and the server-scope modes at a good server's rate.

    >>> grid = oracle(sim.load_scenario(SCENARIO))
    >>> round(grid["failure.0.mtbf_hours"][0] / 143470.7, 3)   # 1 / (0.85 + 0.15 x 6)
    1.75
    """
    h = scenario.heterogeneity
    good = good_multiplier(h.bad_node_fraction, h.bad_node_multiplier)
    grid: dict[str, list[Any]] = {"retirement.policy": ["none"], "heterogeneity.bad_node_fraction": [0.0]}
    for i, m in enumerate(scenario.failure):
        if m.scope in ("gpu", "node"):
            grid[f"failure.{i}.mtbf_hours"] = [m.mtbf_hours / good]
    return grid


def label(row: pd.Series) -> str:
    """The configuration of a runs-table row, in words.

    >>> label(pd.Series({"grid": "window", "retirement.failures": 2, "retirement.window_days": 7.0}))
    'window: 2 failures in 7 days'
    >>> label(pd.Series({"grid": "score", "retirement.credit_days": 1.0}))
    'score: +10 per 1 day up'
    """
    if row["grid"] == "window":
        return f"window: {int(row['retirement.failures'])} failures in {row['retirement.window_days']:g} days"
    if row["grid"] == "score":
        days = row["retirement.credit_days"]
        return f"score: +10 per {days:g} day{'s' if days != 1 else ''} up"
    return str(row["grid"])


def run_all(replications: int, seed: int, jobs: int) -> pd.DataFrame:
    """The runs table of every configuration: one row per configuration and replication."""
    scenario = sim.load_scenario(SCENARIO)
    parts = []
    for grid, params in (*GRIDS, (ORACLE, oracle(scenario))):
        runs = sim.sweep(scenario, params, replications, seed=seed, jobs=jobs)
        runs.insert(0, "grid", grid)
        parts.append(runs)
    runs = pd.concat(parts, ignore_index=True)
    runs.insert(0, "configuration", runs.apply(label, axis=1))
    return runs


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: ETTR (mean, CI), the paired ETTR gained over ``none``, and the fleet's figures."""
    by = {name: t.set_index("replication") for name, t in runs.groupby("configuration", sort=False)}
    base = by[BASELINE]["ettr"]
    rows = []
    for name, t in by.items():
        ettr = describe(t["ettr"].to_numpy(dtype=float))
        gained = paired(t["ettr"], base)
        row: dict[str, Any] = {"configuration": name}
        row |= {f"ettr.{k}": ettr[k] for k in ("mean", "ci95_low", "ci95_high")}
        row |= {f"gained.{k}": gained[k] for k in ("mean", "ci95_low", "ci95_high")}
        for metric in ("nodes_retired", "spares_consumed", "interruptions", "failed_repairs", "fraction_wait"):
            row[metric] = float(t[metric].mean())
        row["nodes_retired.max"] = float(t["nodes_retired"].max())
        rows.append(row)
    return pd.DataFrame(rows)


def report(table: pd.DataFrame, replications: int, seed: int, seconds: float) -> str:
    """The study's text: one table, the best policy, and how to read it."""
    s = sim.load_scenario(SCENARIO)
    head = (
        f"{'configuration':<32} {'ETTR % [95% CI]':<22} {'ETTR gained, pp [95% CI]':<26} {'retired':>8} "
        f"{'spares used':>11} {'wait %':>7} {'interruptions':>13} {'failed repairs':>14}"
    )
    lines = [
        "Retirement policies: scenarios/h100_100k_fleet.toml "
        f"({s.cluster.gpus:,} x {s.cluster.gpu}, {s.run.duration_days:g} days, {s.cluster.spare_nodes} spares, "
        f"{s.heterogeneity.bad_node_fraction:.0%} bad servers at {s.heterogeneity.bad_node_multiplier:g}x, "
        "AIReSim's repair pipeline)",
        f"{replications} replications per configuration, seed {seed}, the same failures in every configuration "
        f"(common random numbers); {seconds:.1f} s",
        "ETTR gained: ETTR minus the baseline's (policy none), replication by replication; retired: servers "
        "retired per run (never replaced); spares used: job positions filled from the spare pool per run",
        "",
        head,
        "-" * len(head),
    ]
    for _, r in table.iterrows():
        gained = versus(r, "gained", BASELINE)
        lines.append(
            f"{r['configuration']:<32} {ci_text(r['ettr.mean'], r['ettr.ci95_low'], r['ettr.ci95_high']):<22} "
            f"{gained:<26} {r['nodes_retired']:>8.1f} {r['spares_consumed']:>11,.0f} "
            f"{r['fraction_wait'] * 100:>7.2f} {r['interruptions']:>13,.0f} {r['failed_repairs']:>14,.0f}"
        )
    policies = table[~table["configuration"].isin([BASELINE, ORACLE])]
    best = policies.loc[policies["gained.mean"].idxmax()]
    ideal = table[table["configuration"] == ORACLE].iloc[0]
    lines += [
        "",
        f"Best policy here: {best['configuration']}, "
        f"{ci_text(best['gained.mean'], best['gained.ci95_low'], best['gained.ci95_high'], sign=True)} pp of ETTR, "
        f"retiring {best['nodes_retired']:.0f} servers a run (at most {best['nodes_retired.max']:.0f}).",
        f"Every bad server replaced by a good one before the run ({ORACLE} - none): "
        f"{ci_text(ideal['gained.mean'], ideal['gained.ci95_low'], ideal['gained.ci95_high'], sign=True)} pp: "
        "the most retirement could win back.",
        "A policy that retires more servers than the spare pool can lose leaves the job short of servers for good:",
        "it waits (wait %) until the end of the run.",
    ]
    return "\n".join(lines)


def chart(table: pd.DataFrame, replications: int, seed: int, path: Path) -> None:
    """ETTR gained per configuration with its paired CI, and servers retired; PNG of 1400 x 820 px."""
    fig = Figure(figsize=(14, 8.2), dpi=100, layout="constrained")
    gain_ax, retired_ax = fig.subplots(1, 2, sharey=True, width_ratios=(3, 1))
    rows = table[table["configuration"] != BASELINE].reset_index(drop=True)
    y = np.arange(len(rows))[::-1]
    mean = rows["gained.mean"].to_numpy(dtype=float) * 100
    low = np.nan_to_num(mean - rows["gained.ci95_low"].to_numpy(dtype=float) * 100)
    high = np.nan_to_num(rows["gained.ci95_high"].to_numpy(dtype=float) * 100 - mean)
    colors = [
        "#888888" if c == ORACLE else "#2f6db5" if mean[i] >= 0 else "#c0392b"
        for i, c in enumerate(rows["configuration"])
    ]
    # A policy that starves the job loses tens of points: clip it, or the small gains vanish.
    near = np.abs(mean) <= OFF_SCALE
    edge = max(0.5, 1.3 * float(np.max(np.abs(mean[near]) + np.maximum(low, high)[near], initial=0.0)))
    shown = np.clip(mean, -edge, edge)
    gain_ax.barh(y, shown, color=colors, height=0.6)
    inside = np.abs(mean) <= edge
    gain_ax.errorbar(
        mean[inside], y[inside], xerr=[low[inside], high[inside]], fmt="none", ecolor="black", elinewidth=1.4, capsize=5
    )
    for yi, m in zip(y[~inside], mean[~inside], strict=True):
        gain_ax.text(
            np.sign(m) * edge * 0.97,
            yi,
            f"{m:+.1f} pp (off scale)",
            va="center",
            ha="left" if m < 0 else "right",
            color="white",
            fontsize=10,
            fontweight="bold",
        )
    gain_ax.set_xlim(-edge, edge)
    gain_ax.axvline(0, color="black", linewidth=0.8)
    gain_ax.set_yticks(y, rows["configuration"].tolist(), fontsize=11)
    gain_ax.set_xlabel("ETTR gained over no retirement, percentage points (paired 95% CI)", fontsize=11)
    gain_ax.grid(axis="x", alpha=0.3)
    retired_ax.barh(y, rows["nodes_retired"].to_numpy(dtype=float), color="#7f8c8d", height=0.6)
    retired_ax.set_xlabel("servers retired per run", fontsize=11)
    retired_ax.grid(axis="x", alpha=0.3)
    fig.suptitle("What is retiring servers that keep failing worth on 100,000 H100s?", fontsize=15, x=0.01, ha="left")
    gain_ax.set_title(
        f"scenarios/h100_100k_fleet.toml; {replications} replications, seed {seed}, the same failures in every "
        "configuration; grey: every bad server replaced by a good one before the run",
        fontsize=10,
        loc="left",
        color="#444444",
    )
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    return study.main(__doc__, "retirement", 20, DEFAULT_OUT, run_all, summarise, report, chart, argv)


if __name__ == "__main__":
    sys.exit(main())

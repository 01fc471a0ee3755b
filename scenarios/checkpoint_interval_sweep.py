"""ETTR and effective compute of the 100k-H100 run against the checkpoint interval, next to Young and Daly.

The scenario is ``scenarios/h100_100k.toml`` with ``checkpoint.policy = "fixed"``, swept over
``checkpoint.interval_minutes`` on a log grid of 13 points from Daly's interval / 8 to Daly's
interval x 8 (steps of sqrt 2, Daly's interval in the middle). Daly's interval comes from
``sim.analysis.analytic`` with the scenario's blocking write time and its job MTBF (all failure modes).

Every interval sees the same failures: replication r of every point draws from the same random
streams (common random numbers), so the difference between two intervals is taken replication by
replication and its CI is far narrower than the CIs of the values themselves.

The closed-form column is Daly's (2006) ETTR, tau / (M e^(R/M) (e^((tau + delta)/M) - 1)), with
R = restart (``restart.fixed_minutes`` plus the checkpoint load) plus the rate-weighted mean
detection delay, as ``trainsim check`` computes it.

Run: .venv/bin/python scenarios/checkpoint_interval_sweep.py [--replications N] [--seed S] [--jobs J] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim.analysis.analytic import daly_ettr, daly_interval, job_mtbf_seconds, mean_detect_seconds, young_interval
from sim.config.errors import SweepError
from sim.experiment.sweeps import SweepResult, run_sweep

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "h100_100k.toml"
KEY = "checkpoint.interval_minutes"
#: Grid: Daly x 2^(k/2) for k = -SPAN..SPAN, i.e. Daly / 8 .. Daly x 8 in steps of sqrt 2.
SPAN = 6
#: Significant digits of the grid values (readable keys in the runs table and the store).
DIGITS = 4


def interval_grid(daly_minutes: float, span: int = SPAN) -> list[float]:
    """Log grid around Daly's interval: ``daly x 2^(k/2)`` for k = -span..span, ``DIGITS`` significant digits.

    >>> interval_grid(4.0, 2)
    [2.0, 2.828, 4.0, 5.657, 8.0]
    """
    return [float(f"{daly_minutes * 2.0 ** (k / 2):.{DIGITS}g}") for k in range(-span, span + 1)]


def ci(mean: float, low: float, high: float, scale: float = 100.0, digits: int = 2) -> str:
    """``mean [low, high]``, in percent by default."""
    return f"{mean * scale:.{digits}f} [{low * scale:.{digits}f}, {high * scale:.{digits}f}]"


def crn_holds(runs: pd.DataFrame) -> bool:
    """Within every replication, the interruption count is the same at every interval."""
    return bool((runs.groupby("replication")["interruptions"].nunique() == 1).all())


def report(result: SweepResult, scenario: sim.Scenario, seconds: float) -> str:
    """The study's text: the table, the optimum and its neighbours, and the closed forms."""
    mtbf = job_mtbf_seconds(scenario)
    write = scenario.write_seconds
    restart = scenario.restart_seconds + mean_detect_seconds(scenario)
    young_min = young_interval(write, mtbf) / 60.0
    daly_min = daly_interval(write, mtbf) / 60.0
    pts = result.points
    mfu = scenario.workload.mfu
    lines = [
        f"{scenario.title}",
        f"checkpoint.policy = fixed, {KEY} swept from Daly/8 to Daly x 8",
        f"{result.replications} replications per interval, seed {result.seed} "
        f"({result.computed} computed, {result.reused} reused, {seconds:.1f} s)",
        f"job MTBF {mtbf / 60.0:.1f} min (all modes), checkpoint write {write:.1f} s, "
        f"restart + mean detection {restart / 60.0:.2f} min, MFU {mfu:.2f}",
        "",
        "ETTR and effective compute ratio in %: mean [95% CI of the mean]",
        "diff from best: paired difference of ETTR from the best interval, percentage points [95% CI]",
        "Daly ETTR: Daly's (2006) closed form at that interval",
        "",
    ]
    head = (
        f"{'interval min':>12} {'/ Daly':>7}  {'ETTR %':<22} {'effective compute %':<22} "
        f"{'diff from best (pp)':<24} {'Daly ETTR %':>11}"
    )
    lines += [head, "-" * len(head)]
    best_i = int(np.argmax(pts["ettr.mean"].to_numpy()))
    for i, row in pts.iterrows():
        tau = float(row[KEY])
        closed = daly_ettr(tau * 60.0, write, restart, mtbf)
        diff = (
            "best"
            if i == best_i
            else ci(row["ettr.diff_mean"], row["ettr.diff_ci95_low"], row["ettr.diff_ci95_high"], digits=3)
        )
        ettr = ci(row["ettr.mean"], row["ettr.ci95_low"], row["ettr.ci95_high"])
        ecr = ci(
            row["effective_compute_ratio.mean"],
            row["effective_compute_ratio.ci95_low"],
            row["effective_compute_ratio.ci95_high"],
        )
        lines.append(f"{tau:>12.4g} {tau / daly_min:>7.3f}  {ettr:<22} {ecr:<22} {diff:<24} {closed * 100:>11.2f}")
    best = pts.iloc[best_i]
    best_ettr = ci(best["ettr.mean"], best["ettr.ci95_low"], best["ettr.ci95_high"])
    lines += [
        "",
        f"empirical optimum: {float(best[KEY]):.4g} min, ETTR {best_ettr} %, "
        f"effective compute {best['effective_compute_ratio.mean'] * 100:.2f} %",
    ]
    for j in (best_i - 1, best_i + 1):
        if 0 <= j < len(pts):
            lines.append(_neighbour_line(best, pts.iloc[j]))
    if best_i in (0, len(pts) - 1):
        lines.append("  the optimum is at the edge of the grid: widen it")
    lines += [
        "",
        f"Young (1974) interval: {young_min:.2f} min, "
        f"Daly ETTR there {daly_ettr(young_min * 60, write, restart, mtbf) * 100:.2f} %",
        f"Daly (2006) interval:  {daly_min:.2f} min, "
        f"Daly ETTR there {daly_ettr(daly_min * 60, write, restart, mtbf) * 100:.2f} %",
        f"closed-form optimum on the grid: {float(pts[KEY].iloc[_closed_best(pts, write, restart, mtbf)]):.4g} min",
        "common random numbers: interruptions identical across intervals in every replication: "
        f"{'yes' if crn_holds(result.runs) else 'NO'}",
    ]
    return "\n".join(lines)


def _neighbour_line(best: pd.Series, n: pd.Series) -> str:
    """Paired difference of a neighbour from the optimum, and the width an unpaired comparison would have."""
    lo, hi = float(n["ettr.diff_ci95_low"]), float(n["ettr.diff_ci95_high"])
    verdict = "worse (CI excludes 0)" if hi < 0 else "not distinguishable (CI includes 0)"
    # Independent samples: the half-widths of the two CIs of the means add in quadrature.
    unpaired = math.hypot(
        float(n["ettr.ci95_high"] - n["ettr.ci95_low"]) / 2, float(best["ettr.ci95_high"] - best["ettr.ci95_low"]) / 2
    )
    return (
        f"  neighbour {float(n[KEY]):.4g} min minus optimum: {ci(n['ettr.diff_mean'], lo, hi, digits=3)} pp ETTR, "
        f"{verdict}; paired CI +-{(hi - lo) / 2 * 100:.3f} pp, unpaired would be about +-{unpaired * 100:.3f} pp"
    )


def _closed_best(pts: pd.DataFrame, write: float, restart: float, mtbf: float) -> int:
    return int(np.argmax([daly_ettr(float(t) * 60.0, write, restart, mtbf) for t in pts[KEY]]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replications", type=int, default=30, help="replications per interval (default 30)")
    ap.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    ap.add_argument("--out", type=Path, default=None, help="folder to keep results in (resumes what is there)")
    a = ap.parse_args(argv)
    if a.replications < 2:
        ap.error("--replications must be at least 2 (confidence intervals)")

    base = sim.load_scenario(SCENARIO)
    daly_min = daly_interval(base.write_seconds, job_mtbf_seconds(base)) / 60.0
    if not math.isfinite(daly_min):
        print("the scenario has no failures: no interval to optimise", file=sys.stderr)
        return 1
    scenario = sim.load_scenario(SCENARIO, overrides={"checkpoint.policy": "fixed"})
    start = time.perf_counter()
    try:
        result = run_sweep(
            scenario,
            {KEY: interval_grid(daly_min)},
            replications=a.replications,
            seed=a.seed,
            jobs=a.jobs,
            out=a.out,
            resume=a.out is not None,
        )
    except SweepError as e:
        print(f"checkpoint_interval_sweep: {e}", file=sys.stderr)
        return 2
    text = report(result, scenario, time.perf_counter() - start)
    print(text)
    if a.out is not None:
        result.points.to_csv(a.out / "points.csv", index=False)
        (a.out / "report.txt").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the paired study scripts of this folder share: their options, paired differences, CI text, their files.

A study runs configurations of one scenario on the same replications (common random numbers), so it
compares them replication by replication. Imported by ``strategies.py`` and ``retirement_study.py``
(run from this folder, as ``python scenarios/<script>.py``, it is on the path).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiment.statistics import describe


def arguments(
    doc: str | None, replications: int, out: Path, argv: list[str] | None = None, scenario: Path | None = None
) -> argparse.Namespace:
    """``--replications``, ``--seed``, ``--jobs`` (all cores by default) and ``--out``, checked; with ``scenario``,
    an optional first argument ``SCENARIO`` that defaults to it."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if scenario is not None:
        ap.add_argument(
            "scenario", nargs="?", type=Path, default=scenario, help=f"scenario file (default {scenario.name})"
        )
    ap.add_argument(
        "--replications",
        type=int,
        default=replications,
        help=f"replications per configuration (default {replications})",
    )
    ap.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    ap.add_argument("--out", type=Path, default=out, help=f"output folder (default {out}/)")
    a = ap.parse_args(argv)
    if a.replications < 2:
        ap.error("--replications must be at least 2 (confidence intervals)")
    if a.jobs is not None and a.jobs < 1:
        ap.error("--jobs must be at least 1")
    if a.seed < 0:
        ap.error("--seed must be at least 0")
    a.jobs = a.jobs if a.jobs is not None else os.cpu_count() or 1
    return a


def paired(a: pd.Series, b: pd.Series) -> dict[str, float]:
    """Mean and 95% CI of ``a - b``, replication by replication (both indexed by replication).

    >>> d = paired(pd.Series([0.70, 0.72, 0.71]), pd.Series([0.60, 0.61, 0.62]))
    >>> round(d["mean"], 4), d["ci95_low"] < d["mean"] < d["ci95_high"]
    (0.1, True)
    """
    diff = (a - b).dropna().to_numpy(dtype=float)
    return describe(diff)


def ci_text(mean: float, low: float, high: float, scale: float = 100.0, digits: int = 2, sign: bool = False) -> str:
    """A mean and its CI, in percent by default: ``'65.67 [65.46, 65.87]'``; no interval where there is none.

    >>> ci_text(0.0006, 0.0004, 0.0008, sign=True), ci_text(0.5, float("nan"), float("nan"))
    ('+0.06 [+0.04, +0.08]', '50.00')
    """
    s = "+" if sign else ""
    if not np.isfinite(low):  # identical values in every replication: no interval
        return f"{mean * scale:{s}.{digits}f}"
    return f"{mean * scale:{s}.{digits}f} [{low * scale:{s}.{digits}f}, {high * scale:{s}.{digits}f}]"


def versus(row: pd.Series, prefix: str, baseline: str) -> str:
    """The paired difference ``<prefix>.mean`` [CI] of a summary row, or ``(baseline)`` for the baseline's row.

    >>> versus(pd.Series({"configuration": "a", "d.mean": 0.01, "d.ci95_low": 0.0, "d.ci95_high": 0.02}), "d", "b")
    '+1.00 [+0.00, +2.00]'
    """
    if row["configuration"] == baseline:
        return "(baseline)"
    return ci_text(row[f"{prefix}.mean"], row[f"{prefix}.ci95_low"], row[f"{prefix}.ci95_high"], sign=True)


def save(
    out: Path, name: str, text: str, table: pd.DataFrame, runs: pd.DataFrame, chart: Callable[[Path], None]
) -> None:
    """Write ``report.txt``, ``<name>.csv``, ``runs.parquet`` and ``<name>.png`` to ``out``; say so."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.txt").write_text(text + "\n", encoding="utf-8")
    table.to_csv(out / f"{name}.csv", index=False)
    runs.to_parquet(out / "runs.parquet", index=False)
    chart(out / f"{name}.png")
    files = ", ".join(str(out / f) for f in ("report.txt", f"{name}.csv", "runs.parquet", f"{name}.png"))
    print(f"\nwrote {files}")


def main(
    doc: str | None,
    name: str,
    replications: int,
    out: Path,
    run_all: Callable[[int, int, int], pd.DataFrame],
    summarise: Callable[[pd.DataFrame], pd.DataFrame],
    report: Callable[[pd.DataFrame, int, int, float], str],
    chart: Callable[[pd.DataFrame, int, int, Path], None],
    argv: list[str] | None = None,
) -> int:
    """A study from the command line: run every configuration, summarise, print the report, save the files."""
    a = arguments(doc, replications, out, argv)
    start = time.perf_counter()
    runs = run_all(a.replications, a.seed, a.jobs)
    table = summarise(runs)
    text = report(table, a.replications, a.seed, time.perf_counter() - start)
    print(text)
    save(a.out, name, text, table, runs, lambda path: chart(table, a.replications, a.seed, path))
    return 0

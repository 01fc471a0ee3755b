"""trainsim and AIReSim side by side on AIReSim's Table 1 fleet: failure counts, and the time each takes.

AIReSim (Pattabiraman et al. 2026, arXiv 2603.07041; github karthikp-ubc/airesim, MIT) is not a
dependency of trainsim: give its source folder (the one holding ``airesim/``), or a virtual environment
it is installed in, with ``--airesim`` or the environment variable ``AIRESIM_SRC``, and run this script
with trainsim's interpreter (``.venv``, which has simpy). Without it, only trainsim's side and the
closed forms are printed.

    .venv/bin/python bench/airesim_compare.py --airesim /path/to/airesim [--replications 5]
        [--trainsim-replications 20] [--servers 4096] [--days 256] [--variant table1|no-cures|all-good]

Both models expose the job's servers for the same time: AIReSim fails the servers running the job
while it computes, until ``--days`` of computing are done; trainsim fails every server over a horizon
of ``--days`` of wall-clock time (``scenarios/airesim_table1.toml`` explains every number, and
docs/validation.md what differs). Variants: ``table1`` as published (15% bad servers at 6x, cured by
a repair that works); ``no-cures`` (no repair cures a bad server: AIReSim with both repair failure
probabilities at 1, trainsim with ``repair.cures_bad_nodes = false``); ``all-good`` (no bad servers,
0.01 failures per server-day). ``--servers`` scales the job and AIReSim's pools (working pool
4,160 / 4,096 and spare pool 200 / 4,096 of the job; 16 warm standbys) and trainsim's spares alike.

Each model's wall and CPU time per replication exclude imports (CPU time: what other work on a
shared machine does not inflate); the closed forms are ``sim.analysis.cures``.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import site
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis.cures import CuredFleet, cured_fleet
from sim.config.loading import load_scenario
from sim.config.scenario import Scenario
from sim.experiment.runner import replication_seeds, simulate
from sim.experiment.statistics import describe

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "airesim_table1.toml"
#: AIReSim's Table 1 fleet (airesim/params.py): the job, its pools and the base of its seeds.
JOB, WORKING, SPARE, STANDBYS, SEED = 4096, 4160, 200, 16, 42
GOOD_PER_DAY = 0.01  # AIReSim's random_failure_rate, per server-day
VARIANTS = ("table1", "no-cures", "all-good")


def since(start: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU seconds since ``start`` (``clocks()``): CPU time is what other work on a shared
    machine does not inflate."""
    wall, cpu = clocks()
    return wall - start[0], cpu - start[1]


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


@dataclass
class Side:
    """One model's replications: failures and wall time of each, and whatever else it reports."""

    name: str
    failures: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)

    def add(self, failures: float, clock: tuple[float, float], **extra: float) -> None:
        self.failures.append(failures)
        self.wall_s.append(clock[0])
        self.cpu_s.append(clock[1])
        for k, v in extra.items():
            self.extra.setdefault(k, []).append(v)


def pools(servers: int) -> tuple[int, int]:
    """AIReSim's working and spare pool for a job of ``servers``, in Table 1's proportions."""
    return round(servers * WORKING / JOB), round(servers * SPARE / JOB)


def trainsim_scenario(servers: int, days: float, variant: str) -> Scenario:
    """scenarios/airesim_table1.toml for this job size, horizon and variant."""
    working, spare = pools(servers)
    over: dict[str, Any] = {
        "cluster.gpus": servers * 8,
        "cluster.spare_nodes": working + spare - servers,
        "run.duration_days": days,
    }
    if variant == "no-cures":
        over["repair.cures_bad_nodes"] = False
    elif variant == "all-good":
        over["heterogeneity.bad_node_fraction"] = 0.0
        over["failure.0.mtbf_hours"] = 24.0 / GOOD_PER_DAY
    return load_scenario(SCENARIO, overrides=over)


def run_trainsim(scenario: Scenario, replications: int, seed: int) -> Side:
    """trainsim's replications, each timed on its own."""
    side = Side("trainsim")
    for i, seq in enumerate(replication_seeds(seed, replications)):
        start = clocks()
        rep = simulate(scenario, seq, i)
        took = since(start)
        m = rep.metrics
        fleet = {k: m.get(k, math.nan) for k in ("repairs_auto", "repairs_manual", "failed_repairs")}
        side.add(m["interruptions"], took, ettr=m["ettr"], wait=m["fraction_wait"], **fleet)
    return side


def import_airesim(path: str | None) -> Any | None:
    """AIReSim's modules from its source folder or a virtual environment it is installed in; None if absent."""
    if path:
        root = Path(path).resolve()
        # A venv: its site-packages, .pth files included (an editable install points at the source).
        for packages in sorted(root.glob("lib/python3*/site-packages")):
            site.addsitedir(str(packages))
        sys.path.insert(0, str(root))
    try:
        return {m: importlib.import_module(f"airesim.{m}") for m in ("params", "simulator", "coordinator")}
    except ImportError:
        return None


def run_airesim(mods: dict[str, Any], servers: int, days: float, variant: str, replications: int) -> Side:
    """AIReSim's Table 1 baseline (its defaults) at this size, seeds 42, 43, ... as its sweeps use them."""
    working, spare = pools(servers)
    over: dict[str, Any] = {
        "job_size": servers,
        "working_pool_size": working,
        "spare_pool_size": spare,
        "warm_standbys": STANDBYS,
        "job_length": days * 24 * 60,
    }
    if variant == "no-cures":
        over |= {"auto_repair_fail_prob": 1.0, "manual_repair_fail_prob": 1.0}
    elif variant == "all-good":
        over["systematic_failure_fraction"] = 0.0
    params = mods["params"].Params().with_overrides(**over)
    # Failures of bad servers, counted as they happen (AIReSim reports random vs systematic causes only).
    coordinator = mods["coordinator"].Coordinator
    original = coordinator._find_first_failure
    bad = [0]

    def counting(self: Any, servers_: Any, remaining: float) -> Any:
        ttf, server = original(self, servers_, remaining)
        if server is not None and server.is_bad:
            bad[0] += 1
        return ttf, server

    coordinator._find_first_failure = counting
    side = Side("AIReSim")
    try:
        for i in range(replications):
            bad[0] = 0
            start = clocks()
            st = mods["simulator"].Simulator(params, seed=SEED + i).run()
            took = since(start)
            side.add(
                st.total_failures,
                took,
                bad_server_failures=bad[0],
                systematic=st.systematic_failures,
                auto_repairs=st.auto_repairs,
                manual_repairs=st.manual_repairs,
                failed_repairs=st.failed_repairs,
                preemptions=st.preemption_count,
                host_selections=st.host_selection_count,
                training_days=st.total_training_time / 1440.0,
                etr=st.effective_training_ratio,
            )
            done = f"{i + 1}/{replications}: {st.total_failures:,} failures, {took[0]:.1f} s ({took[1]:.1f} s CPU)"
            print(f"  AIReSim replication {done}", flush=True)
    finally:
        coordinator._find_first_failure = original
    return side


def airesim_fleet(trainsim: CuredFleet, servers: int, preemptions: float) -> CuredFleet:
    """The closed forms under AIReSim's model: only running servers fail, so no server fails waiting and
    every failure of a bad server is in the job; its servers are those of the working pool and the spares
    it preempts (the rest never run)."""
    working, _ = pools(servers)
    ever = working + preemptions
    bad = trainsim.bad_nodes / trainsim.fleet_nodes * ever
    return replace(trainsim, job_nodes=servers, fleet_nodes=round(ever), bad_nodes=bad, wait_hours=0.0)


def stat(values: list[float]) -> tuple[float, float, float]:
    d = describe(np.array(values, dtype=float))
    return d["mean"], d["ci95_low"], d["ci95_high"]


def row(label: str, values: list[float] | float, reps: str = "", fmt: str = "{:,.0f}") -> str:
    if isinstance(values, float):
        return f"{label:<44}{reps:>5}  {fmt.format(values):>10}"
    mean, lo, hi = stat(values)
    ci = f"[{fmt.format(lo)}, {fmt.format(hi)}]" if len(values) > 1 else ""
    return f"{label:<44}{len(values):>5}  {fmt.format(mean):>10}  {ci}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--airesim", default=os.environ.get("AIRESIM_SRC"), help="AIReSim's source folder, or a venv it is installed in"
    )
    ap.add_argument("--replications", type=int, default=5, help="AIReSim replications")
    ap.add_argument("--trainsim-replications", type=int, default=20)
    ap.add_argument("--servers", type=int, default=JOB, help="servers in the job (Table 1: 4,096)")
    ap.add_argument("--days", type=float, default=256.0, help="days of computing (Table 1: 256)")
    ap.add_argument("--variant", choices=VARIANTS, default="table1")
    ap.add_argument("--seed", type=int, default=0, help="trainsim's seed (AIReSim's are 42, 43, ...)")
    args = ap.parse_args(argv)
    if args.replications < 1 or args.trainsim_replications < 1 or args.servers < 1 or args.days <= 0:
        print("error: replications, servers and days must be positive", file=sys.stderr)
        return 2

    scenario = trainsim_scenario(args.servers, args.days, args.variant)
    fleet = cured_fleet(scenario)
    hours = args.days * 24.0
    print(
        f"AIReSim's Table 1 fleet, variant {args.variant}: {args.servers:,} job servers of "
        f"{scenario.fleet_nodes:,}, {args.days:g} days of computing"
    )
    mods = import_airesim(args.airesim)
    airesim = None
    if mods is None:
        print("  AIReSim not importable (give --airesim or AIRESIM_SRC): trainsim's side only")
    else:
        airesim = run_airesim(mods, args.servers, args.days, args.variant, args.replications)
    trainsim = run_trainsim(scenario, args.trainsim_replications, args.seed)

    print()
    print(f"{'failures of the job servers per replication':<44}{'reps':>5}  {'mean':>10}  95% CI")
    print(row("closed form: every server good", fleet.all_good(hours)))
    print(row("closed form: mean rate, never cured", fleet.never_cured(hours)))
    aire = None if airesim is None else airesim_fleet(fleet, args.servers, float(np.mean(airesim.extra["preemptions"])))
    if args.variant == "table1":
        if aire is not None:
            print(row("closed form with cures, AIReSim's model", aire.expected(hours)))
        print(row("closed form with cures, trainsim's model", fleet.expected(hours)))
    elif args.variant == "no-cures":
        if aire is not None:
            print(row("steady state in service, AIReSim's model", aire.in_service(hours)))
        print(row("steady state in service, trainsim's model", fleet.in_service(hours)))
    if airesim is not None:
        print(row("AIReSim", airesim.failures))
    print(row("trainsim", trainsim.failures))
    for label, attr in (("wall time", "wall_s"), ("CPU time", "cpu_s")):
        print()
        print(f"{label + ' per replication, s':<44}{'reps':>5}  {'mean':>10}  95% CI")
        if airesim is not None:
            print(row("AIReSim", getattr(airesim, attr), fmt="{:.2f}"))
        print(row("trainsim", getattr(trainsim, attr), fmt="{:.2f}"))
        if airesim is not None:
            speedup = np.mean(getattr(airesim, attr)) / np.mean(getattr(trainsim, attr))
            print(f"speed-up (AIReSim / trainsim, mean {label} per replication): {speedup:.0f}x")

    print()
    print(f"{'other figures per replication':<44}{'reps':>5}  {'mean':>10}  95% CI")
    if airesim is not None:
        x = airesim.extra
        if args.variant == "table1" and aire is not None:
            print(row("closed form: failures of bad servers, AIReSim", aire.bad_failures(hours)))
        for key in ("bad_server_failures", "systematic", "auto_repairs", "manual_repairs", "failed_repairs",
                    "preemptions", "host_selections"):  # fmt: skip
            print(row(f"AIReSim {key.replace('_', ' ')}", x[key]))
        print(row("AIReSim total training time, days", x["training_days"], fmt="{:,.1f}"))
        print(row("AIReSim effective training ratio", x["etr"], fmt="{:.4f}"))
    for key in ("repairs_auto", "repairs_manual", "failed_repairs"):
        print(row(f"trainsim {key.replace('_', ' ')} (whole fleet)", trainsim.extra[key]))
    print(row("trainsim ETTR", trainsim.extra["ettr"], fmt="{:.4f}"))
    print(row("trainsim fraction waiting for spares", trainsim.extra["wait"], fmt="{:.5f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

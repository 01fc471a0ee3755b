"""The seed's published figures, side by side with what trainsim computes.

Sources (the same as the scenario files):
  SemiAnalysis (2024), "100,000 H100 Clusters": 100k H100 have 15-31x the compute of GPT-4's ~20k A100;
    6e26 FLOP in 100 days is 35% of dense FP8 peak; over 150 MW critical IT, 1.59 TWh a year,
    $123.9M a year at $0.078/kWh; GPT-4 was 2.15e25 BF16 FLOP on ~20k A100 for 90-100 days.
  NVIDIA data sheets (sim.config.hardware.GPUS): dense peaks, H100 SXM 989.4 BF16 / 1978.9 FP8, A100 SXM 312 BF16.

Run: .venv/bin/python scenarios/seed_figures.py [--replications N] [--seed S]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

import sim
from sim.config.hardware import GPUS

HERE = Path(__file__).resolve().parent
H100_SCENARIO = HERE / "h100_100k.toml"
GPT4_SCENARIO = HERE / "gpt4_a100_20k.toml"

#: SemiAnalysis (2024).
PUBLISHED_FLOP_100K = 6e26
PUBLISHED_FRACTION_OF_FP8_PEAK = 0.35
PUBLISHED_MW = 150.0
PUBLISHED_TWH_PER_YEAR = 1.59
PUBLISHED_USD_PER_YEAR = 123.9e6
PUBLISHED_GPT4_FLOP = 2.15e25
GPT4_GPUS = 20_000
GPT4_DAYS = (90.0, 95.0, 100.0)

HOURS_PER_YEAR = 8766.0  # 365.25 days, the year of sim.model.ledger
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Row:
    """One line of a comparison table."""

    figure: str
    published: str
    simulator: str
    note: str = ""


def mean(summary: pd.DataFrame, metric: str) -> float:
    """The mean of ``metric`` over the replications."""
    return float(summary["mean"].astype(float)[metric])


def ci(summary: pd.DataFrame, metric: str, fmt: str = "{:.3f}") -> str:
    """``mean [low, high]`` of ``metric`` (95% interval of the mean)."""
    row = summary.loc[metric]
    return f"{fmt.format(row['mean'])} [{fmt.format(row['ci95_low'])}, {fmt.format(row['ci95_high'])}]"


def compute_rows() -> list[Row]:
    """100k H100 against GPT-4's ~20k A100, from the hardware catalog alone."""
    h100, a100 = GPUS["H100-SXM"], GPUS["A100-SXM-80GB"]
    gpt4 = GPT4_GPUS * a100.peak_flops("bf16")
    bf16 = 100_000 * h100.peak_flops("bf16") / gpt4
    fp8 = 100_000 * h100.peak_flops("fp8") / gpt4
    return [
        Row("100k H100 (BF16) / 20k A100 (BF16), peak", "15-31x (BF16 to FP8)", f"{bf16:.1f}x", "dense peaks"),
        Row("100k H100 (FP8) / 20k A100 (BF16), peak", "15-31x (BF16 to FP8)", f"{fp8:.1f}x", "A100 has no FP8"),
    ]


def h100_rows(h100: sim.Scenario, summary: pd.DataFrame) -> list[Row]:
    """6e26 FLOP, power, energy and money for the 100k H100 scenario."""
    theoretical = mean(summary, "theoretical_flop")
    e, p = h100.energy, h100.power
    watts = mean(summary, "full_load_mw") * 1e6
    full_twh = watts * e.pue * HOURS_PER_YEAR / 1e12
    year = DAYS_PER_YEAR / h100.run.duration_days
    sim_twh = mean(summary, "energy_mwh") * year / 1e6
    sim_usd = mean(summary, "energy_cost_usd") * year
    return [
        Row(
            "6e26 FLOP / dense FP8 peak of 100k H100 x 100 d",
            f"{PUBLISHED_FRACTION_OF_FP8_PEAK:.0%}",
            f"{PUBLISHED_FLOP_100K / theoretical:.3f}",
            f"theoretical_flop = {theoretical:.3e}; the scenario's mfu = {h100.workload.mfu}",
        ),
        Row(
            "critical IT power",
            f"over {PUBLISHED_MW:.0f} MW",
            f"{watts / 1e6:.0f} MW",
            f"full_load_mw: {h100.cluster.gpus:,} x (700 W GPU + {p.host_watts_per_gpu:g} W host), "
            f"{h100.cluster.spare_nodes} idle spares, / (1 - other_it_fraction {p.other_it_fraction:g})",
        ),
        Row(
            "energy a year, every GPU computing",
            f"{PUBLISHED_TWH_PER_YEAR} TWh",
            f"{full_twh:.2f} TWh",
            f"x pue {e.pue} (derived from these two figures) x {HOURS_PER_YEAR:.0f} h",
        ),
        Row(
            "energy a year, as simulated",
            f"{PUBLISHED_TWH_PER_YEAR} TWh",
            f"{sim_twh:.2f} TWh",
            f"energy_mwh x 365.25/{h100.run.duration_days:g}: the power trace's integral, GPUs at "
            f"idle_fraction {p.idle_fraction} (assumed) of TDP when not computing",
        ),
        Row(
            "electricity cost a year, as simulated",
            f"${PUBLISHED_USD_PER_YEAR / 1e6:.1f}M at ${e.usd_per_kwh}/kWh",
            f"${sim_usd / 1e6:.1f}M",
            "energy_cost_usd scaled to a year; same assumptions",
        ),
    ]


def gpt4_rows(gpt4: sim.Scenario, summary: pd.DataFrame) -> list[Row]:
    """What the published GPT-4 FLOP imply, and what the GPT-4 scenario simulates."""
    peak = GPT4_GPUS * GPUS["A100-SXM-80GB"].peak_flops("bf16")
    implied = ", ".join(f"{d:g} d: {PUBLISHED_GPT4_FLOP / (peak * d * 86400.0):.3f}" for d in GPT4_DAYS)
    return [
        Row(
            "GPT-4: implied MFU x ETTR (2.15e25 / 20k x 312e12 x days)",
            "2.15e25 FLOP in 90-100 d",
            implied,
            "published FLOP / theoretical FLOP",
        ),
        Row(
            f"GPT-4 scenario ({gpt4.run.duration_days:g} d, mfu {gpt4.workload.mfu}): effective compute ratio",
            f"{PUBLISHED_GPT4_FLOP / (peak * gpt4.run.duration_days * 86400.0):.3f}",
            ci(summary, "effective_compute_ratio"),
            f"ETTR {ci(summary, 'ettr')}; mfu chosen as implied / simulated ETTR",
        ),
        Row(
            "GPT-4 scenario: realized FLOP",
            f"{PUBLISHED_GPT4_FLOP:.3g}",
            f"{mean(summary, 'realized_flop'):.3g}",
            f"{mean(summary, 'interruptions'):.0f} interruptions (llama3 mix on A100, assumed)",
        ),
    ]


def waterfall_rows(h100: sim.Scenario, summary: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Peak -> MFU -> each ledger bucket -> realized, for the 100k H100 scenario."""
    mfu = h100.workload.mfu
    rows = [("dense FP8 peak", "1.000", f"{mean(summary, 'theoretical_flop'):.3e} FLOP")]
    rows.append((f"x MFU while computing ({mfu})", f"{mfu:.3f}", "before any failure"))
    for bucket in ("lost", "checkpoint", "detect", "restart", "wait"):
        frac = mean(summary, f"fraction_{bucket}")
        rows.append((f"- {bucket}", f"-{frac * mfu:.3f}", f"{frac:.2%} of GPU time"))
    rows.append(("= effective compute ratio", ci(summary, "effective_compute_ratio"), f"ETTR {ci(summary, 'ettr')}"))
    realized = mean(summary, "realized_flop")
    rows.append(
        (
            "realized FLOP",
            f"{realized:.3e}",
            f"{realized / PUBLISHED_FLOP_100K:.0%} of the 6e26 FLOP that 35% of peak with no failures would give",
        )
    )
    rows.append(
        (
            "interruptions (job MTBF)",
            f"{mean(summary, 'interruptions'):.0f}",
            f"job MTBF {mean(summary, 'job_mtbf_hours') * 60:.0f} min",
        )
    )
    return rows


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    """A rich table with ``columns`` and ``rows`` of strings."""
    t = Table(title=title, title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*r)
    return t


def main(argv: list[str] | None = None) -> int:
    """Run the 100k H100 and GPT-4 scenarios and print the comparison tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--replications",
        type=int,
        default=None,
        help="replications per scenario (default: the scenario's run.replications)",
    )
    parser.add_argument("--seed", type=int, default=None, help="root seed (default: the scenario's run.seed)")
    args = parser.parse_args(argv)
    if args.replications is not None and args.replications < 1:
        parser.error("--replications must be at least 1")
    if args.seed is not None and args.seed < 0:
        parser.error("--seed must be 0 or more")

    h100 = sim.load_scenario(H100_SCENARIO)
    gpt4 = sim.load_scenario(GPT4_SCENARIO)
    h100_result = sim.run(h100, replications=args.replications, seed=args.seed)
    gpt4_result = sim.run(gpt4, replications=args.replications, seed=args.seed)
    hs, gs = h100_result.summary, gpt4_result.summary

    console = Console(width=160)
    n, seed = len(h100_result.replications), h100_result.seed
    console.print(f"[bold]Seed figures vs trainsim[/]  ({n} replications per scenario, seed {seed})")
    head = ["figure", "published (SemiAnalysis 2024)", "trainsim", "what it assumes"]
    rows = compute_rows() + h100_rows(h100, hs) + gpt4_rows(gpt4, gs)
    console.print(table("Published figures", head, [(r.figure, r.published, r.simulator, r.note) for r in rows]))
    console.print(
        table(
            f"What failures, checkpoints and restarts take off the top: {h100.title}",
            ["step", "fraction of peak", "detail"],
            waterfall_rows(h100, hs),
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

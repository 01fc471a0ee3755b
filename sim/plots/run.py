"""Run charts, drawn from a results folder only (never from simulation objects).

- ``waterfall``: where the theoretical compute goes, peak -> MFU -> each ledger bucket -> realized;
- ``failure_impact``: interruptions, lost GPU-hours and money per failure cause, with 95% CIs;
- ``timeline`` (in ``sim.plots.timeline``): one replication's states, failures and progress; it
  needs ``events.parquet`` and returns ``None`` without it;
- ``write_run_charts``: all of them as PNG (and SVG) files in the folder.

Every number drawn comes from ``summary.json`` (the timeline from ``events.parquet``), so a chart
and the summary never disagree. Colours come from ``sim.plots.palette``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.plots.base import FAINT, TEXT, header, new_figure, save, scaled, stat, text_color
from sim.plots.palette import BUCKET_COLORS, MFU_COLOR, REALIZED_COLOR, cause_color
from sim.plots.timeline import timeline
from sim.results.folder import NotResults, RunFolder, load
from sim.results.formats import fmt_num, fmt_sci, fmt_usd
from sim.results.schema import BUCKET_LABELS

__all__ = ["Step", "cause_rows", "failure_impact", "timeline", "waterfall", "waterfall_steps", "write_run_charts"]

WATERFALL_QUESTION = "Where does the theoretical compute go?"
IMPACT_QUESTION = "Which failures cost the most?"


@dataclass(frozen=True)
class Step:
    """One bar of the waterfall: it spans ``[left, left + width]`` as fractions of theoretical peak."""

    key: str  # "peak", "mfu", a ledger bucket, or "realized"
    label: str
    left: float
    width: float
    flop: float
    fraction: float = 1.0  # for a bucket: its share of GPU-time (fraction_<bucket>)


def _mean(summary: dict[str, Any], name: str) -> float:
    return stat(summary["metrics"], name)[0]


def waterfall_steps(summary: dict[str, Any]) -> list[Step]:
    """Peak (100%), then 1 - MFU, then each non-useful bucket's ``fraction x MFU``, then realized.

    Means over the replications, exactly as in ``summary.json``: the steps add up to the
    effective compute ratio up to rounding.
    """
    scenario = summary["scenario_resolved"]
    mfu = float(scenario["workload"]["mfu"])
    theoretical = _mean(summary, "theoretical_flop")
    precision = str(scenario["workload"].get("precision", "")).upper()
    tflops = summary.get("derived", {}).get("peak_flops_per_gpu", float("nan")) / 1e12
    steps = [
        Step("peak", f"theoretical peak\n(dense {precision}, {tflops:,.1f} TFLOP/s per GPU)", 0.0, 1.0, theoretical)
    ]
    steps.append(Step("mfu", f"not model FLOPs\n(1 − MFU; MFU = {mfu:.1%})", mfu, 1.0 - mfu, (1.0 - mfu) * theoretical))
    # The palette's order, then any bucket a newer engine adds, so no share of the time is left out.
    fractions = [k.removeprefix("fraction_") for k in summary["metrics"] if k.startswith("fraction_")]
    buckets = [b for b in BUCKET_COLORS if b in fractions] + [b for b in fractions if b not in BUCKET_COLORS]
    remaining = mfu
    for bucket in buckets:
        if bucket == "useful":
            continue
        fraction = _mean(summary, f"fraction_{bucket}")
        width = mfu * fraction
        remaining -= width
        label = f"{BUCKET_LABELS.get(bucket, bucket)}\n({fraction:.2%} of GPU-time × MFU)"
        steps.append(Step(bucket, label, remaining, width, width * theoretical, fraction))
    ratio = _mean(summary, "effective_compute_ratio")
    steps.append(Step("realized", "realized:\nuseful model FLOPs", 0.0, ratio, _mean(summary, "realized_flop")))
    return steps


def _sci_tick(value: float) -> str:
    """Axis ticks in FLOP: ``0``, ``2e26``, ``1.2e27``.

    >>> _sci_tick(0.0), _sci_tick(2e26), _sci_tick(1.2e27)
    ('0', '2e26', '1.2e27')
    """
    text = f"{value:.3g}"  # '2e+26', '1.75e+23'
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def _step_color(key: str) -> str:
    return {"peak": "white", "mfu": MFU_COLOR, "realized": REALIZED_COLOR}.get(key) or BUCKET_COLORS.get(key, FAINT)


def waterfall(folder: RunFolder) -> Figure:
    """The chart "Where does the theoretical compute go?": floating bars from theoretical peak to realized FLOPs."""
    summary = folder.summary
    steps = waterfall_steps(summary)
    fig = new_figure()
    ax = fig.subplots()
    ys = range(len(steps))
    for y, step in zip(ys, steps, strict=True):
        color = _step_color(step.key)
        ax.barh(y, step.width, left=step.left, height=0.62, color=color, edgecolor=TEXT, linewidth=0.8)
        if step.key in ("peak", "realized"):
            text = f"{step.width:.2%}  ·  {fmt_sci(step.flop)} FLOP"
        elif step.width > 0:
            text = f"−{step.width:.2%}  ·  {fmt_sci(step.flop)} FLOP"
        else:
            text = "none"
        weight = "bold" if step.key in ("peak", "realized") else "normal"
        if step.width >= 0.3:  # wide bars carry their label inside, small ones just after their end
            ax.text(
                step.left + step.width / 2,
                y,
                text,
                ha="center",
                va="center",
                fontsize=11,
                weight=weight,
                color=text_color(color),
            )
        else:
            ax.text(
                step.left + step.width + 0.008, y, text, ha="left", va="center", fontsize=11, weight=weight, color=TEXT
            )
    # Dashed connectors: each step starts where the previous one left off.
    for y, step in enumerate(steps[:-1]):
        x = 1.0 if step.key == "peak" else step.left
        ax.plot([x, x], [y + 0.31, y + 0.69], color=FAINT, linewidth=0.9, linestyle="--")
    ax.set_yticks(list(ys), [s.label for s in steps], fontsize=10.5)
    ax.invert_yaxis()
    ax.set_xlim(0.0, 1.0)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of the theoretical peak FLOPs of the whole run (%)", fontsize=11)
    theoretical = steps[0].flop
    top = ax.secondary_xaxis("top", functions=scaled(theoretical))
    top.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _sci_tick(v)))
    top.set_xlabel("FLOPs over the whole run (FLOP)", fontsize=11)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.spines[["right"]].set_visible(False)
    n = summary.get("replications")
    header(
        fig,
        WATERFALL_QUESTION,
        summary,
        f"Each step removes a ledger bucket's share of GPU-time × MFU.  Means over {n} replications, "
        "as in summary.json; realized / theoretical = the effective compute ratio.",
    )
    return fig


@dataclass(frozen=True)
class CauseRow:
    """A failure cause's mean and 95% CI, per run: interruptions, lost GPU-hours, lost money."""

    name: str
    interruptions: tuple[float, float, float]
    lost_gpu_hours: tuple[float, float, float]
    lost_usd: tuple[float, float, float]


def cause_rows(summary: dict[str, Any]) -> list[CauseRow]:
    """Causes that struck at least once or cost anything (stragglers slow the job without stopping it),
    costliest (lost GPU-hours) first."""
    counts = summary.get("interruptions_by_cause", {})
    rows = [
        CauseRow(
            name,
            stat(counts, name),
            stat(summary.get("lost_gpu_hours_by_cause", {}), name),
            stat(summary.get("lost_usd_by_cause", {}), name),
        )
        for name in counts
    ]
    rows = [r for r in rows if r.interruptions[0] > 0 or r.lost_gpu_hours[0] > 0]
    return sorted(rows, key=lambda r: (-r.lost_gpu_hours[0], -r.interruptions[0], r.name))


def costs_set(summary: dict[str, Any]) -> bool:
    """Whether the scenario prices energy or capex, so that lost GPU-hours have a money value."""
    energy = summary.get("scenario_resolved", {}).get("energy", {})
    return bool((energy.get("usd_per_kwh") or 0) > 0 or (energy.get("capex_usd") or 0) > 0)


def _compact(value: float, prefix: str = "") -> str:
    """Axis ticks: ``0``, ``500``, ``20k``, ``1.5M``, ``$2B``."""
    a = abs(value)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{prefix}{value / scale:g}{suffix}"
    return f"{prefix}{value:g}"


def _cause_panel(ax: Axes, rows: list[CauseRow], field: str, labels: list[str], title: str, xlabel: str) -> None:
    stats = [getattr(r, field) for r in rows]
    means = [m for m, _, _ in stats]
    err = [[max(m - lo, 0.0) for m, lo, _ in stats], [max(hi - m, 0.0) for m, _, hi in stats]]
    ys = range(len(rows))
    ax.barh(
        ys,
        means,
        height=0.7,
        color=[cause_color(r.name) for r in rows],
        edgecolor=TEXT,
        linewidth=0.5,
        xerr=err,
        error_kw={"ecolor": TEXT, "capsize": 3, "elinewidth": 1.0},
    )
    right = max((hi for _, _, hi in stats), default=1.0) or 1.0
    for y, (_, _, hi), label in zip(ys, stats, labels, strict=True):
        ax.text(hi + right * 0.015, y, label, va="center", ha="left", fontsize=9.5, color=TEXT)
    # Room for the longest value label after the longest bar (labels are in data units, layout ignores them).
    ax.set_xlim(0.0, right * (1.1 + 0.028 * max(len(label) for label in labels)))
    prefix = "$" if field == "lost_usd" else ""
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _compact(v, prefix)))
    ax.set_title(title, fontsize=12, loc="left")
    ax.set_xlabel(xlabel, fontsize=10.5)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def failure_impact(folder: RunFolder) -> Figure:
    """The chart "Which failures cost the most?": per cause, interruptions, lost GPU-hours and money, with 95% CIs."""
    summary = folder.summary
    rows = cause_rows(summary)
    money = costs_set(summary)
    n = summary.get("replications")
    fig = new_figure(max(7.0, 2.2 + 0.3 * len(rows)))
    note = (
        "Lost = work rolled back + failure detection + restart + waiting for nodes, charged to the cause that "
        f"stopped the job.  Bars: mean over {n} replications; whiskers: 95% CI of the mean."
    )
    if not rows:
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, f"No failure struck in any of the {n} replications.", ha="center", va="center", fontsize=14)
        header(fig, IMPACT_QUESTION, summary, note)
        return fig
    axes = fig.subplots(1, 3 if money else 2, sharey=True, width_ratios=[1.0, 1.25, 1.0][: 3 if money else 2])
    total = sum(r.lost_gpu_hours[0] for r in rows) or 1.0
    _cause_panel(
        axes[0],
        rows,
        "interruptions",
        [fmt_num(r.interruptions[0]) for r in rows],
        "Interruptions",
        "interruptions per run (count)",
    )
    _cause_panel(
        axes[1],
        rows,
        "lost_gpu_hours",
        [f"{fmt_num(r.lost_gpu_hours[0])} ({r.lost_gpu_hours[0] / total:.1%})" for r in rows],
        "Lost GPU-hours (share of all lost)",
        "GPU-hours lost per run",
    )
    if money:
        _cause_panel(
            axes[2],
            rows,
            "lost_usd",
            [fmt_usd(r.lost_usd[0]) for r in rows],
            "Money lost",
            "US dollars lost per run\n(energy + amortised capex)",
        )
    else:
        note += "\nMoney not shown: the scenario sets no energy price (energy.usd_per_kwh) or capex (energy.capex_usd)."
    axes[0].set_yticks(range(len(rows)), [r.name for r in rows], fontsize=10.5)
    # Rows keep their height when there are few causes: pad the axis to at least six rows, centred.
    pad = max(6 - len(rows), 0) / 2
    axes[0].set_ylim(len(rows) - 0.5 + pad, -0.5 - pad)  # top to bottom: costliest first
    header(fig, IMPACT_QUESTION, summary, note)
    return fig


def write_run_charts(folder_path: str | Path | RunFolder, svg: bool = False) -> list[Path]:
    """Write waterfall, failure_impact and timeline as PNG (and SVG) into a run folder; return the paths.

    The timeline is skipped when the folder has no ``events.parquet``. Each file is written
    atomically. Raises ``NotResults`` for a folder that is not a complete run folder.
    """
    folder = folder_path if isinstance(folder_path, RunFolder) else load(folder_path)
    if not isinstance(folder, RunFolder):
        raise NotResults(f"{folder.path} is not a run folder")
    written: list[Path] = []
    for name, build in (("waterfall", waterfall), ("failure_impact", failure_impact), ("timeline", timeline)):
        fig = build(folder)
        if fig is None:
            continue
        for suffix in (".png", ".svg") if svg else (".png",):
            written.append(save(fig, folder.path / f"{name}{suffix}"))
        # A Figure made without pyplot is not registered anywhere: dropping it frees its memory.
        del fig
    return written

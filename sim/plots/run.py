"""Run charts, drawn from a results folder only (never from simulation objects).

- ``waterfall``: where the theoretical compute goes, peak -> MFU -> each ledger bucket -> realized;
- ``failure_impact``: interruptions, lost GPU-hours and money of the costliest failure causes (and
  "other"), with 95% CIs;
- ``timeline`` (in ``sim.plots.timeline``): one replication's states, failures and progress; it
  needs ``events.parquet`` and returns ``None`` without it;
- ``power`` (in ``sim.plots.power``): the power draw of a day, of the whole run, and its swings; it
  needs ``power.parquet`` and returns ``None`` without it;
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
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from sim.plots.base import (
    FAINT,
    TEXT,
    Build,
    header,
    new_figure,
    scaled,
    stat,
    text_color,
    text_width_in,
    write_figures,
)
from sim.plots.causes import TOP, CauseRow, cause_rows, top_causes
from sim.plots.palette import BUCKET_COLORS, MFU_COLOR, REALIZED_COLOR
from sim.plots.power import power_chart
from sim.plots.timeline import timeline
from sim.results.folder import NotResults, RunFolder, load
from sim.results.formats import Scale, fmt_sci, scale_for
from sim.results.schema import BUCKET_LABELS

__all__ = [
    "Step",
    "cause_rows",
    "failure_impact",
    "power_chart",
    "run_builds",
    "timeline",
    "waterfall",
    "waterfall_steps",
    "write_run_charts",
]

WATERFALL_QUESTION = "Where does the theoretical compute go?"
IMPACT_QUESTION = "Which failures cost the most?"
#: Point size of the value labels after the bars.
VALUE_PT = 9.5


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
    top.xaxis.set_major_formatter(FuncFormatter(Scale(scientific=True).tick))
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


def costs_set(summary: dict[str, Any]) -> bool:
    """Whether the scenario prices energy, owned hardware or rented GPUs, so that lost GPU-hours have a money value."""
    resolved = summary.get("scenario_resolved", {})
    energy, cost = resolved.get("energy", {}), resolved.get("cost", {})
    keys = ((energy, "usd_per_kwh"), (energy, "capex_usd"), (cost, "capex_usd"), (cost, "usd_per_gpu_hour"))
    return any((table.get(key) or 0) > 0 for table, key in keys)


#: Inches left of the panels for the causes' names, and between a bar's whisker and its value label.
NAMES_IN, LABEL_GAP_IN = 2.4, 0.08


def _cause_panel(
    ax: Axes,
    rows: list[CauseRow],
    field: str,
    scale: Scale,
    labels: list[str],
    titles: tuple[str, str],
    width_in: float,
) -> None:
    """One panel of bars with CI whiskers and a value label after each, ticks and labels in one ``scale``;
    ``titles``: the panel's and its axis'; ``width_in``: the panel's width, about."""
    stats = [getattr(r, field) for r in rows]
    means = [m for m, _, _ in stats]
    err = [[max(m - lo, 0.0) for m, lo, _ in stats], [max(hi - m, 0.0) for m, _, hi in stats]]
    ys = range(len(rows))
    ax.barh(
        ys,
        means,
        height=0.7,
        color=[r.color for r in rows],
        edgecolor=TEXT,
        linewidth=0.5,
        xerr=err,
        error_kw={"ecolor": TEXT, "capsize": 3, "elinewidth": 1.0},
    )
    ends = [max(m, hi) for m, _, hi in stats]
    right = max(ends, default=1.0) or 1.0
    # Room for every value label after its whisker: a label of w inches at data x needs
    # x + (w + gap) / width_in * limit <= limit.
    limit = right * 1.05
    for end, label in zip(ends, labels, strict=True):
        share = (text_width_in(label, VALUE_PT) + 2 * LABEL_GAP_IN) / width_in
        limit = max(limit, end / max(1.0 - share, 0.2))
    for y, end, label in zip(ys, ends, labels, strict=True):
        ax.annotate(
            label,
            (end, y),
            xytext=(LABEL_GAP_IN * 72, 0),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize=VALUE_PT,
            color=TEXT,
        )
    ax.set_xlim(0.0, limit)
    ax.xaxis.set_major_formatter(FuncFormatter(scale.tick))
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.set_title(titles[0], fontsize=12, loc="left")
    ax.set_xlabel(titles[1], fontsize=10.5)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def failure_impact(folder: RunFolder, top: int = TOP) -> Figure:
    """The chart "Which failures cost the most?": the ``top`` costliest causes and "other", with 95% CIs.

    Three panels (interruptions, lost GPU-hours, money; no money when nothing is priced), one row
    order for all: lost GPU-hours, costliest first, "other" last.
    """
    summary = folder.summary
    rows = top_causes(summary, folder.runs, top)
    money = costs_set(summary)
    n = summary.get("replications")
    fig = new_figure()
    every = cause_rows(summary)
    note = (
        "Causes ranked by lost GPU-hours, in every panel; lost = work rolled back + failure detection + restart "
        "+ waiting for nodes, charged to the cause that stopped the job.  "
        f"Bars: mean over {n} replications; whiskers: 95% CI of the mean."
    )
    if len(rows) < len(every):
        note += (
            f"  The {len(every) - len(rows) + 1} least costly causes are summed as 'other' (CI of the per-replication"
            " sums); report.html lists every cause."
        )
    if not rows:
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, f"No failure struck in any of the {n} replications.", ha="center", va="center", fontsize=14)
        header(fig, IMPACT_QUESTION, summary, note)
        return fig
    ratios = [1.0, 1.25, 1.0][: 3 if money else 2]
    axes = fig.subplots(1, len(ratios), sharey=True, width_ratios=ratios)
    panel_in = [(fig.get_figwidth() - NAMES_IN) * r / sum(ratios) for r in ratios]
    total = sum(r.lost_gpu_hours[0] for r in rows) or 1.0
    counts = scale_for([r.interruptions[0] for r in rows])
    hours = scale_for([r.lost_gpu_hours[0] for r in rows])
    _cause_panel(
        axes[0],
        rows,
        "interruptions",
        counts,
        [counts.label(r.interruptions[0]) for r in rows],
        ("Interruptions", "interruptions per run (count)"),
        panel_in[0],
    )
    _cause_panel(
        axes[1],
        rows,
        "lost_gpu_hours",
        hours,
        [f"{hours.label(r.lost_gpu_hours[0])} ({r.lost_gpu_hours[0] / total:.1%})" for r in rows],
        ("Lost GPU-hours (share of all lost)", "GPU-hours lost per run"),
        panel_in[1],
    )
    if money:
        usd = scale_for([r.lost_usd[0] for r in rows], "$")
        _cause_panel(
            axes[2],
            rows,
            "lost_usd",
            usd,
            [usd.label(r.lost_usd[0]) for r in rows],
            ("Money lost", "US dollars lost per run\n(energy + capex or rental)"),
            panel_in[2],
        )
    else:
        note += (
            "\nMoney not shown: the scenario sets no energy price (energy.usd_per_kwh), capex (cost.capex_usd) "
            "or rental price (cost.usd_per_gpu_hour)."
        )
    axes[0].set_yticks(range(len(rows)), [r.name for r in rows], fontsize=10.5)
    for label, row in zip(axes[0].get_yticklabels(), rows, strict=True):
        if row.other:
            label.set_style("italic")
    if rows[-1].other:  # a rule between the named causes and the sum of the rest
        for ax in axes:
            ax.axhline(len(rows) - 1.5, color=FAINT, linewidth=0.8, linestyle=":")
    # Rows keep their height when there are few causes: pad the axis to at least six rows, centred.
    pad = max(6 - len(rows), 0) / 2
    axes[0].set_ylim(len(rows) - 0.5 + pad, -0.5 - pad)  # top to bottom: costliest first
    header(fig, IMPACT_QUESTION, summary, note)
    return fig


def run_builds(folder: RunFolder, top: int = TOP, replication: int = 0) -> list[Build]:
    """The charts of a run folder, in the report's order: waterfall, failure impact, the timeline and the power
    chart of ``replication``.

    ``top``: the causes the failure-impact chart and the timeline name before "other".
    """
    return [
        ("waterfall", lambda: waterfall(folder)),
        ("failure_impact", lambda: failure_impact(folder, top)),
        ("timeline", lambda: timeline(folder, replication, top=top)),
        ("power", lambda: power_chart(folder, replication)),
    ]


def write_run_charts(folder_path: str | Path | RunFolder, svg: bool = False, top: int = TOP) -> list[Path]:
    """Write waterfall, failure_impact, timeline and power as PNG (and SVG) into a run folder; return the paths.

    ``top``: the causes the failure-impact chart and the timeline name before "other".
    The timeline is skipped when the folder has no ``events.parquet``, the power chart without
    ``power.parquet``. Each file is written atomically. Raises ``NotResults`` for a folder that is not
    a complete run folder.
    """
    folder = folder_path if isinstance(folder_path, RunFolder) else load(folder_path)
    if not isinstance(folder, RunFolder):
        raise NotResults(f"{folder.path} is not a run folder")
    return write_figures(folder.path, run_builds(folder, top), svg)

"""Terminal reports: the result of ``trainsim run`` and the analytic view of ``trainsim check``.

Reports read result tables (``RunTables``: what ``sim.Result`` offers) and the scenario, never the
simulation objects.

>>> import sim
>>> s = sim.load_scenario_text('name = "calm"\\n[cluster]\\ngpus = 8\\n[checkpoint]\\nwrite_seconds = 60')
>>> # MFU 0.4, then 30 min of compute per 31 (a 60 s write each): 0.4 x 30 / 31
>>> [(label, round(remaining, 4)) for label, _, remaining in waterfall(sim.run(s, replications=1))][2:4]
[('lost (rolled back)', 0.4), ('checkpoint writes', 0.3871)]
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sized
from typing import Any, Protocol

import pandas as pd
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from sim.analysis.analytic import interval_seconds
from sim.analysis.memory import memory_rows
from sim.config.scenario import Scenario
from sim.results.formats import fmt_days, fmt_num, fmt_pct, fmt_range, fmt_sci, fmt_usd
from sim.results.precision import precision_line
from sim.results.schema import (
    BUCKET_LABELS,
    BUCKETS,
    CENSORED,
    ENERGY_GROUPS,
    FACILITY,
    FLEET_METRICS,
    METRIC_LABELS,
    POWER_METRICS,
    SMOOTHING_METRICS,
)
from sim.results.target import date_range, finish_date, target_label


class RunTables(Protocol):
    """What a run report reads: the statistics table, the scenario and how the run was made."""

    @property
    def scenario(self) -> Scenario: ...
    @property
    def seed(self) -> int: ...
    @property
    def replications(self) -> Sized: ...
    @property
    def runtime_s(self) -> float: ...
    @property
    def causes(self) -> list[str]: ...
    @property
    def precision(self) -> dict[str, Any] | None: ...
    @property
    def summary(self) -> pd.DataFrame: ...


# ---------------------------------------------------------------- run report: data


def _stat(summary: pd.DataFrame, name: str, column: str = "mean") -> float:
    if name not in summary.index:
        return math.nan
    value: Any = summary.loc[name, column]
    return float(value)


def waterfall(result: RunTables) -> list[tuple[str, float, float]]:
    """Steps from theoretical peak to realized FLOPs: ``(label, change, remaining)`` as fractions of peak.

    Peak is 100%; ``1 - MFU`` of it is never model arithmetic; each non-useful bucket removes its
    share of the time at MFU; what remains is realized / theoretical. Means over replications,
    so the steps add up exactly.
    """
    summary = result.summary
    mfu = result.scenario.workload.mfu
    steps = [("theoretical peak (dense)", 0.0, 1.0)]
    remaining = mfu
    steps.append((f"not model FLOPs (1 - MFU, MFU = {fmt_pct(mfu)})", mfu - 1.0, remaining))
    for bucket in BUCKETS:
        if bucket == "useful":
            continue
        change = -mfu * _stat(summary, f"fraction_{bucket}")
        remaining += change
        steps.append((BUCKET_LABELS.get(bucket, bucket), change, remaining))
    steps.append(("realized (useful model FLOPs)", 0.0, _stat(summary, "effective_compute_ratio")))
    return steps


def cost_per_gpu_hour(result: RunTables) -> float:
    """Average money per job GPU-hour of the run (spares' rental aside): what a lost GPU-hour costs."""
    summary = result.summary
    job_usd = _stat(summary, "total_cost_usd") - max(_stat(summary, "spare_cost_usd"), 0.0)
    gpu_hours = sum(_stat(summary, f"{b}_gpu_hours") for b in BUCKETS)
    return job_usd / gpu_hours if gpu_hours > 0 else math.nan


def causes(result: RunTables) -> list[tuple[str, float, float, float]]:
    """Per cause: ``(name, mean interruptions, mean lost GPU-hours, lost USD)``, costliest first.

    Causes that never struck are left out.
    """
    summary = result.summary
    rows = []
    for name in result.causes:
        n = _stat(summary, f"interruptions_by_cause.{name}")
        lost = _stat(summary, f"lost_gpu_hours_by_cause.{name}")
        if n > 0 or lost > 0:
            rows.append((name, n, lost, _stat(summary, f"lost_usd_by_cause.{name}")))
    return sorted(rows, key=lambda r: (-r[2], -r[1], r[0]))


# ---------------------------------------------------------------- run report: tables


def _ci(summary: pd.DataFrame, name: str, fmt: Any) -> tuple[str, str, str]:
    if name not in summary.index:
        return "n/a", "", ""
    row = summary.loc[name]
    if row["std"] == 0:  # a constant (theoretical FLOP, capex) needs no interval
        return fmt(row["mean"]), "", ""
    if math.isnan(_stat(summary, name)) and name in CENSORED:  # some replications did not reach the target
        ends = (_stat(summary, name, p) for p in ("p10", "p90"))
        p10_text, p90_text = (fmt(x) if math.isfinite(x) else "not reached" for x in ends)
        return "not reached", "", p10_text if p10_text == p90_text else f"{p10_text} – {p90_text}"
    # More digits where the ends of an interval would read the same (ETTR 66.12%-66.14%, not 66.1%-66.1%).
    lo, hi, p10, p90 = (float(x) for x in summary.loc[name, ["ci95_low", "ci95_high", "p10", "p90"]].to_numpy())
    ci, spread = fmt_range(lo, hi, fmt, "-"), fmt_range(p10, p90, fmt, "-")
    return fmt(row["mean"]), ci, spread


def _stat_table(title: str, replications: int, **options: Any) -> Table:
    """A table of metrics with their mean, CI of the mean and p10-p90 (``_ci``'s cells)."""
    table = Table(title=title, title_justify="left", show_edge=False, **options)
    # Labels wrap, numbers never do: a narrow terminal folds the words, not the figures.
    table.add_column("metric", ratio=1)
    table.add_column("mean", justify="right", style="bold", no_wrap=True)
    table.add_column("95% CI of mean" if replications > 1 else "95% CI (one run)", justify="right", no_wrap=True)
    table.add_column("p10-p90", justify="right", no_wrap=True)
    return table


def _headline(result: RunTables) -> Table:
    s = result.scenario
    summary = result.summary
    table = _stat_table("Headline", len(result.replications), pad_edge=False)
    rows: list[tuple[str, str, Any]] = [
        ("time to train (days)", "time_to_train_days", fmt_days),
        ("cost to train", "cost_to_train_usd", fmt_usd),
        ("ETTR (useful / total time)", "ettr", fmt_pct),
        ("realized / theoretical FLOP", "effective_compute_ratio", fmt_pct),
        ("theoretical FLOP", "theoretical_flop", fmt_sci),
        ("realized FLOP", "realized_flop", fmt_sci),
        ("tokens", "tokens", fmt_sci),
        ("interruptions", "interruptions", fmt_num),
        ("job MTBF (h)", "job_mtbf_hours", fmt_num),
        ("days simulated", "run_days", fmt_days),
        ("energy (MWh)", "energy_mwh", fmt_num),
        ("energy cost", "energy_cost_usd", fmt_usd),
        ("amortised capex", "capex_cost_usd", fmt_usd),
        ("GPU rental", "rental_cost_usd", fmt_usd),
        ("total cost", "total_cost_usd", fmt_usd),
        ("cost per useful exaFLOP", "usd_per_useful_exaflop", fmt_usd),
        ("cost of failures", "usd_lost_to_failures", fmt_usd),
        ("cost of unreliability", "unreliability_cost_usd", fmt_usd),
    ]
    for label, name, fmt in rows:
        if name not in summary.index or (not s.priced and "usd" in name):
            continue
        if _stat(summary, name) == 0 and name in ("capex_cost_usd", "rental_cost_usd", "energy_cost_usd"):
            continue  # owned or rented: the other's line is zero
        table.add_row(label, *_ci(summary, name, fmt))
    return table


def _dates(summary: pd.DataFrame, start: dt.date) -> tuple[str, str, str]:
    """The finish date of the mean time to train, of its CI and of its p10-p90 spread."""
    mean, std, lo, hi, p10, p90 = (
        _stat(summary, "time_to_train_days", c) for c in ("mean", "std", "ci95_low", "ci95_high", "p10", "p90")
    )
    ci = "" if std == 0 or math.isnan(mean) else date_range(start, lo, hi)
    return finish_date(start, mean), ci, date_range(start, p10, p90)


def _target_note(result: RunTables) -> Text | None:
    """What the run trained to, and its finish dates; ``None`` without a target (replications short
    of it are a warning). Dates on a line of their own: in the table they would widen every row."""
    run = result.scenario.run
    label = target_label(run.model_dump())
    if label is None:
        return None
    text = Text(f"target {label}: each replication ends once the work is done and saved by a final checkpoint")
    if run.start_date is not None and "time_to_train_days" in result.summary.index:
        mean, ci, spread = _dates(result.summary, run.start_date)
        text.append(f"\nfinish date (day 0 = {run.start_date.isoformat()}): ")
        text.append(mean, style="bold")
        text.append(f"{f', 95% CI {ci}' if ci else ''}, p10-p90 {spread}")
    return text


def _waterfall_table(result: RunTables) -> Table:
    theoretical = _stat(result.summary, "theoretical_flop")
    table = Table(title="Compute waterfall (share of theoretical peak)", title_justify="left", show_edge=False)
    table.add_column("step")
    table.add_column("change", justify="right")
    table.add_column("remaining", justify="right", style="bold")
    table.add_column("FLOP", justify="right")
    steps = waterfall(result)
    for i, (label, change, remaining) in enumerate(steps):
        last = i == len(steps) - 1
        table.add_row(
            label,
            "" if i == 0 or last else ("0" if change == 0 else fmt_pct(change, 2)),
            fmt_pct(remaining, 2),
            fmt_sci(remaining * theoretical),
            end_section=last or i == 0,
            style="bold" if last else None,
        )
    return table


def _causes_table(result: RunTables) -> RenderableType:
    rows = causes(result)
    if not rows:
        return Text("No interruptions in any replication.")
    with_money = cost_per_gpu_hour(result) > 0
    total_lost = sum(r[2] for r in rows)
    table = Table(
        title="Interruptions by cause (mean per run)",
        title_justify="left",
        caption="lost = rolled-back work + slowed throughput + detection + restart + waiting for nodes",
        caption_justify="left",
        show_edge=False,
        show_footer=True,
    )
    table.add_column("cause", footer="total", no_wrap=True)
    table.add_column("count", justify="right", footer=fmt_num(sum(r[1] for r in rows)))
    table.add_column("lost GPU-h", justify="right", footer=fmt_num(total_lost))
    table.add_column("share", justify="right", footer=fmt_pct(1.0 if total_lost else math.nan))
    if with_money:
        table.add_column("lost money", justify="right", footer=fmt_usd(sum(r[3] for r in rows)))
    for name, n, lost, usd in rows:
        # Names as Text: a plain str cell is read as rich markup ("[/]" in a name would raise, "[red]" vanish).
        share = fmt_pct(lost / total_lost if total_lost else math.nan)
        cells: list[RenderableType] = [Text(name), fmt_num(n), fmt_num(lost), share]
        table.add_row(*cells, *([fmt_usd(usd)] if with_money else []))
    return table


#: Fleet figures that only a retirement policy or a repair pipeline makes nonzero.
_FLEET_FEATURES = ("nodes_retired", "repairs_auto", "failed_repairs", "misdiagnoses")


def _fleet_table(result: RunTables) -> Table | None:
    """Retirements, spares consumed and the repair pipeline's figures, when a policy or a pipeline is on
    (or any of its figures is nonzero); None otherwise."""
    s = result.scenario
    summary = result.summary
    on = s.retirement.policy != "none" or s.repair.pipeline
    if not on and not any(_stat(summary, name) > 0 for name in _FLEET_FEATURES):
        return None
    n = len(result.replications)
    table = Table(title="Fleet: retirement and repairs (per run)", title_justify="left", show_edge=False)
    table.add_column("metric", no_wrap=True)
    table.add_column("mean", justify="right", style="bold")
    table.add_column("95% CI of mean" if n > 1 else "95% CI (one run)", justify="right")
    table.add_column("p10-p90", justify="right")
    for name in FLEET_METRICS:
        if name in summary.index:
            table.add_row(METRIC_LABELS[name], *_ci(summary, name, fmt_num))
    return table


def _power_table(result: RunTables) -> Table | None:
    """The power trace's figures (IT, with facility = IT x PUE beside) and what a power floor avoided and
    cost; None for results without them (older result folders)."""
    summary = result.summary
    if "power_mean_mw" not in summary.index:
        return None
    s = result.scenario
    table = _stat_table(f"Power (IT; facility = IT x PUE {s.energy.pue:g})", len(result.replications))
    table.add_column("facility", justify="right", no_wrap=True)
    for name in POWER_METRICS:
        if name not in summary.index:
            continue
        twin = FACILITY.get(name)
        facility = "" if twin is None or twin not in summary.index else fmt_num(_stat(summary, twin))
        if name == "full_load_mw":
            facility = fmt_num(_stat(summary, name) * s.energy.pue)
        table.add_row(METRIC_LABELS[name], *_ci(summary, name, fmt_num), facility)
    if s.power.smoothing:
        for name in SMOOTHING_METRICS:
            if name in summary.index and (s.priced or "usd" not in name):
                table.add_row(METRIC_LABELS[name], *_ci(summary, name, fmt_usd if "usd" in name else fmt_num), "")
    return table


def _energy_table(result: RunTables) -> Table | None:
    """Facility energy by what drew it, with shares; None for results without it."""
    summary = result.summary
    if "energy_computing_mwh" not in summary.index:
        return None
    table = Table(title="Energy by state (facility MWh)", title_justify="left", show_edge=False)
    table.add_column("drawn by", ratio=1)
    table.add_column("mean", justify="right", style="bold", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    total = _stat(summary, "energy_mwh")
    for group in ENERGY_GROUPS:
        value = _stat(summary, f"energy_{group}_mwh")
        if value > 0:
            table.add_row(ENERGY_LABELS[group], fmt_num(value), fmt_pct(value / total, 1) if total > 0 else "")
    return table


#: What drew each energy group, in words.
ENERGY_LABELS: dict[str, str] = {
    "computing": "job servers computing (kept or rolled back)",
    "checkpoint": "job servers blocked on checkpoint writes",
    "detect": "job servers idle until a failure is found",
    "restart": "job servers restarting",
    "wait": "job servers waiting for replacements",
    "maintenance": "job servers in maintenance",
    "spares": "spare servers (idle; none in repair)",
    "other_it": "storage, network, CPU nodes",
}


def _header(result: RunTables) -> Text:
    s = result.scenario
    n = len(result.replications)
    title = f" - {s.title}" if s.title else ""
    text = Text()
    text.append(f"{s.name}{title}\n", style="bold")
    label = target_label(s.run.model_dump())
    span = f"{s.run.duration_days:g} days" if label is None else f"to {label}, at most {s.run.duration_days:g} days"
    text.append(
        f"{s.cluster.gpus:,} x {s.cluster.gpu} in {s.job_nodes:,} nodes (+ {s.cluster.spare_nodes:,} spare), {span}\n"
    )
    text.append(
        f"{s.workload.precision} dense peak {s.peak_flops_per_gpu / 1e12:,.1f} TFLOP/s per GPU, "
        f"MFU {fmt_pct(s.workload.mfu)}\n"
    )
    text.append(
        f"checkpoint every {interval_seconds(s) / 60:.1f} min of compute ({s.checkpoint.policy}), "
        f"write {s.write_seconds:g} s, restart {s.restart_seconds / 60:.1f} min\n"
    )
    text.append(f"{n} replication{'s' if n != 1 else ''}, seed {result.seed}, simulated in {result.runtime_s:.2f} s")
    block = result.precision
    if block is not None:
        text.append(f"\n{precision_line(block)}", style=None if block.get("met") else "yellow")
    return text


def text_report(result: RunTables) -> Group:
    """The ``trainsim run`` report: header, headline, waterfall and causes, as one renderable (warnings: stderr)."""
    note = _target_note(result)
    parts: list[RenderableType] = [
        _header(result),
        Text(""),
        *([note, Text("")] if note is not None else []),
        _headline(result),
        Text(""),
        _waterfall_table(result),
        Text(""),
        _causes_table(result),
    ]
    for extra in (_fleet_table(result), _power_table(result), _energy_table(result)):
        if extra is not None:
            parts += [Text(""), extra]
    return Group(*parts)


def print_report(result: RunTables, console: Console | None = None) -> None:
    """Print ``text_report(result)`` to ``console`` (default: standard output)."""
    (console or Console()).print(text_report(result))


# ---------------------------------------------------------------- check report


def _fmt_minutes(x: float | None) -> str:
    return "n/a (no failures)" if x is None else f"{x:,.1f} min"


def _power_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    """Full load and the draw of a stopped job (check data of older versions have neither)."""
    if "full_load_it_mw" not in d:
        return []
    full, still = d["full_load_it_mw"], d["standing_still_it_mw"]
    return [
        ("IT power at full load (facility)", f"{full:,.1f} MW ({d['full_load_facility_mw']:,.1f} MW)"),
        ("IT power while the job stands still", f"{still:,.1f} MW (a fall of {full - still:,.1f} MW)"),
    ]


def check_renderable(data: dict[str, Any]) -> Group:
    """The ``trainsim check`` report of ``check_report`` data."""
    d = data
    title = f" - {d['title']}" if d["title"] else ""
    head = Text()
    head.append(f"{d['scenario']}{title}: valid\n", style="bold green")
    head.append(
        f"{d['gpus']:,} x {d['gpu']} in {d['job_nodes']:,} nodes of {d['gpus_per_node']} "
        f"(+ {d['spare_nodes']:,} spare), {d['duration_days']:g} days"
    )
    t = Table(show_header=False, show_edge=False, title="Analytic estimates", title_justify="left")
    t.add_column("quantity")
    t.add_column("value", justify="right", style="bold")
    mtbf = d["job_mtbf_hours"]
    size = d["checkpoint_bytes"]
    rows = [
        ("theoretical FLOP over the horizon", f"{fmt_sci(d['theoretical_flop'])} ({d['precision']})"),
        ("job MTBF", "no failures" if mtbf is None else f"{mtbf:,.2f} h ({mtbf * 60:,.1f} min)"),
        ("expected failures over the horizon", fmt_num(d["expected_failures"])),
        ("checkpoint size", "n/a (no workload.parameters)" if size is None else f"{size:.3e} bytes"),
        ("checkpoint write", f"{d['write_seconds']:,.1f} s"),
        ("checkpoint load at restart", f"{d['load_seconds']:,.1f} s"),
        ("restart (including load)", f"{d['restart_minutes']:,.2f} min"),
        ("mean detection delay", f"{d['mean_detect_minutes']:,.2f} min"),
        ("Young interval sqrt(2 delta M)", _fmt_minutes(d["young_interval_minutes"])),
        ("Daly interval (higher order)", _fmt_minutes(d["daly_interval_minutes"])),
        (f"interval used (policy {d['checkpoint_policy']})", _fmt_minutes(d["interval_minutes_used"])),
        ("first-order ETTR at that interval", fmt_pct(d["first_order_ettr"], 2)),
        ("Daly ETTR at that interval", fmt_pct(d["daly_ettr"], 2)),
        ("effective compute estimate (MFU x Daly ETTR)", fmt_pct(d["effective_compute_ratio_estimate"], 2)),
        *_power_rows(d),
        *_time_to_train_rows(d),
        *memory_rows(d.get("memory")),
    ]
    for row in rows:
        t.add_row(*row)
    parts: list[RenderableType] = [head, Text(""), t]
    mem = d.get("memory") or {}
    shown = d.get("warnings", [mem.get("warning")])
    parts += [Text(f"warning: {w}", style="yellow") for w in [*shown, *mem.get("notes", [])] if w]
    if d["causes"]:
        c = Table(
            title="Failure modes, most frequent first",
            title_justify="left",
            caption="job MTBF = MTBF per instance / instances; expected = failures over the horizon",
            caption_justify="left",
            show_edge=False,
        )
        for name in ("cause", "scope x\ninstances", "MTBF per\ninstance h", "job\nMTBF h", "expected\nfailures"):
            c.add_column(name, justify="left" if name == "cause" else "right", no_wrap=True)
        for m in d["causes"]:
            c.add_row(
                Text(m["name"]),
                f"{m['scope']} x {m['instances']:,}",
                fmt_num(m["mtbf_hours_per_instance"]),
                fmt_num(m["job_mtbf_hours"]),
                fmt_num(m["expected_failures"]),
            )
        parts += [Text(""), c]
    parts.append(
        Text(
            "Estimates assume exponential failures and instant spares; detection counts as restart time. "
            "Memory per GPU counts weights and optimizer state only: gradients and activations come on top.",
            style="dim",
        )
    )
    return Group(*parts)


def _time_to_train_rows(d: dict[str, Any]) -> list[tuple[str, str]]:
    """The closed-form time to train a target (mean and standard deviation), if the scenario has one."""
    mean = d.get("time_to_train_days_estimate")
    if mean is None:
        return []
    sd = d.get("time_to_train_days_sd") or 0.0
    return [("time to train (Daly's model)", f"{fmt_days(mean)} ± {fmt_days(sd)} days (sd)")]


def print_check(data: dict[str, Any], console: Console | None = None) -> None:
    """Print ``check_renderable(data)`` to ``console`` (default: standard output)."""
    (console or Console()).print(check_renderable(data))

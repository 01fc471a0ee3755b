"""``report.html``: one self-contained page per results folder, for a design review or an e-mail.

The page holds the summary tables, every chart PNG of the folder (embedded as base64 data URIs)
and the scenario; its CSS is inline, and it has no script, font, image or style sheet from
anywhere else, so it opens from disk with no server and no network. Everything in it is read
from the folder (``summary.json``, the PNGs, ``scenario.toml``), never from a simulation.

The page is a jinja2 template (``templates/``: ``base.html.j2`` with the CSS, ``run.html.j2``,
``sweep.html.j2``) with autoescape on; this module only turns the folder into plain data:
tables of formatted strings, base64 images, lines of text.

The tables are ``sim.report.cells`` (the sweep's: ``sim.report.sweep_html``).
"""

from __future__ import annotations

import base64
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.plots.base import stat
from sim.plots.causes import cause_rows
from sim.plots.run import costs_set, waterfall_steps
from sim.report.cells import Table, ci_text, table
from sim.report.sweep_html import grid_text, optimum_table, points_table
from sim.results.files import CHARTS, REPORT, SCENARIO_COPY, atomic_write_text
from sim.results.folder import CompareFolder, NotResults, RunFolder, SweepFolder, load
from sim.results.formats import Fmt, fmt_days, fmt_num, fmt_pct, fmt_range, fmt_sci, fmt_usd
from sim.results.precision import compare_precision, per_point, replications_line
from sim.results.schema import CENSORED, METRIC_LABELS, better_word

if TYPE_CHECKING:
    import jinja2

CAPTIONS = {
    "waterfall": "Where does the theoretical compute go? Theoretical peak → MFU → each share of GPU-time → realized.",
    "failure_impact": "Which failures cost the most? Interruptions, lost GPU-hours and money of the costliest causes "
    "and the rest as 'other' (95% CIs); every cause is in the table above.",
    "timeline": "One replication: interruptions per day by cause, the share of each day in each job state, useful "
    "work against the failure-free line, and a zoom on the first hours.",
    "power": "How much does the cluster's power draw swing? One day at full resolution (IT and facility MW), the "
    "whole run as daily envelopes (min, mean, max), and the sizes of the swings down and up beyond the threshold.",
    "sweep_curve": "ETTR and effective compute against the swept key, with 95% CIs (bars for categories); a "
    "cluster-size sweep adds the useful FLOPs.",
    "scale": "ETTR against cluster size, simulated and Daly's closed form.",
    "optimize": "The search: the objective at every value evaluated (95% CI), each value's paired difference from "
    "the best, the bracket of values as good as the best, and Young's and Daly's intervals.",
    "compare_ledger": "Where each scenario's GPU-time goes, with mean ETTR, its 95% CI and the paired difference.",
    "compare_differences": "Each scenario minus the first: paired 95% CIs (same failures) beside unpaired ones.",
}
#: Captions of the charts that leave money out when the scenario sets no prices.
UNPRICED_CAPTIONS = {
    "failure_impact": "Which failures cost the most? Interruptions and lost GPU-hours of the costliest causes and "
    "the rest as 'other' (95% CIs); every cause is in the table above.",
}
#: Run headline: (metric, name, unit, format).
HEADLINE: tuple[tuple[str, str, str, Fmt], ...] = (
    ("time_to_train_days", "Time to train the target (work done and saved)", "days", fmt_days),
    ("cost_to_train_usd", "Cost to train the target", "USD", fmt_usd),
    ("ettr", "ETTR (useful share of job GPU-time)", "%", fmt_pct),
    ("effective_compute_ratio", "Effective compute (realized / theoretical FLOPs)", "%", fmt_pct),
    ("realized_flop", "Realized model FLOPs", "FLOP", fmt_sci),
    ("theoretical_flop", "Theoretical FLOPs (dense peak × GPUs × horizon)", "FLOP", fmt_sci),
    ("tokens", "Tokens trained", "tokens", fmt_sci),
    ("interruptions", "Interruptions", "count", fmt_num),
    ("job_mtbf_hours", "Job MTBF (observed)", "hours", fmt_num),
    ("run_days", "Days simulated (to the finish, or the horizon)", "days", fmt_days),
    ("energy_mwh", "Energy", "MWh", fmt_num),
    ("energy_cost_usd", "Energy cost", "USD", fmt_usd),
    ("power_mean_mw", "Mean IT power (facility: × PUE)", "MW", fmt_num),
    ("power_peak_mw", "Peak IT power", "MW", fmt_num),
    ("swings_per_day", "Power swings a day (falls above power.swing_threshold_mw)", "count", fmt_num),
    ("largest_swing_mw", "Largest power swing", "MW", fmt_num),
    ("fastest_ramp_mw_per_s", "Fastest power ramp (largest change within power.ramp_window_seconds)", "MW/s", fmt_num),
    ("hours_below_half_load", "Time below half of full load", "hours", fmt_num),
    ("capex_cost_usd", "Amortised capex", "USD", fmt_usd),
    ("rental_cost_usd", "GPU rental (job and spares)", "USD", fmt_usd),
    ("total_cost_usd", "Total cost", "USD", fmt_usd),
    ("usd_per_useful_exaflop", "Cost per useful exaFLOP", "USD", fmt_usd),
    ("usd_lost_to_failures", "Money lost to failures", "USD", fmt_usd),
    ("unreliability_cost_usd", "Cost of unreliability (every GPU-hour not useful, and spares)", "USD", fmt_usd),
)
#: Costs shown only when nonzero: a run pays for owned hardware or for rented GPUs, not both.
OPTIONAL_COSTS = ("capex_cost_usd", "rental_cost_usd", "energy_cost_usd")


# ---------------------------------------------------------------- plain data for the templates


@dataclass(frozen=True)
class Chart:
    """One chart: its file name and stem (the anchor), caption, and PNG bytes in base64."""

    id: str
    name: str
    caption: str
    base64: str


@dataclass(frozen=True)
class ScenarioText:
    """The scenario as the folder holds it, and how the run changed it."""

    file: str
    text: str
    as_given: bool  # the folder's copy of the scenario file, else the resolved scenario as JSON
    swept: str = ""
    overrides: str = ""


# ---------------------------------------------------------------- run tables


def headline_table(summary: dict[str, Any]) -> Table:
    """The headline metrics with their 95% CI and p10-p90 spread; no money unless the scenario sets prices."""
    rows = []
    money = costs_set(summary)
    for name, label, unit, fmt in HEADLINE:
        if name not in summary["metrics"] or (unit == "USD" and not money):
            continue
        mean, lo, hi = stat(summary["metrics"], name)
        if name in OPTIONAL_COSTS and mean == 0:
            continue
        p = summary["metrics"][name]
        if name in CENSORED and math.isnan(mean):  # some replications did not reach the target
            ends = [fmt(p.get(q)) if p.get(q) is not None else "not reached" for q in ("p10", "p90")]
            rows.append((label, unit, "not reached", "", " – ".join(dict.fromkeys(ends))))
        else:
            spread = "" if lo == hi else fmt_range(p.get("p10"), p.get("p90"), fmt)
            rows.append((label, unit, fmt(mean), ci_text(mean, lo, hi, fmt), spread))
        dates = summary.get("finish_date")
        if name == "time_to_train_days" and dates:
            lo_d, hi_d = (d or "not reached" for d in dates["ci95"])
            ci = "" if math.isnan(mean) or lo_d == hi_d else f"{lo_d} – {hi_d}"
            spread = " – ".join(dict.fromkeys(d or "not reached" for d in (dates["p10"], dates["p90"])))
            rows.append(("Finish date", "date", dates["mean"] or "not reached", ci, spread))
    head = ("metric", "unit", "mean", "95% CI of the mean", "p10 – p90 over replications")
    return table(head, rows, (False, False, True, True, True))


def waterfall_table(summary: dict[str, Any]) -> Table:
    """The waterfall chart's steps (``sim.plots.run.waterfall_steps``) as a table: the same numbers."""
    rows = []
    for step in waterfall_steps(summary):
        label = step.label.split("\n")[0].rstrip(":")
        bucket = step.key not in ("peak", "mfu", "realized")
        if step.key in ("peak", "realized"):
            share = fmt_pct(step.width, 2)
        else:
            share = f"−{fmt_pct(step.width, 2)}" if step.width > 0 else "none"
        flop = fmt_sci(step.flop) if step.flop else "0"
        rows.append((label, fmt_pct(step.fraction, 2) if bucket else "", share, flop))
    head = ("step", "share of job GPU-time", "share of theoretical peak", "FLOP")
    return table(head, rows, (False, True, True, True))


def causes_table(summary: dict[str, Any]) -> Table | None:
    """Interruptions, lost GPU-hours and (if the scenario sets prices) money per cause with their CIs.

    ``None`` when nothing struck.
    """
    rows = cause_rows(summary)
    if not rows:
        return None
    money = costs_set(summary)
    total = sum(r.lost_gpu_hours[0] for r in rows) or 1.0
    out = []
    for r in rows:
        n, gh, usd = r.interruptions, r.lost_gpu_hours, r.lost_usd
        cells = [
            r.name,
            fmt_num(n[0]),
            ci_text(*n, fmt_num),
            fmt_num(gh[0]),
            fmt_pct(gh[0] / total),
            ci_text(*gh, fmt_num),
        ]
        out.append(cells + ([fmt_usd(usd[0]), ci_text(*usd, fmt_usd)] if money else []))
    head = ["cause", "interruptions", "95% CI", "lost GPU-hours", "share of lost", "95% CI"]
    head += ["money lost (USD)", "95% CI"] if money else []
    return table(head, out, (False, *[True] * (len(head) - 1)))


# ---------------------------------------------------------------- sweep table


# ---------------------------------------------------------------- page


def chart_paths(folder: Path) -> list[Path]:
    """Every PNG of the folder: the known charts in their fixed order, then any other by name."""
    pngs = {p.stem: p for p in folder.glob("*.png") if not p.name.startswith(".")}
    known = [pngs.pop(name) for name in CHARTS if name in pngs]
    return known + [pngs[name] for name in sorted(pngs)]


def chart(path: Path, money: bool = True) -> Chart:
    """A chart of the folder, ready to embed; ``money``: whether the scenario sets prices (the charts show money)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    captions = CAPTIONS if money else CAPTIONS | UNPRICED_CAPTIONS
    return Chart(path.stem, path.name, captions.get(path.stem, path.name), data)


def scenario_text(folder: RunFolder | SweepFolder) -> ScenarioText:
    """The folder's copy of the scenario file (else the resolved scenario), the swept keys and the overrides."""
    s = folder.summary
    copy = folder.path / SCENARIO_COPY
    swept = " ".join("-p " + p for p in s.get("param_specs") or [])
    overrides = " ".join(f"--set {k}={json.dumps(v)}" for k, v in (s.get("overrides") or {}).items())
    if copy.exists():
        return ScenarioText(SCENARIO_COPY, copy.read_text(encoding="utf-8"), True, swept, overrides)
    resolved = json.dumps(s.get("scenario_resolved", {}), indent=2)
    return ScenarioText(SCENARIO_COPY, resolved, False, swept, overrides)


def meta(folder: RunFolder | SweepFolder | CompareFolder) -> dict[str, Any]:
    """The line under the title: the scenario's name, then replications, seed, version, start and run time."""
    s = folder.summary
    per = {SweepFolder: " per point", CompareFolder: " per scenario, on the same seeds"}.get(type(folder), "")
    runtime = s.get("runtime_s")
    details = [
        replications_line(s, isinstance(folder, SweepFolder))
        if not isinstance(folder, CompareFolder)
        else f"{s.get('replications')} replications{per}" + compare_precision(s),
        f"seed {s.get('seed')}",
        f"trainsim {s.get('version', '?')}",
        f"started {s.get('started_utc', '?')}",
    ]
    if isinstance(runtime, int | float):
        details.append(f"simulated in {runtime:.3g} s")
    name = s.get("scenario", s.get("scenario_resolved", {}).get("name", ""))
    return {"scenario": ", ".join(folder.names) if isinstance(folder, CompareFolder) else str(name), "details": details}


@functools.cache
def environment() -> jinja2.Environment:
    """The templates of ``sim.report``, HTML-escaped, and an error for any name a template uses but is not given."""
    import jinja2  # here, not at the top: only writing a report needs it

    return jinja2.Environment(
        loader=jinja2.PackageLoader("sim.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def context(folder: RunFolder | SweepFolder) -> dict[str, Any]:
    """Everything the page shows, as plain data: what ``render`` passes to the template."""
    s = folder.summary
    resolved = s.get("scenario_resolved", {})
    sweep = isinstance(folder, SweepFolder)
    page: dict[str, Any] = {
        "kind": "Sweep" if sweep else "Run",
        "title": str(resolved.get("title") or s.get("scenario") or folder.path.name),
        "meta": meta(folder),
        "warnings": [str(w) for w in s.get("warnings") or []],
        "figures": [chart(p, costs_set(s)) for p in chart_paths(folder.path)],
        "folder": str(folder.path),
        "scenario": scenario_text(folder),
    }
    if isinstance(folder, SweepFolder):
        objective = s.get("objective", "ettr")
        optimized = "optimum" in s
        page |= {
            "kind": "Optimize" if optimized else "Sweep",
            "optimum": optimum_table(s) if optimized else None,
            "rounds": (s["optimum"].get("rounds") if optimized else None),
            "at_edge": bool(optimized and s["optimum"].get("at_edge_of_range")),
            "grid": grid_text(s["params"]),
            "replications": per_point(s),
            "objective": METRIC_LABELS.get(objective, objective),
            "better": better_word(objective),
            "points": points_table(folder),
            "notes": [str(n) for n in s.get("notes") or []],
        }
    else:
        page |= {
            "headline": headline_table(s),
            "waterfall": waterfall_table(s),
            "causes": causes_table(s),
            "money": costs_set(s),
        }
    return page


def render(folder: RunFolder | SweepFolder) -> str:
    """The whole page as text."""
    name = "sweep.html.j2" if isinstance(folder, SweepFolder) else "run.html.j2"
    return environment().get_template(name).render(context(folder))


def write_report_html(folder_path: str | Path | RunFolder | SweepFolder) -> Path:
    """Write ``report.html`` into a run or sweep folder (atomically); return its path.

    Embeds the PNGs already in the folder, so write the charts first. Raises ``NotResults``
    for a folder that is not a complete results folder.
    """
    folder = folder_path if isinstance(folder_path, RunFolder | SweepFolder) else load(folder_path)
    if not isinstance(folder, RunFolder | SweepFolder):
        raise NotResults(f"{folder.path} is a compare folder: sim.report.compare_html writes its report")
    path = folder.path / REPORT
    atomic_write_text(path, render(folder))
    return path

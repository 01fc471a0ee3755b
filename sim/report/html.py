"""``report.html``: one self-contained page per results folder, for a design review or an e-mail.

The page holds the summary tables, every chart PNG of the folder (embedded as base64 data URIs)
and the scenario; its CSS is inline, and it has no script, font, image or style sheet from
anywhere else, so it opens from disk with no server and no network. Everything in it is read
from the folder (``summary.json``, the PNGs, ``scenario.toml``), never from a simulation.

The page is a jinja2 template (``templates/``: ``base.html.j2`` with the CSS, ``run.html.j2``,
``sweep.html.j2``) with autoescape on; this module only turns the folder into plain data:
tables of formatted strings, base64 images, lines of text.

>>> ci_text(0.9, 0.88, 0.92, fmt_pct)
'88.0% – 92.0%'
>>> pp_text(-0.00571)
'−0.57 pp'
>>> table(("metric", "mean"), [("ETTR", "90.0%")], (False, True)).body[0].cells[1]
Cell(text='90.0%', numeric=True)
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.plots.base import stat
from sim.plots.causes import cause_rows
from sim.plots.run import costs_set, waterfall_steps
from sim.plots.sweep_base import key_label
from sim.results.files import CHARTS, REPORT, SCENARIO_COPY, atomic_write_text
from sim.results.folder import CompareFolder, NotResults, RunFolder, SweepFolder, load
from sim.results.formats import Fmt, fmt_num, fmt_pct, fmt_range, fmt_sci, fmt_usd, fmt_value
from sim.results.precision import compare_precision, per_point, replications_line
from sim.results.schema import FRACTIONS, METRIC_LABELS

if TYPE_CHECKING:
    import jinja2

CAPTIONS = {
    "waterfall": "Where does the theoretical compute go? Theoretical peak → MFU → each share of GPU-time → realized.",
    "failure_impact": "Which failures cost the most? Interruptions, lost GPU-hours and money of the costliest causes "
    "and the rest as 'other' (95% CIs); every cause is in the table above.",
    "timeline": "One replication: interruptions per day by cause, the share of each day in each job state, useful "
    "work against the failure-free line, and a zoom on the first hours.",
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
    ("ettr", "ETTR (useful share of job GPU-time)", "%", fmt_pct),
    ("effective_compute_ratio", "Effective compute (realized / theoretical FLOPs)", "%", fmt_pct),
    ("realized_flop", "Realized model FLOPs", "FLOP", fmt_sci),
    ("theoretical_flop", "Theoretical FLOPs (dense peak × GPUs × horizon)", "FLOP", fmt_sci),
    ("tokens", "Tokens trained", "tokens", fmt_sci),
    ("interruptions", "Interruptions", "count", fmt_num),
    ("job_mtbf_hours", "Job MTBF (observed)", "hours", fmt_num),
    ("energy_mwh", "Energy", "MWh", fmt_num),
    ("energy_cost_usd", "Energy cost", "USD", fmt_usd),
    ("capex_cost_usd", "Amortised capex", "USD", fmt_usd),
    ("total_cost_usd", "Total cost", "USD", fmt_usd),
    ("usd_per_useful_exaflop", "Cost per useful exaFLOP", "USD", fmt_usd),
    ("usd_lost_to_failures", "Money lost to failures", "USD", fmt_usd),
)


# ---------------------------------------------------------------- plain data for the templates


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, and whether it is a number (right-aligned)."""

    text: str
    numeric: bool


@dataclass(frozen=True)
class Row:
    """One table row; ``best`` marks the best point of a sweep."""

    cells: list[Cell]
    best: bool = False


@dataclass(frozen=True)
class Table:
    """Column heads and rows of formatted cells."""

    head: Sequence[str]
    body: list[Row]


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


def table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[bool], best: int = -1) -> Table:
    """A table of formatted strings; ``numeric`` says which columns hold numbers, ``best`` the row to mark."""
    body = [
        Row([Cell(text, num) for text, num in zip(row, numeric, strict=True)], best=i == best)
        for i, row in enumerate(rows)
    ]
    return Table(tuple(head), body)


# ---------------------------------------------------------------- formatting


def ci_text(mean: float, lo: float, hi: float, fmt: Fmt) -> str:
    """A 95% CI as ``lo – hi``, with more digits when its ends would read the same; empty only when
    there is no interval (a constant, or one replication).

    >>> ci_text(0.66, 0.66001, 0.66004, fmt_pct), ci_text(0.5, 0.5, 0.5, fmt_pct)
    ('66.001% – 66.004%', '')
    """
    return fmt_range(lo, hi, fmt)


def pp_text(x: float | None, *, extra: int = 0) -> str:
    """A difference of fractions in percentage points, with a true minus sign."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:+.{2 + extra}f} pp".replace("-", "−") if x else "0 pp"


# ---------------------------------------------------------------- run tables


def headline_table(summary: dict[str, Any]) -> Table:
    """The headline metrics with their 95% CI and p10-p90 spread; no money unless the scenario sets prices."""
    rows = []
    money = costs_set(summary)
    for name, label, unit, fmt in HEADLINE:
        if name not in summary["metrics"] or (unit == "USD" and not money):
            continue
        mean, lo, hi = stat(summary["metrics"], name)
        p = summary["metrics"][name]
        spread = "" if lo == hi else fmt_range(p.get("p10"), p.get("p90"), fmt)
        rows.append((label, unit, fmt(mean), ci_text(mean, lo, hi, fmt), spread))
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


def points_table(folder: SweepFolder) -> Table:
    """One row per point: swept values, ETTR, paired difference from the best, effective compute, money lost.

    Money only if the scenario sets prices or the sweep varies them.
    """
    s = folder.summary
    keys = folder.keys
    money = costs_set(s) or any(k.startswith("energy.") for k in keys)
    best = s.get("best") or {}
    rows, best_row = [], -1
    counts = [p.get("replications") for p in s["points"]]
    varied = len(set(counts)) > 1  # a precision target chose each point's count: show them
    for i, p in enumerate(s["points"]):
        m, diff = p["metrics"], p.get("paired_difference_from_best", {})
        ettr, ecr = stat(m, "ettr"), stat(m, "effective_compute_ratio")
        is_best = p["params"] == best
        best_row = i if is_best else best_row
        d = diff.get("ettr") or {}
        d_mean = math.nan if d.get("mean") is None else float(d["mean"])
        d_ci = [math.nan if x is None else float(x) for x in d.get("ci95") or [None, None]]
        rows.append(
            (
                *(fmt_value(p["params"][k], thousands=True) for k in keys),
                *([f"{counts[i]:,}"] if varied else []),
                fmt_pct(ettr[0]),
                ci_text(*ettr, fmt_pct),
                "best" if is_best else pp_text(d_mean),
                "" if is_best else ci_text(d_mean, d_ci[0], d_ci[1], pp_text),
                fmt_pct(ecr[0]),
                ci_text(*ecr, fmt_pct),
                fmt_num(stat(m, "interruptions")[0]),
                *([fmt_usd(stat(m, "usd_lost_to_failures")[0])] if money else []),
            )
        )
    head = (
        *(key_label(k) for k in keys),
        *(["replications"] if varied else []),
        "ETTR",
        "95% CI",
        "ETTR − best (paired)",
        "95% CI",
        "effective compute",
        "95% CI",
        "interruptions",
        *(["lost to failures (USD)"] if money else []),
    )
    return table(head, rows, [True] * len(head), best_row)


def optimum_table(summary: dict[str, Any]) -> Table:
    """The optimum of an optimize folder: the best value with its CI, the bracket, Young's and Daly's intervals."""
    o = summary["optimum"]
    key, metric = str(o["key"]), str(o["objective"])
    name = METRIC_LABELS.get(metric, metric)
    fmt = fmt_pct if metric in FRACTIONS else fmt_sci if metric == "realized_flop" else fmt_num
    unit = " min" if key.endswith("_minutes") else ""
    lo, hi = (math.nan if x is None else float(x) for x in o["best_ci95"])
    mean = math.nan if o["best_mean"] is None else float(o["best_mean"])
    rows = [
        ("simulated best", f"{o['best']:.4g}{unit}", f"{name} {fmt(mean)}", ci_text(mean, lo, hi, fmt)),
        ("bracket", f"{o['bracket'][0]:.4g} – {o['bracket'][1]:.4g}{unit}", f"{name} not significantly worse", ""),
    ]
    for label, minutes, note in (
        ("Young (1974)", o.get("young_minutes"), "√(2δM)"),
        ("Daly (2006)", o.get("daly_minutes"), "higher-order optimum"),
    ):
        if minutes is not None:
            rows.append((label, f"{float(minutes):.4g} min", note, ""))
    head = ("", key_label(key), "note", "95% CI of the mean")
    return table(head, rows, (False, True, False, True))


def grid_text(params: dict[str, list[Any]]) -> str:
    """The swept grid as typed (1024, not 1,024: thousands separators would read as more values in a list).

    >>> grid_text({"checkpoint.interval_minutes": [5.0, 10.0], "cluster.gpus": [1024]})
    'checkpoint.interval_minutes ∈ {5, 10} × cluster.gpus ∈ {1024}'
    """
    return " × ".join(f"{k} ∈ {{{', '.join(fmt_value(v) for v in vs)}}}" for k, vs in params.items())


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

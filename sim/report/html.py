"""``report.html``: one self-contained page per results folder, for a design review or an e-mail.

The page holds the summary tables, every chart PNG of the folder (embedded as base64 data URIs)
and the scenario; its CSS is inline, and it has no script, font, image or style sheet from
anywhere else, so it opens from disk with no server and no network. Everything in it is read
from the folder (``summary.json``, the PNGs, ``scenario.toml``), never from a simulation.

>>> ci_text(0.9, 0.88, 0.92, fmt_pct)
'88.0% – 92.0%'
>>> pp_text(-0.00571)
'−0.57 pp'
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from sim.plots.base import stat
from sim.plots.run import cause_rows, waterfall_steps
from sim.plots.sweep_base import key_label
from sim.results.files import CHARTS, REPORT, SCENARIO_COPY, atomic_write_text
from sim.results.folder import RunFolder, SweepFolder, load
from sim.results.formats import fmt_num, fmt_pct, fmt_sci, fmt_usd, fmt_value
from sim.results.schema import METRIC_LABELS

CAPTIONS = {
    "waterfall": "Where does the theoretical compute go? Theoretical peak → MFU → each share of GPU-time → realized.",
    "failure_impact": "Which failures cost the most? Interruptions, lost GPU-hours and money per cause (95% CIs).",
    "timeline": "One replication: when the job computed and when it stood still, and useful work against "
    "the failure-free line.",
    "sweep_curve": "ETTR and effective compute against the swept key, with 95% CI bands.",
    "scale": "ETTR against cluster size, simulated and Daly's closed form.",
}
Fmt = Callable[[float | None], str]
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

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1500px; margin: 0 auto; padding: 1.5rem 2rem 3rem; line-height: 1.45; background: #fff; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
.meta, figcaption, .note { color: #555; font-size: .92rem; }
nav a { margin-right: 1.2rem; color: #0072B2; }
table { border-collapse: collapse; font-size: .93rem; margin: .3rem 0 1rem; }
th, td { padding: .28rem .7rem; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.best td { background: #fdf8d0; font-weight: 600; }
figure { margin: 1.2rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e4e4; }
pre { background: #f7f7f7; border: 1px solid #e4e4e4; padding: .8rem 1rem; overflow-x: auto; font-size: .85rem; }
.warn { color: #8a4b00; }
@media print { nav { display: none; } figure { break-inside: avoid; } }
"""


# ---------------------------------------------------------------- formatting


def ci_text(mean: float, lo: float, hi: float, fmt: Fmt) -> str:
    """A 95% CI as ``lo – hi``; empty when the value is a constant or there is one replication."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or fmt(lo) == fmt(hi):
        return ""
    return f"{fmt(lo)} – {fmt(hi)}"


def pp_text(x: float | None) -> str:
    """A difference of fractions in percentage points, with a true minus sign."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:+.2f} pp".replace("-", "−") if x else "0 pp"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[bool], best: int = -1) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = []
    for i, row in enumerate(rows):
        tds = "".join(
            f'<td class="n">{escape(c)}</td>' if num else f"<td>{escape(c)}</td>"
            for c, num in zip(row, numeric, strict=True)
        )
        body.append(f'<tr class="best">{tds}</tr>' if i == best else f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# ---------------------------------------------------------------- run tables


def _headline(summary: dict[str, Any]) -> str:
    rows = []
    for name, label, unit, fmt in HEADLINE:
        if name not in summary["metrics"]:
            continue
        mean, lo, hi = stat(summary["metrics"], name)
        p = summary["metrics"][name]
        spread = "" if lo == hi else f"{fmt(p.get('p10'))} – {fmt(p.get('p90'))}"
        rows.append((label, unit, fmt(mean), ci_text(mean, lo, hi, fmt), spread))
    head = ("metric", "unit", "mean", "95% CI of the mean", "p10 – p90 over replications")
    return _table(head, rows, (False, False, True, True, True))


def _waterfall(summary: dict[str, Any]) -> str:
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
    note = (
        '<p class="note">Each share of GPU-time that is not useful computing costs that share of the '
        "model FLOPs (× MFU); what remains is the effective compute ratio.</p>"
    )
    return _table(head, rows, (False, True, True, True)) + note


def _causes(summary: dict[str, Any]) -> str:
    rows = cause_rows(summary)
    if not rows:
        return '<p class="note">No failure struck in any replication.</p>'
    total = sum(r.lost_gpu_hours[0] for r in rows) or 1.0
    out = []
    for r in rows:
        n, gh, usd = r.interruptions, r.lost_gpu_hours, r.lost_usd
        out.append(
            (
                r.name,
                fmt_num(n[0]),
                ci_text(*n, fmt_num),
                fmt_num(gh[0]),
                fmt_pct(gh[0] / total),
                ci_text(*gh, fmt_num),
                fmt_usd(usd[0]),
                ci_text(*usd, fmt_usd),
            )
        )
    head = (
        "cause",
        "interruptions",
        "95% CI",
        "lost GPU-hours",
        "share of lost",
        "95% CI",
        "money lost (USD)",
        "95% CI",
    )
    note = (
        '<p class="note">Per run (mean over replications). Lost = work rolled back + detection + restart + '
        "waiting for nodes, charged to the cause that stopped the job; money = energy + amortised capex.</p>"
    )
    return _table(head, out, (False, *[True] * 7)) + note


def _run_summary(folder: RunFolder) -> str:
    s = folder.summary
    parts = [
        "<h3>Headline</h3>",
        _headline(s),
        "<h3>Compute waterfall</h3>",
        _waterfall(s),
        "<h3>Interruptions, lost GPU-hours and money by cause</h3>",
        _causes(s),
    ]
    return "".join(parts)


# ---------------------------------------------------------------- sweep table


def _sweep_summary(folder: SweepFolder) -> str:
    s = folder.summary
    keys = folder.keys
    best = s.get("best") or {}
    objective = s.get("objective", "ettr")
    rows, best_row = [], -1
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
                fmt_pct(ettr[0]),
                ci_text(*ettr, fmt_pct),
                "best" if is_best else pp_text(d_mean),
                "" if is_best else ci_text(d_mean, d_ci[0], d_ci[1], pp_text),
                fmt_pct(ecr[0]),
                ci_text(*ecr, fmt_pct),
                fmt_num(stat(m, "interruptions")[0]),
                fmt_usd(stat(m, "usd_lost_to_failures")[0]),
            )
        )
    head = (
        *(key_label(k) for k in keys),
        "ETTR",
        "95% CI",
        "ETTR − best (paired)",
        "95% CI",
        "effective compute",
        "95% CI",
        "interruptions",
        "lost to failures (USD)",
    )
    # As typed (1024, not 1,024): thousands separators would read as more values in a comma list.
    grid = " × ".join(f"{k} ∈ {{{', '.join(fmt_value(v) for v in vs)}}}" for k, vs in s["params"].items())
    note = (
        f'<p class="note">Grid: {escape(grid)}. Each point: {s.get("replications")} replications, paired (the '
        f"same failures at every point), so a difference from the best point has a far narrower CI than the "
        f"values themselves. Best: the highest mean {escape(METRIC_LABELS.get(objective, objective))}.</p>"
    )
    return note + _table(head, rows, (*[True] * len(keys), *[True] * 8), best_row)


# ---------------------------------------------------------------- page


def chart_paths(folder: Path) -> list[Path]:
    """Every PNG of the folder: the known charts in their fixed order, then any other by name."""
    pngs = {p.stem: p for p in folder.glob("*.png") if not p.name.startswith(".")}
    known = [pngs.pop(name) for name in CHARTS if name in pngs]
    return known + [pngs[name] for name in sorted(pngs)]


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = CAPTIONS.get(path.stem, path.name)
    return (
        f'<figure id="{escape(path.stem)}"><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
        f"<figcaption>{escape(path.name)}: {escape(caption)}</figcaption></figure>"
    )


def _scenario(folder: RunFolder | SweepFolder) -> str:
    s = folder.summary
    copy = folder.path / SCENARIO_COPY
    parts = []
    if s.get("param_specs"):
        parts.append(f"<p>Swept: <code>{escape(' '.join('-p ' + p for p in s['param_specs']))}</code></p>")
    if s.get("overrides"):
        sets = " ".join(f"--set {k}={json.dumps(v)}" for k, v in s["overrides"].items())
        parts.append(f"<p>Overrides: <code>{escape(sets)}</code></p>")
    if copy.exists():
        parts.append(f"<p>{SCENARIO_COPY} as given:</p><pre>{escape(copy.read_text(encoding='utf-8'))}</pre>")
    else:
        resolved = json.dumps(s.get("scenario_resolved", {}), indent=2)
        parts.append(f"<p>No {SCENARIO_COPY} in the folder; the scenario as resolved:</p><pre>{escape(resolved)}</pre>")
    return "".join(parts)


def _meta(folder: RunFolder | SweepFolder) -> str:
    s = folder.summary
    resolved = s.get("scenario_resolved", {})
    kind = "sweep" if isinstance(folder, SweepFolder) else "run"
    runtime = s.get("runtime_s")
    bits = [
        f"trainsim {kind} of <b>{escape(str(s.get('scenario', resolved.get('name', ''))))}</b>",
        f"{s.get('replications')} replications{' per point' if kind == 'sweep' else ''}",
        f"seed {s.get('seed')}",
        f"trainsim {escape(str(s.get('version', '?')))}",
        f"started {escape(str(s.get('started_utc', '?')))}",
    ]
    if isinstance(runtime, int | float):
        bits.append(f"simulated in {runtime:.3g} s")
    return " · ".join(bits)


def render(folder: RunFolder | SweepFolder) -> str:
    """The whole page as text."""
    s = folder.summary
    resolved = s.get("scenario_resolved", {})
    title = resolved.get("title") or s.get("scenario") or folder.path.name
    kind = "Sweep" if isinstance(folder, SweepFolder) else "Run"
    summary = _sweep_summary(folder) if isinstance(folder, SweepFolder) else _run_summary(folder)
    warnings = "".join(f'<p class="warn">Warning: {escape(str(w))}</p>' for w in s.get("warnings") or [])
    charts = chart_paths(folder.path)
    figures = "".join(_figure(p) for p in charts) or (
        f'<p class="note">No charts in this folder: <code>trainsim plot {escape(str(folder.path))}</code> '
        "draws them.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(f"{kind} report: {title}")}</title>
<style>{CSS}</style>
</head>
<body>
<h1>{escape(f"{kind} report: {title}")}</h1>
<p class="meta">{_meta(folder)}</p>
<nav><a href="#summary">Summary</a><a href="#charts">Charts</a><a href="#scenario">Scenario</a></nav>
{warnings}
<h2 id="summary">Summary</h2>
{summary}
<h2 id="charts">Charts</h2>
{figures}
<h2 id="scenario">Scenario</h2>
{_scenario(folder)}
</body>
</html>
"""


def write_report_html(folder_path: str | Path | RunFolder | SweepFolder) -> Path:
    """Write ``report.html`` into a run or sweep folder (atomically); return its path.

    Embeds the PNGs already in the folder, so write the charts first. Raises ``NotResults``
    for a folder that is not a complete results folder.
    """
    folder = folder_path if isinstance(folder_path, RunFolder | SweepFolder) else load(folder_path)
    path = folder.path / REPORT
    atomic_write_text(path, render(folder))
    return path

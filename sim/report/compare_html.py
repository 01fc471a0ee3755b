"""``report.html`` of a compare folder: the scenarios, their ledgers, their paired differences, the charts.

Built like the run and sweep pages (``sim.report.html``: same template base, same self-contained
page), from the folder's files only: ``summary.json``, the chart PNGs and each scenario's run folder.

>>> origin({"file": "scenarios/h100_100k.toml", "variant": None}, "h100-100k")
'file scenarios/h100_100k.toml'
>>> origin({"file": "a.toml", "variant": {"restart.fixed_minutes": 5}}, "h100-100k")
'variant of h100-100k (a.toml)'
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sim.plots.run import costs_set
from sim.report.cells import Table, ci_text, table
from sim.report.compare import SHOWN, fmt_difference, interval, metric_label, narrower
from sim.report.html import chart, chart_paths, environment, meta
from sim.results.files import REPORT, SCENARIO_COPY, atomic_write_text
from sim.results.folder import CompareFolder, NotResults, load
from sim.results.formats import fmt_days, fmt_num, fmt_pct, fmt_sci, fmt_usd
from sim.results.schema import BUCKET_LABELS, BUCKETS


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def _stat(doc: dict[str, Any], name: str) -> tuple[float, float, float]:
    m = doc["metrics"].get(name) or {}
    lo, hi = (_num(x) for x in m.get("ci95") or [None, None])
    return _num(m.get("mean")), lo, hi


def origin(source: dict[str, Any], baseline: str) -> str:
    """Where a scenario came from: its file, or the variant of the baseline it is."""
    if source.get("variant"):
        return f"variant of {baseline} ({source.get('file')})"
    return f"file {source.get('file')}" if source.get("file") else "given from Python"


def scenarios_table(folder: CompareFolder) -> Table:
    """One row per scenario: origin, ETTR with its CI, effective compute, useful FLOPs, interruptions, money."""
    s = folder.summary
    money = costs_set(s["scenarios"][0])
    timed = "time_to_train_days" in s["scenarios"][0]["metrics"]
    rows = []
    for i, (doc, src) in enumerate(zip(s["scenarios"], s.get("sources") or [{}] * len(folder.names), strict=True)):
        ettr = _stat(doc, "ettr")
        row = [
            folder.names[i] + (" (baseline)" if i == 0 else ""),
            origin(src, folder.names[0]),
            fmt_pct(ettr[0]),
            ci_text(*ettr, fmt_pct),
            fmt_pct(_stat(doc, "effective_compute_ratio")[0]),
            fmt_sci(_stat(doc, "realized_flop")[0]),
            fmt_num(_stat(doc, "interruptions")[0]),
        ]
        if timed:
            t = _stat(doc, "time_to_train_days")
            row += [fmt_days(t[0]) if math.isfinite(t[0]) else "not reached", ci_text(*t, fmt_days)]
        if money:
            row += [fmt_usd(_stat(doc, k)[0]) for k in ("usd_lost_to_failures", "total_cost_usd")]
            row += [fmt_usd(_stat(doc, k)[0]) for k in ("unreliability_cost_usd", "usd_per_useful_exaflop")]
        rows.append(row)
    head = ["scenario", "from", "ETTR", "95% CI", "effective compute", "useful FLOP", "interruptions"]
    head += ["time to train (days)", "95% CI"] if timed else []
    head += ["lost to failures (USD)", "total cost (USD)", "cost of unreliability (USD)"] if money else []
    head += ["USD per useful exaFLOP"] if money else []
    return table(head, rows, (False, False, *[True] * (len(head) - 2)))


def ledger_table(folder: CompareFolder) -> Table:
    """One row per scenario: the mean share of the job's GPU-time in every ledger bucket that holds any."""
    docs = folder.summary["scenarios"]
    shares = [{b: _stat(d, f"fraction_{b}")[0] for b in BUCKETS} for d in docs]
    buckets = [b for b in BUCKETS if b == "useful" or any(x[b] > 0 for x in shares)]
    rows = [[folder.names[i], *(fmt_pct(x[b], 2) for b in buckets)] for i, x in enumerate(shares)]
    return table(["scenario", *(BUCKET_LABELS.get(b, b) for b in buckets)], rows, (False, *[True] * len(buckets)))


def differences_table(folder: CompareFolder) -> Table:
    """The paired difference of the headline metrics and of every ledger share, with both 95% intervals."""
    s = folder.summary
    money = costs_set(s["scenarios"][0])
    order = [*SHOWN, *(f"fraction_{b}" for b in BUCKETS if b != "useful")]  # the useful share is ETTR
    wanted = [d for d in s["differences"] if d["metric"] in order and (money or "usd" not in d["metric"])]
    wanted.sort(key=lambda d: (folder.names.index(d["scenario"]), order.index(d["metric"])))
    rows = []
    for d in wanted:
        m = d["metric"]
        if m.startswith("fraction_") and not d["mean"] and not (d["unpaired_ci95"][1] or 0):
            continue  # a bucket that holds nothing in either scenario
        cells = [fmt_difference(_num(d["mean"]), m), interval(d["ci95"], m), interval(d["unpaired_ci95"], m)]
        # A true minus sign, as in the run and sweep pages.
        rows.append([d["scenario"], metric_label(m), *(c.replace("-", "−") for c in cells)])
        rows[-1].append(narrower(d["ci95"], d["unpaired_ci95"]))
    head = ["scenario", "metric", "difference", "paired 95% CI", "unpaired 95% CI", "paired CI narrower by"]
    return table(head, rows, (False, False, True, True, True, True))


def sources(folder: CompareFolder) -> list[dict[str, Any]]:
    """Per scenario: its name, origin, overrides, its run folder and report (if drawn), and its file's text."""
    s = folder.summary
    out = []
    for name, src in zip(folder.names, s.get("sources") or [{}] * len(folder.names), strict=True):
        run = folder.path / "scenarios" / name
        overrides = {**(s.get("overrides") or {}), **(src.get("variant") or {})}
        copy = run / SCENARIO_COPY
        out.append(
            {
                "name": name,
                "origin": origin(src, folder.names[0]),
                "overrides": " ".join(f"--set {k}={json.dumps(v)}" for k, v in overrides.items()),
                "folder": f"scenarios/{name}/",
                "report": f"scenarios/{name}/{REPORT}" if (run / REPORT).exists() else "",
                "text": copy.read_text(encoding="utf-8") if copy.exists() and not src.get("variant") else "",
            }
        )
    return out


def context(folder: CompareFolder) -> dict[str, Any]:
    """Everything the page shows, as plain data."""
    s = folder.summary
    return {
        "kind": "Compare",
        "title": f"{len(folder.names)} scenarios against {folder.names[0]}",
        "meta": meta(folder),
        "warnings": [str(w) for w in s.get("warnings") or []],
        "notes": [str(n) for n in s.get("notes") or []],
        "figures": [chart(p, costs_set(s["scenarios"][0])) for p in chart_paths(folder.path)],
        "folder": str(folder.path),
        "baseline": folder.names[0],
        "scenarios": scenarios_table(folder),
        "ledger": ledger_table(folder),
        "differences": differences_table(folder),
        "sources": sources(folder),
    }


def write_compare_html(folder_path: str | Path | CompareFolder) -> Path:
    """Write ``report.html`` into a compare folder (atomically; after its charts, which it embeds); return its path."""
    folder = folder_path if isinstance(folder_path, CompareFolder) else load(folder_path)
    if not isinstance(folder, CompareFolder):
        raise NotResults(f"{folder.path} is not a compare folder")
    path = folder.path / REPORT
    atomic_write_text(path, environment().get_template("compare.html.j2").render(context(folder)))
    return path

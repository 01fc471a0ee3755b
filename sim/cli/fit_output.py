"""What ``trainsim fit`` prints: the fleet model as ready-to-paste TOML, terminal tables, and its JSON document.

>>> print(failure_block_number(1234.5678), failure_block_number(0.71234, 3))
1235.0 0.712
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sim.cli.app import visible

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from sim.analysis.fleet_fit import FleetFit
    from sim.analysis.heterogeneity import HeterogeneityFit

MODEL_WORDS = {"none": "none (a homogeneous fleet)", "gamma": "gamma frailty", "bad-nodes": "bad nodes"}


def failure_block_number(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, as a TOML float."""
    return repr(float(f"{x:.{digits}g}"))


def stamp(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def num(x: float) -> str:
    """Hours to the hour from 100 to a million, else three significant digits."""
    if not math.isfinite(x):
        return "-"
    return f"{x:,.0f}" if 100 <= x < 1e6 else f"{x:.3g}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def ci(pair: Sequence[float]) -> str:
    return "-" if any(not math.isfinite(x) for x in pair) else f"{num(pair[0])}-{num(pair[1])}"


def heterogeneity_summary(h: HeterogeneityFit) -> str:
    """One line: the test, the AIC of each model, and the chosen one with its parameters."""
    p = h.chosen.params
    c = h.chosen.ci95
    aic = ", ".join(f"{MODEL_WORDS[m].split(' (')[0]} {h.fits['poisson' if m == 'none' else m].aic:,.1f}"
                    for m in ("none", "gamma", "bad-nodes"))  # fmt: skip
    test = f"overdispersion LR {h.lr:.3g}, p = {h.p_value:.2g} (alpha {h.alpha:g}); AIC {aic}"
    if h.model == "gamma":
        what = f"gamma frailty, cv {p['cv']:.3g} (95% CI {ci(c['cv'])})"
    elif h.model == "bad-nodes":
        f_lo, f_hi = c["fraction"]
        what = (f"bad nodes: {p['fraction']:.1%} (95% CI {f_lo:.1%}-{f_hi:.1%}) fail {p['multiplier']:.3g}x "
                f"(95% CI {ci(c['multiplier'])}) as often as the others")  # fmt: skip
    else:
        what = "none: a homogeneous fleet"
    return f"{what}{' (imposed)' if h.imposed else ''}; {test}"


def toml_text(fit: FleetFit, log_name: str, start: dt.datetime, end: dt.datetime, scope: str) -> str:
    """The fleet model, ready to paste: ``[cluster]`` fleet_age, ``[heterogeneity]`` and ``[[failure]]`` blocks."""
    from sim.analysis.fit import ALPHA

    window = f"{stamp(start)}..{stamp(end)}"
    unit = scope
    h = fit.heterogeneity
    source = f"fitted from {log_name}: {plural(fit.events, 'event')}, window {window}"
    lines = [
        f"# Fitted by trainsim fit from {log_name}: {plural(fit.events, 'event')}, {plural(fit.nodes, unit)}, "
        f"window {window}.",
        f"# Fleet: {'in steady state' if fit.stationary else 'new at the window start'}; heterogeneity "
        f"{MODEL_WORDS[h.model]}; each cause a clock per {unit}, renewed by its own faults (a repair renews the part "
        "that failed);",
        f"# Weibull only where the likelihood-ratio test against exponential gives p < {ALPHA:g}.",
        "# Merge [cluster] into your scenario's own [cluster] table.",
        "",
        "[cluster]",
        f'fleet_age = "{fit.fleet_age}"',
        "",
        f"# {heterogeneity_summary(h)}",
        "[heterogeneity]",
    ]
    keys = h.scenario_keys()
    cis = h.chosen.ci95
    names = {"bad_node_fraction": "fraction", "bad_node_multiplier": "multiplier", "frailty_cv": "cv"}
    for key in ("bad_node_fraction", "bad_node_multiplier", "frailty_cv"):
        value = float(keys[key])
        note = names[key] in cis and f"  # 95% CI {cis[names[key]][0]:.4g}-{cis[names[key]][1]:.4g}"
        lines.append(f"{key} = {failure_block_number(value)}{note or ''}")
    lines += ["per_mode = false", f"source = {json.dumps(source, ensure_ascii=False)}"]
    for f in fit.modes:
        w = f.weibull
        lines += [
            "",
            f"# {f.name}: {plural(f.events, 'event')} on {plural(f.nodes_with_events, unit)}; "
            f"MTBF 95% CI {ci(f.mtbf_ci95)} h; Weibull shape {w.shape:.3g} (95% CI {ci(w.shape_ci95)}), "
            f"likelihood-ratio p = {f.lr_p_value:.3g}",
            *([f"# {f.name}: {f.note}"] if f.note else []),
        ]
        r = f.repair
        if r is not None:
            still = f" ({r.open} open at the window end)" if r.open else ""
            lines.append(f"# {f.name}: {plural(r.repairs, 'repair')}{still}; "
                         f"mean 95% CI {ci(r.mean_ci95)} h, sigma 95% CI {ci(r.sigma_ci95)}"
                         + (f"; {r.note}" if r.note else ""))  # fmt: skip
        lines += [
            "[[failure]]",
            f"name = {json.dumps(f.name, ensure_ascii=False)}",
            f'scope = "{scope}"',
            f"mtbf_hours = {failure_block_number(f.mtbf_hours)}",
            f'distribution = "{f.distribution}"',
        ]
        if f.distribution == "weibull":
            lines.append(f"shape = {failure_block_number(f.shape, 3)}")
        hours, sigma = fit.repair(f)
        lines.append('action = "replace"')
        if r is None or math.isnan(r.mean_hours):
            lines.append(f"repair_hours = {hours!r}  # assumed: set your own")
        else:
            lines += [f"repair_hours = {failure_block_number(hours)}",
                      f"repair_sigma = {failure_block_number(sigma, 3)}"]  # fmt: skip
        lines.append(f"source = {json.dumps(source, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def modes_table(fit: FleetFit, log_name: str, scope: str) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from sim.analysis.fit import ALPHA

    table = Table(
        title=Text(f"Failure modes fitted from {visible(log_name)}: {fit.nodes:,} {scope}s, {fit.window:,.1f} h"),
        caption=f"shape: of the Weibull fit, whatever the law; Weibull only if LR p < {ALPHA:g}"
        + ("; repair: lognormal mean and sigma" if fit.has_ends else ""),
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
        show_edge=False,
    )
    columns = ["cause", "events", f"{scope}s", "law", "MTBF h", "95% CI", "shape", "95% CI", "LR p"]
    if fit.has_ends:
        columns += ["repair h", "95% CI", "sigma"]
    for name in columns:
        table.add_column(name, justify="left" if name in ("cause", "law") else "right")
    for f in fit.modes:
        w = f.weibull
        row: list[Text | str] = [
            Text(visible(f.name)),  # a cause name is data: no markup, no escape codes
            str(f.events),
            str(f.nodes_with_events),
            f.distribution,
            num(f.mtbf_hours),
            ci(f.mtbf_ci95),
            f"{w.shape:.3g}",
            ci(w.shape_ci95),
            f"{f.lr_p_value:.2g}",
        ]
        if fit.has_ends:
            r = f.repair
            row += ["-", "-", "-"] if r is None else [num(r.mean_hours), ci(r.mean_ci95), f"{r.sigma:.3g}"]
        table.add_row(*row)
    return table


def check_tables(windows: pd.DataFrame, histogram: pd.DataFrame, title: str) -> tuple[Table, Table]:
    """The predictive check: per window, and the per-node count histogram."""
    from rich import box
    from rich.table import Table

    def new(caption: str, names: list[str]) -> Table:
        t = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False,
                  show_edge=False)  # fmt: skip
        for n in names:
            t.add_column(n, justify="right")
        return t

    def band(row: dict[Any, Any], name: str) -> tuple[str, str]:
        mean, lo, hi = (float(row[f"{name}_{k}"]) for k in ("sim", "lo", "hi"))
        return f"{mean:,.1f}", f"{lo:,.0f}-{hi:,.0f}"

    a = new("observed vs simulated mean and 95% prediction interval",
            ["window", "days", "faults", "simulated", "95% PI", "failing nodes", "simulated", "95% PI"])  # fmt: skip
    for r in windows.to_dict(orient="records"):
        start, length = float(r["start_hours"]) / 24.0, float(r["hours"]) / 24.0
        a.add_row(str(r["window"]), f"{start:,.0f}-{start + length:,.0f}", str(r["faults"]), *band(r, "faults"),
                  str(r["nodes"]), *band(r, "nodes"))  # fmt: skip
    b = new("nodes by their faults over the checked span", ["faults per node", "nodes", "simulated", "95% PI"])
    for r in histogram.to_dict(orient="records"):
        b.add_row(str(r["faults"]), str(r["nodes"]), *band(r, "nodes"))
    return a, b


def check_json(windows: pd.DataFrame, histogram: pd.DataFrame, about: dict[str, Any]) -> dict[str, Any]:
    return {**about, "windows": windows.to_dict(orient="records"), "histogram": histogram.to_dict(orient="records")}

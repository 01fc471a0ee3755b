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
    from rich.console import Console
    from rich.table import Table

    from sim.analysis.fit import ModeFit
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


#: Columns whose cells are an estimate and its 95% CI: beside each other when the table is wide enough, else the
#: interval under its estimate.
INTERVALS = ("MTBF h", "shape", "repair h")
#: The table layouts tried, widest first: (each interval under its estimate, the repairs in a table of their own).
LAYOUTS = ((False, False), (True, False), (True, True))


def _mode_values(f: ModeFit) -> dict[str, tuple[str, ...]]:
    """One mode's numbers as printed, by column; an interval column holds the estimate and its CI."""
    w, r = f.weibull, f.repair
    return {
        "events": (str(f.events),),
        "nodes": (str(f.nodes_with_events),),
        "law": (f.distribution,),
        "MTBF h": (num(f.mtbf_hours), ci(f.mtbf_ci95)),
        "shape": (f"{w.shape:.3g}", ci(w.shape_ci95)),
        "LR p": (f"{f.lr_p_value:.2g}",),
        "repair h": ("-", "-") if r is None else (num(r.mean_hours), ci(r.mean_ci95)),
        "sigma": ("-",) if r is None else (f"{r.sigma:.3g}",),
    }


def _new_table(title: str, caption: str | None, **options: Any) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    return Table(title=Text(title), caption=caption, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False,
                 show_edge=False, **options)  # fmt: skip


def _table(title: str, caption: str | None, keys: Sequence[str], fit: FleetFit, scope: str, stacked: bool) -> Table:
    """The modes with the columns ``keys`` after the cause: numbers never wrap, the cause wraps (or folds)."""
    from rich.text import Text

    table = _new_table(title, caption)
    table.add_column("cause", overflow="fold")
    for key in keys:
        header = f"{scope}s" if key == "nodes" else key
        if key == "law":
            table.add_column(header, no_wrap=True)
        elif key in INTERVALS and stacked:
            table.add_column(f"{header}\n95% CI", justify="right", no_wrap=True)
        else:
            table.add_column(header, justify="right", no_wrap=True)
            if key in INTERVALS:
                table.add_column("95% CI", justify="right", no_wrap=True)
    for f in fit.modes:
        values = _mode_values(f)
        row: list[Text | str] = [Text(visible(f.name))]  # a cause name is data: no markup, no escape codes
        for key in keys:
            if key in INTERVALS and stacked:
                row.append(Text.assemble(values[key][0], "\n", (values[key][1], "dim")))
            else:
                row += values[key]
        table.add_row(*row)
    return table


def _sentences(title: str, caption: str, fit: FleetFit, scope: str) -> Table:
    """The modes as one wrapped line each, for a terminal too narrow for any table: lines break between numbers."""
    from rich.text import Text

    table = _new_table(title, caption, show_header=False, leading=1)
    table.add_column(overflow="fold")
    for f in fit.modes:
        v = _mode_values(f)
        line = (f"{v['events'][0]} events on {v['nodes'][0]} {scope}s, {v['law'][0]}; "
                f"MTBF {v['MTBF h'][0]} h, 95% CI {v['MTBF h'][1]}; "
                f"shape {v['shape'][0]}, 95% CI {v['shape'][1]}; LR p {v['LR p'][0]}")  # fmt: skip
        if fit.has_ends:
            line += f"; repair {v['repair h'][0]} h, 95% CI {v['repair h'][1]}; sigma {v['sigma'][0]}"
        table.add_row(Text.assemble((visible(f.name), "bold"), ": ", line))
    return table


def modes_tables(fit: FleetFit, log_name: str, scope: str, console: Console) -> list[Table]:
    """The fitted modes as tables at ``console``'s width, every number whole: each CI beside its estimate if that
    fits, else under it, else with the repairs in a table of their own, else a wrapped line per mode."""
    from rich.measure import Measurement

    from sim.analysis.fit import ALPHA

    title = f"Failure modes fitted from {visible(log_name)}: {fit.nodes:,} {scope}s, {fit.window:,.1f} h"
    laws = f"shape: of the Weibull fit, whatever the law; Weibull only if LR p < {ALPHA:g}"
    caption = laws + ("; repair: lognormal mean and sigma" if fit.has_ends else "")
    keys = ["events", "nodes", "law", "MTBF h", "shape", "LR p"]
    repairs = ["repair h", "sigma"] if fit.has_ends else []
    unbounded = console.options.update_width(10**6)
    for stacked, split in LAYOUTS if repairs else LAYOUTS[:2]:
        if split:
            tables = [_table(title, laws, keys, fit, scope, stacked),
                      _table("Repairs: lognormal mean and sigma", None, repairs, fit, scope, stacked)]  # fmt: skip
        else:
            tables = [_table(title, caption, keys + repairs, fit, scope, stacked)]
        # The narrowest each table can be with every number whole (only text wraps): no wider than the terminal.
        if all(Measurement.get(console, unbounded, t).minimum <= console.width for t in tables):
            return tables
    return [_sentences(title, caption, fit, scope)]


def check_tables(windows: pd.DataFrame, histogram: pd.DataFrame, title: str) -> tuple[Table, Table]:
    """The predictive check: per window, and the per-node count histogram."""
    from rich import box
    from rich.table import Table

    def new(caption: str, names: list[str]) -> Table:
        t = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False,
                  show_edge=False)  # fmt: skip
        for n in names:
            t.add_column(n, justify="right", overflow="fold")  # folded, never cut, on a narrow terminal
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

"""What every run chart shares: page size, the question-and-subtitle header, summary look-ups, atomic saving.

Figures are built with the object-oriented ``matplotlib.figure.Figure`` API, which needs no
backend and no pyplot state: nothing to close, safe in threads and headless processes.

>>> subtitle({"scenario": "tiny", "replications": 3, "seed": 1,
...           "scenario_resolved": {"cluster": {"gpus": 256, "gpu": "H100-SXM"}, "run": {"duration_days": 10.0}}})
'tiny  ·  256 × H100-SXM  ·  10 days  ·  3 replications  ·  seed 1'
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from numpy.typing import ArrayLike

from sim.results.files import atomic_path
from sim.results.target import target_label

#: Inches at DPI: 12 x 7 in at 120 dpi is 1440 x 840 px, comfortably above the promised 1200 x 700.
WIDTH_IN = 12.0
HEIGHT_IN = 7.0
DPI = 120
#: Inches kept free above the panels for the question and subtitle, and below them for the footnote.
HEADER_IN = 0.95
FOOTER_IN = 0.45
TEXT = "#222222"
FAINT = "#666666"


def new_figure(height_in: float = HEIGHT_IN) -> Figure:
    """An empty figure of the standard width, laid out by constrained layout below the header."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    # The header and footnote are figure texts, which constrained layout ignores: keep room for them.
    engine.set(rect=(0.0, FOOTER_IN / height_in, 1.0, 1.0 - (HEADER_IN + FOOTER_IN / 2) / height_in))
    return fig


def header(fig: Figure, question: str, summary: dict[str, Any], footnote: str = "") -> None:
    """Title the figure with the question it answers, the run it shows, and a footnote."""
    h = fig.get_figheight()
    fig.text(0.01, 1.0 - 0.12 / h, question, ha="left", va="top", fontsize=16, weight="bold", color=TEXT)
    fig.text(0.01, 1.0 - 0.5 / h, subtitle(summary), ha="left", va="top", fontsize=11, color=FAINT)
    if footnote:
        # Wrapped: about 190 characters of 9-point text fit across the 12-inch page.
        fig.text(
            0.01,
            0.06 / h,
            "\n".join(textwrap.fill(line, 190) for line in footnote.splitlines()),
            ha="left",
            va="bottom",
            fontsize=9,
            color=FAINT,
        )


def subtitle(summary: dict[str, Any]) -> str:
    """Scenario title, GPUs, days, replications and seed of a run, on one line."""
    s = summary.get("scenario_resolved", {})
    cluster, run = s.get("cluster", {}), s.get("run", {})
    parts = [s.get("title") or summary.get("scenario", "")]
    if "gpus" in cluster:
        parts.append(f"{cluster['gpus']:,} × {cluster.get('gpu', 'GPU')}")
    target = target_label(run)
    if target is not None:
        parts.append(f"to {target} (max {run.get('duration_days', 0):g} days)")
    elif "duration_days" in run:
        parts.append(f"{run['duration_days']:g} days")
    n = summary.get("replications")
    parts.append(f"{n} replication{'s' if n != 1 else ''}")
    parts.append(f"seed {summary.get('seed')}")
    return "  ·  ".join(str(p) for p in parts if p)


def stat(block: dict[str, Any], name: str) -> tuple[float, float, float]:
    """``(mean, ci95 low, ci95 high)`` of one statistic of a summary block; NaN when absent."""
    entry = block.get(name) or {}
    mean = _float(entry.get("mean"))
    ci = entry.get("ci95") or [None, None]
    lo, hi = _float(ci[0]), _float(ci[1])
    # describe() gives no interval for a single replication; json turns NaN into null
    return mean, (mean if math.isnan(lo) else lo), (mean if math.isnan(hi) else hi)


def _float(x: Any) -> float:
    return math.nan if x is None else float(x)


def scaled(factor: float) -> tuple[Callable[[ArrayLike], ArrayLike], Callable[[ArrayLike], ArrayLike]]:
    """Forward and inverse of ``x -> factor * x``, for a secondary axis in other units."""

    def forward(x: ArrayLike) -> ArrayLike:
        return np.asarray(x, dtype=float) * factor

    def inverse(x: ArrayLike) -> ArrayLike:
        return np.asarray(x, dtype=float) / factor

    return forward, inverse


def text_color(fill: str) -> str:
    """Black or white, whichever reads better on ``fill``.

    >>> text_color("#000000"), text_color("#F0E442")
    ('white', 'black')
    """
    r, g, b = matplotlib.colors.to_rgb(fill)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` atomically, in the format its suffix names (png or svg)."""
    fmt = path.suffix.lstrip(".")
    # No date and a fixed id salt: the same results give the same bytes (committed charts stay quiet in git).
    metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {}
    with matplotlib.rc_context({"svg.hashsalt": "trainsim"}), atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)
    return path

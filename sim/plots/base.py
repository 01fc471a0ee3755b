"""What every run chart shares: page size, the question-and-subtitle header, summary look-ups, atomic saving.

Figures are built with the object-oriented ``matplotlib.figure.Figure`` API, which needs no
backend and no pyplot state: nothing to close, safe in threads and headless processes.

>>> subtitle({"scenario": "tiny", "replications": 3, "seed": 1,
...           "scenario_resolved": {"cluster": {"gpus": 256, "gpu": "H100-SXM"}, "run": {"duration_days": 10.0}}})
'tiny  ·  256 × H100-SXM  ·  10 days  ·  3 replications  ·  seed 1'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.legend import Legend
from matplotlib.text import Text
from numpy.typing import ArrayLike

from sim.results.files import atomic_path
from sim.results.target import target_label

#: Inches at DPI: 12 x 6.75 in at 120 dpi is 1440 x 810 px, the 16:9 of a slide (1280 x 720 scales it by 0.89).
WIDTH_IN = 12.0
HEIGHT_IN = 6.75
DPI = 120
#: Inches kept free above the panels for a one-line question and subtitle, and below them for a
#: one-line footnote; ``header`` makes more room for text that wraps.
HEADER_IN = 0.95
FOOTER_IN = 0.45
TEXT = "#222222"
FAINT = "#666666"
#: Point sizes of the question, the subtitle and the footnote, and the space a line takes (x size).
TITLE_PT, SUBTITLE_PT, FOOTNOTE_PT = 16.0, 11.0, 9.0
LINE_SPACING = 1.3
#: Left and right margin of the header and footnote (inches).
MARGIN_IN = 0.12
#: Where a subtitle prefers to break: between its parts.
SEPARATOR = "  ·  "


def new_figure(height_in: float = HEIGHT_IN) -> Figure:
    """An empty figure of the standard width, laid out by constrained layout below the header."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    _reserve(fig, HEADER_IN, FOOTER_IN)
    return fig


def _reserve(fig: Figure, top_in: float, bottom_in: float) -> None:
    """Keep ``top_in`` and ``bottom_in`` inches free of panels: the header and footnote are figure
    texts, which constrained layout ignores."""
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    h = fig.get_figheight()
    engine.set(rect=(0.0, bottom_in / h, 1.0, 1.0 - (top_in + bottom_in) / h))


@functools.cache
def _renderer() -> RendererAgg:
    return RendererAgg(10, 10, DPI)  # type: ignore[no-untyped-call]  # at the PNG's resolution: font hinting depends on it


def text_width_in(text: str, size: float, weight: str = "normal") -> float:
    """Width in inches of one line of ``text`` at ``size`` points, as Agg draws it (the PNG's renderer).

    >>> 0.5 < text_width_in("Which failures cost the most?", 16, "bold") < 5
    True
    """
    font = FontProperties(size=size, weight=weight)
    width, _, _ = _renderer().get_text_width_height_descent(text, font, ismath=False)  # type: ignore[no-untyped-call]
    return float(width) / DPI


def wrap(text: str, size: float, width_in: float, weight: str = "normal") -> list[str]:
    """``text`` in lines no wider than ``width_in``: broken at its line breaks, then between subtitle
    parts (``SEPARATOR``), then between words; a word wider than the page stays whole.

    >>> wrap("a  ·  b", 11, 10.0), wrap("a  ·  b", 11, 0.1)
    (['a  ·  b'], ['a', 'b'])
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for part in paragraph.split(SEPARATOR):
            joined = f"{line}{SEPARATOR}{part}" if line else part
            if text_width_in(joined, size, weight) <= width_in:
                line = joined
                continue
            if line:
                lines.append(line)
            line = ""
            for word in part.split(" "):
                joined = f"{line} {word}" if line else word
                if line and text_width_in(joined, size, weight) > width_in:
                    lines.append(line)
                    joined = word
                line = joined
        lines.append(line)
    return lines


def header(fig: Figure, question: str, summary: dict[str, Any], footnote: str = "", sub: str | None = None) -> None:
    """Title the figure with the question it answers, the run it shows (``sub``, default ``subtitle(summary)``),
    and a footnote; each wraps to the page's width, and the panels move to make room, so nothing is cut."""
    h, width = fig.get_figheight(), fig.get_figwidth() - 2 * MARGIN_IN
    x = MARGIN_IN / fig.get_figwidth()
    title = wrap(question, TITLE_PT, width, "bold")
    sub_lines = wrap(subtitle(summary) if sub is None else sub, SUBTITLE_PT, width)
    foot = wrap(footnote, FOOTNOTE_PT, width) if footnote else []
    line = LINE_SPACING / 72.0  # inches per point of type
    title_in = len(title) * TITLE_PT * line
    top, bottom = 0.12 + title_in + 0.06 + len(sub_lines) * SUBTITLE_PT * line + 0.1, 0.12
    # parse_math off: a scenario title with dollar signs is text, not mathematics.
    style: dict[str, Any] = {"ha": "left", "va": "top", "parse_math": False, "linespacing": LINE_SPACING}
    fig.text(x, 1.0 - 0.12 / h, "\n".join(title), fontsize=TITLE_PT, weight="bold", color=TEXT, **style)
    fig.text(x, 1.0 - (0.18 + title_in) / h, "\n".join(sub_lines), fontsize=SUBTITLE_PT, color=FAINT, **style)
    if foot:
        bottom = 0.14 + len(foot) * FOOTNOTE_PT * line
        fig.text(x, 0.06 / h, "\n".join(foot), fontsize=FOOTNOTE_PT, color=FAINT, **(style | {"va": "bottom"}))
    _reserve(fig, top, bottom)


def side_legend(ax: Axes, handles: Sequence[Any], labels: Sequence[str], x: float = 1.01, **style: Any) -> Legend:
    """A frameless 9 pt legend hung from the top of ``ax`` at ``x`` axes widths: 1.01 beside the panel
    (constrained layout makes room for it), 0 at the left of an axes kept for legends."""
    return ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(x, 1.0),
        fontsize=9,
        frameon=False,
        alignment="left",
        **style,
    )


def cut_texts(fig: Figure) -> list[str]:
    """The texts of ``fig`` that reach past its edges once drawn: none on a good chart.

    Titles, subtitles and footnotes, axis labels and titles, annotations and legends; tick labels
    are left to the layout (those outside the view are not drawn, but keep a position).
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # type: ignore[no-untyped-call]
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    ticks = {
        id(label)
        for axis in fig.findobj(Axis)
        for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]
        for label in (tick.label1, tick.label2)
    }
    page = fig.bbox
    cut = []
    for text in fig.findobj(Text):
        if id(text) in ticks or not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < page.x0 - 1 or box.x1 > page.x1 + 1 or box.y0 < page.y0 - 1 or box.y1 > page.y1 + 1:
            cut.append(text.get_text())
    return cut


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


#: A chart by name, and what draws it (``None``: the chart does not apply to these results).
Build = tuple[str, Callable[[], Figure | None]]


def write_figures(folder: Path, builds: Iterable[Build], svg: bool = False) -> list[Path]:
    """Draw each chart of ``builds`` and write it into ``folder`` as PNG (and SVG); return the paths written."""
    written: list[Path] = []
    for name, build in builds:
        fig = build()
        if fig is None:
            continue
        for suffix in (".png", ".svg") if svg else (".png",):
            written.append(save(fig, folder / f"{name}{suffix}"))
        # A Figure made without pyplot is not registered anywhere: dropping it frees its memory.
        del fig
    return written

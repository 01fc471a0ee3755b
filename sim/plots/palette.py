"""One palette for every chart: the same colour for a ledger bucket everywhere, distinct colours for causes.

Colour-blind safe: ledger buckets use the Okabe-Ito palette (Okabe and Ito, 2008). Failure causes
take their colour from their rank in the run (the order of the failure-impact chart, costliest
first), from Paul Tol's "muted" scheme and his "vibrant" blue (Tol, 2021, personal.sron.nl/~pault),
ordered so that neighbouring ranks contrast; the causes beyond the shown ones are summed as
"other", in grey. So no two causes of a chart share a colour, and a run's failure-impact chart,
timeline and report agree.

>>> BUCKET_COLORS["useful"], cause_colors(["faulty GPU", "NIC"])
('#009E73', {'faulty GPU': '#332288', 'NIC': '#DDCC77'})
"""

from __future__ import annotations

from collections.abc import Sequence

#: Okabe-Ito, one per ledger bucket; "useful" green, "lost" vermillion, waiting black.
BUCKET_COLORS: dict[str, str] = {
    "useful": "#009E73",
    "lost": "#D55E00",
    "checkpoint": "#0072B2",
    "slow": "#F0E442",
    "detect": "#CC79A7",
    "restart": "#E69F00",
    "wait": "#000000",
    "maintenance": "#999999",
}
#: The share of peak that is not model FLOPs (1 - MFU) in the waterfall.
MFU_COLOR = "#56B4E9"
REALIZED_COLOR = "#009E73"

#: The power chart: IT draw indigo, facility draw (IT x PUE) cyan, from Tol's muted scheme; swings down
#: vermillion and up green, as work lost and useful work in the ledger.
POWER_COLORS: dict[str, str] = {"it": "#332288", "facility": "#88CCEE", "down": "#D55E00", "up": "#009E73"}

#: Causes by rank: Tol muted (indigo, sand, teal, rose, cyan, wine, olive, purple, green), Tol vibrant blue.
CAUSE_PALETTE: tuple[str, ...] = (
    "#332288",
    "#DDCC77",
    "#44AA99",
    "#CC6677",
    "#88CCEE",
    "#882255",
    "#999933",
    "#AA4499",
    "#117733",
    "#0077BB",
)
#: The causes summed as "other": a light grey, apart from the "planned maintenance" grey of the ledger.
OTHER_COLOR = "#CCCCCC"


def cause_colors(ranked: Sequence[str]) -> dict[str, str]:
    """Colours of causes in rank order (costliest first); raises ``ValueError`` past the palette's length."""
    if len(ranked) > len(CAUSE_PALETTE):
        raise ValueError(f"{len(ranked)} causes: a chart names at most {len(CAUSE_PALETTE)}, the rest as 'other'")
    return dict(zip(ranked, CAUSE_PALETTE, strict=False))

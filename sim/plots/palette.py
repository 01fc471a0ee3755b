"""One palette for every chart: the same colour for a ledger bucket or a failure cause everywhere.

Colour-blind safe: ledger buckets use the Okabe-Ito palette (Okabe and Ito, 2008); failure causes
use Paul Tol's "muted" and "light" schemes (Tol, 2021, personal.sron.nl/~pault), assigned in a fixed
order to the Llama 3 causes and by a stable hash to any other name, so a cause keeps its colour
across scenarios, runs and sweeps.

>>> BUCKET_COLORS["useful"], cause_color("faulty GPU") == cause_color("faulty GPU")
('#009E73', True)
"""

from __future__ import annotations

import zlib

from sim.config.presets import LLAMA3_COUNTS

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
#: Charts name the buckets with these words.
#: The share of peak that is not model FLOPs (1 - MFU) in the waterfall.
MFU_COLOR = "#56B4E9"
REALIZED_COLOR = "#009E73"

_TOL_MUTED = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499"]
_TOL_LIGHT = ["#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#AAAA00", "#DDDDDD"]
CAUSE_PALETTE: list[str] = _TOL_MUTED + _TOL_LIGHT
_KNOWN = {name: CAUSE_PALETTE[i % len(CAUSE_PALETTE)] for i, name in enumerate(LLAMA3_COUNTS)}


def cause_color(name: str) -> str:
    """The colour of failure cause ``name``: fixed for the Llama 3 causes, a stable hash otherwise."""
    return _KNOWN.get(name) or CAUSE_PALETTE[zlib.crc32(name.encode()) % len(CAUSE_PALETTE)]

"""Tables of formatted strings for the report templates: cells, rows, and the interval texts they hold.

>>> from sim.results.formats import fmt_pct
>>> ci_text(0.9, 0.88, 0.92, fmt_pct)
'88.0% – 92.0%'
>>> pp_text(-0.00571)
'−0.57 pp'
>>> table(("metric", "mean"), [("ETTR", "90.0%")], (False, True)).body[0].cells[1]
Cell(text='90.0%', numeric=True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sim.results.formats import Fmt, fmt_range


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


def table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[bool], best: int = -1) -> Table:
    """A table of formatted strings; ``numeric`` says which columns hold numbers, ``best`` the row to mark."""
    body = [
        Row([Cell(text, num) for text, num in zip(row, numeric, strict=True)], best=i == best)
        for i, row in enumerate(rows)
    ]
    return Table(tuple(head), body)


def ci_text(mean: float, lo: float, hi: float, fmt: Fmt) -> str:
    """A 95% CI as ``lo – hi``, with more digits when its ends would read the same; empty only when
    there is no interval (a constant, or one replication).

    >>> from sim.results.formats import fmt_pct
    >>> ci_text(0.66, 0.66001, 0.66004, fmt_pct), ci_text(0.5, 0.5, 0.5, fmt_pct)
    ('66.001% – 66.004%', '')
    """
    return fmt_range(lo, hi, fmt)


def pp_text(x: float | None, *, extra: int = 0) -> str:
    """A difference of fractions in percentage points, with a true minus sign."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:+.{2 + extra}f} pp".replace("-", "−") if x else "0 pp"

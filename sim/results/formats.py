"""Numbers for people: percentages, FLOPs, money and amounts, with ``n/a`` for missing values.

>>> fmt_pct(0.8402), fmt_sci(5.47e22), fmt_usd(123.9e6), fmt_num(1234.5), fmt_num(float("nan"))
('84.0%', '5.47e22', '$123.90M', '1,234', 'n/a')
>>> fmt_num(29.7e6), fmt_num(0.5753), fmt_usd(748240.4), fmt_usd(0.254)
('29.70M', '0.575', '$748,240', '$0.25')

Every formatter takes ``extra`` digits: an interval whose ends would read the same is shown with
more of them (``fmt_range``). A chart axis uses one ``Scale`` for its ticks and its value labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from sim.results.schema import FRACTIONS


class Fmt(Protocol):
    """A number formatter: ``fmt(x)``, or ``fmt(x, extra=2)`` for two more digits."""

    def __call__(self, x: float | None, *, extra: int = 0) -> str: ...


def _bad(x: float | None) -> bool:
    return x is None or not math.isfinite(x)


def fmt_pct(x: float | None, digits: int = 1, *, extra: int = 0) -> str:
    """A fraction as a percentage: ``0.84 -> '84.0%'``."""
    return "n/a" if x is None or _bad(x) else f"{100.0 * x:.{digits + extra}f}%"


def fmt_sci(x: float | None, *, extra: int = 0) -> str:
    """Three significant digits in scientific notation without the ``+``: ``'5.47e22'``."""
    if x is None or _bad(x):
        return "n/a"
    mantissa, exponent = f"{x:.{2 + extra}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def fmt_usd(x: float | None, *, extra: int = 0) -> str:
    """Money, cents only below $100, shortened from a million: ``'$7,640'``, ``'$1.23M'``, ``'$4.10B'``."""
    if x is None or _bad(x):
        return "n/a"
    a = abs(x)
    if a >= 1e9:
        return f"${x / 1e9:.{2 + extra}f}B"
    if a >= 1e6:
        return f"${x / 1e6:.{2 + extra}f}M"
    return f"${x:,.{extra}f}" if a >= 100 else f"${x:,.{2 + extra}f}"


def fmt_num(x: float | None, *, extra: int = 0) -> str:
    """A count or an amount: thousands separators when large, three digits when small."""
    if x is None or _bad(x):
        return "n/a"
    a = abs(x)
    if a >= 1e9:
        return fmt_sci(x, extra=extra)
    if a >= 1e6:
        return f"{x / 1e6:.{2 + extra}f}M"
    if a >= 100:
        return f"{x:,.{extra}f}"
    if a >= 1 or x == 0:
        return f"{x:.{1 + extra}f}"
    return f"{x:.{3 + extra}g}"


def fmt_days(x: float | None, *, extra: int = 0) -> str:
    """A time in days, to about a quarter of an hour: ``'6.61'``, ``'103.2'``; ``n/a`` for none.

    >>> fmt_days(6.6123), fmt_days(103.24), fmt_days(None)
    ('6.61', '103.2', 'n/a')
    """
    if x is None or _bad(x):
        return "n/a"
    return f"{x:,.{2 + extra}f}" if abs(x) < 100 else f"{x:,.{1 + extra}f}"


def metric_fmt(metric: str) -> Fmt:
    """The formatter of a metric, by its name: shares as percentages, FLOPs and tokens in scientific
    notation, money in dollars, anything else as an amount.

    >>> metric_fmt("ettr")(0.661), metric_fmt("realized_flop")(3.95e26), metric_fmt("total_cost_usd")(1.2e9)
    ('66.1%', '3.95e26', '$1.20B')
    """
    if metric in FRACTIONS or metric.startswith("fraction_"):
        return fmt_pct
    if metric.endswith("_flop") or metric == "tokens":
        return fmt_sci
    if "usd" in metric or "cost" in metric:
        return fmt_usd
    if metric.endswith("_days"):
        return fmt_days
    return fmt_num


def fmt_range(lo: float | None, hi: float | None, fmt: Fmt, sep: str = " – ") -> str:
    """An interval ``lo – hi``, with as many more digits as it takes for its ends to differ.

    Empty when there is no interval (a missing end, or one replication: ``lo == hi``).

    >>> fmt_range(0.66001, 0.66004, fmt_pct), fmt_range(0.5, 0.5, fmt_pct), fmt_range(1.0e6, 1.2e6, fmt_num)
    ('66.001% – 66.004%', '', '1.00M – 1.20M')
    """
    if lo is None or hi is None or _bad(lo) or _bad(hi) or lo == hi:
        return ""
    extra = 0
    while fmt(lo, extra=extra) == fmt(hi, extra=extra) and extra < 12:
        extra += 1
    return f"{fmt(lo, extra=extra)}{sep}{fmt(hi, extra=extra)}"


#: Suffixes of a scale, largest first; smaller values get thousands separators.
SUFFIXES: tuple[tuple[float, str], ...] = ((1e9, "B"), (1e6, "M"))
#: From this size up, a scale is scientific (FLOPs, tokens): ``2.5e26``.
SCIENTIFIC = 1e12


@dataclass(frozen=True)
class Scale:
    """One number format for every number on an axis: the same suffix (or none) and decimals throughout.

    ``scale_for`` picks it from the numbers the axis shows; ``label`` formats a value, ``tick`` a
    round tick value (no trailing zeros).

    >>> s = scale_for([28.61e6, 3.38e6]); s.label(28.61e6), s.label(3.38e6), s.tick(1e7), s.tick(0.0)
    ('28.6M', '3.4M', '10M', '0')
    >>> s = scale_for([1627.0, 84.0]); s.label(1627.0), s.label(84.0), s.tick(1500.0), s.tick(1.2e6)
    ('1,627', '84', '1,500', '1,200,000')
    >>> s = scale_for([4.1e26, 9e25]); s.label(4.1e26), s.tick(2e26)
    ('4.10e26', '2e26')
    """

    divisor: float = 1.0
    suffix: str = ""
    decimals: int = 0
    prefix: str = ""
    scientific: bool = False

    def label(self, x: float | None) -> str:
        """A value, as every other value on the axis."""
        if x is None or _bad(x):
            return "n/a"
        if self.scientific:
            return self.prefix + fmt_sci(x)
        sign = "-" if x < 0 else ""
        return f"{sign}{self.prefix}{abs(x) / self.divisor:,.{self.decimals}f}{self.suffix}"

    def tick(self, x: float, _pos: Any = None) -> str:
        """A tick value (a matplotlib ``FuncFormatter`` function): the scale's suffix, no trailing zeros."""
        if x == 0:
            return "0"
        sign = "-" if x < 0 else ""
        if self.scientific:
            mantissa, _, exponent = f"{abs(x):.3g}".partition("e")  # '2e+26', '1.75e+23', '500'
            return f"{sign}{self.prefix}{mantissa}" + (f"e{int(exponent)}" if exponent else "")
        digits = f"{abs(x) / self.divisor:,.6f}".rstrip("0").rstrip(".")  # 1,200,000 (not 1.2e+06), 2.5
        return f"{sign}{self.prefix}{digits}{self.suffix}"


def scale_for(values: Iterable[float], prefix: str = "", significant: int = 2) -> Scale:
    """The scale of an axis that shows ``values``: a suffix from the largest, decimals from the smallest.

    Decimals are as few as keep ``significant`` digits of the smallest non-zero value (none when all
    are whole numbers). A suffix that would need more than two decimals gives way to the next smaller
    one, or to thousands separators: ``1,459,882`` and ``98,800`` rather than ``1.460M`` and ``0.099M``.

    >>> scale_for([1_459_882.0, 98_800.0]).label(98_800.0), scale_for([1.4e6, 0.2e6]).label(0.2e6)
    ('98,800', '0.20M')
    """
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(v)]
    top = max(finite, default=0.0)
    if top >= SCIENTIFIC:
        return Scale(prefix=prefix, scientific=True)
    smallest = min((v for v in finite if v > 0), default=0.0)
    for divisor, suffix in [*((d, s) for d, s in SUFFIXES if top >= d), (1.0, "")]:
        if smallest == 0.0 or all(float(v / divisor).is_integer() for v in finite):
            return Scale(divisor, suffix, 0, prefix)
        digits = max(significant - 1 - math.floor(math.log10(smallest / divisor)), 0)
        if digits <= 2 or divisor == 1.0:
            return Scale(divisor, suffix, min(digits, 3), prefix)
    raise AssertionError("unreachable: the last scale has no suffix")


def fmt_value(value: Any, thousands: bool = False) -> str:
    """A swept value as the user would type it: ``20`` rather than ``20.0``, TOML's ``true``.

    >>> fmt_value(20.0), fmt_value(True), fmt_value(100000, thousands=True)
    ('20', 'true', '100,000')
    """
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return f"{float(value):g}" if math.isfinite(value) else str(value)
    if isinstance(value, int | np.integer) and thousands:
        return f"{int(value):,}"
    return str(value)

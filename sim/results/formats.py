"""Numbers for people: percentages, FLOPs, money and amounts, with ``n/a`` for missing values.

>>> fmt_pct(0.8402), fmt_sci(5.47e22), fmt_usd(123.9e6), fmt_num(1234.5), fmt_num(float("nan"))
('84.0%', '5.47e22', '$123.90M', '1,234', 'n/a')
>>> fmt_num(29.7e6), fmt_num(0.5753), fmt_usd(748240.4), fmt_usd(0.254)
('29.70M', '0.575', '$748,240', '$0.25')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _bad(x: float | None) -> bool:
    return x is None or not math.isfinite(x)


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.84 -> '84.0%'``."""
    return "n/a" if x is None or _bad(x) else f"{100.0 * x:.{digits}f}%"


def fmt_sci(x: float | None) -> str:
    """Three significant digits in scientific notation without the ``+``: ``'5.47e22'``."""
    if x is None or _bad(x):
        return "n/a"
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def fmt_usd(x: float | None) -> str:
    """Money, cents only below $100, shortened from a million: ``'$7,640'``, ``'$1.23M'``, ``'$4.10B'``."""
    if x is None or _bad(x):
        return "n/a"
    a = abs(x)
    if a >= 1e9:
        return f"${x / 1e9:.2f}B"
    if a >= 1e6:
        return f"${x / 1e6:.2f}M"
    return f"${x:,.0f}" if a >= 100 else f"${x:,.2f}"


def fmt_num(x: float | None) -> str:
    """A count or an amount: thousands separators when large, three digits when small."""
    if x is None or _bad(x):
        return "n/a"
    a = abs(x)
    if a >= 1e9:
        return fmt_sci(x)
    if a >= 1e6:
        return f"{x / 1e6:.2f}M"
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 1 or x == 0:
        return f"{x:.1f}"
    return f"{x:.3g}"


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

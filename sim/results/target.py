"""How a run with a target (``run.target_*``) reads in reports: the target, finish dates, replications short of it.

>>> target_label({"target_flop": 6e26}), target_label({"target_tokens": 1.5e13})
('6.00e26 FLOP', '1.50e13 tokens')
>>> target_label({"target_compute_days": 80}), target_label({"duration_days": 100})
('80 compute-days', None)
>>> finish_date("2025-03-01", 30.7), finish_date(dt.date(2025, 3, 1), float("nan"))
('2025-03-31', 'not reached')
>>> unreached(0.95, 20)
1
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from sim.results.formats import fmt_sci


def target_label(run: Mapping[str, Any]) -> str | None:
    """The target of a ``[run]`` table (scenario or resolved JSON) in words; ``None`` without one."""
    if run.get("target_flop") is not None:
        return f"{fmt_sci(float(run['target_flop']))} FLOP"
    if run.get("target_tokens") is not None:
        return f"{fmt_sci(float(run['target_tokens']))} tokens"
    if run.get("target_compute_days") is not None:
        return f"{float(run['target_compute_days']):g} compute-days"
    return None


def finish_date(start: dt.date | str, days: float | None) -> str:
    """The calendar date ``days`` after the start of day ``start`` (ISO); ``not reached`` for no time."""
    if days is None or not math.isfinite(days):
        return "not reached"
    day0 = start if isinstance(start, dt.date) else dt.date.fromisoformat(start)
    return (day0 + dt.timedelta(days=math.floor(days))).isoformat()


def date_range(start: dt.date | str, lo: float | None, hi: float | None) -> str:
    """Two finish dates as ``'2025-03-07 – 2025-03-09'``, or one when both are the same day.

    >>> date_range("2025-03-01", 6.2, 6.9), date_range("2025-03-01", 6.2, 8.1)
    ('2025-03-07', '2025-03-07 – 2025-03-09')
    """
    a, b = finish_date(start, lo), finish_date(start, hi)
    return a if a == b else f"{a} – {b}"


def unreached(reached_share: float, replications: int) -> int:
    """Replications that did not reach the target, from the mean of ``target_reached``."""
    return round((1.0 - reached_share) * replications)


def not_reached_text(reached_share: float, replications: int, horizon_days: float) -> str | None:
    """``not reached in N of M replications (within D days)``, or ``None`` when every one reached it.

    >>> not_reached_text(0.9, 10, 100.0)
    'not reached in 1 of 10 replications within 100 days (run.duration_days): the mean and its CI are unknown'
    """
    n = unreached(reached_share, replications)
    if n == 0:
        return None
    return (
        f"not reached in {n} of {replications} replication{'s' if replications != 1 else ''} within "
        f"{horizon_days:g} days (run.duration_days): the mean and its CI are unknown"
    )

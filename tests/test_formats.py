"""Number formats: one scale per axis, and intervals whose ends never read the same."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from sim.results.formats import Fmt, fmt_num, fmt_pct, fmt_range, fmt_sci, fmt_usd, metric_fmt, scale_for

FORMATS = (fmt_pct, fmt_sci, fmt_usd, fmt_num)
amounts = st.floats(min_value=1e-3, max_value=1e15, allow_nan=False)


@given(st.sampled_from(FORMATS), amounts, st.floats(min_value=1e-9, max_value=1.0))
def test_an_interval_never_reads_as_a_point(fmt: Fmt, lo: float, gap: float) -> None:
    """However tight, an interval with distinct ends is shown with distinct ends (more digits as needed)."""
    hi = lo * (1.0 + gap)
    if hi == lo:
        return
    text = fmt_range(lo, hi, fmt)
    left, right = text.split(" – ")
    assert left != right


def test_no_interval_for_a_point_or_a_missing_end() -> None:
    """One replication (lo == hi) or a missing end: no interval."""
    assert fmt_range(0.5, 0.5, fmt_pct) == fmt_range(None, 0.5, fmt_pct) == fmt_range(float("nan"), 1.0, fmt_num) == ""


@given(st.lists(amounts, min_size=1, max_size=12))
def test_one_scale_for_every_value_on_an_axis(values: list[float]) -> None:
    """Every label of a scale has the same suffix and decimals: no '28.94M' beside '608,078'."""
    scale = scale_for(values)
    shapes = set()
    for v in values:
        label = scale.label(v)
        if scale.scientific:
            assert re.fullmatch(r"\d\.\d\de-?\d+", label), label
            continue
        match = re.fullmatch(r"[\d,]+(?:\.(\d+))?([MB]?)", label)
        assert match, label
        shapes.add((len(match[1] or ""), match[2]))
    assert len(shapes) <= 1


def test_metric_formats() -> None:
    """Shares in percent, FLOPs in scientific notation, money in dollars, the rest as amounts."""
    assert metric_fmt("ettr") is fmt_pct and metric_fmt("fraction_wait") is fmt_pct
    assert metric_fmt("realized_flop") is fmt_sci and metric_fmt("cost_per_exaflop") is fmt_usd
    assert metric_fmt("interruptions") is fmt_num


@given(st.lists(amounts, min_size=1, max_size=12), st.floats(min_value=0.0, max_value=1e12))
def test_ticks_wear_the_scale_of_their_labels(values: list[float], tick: float) -> None:
    """A tick reads like the labels: the same suffix, separators, no exponent unless the scale is scientific."""
    scale = scale_for(values)
    if scale.scientific or tick == 0:
        return
    assert re.fullmatch(rf"[\d,]+(\.\d+)?{scale.suffix}", scale.tick(tick)), scale.tick(tick)

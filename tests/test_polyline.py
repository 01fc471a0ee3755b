"""Piecewise-linear traces: built from events, and measured exactly (hand-computed tables, then properties)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analysis.polyline import (
    build,
    cumulative,
    envelopes,
    fastest_ramp,
    integral,
    swing_times,
    swings,
    time_below,
    value_at,
    window,
)

# ---------------------------------------------------------------- build: hand-computed traces

BUILDS = {
    # name: (t, jump, dslope, start, end, level0, slope0) -> (x, y)
    "a step down": (([10.0], [-5.0], [0.0], 0.0, 20.0, 8.0, 0.0), ([0, 10, 10, 20], [8, 8, 3, 3])),
    "a ramp up, then flat": (([0.0, 10.0], [0.0, 0.0], [1.0, -1.0], 0.0, 20.0, 0.0, 0.0), ([0, 10, 20], [0, 10, 10])),
    "a step inside a ramp": (
        ([0.0, 10.0, 20.0], [0.0, -5.0, 0.0], [1.0, 0.0, -1.0], 0.0, 30.0, 0.0, 0.0),
        ([0, 10, 10, 20, 30], [0, 10, 5, 15, 15]),
    ),
    "repeated event times add up": (
        ([5.0, 5.0, 5.0], [1.0, 2.0, -0.5], [0.0, 0.0, 0.0], 0.0, 10.0, 0.0, 0.0),
        ([0, 5, 5, 10], [0, 0, 2.5, 2.5]),
    ),
    "events at the start and the end": (
        ([10.0, 0.0], [-2.0, 3.0], [0.0, 0.0], 0.0, 10.0, 1.0, 0.0),
        ([0, 0, 10, 10], [1, 4, 4, 2]),
    ),
    "events that cancel make no row": (
        ([5.0, 5.0], [1.0, -1.0], [0.5, -0.5], 0.0, 10.0, 2.0, 0.0),
        ([0, 10], [2, 2]),
    ),
    "float noise (0.1 + 0.2 - 0.3) makes no row": (
        ([5.0, 5.0, 5.0], [0.1, 0.2, -0.3], [0.0, 0.0, 0.0], 0.0, 10.0, 2.0, 0.0),
        ([0, 10], [2, 2]),
    ),
    "an initial slope, a slope change only at the start": (
        ([0.0], [0.0], [-1.0], 0.0, 10.0, 5.0, 2.0),
        ([0, 10], [5, 15]),
    ),
    "no events": (([], [], [], 0.0, 10.0, 7.0, 0.0), ([0, 10], [7, 7])),
}


@pytest.mark.parametrize("case", list(BUILDS))
def test_build_table(case: str) -> None:
    """Each event list gives the compact trace computed by hand."""
    (t, jump, dslope, start, end, level0, slope0), (x_expected, y_expected) = BUILDS[case]
    x, y = build(t, jump, dslope, start, end, level0, slope0)
    assert x.tolist() == pytest.approx(x_expected)
    assert y.tolist() == pytest.approx(y_expected)


def test_build_noise_of_long_slope_sums_stays_flat() -> None:
    """Slopes that sum to zero but for float noise leave an exactly flat piece, not a fake ramp."""
    x, y = build([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [0.1, 0.2, -0.3], 0.0, 1e7, 0.0)
    assert len(x) == 5 and y[-1] == y[-2]


def test_build_refuses_events_outside_the_run() -> None:
    """An event before the start or after the end is an error, as is an end before the start."""
    with pytest.raises(ValueError, match="within"):
        build([11.0], [1.0], [0.0], 0.0, 10.0, 0.0)
    with pytest.raises(ValueError, match="before it starts"):
        build([], [], [], 10.0, 0.0, 0.0)


# ---------------------------------------------------------------- measures: hand-computed values

STEP = ([0.0, 10.0, 10.0, 20.0], [8.0, 8.0, 3.0, 3.0])
RAMP = ([0.0, 10.0, 20.0], [0.0, 10.0, 10.0])
STEP_IN_RAMP = ([0.0, 10.0, 10.0, 20.0, 30.0], [0.0, 10.0, 5.0, 15.0, 15.0])
ENDS = ([0.0, 0.0, 10.0, 10.0], [1.0, 4.0, 4.0, 2.0])


@pytest.mark.parametrize(
    ("trace", "area", "below", "level", "runs", "ramp"),
    [
        (STEP, 110.0, 10.0, 5.0, [-5.0], 5.0),
        (RAMP, 150.0, 5.0, 5.0, [10.0], 1.0),
        (STEP_IN_RAMP, 300.0, 10.0, 7.5, [10.0, -5.0, 10.0], 4.0),  # the ramp takes 1 MW/s off the 5 MW step
        (ENDS, 40.0, 0.0, 4.0, [3.0, -2.0], 3.0),
    ],
)
def test_measures_table(
    trace: tuple[list[float], list[float]], area: float, below: float, level: float, runs: list[float], ramp: float
) -> None:
    """Integral, time below a level, swings and the fastest 1-second ramp of small traces, by hand."""
    x, y = trace
    assert integral(x, y) == pytest.approx(area)
    assert time_below(x, y, level) == pytest.approx(below)
    assert swings(x, y).tolist() == pytest.approx(runs)
    assert fastest_ramp(x, y, 1.0) == pytest.approx(ramp)


def test_time_below_is_strict() -> None:
    """Time at exactly the level is not below it."""
    assert time_below(*STEP, 3.0) == 0.0 and time_below(*STEP, 3.0 + 1e-12) == pytest.approx(10.0)


def test_value_at_both_sides_of_a_step_and_outside() -> None:
    """Right is the value after a step, left the value before; outside the trace, its end values."""
    x, y = STEP_IN_RAMP
    assert value_at(x, y, [10.0]).tolist() == [5.0]
    assert value_at(x, y, [10.0], side="left").tolist() == [10.0]
    assert value_at(x, y, [5.0, 15.0, -1.0, 99.0]).tolist() == [5.0, 10.0, 0.0, 15.0]
    assert value_at(*ENDS, [0.0, 10.0], side="left").tolist() == [1.0, 4.0]
    assert value_at(*ENDS, [0.0, 10.0], side="right").tolist() == [4.0, 2.0]


def test_cumulative_inside_pieces_and_at_steps() -> None:
    """The integral to a time inside a ramp, at a step (which adds nothing) and past the end."""
    x, y = STEP_IN_RAMP
    assert cumulative(x, y, [5.0, 10.0, 15.0, 40.0]).tolist() == pytest.approx([12.5, 50.0, 87.5, 300.0])


def test_energy_cost_with_an_hourly_price() -> None:
    """Energy in each hour of a day (MWh) times an hourly price gives the day's cost."""
    x, y = build([3600.0 * 6], [-50.0], [0.0], 0.0, 86400.0, 150.0)  # 150 MW, 100 MW from 06:00
    mwh = np.diff(cumulative(x, y, np.arange(0.0, 86401.0, 3600.0))) / 3600.0
    price = np.where(np.arange(24) < 6, 30.0, 80.0)
    assert float(mwh @ price) == pytest.approx(6 * 150 * 30 + 18 * 100 * 80)


def test_fastest_ramp_of_a_step_and_of_short_traces() -> None:
    """A step of S MW gives S / w for any window; a trace shorter than the window gives its range / w."""
    assert fastest_ramp(*STEP, window_s=0.5) == pytest.approx(10.0)
    assert fastest_ramp([0.0, 1.0], [0.0, 3.0], window_s=4.0) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="window_s"):
        fastest_ramp(*STEP, window_s=0.0)


def test_envelopes_split_a_step_on_a_period_edge() -> None:
    """A step on the edge of two periods: the value before in the first, after in the second; a short last period."""
    starts, lo, mean, hi = envelopes([0.0, 10.0, 10.0, 15.0], [8.0, 8.0, 3.0, 5.0], 10.0)
    assert starts.tolist() == [0.0, 10.0]
    assert lo.tolist() == [8.0, 3.0] and hi.tolist() == [8.0, 5.0]
    assert mean.tolist() == pytest.approx([8.0, 4.0])


def test_envelopes_see_the_values_at_period_edges() -> None:
    """A ramp crossing an edge: each period's extremes include the interpolated value there."""
    _, lo, mean, hi = envelopes([0.0, 20.0], [0.0, 20.0], 10.0)
    assert lo.tolist() == [0.0, 10.0] and hi.tolist() == [10.0, 20.0] and mean.tolist() == [5.0, 15.0]


def test_window_has_interpolated_ends() -> None:
    """The piece of a trace between two times: the values just inside them, the rows between."""
    x, y = window(*STEP_IN_RAMP, 5.0, 10.0)
    assert x.tolist() == [5.0, 10.0] and y.tolist() == [5.0, 10.0]
    x, y = window(*STEP_IN_RAMP, 10.0, 25.0)
    assert x.tolist() == [10.0, 20.0, 25.0] and y.tolist() == [5.0, 15.0, 15.0]


def test_swing_times_say_when_each_run_began() -> None:
    """A failure's drop starts at the failure, its recovery ramp at the restart."""
    times, sizes = swing_times(*STEP_IN_RAMP)
    assert times.tolist() == [0.0, 10.0, 10.0] and sizes.tolist() == [10.0, -5.0, 10.0]


def test_bad_traces_are_refused() -> None:
    """Decreasing times, unequal lengths or no rows: one clear error."""
    with pytest.raises(ValueError, match="non-decreasing"):
        integral([0.0, 2.0, 1.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="one length"):
        integral([0.0, 1.0], [1.0])


# ---------------------------------------------------------------- properties of built traces

END = 100.0
amounts = st.integers(-4000, 4000).map(lambda i: i / 100.0)  # MW to the hundredth: sums carry float noise
events = st.lists(
    st.tuples(st.integers(0, int(END)).map(float), amounts, st.integers(-100, 100).map(lambda i: i / 100.0)),
    max_size=25,
)
levels = st.floats(0.0, 300.0)


def traced(evs: list[tuple[float, float, float]], level0: float) -> tuple[np.ndarray, np.ndarray]:
    """The trace of ``evs`` over [0, END] from ``level0``."""
    t, j, d = (np.array([e[i] for e in evs], dtype=float) for i in range(3))
    return build(t, j, d, 0.0, END, level0)


PROPERTY = settings(max_examples=100, deadline=None, derandomize=True)


@PROPERTY
@given(events, levels)
def test_build_integral_is_the_closed_form(evs: list[tuple[float, float, float]], level0: float) -> None:
    """The built trace's integral equals the events' closed form: level, jumps to the end, ramps to the end."""
    x, y = traced(evs, level0)
    exact = level0 * END + sum(j * (END - t) + d * (END - t) ** 2 / 2.0 for t, j, d in evs)
    assert integral(x, y) == pytest.approx(exact, rel=1e-9, abs=1e-6)
    assert np.all(np.diff(x) >= 0) and x[0] == 0.0 and x[-1] == END


@PROPERTY
@given(events, levels, st.sampled_from([7.0, 10.0, 30.0, 100.0, 250.0]))
def test_envelope_means_add_up_to_the_integral(
    evs: list[tuple[float, float, float]], level0: float, period: float
) -> None:
    """The periods' means times their lengths sum to the integral; each mean lies within its min and max."""
    x, y = traced(evs, level0)
    starts, lo, mean, hi = envelopes(x, y, period)
    lengths = np.diff(np.append(starts, END))
    assert float(mean @ lengths) == pytest.approx(integral(x, y), rel=1e-9, abs=1e-6)
    assert np.all(lo <= mean + 1e-9) and np.all(mean <= hi + 1e-9)
    assert lo.min() == pytest.approx(y.min()) and hi.max() == pytest.approx(y.max())


@PROPERTY
@given(events, levels)
def test_time_below_and_cumulative_at_the_extremes(evs: list[tuple[float, float, float]], level0: float) -> None:
    """Below a level above the max: the whole duration; below the min: none; the integral to the end: all of it."""
    x, y = traced(evs, level0)
    assert time_below(x, y, float(y.max()) + 1.0) == pytest.approx(END)
    assert time_below(x, y, float(y.min())) == 0.0
    assert cumulative(x, y, [END])[0] == pytest.approx(integral(x, y), rel=1e-12, abs=1e-9)


@PROPERTY
@given(events, levels)
def test_swings_sum_to_the_net_change(evs: list[tuple[float, float, float]], level0: float) -> None:
    """The signed runs add up to the trace's net change, and none is zero."""
    x, y = traced(evs, level0)
    runs = swings(x, y)
    assert float(runs.sum()) == pytest.approx(y[-1] - y[0], abs=1e-9 * len(x) + 1e-9)
    assert np.all(runs != 0.0)


@PROPERTY
@given(events, levels, st.sampled_from([0.25, 0.5, 0.9]))
def test_fastest_ramp_sees_every_step(evs: list[tuple[float, float, float]], level0: float, w: float) -> None:
    """With rows further apart than the window, the fastest ramp is at least each step / w, less the steepest
    slope beside it (a ramp against the step takes up to slope x w off it); and no sampled window beats it."""
    x, y = traced(evs, level0)
    steps = np.abs(np.diff(y)[np.diff(x) == 0])
    slopes = np.abs(np.diff(y)[np.diff(x) > 0] / np.diff(x)[np.diff(x) > 0])
    fastest = fastest_ramp(x, y, w)
    if len(steps):
        assert fastest >= steps.max() / w - (slopes.max() if len(slopes) else 0.0) - 1e-9
    t = np.linspace(0.0, END - w, 4001)
    sampled = np.abs(value_at(x, y, t + w) - value_at(x, y, t)) / w
    assert sampled.max() <= fastest + 1e-9


def ramp_by_candidates(x: np.ndarray, y: np.ndarray, w: float) -> float:
    """The fastest ramp from its definition: both one-sided values at every t where t or t + w is a row."""
    t = np.concatenate((x, x - w))
    t = t[(t >= x[0]) & (t <= x[-1] - w)]
    change = [value_at(x, y, t + w, side) - value_at(x, y, t, side) for side in ("left", "right")]
    return float(np.abs(np.concatenate(change)).max()) / w


@PROPERTY
@given(events, levels, st.sampled_from([0.5, 1.0, 1.5, 4.0, 12.5]))
def test_fastest_ramp_equals_its_definition(evs: list[tuple[float, float, float]], level0: float, w: float) -> None:
    """Closed forms for rows alone in their windows and a search for crowded ones give the definition's value."""
    x, y = traced(evs, level0)
    assert fastest_ramp(x, y, w) == pytest.approx(ramp_by_candidates(x, y, w), rel=1e-9, abs=1e-9)


@PROPERTY
@given(events, levels, st.integers(0, 99), st.integers(1, 100))
def test_window_integral_is_the_difference_of_cumulatives(
    evs: list[tuple[float, float, float]], level0: float, a: int, span: int
) -> None:
    """A window's integral equals the cumulative integral's difference over it."""
    x, y = traced(evs, level0)
    t0, t1 = float(a), float(min(a + span, END))
    wx, wy = window(x, y, t0, t1)
    expected = np.diff(cumulative(x, y, [t0, t1]))[0]
    assert integral(wx, wy) == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_build_merges_times_within_merge_s() -> None:
    """Two events an ulp apart are one change with ``merge_s``; without it they draw a zero-width spike."""
    t = 1086.5
    _, spike_y = build([t, np.nextafter(t, 0.0)], [-1.0, 1.0], [0.0, 0.0], 0.0, 2000.0, 5.0)
    assert spike_y.max() == 6.0
    x, y = build([t, np.nextafter(t, 0.0)], [-1.0, 1.0], [0.0, 0.0], 0.0, 2000.0, 5.0, merge_s=1e-6)
    assert x.tolist() == [0.0, 2000.0] and y.tolist() == [5.0, 5.0]

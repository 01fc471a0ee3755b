"""A server's clocks: where they start (fleet age), how a rate multiplier scales them, job-scope clocks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.analysis.stationary import first_failure_cdf, weibull_scale_hours
from sim.config.scenario import FailureMode
from sim.model.clocks import clock_columns, job_clock

HOUR = 3600.0
SHAPES = (0.5, 1.0, 2.0, 3.0)


def mode(**kw: object) -> FailureMode:
    base: dict[str, object] = {"name": "m", "scope": "node", "mtbf_hours": 100.0, "action": "restart"}
    return FailureMode(**{**base, **kw})  # type: ignore[arg-type]


def weibull(shape: float, **kw: object) -> FailureMode:
    return mode(distribution="weibull", shape=shape, **kw)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("age", ["stationary", "new"])
def test_first_failure_follows_the_forward_recurrence_law_or_the_law(shape: float, age: str) -> None:
    """KS: stationary first draws follow P(1/k, (t/lam)^k); new ones the Weibull law itself."""
    m = weibull(shape)
    cols = clock_columns([m], 8, ("node",))
    t = cols.first(np.random.default_rng(11), 20_000, age)[:, 0] / HOUR  # type: ignore[arg-type]
    scale = weibull_scale_hours(m)
    assert stats.kstest(t, lambda x: first_failure_cdf(x, scale, shape, age)).pvalue > 1e-3  # type: ignore[arg-type]


def test_a_rate_multiplier_divides_the_times() -> None:
    """A server r times as failure-prone has its first failure at T / r (CDF F(r t)), whatever the age."""
    m = weibull(0.5)
    cols = clock_columns([m], 8, ("node",))
    rate = np.full((20_000, 1), 4.0)
    t = cols.first(np.random.default_rng(12), 20_000, "stationary", rate)[:, 0] / HOUR
    scale = weibull_scale_hours(m)
    assert stats.kstest(t, lambda x: first_failure_cdf(4.0 * x, scale, 0.5, "stationary")).pvalue > 1e-3
    assert math.isinf(cols.draw(np.random.default_rng(1), 1, np.zeros((1, 1)))[0, 0])  # rate 0: never


def test_exponential_clocks_draw_the_same_whatever_the_fleet_age() -> None:
    """An exponential clock's equilibrium law is its own: stationary draws equal new ones to the bit."""
    cols = clock_columns([mode(), mode(name="g", scope="gpu")], 8, ("gpu", "node"))
    a = cols.first(np.random.default_rng(3), 50, "stationary")
    b = cols.first(np.random.default_rng(3), 50, "new")
    assert np.array_equal(a, b)


def test_only_weibull_columns_are_aged_and_gpu_weibulls_keep_a_clock_each() -> None:
    """Merged exponential GPUs are one clock; a Weibull GPU mode has one per GPU, each aged (shape != 1)."""
    modes = [mode(scope="gpu"), weibull(2.0, name="w", scope="gpu"), weibull(1.0, name="one")]
    cols = clock_columns(modes, 8, ("gpu", "node"))
    assert len(cols) == 1 + 8 + 1
    assert cols.aged.tolist() == [False] + [True] * 8 + [False]


@pytest.mark.parametrize("age", ["stationary", "new"])
def test_job_clock_first_failure_and_count(age: str) -> None:
    """Job-scope Weibull (shape 0.5): first failure by its age's law (KS); stationary count = window / mean."""
    m = weibull(0.5, scope="job", mtbf_hours=10.0)
    rng = np.random.default_rng(21)
    horizon = 30.0 * HOUR
    runs = [job_clock(m, horizon, rng, age) for _ in range(4000)]  # type: ignore[arg-type]
    first = np.array([r[0] for r in runs if r.size]) / HOUR
    scale = weibull_scale_hours(m)
    censored = float(first_failure_cdf(30.0, scale, 0.5, age))  # type: ignore[arg-type]
    # Given a failure before the horizon, the first one follows the law truncated there.
    cdf = lambda x: first_failure_cdf(x, scale, 0.5, age) / censored  # type: ignore[arg-type]  # noqa: E731
    assert stats.kstest(first, cdf).pvalue > 1e-3
    counts = np.array([r.size for r in runs])
    if age == "stationary":
        assert abs(counts.mean() - 3.0) < 4.5 * counts.std() / math.sqrt(counts.size)
    else:
        assert counts.mean() > 3.0 + 4.5 * counts.std() / math.sqrt(counts.size)  # burn-in: more than 3

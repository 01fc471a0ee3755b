"""Servers that differ: multipliers and bad flags as drawn, and the counts they make against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.analysis.stationary import count_pmf, failing_fraction, good_multiplier, multiplier_variance
from sim.config.scenario import FailureMode, Heterogeneity
from sim.model.failures import NodeTimeline, node_timeline
from sim.model.fleet import fleet_rates

HOUR = 3600.0
NODES = 20_000


def mode(**kw: object) -> FailureMode:
    base: dict[str, object] = {"name": "m", "scope": "node", "mtbf_hours": 100.0, "action": "restart"}
    return FailureMode(**{**base, **kw})  # type: ignore[arg-type]


def rates(h: Heterogeneity, modes: list[FailureMode], nodes: int = NODES, seed: int = 0) -> np.ndarray:
    f = fleet_rates(h, modes, nodes, np.random.default_rng(seed), np.random.default_rng(seed + 1))
    assert f is not None
    return f.multiplier


def counts_by_mode(tl: NodeTimeline, modes: int) -> np.ndarray:
    """Failures of each node (rows) and mode (columns)."""
    node = np.repeat(np.arange(tl.nodes), np.diff(tl.ptr))
    out = np.zeros((tl.nodes, modes), dtype=np.int64)
    np.add.at(out, (node, tl.mode), 1)
    return out


def chi_square_p(counts: np.ndarray, pmf: np.ndarray) -> float:
    """Goodness of fit of a count histogram to ``pmf`` (over 0, 1, ...), tails pooled to >= 5 expected."""
    n = counts.size
    expected = n * pmf
    observed = np.bincount(counts, minlength=pmf.size)[: pmf.size].astype(float)
    observed[-1] += np.sum(counts >= pmf.size)
    expected[-1] += n * (1.0 - pmf.sum())
    # Pool the upper tail until every bin expects at least 5.
    while expected[-1] < 5:
        expected[-2] += expected[-1]
        observed[-2] += observed[-1]
        expected, observed = expected[:-1], observed[:-1]
    return float(stats.chisquare(observed, expected).pvalue)


def test_like_servers_draw_nothing() -> None:
    """No bad servers (f = 0 or m = 1) and no frailty: None, and neither stream moves."""
    for h in (Heterogeneity(), Heterogeneity(bad_node_multiplier=5.0), Heterogeneity(bad_node_fraction=0.2)):
        a, b = np.random.default_rng(1), np.random.default_rng(2)
        assert fleet_rates(h, [mode()], 10, a, b) is None
        assert a.random() == np.random.default_rng(1).random() and b.random() == np.random.default_rng(2).random()


@pytest.mark.parametrize(
    "h",
    [
        Heterogeneity(frailty_cv=0.7),
        Heterogeneity(bad_node_fraction=0.15, bad_node_multiplier=6.0),
        Heterogeneity(bad_node_fraction=0.1, bad_node_multiplier=4.0, frailty_cv=0.5, per_mode=True),
    ],
)
def test_multipliers_average_one_with_their_variance(h: Heterogeneity) -> None:
    """The fleet mean multiplier is 1 within its standard error; its variance is the closed form's."""
    z = rates(h, [mode(), mode(name="g", scope="gpu")])
    v = multiplier_variance(h.bad_node_fraction, h.bad_node_multiplier, h.frailty_cv)
    assert abs(z[:, 0].mean() - 1.0) < 4.5 * math.sqrt(v / NODES)
    assert z[:, 0].var() == pytest.approx(v, rel=0.1)


def test_bad_servers_are_nested_across_fractions_and_other_scopes_are_untouched() -> None:
    """The bad servers at f = 0.05 are among those at f = 0.2 (paired sweeps); rack and job modes keep 1."""
    modes = [mode(), mode(name="r", scope="rack", action="replace", repair_hours=1.0), mode(name="j", scope="job")]
    few = fleet_rates(Heterogeneity(bad_node_fraction=0.05, bad_node_multiplier=6.0), modes, 1000, *streams())
    many = fleet_rates(Heterogeneity(bad_node_fraction=0.2, bad_node_multiplier=6.0), modes, 1000, *streams())
    assert few is not None and many is not None
    assert np.all(many.bad[few.bad[:, 0], 0]) and few.bad[:, 0].sum() < many.bad[:, 0].sum()
    assert np.all(few.multiplier[:, 1:] == 1.0) and not few.bad[:, 1:].any()
    assert few.multiplier[few.bad[:, 0], 0] == pytest.approx(6.0 * good_multiplier(0.05, 6.0))


def test_a_servers_multipliers_do_not_depend_on_the_servers_after_it() -> None:
    """Adding spares leaves the job servers' multipliers as they were (one row per server, in order)."""
    h = Heterogeneity(bad_node_fraction=0.1, bad_node_multiplier=3.0, frailty_cv=0.5, per_mode=True)
    modes = [mode(), mode(name="b")]
    small = fleet_rates(h, modes, 100, *streams())
    large = fleet_rates(h, modes, 150, *streams())
    assert small is not None and large is not None
    assert np.array_equal(small.multiplier, large.multiplier[:100])


def streams() -> tuple[np.random.Generator, np.random.Generator]:
    return np.random.default_rng(7), np.random.default_rng(8)


@pytest.mark.parametrize(
    ("f", "m", "cv"),
    [(0.0, 1.0, 1.0), (0.15, 6.0, 0.0), (0.1, 4.0, 0.5)],
)
def test_per_server_counts_follow_the_mixed_poisson_law(f: float, m: float, cv: float) -> None:
    """Chi-square: per-server counts (8 Weibull-1 GPU clocks sharing the server's multiplier) follow the closed form.

    Gamma frailty gives a negative binomial, bad servers a mixture of two Poissons; the share of
    servers that fail at least once matches 1 - P(0) within 4.5 standard errors.
    """
    g = mode(scope="gpu", distribution="weibull", shape=1.0, mtbf_hours=800.0)
    h = Heterogeneity(bad_node_fraction=f, bad_node_multiplier=max(m, 1.0), frailty_cv=cv)
    tl = node_timeline([g], NODES, 8, 200 * HOUR, np.random.default_rng(41), rate=rates(h, [g]))
    counts = counts_by_mode(tl, 1)[:, 0]
    mean = 8 * 200 / 800.0
    pmf = count_pmf(np.arange(40), mean, f, m, cv)
    assert chi_square_p(counts, pmf) > 1e-3
    share = failing_fraction(mean, f, m, cv)
    assert abs(np.mean(counts > 0) - share) < 4.5 * math.sqrt(share * (1 - share) / NODES)
    # A fleet of like servers spreads its failures wider: the test can tell them apart.
    assert failing_fraction(mean) - share > 10 * math.sqrt(share * (1 - share) / NODES)


@pytest.mark.parametrize("per_mode", [False, True])
def test_modes_of_a_server_share_its_multiplier_unless_per_mode(per_mode: bool) -> None:
    """Counts of two modes of one server: correlated as the closed form says when shared, uncorrelated per mode."""
    modes = [mode(name="a"), mode(name="b", mtbf_hours=50.0)]
    h = Heterogeneity(bad_node_fraction=0.15, bad_node_multiplier=6.0, frailty_cv=0.5, per_mode=per_mode)
    tl = node_timeline(modes, NODES, 8, 100 * HOUR, np.random.default_rng(42), rate=rates(h, modes))
    c = counts_by_mode(tl, 2)
    r = np.corrcoef(c[:, 0], c[:, 1])[0, 1]
    se = 1.0 / math.sqrt(NODES)
    if per_mode:
        assert abs(r) < 4.5 * se
    else:
        v = multiplier_variance(0.15, 6.0, 0.5)
        ma, mb = 1.0, 2.0
        expected = ma * mb * v / math.sqrt((ma + ma**2 * v) * (mb + mb**2 * v))
        assert expected > 0.3 and abs(r - expected) < 4.5 * se


def test_a_weibull_server_with_multiplier_r_fails_r_times_as_often() -> None:
    """Steady state, shape 0.5: a server with multiplier 3 expects 3 w / MTBF in every window."""
    m = mode(distribution="weibull", shape=0.5)
    rate = np.full((NODES, 1), 3.0)
    tl = node_timeline([m], NODES, 8, 50 * HOUR, np.random.default_rng(43), fleet_age="stationary", rate=rate)
    node = np.repeat(np.arange(tl.nodes), np.diff(tl.ptr))
    for w in (5.0, 50.0):
        c = np.bincount(node[tl.time < w * HOUR], minlength=NODES)
        assert abs(c.mean() - 3 * w / 100.0) < 4.5 * c.std() / math.sqrt(NODES)

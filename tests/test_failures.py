"""Failure clocks: drawn rates and laws against their parameters and closed forms, renewal after repair,
steady state and fresh start, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.analysis.stationary import first_failure_cdf, renewal_function, weibull_scale_hours
from sim.config.scenario import FailureMode
from sim.model.failures import NodeTimeline, job_timeline, node_timeline

HOUR = 3600.0


def mode(**kw: object) -> FailureMode:
    base: dict[str, object] = {"name": "m", "scope": "node", "mtbf_hours": 1000.0, "action": "restart"}
    return FailureMode(**{**base, **kw})  # type: ignore[arg-type]


def test_exponential_count_matches_rate() -> None:
    """Restart-only node failures form a Poisson process: count within 4 standard errors of its mean."""
    tl = node_timeline([mode()], nodes=2000, gpus_per_node=8, horizon_s=2000 * HOUR, rng=np.random.default_rng(1))
    expected = 2000 * 2000 / 1000.0
    assert abs(len(tl.time) - expected) < 4 * math.sqrt(expected)


def test_gpu_scope_scales_with_gpus_per_node() -> None:
    """A GPU-scope mode fails gpus_per_node times as often per node as the same node-scope mode."""
    tl = node_timeline(
        [mode(scope="gpu")], nodes=500, gpus_per_node=8, horizon_s=1000 * HOUR, rng=np.random.default_rng(2)
    )
    expected = 500 * 8 * 1000 / 1000.0
    assert abs(len(tl.time) - expected) < 4 * math.sqrt(expected)


def test_weibull_gaps_follow_the_law() -> None:
    """Gaps between restart-only Weibull failures pass a KS test against Weibull(shape, scale)."""
    m = mode(distribution="weibull", shape=0.7, mtbf_hours=100.0)
    tl = node_timeline([m], nodes=100, gpus_per_node=8, horizon_s=50_000 * HOUR, rng=np.random.default_rng(3))
    gaps = []
    for n in range(tl.nodes):
        t = tl.time[tl.ptr[n] : tl.ptr[n + 1]]
        gaps.extend(np.diff(np.concatenate([[0.0], t])) / HOUR)
    law = stats.weibull_min(0.7, scale=weibull_scale_hours(m))
    assert law.mean() == pytest.approx(100.0)
    # The gap cut by the horizon is left out, which biases short windows low (length bias);
    # with 500 mean gaps per node that bias is far below the standard error.
    assert stats.kstest(gaps, law.cdf).pvalue > 0.001
    assert abs(np.mean(gaps) - 100.0) < 4 * law.std() / math.sqrt(len(gaps))


def test_no_failure_while_in_repair() -> None:
    """A replaced node does not fail again before it is back from repair."""
    m = mode(action="replace", repair_hours=50.0, mtbf_hours=20.0)
    tl = node_timeline([m], nodes=200, gpus_per_node=8, horizon_s=1000 * HOUR, rng=np.random.default_rng(4))
    for n in range(tl.nodes):
        t, back = tl.time[tl.ptr[n] : tl.ptr[n + 1]], tl.back[tl.ptr[n] : tl.ptr[n + 1]]
        assert np.all(t[1:] >= back[:-1])
        assert np.allclose(back - t, 50 * HOUR)
    # Up 20 h on average then 50 h down: about 1000 / 70 failures per node.
    assert len(tl.time) / 200 == pytest.approx(1000 / 70, rel=0.1)


def test_same_stream_same_timeline() -> None:
    """The same seed gives the same failures, to the bit."""
    modes = [mode(), mode(name="g", scope="gpu", distribution="weibull", shape=1.3, action="replace", repair_hours=5)]
    a = node_timeline(modes, 100, 8, 500 * HOUR, np.random.default_rng(9))
    b = node_timeline(modes, 100, 8, 500 * HOUR, np.random.default_rng(9))
    for field in ("ptr", "time", "mode", "back"):
        assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True)


def test_job_timeline_rate_and_order() -> None:
    """Job-scope failures are sorted and come at their rate; other scopes are ignored."""
    modes = [mode(scope="job", mtbf_hours=2.0), mode(name="n"), mode(name="j2", scope="job", mtbf_hours=4.0)]
    t, idx = job_timeline(modes, 4000 * HOUR, np.random.default_rng(5))
    assert np.all(np.diff(t) >= 0)
    assert set(idx.tolist()) == {0, 2}
    assert np.sum(idx == 0) == pytest.approx(2000, abs=4 * math.sqrt(2000))
    assert np.sum(idx == 2) == pytest.approx(1000, abs=4 * math.sqrt(1000))


def test_domain_failures_take_every_node_under_them() -> None:
    """A rack failure downs all its nodes; failures while already down merge into the repair."""
    from sim.model.failures import NodeTimeline, with_domains

    own = NodeTimeline(
        ptr=np.array([0, 0, 1, 2, 2, 2, 2, 2, 2]),
        time=np.array([50.0, 150.0]),
        mode=np.array([0, 0]),
        back=np.array([150.0, 160.0]),
    )
    racks = NodeTimeline(ptr=np.array([0, 1, 1]), time=np.array([100.0]), mode=np.array([1]), back=np.array([200.0]))
    tl = with_domains(own, racks, nodes_per_domain=4)
    rows = {
        n: list(zip(tl.time[tl.ptr[n] : tl.ptr[n + 1]], tl.back[tl.ptr[n] : tl.ptr[n + 1]], strict=True))
        for n in range(8)
    }
    assert rows[0] == [(100.0, 200.0)] and rows[3] == [(100.0, 200.0)]
    assert rows[1] == [(50.0, 200.0)]  # down since 50 s; the rack keeps it down until 200 s
    assert rows[2] == [(100.0, 200.0)]  # its own failure at 150 s falls inside the rack's repair
    assert all(rows[n] == [] for n in range(4, 8))


def test_lognormal_repairs_have_the_mean() -> None:
    """Lognormal repair times average repair_hours and spread by sigma."""
    m = mode(action="replace", repair_hours=10.0, repair_sigma=0.8, mtbf_hours=5.0)
    tl = node_timeline([m], nodes=400, gpus_per_node=8, horizon_s=2000 * HOUR, rng=np.random.default_rng(6))
    d = (tl.back - tl.time) / HOUR
    assert abs(d.mean() - 10.0) < 4 * d.std() / math.sqrt(d.size)
    assert np.std(np.log(d)) == pytest.approx(0.8, rel=0.05)


def counts_before(tl: NodeTimeline, window_s: float) -> np.ndarray:
    """Failures of each node (row) before ``window_s``."""
    node = np.repeat(np.arange(tl.nodes), np.diff(tl.ptr))
    return np.bincount(node[tl.time < window_s], minlength=tl.nodes)


def assert_mean(counts: np.ndarray, expected: float, sigmas: float = 4.5) -> None:
    """The mean of ``counts`` is within ``sigmas`` standard errors of ``expected``."""
    se = counts.std() / math.sqrt(counts.size)
    assert abs(counts.mean() - expected) < sigmas * max(se, 1e-12), (counts.mean(), expected, se)


WINDOWS_H = (5.0, 50.0, 300.0)  # short and long against the 100-hour mean


@pytest.mark.parametrize("shape", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("action", ["restart", "replace"])
def test_a_stationary_fleet_expects_window_over_mtbf(shape: float, action: str) -> None:
    """Steady state: mean failures per clock in [0, w] is w / MTBF for every shape and window (restart, or repair 0)."""
    extra = {"repair_hours": 0.0} if action == "replace" else {}
    m = mode(distribution="weibull", shape=shape, mtbf_hours=100.0, action=action, **extra)
    tl = node_timeline([m], 20_000, 8, max(WINDOWS_H) * HOUR, np.random.default_rng(31), fleet_age="stationary")
    for w in WINDOWS_H:
        assert_mean(counts_before(tl, w * HOUR), w / 100.0)


def counts_between(tl: NodeTimeline, a_s: float, b_s: float, mode_index: int) -> np.ndarray:
    """Failures of mode ``mode_index`` of each node (row) in [a_s, b_s)."""
    node = np.repeat(np.arange(tl.nodes), np.diff(tl.ptr))
    keep = (tl.time >= a_s) & (tl.time < b_s) & (tl.mode == mode_index)
    return np.bincount(node[keep], minlength=tl.nodes)


def test_a_repair_renews_only_the_part_that_failed() -> None:
    """Replace modes side by side (Weibull shapes 0.5 and 2.5, an exponential; repairs of no length): every mode
    expects window / MTBF in the first window and in late ones, as if alone. (When a repair renewed every clock,
    the shape-0.5 mode failed 2.2 times window / MTBF in hours 0-30 and 2.6 times in 300-600, the shape-2.5 one
    0.69 and 0.31 times.)"""
    modes = [
        mode(distribution="weibull", shape=0.5, mtbf_hours=100.0, action="replace", repair_hours=0.0),
        mode(distribution="weibull", shape=2.5, mtbf_hours=100.0, action="replace", repair_hours=0.0),
        mode(mtbf_hours=50.0, action="replace", repair_hours=0.0),
    ]
    tl = node_timeline(modes, 20_000, 8, 600 * HOUR, np.random.default_rng(37), fleet_age="stationary")
    for a, b in ((0.0, 30.0), (300.0, 600.0)):
        for i, m in enumerate(modes):
            assert_mean(counts_between(tl, a * HOUR, b * HOUR, i), (b - a) / m.mtbf_hours)


def test_stationary_gpu_clocks_of_one_server_each_expect_window_over_mtbf() -> None:
    """Eight Weibull GPU clocks (shape 0.5, restart) of a server: 8 w / MTBF per server in every window."""
    m = mode(scope="gpu", distribution="weibull", shape=0.5, mtbf_hours=800.0)
    tl = node_timeline([m], 5_000, 8, 300 * HOUR, np.random.default_rng(32), fleet_age="stationary")
    for w in WINDOWS_H:
        assert_mean(counts_before(tl, w * HOUR), 8 * w / 800.0)


@pytest.mark.parametrize("shape", [0.5, 2.0])
def test_a_new_fleet_follows_the_renewal_function(shape: float) -> None:
    """Fresh start: mean failures per clock is the renewal function M(w) (burn-in above w / MTBF for shape < 1)."""
    m = mode(distribution="weibull", shape=shape, mtbf_hours=100.0)
    tl = node_timeline([m], 20_000, 8, 300 * HOUR, np.random.default_rng(33), fleet_age="new")
    for w in WINDOWS_H:
        assert_mean(counts_before(tl, w * HOUR), renewal_function(w, weibull_scale_hours(m), shape, steps=4000))


@pytest.mark.parametrize("age", ["stationary", "new"])
def test_first_failures_of_a_timeline_follow_their_law(age: str) -> None:
    """KS: each node's first failure (given one before the horizon) follows the forward-recurrence law, or the law."""
    m = mode(distribution="weibull", shape=0.6, mtbf_hours=100.0)
    horizon = 150.0
    tl = node_timeline([m], 10_000, 8, horizon * HOUR, np.random.default_rng(34), fleet_age=age)  # type: ignore[arg-type]
    first = tl.time[tl.ptr[:-1][np.diff(tl.ptr) > 0]] / HOUR
    scale = weibull_scale_hours(m)
    within = float(first_failure_cdf(horizon, scale, 0.6, age))  # type: ignore[arg-type]
    assert first.size == pytest.approx(10_000 * within, abs=4.5 * math.sqrt(10_000 * within * (1 - within)))
    assert stats.kstest(first, lambda x: first_failure_cdf(x, scale, 0.6, age) / within).pvalue > 1e-3  # type: ignore[arg-type]


def test_stationary_rack_clocks_expect_window_over_mtbf() -> None:
    """Rack-scope Weibull clocks (shape 0.5) drawn in steady state: w / MTBF per rack."""
    m = mode(scope="rack", distribution="weibull", shape=0.5, mtbf_hours=100.0, action="replace", repair_hours=0.0)
    tl = node_timeline([m], 20_000, 1, 300 * HOUR, np.random.default_rng(35), scopes=("rack",), fleet_age="stationary")
    for w in WINDOWS_H:
        assert_mean(counts_before(tl, w * HOUR), w / 100.0)


def test_stationary_job_clocks_expect_window_over_mtbf() -> None:
    """Job-scope Weibull (shape 3) in steady state: w / MTBF per run of job_timeline, short window and long."""
    m = mode(scope="job", distribution="weibull", shape=3.0, mtbf_hours=10.0)
    rng = np.random.default_rng(36)
    runs = [job_timeline([m], 40 * HOUR, rng, fleet_age="stationary")[0] for _ in range(5000)]
    for w in (1.0, 10.0, 40.0):
        assert_mean(np.array([np.sum(r < w * HOUR) for r in runs]), w / 10.0)

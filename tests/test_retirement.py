"""Retirement: window and score policies on hand-made histories, a pure filter, and against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.config.scenario import FailureMode, Repair, Retirement
from sim.model.failures import NodeTimeline
from sim.model.repairs import AUTO, server_timeline
from sim.model.retirement import retire, retiring_rows

DAY = 86400.0


def history(*nodes: list[tuple[float, float]]) -> NodeTimeline:
    """Per node, (failure day, back day) rows; back nan: stayed in service."""
    rows = [(n, t * DAY, b * DAY) for n, rs in enumerate(nodes) for t, b in rs]
    counts = np.bincount([r[0] for r in rows], minlength=len(nodes))
    return NodeTimeline(
        ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        time=np.array([r[1] for r in rows]),
        mode=np.zeros(len(rows), np.int64),
        back=np.array([r[2] for r in rows]),
        stage=np.full(len(rows), AUTO, np.uint8),
        auto=np.ones(len(rows)),
    )


def window(failures: int, days: float) -> Retirement:
    return Retirement(policy="window", failures=failures, window_days=days)


@pytest.mark.parametrize(
    ("rows", "policy", "retired_at"),
    [
        ([(1, 1.5), (2, 2.5), (3, 3.5)], window(2, 7), 1),  # the second failure within a week
        ([(1, 1.5), (8.5, 9), (20, 20.5)], window(2, 7), None),
        ([(1, 1.5), (8, 8.2)], window(2, 7), 1),  # 7 days apart exactly is within the window
        ([(1, 1.5), (2, np.nan), (3, 3.5)], window(2, 1.5), None),  # a missed fault does not count
        ([(1, 1.5), (5, 5.5), (6, 6.5), (7, 7.5)], window(3, 2.5), 3),
        ([(4, 4.5)], window(1, 1), 0),
    ],
)
def test_window_policy_table(rows: list[tuple[float, float]], policy: Retirement, retired_at: int | None) -> None:
    """Retired at the failure that makes `failures` within `window_days` (that failure included)."""
    got = retiring_rows(history(rows), policy).tolist()
    assert got == ([] if retired_at is None else [retired_at])


def test_score_policy_table() -> None:
    """Score 100, -30 a failure, +10 a whole day up since the last return, retired at or below 0."""
    policy = Retirement(policy="score", initial_score=100, failure_penalty=30, uptime_credit=10, credit_days=1)
    # Day 1: +10 (one day up since the start) -30 = 80; day 2 (up 0.5 day since 1.5): 50; 2.6: 20; 2.7: -10.
    tl = history([(1, 1.5), (2, 2.5), (2.6, 2.65), (2.7, 2.8), (5, 5.5)])
    assert retiring_rows(tl, policy).tolist() == [3]
    # A server up long enough between failures earns its way back: +30 a 3-day stretch pays each failure.
    steady = history([(3 * k + 3, 3 * k + 3.0) for k in range(20)])
    assert retiring_rows(steady, policy).tolist() == []
    assert retiring_rows(tl, Retirement(policy="score", threshold=-1000)).tolist() == []


def test_retired_servers_leave_for_good_and_the_rest_are_untouched() -> None:
    """The retiring failure never returns (inf, no repair stages), later rows go; other servers are unchanged."""
    tl = history([(1, 1.5), (2, 2.5), (3, 3.5)], [(1, 1.5), (9, 9.5)], [(2, np.nan), (3, 3.1)])
    out = retire(tl, window(2, 7))
    assert out.ptr.tolist() == [0, 2, 4, 6]
    assert out.back[:2].tolist() == [1.5 * DAY, np.inf] and out.stage[:2].tolist() == [AUTO, 0]
    assert out.auto[1] == 0.0
    for name in ("time", "back", "stage", "auto"):
        assert np.array_equal(getattr(out, name)[2:], getattr(tl, name)[3:], equal_nan=True)
    assert retire(tl, Retirement()) is tl


def test_sweeping_the_threshold_moves_no_other_failure() -> None:
    """Any two thresholds keep the same rows for every server that neither of them retires (a paired sweep)."""
    m = FailureMode(name="n", scope="node", mtbf_hours=500.0, repair_hours=24.0)
    tl = server_timeline([m], 300, 8, 2400 * 3600.0, np.random.default_rng(4), Repair(), np.random.default_rng(5))
    a, b = retire(tl, window(2, 7)), retire(tl, window(4, 7))
    gone_nodes = set(a.node[np.isinf(a.back)].tolist()) | set(b.node[np.isinf(b.back)].tolist())
    assert gone_nodes
    keep = [n for n in range(tl.nodes) if n not in gone_nodes]
    for n in keep:
        assert np.array_equal(a.time[a.ptr[n] : a.ptr[n + 1]], tl.time[tl.ptr[n] : tl.ptr[n + 1]])
        assert np.array_equal(b.time[b.ptr[n] : b.ptr[n + 1]], tl.time[tl.ptr[n] : tl.ptr[n + 1]])


def independent_window_retired(rate: float, horizon: float, failures: int, w: float, n: int, seed: int) -> float:
    """Share of Poisson(rate) servers with `failures` arrivals within `w` before `horizon` (a separate Monte Carlo)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    hit = 0
    for _ in range(n):
        t = np.cumsum(rng.exponential(1.0 / rate, size=int(rate * horizon * 3) + 20))
        t = t[t < horizon]
        if t.size >= failures and np.any(t[failures - 1 :] - t[: t.size - failures + 1] <= w):
            hit += 1
    return hit / n


def test_window_retirement_probability_matches_an_independent_monte_carlo() -> None:
    """Exponential servers, instant repairs: the share retired by a 2-in-7-days rule over 100 days matches
    a separate simulation of Poisson arrivals."""
    m = FailureMode(name="n", scope="node", mtbf_hours=24 * 40.0, repair_hours=0.0)
    n, horizon_h = 4000, 2400.0
    tl = server_timeline([m], n, 8, horizon_h * 3600.0, np.random.default_rng(7), Repair(), np.random.default_rng(8))
    share = float(np.isinf(retire(tl, window(2, 7)).back).sum()) / n
    ref = independent_window_retired(1 / 40.0, 100.0, 2, 7.0, n, seed=11)
    se = math.sqrt(share * (1 - share) / n + ref * (1 - ref) / n)
    assert abs(share - ref) < 5 * se
    assert 0.2 < share < 0.9  # a meaningful share: neither rule is trivial here


def test_score_retirement_without_credit_is_a_poisson_tail() -> None:
    """With no uptime credit the score rule retires at the k-th failure: P(retired) = P(Poisson(rH) >= k)."""
    policy = Retirement(policy="score", initial_score=100, failure_penalty=30, uptime_credit=0, threshold=0)
    k = 4  # 100 - 4 x 30 <= 0
    m = FailureMode(name="n", scope="node", mtbf_hours=24 * 25.0, repair_hours=0.0)
    n = 5000
    tl = server_timeline([m], n, 8, 2400 * 3600.0, np.random.default_rng(9), Repair(), np.random.default_rng(1))
    share = float(np.isinf(retire(tl, policy).back).sum()) / n
    p = float(stats.poisson.sf(k - 1, 100 / 25.0))
    assert abs(share - p) < 5 * math.sqrt(p * (1 - p) / n)

"""Retirement: servers that keep failing are taken out for good, decided on their drawn histories.

A pure filter on a ``NodeTimeline``: each server's own history decides whether and when it goes, so
changing the policy or its threshold moves no other server's failure (common random numbers: a
sweep over thresholds is paired). Only failures that send the server to repair count (rows with a
return time); restarts in place and faults the pipeline missed do not. At the failure that retires
it the server leaves for good (``back = inf``, no repair), and its later rows are dropped; it is not
replaced by new hardware, so the spare pool shrinks.

Policies (``[retirement]``):

- ``window``: retired at the failure that makes ``failures`` failures within ``window_days``
  (that failure included);
- ``score`` (AIReSim's ScoredRemoval): a score starts at ``initial_score``; at each failure it first
  gains ``uptime_credit`` for every whole ``credit_days`` the server was up since its last return
  (since the start of the run for its first failure), then loses ``failure_penalty``; the server is
  retired when the score is at or below ``threshold``.

>>> from sim.config.scenario import Retirement
>>> day = 86400.0
>>> tl = NodeTimeline(np.array([0, 3]), np.array([1.0, 2.0, 3.0]) * day, np.zeros(3, np.int64),
...                   np.array([1.5, 2.5, 3.5]) * day)
>>> retire(tl, Retirement(policy="window", failures=2, window_days=7)).back.tolist()
[129600.0, inf]
"""

from __future__ import annotations

import numpy as np

from sim.config.scenario import Retirement
from sim.model.failures import NodeTimeline

DAY = 86400.0


def retiring_rows(timeline: NodeTimeline, policy: Retirement) -> np.ndarray:
    """The row at which each retired server goes, in node order (empty under policy ``none``)."""
    counted = np.flatnonzero(~np.isnan(timeline.back))
    if policy.policy == "none" or not counted.size:
        return np.zeros(0, np.int64)
    node = timeline.node[counted]
    time = timeline.time[counted]
    first = np.ones(counted.size, dtype=bool)
    first[1:] = node[1:] != node[:-1]  # the server's first counted failure
    if policy.policy == "window":
        k = np.arange(counted.size) - (policy.failures - 1)
        ok = k >= 0
        hit = np.zeros(counted.size, dtype=bool)
        kk = k[ok]
        hit[ok] = (node[kk] == node[ok]) & (time[ok] - time[kk] <= policy.window_days * DAY)
    else:
        back = timeline.back[counted]
        up_since = np.where(first, 0.0, np.concatenate([[0.0], back[:-1]]))
        credits = np.floor((time - up_since) / (policy.credit_days * DAY))
        change = credits * policy.uptime_credit - policy.failure_penalty
        total = np.cumsum(change)
        # Each server's running sum: subtract what the servers before it added.
        before = np.where(first, total - change, 0.0)
        start = np.maximum.accumulate(np.where(first, np.arange(counted.size), 0))
        hit = policy.initial_score + total - before[start] <= policy.threshold
    _, at = np.unique(node[hit], return_index=True)  # each server's first retiring failure
    return counted[np.flatnonzero(hit)[at]]


def retire(timeline: NodeTimeline, policy: Retirement) -> NodeTimeline:
    """``timeline`` with every retired server out for good from its retiring failure on."""
    rows = retiring_rows(timeline, policy)
    if not rows.size:
        return timeline
    node = timeline.node
    cut = timeline.ptr[1:].copy()  # per server: rows from here on are dropped
    cut[node[rows]] = rows + 1
    keep = np.arange(len(node)) < cut[node]
    back = timeline.back.copy()
    back[rows] = np.inf
    out = timeline.select(keep, back=back)
    # A retired server is not repaired: its last row has no pipeline stages.
    last = out.ptr[1:][node[rows]] - 1
    out.stage[last] = 0
    out.auto[last] = 0.0
    return out

"""Spare pool and membership bookkeeping of the cluster."""

from __future__ import annotations

import numpy as np
import simpy
from builders import scripted, tiny

from sim.model.cluster import Cluster

GPU = 1


def cluster(failures: list[tuple[int, float, int, float]], spares: int) -> tuple[simpy.Environment, Cluster]:
    s = tiny({"cluster.spare_nodes": spares})
    env = simpy.Environment()
    tl = scripted(s.job_nodes + spares, failures)
    return env, Cluster(env, s.modes, tl, np.zeros(0), np.zeros(0, np.int64), s.job_nodes)


def test_pool_is_first_in_first_out() -> None:
    """Spares are handed out in order, and a repaired node joins the back of the pool."""
    env, c = cluster([(2, 10.0, GPU, 50.0)], spares=3)
    assert list(c.pool) == [2, 3, 4]
    env.run(until=60.0)
    c._update_pool(env.now)
    assert list(c.pool) == [3, 4, 2]


def test_acquire_all_or_nothing() -> None:
    """The job takes its missing nodes only when the pool has all of them."""
    _env, c = cluster([], spares=1)
    for node in (0, 1):  # both job nodes gone, as _pop leaves them
        c.in_job[node], c.slot_of[node] = 0, -1
    c.vacant, c.members = [0, 1], 0
    assert not c.acquire()
    assert c.members == 0 and list(c.pool) == [2] and c.vacant == [0, 1]
    assert c.fill([1]) and c.slot_of[2] == 1 and c.vacant == [0] and c.members == 1


def test_next_return() -> None:
    """next_return is the time the next repaired node comes back."""
    env, c = cluster([(2, 10.0, GPU, 50.0), (3, 20.0, GPU, 40.0)], spares=2)
    env.run(until=30.0)
    assert c.next_return() == 40.0
    assert c.pool == {}


def test_a_missed_fault_stays_and_a_retired_server_never_returns() -> None:
    """Whether a failure pulls its server is the row's: back nan stays in the job, back inf never comes back."""
    env, c = cluster([(0, 10.0, GPU, np.nan), (1, 20.0, GPU, np.inf)], spares=1)
    env.run(until=15.0)
    missed = c._pop()
    assert not missed.replace and c.in_job[0] and c.members == 2
    env.run(until=25.0)
    retired = c._pop()
    assert retired.replace and not c.in_job[1] and c.vacant == [1]
    assert c.acquire() and c.filled == 1
    assert c.next_return() == float("inf")


def test_spares_consumed_counts_every_filled_position() -> None:
    """filled counts the job positions filled from the pool, swaps included."""
    _env, c = cluster([], spares=2)
    assert c.swap(0) and c.swap(1)
    assert c.filled == 2 and c.in_job[2] and c.in_job[3]

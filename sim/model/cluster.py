"""SimPy: the cluster's nodes, which of them the job holds, the spare pool, and the failure watcher.

Node failures and repairs are drawn up front (``sim.model.failures``); this module plays them out
against the job. The ``watch`` process sleeps until the next failure of a node the job holds (or
of the job itself) and delivers it as ``job.interrupt(Failure)``. Failures and returns of nodes
outside the job only change the spare pool, which is brought up to date when the job asks for
nodes, so they cost no simulation event.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import simpy

from sim.config.actions import ACTIONS
from sim.config.scenario import FailureMode
from sim.model.causes import Failure
from sim.model.failures import NodeTimeline


class Cluster:
    """Job membership, spare pool and failure delivery for one replication.

    Nodes ``0 .. job_nodes-1`` start in the job, the rest in the spare pool (first in, first out).
    A node whose failure pulls it (action ``replace``, and a row with a return time: not a fault the
    repair pipeline missed) leaves the job at once and is back in the pool when repaired (never, when
    retired); the job learns of it through the interrupt and asks for replacements. ``filled``
    counts the job positions filled from the pool.
    """

    def __init__(
        self,
        env: simpy.Environment,
        modes: Sequence[FailureMode],
        timeline: NodeTimeline,
        job_times: np.ndarray,
        job_modes: np.ndarray,
        job_nodes: int,
    ) -> None:
        self.env = env
        self.modes = modes
        self.job_nodes = job_nodes
        self.members = job_nodes
        n = timeline.nodes
        self.in_job = bytearray(b"\x01" * job_nodes + b"\x00" * (n - job_nodes))
        # Job positions (slots) outlive the nodes that fill them: peers and replicas are slots.
        self.slot_of: list[int] = list(range(job_nodes)) + [-1] * (n - job_nodes)
        self.vacant: list[int] = []
        leaves = np.array([ACTIONS[m.action].leaves_job_at_once for m in modes], dtype=bool)
        # Per row: a missed fault (back nan) stays in service whatever its mode's action.
        self._pull: list[bool] = (leaves[timeline.mode] & ~np.isnan(timeline.back)).tolist()
        self.filled = 0
        self._time: list[float] = timeline.time.tolist()
        self._mode: list[int] = timeline.mode.tolist()
        self._next: list[int] = timeline.ptr[:-1].tolist()
        self._end: list[int] = timeline.ptr[1:].tolist()
        self._heap: list[tuple[float, int, int]] = [
            (self._time[self._next[i]], i, self._next[i]) for i in range(job_nodes) if self._next[i] < self._end[i]
        ]
        heapq.heapify(self._heap)
        self._job_times: list[float] = job_times.tolist()
        self._job_modes: list[int] = job_modes.tolist()
        self._job_next = 0
        # Pool changes in time order: a replace failure takes a node down, its return brings it back.
        rep = np.flatnonzero(~np.isnan(timeline.back))
        node_of = np.repeat(np.arange(n), np.diff(timeline.ptr))
        t = np.concatenate([timeline.time[rep], timeline.back[rep]])
        up = np.concatenate([np.zeros(rep.size, bool), np.ones(rep.size, bool)])
        order = np.lexsort((up, t))
        self._pool_t: list[float] = t[order].tolist()
        self._pool_up: list[bool] = up[order].tolist()
        self._pool_node: list[int] = np.concatenate([node_of[rep], node_of[rep]])[order].tolist()
        self._pool_next = 0
        self.pool: dict[int, None] = dict.fromkeys(range(job_nodes, n))
        self._target = math.inf
        self.job: simpy.Process | None = None
        self.watcher: simpy.Process | None = None

    def start(self, job: simpy.Process) -> None:
        """Start delivering failures to ``job``."""
        self.job = job
        self.watcher = self.env.process(self.watch())

    # ------------------------------------------------------------------ failures of the job

    def _peek(self) -> float:
        heap = self._heap
        while heap and not (self.in_job[heap[0][1]] and self._next[heap[0][1]] == heap[0][2]):
            heapq.heappop(heap)
        t_node = heap[0][0] if heap else math.inf
        t_job = self._job_times[self._job_next] if self._job_next < len(self._job_times) else math.inf
        return min(t_node, t_job)

    def next_failure(self) -> float:
        """When the next failure of the job or a node it holds strikes (``inf``: none left)."""
        return self._peek()

    def _pop(self) -> Failure:
        heap = self._heap
        t_job = self._job_times[self._job_next] if self._job_next < len(self._job_times) else math.inf
        if heap and heap[0][0] <= t_job:
            t, node, k = heapq.heappop(heap)
            mode = self._mode[k]
            replace = self._pull[k]
            self._next[node] = k + 1
            slot = self.slot_of[node]
            if replace:
                self.in_job[node] = 0
                self.members -= 1
                self.slot_of[node] = -1
                self.vacant.append(slot)
            elif k + 1 < self._end[node]:
                heapq.heappush(heap, (self._time[k + 1], node, k + 1))
            return Failure(t, mode, node, replace, slot)
        mode = self._job_modes[self._job_next]
        self._job_next += 1
        return Failure(t_job, mode, -1, False)

    def watch(self) -> Generator[simpy.Event, Any, None]:
        """Sleep until the next failure of the job or a node it holds; interrupt the job with it."""
        assert self.job is not None
        while True:
            self._target = self._peek()
            try:
                if math.isinf(self._target):
                    yield self.env.event()  # nothing left to fail; wait for new members
                else:
                    # max: now is a sum of delays and can pass a drawn time by an ulp.
                    yield self.env.timeout(max(0.0, self._target - self.env.now))
            except simpy.Interrupt:
                continue  # membership changed: plan again
            if self._peek() > self._target:
                continue  # the node left the job meanwhile (a straggler swapped out): plan again
            self.job.interrupt(self._pop())

    # ------------------------------------------------------------------ spare pool

    def _update_pool(self, now: float) -> None:
        t, up, nodes, pool = self._pool_t, self._pool_up, self._pool_node, self.pool
        i = self._pool_next
        while i < len(t) and t[i] <= now:
            node = nodes[i]
            if up[i]:
                if not self.in_job[node]:  # a straggler still in the job is not a spare
                    pool[node] = None
            else:
                pool.pop(node, None)
            i += 1
        self._pool_next = i

    @property
    def missing(self) -> int:
        return self.job_nodes - self.members

    def acquire(self) -> bool:
        """Fill the job's missing nodes from the pool, all at once; False when too few are up."""
        if not self.vacant:
            return True  # a restart on the same nodes: nothing to look up
        self._update_pool(self.env.now)
        if len(self.vacant) > len(self.pool):
            return False  # checked before copying: a waiting job asks at every return
        return self.fill(list(self.vacant))

    def fill(self, slots: list[int]) -> bool:
        """Put pool nodes into these vacant job slots, all or none; False when too few are up."""
        now = self.env.now
        self._update_pool(now)
        if len(slots) > len(self.pool):
            return False
        replan = False
        chosen = set(slots)
        self.vacant = [v for v in self.vacant if v not in chosen]
        for slot in slots:
            node = next(iter(self.pool))
            del self.pool[node]
            self.in_job[node] = 1
            self.slot_of[node] = slot
            k, end = self._next[node], self._end[node]
            while k < end and self._time[k] <= now:
                k += 1
            self._next[node] = k
            if k < end:
                heapq.heappush(self._heap, (self._time[k], node, k))
                replan = replan or self._time[k] < self._target
        self.members += len(slots)
        self.filled += len(slots)
        if replan and self.watcher is not None:
            self.watcher.interrupt()
        return True

    def swap(self, node: int) -> bool:
        """Hot-swap a job node for a spare, without stopping the job; False if no spare is free."""
        if not self.in_job[node]:
            return True
        self._update_pool(self.env.now)
        if not self.pool:
            return False
        slot = self.slot_of[node]
        self.in_job[node] = 0
        self.slot_of[node] = -1
        self.vacant.append(slot)
        self.members -= 1
        return self.fill([slot])

    def pool_now(self) -> dict[int, None]:
        """The spare nodes up and free now, first in first out."""
        self._update_pool(self.env.now)
        return self.pool

    def next_return(self) -> float:
        """When the next repaired node is back (``inf`` if none before the end of the draws)."""
        self._update_pool(self.env.now)
        for i in range(self._pool_next, len(self._pool_t)):
            if self._pool_up[i]:
                return self._pool_t[i]
        return math.inf

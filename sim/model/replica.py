"""SimPy: replica-level recovery, as in fault-tolerant HSDP: the data-parallel replica is the unit
of failure, and nothing is rolled back.

Every failure pauses the whole job: first its detection delay (``detect``), then
``recovery.stall_minutes`` while the replicas agree on a new quorum (``restart``). The replica
(the *unit*: a data-parallel replica, or a whole node when several share one) that holds the failed
node then stays out: it waits for spare nodes if the failure took one (``wait``), restarts and
catches up from a healthy replica (``restart.fixed_minutes`` plus the checkpoint load, ``restart``),
and rejoins. The other replicas keep training, so the job computes at the share of its GPUs that is
online. A failure of a replica that is already out starts its recovery over, and stalls the job too
(the quorum changes again). Job-scope failures strike one replica, drawn uniformly in advance.

Checkpoints are still written, on the clock of the time the job computes; they matter only if every
replica is out at once: then the job restores the last checkpoint and what was computed since it
is ``lost``.

Under these rules the long-run useful fraction has a closed form: with failures at rate ``lam`` per
replica, ``R`` replicas, stall ``S``, replica restart ``D`` and no detection delay or waiting, a
replica computes when no replica failed in the last ``S`` and it did not fail in the last
``S + D`` (Poisson windows), so ``ETTR = exp(-R lam S - lam D) x tau / (tau + delta)``.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Sequence

import simpy

from sim.model.checkpoint import Segment, Split
from sim.model.cluster import Cluster, Failure
from sim.model.ledger import Ledger
from sim.model.process import Event, JobProcess

ONLINE, RECOVERING, WAITING, RESTARTING = "online", "recovering", "waiting", "restarting"
_BUCKET = {RECOVERING: "restart", WAITING: "wait", RESTARTING: "restart"}


def _compute(split: Split) -> float:
    return split.committed + split.memory + split.uncommitted


class ReplicaJob(JobProcess):
    """The job under ``recovery.strategy = "replica"``: one process, one state per replica."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        ledger: Ledger,
        segment: Segment,
        unit_gpus: int,
        slots_per_unit: int,
        stall_s: float,
        restart_s: float,
        detect_s: list[float],
        mode_names: list[str],
        job_targets: Sequence[float],
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.ledger = ledger
        self.segment = segment
        self.unit_gpus = unit_gpus
        self.slots_per_unit = slots_per_unit
        self.units = ledger.gpus // unit_gpus
        self.stall_s = stall_s
        self.restart_s = restart_s
        self.detect_s = detect_s
        self.mode_names = mode_names
        self.job_targets = job_targets
        self._job_failures = 0
        self.state = [ONLINE] * self.units
        self.waiting: dict[int, None] = {}  # replicas waiting for nodes, in the order they began
        self.cause = [""] * self.units
        self._version = [0] * self.units
        self._heap: list[tuple[float, int, int]] = []
        self.online = self.units
        self.offline_gpus: defaultdict[tuple[str, str], int] = defaultdict(int)  # (bucket, cause) -> GPUs
        self.detect_until = 0.0
        self.stall_until = 0.0
        self.stall_cause = ""
        self.run_clock = 0.0  # seconds the job has computed or checkpointed
        self.origin = 0.0  # run clock at the checkpoint the current segment started from
        self.pending = 0.0  # GPU-seconds of compute since the last persisted checkpoint
        self.outage = False
        self.last = 0.0
        self.events: list[Event] = [(0.0, "run", "", -1, 0.0)]
        self.process: simpy.Process | None = None

    def _advance(self) -> None:
        self._accrue()
        self._due()

    def _fail(self, failure: Failure) -> None:
        self._accrue()
        self._failed(failure)

    def close(self) -> None:
        """Book every GPU up to the horizon (the current simulation time)."""
        self._accrue()

    # ------------------------------------------------------------------ time

    def _wait(self) -> simpy.Event:
        """Sleep until the next replica is due (or a node for a waiting one); failures interrupt."""
        heap = self._heap
        while heap and heap[0][2] != self._version[heap[0][1]]:
            heapq.heappop(heap)
        t = heap[0][0] if heap else math.inf
        if self.waiting:
            t = min(t, self.cluster.next_return())
        return self.env.event() if math.isinf(t) else self.env.timeout(max(0.0, t - self.env.now))

    def _accrue(self) -> None:
        now, led = self.env.now, self.ledger
        dt = now - self.last
        if dt <= 0:
            return
        for (bucket, cause), gpus in self.offline_gpus.items():
            if gpus:
                led.add(bucket, dt, gpus=gpus, cause=cause)
        g = self.online * self.unit_gpus
        if g:
            detect = min(max(self.detect_until - self.last, 0.0), dt)
            stall = min(max(self.stall_until - self.last, 0.0), dt) - detect
            led.add("detect", detect, gpus=g, cause=self.stall_cause)
            led.add("restart", stall, gpus=g, cause=self.stall_cause)
            running = dt - detect - stall
            if running > 0:
                x0 = self.run_clock - self.origin
                s0, s1 = self.segment.split(x0), self.segment.split(x0 + running)
                compute = _compute(s1) - _compute(s0)
                led.add("useful", compute, gpus=g)
                led.add("checkpoint", s1.checkpoint - s0.checkpoint, gpus=g)
                # What a total outage would roll back: compute since the last persisted checkpoint.
                self.pending = g * s1.uncommitted if s1.persisted > s0.persisted else self.pending + g * compute
                self.run_clock += running
        self.last = now

    # ------------------------------------------------------------------ replicas

    def _set(self, unit: int, state: str, until: float = math.inf, cause: str | None = None) -> None:
        old = self.state[unit]
        self.waiting.pop(unit, None)
        if state == WAITING:
            self.waiting[unit] = None
        if old == ONLINE:
            self.online -= 1
        else:
            self.offline_gpus[(_BUCKET[old], self.cause[unit])] -= self.unit_gpus
        if cause is not None:
            self.cause[unit] = cause
        self.state[unit] = state
        self._version[unit] += 1
        if state == ONLINE:
            self.online += 1
        else:
            self.offline_gpus[(_BUCKET[state], self.cause[unit])] += self.unit_gpus
        if not math.isinf(until):
            heapq.heappush(self._heap, (until, unit, self._version[unit]))

    def _unit_of(self, failure: Failure) -> int:
        if failure.slot >= 0:
            return failure.slot // self.slots_per_unit
        u = self.job_targets[self._job_failures]
        self._job_failures += 1
        return min(int(u * self.units), self.units - 1)

    def _failed(self, failure: Failure) -> None:
        now = self.env.now
        name = self.mode_names[failure.mode]
        unit = self._unit_of(failure)
        self.ledger.interrupted(name)
        back = now + self.detect_s[failure.mode] + self.stall_s
        self.detect_until = max(self.detect_until, now + self.detect_s[failure.mode])
        self.stall_until = max(self.stall_until, back)
        self.stall_cause = name
        was_online = self.state[unit] == ONLINE
        self._set(unit, RECOVERING, back, cause=name)
        lost = 0.0
        if was_online and self.online == 0 and not self.outage:
            # No replica holds the model any more: back to the last persisted checkpoint.
            lost = self.pending
            self.ledger.add("useful", -lost, gpus=1)
            self.ledger.add("lost", lost, gpus=1, cause=name)
            self.pending = 0.0
            self.outage = True
        self.events.append((now, "failure", name, failure.node, lost / 3600.0))

    def _due(self) -> None:
        now = self.env.now
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, unit, version = heapq.heappop(heap)
            if version != self._version[unit]:
                continue
            if self.state[unit] == RECOVERING:
                self._try_restart(unit)
            elif self.state[unit] == RESTARTING:
                self._set(unit, ONLINE)
                self.events.append((now, "replica_online", self.cause[unit], unit, 0.0))
                if self.outage:
                    self.origin, self.outage = self.run_clock, False
        for unit in list(self.waiting):
            self._try_restart(unit)

    def _try_restart(self, unit: int) -> None:
        first, last = unit * self.slots_per_unit, (unit + 1) * self.slots_per_unit
        missing = [s for s in self.cluster.vacant if first <= s < last]
        if not missing or self.cluster.fill(missing):
            self._set(unit, RESTARTING, self.env.now + self.restart_s)
        elif self.state[unit] != WAITING:
            self._set(unit, WAITING)

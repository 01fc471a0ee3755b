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
is ``lost``. Stragglers and the time of day slow every replica alike (the replicas step together),
and planned maintenance stops them all: the job checkpoints, every replica waits out the window
and restarts.

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

from sim.model.causes import CorruptionFound, Failure, MaintenanceDue
from sim.model.checkpoint import Split
from sim.model.cluster import Cluster
from sim.model.ledger import Ledger
from sim.model.process import EVENT_ROWS, JobProcess
from sim.model.spec import JobSpec
from sim.model.speed import Rhythm
from sim.model.states import ReplicaState

ONLINE, RECOVERING, WAITING, RESTARTING, MAINTENANCE = (
    ReplicaState.ONLINE,
    ReplicaState.RECOVERING,
    ReplicaState.WAITING,
    ReplicaState.RESTARTING,
    ReplicaState.MAINTENANCE,
)


def _compute(split: Split) -> float:
    return split.committed + split.memory + split.uncommitted


class ReplicaJob(JobProcess):
    """The job under ``recovery.strategy = "replica"``: one process, one state per replica."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        ledger: Ledger,
        spec: JobSpec,
        job_targets: Sequence[float],
        event_rows: int = EVENT_ROWS,
    ) -> None:
        super().__init__(env, cluster, ledger, spec, event_rows)
        self.unit_gpus = spec.unit_gpus
        self.units = spec.gpus // spec.unit_gpus
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
        self.maintenance_until = 0.0
        self.run_clock = 0.0  # seconds the job has computed or checkpointed
        self.origin = 0.0  # run clock at the checkpoint the current segment started from
        self.pending = 0.0  # useful GPU-seconds since the last persisted checkpoint
        self.outage = False
        self.last = 0.0
        self.final_left: float | None = None  # the final save's computing time still to go, once the target is met
        self._finishing = False  # the pending timer is the target's (or the final save's end)
        self.log.add((0.0, "run", "", -1, 0.0))

    # ------------------------------------------------------------------ skeleton

    def timer(self) -> simpy.Event:
        """Sleep until the next replica is due (or a node for a waiting one); causes interrupt."""
        heap = self._heap
        while heap and heap[0][2] != self._version[heap[0][1]]:
            heapq.heappop(heap)
        t = heap[0][0] if heap else math.inf
        if self.waiting:
            t = min(t, self.cluster.next_return())
        if self.target is not None:
            finish = self._finish_time()
            self._finishing = finish <= t
            t = min(t, finish)
        return self.env.event() if math.isinf(t) else self.env.timeout(max(0.0, t - self.env.now))

    def timer_done(self) -> None:
        self._accrue()
        if self._finishing:
            self._finishing = False
            if self.final_left is None:
                # The work reaches the target: the online replicas stop computing and write the final checkpoint.
                self.final_left = self.spec.final_write_s
                self.log.add((self.env.now, "final_save", "", -1, 0.0))
            else:
                self.final_left, self.pending = None, 0.0
                self.finished()
                return
        self._due()

    def _finish_time(self) -> float:
        """When the target is reached, or the final save is done, if nothing interrupts; ``inf``: not before
        the horizon, or no replica online."""
        now = self.env.now
        if self.online == 0:
            return math.inf
        since = max(now, self.detect_until, self.stall_until)  # the whole job is paused until then
        if self.final_left is not None:
            return since + self.final_left
        self._accrue()
        x0 = self.run_clock - self.origin
        rhythm = Rhythm(since - x0, self.segment.cycle_s, self.segment.interval_s)
        return self.reach_time(self.ledger.gpu_seconds["useful"], self.online * self.unit_gpus, rhythm, since, now)

    def failed(self, failure: Failure) -> None:
        self._accrue()
        mode = self.spec.modes[failure.mode]
        self._failed(failure, mode.name, mode.detect_s)

    def speed_changes(self) -> None:
        self._accrue()  # the time so far is booked at the speed it had

    def corruption_found(self, found: CorruptionFound) -> None:
        raise NotImplementedError("silent data corruption is refused with replica recovery (sim.config.checks)")

    def maintenance_due(self, due: MaintenanceDue) -> None:
        """The job checkpoints and every replica stops for the window; after it, each restarts."""
        self._accrue()
        now = self.env.now
        self.maintenance_until = now + due.seconds
        self.pending, self.origin = 0.0, self.run_clock
        self.final_left = None  # the window's checkpoint saved the work; after it, the final save starts over
        self.ledger.planned += 1
        for unit in range(self.units):
            self._set(unit, MAINTENANCE, self.maintenance_until, cause="")
        self.log.add((now, "maintenance", "", -1, 0.0))

    def close(self) -> None:
        """Book every GPU up to the horizon (the current simulation time); a finished run is booked."""
        if self.finished_at is None:
            self._accrue()

    # ------------------------------------------------------------------ time

    def _accrue(self) -> None:
        now, led = self.env.now, self.ledger
        dt = now - self.last
        if dt <= 0:
            return
        last, spans = self.last, self.spans
        for (bucket, cause), gpus in self.offline_gpus.items():
            if gpus:
                led.add(bucket, dt, gpus=gpus, cause=cause)
                spans.still(last, now, bucket, gpus)
        g = self.online * self.unit_gpus
        if g:
            detect = min(max(self.detect_until - last, 0.0), dt)
            stall = min(max(self.stall_until - last, 0.0), dt) - detect
            led.add("detect", detect, gpus=g, cause=self.stall_cause)
            led.add("restart", stall, gpus=g, cause=self.stall_cause)
            spans.still(last, last + detect, "detect", g)
            spans.still(last + detect, last + detect + stall, "restart", g)
            running = dt - detect - stall
            if running > 0 and self.final_left is not None:
                led.add("checkpoint", running, gpus=g)
                spans.still(now - running, now, "checkpoint", g)
                self.final_left = max(0.0, self.final_left - running)
            elif running > 0:
                # The start as the still spans' end: ``now - running`` can miss it by an ulp.
                self._computed(g, running, last + detect + stall, now)
        self.last = now

    def _computed(self, g: int, running: float, t0: float, t1: float) -> None:
        """Book ``running`` seconds of the online replicas' computing, ending at ``t1``."""
        led = self.ledger
        x0 = self.run_clock - self.origin
        s0, s1 = self.segment.split(x0), self.segment.split(x0 + running)
        compute = g * (_compute(s1) - _compute(s0))
        led.add("useful", compute, gpus=1)
        led.add("checkpoint", s1.checkpoint - s0.checkpoint, gpus=g)
        # The segment's checkpoint rhythm, placed in wall time: run clock x0 is at t0.
        rhythm = Rhythm(t0 - x0, self.segment.cycle_s, self.segment.interval_s)
        self.spans.run(t0, t1, g, rhythm.start)
        slowed = self.book_slow(g, rhythm, t0, t1) if compute > 0 else 0.0
        # What a total outage would roll back: useful work since the last persisted checkpoint.
        if s1.persisted > s0.persisted:
            since = rhythm.start + s1.persisted * rhythm.cycle
            self.pending = g * (s1.memory + s1.uncommitted) - g * self.slow_seconds(rhythm, since, t1)
        else:
            self.pending += compute - slowed
        self.run_clock += running

    # ------------------------------------------------------------------ replicas

    def _set(self, unit: int, state: ReplicaState, until: float = math.inf, cause: str | None = None) -> None:
        old = self.state[unit]
        self.waiting.pop(unit, None)
        if state is WAITING:
            self.waiting[unit] = None
        if old is ONLINE:
            self.online -= 1
        else:
            self.offline_gpus[(old.bucket, self.cause[unit])] -= self.unit_gpus  # type: ignore[index]
        if cause is not None:
            self.cause[unit] = cause
        self.state[unit] = state
        self._version[unit] += 1
        if state is ONLINE:
            self.online += 1
        else:
            self.offline_gpus[(state.bucket, self.cause[unit])] += self.unit_gpus  # type: ignore[index]
        if not math.isinf(until):
            heapq.heappush(self._heap, (until, unit, self._version[unit]))

    def _unit_of(self, failure: Failure) -> int:
        if failure.slot >= 0:
            return failure.slot // self.spec.slots_per_unit
        u = self.job_targets[self._job_failures]
        self._job_failures += 1
        return min(int(u * self.units), self.units - 1)

    def _failed(self, failure: Failure, name: str, detect_s: float) -> None:
        now = self.env.now
        unit = self._unit_of(failure)
        self.ledger.interrupted(name)
        # During planned maintenance nothing runs: the replica recovers once the window is over.
        back = max(now + detect_s + self.spec.stall_s, self.maintenance_until)
        self.detect_until = max(self.detect_until, now + detect_s)
        self.stall_until = max(self.stall_until, now + detect_s + self.spec.stall_s)
        self.stall_cause = name
        was_online = self.state[unit] is ONLINE
        self._set(unit, RECOVERING, back, cause=name)
        lost = 0.0
        if was_online and self.online == 0 and not self.outage:
            # No replica holds the model any more: back to the last persisted checkpoint.
            lost = self.pending
            self.ledger.add("useful", -lost, gpus=1)
            self.ledger.add("lost", lost, gpus=1, cause=name)
            self.pending = 0.0
            self.outage = True
            self.final_left = None  # the work is rolled back: the target is not met any more
        self.log.add((now, "failure", name, failure.node, lost / 3600.0))

    def _due(self) -> None:
        now = self.env.now
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, unit, version = heapq.heappop(heap)
            if version != self._version[unit]:
                continue
            state = self.state[unit]
            if state is RECOVERING or state is MAINTENANCE:
                self._try_restart(unit)
            elif state is RESTARTING:
                self._set(unit, ONLINE)
                self.log.add((now, "replica_online", self.cause[unit], unit, 0.0))
                if self.outage:
                    self.origin, self.outage = self.run_clock, False
        for unit in list(self.waiting):
            self._try_restart(unit)

    def _try_restart(self, unit: int) -> None:
        if self.env.now < self.maintenance_until:
            return  # a replica waiting for nodes restarts after the window, with the others
        per = self.spec.slots_per_unit
        first, last = unit * per, (unit + 1) * per
        missing = [s for s in self.cluster.vacant if first <= s < last]
        if not missing or self.cluster.fill(missing):
            self._set(unit, RESTARTING, self.env.now + self.spec.restart_s)
        elif self.state[unit] is not WAITING:
            self._set(unit, WAITING)

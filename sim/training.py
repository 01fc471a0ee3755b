"""SimPy: the training job: run, fail, detect, wait for nodes, restart, run again.

The job is synchronous: every GPU computes or none does. It runs segments of *compute
``interval``, write checkpoint*; a failure (delivered by ``Cluster.watch`` as an interrupt) loses
the compute since the last completed write, then the job spends the mode's detection delay, waits
until the pool can fill its missing nodes, and restarts; a failure during a restart starts it over.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy

from sim.checkpoint import Segment
from sim.cluster import Cluster, Failure
from sim.ledger import Ledger

RUN, DETECT, WAIT, RESTART, MAINT = "run", "detect", "wait", "restart", "maintenance"

#: One row of the event log: time (s), kind, cause, node (-1: none), lost GPU-hours.
Event = tuple[float, str, str, int, float]


class Job:
    """The job process and its ledger bookkeeping."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        ledger: Ledger,
        segment: Segment,
        restart_s: float,
        detect_s: list[float],
        mode_names: list[str],
        memory_restart_s: float | None = None,
        shrink_unit_slots: int = 0,
        maintenance: tuple[float, float] | None = None,
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.ledger = ledger
        self.segment = segment
        self.restart_s = restart_s
        # Method memory: restarts restore from peers' memory unless the failure destroyed the copy.
        self.memory_restart_s = memory_restart_s
        # Strategy shrink: units (replicas) of this many job slots can be dropped while nodes are short.
        self.unit_slots = shrink_unit_slots
        self.unit_gpus = shrink_unit_slots * (ledger.gpus // max(1, cluster.job_nodes))
        self.dropped: dict[int, None] = {}
        # Planned maintenance: every maint_every_s the job checkpoints and stops for maint_s.
        self.maint_every_s, self.maint_s = maintenance if maintenance else (math.inf, 0.0)
        self.next_maint = self.maint_every_s
        self.maint_end = math.inf
        self.restart_end = math.inf
        self.drop_cause = ""
        self.tentative = 0.0  # GPU-seconds of compute saved only in memory (or not at all), kept for now
        self.taken = 0  # checkpoints in the state the current segment started from
        self.saved = 0  # the last persisted one among them
        self.lost_slots: set[int] = set()  # job positions lost since the last successful restart
        self.copy_lost = False
        self.detect_s = detect_s
        self.mode_names = mode_names
        self.state = RUN
        self.since = 0.0
        self.cause = ""
        self.detect_end = 0.0
        self.events: list[Event] = [(0.0, RUN, "", -1, 0.0)]
        self.process: simpy.Process | None = None

    def start(self) -> simpy.Process:
        self.process = self.env.process(self.run())
        return self.process

    def run(self) -> Generator[simpy.Event, Any, None]:
        """The job's life: wait in the current state until it ends or a failure interrupts it."""
        while True:
            try:
                yield self._wait()
                self._advance()
            except simpy.Interrupt as irq:
                assert isinstance(irq.cause, Failure)
                self._fail(irq.cause)

    def _wait(self) -> simpy.Event:
        env = self.env
        if self.state == MAINT:
            return env.timeout(self.maint_end - env.now)
        if self.state == DETECT:
            t = self.detect_end
        elif self.state == RESTART:
            t = self.restart_end
        elif self.state == WAIT or (self.state == RUN and self.dropped):
            t = self.cluster.next_return()
        else:
            t = math.inf  # running: only a failure, maintenance or the horizon ends it
        t = min(t, self.next_maint)
        return env.event() if math.isinf(t) else env.timeout(t - env.now)

    def _advance(self) -> None:
        if self.env.now >= self.next_maint and self.state != MAINT:
            self._maintain()  # planned maintenance preempts whatever the job is doing
        elif self.state in (DETECT, WAIT, MAINT):
            if self.cluster.acquire():
                self.dropped.clear()
                self._enter(RESTART)
            elif self.unit_slots and self._shrink():
                self._enter(RESTART)
            else:
                self._enter(WAIT)
        elif self.state == RESTART:
            self._enter(RUN)
        elif self.state == RUN:
            back = self._rejoinable()
            if back:
                # Replicas rejoin: the job keeps its state (no rollback) but re-forms, which costs a restart.
                self._book(pause=True)
                for unit, slots in back.items():
                    self.cluster.fill(slots)
                    del self.dropped[unit]
                self._enter(RESTART, booked=True)

    # ------------------------------------------------------------------ strategy shrink

    def _vacant_by_unit(self) -> dict[int, list[int]]:
        units: dict[int, list[int]] = {}
        for slot in self.cluster.vacant:
            units.setdefault(slot // self.unit_slots, []).append(slot)
        return dict(sorted(units.items()))

    def _shrink(self) -> bool:
        """Fill whole units from the pool, in order, and drop the rest; False if no unit is left."""
        self.dropped.clear()
        spare = len(self.cluster.pool_now())
        for unit, slots in self._vacant_by_unit().items():
            if len(slots) <= spare:
                self.cluster.fill(slots)
                spare -= len(slots)
            else:
                self.dropped[unit] = None
        self.drop_cause = self.cause
        return len(self.dropped) < self.ledger.gpus // self.unit_gpus

    def _rejoinable(self) -> dict[int, list[int]]:
        """Dropped units that the free spare nodes can complete now, in order, with their slots."""
        vacant = self._vacant_by_unit()
        spare = len(self.cluster.pool_now())
        back: dict[int, list[int]] = {}
        for unit in self.dropped:
            slots = vacant.get(unit, [])
            if len(slots) <= spare:
                back[unit] = slots
                spare -= len(slots)
        return back

    def _fail(self, failure: Failure) -> None:
        name = self.mode_names[failure.mode]
        if failure.replace and failure.slot >= 0:
            # Each node's memory copy lives on its pair partner (slots 2i and 2i+1): both gone, copy gone.
            if failure.slot ^ 1 in self.lost_slots and self.memory_restart_s is not None and not self.copy_lost:
                self.copy_lost = True
                if self.state != RUN:  # already down: the memory-only work kept for the restore is gone
                    self.ledger.add("lost", self.tentative, gpus=1, cause=name)
                    self.tentative = 0.0
                    self.taken = self.saved
            self.lost_slots.add(failure.slot)
        dropped_unit = self.unit_slots and failure.slot >= 0 and failure.slot // self.unit_slots in self.dropped
        if self.state not in (RUN, RESTART) or dropped_unit:
            # Already down, or on a replica left out: a lost node adds to the nodes to replace.
            self.events.append((failure.time, "failure_while_down", name, failure.node, 0.0))
            return
        self.ledger.interrupted(name)
        lost = self._book(failing=True, new_cause=name)
        self.events.append((failure.time, "failure", name, failure.node, lost / 3600.0))
        self.detect_end = self.env.now + self.detect_s[failure.mode]
        self._enter(DETECT, booked=True)

    def _book(self, failing: bool = False, new_cause: str | None = None, pause: bool = False) -> float:
        """Book the time since entering the current state; return the GPU-seconds rolled back.

        ``pause``: the run stops without a failure (replicas rejoin); unsaved work is kept for later.
        """
        now = self.env.now
        elapsed = now - self.since
        lost = 0.0
        led = self.ledger
        if self.state == RUN:
            out = len(self.dropped) * self.unit_gpus
            g = led.gpus - out
            if out:
                led.add("wait", elapsed, gpus=out, cause=self.drop_cause)
            split = self.segment.split(elapsed, self.taken)
            if split.persisted:
                # A persisted checkpoint holds everything before it, memory-only work included.
                led.add("useful", self.tentative, gpus=1)
                self.tentative = 0.0
            led.add("useful", split.committed, gpus=g)
            led.add("checkpoint", split.checkpoint, gpus=g)
            if pause:
                self.tentative += (split.memory + split.uncommitted) * g
                self.taken += split.snapshots
                if split.persisted:
                    self.saved = self.taken - split.snapshots + split.persisted
            elif not failing:
                led.add("useful", self.tentative, gpus=1)  # survives to the end
                led.add("useful", split.memory + split.uncommitted, gpus=g)
                self.tentative = 0.0
            elif self.memory_restart_s is not None and not self.copy_lost:
                # Restored from the last snapshot in memory: the count of checkpoints goes on from it.
                self.tentative += split.memory * g
                self.taken += split.snapshots
                if split.persisted:
                    self.saved = self.taken - split.snapshots + split.persisted
                led.add("lost", split.uncommitted, gpus=g, cause=new_cause)
                lost = split.uncommitted * g
            else:
                rolled_back = self.tentative + (split.memory + split.uncommitted) * g
                if split.persisted:
                    self.saved = self.taken + split.persisted
                self.taken = self.saved  # restored from the last persisted checkpoint
                self.tentative = 0.0
                led.add("lost", rolled_back, gpus=1, cause=new_cause)
                lost = rolled_back
        else:
            led.add(self.state, elapsed, cause=self.cause)
        self.since = now
        if new_cause is not None:
            self.cause = new_cause
        return lost

    def _maintain(self) -> None:
        """Checkpoint (work in progress is saved, not lost) and stop for the maintenance window."""
        if self.state == RUN:
            self._book(pause=True)
            self.ledger.add("useful", self.tentative, gpus=1)
            self.tentative = 0.0
            self.saved = self.taken
        else:
            self._book()
        self.ledger.planned += 1
        self.maint_end = self.env.now + self.maint_s
        self.next_maint += self.maint_every_s
        self._enter(MAINT, booked=True)

    def _enter(self, state: str, booked: bool = False) -> None:
        if not booked:
            self._book()
        if state == RESTART:
            from_memory = self.memory_restart_s is not None and not self.copy_lost
            self.restart_end = self.env.now + (self.memory_restart_s if from_memory else self.restart_s)  # type: ignore[operator]
        if state == RUN:
            # The restored state is replicated again: earlier losses no longer threaten it.
            self.lost_slots.clear()
            self.copy_lost = False
        self.state = state
        self.events.append((self.env.now, state, self.cause, -1, 0.0))

    def close(self) -> None:
        """Book the last state up to the horizon (the current simulation time)."""
        self._book()

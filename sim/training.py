"""SimPy: the training job: run, fail, detect, wait for nodes, restart, run again.

The job is synchronous: every GPU computes or none does. It runs segments of *compute
``interval``, write checkpoint*; a failure (delivered by ``Cluster.watch`` as an interrupt) loses
the compute since the last completed write, then the job spends the mode's detection delay, waits
until the pool can fill its missing nodes, and restarts; a failure during a restart starts it over.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from sim.checkpoint import Segment
from sim.cluster import Cluster, Failure
from sim.ledger import Ledger

RUN, DETECT, WAIT, RESTART = "run", "detect", "wait", "restart"

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
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.ledger = ledger
        self.segment = segment
        self.restart_s = restart_s
        # Method memory: restarts restore from peers' memory unless the failure destroyed the copy.
        self.memory_restart_s = memory_restart_s
        self.tentative = 0.0  # compute saved only in memory, not yet persisted (wall seconds)
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
        if self.state == DETECT:
            return env.timeout(self.detect_end - env.now)
        if self.state == RESTART:
            from_memory = self.memory_restart_s is not None and not self.copy_lost
            return env.timeout(self.memory_restart_s if from_memory else self.restart_s)  # type: ignore[arg-type]
        if self.state == WAIT:
            t = self.cluster.next_return()
            if t != float("inf"):
                return env.timeout(t - env.now)
        return env.event()  # running (or waiting for nothing): only a failure or the horizon ends it

    def _advance(self) -> None:
        if self.state in (DETECT, WAIT):
            self._enter(RESTART if self.cluster.acquire() else WAIT)
        elif self.state == RESTART:
            self._enter(RUN)

    def _fail(self, failure: Failure) -> None:
        name = self.mode_names[failure.mode]
        if failure.replace and failure.slot >= 0:
            # Each node's memory copy lives on its pair partner (slots 2i and 2i+1): both gone, copy gone.
            if failure.slot ^ 1 in self.lost_slots and self.memory_restart_s is not None and not self.copy_lost:
                self.copy_lost = True
                if self.state != RUN:  # already down: the memory-only work kept for the restore is gone
                    self.ledger.add("lost", self.tentative, cause=name)
                    self.tentative = 0.0
                    self.taken = self.saved
            self.lost_slots.add(failure.slot)
        if self.state not in (RUN, RESTART):
            # Already down: a lost node adds to the nodes to replace; nothing else is lost.
            self.events.append((failure.time, "failure_while_down", name, failure.node, 0.0))
            return
        self.ledger.interrupted(name)
        lost = self._book(failing=True, new_cause=name)
        self.events.append((failure.time, "failure", name, failure.node, lost / 3600.0))
        self.detect_end = self.env.now + self.detect_s[failure.mode]
        self._enter(DETECT, booked=True)

    def _book(self, failing: bool = False, new_cause: str | None = None) -> float:
        """Book the time since entering the current state; return the GPU-seconds rolled back."""
        now = self.env.now
        elapsed = now - self.since
        lost = 0.0
        led = self.ledger
        if self.state == RUN:
            split = self.segment.split(elapsed, self.taken)
            if split.persisted:
                # A persisted checkpoint holds everything before it, memory-only work included.
                led.add("useful", self.tentative)
                self.tentative = 0.0
            led.add("useful", split.committed)
            led.add("checkpoint", split.checkpoint)
            if not failing:
                led.add("useful", self.tentative + split.memory + split.uncommitted)  # survives to the end
                self.tentative = 0.0
            elif self.memory_restart_s is not None and not self.copy_lost:
                # Restored from the last snapshot in memory: the count of checkpoints goes on from it.
                self.tentative += split.memory
                self.taken += split.snapshots
                if split.persisted:
                    self.saved = self.taken - split.snapshots + split.persisted
                led.add("lost", split.uncommitted, cause=new_cause)
                lost = split.uncommitted * led.gpus
            else:
                rolled_back = self.tentative + split.memory + split.uncommitted
                if split.persisted:
                    self.saved = self.taken + split.persisted
                self.taken = self.saved  # restored from the last persisted checkpoint
                self.tentative = 0.0
                led.add("lost", rolled_back, cause=new_cause)
                lost = rolled_back * led.gpus
        else:
            led.add(self.state, elapsed, cause=self.cause)
        self.since = now
        if new_cause is not None:
            self.cause = new_cause
        return lost

    def _enter(self, state: str, booked: bool = False) -> None:
        if not booked:
            self._book()
        if state == RUN:
            # The restored state is replicated again: earlier losses no longer threaten it.
            self.lost_slots.clear()
            self.copy_lost = False
        self.state = state
        self.events.append((self.env.now, state, self.cause, -1, 0.0))

    def close(self) -> None:
        """Book the last state up to the horizon (the current simulation time)."""
        self._book()

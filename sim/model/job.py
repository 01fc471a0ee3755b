"""SimPy: the training job: run, fail, detect, wait for nodes, restart, run again.

The job is synchronous: every GPU computes or none does. It runs segments of *compute
``interval``, write checkpoint*; a failure (delivered by ``Cluster.watch`` as an interrupt) loses
the compute since the last completed write, then the job spends the mode's detection delay, waits
until the pool can fill its missing nodes, and restarts; a failure during a restart starts it over.
"""

from __future__ import annotations

import heapq
import math

import simpy

from sim.model.checkpoint import Segment
from sim.model.cluster import Cluster, Failure
from sim.model.ledger import Ledger
from sim.model.process import Event, JobProcess
from sim.model.speed import Stragglers, diurnal_loss

RUN, DETECT, WAIT, RESTART, MAINT = "run", "detect", "wait", "restart", "maintenance"



class Job(JobProcess):
    """The job process under the restart and shrink strategies, and its ledger bookkeeping."""

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
        late_s: list[float] | None = None,
        keep: int | None = None,
        slow_speed: list[float | None] | None = None,
        diurnal: float = 0.0,
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
        # Silent failures (data corruption): found late_s after they strike, then the job rolls back
        # to the last checkpoint persisted before the corruption, if one of the ``keep`` is that old.
        self.late_s = late_s or [0.0] * len(mode_names)
        self.keep = keep
        self.alarms: list[tuple[float, float, int]] = []  # (found, struck, mode)
        # Per run segment: start, end, useful GPU-s at start, GPUs, checkpoint number at start, and at the end.
        self.history: list[list[float]] = [[0.0, math.nan, 0.0, ledger.gpus, 0, math.nan, math.nan]]
        self.beyond_history = 0
        # Throughput: stragglers (action slow) until hot-swapped at detection, and the time of day.
        self.slow_speed = slow_speed or [None] * len(mode_names)
        self.diurnal = diurnal
        self.stragglers = Stragglers()
        self.swaps: list[tuple[float, int, int]] = []  # (due, node, straggler handle)
        self.drop_cause = ""
        self.tentative = 0.0  # GPU-seconds of compute saved only in peers' memory, not yet persisted
        self.paused = 0.0  # GPU-seconds of compute carried over a rejoin pause, saved nowhere yet
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
        t = min(t, self.next_maint, self.alarms[0][0] if self.alarms else math.inf)
        t = min(t, self.swaps[0][0] if self.swaps else math.inf)
        return env.event() if math.isinf(t) else env.timeout(t - env.now)

    def _advance(self) -> None:
        if self.swaps and self.env.now >= self.swaps[0][0]:
            _, node, handle = heapq.heappop(self.swaps)
            if self.cluster.swap(node):
                self.stragglers.end_of(handle, self.env.now)
                self.events.append((self.env.now, "swap", self.stragglers.spans[handle].cause, node, 0.0))
            else:  # no spare free: the job keeps the straggler until one is back
                heapq.heappush(self.swaps, (self.cluster.next_return(), node, handle))
        elif self.alarms and self.env.now >= self.alarms[0][0]:
            _, struck, mode = heapq.heappop(self.alarms)
            self._corrupted(struck, mode)
        elif self.env.now >= self.next_maint and self.state != MAINT:
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
        speed = self.slow_speed[failure.mode]
        if speed is not None:
            # A straggler: the synchronous job now runs at its speed until it is found and swapped.
            handle = self.stragglers.add(self.env.now, speed, name)
            heapq.heappush(self.swaps, (self.env.now + self.detect_s[failure.mode], failure.node, handle))
            self.events.append((failure.time, "straggler", name, failure.node, 0.0))
            return
        if self.late_s[failure.mode] > 0:
            # Silent: the job computes on; only work done while computing is corrupted.
            if self.state == RUN:
                heapq.heappush(self.alarms, (self.env.now + self.late_s[failure.mode], self.env.now, failure.mode))
                self.events.append((failure.time, "corruption", name, failure.node, 0.0))
            return
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
        if self.state != RUN:
            lost += self._drop_unsaved(name)
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
            useful_before = led.gpu_seconds["useful"]
            released = 0.0  # memory-only work from earlier segments that becomes useful now
            out = len(self.dropped) * self.unit_gpus
            g = led.gpus - out
            if out:
                led.add("wait", elapsed, gpus=out, cause=self.drop_cause)
            split = self.segment.split(elapsed, self.taken)
            if split.persisted:
                # A persisted checkpoint holds everything before it, memory-only and paused work included.
                released += self._release()
            led.add("useful", split.committed, gpus=g)
            led.add("checkpoint", split.checkpoint, gpus=g)
            if pause:
                self.tentative += split.memory * g
                self.paused += split.uncommitted * g
                self.taken += split.snapshots
                if split.persisted:
                    self.saved = self.taken - split.snapshots + split.persisted
            elif not failing:
                released += self._release()  # survives to the end
                led.add("useful", split.memory + split.uncommitted, gpus=g)
            elif self.memory_restart_s is not None and not self.copy_lost:
                # Restored from the last snapshot in memory: the count of checkpoints goes on from it.
                self.tentative += split.memory * g
                self.taken += split.snapshots
                if split.persisted:
                    self.saved = self.taken - split.snapshots + split.persisted
                lost = split.uncommitted * g + self.paused
                self.paused = 0.0
                led.add("lost", lost, gpus=1, cause=new_cause)
            else:
                rolled_back = self.tentative + self.paused + (split.memory + split.uncommitted) * g
                if split.persisted:
                    self.saved = self.taken + split.persisted
                self.taken = self.saved  # restored from the last persisted checkpoint
                self.tentative = self.paused = 0.0
                led.add("lost", rolled_back, gpus=1, cause=new_cause)
                lost = rolled_back
            if elapsed > 0 and (self.diurnal or self.stragglers.spans):
                # Work done at reduced speed: the lost throughput of this segment's useful compute is slow.
                fresh = led.gpu_seconds["useful"] - useful_before - released
                self._slowed(fresh, self.since, now)
            if self.history:
                seg = self.history[-1]
                seg[1], seg[5], seg[6] = now, led.gpu_seconds["useful"], self.saved
        else:
            led.add(self.state, elapsed, cause=self.cause)
        self.since = now
        if new_cause is not None:
            self.cause = new_cause
        return lost

    def _release(self) -> float:
        """Memory-only and paused work is saved by a persisted checkpoint (or the end): it is useful."""
        kept = self.tentative + self.paused
        self.ledger.add("useful", kept, gpus=1)
        self.tentative = self.paused = 0.0
        return kept

    def _drop_unsaved(self, cause: str) -> float:
        """A failure while the job is not running: paused work is gone, and memory-only work too
        unless the restore will come from peers' memory. Returns the GPU-seconds lost."""
        lost = self.paused
        self.paused = 0.0
        if self.memory_restart_s is None or self.copy_lost:
            lost += self.tentative
            self.tentative = 0.0
            self.taken = self.saved
        self.ledger.add("lost", lost, gpus=1, cause=cause)
        return lost

    def _slowed(self, useful: float, t0: float, t1: float) -> None:
        """Move the share of ``useful`` GPU-seconds lost to stragglers and the time of day to slow."""
        if useful <= 0:
            return
        lost_s, by_cause = self.stragglers.loss(t0, t1)
        lost_d = diurnal_loss(self.diurnal, t0, t1)
        if not lost_s and not lost_d:
            return
        span = t1 - t0
        fs, fd = lost_s / span, lost_d / span
        led = self.ledger
        for cause, secs in by_cause.items():
            led.add("useful", -useful * fs * secs / lost_s, gpus=1)
            led.add("slow", useful * fs * secs / lost_s, gpus=1, cause=cause)
        led.add("useful", -useful * (1 - fs) * fd, gpus=1)
        led.add("slow", useful * (1 - fs) * fd, gpus=1)

    # ------------------------------------------------------------------ silent data corruption

    def _useful_at(self, t: float) -> tuple[float, int]:
        """Useful GPU-seconds and checkpoint number at the last checkpoint persisted by time ``t``."""
        for start, end, u_start, g, n_start, u_end, n_end in reversed(self.history):
            if start <= t:
                if math.isnan(end) or t < end:
                    split = self.segment.split(t - start)
                    return u_start + split.committed * g, int(n_start) + split.persisted
                return u_end, int(n_end)
        return 0.0, 0

    def _corrupted(self, struck: float, mode: int) -> None:
        """A corruption found now: roll back to the last checkpoint persisted before it struck."""
        name = self.mode_names[mode]
        led = self.ledger
        running = self.state == RUN
        if running:
            led.interrupted(name)
            lost = self._book(failing=True, new_cause=name)
        else:
            lost = self._book() + self._drop_unsaved(name)
        target, number = self._useful_at(struck)
        if self.keep is not None and number > 0 and self.saved - number >= self.keep:
            # Every kept checkpoint was written after the corruption: nothing clean to go back to.
            target, number = 0.0, 0
            self.beyond_history += 1
        extra = led.gpu_seconds["useful"] - target
        led.add("useful", -extra, gpus=1)
        led.add("lost", extra + self.tentative, gpus=1, cause=name)
        self.tentative = 0.0
        self.saved = self.taken = number
        self.history = [h for h in self.history if h[0] <= struck]
        self.events.append((self.env.now, "failure", name, -1, (lost + extra) / 3600.0))
        if self.state != MAINT:
            self.cause = name
            self.detect_end = self.env.now
            self._enter(DETECT, booked=True)

    def _maintain(self) -> None:
        """Checkpoint (work in progress is saved, not lost) and stop for the maintenance window."""
        if self.state == RUN:
            self._book(pause=True)
            self._release()
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
            g = self.ledger.gpus - len(self.dropped) * self.unit_gpus
            nan = math.nan
            self.history.append([self.env.now, nan, self.ledger.gpu_seconds["useful"], g, self.saved, nan, nan])
        self.state = state
        self.events.append((self.env.now, state, self.cause, -1, 0.0))

    def close(self) -> None:
        """Book the last state up to the horizon (the current simulation time)."""
        self._book()
        if self.state != RUN:
            self._release()  # the restart under way would restore it: it survives to the end

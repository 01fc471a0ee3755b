"""SimPy: the synchronous training job: run, fail, detect, wait for nodes, restart, run again.

Every GPU computes or none does. The job runs periods of *compute ``interval``, write checkpoint*
(``sim.model.checkpoint``); a failure (a ``Failure`` interrupt from ``Cluster.watch``) ends the
period, and ``sim.model.accounting`` books it: the compute since the last checkpoint it can
restore is lost. Then the job waits out the mode's detection delay (DETECT), regroups its nodes
by its recovery policy (``Restart`` or ``Shrink``; WAIT while nodes are short) and restarts
(RESTART; a failure there starts it over). Planned maintenance and late-found corruption reach it
as interrupts from their own processes (``sim.model.side``); stragglers are swapped out by theirs.
"""

from __future__ import annotations

import math

import simpy

from sim.model.accounting import Carry, Checkpointed, End, Period, close_run, drop_unsaved, last_persisted
from sim.model.causes import CorruptionFound, Failure, MaintenanceDue
from sim.model.checkpoint import Split
from sim.model.cluster import Cluster
from sim.model.ledger import Ledger
from sim.model.process import EVENT_ROWS, JobProcess
from sim.model.side import corruption_alarm
from sim.model.spec import JobSpec
from sim.model.speed import Rhythm
from sim.model.states import JobState

RUN, DETECT, WAIT, RESTART, MAINTENANCE, FINAL = (
    JobState.RUN,
    JobState.DETECT,
    JobState.WAIT,
    JobState.RESTART,
    JobState.MAINTENANCE,
    JobState.FINAL,
)


class Restart:
    """Recovery policy ``restart``: the job restarts only with all its nodes, and waits for them otherwise."""

    cause = ""  # what left units out
    out_gpus = 0  # GPUs of the job left out while it runs

    def regroup(self, cluster: Cluster, cause: str) -> bool:
        """Fill the job's vacant positions from the spares; ``False``: too few, wait."""
        return cluster.acquire()

    def is_out(self, slot: int) -> bool:
        """Whether this job position is left out of the running job."""
        return False

    def rejoinable(self, cluster: Cluster) -> dict[int, list[int]]:
        """Units that returned nodes can complete now (``Shrink``); none here."""
        return {}

    def rejoin(self, cluster: Cluster, units: dict[int, list[int]]) -> None:
        """Bring these units back into the job."""


class Shrink(Restart):
    """Recovery policy ``shrink``: with too few spares, restart on the complete data-parallel replicas
    (units) and leave the others out; they rejoin, at the cost of a restart, once nodes return."""

    def __init__(self, unit_slots: int, unit_gpus: int, units: int) -> None:
        self.unit_slots = unit_slots
        self.unit_gpus = unit_gpus
        self.units = units
        self.dropped: dict[int, None] = {}  # units left out, in order

    def _vacant_by_unit(self, cluster: Cluster) -> dict[int, list[int]]:
        units: dict[int, list[int]] = {}
        for slot in cluster.vacant:
            units.setdefault(slot // self.unit_slots, []).append(slot)
        return dict(sorted(units.items()))

    def regroup(self, cluster: Cluster, cause: str) -> bool:
        """Fill whole units from the pool, in order, and leave the rest out; ``False`` if no unit is left."""
        self.dropped.clear()
        self.out_gpus = 0
        if cluster.acquire():
            return True
        spare = len(cluster.pool_now())
        for unit, slots in self._vacant_by_unit(cluster).items():
            if len(slots) <= spare:
                cluster.fill(slots)
                spare -= len(slots)
            else:
                self.dropped[unit] = None
        self.cause = cause
        self.out_gpus = len(self.dropped) * self.unit_gpus
        return len(self.dropped) < self.units

    def is_out(self, slot: int) -> bool:
        return slot >= 0 and slot // self.unit_slots in self.dropped

    def rejoinable(self, cluster: Cluster) -> dict[int, list[int]]:
        """Dropped units that the free spare nodes can complete now, in order, with their slots."""
        if not self.dropped:
            return {}
        vacant = self._vacant_by_unit(cluster)
        spare = len(cluster.pool_now())
        back: dict[int, list[int]] = {}
        for unit in self.dropped:
            slots = vacant.get(unit, [])
            if len(slots) <= spare:
                back[unit] = slots
                spare -= len(slots)
        return back

    def rejoin(self, cluster: Cluster, units: dict[int, list[int]]) -> None:
        for unit, slots in units.items():
            cluster.fill(slots)
            del self.dropped[unit]
        self.out_gpus = len(self.dropped) * self.unit_gpus


class Job(JobProcess):
    """The job process under the restart and shrink strategies, and its ledger bookkeeping."""

    def __init__(
        self, env: simpy.Environment, cluster: Cluster, ledger: Ledger, spec: JobSpec, event_rows: int = EVENT_ROWS
    ) -> None:
        super().__init__(env, cluster, ledger, spec, event_rows)
        self.recovery = (
            Shrink(spec.slots_per_unit, spec.unit_gpus, spec.gpus // spec.unit_gpus)
            if spec.strategy == "shrink"
            else Restart()
        )
        self.state = RUN
        self.since = 0.0  # when the current state began (and was last booked)
        self.until = math.inf  # when a timed state (detect, restart, maintenance) ends
        self.cause = ""  # what the job is recovering from
        self.carry = Carry()
        self.saved_at = 0.0  # when the last persisted checkpoint was complete
        self.periods = [Period(start=0.0, gpus=spec.gpus, taken=0, saved=0, saved_at=0.0, useful=0.0)]
        # Method memory: each node's copy lives on its pair partner (slots 2i and 2i+1); both lost, copy lost.
        self.lost_slots: set[int] = set()
        self.copy_lost = False
        self.alarms: dict[tuple[float, int], simpy.Process] = {}  # pending corruption alarms by (struck, mode)
        self.beyond_history = 0  # corruptions older than every kept checkpoint
        self.log.add((0.0, RUN.word, "", -1, 0.0))
        self._never = env.event()  # the timer of a state only an interrupt ends; never triggered
        self._finishing = False  # the pending timer of the run state is the target's, not a rejoin

    @property
    def from_memory(self) -> bool:
        """Whether the next restart restores from peers' memory rather than storage."""
        return self.spec.memory_restart_s is not None and not self.copy_lost

    # ------------------------------------------------------------------ timer

    def timer(self) -> simpy.Event:
        state, env = self.state, self.env
        if state is RUN:
            finish = self._finish_time() if self.target is not None else math.inf
            if not self.recovery.out_gpus and math.isinf(finish):
                return self._never
            t = self.cluster.next_return() if self.recovery.out_gpus else math.inf  # units left out may rejoin
            self._finishing = finish <= t
            t = min(t, finish)
        elif state is WAIT:
            t = self.cluster.next_return()
        else:
            t = self.until
        # max: a time computed as a sum can fall an ulp short of now when an interrupt lands on it.
        return self._never if math.isinf(t) else env.timeout(max(0.0, t - env.now))

    def timer_done(self) -> None:
        state = self.state
        if state is RESTART:
            self._enter(RUN)
        elif state is FINAL:
            self._book()
            # The final checkpoint holds everything: what was kept aside for it is safe now.
            self.ledger.add("useful", self.carry.tentative + self.carry.paused, gpus=1)
            self.carry = self.carry._replace(tentative=0.0, paused=0.0)
            self.finished()
        elif state is RUN and self._finishing:
            # The work reaches the target: stop computing and write the final checkpoint.
            self._book(End.FINISH)
            self.until = self.env.now + self.spec.final_write_s
            self._enter(FINAL, booked=True)
        elif state is RUN:
            back = self.recovery.rejoinable(self.cluster)
            if back:
                # Units rejoin: the job keeps its state (no rollback) but re-forms, which costs a restart.
                self._book(End.PAUSE)
                self.recovery.rejoin(self.cluster, back)
                self._enter(RESTART, booked=True)
        else:
            self._regroup()

    def _regroup(self, booked: bool = False) -> None:
        """Get nodes back by the recovery policy: restart with them, or wait for more."""
        self._enter(RESTART if self.recovery.regroup(self.cluster, self.cause) else WAIT, booked)

    # ------------------------------------------------------------------ causes

    def failed(self, failure: Failure) -> None:
        mode = self.spec.modes[failure.mode]
        name = mode.name
        env = self.env
        if mode.silent:
            # The job computes on; only work done while computing is corrupted, and only found later.
            if self.state is RUN:
                assert self.process is not None
                alarm = env.process(corruption_alarm(env, self.process, mode.late_s, failure.mode))
                self.alarms[(env.now, failure.mode)] = alarm
                self.log.add((failure.time, "corruption", name, failure.node, 0.0))
            return
        if failure.replace and failure.slot >= 0 and self.spec.memory_restart_s is not None:
            if failure.slot ^ 1 in self.lost_slots and not self.copy_lost:
                self.copy_lost = True
                if self.state is not RUN:  # already down: the memory-only work kept for the restore is gone
                    self.ledger.add("lost", self.carry.tentative, gpus=1, cause=name)
                    self.carry = Carry(0.0, self.carry.paused, self.carry.saved, self.carry.saved)
            self.lost_slots.add(failure.slot)
        state = self.state
        if not (state is RUN or state is RESTART or state is FINAL) or (
            self.recovery.out_gpus and self.recovery.is_out(failure.slot)
        ):
            # Already down, or on a unit left out: a lost node adds to the nodes to replace.
            self.log.add((failure.time, "failure_while_down", name, failure.node, 0.0))
            return
        self.ledger.interrupted(name)
        lost = self._book(End.RESTORE_MEMORY if self.from_memory else End.RESTORE_STORAGE, cause=name)
        if state is not RUN:
            lost += self._drop_unsaved(name)
        self.log.add((failure.time, "failure", name, failure.node, lost / 3600.0))
        if mode.detect_s == 0 and self.cluster.next_failure() > env.now:
            # Noticed at once and nothing else fails at this instant (a rack takes its nodes one by one):
            # regroup now rather than through a zero-length detection.
            self._regroup(booked=True)
        else:
            self.until = env.now + mode.detect_s
            self._enter(DETECT, booked=True)

    def corruption_found(self, found: CorruptionFound) -> None:
        """Roll back to the last checkpoint persisted before the corruption struck, if one is kept."""
        del self.alarms[(found.struck, found.mode)]
        name = self.spec.modes[found.mode].name
        led = self.ledger
        interrupting = self.state is RUN or self.state is RESTART or self.state is FINAL
        if self.state is RUN:
            lost = self._book(End.RESTORE_STORAGE, cause=name)
        else:
            lost = self._book() + self._drop_unsaved(name, restore_from_memory=False)
        target = last_persisted(self.periods, self.segment, found.struck, self._slow_seconds)
        keep = self.spec.keep
        if keep is not None and target.number > 0 and self.carry.saved - target.number >= keep:
            # Every kept checkpoint was written after the corruption: nothing clean to go back to.
            target = Checkpointed(0.0, 0, 0.0)
            self.beyond_history += 1
        extra = led.gpu_seconds["useful"] - target.useful
        led.add("useful", -extra, gpus=1)
        led.add("lost", extra, gpus=1, cause=name)
        self._restored(target)
        if interrupting:
            led.interrupted(name)
        kind = "failure" if interrupting else "failure_while_down"
        self.log.add((self.env.now, kind, name, -1, (lost + extra) / 3600.0))
        if self.state is not MAINTENANCE:
            self.cause = name
            self.until = self.env.now
            self._enter(DETECT, booked=True)

    def maintenance_due(self, due: MaintenanceDue) -> None:
        """Checkpoint (work in progress is saved, not lost) and stop for the maintenance window."""
        if self.state is RUN:
            self._book(End.SAVE)
            self.saved_at = self.env.now
        else:
            self._book()
        self.ledger.planned += 1
        self.until = self.env.now + due.seconds
        self._enter(MAINTENANCE, booked=True)

    def close(self) -> None:
        """Book the last state up to the horizon (the current simulation time); a finished run is booked."""
        if self.finished_at is not None:
            return
        self._book(End.SURVIVE)
        if self.state is not RUN:
            # The restart under way would restore it: it survives to the end.
            self.ledger.add("useful", self.carry.tentative + self.carry.paused, gpus=1)
            self.carry = self.carry._replace(tentative=0.0, paused=0.0)

    # ------------------------------------------------------------------ bookkeeping

    def _book(self, end: End = End.SURVIVE, cause: str | None = None) -> float:
        """Book the time since the current state began; a run period ends as ``end``. Returns GPU-s rolled back."""
        now = self.env.now
        elapsed = now - self.since
        led = self.ledger
        lost = 0.0
        spans = self.spans
        if self.state is RUN:
            out = self.recovery.out_gpus
            if out:
                led.add("wait", elapsed, gpus=out, cause=self.recovery.cause)
                spans.still(self.since, now, "wait", out)
            period = self.periods[-1]
            spans.run(self.since, now, self.spec.gpus - out, period.start)
            split = self.segment.split(elapsed, period.taken)
            postings, self.carry = close_run(split, self.spec.gpus - out, self.carry, end)
            led.add("useful", postings.useful + postings.released, gpus=1)
            led.add("checkpoint", postings.checkpoint, gpus=1)
            lost = postings.lost
            if lost:
                led.add("lost", lost, gpus=1, cause=cause)
            if split.persisted and end is not End.SAVE:
                self.saved_at = period.start + self.segment.persist_offset(split.persisted)
            period.released = postings.released
            period.valid_until = now
            if postings.useful > 0 and (self.spec.diurnal or self.stragglers.spans):
                # Only the work that counts as useful now was slowed here; the rest is lost or carried.
                whole = end is End.SURVIVE or end is End.SAVE
                upto = now if whole else period.start + split.persisted * self.segment.cycle_s
                self.book_slow(self.spec.gpus - out, self._rhythm(period.start), period.start, upto)
            if end is End.FINISH:
                self._slow_carried(split, self.spec.gpus - out, period.start, now)
        elif self.state is FINAL and self.recovery.out_gpus:
            out = self.recovery.out_gpus
            led.add("wait", elapsed, gpus=out, cause=self.recovery.cause)
            led.add("checkpoint", elapsed, gpus=self.spec.gpus - out)
            spans.still(self.since, now, "wait", out)
            spans.still(self.since, now, "checkpoint", self.spec.gpus - out)
        else:
            bucket = self.state.bucket
            assert bucket is not None
            led.add(bucket, elapsed, cause=self.cause)
            spans.still(self.since, now, bucket, self.spec.gpus)
        if self.alarms and end is End.RESTORE_STORAGE:
            self._cancel_alarms(self.saved_at)
        self.since = now
        if cause is not None:
            self.cause = cause
        return lost

    def _finish_time(self) -> float:
        """When the run period's work, with what is done and kept, reaches the target (if nothing interrupts)."""
        period = self.periods[-1]
        held = self.ledger.gpu_seconds["useful"] + self.carry.tentative + self.carry.paused
        gpus = self.spec.gpus - self.recovery.out_gpus
        return self.reach_time(held, gpus, self._rhythm(period.start), period.start, self.env.now)

    def _slow_carried(self, split: Split, gpus: int, start: float, now: float) -> None:
        """Book what slowness took from the work a finish keeps aside (not useful until the final save):
        the carry holds the work itself, net of it, so that the final save adds exactly what was done."""
        if not (self.spec.diurnal or self.stragglers.spans):
            return
        rhythm, cycle = self._rhythm(start), self.segment.cycle_s
        persisted_end = start + split.persisted * cycle
        snapped_end = start + split.snapshots * cycle if split.memory > 0 else persisted_end
        tentative = self.book_slow(gpus, rhythm, persisted_end, snapped_end, from_useful=False)
        paused = self.book_slow(gpus, rhythm, snapped_end, now, from_useful=False)
        c = self.carry
        self.carry = c._replace(tentative=c.tentative - tentative, paused=c.paused - paused)

    def _rhythm(self, start: float) -> Rhythm:
        """The checkpoint rhythm of a run period that began at ``start``."""
        return Rhythm(start, self.segment.cycle_s, self.segment.interval_s)

    def _slow_seconds(self, start: float, upto: float) -> float:
        """Work per GPU lost to slowness in a period's computing from ``start`` to ``upto``."""
        return self.slow_seconds(self._rhythm(start), start, upto)

    def _drop_unsaved(self, cause: str, restore_from_memory: bool | None = None) -> float:
        """A failure while the job is down: what the restore cannot bring back is lost."""
        memory = self.from_memory if restore_from_memory is None else restore_from_memory
        lost, self.carry = drop_unsaved(self.carry, memory)
        self.ledger.add("lost", lost, gpus=1, cause=cause)
        return lost

    def _restored(self, target: Checkpointed) -> None:
        """The job goes back to the persisted checkpoint ``target``: later checkpoints are discarded."""
        self.carry = Carry(0.0, 0.0, target.number, target.number)
        self.saved_at = target.at
        self.periods = [p for p in self.periods if p.start <= target.at]
        for p in self.periods:
            p.valid_until = min(p.valid_until, target.at)
        self._cancel_alarms(target.at)

    def _cancel_alarms(self, restored_at: float) -> None:
        """Corruption that struck after the restored checkpoint was complete went with the work rolled back."""
        for key in [k for k in self.alarms if k[0] >= restored_at]:
            self.alarms.pop(key).interrupt()

    def _enter(self, state: JobState, booked: bool = False) -> None:
        if not booked:
            self._book()
        now = self.env.now
        if state is RESTART:
            self.until = now + (self.spec.memory_restart_s if self.from_memory else self.spec.restart_s)  # type: ignore[operator]
        elif state is RUN:
            # The restored state is replicated again: earlier losses no longer threaten it.
            self.lost_slots.clear()
            self.copy_lost = False
            c = self.carry
            g = self.spec.gpus - self.recovery.out_gpus
            self.periods.append(Period(now, g, c.taken, c.saved, self.saved_at, self.ledger.gpu_seconds["useful"]))
        self.state = state
        self.log.add((now, state.word, self.cause, -1, 0.0))

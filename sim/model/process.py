"""The SimPy skeleton every recovery strategy shares: one process, one timer, typed interruptions.

The job waits for the end of its current state (``timer``); a failure, a corruption alarm or a
maintenance window interrupts the wait with its cause (``sim.model.causes``), and the skeleton
hands each cause to its handler. ``sim.model.job`` (restart and shrink) and ``sim.model.replica``
fill in the rest.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from sim.model.causes import CorruptionFound, Failure, MaintenanceDue, Retime
from sim.model.cluster import Cluster
from sim.model.finish import reach
from sim.model.ledger import Ledger
from sim.model.side import maintenance, straggler_swap
from sim.model.spans import Spans
from sim.model.spec import JobSpec, ModeSpec
from sim.model.speed import Rhythm, Stragglers, slow_loss

#: One row of the event log: time (s), kind, cause, node (-1: none), lost GPU-hours.
Event = tuple[float, str, str, int, float]

#: Rows a replication's event log keeps: ample for any realistic run (the 100k-GPU scenario logs about
#: 12,000), and a bound on memory in a failure storm (about 150 bytes a row).
EVENT_ROWS = 200_000


class EventLog:
    """What happened when, for the timeline and ``events.parquet``: the first ``limit`` rows, and a count
    of the rows past them.

    >>> log = EventLog(limit=2)
    >>> for t in (1.0, 2.0, 3.0):
    ...     log.add((t, "failure", "crash", -1, 0.0))
    >>> len(log.rows), log.dropped
    (2, 1)
    """

    __slots__ = ("dropped", "limit", "rows")

    def __init__(self, limit: int = EVENT_ROWS) -> None:
        self.rows: list[Event] = []
        self.limit = limit
        self.dropped = 0

    def add(self, row: Event) -> None:
        if len(self.rows) < self.limit:
            self.rows.append(row)
        else:
            self.dropped += 1


class JobProcess:
    """Wait in a state until it ends or a cause interrupts it; subclasses say what each means.

    The skeleton owns what every strategy shares: the cluster, the ledger, the job's spec, the
    stragglers slowing it, its event log, and the side processes it starts (maintenance windows).
    """

    def __init__(
        self, env: simpy.Environment, cluster: Cluster, ledger: Ledger, spec: JobSpec, event_rows: int = EVENT_ROWS
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.ledger = ledger
        self.spec = spec
        self.segment = spec.segment
        self.stragglers = Stragglers()
        self.log = EventLog(event_rows)
        self.spans = Spans()  # the same time as the ledger's, in wall-clock spans, for the power trace
        self.process: simpy.Process | None = None
        # A run with a target (run.target_*): ``stop`` fires when the final save is done (the runner
        # stops the simulation on it).
        self.target = spec.target_gs
        self.stop: simpy.Event | None = None
        self.finished_at: float | None = None

    def start(self) -> simpy.Process:
        """Start the job's process, and the maintenance windows that will interrupt it."""
        self.process = self.env.process(self.run())
        if self.spec.maintenance_every_s:
            windows = maintenance(self.env, self.process, self.spec.maintenance_every_s, self.spec.maintenance_s)
            self.env.process(windows)
        return self.process

    def run(self) -> Generator[simpy.Event, Any, None]:
        """The job's life: wait for the current state's timer, or for a cause to interrupt it."""
        while True:
            try:
                yield self.timer()
                self.timer_done()
            except simpy.Interrupt as irq:
                cause = irq.cause
                if self.finished_at is not None or type(cause) is Retime:
                    continue  # done (nothing happens after the end), or a new timer is all it takes
                if type(cause) is Failure:
                    mode = self.spec.modes[cause.mode]
                    if mode.slow_speed is None:
                        self.failed(cause)
                    else:
                        self.straggler(cause, mode)
                elif type(cause) is CorruptionFound:
                    self.corruption_found(cause)
                elif type(cause) is MaintenanceDue:
                    self.maintenance_due(cause)
                else:
                    raise TypeError(f"unknown interruption cause {cause!r}") from None

    def straggler(self, failure: Failure, mode: ModeSpec) -> None:
        """A slow node: the job (every replica alike: they step together) runs at its speed until it is
        found, ``detect_s`` later, and hot-swapped for a spare by a process of its own."""
        assert mode.slow_speed is not None
        self.speed_changes()
        handle = self.stragglers.add(self.env.now, mode.slow_speed, mode.name)

        def swapped(t: float) -> None:
            if self.finished_at is not None:
                return
            self.speed_changes()
            self.stragglers.end_of(handle, t)
            self.log.add((t, "swap", mode.name, failure.node, 0.0))
            if self.target is not None:
                # Faster now: the target comes sooner (or within the horizon at all), so plan again.
                assert self.process is not None
                self.process.interrupt(Retime())

        self.env.process(straggler_swap(self.env, self.cluster, failure.node, mode.detect_s, swapped))
        self.log.add((failure.time, "straggler", mode.name, failure.node, 0.0))

    def slow_seconds(self, rhythm: Rhythm, t0: float, t1: float) -> float:
        """Work per GPU that stragglers and the time of day took from the computing of ``[t0, t1]``."""
        if not (self.spec.diurnal or self.stragglers.spans):
            return 0.0
        return sum(slow_loss(self.stragglers, self.spec.diurnal, rhythm, t0, t1).values())

    def book_slow(self, gpus: int, rhythm: Rhythm, t0: float, t1: float, from_useful: bool = True) -> float:
        """Move that work, on ``gpus`` GPUs, from useful to slow (by cause); return the GPU-seconds moved.

        ``from_useful=False``: the work is not in the useful bucket yet (the caller holds it aside).
        """
        if not (self.spec.diurnal or self.stragglers.spans):
            return 0.0
        total = 0.0
        for cause, seconds in slow_loss(self.stragglers, self.spec.diurnal, rhythm, t0, t1).items():
            if from_useful:
                self.ledger.add("useful", -seconds, gpus=gpus)
            self.ledger.add("slow", seconds, gpus=gpus, cause=cause)
            total += gpus * seconds
        return total

    def reach_time(self, useful: float, gpus: int, rhythm: Rhythm, since: float, now: float) -> float:
        """When the work reaches the target if nothing interrupts: ``useful`` GPU-seconds are done or
        held, and ``gpus`` GPUs compute on the checkpoint rhythm ``rhythm`` from ``since`` (``<= now``)
        on. ``inf``: not before the horizon."""
        assert self.target is not None
        seg = self.segment
        x0 = since - rhythm.start  # the rhythm's elapsed time at `since`
        need = (self.target - useful) / gpus + rhythm.compute_time(rhythm.start, since)
        slowed = None
        if self.spec.diurnal or self.stragglers.spans:

            def slowed(e: float) -> float:
                return self.slow_seconds(rhythm, since, rhythm.start + e)

        lo, hi = max(x0, now - rhythm.start), self.spec.horizon_s - rhythm.start
        e = reach(need, seg.interval_s, seg.cycle_s, lo, hi, slowed)
        return rhythm.start + e

    def finished(self) -> None:
        """The final save is done: the run ends now."""
        now = self.env.now
        self.finished_at = now
        self.log.add((now, "finish", "", -1, 0.0))
        if self.stop is not None:
            self.stop.succeed()

    def speed_changes(self) -> None:
        """Called just before the job's speed changes: a job that books as it goes books up to now."""

    def timer(self) -> simpy.Event:
        """The event that ends the current state (a timeout, or one that never fires)."""
        raise NotImplementedError

    def timer_done(self) -> None:
        raise NotImplementedError

    def failed(self, failure: Failure) -> None:
        raise NotImplementedError

    def corruption_found(self, found: CorruptionFound) -> None:
        raise NotImplementedError

    def maintenance_due(self, due: MaintenanceDue) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Book everything up to the horizon (the current simulation time)."""
        raise NotImplementedError

"""Checkpoint policies (when to write) and methods (what a run segment between failures yields).

A run segment starts after a restart (or at time zero) and repeats *compute tau, write delta*; a
checkpoint counts only once its write completes. Because a segment is deterministic until the next
failure, its ledger is a closed form of the elapsed time: the simulator spends no event per
checkpoint, only per failure.

>>> seg = SyncSegment(interval_s=60.0, write_s=10.0)
>>> seg.split(150.0)   # two cycles committed, then 10 s of computing not yet saved
Split(committed=120.0, memory=0.0, checkpoint=20.0, uncommitted=10.0, snapshots=2, persisted=2)
>>> seg.split(135.0)   # failure during the second write: that cycle's compute is not committed
Split(committed=60.0, memory=0.0, checkpoint=15.0, uncommitted=60.0, snapshots=1, persisted=1)
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol

from sim.analysis.analytic import interval_seconds
from sim.config.scenario import Scenario


class Split(NamedTuple):
    """Seconds of a run segment.

    ``committed``: compute saved by a persisted checkpoint; ``memory``: compute saved only in peers'
    memory (method memory); ``checkpoint``: blocked writing or snapshotting; ``uncommitted``: compute
    not saved anywhere; ``snapshots``: checkpoints whose blocking part is done; ``persisted``: the
    number (within the segment) of the last one that is persisted, 0 if none.
    """

    committed: float
    memory: float
    checkpoint: float
    uncommitted: float
    snapshots: int
    persisted: int


class Segment(Protocol):
    """What a checkpoint method makes of a run segment of ``elapsed_s`` seconds."""

    interval_s: float  # computing per checkpoint cycle
    cycle_s: float  # computing plus the blocking part of a checkpoint

    def split(self, elapsed_s: float, before: int = 0) -> Split:
        """``before``: checkpoints taken since the run began, up to the one the segment starts from."""
        ...

    def persist_offset(self, n: int) -> float:
        """Seconds from the segment's start until checkpoint ``n`` of the segment is persisted."""
        ...


class SyncSegment:
    """Synchronous checkpoints: the job blocks for the whole write."""

    def __init__(self, interval_s: float, write_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        if write_s < 0:
            raise ValueError(f"write_s must be >= 0, got {write_s!r}")
        self.interval_s = interval_s
        self.write_s = write_s
        self.cycle_s = interval_s + write_s

    def persist_offset(self, n: int) -> float:
        return n * self.cycle_s

    def split(self, elapsed_s: float, before: int = 0) -> Split:
        """Where ``elapsed_s`` seconds of a segment went."""
        cycles = math.floor(elapsed_s / self.cycle_s)
        rest = elapsed_s - cycles * self.cycle_s
        return Split(
            committed=cycles * self.interval_s,
            memory=0.0,
            checkpoint=cycles * self.write_s + max(0.0, rest - self.interval_s),
            uncommitted=min(rest, self.interval_s),
            snapshots=cycles,
            persisted=cycles,
        )

    def checkpoint_times(self, start_s: float, end_s: float) -> list[float]:
        """Commit times of the checkpoints completed in a segment from ``start_s`` to ``end_s``."""
        n = math.floor((end_s - start_s) / self.cycle_s)
        return [start_s + (i + 1) * self.cycle_s for i in range(n)]


class AsyncSegment:
    """Async checkpoints: block for the snapshot, then write the rest in the background.

    A checkpoint counts once its whole write (``write_s`` from the start of the snapshot) is done.
    A new snapshot never starts while the previous write runs: when the interval is shorter than the
    background write, the job keeps computing and snapshots as soon as the write is done, so the
    effective interval is ``max(interval, write - snapshot)``.

    >>> AsyncSegment(60.0, 10.0, 10.0).split(150.0) == SyncSegment(60.0, 10.0).split(150.0)
    True
    >>> AsyncSegment(60.0, 10.0, 40.0).split(100.0)   # the first write is done at 70 + 30 = 100 s
    Split(committed=60.0, memory=0.0, checkpoint=10.0, uncommitted=30.0, snapshots=1, persisted=1)
    """

    def __init__(self, interval_s: float, snapshot_s: float, write_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        if not 0 <= snapshot_s <= write_s:
            raise ValueError(f"need 0 <= snapshot_s <= write_s, got {snapshot_s!r} and {write_s!r}")
        self.background_s = write_s - snapshot_s
        self.interval_s = max(interval_s, self.background_s)
        self.snapshot_s = snapshot_s
        self.cycle_s = self.interval_s + snapshot_s

    def persist_offset(self, n: int) -> float:
        return n * self.cycle_s + self.background_s

    def _cycles(self, elapsed_s: float) -> tuple[int, float, float, float]:
        cycles = math.floor(elapsed_s / self.cycle_s)
        rest = elapsed_s - cycles * self.cycle_s
        compute = cycles * self.interval_s + min(rest, self.interval_s)
        blocked = cycles * self.snapshot_s + max(0.0, rest - self.interval_s)
        return cycles, rest, compute, blocked

    def split(self, elapsed_s: float, before: int = 0) -> Split:
        cycles, _, compute, blocked = self._cycles(elapsed_s)
        # Snapshot j ends at j * cycle; its write is done background_s later.
        done = max(0, math.floor((elapsed_s - self.background_s) / self.cycle_s))
        committed = done * self.interval_s
        return Split(committed, 0.0, blocked, compute - committed, cycles, done)


class MemorySegment(AsyncSegment):
    """In-memory checkpoints: a blocking snapshot into peers' memory, and every ``persist_every``-th
    one also written to storage in the background.

    The snapshot counts as soon as it is in memory (``memory``); it counts as persisted
    (``committed``) once its background write is done. Checkpoints are numbered over the whole run
    (a restart from memory continues the count), so persists keep their rhythm across failures.
    Snapshots are never delayed; when a persist would overlap the previous one, persists are spaced
    out to the next multiple of ``persist_every`` that leaves room for the write.

    >>> seg = MemorySegment(60.0, 10.0, 40.0, persist_every=2)
    >>> seg.split(215.0)   # snapshots end at 70, 140, 210; the 2nd persists at 170
    Split(committed=120.0, memory=60.0, checkpoint=30.0, uncommitted=5.0, snapshots=3, persisted=2)
    """

    def __init__(self, interval_s: float, snapshot_s: float, write_s: float, persist_every: int) -> None:
        super().__init__(interval_s, snapshot_s, write_s)
        if persist_every < 1:
            raise ValueError(f"persist_every must be >= 1, got {persist_every!r}")
        self.interval_s = interval_s
        self.cycle_s = interval_s + snapshot_s
        spacing = persist_every * self.cycle_s
        self.persist_every = persist_every * max(1, math.ceil(self.background_s / spacing))

    def split(self, elapsed_s: float, before: int = 0) -> Split:
        cycles, _, compute, blocked = self._cycles(elapsed_s)
        # Checkpoints are numbered over the whole run: number n is persisted when n % persist_every == 0.
        first = self.persist_every - before % self.persist_every
        written = (elapsed_s - self.background_s) / self.cycle_s  # snapshots whose write would be done
        last = 0
        if written >= first:
            last = first + math.floor((written - first) / self.persist_every) * self.persist_every
        saved = last * self.interval_s
        return Split(saved, cycles * self.interval_s - saved, blocked, compute - cycles * self.interval_s, cycles, last)


def segment_for(scenario: Scenario) -> Segment:
    """The run segment of the scenario's checkpoint method."""
    ck = scenario.checkpoint
    interval = interval_seconds(scenario)
    if ck.method == "sync":
        return SyncSegment(interval, scenario.write_seconds)
    snapshot = ck.snapshot_seconds if ck.snapshot_seconds is not None else scenario.write_seconds
    if ck.method == "async":
        return AsyncSegment(interval, snapshot, scenario.write_seconds)
    return MemorySegment(interval, snapshot, scenario.write_seconds, ck.persist_every)

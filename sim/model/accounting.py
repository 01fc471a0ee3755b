"""The ledger of a run period, as pure functions: (what the period did, how it ended) -> postings.

A run period is the time the job computes between two stops. ``Split`` (``sim.model.checkpoint``)
says where its seconds went; ``close_run`` turns that and the way the period ended into GPU-seconds
for the ledger, and into the ``Carry``: work that is neither safe nor lost yet, and the checkpoint
count the next period starts from.

>>> from sim.model.checkpoint import Split
>>> split = Split(committed=120.0, memory=0.0, checkpoint=20.0, uncommitted=10.0, snapshots=2, persisted=2)
>>> close_run(split, 8, Carry(), End.RESTORE_STORAGE)
(Postings(useful=960.0, released=0.0, checkpoint=160.0, lost=80.0), Carry(tentative=0.0, paused=0.0, taken=2, saved=2))
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sim.model.checkpoint import Segment, Split


class Carry(NamedTuple):
    """What a run period hands to the next, besides the ledger."""

    tentative: float = 0.0  # GPU-s saved only in peers' memory (method memory), not persisted yet
    paused: float = 0.0  # GPU-s computed before a pause (a rejoin) and saved nowhere yet
    taken: int = 0  # checkpoints in the state the next period starts from
    saved: int = 0  # the number of the last persisted one among them


class End(enum.Enum):
    """How a run period ended."""

    SURVIVE = "survive"  # at the horizon: everything it computed counts
    PAUSE = "pause"  # a stop without a failure that keeps the state (replicas rejoin)
    FINISH = "finish"  # the target is reached: as a pause, until the final save makes it all safe
    SAVE = "save"  # a stop that first saves everything (planned maintenance)
    RESTORE_MEMORY = "restore_memory"  # a failure; the restart restores the last snapshot in peers' memory
    RESTORE_STORAGE = "restore_storage"  # a failure; the restart restores the last persisted checkpoint


class Postings(NamedTuple):
    """GPU-seconds for the ledger from one run period."""

    useful: float  # this period's compute that counts as useful now
    released: float  # earlier periods' memory-only or paused work that this period made safe
    checkpoint: float  # blocked writing or snapshotting
    lost: float  # rolled back: this period's unsaved compute and what the carry held


def close_run(split: Split, gpus: int, carry: Carry, end: End) -> tuple[Postings, Carry]:
    """The postings of a run period on ``gpus`` GPUs that ``split`` describes, and the next carry.

    A persisted checkpoint holds everything before it, so it releases the carry's memory-only and
    paused work; a failure loses what the restore does not bring back.

    >>> from sim.model.checkpoint import Split
    >>> split = Split(committed=0.0, memory=60.0, checkpoint=10.0, uncommitted=5.0, snapshots=1, persisted=0)
    >>> postings, carry = close_run(split, 1, Carry(paused=7.0), End.RESTORE_MEMORY)
    >>> postings.lost, carry.tentative, carry.taken, carry.saved
    (12.0, 60.0, 1, 0)
    """
    tentative, paused, taken, saved = carry
    released = 0.0
    if split.persisted:
        released, tentative, paused = tentative + paused, 0.0, 0.0
    useful = split.committed * gpus
    memory = split.memory * gpus
    unsaved = split.uncommitted * gpus
    lost = 0.0
    persisted_number = taken + split.persisted if split.persisted else saved
    if end is End.SURVIVE or end is End.SAVE:
        useful += memory + unsaved
        released += tentative + paused
        tentative = paused = 0.0
        taken += split.snapshots
        saved = taken if end is End.SAVE else persisted_number
    elif end is End.PAUSE or end is End.FINISH:
        tentative += memory
        paused += unsaved
        taken, saved = taken + split.snapshots, persisted_number
    elif end is End.RESTORE_MEMORY:
        tentative += memory
        lost, paused = unsaved + paused, 0.0
        taken, saved = taken + split.snapshots, persisted_number
    else:
        lost = tentative + paused + memory + unsaved
        tentative = paused = 0.0
        taken = saved = persisted_number
    return Postings(useful, released, split.checkpoint * gpus, lost), Carry(tentative, paused, taken, saved)


def drop_unsaved(carry: Carry, restore_from_memory: bool) -> tuple[float, Carry]:
    """A failure while the job is down: paused work is gone, and memory-only work too unless the
    restart will restore from peers' memory. Returns the GPU-seconds lost and the new carry.

    >>> drop_unsaved(Carry(tentative=5.0, paused=3.0, taken=4, saved=2), restore_from_memory=False)
    (8.0, Carry(tentative=0.0, paused=0.0, taken=2, saved=2))
    """
    if restore_from_memory:
        return carry.paused, carry._replace(paused=0.0)
    return carry.tentative + carry.paused, Carry(0.0, 0.0, carry.saved, carry.saved)


@dataclass(slots=True)
class Period:
    """A run period as history: enough to find the useful work at any persisted checkpoint in it.

    ``valid_until`` is the period's end, cut back when a restore discards the checkpoints after it.
    """

    start: float
    gpus: int
    taken: int  # checkpoint count at the start
    saved: int  # last persisted number at the start
    saved_at: float  # when that checkpoint was persisted (s)
    useful: float  # ledger's useful GPU-s at the start
    released: float = 0.0
    valid_until: float = float("inf")


class Checkpointed(NamedTuple):
    """A persisted checkpoint: the useful GPU-s it holds, its number, when its write completed."""

    useful: float
    number: int
    at: float


def no_slowdown(start: float, end: float) -> float:
    """The slow loss of a run at full speed: none."""
    return 0.0


def last_persisted(
    periods: list[Period], segment: Segment, t: float, slowed: Callable[[float, float], float] = no_slowdown
) -> Checkpointed:
    """The last checkpoint persisted by time ``t`` that no restore has discarded since.

    ``slowed(start, end)``: seconds of work per GPU that stragglers and the time of day took from the
    computing between ``start`` (a period's start) and ``end``; the ledger booked them as slow.

    >>> from sim.model.checkpoint import SyncSegment
    >>> seg = SyncSegment(interval_s=60.0, write_s=10.0)
    >>> last_persisted([Period(start=0.0, gpus=2, taken=0, saved=0, saved_at=0.0, useful=0.0)], seg, 150.0)
    Checkpointed(useful=240.0, number=2, at=140.0)
    """
    for p in reversed(periods):
        if p.start > t:
            continue
        split = segment.split(min(t, p.valid_until) - p.start, p.taken)
        if not split.persisted:
            return Checkpointed(p.useful, p.saved, p.saved_at)
        done = p.start + segment.persist_offset(split.persisted)
        computed_until = p.start + split.persisted * segment.cycle_s  # the last persisted one's computing ends
        useful = p.useful + p.released + p.gpus * (split.committed - slowed(p.start, computed_until))
        return Checkpointed(useful, p.taken + split.persisted, done)
    return Checkpointed(0.0, 0, 0.0)

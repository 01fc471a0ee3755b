"""The run-period accounting, table by table, against hand-computed postings and carries."""

from __future__ import annotations

import pytest

from sim.model.accounting import Carry, Checkpointed, End, Period, Postings, close_run, drop_unsaved, last_persisted
from sim.model.checkpoint import MemorySegment, Split, SyncSegment

#: Three snapshots, the second persisted; 120 s of compute saved, 60 s only in memory, 5 s unsaved.
PERSISTED = Split(committed=120.0, memory=60.0, checkpoint=30.0, uncommitted=5.0, snapshots=3, persisted=2)
#: One snapshot in memory, none persisted.
MEMORY_ONLY = Split(committed=0.0, memory=60.0, checkpoint=10.0, uncommitted=5.0, snapshots=1, persisted=0)
CARRY = Carry(tentative=10.0, paused=4.0, taken=5, saved=3)


@pytest.mark.parametrize(
    ("split", "gpus", "end", "postings", "carry"),
    [
        # A persist releases the carry (14) first; then each end decides the rest (on 2 GPUs).
        (PERSISTED, 2, End.SURVIVE, Postings(370.0, 14.0, 60.0, 0.0), Carry(0.0, 0.0, 8, 7)),
        (PERSISTED, 2, End.SAVE, Postings(370.0, 14.0, 60.0, 0.0), Carry(0.0, 0.0, 8, 8)),
        (PERSISTED, 2, End.PAUSE, Postings(240.0, 14.0, 60.0, 0.0), Carry(120.0, 10.0, 8, 7)),
        (PERSISTED, 2, End.RESTORE_MEMORY, Postings(240.0, 14.0, 60.0, 10.0), Carry(120.0, 0.0, 8, 7)),
        (PERSISTED, 2, End.RESTORE_STORAGE, Postings(240.0, 14.0, 60.0, 130.0), Carry(0.0, 0.0, 7, 7)),
        # Nothing persisted: the carry stays at stake (on 1 GPU).
        (MEMORY_ONLY, 1, End.SURVIVE, Postings(65.0, 14.0, 10.0, 0.0), Carry(0.0, 0.0, 6, 3)),
        (MEMORY_ONLY, 1, End.PAUSE, Postings(0.0, 0.0, 10.0, 0.0), Carry(70.0, 9.0, 6, 3)),
        (MEMORY_ONLY, 1, End.RESTORE_MEMORY, Postings(0.0, 0.0, 10.0, 9.0), Carry(70.0, 0.0, 6, 3)),
        (MEMORY_ONLY, 1, End.RESTORE_STORAGE, Postings(0.0, 0.0, 10.0, 79.0), Carry(0.0, 0.0, 3, 3)),
    ],
)
def test_close_run(split: Split, gpus: int, end: End, postings: Postings, carry: Carry) -> None:
    """Each way a period can end books its seconds as computed by hand, and hands on the right carry."""
    assert close_run(split, gpus, CARRY, end) == (postings, carry)


@pytest.mark.parametrize("end", list(End))
@pytest.mark.parametrize("split", [PERSISTED, MEMORY_ONLY])
def test_close_run_conserves_work(split: Split, end: End) -> None:
    """Nothing is created or destroyed: what the period and the carry held is booked or carried on."""
    gpus = 4
    before = CARRY.tentative + CARRY.paused + gpus * (split.committed + split.memory + split.uncommitted)
    postings, carry = close_run(split, gpus, CARRY, end)
    after = postings.useful + postings.released + postings.lost + carry.tentative + carry.paused
    assert after == pytest.approx(before)
    assert postings.checkpoint == gpus * split.checkpoint


@pytest.mark.parametrize(
    ("memory", "lost", "carry"),
    [(True, 4.0, Carry(10.0, 0.0, 5, 3)), (False, 14.0, Carry(0.0, 0.0, 3, 3))],
)
def test_drop_unsaved(memory: bool, lost: float, carry: Carry) -> None:
    """A failure while down loses the paused work, and the memory-only work unless memory restores it."""
    assert drop_unsaved(CARRY, restore_from_memory=memory) == (lost, carry)


SYNC = SyncSegment(interval_s=60.0, write_s=10.0)


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (50.0, Checkpointed(0.0, 0, 0.0)),  # before the first checkpoint: the start
        (70.0, Checkpointed(60.0 * 2 * 0.5, 1, 70.0)),  # checkpoint 1 is persisted at 70 s
        (139.0, Checkpointed(60.0 * 2 * 0.5, 1, 70.0)),
        (1000.0, Checkpointed(120.0 * 2 * 0.5, 2, 140.0)),  # the period ended at 150 s
        (2000.0, Checkpointed(500.0, 7, 1000.0)),  # the second period starts from its own checkpoint
    ],
)
def test_last_persisted(t: float, expected: Checkpointed) -> None:
    """The checkpoint to go back to, with the useful work as booked (after slow took half of it) and its number."""
    periods = [
        Period(start=0.0, gpus=2, taken=0, saved=0, saved_at=0.0, useful=0.0, valid_until=150.0),
        Period(start=2000.0, gpus=2, taken=7, saved=7, saved_at=1000.0, useful=500.0),
    ]
    assert last_persisted(periods, SYNC, t, slowed=lambda start, end: (end - start) * 60.0 / 70.0 / 2) == expected


def test_last_persisted_counts_memory_checkpoints_over_the_run() -> None:
    """Method memory numbers checkpoints over the whole run: a period that starts after 3 persists every 2nd."""
    seg = MemorySegment(60.0, 10.0, 10.0, persist_every=2)
    period = Period(start=0.0, gpus=1, taken=3, saved=2, saved_at=0.0, useful=100.0, released=7.0)
    # Snapshots end at 70, 140, 210 s; the run's 4th (the period's 1st) is persisted at 70 s, the 6th at 210 s.
    assert last_persisted([period], seg, 100.0) == Checkpointed(100.0 + 7.0 + 60.0, 4, 70.0)
    assert last_persisted([period], seg, 215.0) == Checkpointed(100.0 + 7.0 + 180.0, 6, 210.0)

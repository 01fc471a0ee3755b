"""Checkpoint policies and the closed-form run segment."""

from __future__ import annotations

import math

import pytest
from builders import tiny

from sim.analysis.analytic import daly_interval, interval_seconds, job_mtbf_seconds, young_interval
from sim.config.errors import ScenarioError
from sim.model.checkpoint import AsyncSegment, MemorySegment, Split, SyncSegment, segment_for


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (0.0, (0.0, 0.0, 0.0)),
        (59.0, (0.0, 0.0, 59.0)),
        (65.0, (0.0, 5.0, 60.0)),
        (70.0, (60.0, 10.0, 0.0)),
        (215.0, (180.0, 30.0, 5.0)),
    ],
)
def test_sync_split(elapsed: float, expected: tuple[float, float, float]) -> None:
    """Elapsed time splits into committed compute, writing and unsaved compute."""
    split = SyncSegment(60.0, 10.0).split(elapsed)
    assert (split.committed, split.checkpoint, split.uncommitted) == pytest.approx(expected)
    assert split.committed + split.checkpoint + split.uncommitted == pytest.approx(elapsed)
    assert split.memory == 0.0 and split.persisted == split.snapshots == round(split.committed / 60.0)


def test_sync_without_write_time() -> None:
    """A zero-second write commits at the end of every interval."""
    assert SyncSegment(60.0, 0.0).split(150.0) == Split(120.0, 0.0, 0.0, 30.0, 2, 2)


def test_checkpoint_times() -> None:
    """Commit times of a segment are its starts plus whole cycles."""
    assert SyncSegment(60.0, 10.0).checkpoint_times(100.0, 250.0) == [170.0, 240.0]


def test_policies() -> None:
    """fixed uses interval_minutes; young and daly use the job MTBF and the write time."""
    fast = {"failure.0.mtbf_hours": 10.0}
    assert interval_seconds(tiny(fast)) == 3600.0
    young = tiny({**fast, "checkpoint.policy": "young"})
    m = job_mtbf_seconds(young)
    assert m == pytest.approx(36000.0, rel=1e-6)
    assert interval_seconds(young) == pytest.approx(young_interval(60.0, m))
    assert interval_seconds(tiny({**fast, "checkpoint.policy": "daly"})) == pytest.approx(daly_interval(60.0, m))


def test_policy_without_failures_never_checkpoints_early() -> None:
    """With no failure modes the Daly interval is the whole horizon."""
    s = tiny({"checkpoint.policy": "daly"}, failure=[])
    assert interval_seconds(s) == s.horizon_seconds


def test_policy_needs_a_write_time() -> None:
    """Young and Daly with a free checkpoint would checkpoint continuously: refused."""
    with pytest.raises(ScenarioError, match=r"checkpoint\.policy"):
        interval_seconds(tiny({"checkpoint.policy": "young", "checkpoint.write_seconds": 0}))


def test_segment_rejects_bad_interval() -> None:
    """A non-positive interval is an error naming the parameter."""
    with pytest.raises(ValueError, match="interval_s"):
        SyncSegment(0.0, 1.0)
    assert math.isfinite(SyncSegment(1.0, 0.0).cycle_s)


@pytest.mark.parametrize("elapsed", [0.0, 35.0, 69.9, 70.0, 100.0, 139.5, 1234.5])
def test_async_with_blocking_write_is_sync(elapsed: float) -> None:
    """An async checkpoint whose snapshot is the whole write is a sync checkpoint."""
    assert AsyncSegment(60.0, 10.0, 10.0).split(elapsed) == SyncSegment(60.0, 10.0).split(elapsed)
    assert MemorySegment(60.0, 10.0, 10.0, 1).split(elapsed) == SyncSegment(60.0, 10.0).split(elapsed)


def test_async_commits_when_the_write_is_done() -> None:
    """The snapshot at 60-70 s is committed only when its write ends at 100 s."""
    seg = AsyncSegment(60.0, 10.0, 40.0)
    assert seg.split(99.0).committed == 0.0 and seg.split(99.0).uncommitted == 89.0
    assert seg.split(100.0).committed == 60.0


def test_async_interval_shorter_than_the_write() -> None:
    """With a 20 s interval and a 50 s background write, snapshots come every 50 s of compute."""
    seg = AsyncSegment(20.0, 5.0, 55.0)
    assert seg.interval_s == 50.0
    split = seg.split(2 * 55.0 + 50.0)  # two cycles, then the write of the 2nd snapshot is done
    assert (split.persisted, split.committed, split.checkpoint) == (2, 100.0, 10.0)


def test_memory_tiers() -> None:
    """Memory snapshots count at once; every 3rd is persisted after its background write."""
    seg = MemorySegment(60.0, 5.0, 25.0, persist_every=3)
    split = seg.split(4 * 65.0 + 30.0)  # 4 snapshots; the 3rd (ends 195 s) persisted at 215 s
    assert split == Split(committed=180.0, memory=60.0, checkpoint=20.0, uncommitted=30.0, snapshots=4, persisted=3)


def test_memory_persist_never_overlaps() -> None:
    """A persist due while the previous still writes is pushed to the next due snapshot."""
    seg = MemorySegment(10.0, 1.0, 31.0, persist_every=1)  # 30 s background, 11 s cycle
    assert seg.persist_every == 3


def test_segment_for_methods() -> None:
    """The scenario's method picks the segment; policies use the blocking part of a checkpoint."""
    s = tiny({"checkpoint.method": "async", "checkpoint.snapshot_seconds": 5.0})
    assert isinstance(segment_for(s), AsyncSegment)
    young = tiny(
        {
            "checkpoint.policy": "young",
            "checkpoint.method": "async",
            "checkpoint.snapshot_seconds": 5.0,
            "failure.0.mtbf_hours": 10.0,
        }
    )
    assert interval_seconds(young) == pytest.approx((2 * 5.0 * 36000.0) ** 0.5)


def test_memory_persists_count_over_the_whole_run() -> None:
    """A segment that starts after checkpoint 5 persists its 1st snapshot (number 6) when persisting every 3rd."""
    seg = MemorySegment(60.0, 5.0, 25.0, persist_every=3)
    split = seg.split(65.0 + 20.0, before=5)  # snapshot 6 ends at 65 s, its write at 85 s
    assert (split.snapshots, split.persisted, split.committed, split.memory) == (1, 1, 60.0, 0.0)
    assert seg.split(65.0 + 20.0, before=4).persisted == 0

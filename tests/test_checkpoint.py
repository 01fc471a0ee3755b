"""Checkpoint policies and the closed-form run segment."""

from __future__ import annotations

import math

import pytest
from builders import tiny

from sim.analytic import daly_interval, job_mtbf_seconds, young_interval
from sim.checkpoint import SyncSegment, interval_seconds
from sim.scenario import ScenarioError


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
    assert tuple(split) == pytest.approx(expected)
    assert sum(split) == pytest.approx(elapsed)


def test_sync_without_write_time() -> None:
    """A zero-second write commits at the end of every interval."""
    assert tuple(SyncSegment(60.0, 0.0).split(150.0)) == (120.0, 0.0, 30.0)


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

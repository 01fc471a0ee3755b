"""When a run with a target ends: the closed-form search (``sim.model.finish``) and exact scripted cases.

The tiny scenario computes 60 min between 60 s writes and restarts in 5 min; a target of 2.5 h of
the whole job's computing (9,000 s per GPU) is reached 1,800 s into the third interval, and the run
ends with a final write 60 s later.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import scripted, tiny
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.experiment.runner import Replication, play
from sim.model.finish import computed_by, elapsed_for, reach

GPUS = 16
DAY = 86400.0
WORK = 9000.0  # seconds of computing of the whole job


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    compute=st.floats(0.0, 1e7),
    interval=st.floats(1.0, 1e5),
    block=st.floats(0.0, 1e4),
)
def test_elapsed_for_inverts_computed_by(compute: float, interval: float, block: float) -> None:
    """The earliest elapsed time with that much computing: computed there, and not a moment before."""
    cycle = interval + block
    e = elapsed_for(compute, interval, cycle)
    assert computed_by(e, interval, cycle) == pytest.approx(compute, rel=1e-9, abs=1e-6)
    if compute > 1e-3:
        assert computed_by(e * (1 - 1e-9) - 1e-6, interval, cycle) < compute


def test_reach_with_slowness_finds_the_crossing() -> None:
    """Work at half speed from 100 s on: 150 s of work are done at 200 s (bisection to a microsecond)."""
    slowed = lambda e: 0.5 * max(0.0, e - 100.0)  # noqa: E731
    assert reach(150.0, 1e9, 1e9, lo=0.0, hi=1e4, slowed=slowed) == pytest.approx(200.0, abs=1e-5)
    assert math.isinf(reach(150.0, 1e9, 1e9, lo=0.0, hi=199.0, slowed=slowed))


def play_target(
    job_failures: list[float] = (),  # type: ignore[assignment]
    work: float = WORK,
    days: float = 1.0,
    **overrides: object,
) -> Replication:
    """The tiny scenario with a target of ``work`` seconds of the whole job, against these job failures."""
    s = tiny({"run.target_compute_days": work / DAY, "run.duration_days": days, **overrides})
    timeline = scripted(s.job_nodes + 1, [])
    times = np.array(job_failures, dtype=float)
    return play(s, timeline, times, np.zeros(times.size, dtype=np.int64))


def wall(rep: Replication) -> dict[str, float]:
    return {k: v / GPUS for k, v in rep.gpu_seconds.items() if v}


def test_finish_without_failures() -> None:
    """Two cycles, 1,800 s of computing, a final write: done at 9,180 s, the ledger covers exactly that."""
    rep = play_target()
    assert rep.metrics["time_to_train_days"] * DAY == pytest.approx(9180.0)
    assert wall(rep) == pytest.approx({"useful": 9000.0, "checkpoint": 180.0})
    assert rep.metrics["target_reached"] == 1.0
    assert rep.metrics["ettr"] == pytest.approx(9000.0 / 9180.0)
    assert rep.events[-2:] == [(9120.0, "final_save", "", -1, 0.0), (9180.0, "finish", "", -1, 0.0)]


def test_a_target_at_the_end_of_an_interval_needs_no_extra_write() -> None:
    """Two whole intervals: the second interval's checkpoint is the final save (7,320 s, two writes)."""
    rep = play_target(work=7200.0)
    assert rep.metrics["time_to_train_days"] * DAY == pytest.approx(7320.0)
    assert wall(rep) == pytest.approx({"useful": 7200.0, "checkpoint": 120.0})


def test_a_failure_during_the_final_save_rolls_back() -> None:
    """30 s into the final write: the 1,800 s since the last checkpoint are lost, restart, compute, save again."""
    rep = play_target(job_failures=[9150.0, 20000.0])  # the second strikes after the end: no effect
    assert rep.metrics["time_to_train_days"] * DAY == pytest.approx(9450.0 + 1800.0 + 60.0)
    assert wall(rep) == pytest.approx({"useful": 9000.0, "checkpoint": 210.0, "lost": 1800.0, "restart": 300.0})
    assert rep.metrics["interruptions"] == 1


def test_not_reached_within_the_horizon() -> None:
    """A horizon of 2 h: no time to train, the ledger covers the horizon, the work done so far is useful."""
    rep = play_target(days=7200.0 / DAY)
    assert math.isnan(rep.metrics["time_to_train_days"]) and math.isnan(rep.metrics["cost_to_train_usd"])
    assert rep.metrics["target_reached"] == 0.0
    assert wall(rep) == pytest.approx({"useful": 7140.0, "checkpoint": 60.0})


def test_without_a_target_nothing_changes() -> None:
    """No target keys: no target metrics, and the ledger covers the horizon."""
    s = tiny()
    rep = play(s, scripted(s.job_nodes + 1, []), np.array([]), np.array([], dtype=np.int64))
    assert "time_to_train_days" not in rep.metrics
    assert rep.metrics["run_days"] == 1.0


@pytest.mark.parametrize(
    "overrides",
    [
        {"checkpoint.method": "async", "checkpoint.snapshot_seconds": 5.0},
        {"checkpoint.method": "memory", "checkpoint.snapshot_seconds": 5.0, "restart.memory_load_seconds": 10.0},
        {"recovery.strategy": "replica", "workload.tensor_parallel": 8},
        {"recovery.strategy": "shrink", "workload.tensor_parallel": 8},
        {"workload.diurnal_amplitude": 0.3},
    ],
    ids=["async", "memory", "replica", "shrink", "time-of-day"],
)
def test_every_method_and_strategy_ends_with_the_work_done(overrides: dict[str, object]) -> None:
    """Async, memory, replica, shrink and a slowed job: useful = the target at the end, and the buckets cover it."""
    s = tiny(
        {
            "run.target_compute_days": 3.0 / 24.0,
            "run.duration_days": 2.0,
            "failure.0.mtbf_hours": 0.5,
            **overrides,
        }
    )
    result = sim.run(s, replications=4, seed=11)
    for rep in result.replications:
        assert rep.metrics["target_reached"] == 1.0
        assert rep.gpu_seconds["useful"] == pytest.approx(s.target_gpu_seconds, rel=1e-9)
        seconds = rep.metrics["time_to_train_days"] * DAY
        assert sum(rep.gpu_seconds.values()) == pytest.approx(GPUS * seconds, rel=1e-9)
        assert rep.metrics["interruptions"] > 0


def test_a_straggler_swapped_out_brings_the_finish_forward() -> None:
    """A straggler at half speed, swapped out after 10 min: the finish moves by the work it took, no more."""
    slow = {"name": "slow", "scope": "node", "action": "slow", "slowdown": 0.5, "mtbf_hours": 1e9, "repair_hours": 1.0}
    s = tiny({"run.target_compute_days": WORK / DAY, "failure.1.detect_minutes": 10.0}, failure=[BASE_CRASH, slow])
    timeline = scripted(s.job_nodes + 1, [(0, 1000.0, 1, 1000.0 + 3600.0)])
    rep = play(s, timeline, np.array([]), np.array([], dtype=np.int64))
    # Half speed for 600 s costs 300 s of work: the target comes 300 s later.
    assert rep.metrics["time_to_train_days"] * DAY == pytest.approx(9180.0 + 300.0, abs=1e-4)
    assert rep.gpu_seconds["useful"] == pytest.approx(WORK * GPUS, rel=1e-9)  # the search stops within 1 us
    assert rep.gpu_seconds["slow"] == pytest.approx(300.0 * GPUS, rel=1e-9)


BASE_CRASH = {"name": "crash", "scope": "job", "mtbf_hours": 1e9, "action": "restart"}

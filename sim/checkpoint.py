"""Checkpoint policies (when to write) and methods (what a run segment between failures yields).

A run segment starts after a restart (or at time zero) and repeats *compute tau, write delta*; a
checkpoint counts only once its write completes. Because a segment is deterministic until the next
failure, its ledger is a closed form of the elapsed time: the simulator spends no event per
checkpoint, only per failure.

>>> seg = SyncSegment(interval_s=60.0, write_s=10.0)
>>> seg.split(150.0)   # two cycles committed, then 10 s of computing not yet saved
Split(committed=120.0, checkpoint=20.0, uncommitted=10.0)
>>> seg.split(135.0)   # failure during the second write: that cycle's compute is not committed
Split(committed=60.0, checkpoint=15.0, uncommitted=60.0)
"""

from __future__ import annotations

import math
from typing import NamedTuple

from sim.analytic import daly_interval, job_mtbf_seconds, young_interval
from sim.scenario import Scenario, ScenarioError


def interval_seconds(scenario: Scenario) -> float:
    """Compute time between checkpoints under the scenario's policy.

    ``young`` and ``daly`` take the job MTBF of all failure modes and the blocking write time;
    with no failure modes there is nothing to protect against, so the interval is the horizon.
    """
    policy = scenario.checkpoint.policy
    if policy == "fixed":
        return scenario.checkpoint.interval_minutes * 60.0
    mtbf = job_mtbf_seconds(scenario)
    if math.isinf(mtbf):
        return scenario.horizon_seconds
    write = scenario.write_seconds
    if write <= 0:
        raise ScenarioError(f"checkpoint.policy: {policy!r} needs a checkpoint write time above 0 s")
    return young_interval(write, mtbf) if policy == "young" else daly_interval(write, mtbf)


class Split(NamedTuple):
    """Seconds of a run segment: compute saved by a completed write, writing, compute not yet saved."""

    committed: float
    checkpoint: float
    uncommitted: float


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

    def split(self, elapsed_s: float) -> Split:
        """Where ``elapsed_s`` seconds of a segment went."""
        cycles = math.floor(elapsed_s / self.cycle_s)
        rest = elapsed_s - cycles * self.cycle_s
        return Split(
            committed=cycles * self.interval_s,
            checkpoint=cycles * self.write_s + max(0.0, rest - self.interval_s),
            uncommitted=min(rest, self.interval_s),
        )

    def checkpoint_times(self, start_s: float, end_s: float) -> list[float]:
        """Commit times of the checkpoints completed in a segment from ``start_s`` to ``end_s``."""
        n = math.floor((end_s - start_s) / self.cycle_s)
        return [start_s + (i + 1) * self.cycle_s for i in range(n)]

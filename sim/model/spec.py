"""What the job needs to know of a scenario, in engine units (seconds, GPU counts), built once.

The job never reads the scenario itself: ``JobSpec.from_scenario`` is the one place where scenario
keys become engine parameters, and each failure mode becomes one ``ModeSpec``.

>>> from sim.config.loading import load_scenario_text
>>> s = load_scenario_text('''name = "t"
... [cluster]
... gpus = 16
... [checkpoint]
... write_seconds = 60
... [[failure]]
... name = "crash"
... scope = "job"
... mtbf_hours = 24
... action = "restart"
... detect_minutes = 2''')
>>> spec = JobSpec.from_scenario(s)
>>> spec.gpus, spec.restart_s, spec.modes[0].detect_s, spec.modes[0].silent
(16, 600.0, 120.0, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.config.scenario import FailureMode, Scenario
from sim.model.checkpoint import Segment, segment_for


@dataclass(frozen=True)
class ModeSpec:
    """One failure mode, as the job handles it."""

    name: str
    detect_s: float  # before the job notices (a straggler: before it is swapped out)
    late_s: float  # silent data corruption: found this long after it struck; 0 for loud failures
    slow_speed: float | None  # a straggler's speed (action slow); None for failures that stop the job
    silent: bool  # late_s > 0: the job computes on, corrupted, until it is found

    @staticmethod
    def of(mode: FailureMode) -> ModeSpec:
        return ModeSpec(
            name=mode.name,
            detect_s=mode.detect_minutes * 60.0,
            late_s=mode.detect_hours * 3600.0,
            slow_speed=mode.slowdown if mode.action == "slow" else None,
            silent=mode.detect_hours > 0,
        )


@dataclass(frozen=True)
class JobSpec:
    """The job's parameters: size, checkpoints, restarts, recovery strategy, side activities."""

    gpus: int
    segment: Segment
    restart_s: float
    memory_restart_s: float | None  # restore from peers' memory (method memory); None otherwise
    modes: tuple[ModeSpec, ...]
    strategy: str  # restart | shrink | replica
    unit_gpus: int  # GPUs of a data-parallel replica (the unit that shrink drops, replica restarts)
    slots_per_unit: int  # job positions (nodes) per unit
    stall_s: float  # replica: whole-job pause while the quorum re-forms
    maintenance_every_s: float | None
    maintenance_s: float
    keep: int | None  # persisted checkpoints kept (silent corruption can need an old one)
    diurnal: float  # time-of-day throughput dip
    horizon_s: float = math.inf  # the most the run may take
    target_gs: float | None = None  # useful GPU-seconds that end the run (run.target_*); None: run to the horizon
    final_write_s: float = 0.0  # the final save once the target is reached: a whole, persisted write

    @staticmethod
    def from_scenario(scenario: Scenario) -> JobSpec:
        s = scenario
        m = s.maintenance
        return JobSpec(
            gpus=s.cluster.gpus,
            segment=segment_for(s),
            restart_s=s.restart_seconds,
            memory_restart_s=s.memory_restart_seconds if s.checkpoint.method == "memory" else None,
            modes=tuple(ModeSpec.of(mode) for mode in s.modes),
            strategy=s.recovery.strategy,
            unit_gpus=s.unit_gpus,
            slots_per_unit=s.unit_gpus // s.cluster.gpus_per_node,
            stall_s=s.recovery.stall_minutes * 60.0,
            maintenance_every_s=m.every_days * 86400.0 if m.every_days else None,
            maintenance_s=m.hours * 3600.0,
            keep=s.checkpoint.keep,
            diurnal=s.workload.diurnal_amplitude,
            horizon_s=s.horizon_seconds,
            target_gs=s.target_gpu_seconds,
            final_write_s=s.write_seconds,
        )

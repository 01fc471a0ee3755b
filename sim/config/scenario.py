"""The scenario: a typed, validated, frozen description of one training run and its cluster.

Reading scenario files (TOML) and ``--set`` overrides into it is ``sim.config.loading``; the
cross-key checks are ``sim.config.checks``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sim.config.hardware import GPU, get_gpu
from sim.config.presets import preset_modes


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Run(_Section):
    """How long, how many replications, which seed."""

    duration_days: float = Field(100.0, gt=0, description="simulated horizon")
    replications: int = Field(10, ge=1, description="independent replications")
    seed: int = Field(0, ge=0, description="root of every random stream")


class Cluster(_Section):
    """The GPUs the job runs on, and the spare servers standing by."""

    gpu: str = Field("H100-SXM", description="a model from the hardware catalog")
    gpus: int = Field(..., gt=0, description="GPUs in the job")
    gpus_per_node: int = Field(8, gt=0, description="GPUs per server")
    spare_nodes: int = Field(0, ge=0, description="hot spare servers outside the job")
    nodes_per_rack: int | None = Field(None, gt=0, description="servers under one rack (power, cooling)")
    nodes_per_switch: int | None = Field(None, gt=0, description="servers under one leaf switch")


class Workload(_Section):
    """What the job computes."""

    precision: Literal["fp8", "bf16", "fp16", "tf32"] = Field(
        "bf16", description="tensor-core precision: selects the GPU's dense peak FLOP/s"
    )
    mfu: float = Field(0.4, gt=0, le=1, description="model FLOPs utilisation while computing, fraction of peak")
    parameters: float | None = Field(None, gt=0, description="model parameters, count (for tokens, checkpoint size)")
    tensor_parallel: int = Field(1, ge=1, description="tensor-parallel degree, GPUs; a replica is TP x PP GPUs")
    pipeline_parallel: int = Field(1, ge=1, description="pipeline-parallel degree, GPUs (see tensor_parallel)")
    shard_optimizer: bool = Field(False, description="weights and optimizer state sharded over data parallelism")
    diurnal_amplitude: float = Field(0.0, ge=0, lt=1, description="throughput dip over a day, fraction of full speed")


class Checkpoint(_Section):
    """When and how the job saves its state."""

    policy: Literal["fixed", "young", "daly"] = Field(
        "fixed", description="fixed: interval_minutes; young, daly: from the job MTBF and the blocking time"
    )
    interval_minutes: float = Field(30.0, gt=0, description="compute between checkpoints (policy fixed)")
    method: Literal["sync", "async", "memory"] = Field(
        "sync", description="what a checkpoint blocks for: the write (sync) or a snapshot (async, memory)"
    )
    write_seconds: float | None = Field(None, ge=0, description="time to persist a checkpoint; else size / bandwidth")
    bytes_per_parameter: float = Field(14.0, gt=0, description="checkpoint bytes per parameter (Adam)")
    snapshot_seconds: float | None = Field(None, ge=0, description="blocking part of an async or memory checkpoint")
    persist_every: int = Field(1, ge=1, description="memory: every n-th checkpoint is also persisted")
    keep: int | None = Field(None, gt=0, description="persisted checkpoints kept; none: all")


class Storage(_Section):
    """Bandwidth of the checkpoint store, aggregate over the job."""

    write_gb_per_s: float | None = Field(None, gt=0, description="checkpoint write bandwidth, GB/s")
    read_gb_per_s: float | None = Field(None, gt=0, description="checkpoint read bandwidth, GB/s")


class Restart(_Section):
    """What a restart costs."""

    fixed_minutes: float = Field(10.0, ge=0, description="reschedule and initialise")
    load_checkpoint: bool = Field(False, description="add checkpoint size / read bandwidth")
    memory_load_seconds: float | None = Field(None, ge=0, description="restore from peers' memory (method memory)")


class Recovery(_Section):
    """What the job does after a failure."""

    strategy: Literal["restart", "replica", "shrink"] = Field(
        "restart", description="restart the job, recover the failed replica only, or shrink when spares run out"
    )
    stall_minutes: float = Field(0.0, ge=0, description="replica: whole-job pause while the quorum reconfigures")


class Maintenance(_Section):
    """Planned downtime: the job checkpoints and stops for ``hours`` every ``every_days``."""

    every_days: float | None = Field(None, gt=0, description="period; none: no planned maintenance")
    hours: float = Field(0.0, ge=0, description="length of each window")


class Repair(_Section):
    """Who repairs failed servers."""

    technicians: int | None = Field(None, gt=0, description="repairs at once; none: unlimited")


class Energy(_Section):
    """Power and money."""

    it_watts_per_gpu: float | None = Field(None, gt=0, description="IT power per GPU while computing, W; none: TDP")
    idle_fraction: float = Field(0.5, ge=0, le=1, description="power when not computing, fraction of it_watts_per_gpu")
    pue: float = Field(1.0, ge=1, description="power usage effectiveness: facility power / IT power")
    usd_per_kwh: float = Field(0.0, ge=0, description="electricity price, USD per kWh")
    capex_usd: float = Field(0.0, ge=0, description="hardware cost, USD, amortised over amortization_years")
    amortization_years: float = Field(4.0, gt=0, description="write-off period of capex_usd, years")


class FailureMode(_Section):
    """One way the run can fail, at a rate per instance of its scope."""

    name: str = Field(..., min_length=1, description="cause name, unique among all modes (presets included)")
    scope: Literal["gpu", "node", "rack", "switch", "job"] = Field(
        ..., description="one instance: a GPU, a server, a rack, a leaf switch, or the job"
    )
    mtbf_hours: float = Field(..., gt=0, description="mean time between failures per scope instance")
    distribution: Literal["exponential", "weibull"] = Field(
        "exponential", description="law of the time between failures of one instance"
    )
    shape: float = Field(1.0, gt=0, description="Weibull shape; the scale keeps the mean at mtbf_hours")
    action: Literal["replace", "restart", "slow"] = Field(
        "replace", description="replace: the server leaves for repair; restart: in place; slow: a straggler"
    )
    slowdown: float = Field(1.0, gt=0, le=1, description="action slow: the node's speed, as a fraction of normal")
    repair_hours: float | None = Field(None, ge=0, description="mean time in repair (actions replace, slow)")
    repair_sigma: float = Field(0.0, ge=0, description="lognormal spread (sigma of log) of repair times; 0: fixed")
    detect_minutes: float = Field(0.0, ge=0, description="time before the job notices (slow: finds the straggler)")
    detect_hours: float = Field(0.0, ge=0, description="silent (data corruption): found this long after it struck")
    source: str = Field("assumed", description="citation of the numbers, or assumed")


class Scenario(_Section):
    """A whole scenario file."""

    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="results folder name")
    title: str = Field("", description="shown in reports")
    failure_preset: str | None = Field(None, description="a shipped failure mix, added before the file's own modes")
    run: Run = Run()
    cluster: Cluster
    workload: Workload = Workload()
    checkpoint: Checkpoint = Checkpoint()
    storage: Storage = Storage()
    restart: Restart = Restart()
    recovery: Recovery = Recovery()
    repair: Repair = Repair()
    maintenance: Maintenance = Maintenance()
    energy: Energy = Energy()
    failure: tuple[FailureMode, ...] = ()

    @property
    def gpu(self) -> GPU:
        return get_gpu(self.cluster.gpu)

    @property
    def job_nodes(self) -> int:
        return self.cluster.gpus // self.cluster.gpus_per_node

    @property
    def horizon_seconds(self) -> float:
        return self.run.duration_days * 86400.0

    @property
    def modes(self) -> tuple[FailureMode, ...]:
        """Every failure mode: the preset's, then the file's own."""
        preset = preset_modes(self.failure_preset) if self.failure_preset else []
        return tuple(FailureMode(**m) for m in preset) + self.failure

    @property
    def peak_flops_per_gpu(self) -> float:
        return self.gpu.peak_flops(self.workload.precision)

    @property
    def checkpoint_bytes(self) -> float | None:
        p = self.workload.parameters
        return None if p is None else p * self.checkpoint.bytes_per_parameter

    @property
    def write_seconds(self) -> float:
        """Blocking checkpoint write: given, or checkpoint size over write bandwidth."""
        if self.checkpoint.write_seconds is not None:
            return self.checkpoint.write_seconds
        size, bw = self.checkpoint_bytes, self.storage.write_gb_per_s
        assert size is not None and bw is not None  # checked by sim.config.checks
        return size / (bw * 1e9)

    @property
    def load_seconds(self) -> float:
        """Checkpoint load at restart: size over read bandwidth, when enabled."""
        if not self.restart.load_checkpoint:
            return 0.0
        size, bw = self.checkpoint_bytes, self.storage.read_gb_per_s
        assert size is not None and bw is not None  # checked by sim.config.checks
        return size / (bw * 1e9)

    @property
    def restart_seconds(self) -> float:
        """A restart from a persisted checkpoint."""
        return self.restart.fixed_minutes * 60.0 + self.load_seconds

    @property
    def memory_restart_seconds(self) -> float:
        """A restart from the copy in peers' memory (method memory); else a storage restart."""
        if self.checkpoint.method != "memory" or self.restart.memory_load_seconds is None:
            return self.restart_seconds
        return self.restart.fixed_minutes * 60.0 + self.restart.memory_load_seconds

    def domain_nodes(self, scope: str) -> int | None:
        """Servers under one instance of a correlated scope (rack or switch), if the cluster says."""
        return self.cluster.nodes_per_rack if scope == "rack" else self.cluster.nodes_per_switch

    @property
    def unit_gpus(self) -> int:
        """GPUs that fail and recover together under replica or shrink: a data-parallel replica
        (tensor x pipeline parallel GPUs), or a whole node when several replicas share one."""
        w = self.workload
        return max(w.tensor_parallel * w.pipeline_parallel, self.cluster.gpus_per_node)

    @property
    def blocking_seconds(self) -> float:
        """What one checkpoint blocks the job for: the write (sync) or the snapshot (async, memory)."""
        if self.checkpoint.method == "sync" or self.checkpoint.snapshot_seconds is None:
            return self.write_seconds
        return self.checkpoint.snapshot_seconds

    @property
    def it_watts_per_gpu(self) -> float:
        w = self.energy.it_watts_per_gpu
        return self.gpu.tdp_watts if w is None else w


# ---------------------------------------------------------------- loading and overrides

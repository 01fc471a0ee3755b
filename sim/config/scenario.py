"""The scenario: a typed, validated, frozen description of one training run and its cluster.

Reading scenario files (TOML) and ``--set`` overrides into it is ``sim.config.loading``; the
cross-key checks are ``sim.config.checks``.

Every value is checked against its type and range before anything runs. Numbers must be numbers:
an integer is accepted where a float is expected, but text ("100000") and booleans are not, and
neither is a float where an integer is expected (``gpus = 1e5``: write ``100000``). Every number
must be finite (no ``inf`` or ``nan``) and within the bounds of its key; durations are at most ten
years in the key's unit. Limits that span several keys are cross-key checks (``sim.config.checks``):
at most ``MAX_NODES`` servers (job and spares), at most ``MAX_MAINTENANCE_WINDOWS`` maintenance
windows in the horizon, a maintenance window shorter than its period (the limits are in ``sim.config.limits``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from sim.config.actions import ACTIONS, ActionName

# Re-exported: the fleet sections are part of the scenario model.
from sim.config.fleet import Heterogeneity as Heterogeneity
from sim.config.fleet import Repair as Repair
from sim.config.fleet import Retirement as Retirement
from sim.config.hardware import GPU, get_gpu
from sim.config.limits import (
    MAX_DAYS,
    MAX_GPUS,
    MAX_HOURS,
    MAX_MINUTES,
    MAX_MODES,
    MAX_NAME_CHARS,
    MAX_NODES,
    MAX_REPLICATIONS,
    MAX_SECONDS,
    MAX_SEED,
    MAX_TEXT_CHARS,
)
from sim.config.money import Cost, Energy
from sim.config.power import Power
from sim.config.presets import preset_modes
from sim.config.section import Section as _Section
from sim.config.section import Text, printable


def _cause_name(text: str) -> str:
    # A cause names a table row and a results column: one line.
    if "\n" in text or "\t" in text:
        raise ValueError("may not hold tabs or line breaks")
    return printable(text)


#: A cause name: free text (``Text``) on one line.
CauseName = Annotated[str, AfterValidator(_cause_name)]


def _iso_date(value: object) -> object:
    # TOML has dates (start_date = 2025-03-01); a quoted ISO date is read too. A date and time is not a date.
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date without a time, e.g. 2025-03-01")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("must be an ISO date, e.g. 2025-03-01") from None
    return value


#: A calendar date: a TOML date or an ISO date in quotes.
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]

#: The keys of ``[run]`` that end a run when its useful work reaches them.
TARGET_KEYS = ("target_flop", "target_tokens", "target_compute_days")


class Run(_Section):
    """How long, how many replications, which seed."""

    duration_days: float = Field(
        100.0, gt=0, le=MAX_DAYS, description="simulated horizon; with a target (target_*), the most the run may take"
    )
    replications: int = Field(10, ge=1, le=MAX_REPLICATIONS, description="independent replications")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="root of every random stream")
    target_flop: float | None = Field(
        None,
        gt=0,
        le=1e35,
        description=(
            "useful model FLOP to train: the run ends once they are done and saved; duration_days is then "
            "the most it may take (not reached past it)"
        ),
    )
    target_tokens: float | None = Field(
        None, gt=0, le=1e20, description="tokens to train (6 x workload.parameters FLOP each), as target_flop"
    )
    target_compute_days: float | None = Field(
        None,
        gt=0,
        le=MAX_DAYS,
        description="days of the whole job computing usefully: useful GPU-seconds / (job GPUs x 86400); as target_flop",
    )
    start_date: IsoDate | None = Field(
        None, description="the calendar date of day 0 (ISO, e.g. 2025-03-01): reports give finish dates"
    )

    @property
    def target_key(self) -> str | None:
        """The ``run.target_*`` key given, if any (at most one: a cross-key check)."""
        for key in TARGET_KEYS:
            if getattr(self, key) is not None:
                return key
        return None


class Cluster(_Section):
    """The GPUs the job runs on, and the spare servers standing by."""

    gpu: str = Field("H100-SXM", max_length=MAX_NAME_CHARS, description="a model from the hardware catalog")
    gpus: int = Field(..., gt=0, le=MAX_GPUS, description="GPUs in the job")
    gpus_per_node: int = Field(8, gt=0, le=1024, description="GPUs per server")
    spare_nodes: int = Field(
        0, ge=0, le=MAX_NODES, description="hot spare servers outside the job; job and spares at most 2,000,000 servers"
    )
    nodes_per_rack: int | None = Field(
        None,
        gt=0,
        le=MAX_NODES,
        description="servers under one rack (power, cooling); a rack larger than the fleet is the whole fleet",
    )
    nodes_per_switch: int | None = Field(
        None,
        gt=0,
        le=MAX_NODES,
        description="servers under one leaf switch; a switch larger than the fleet is the whole fleet",
    )
    fleet_age: Literal["stationary", "new"] = Field(
        "stationary",
        description=(
            "stationary: a fleet in production, each failure clock starts from its law's equilibrium "
            "(forward-recurrence) distribution, so any window expects window / MTBF failures; "
            "new: every server as good as new at the start (burn-in of a new cluster)"
        ),
    )


class Workload(_Section):
    """What the job computes."""

    precision: Literal["fp8", "bf16", "fp16", "tf32"] = Field(
        "bf16", description="tensor-core precision: selects the GPU's dense peak FLOP/s"
    )
    mfu: float = Field(0.4, gt=0, le=1, description="model FLOPs utilisation while computing, fraction of peak")
    parameters: float | None = Field(
        None, gt=0, le=1e15, description="model parameters, count (for tokens, checkpoint size)"
    )
    tensor_parallel: int = Field(
        1, ge=1, le=MAX_GPUS, description="tensor-parallel degree, GPUs; a replica is TP x PP GPUs"
    )
    pipeline_parallel: int = Field(
        1, ge=1, le=MAX_GPUS, description="pipeline-parallel degree, GPUs (see tensor_parallel)"
    )
    shard_optimizer: bool = Field(False, description="weights and optimizer state sharded over data parallelism")
    diurnal_amplitude: float = Field(0.0, ge=0, lt=1, description="throughput dip over a day, fraction of full speed")


class Checkpoint(_Section):
    """When and how the job saves its state."""

    policy: Literal["fixed", "young", "daly"] = Field(
        "fixed", description="fixed: interval_minutes; young, daly: from the job MTBF and the blocking time"
    )
    interval_minutes: float = Field(
        30.0, gt=0, le=MAX_MINUTES, description="compute between checkpoints (policy fixed)"
    )
    method: Literal["sync", "async", "memory"] = Field(
        "sync", description="what a checkpoint blocks for: the write (sync) or a snapshot (async, memory)"
    )
    write_seconds: float | None = Field(
        None,
        ge=0,
        le=MAX_SECONDS,
        description="time to persist a checkpoint; else size / bandwidth (which must then be at most ten years too)",
    )
    bytes_per_parameter: float = Field(14.0, gt=0, le=1000, description="checkpoint bytes per parameter (Adam)")
    snapshot_seconds: float | None = Field(
        None, ge=0, le=MAX_SECONDS, description="blocking part of an async or memory checkpoint"
    )
    persist_every: int = Field(
        1, ge=1, le=1_000_000, description="memory: every n-th checkpoint is also persisted"
    )
    keep: int | None = Field(None, gt=0, le=1_000_000, description="persisted checkpoints kept; none: all")


class Storage(_Section):
    """Bandwidth of the checkpoint store, aggregate over the job."""

    write_gb_per_s: float | None = Field(None, gt=0, le=1e9, description="checkpoint write bandwidth, GB/s")
    read_gb_per_s: float | None = Field(None, gt=0, le=1e9, description="checkpoint read bandwidth, GB/s")


class Restart(_Section):
    """What a restart costs."""

    fixed_minutes: float = Field(10.0, ge=0, le=MAX_MINUTES, description="reschedule and initialise")
    load_checkpoint: bool = Field(False, description="add checkpoint size / read bandwidth")
    memory_load_seconds: float | None = Field(
        None, ge=0, le=MAX_SECONDS, description="restore from peers' memory (method memory)"
    )


class Recovery(_Section):
    """What the job does after a failure."""

    strategy: Literal["restart", "replica", "shrink"] = Field(
        "restart", description="restart the job, recover the failed replica only, or shrink when spares run out"
    )
    stall_minutes: float = Field(
        0.0, ge=0, le=MAX_MINUTES, description="replica: whole-job pause while the quorum reconfigures"
    )


class Maintenance(_Section):
    """Planned downtime: the job checkpoints and stops for ``hours`` every ``every_days``."""

    every_days: float | None = Field(
        None,
        gt=0,
        le=MAX_DAYS,
        description="period; none: no planned maintenance; at most 100,000 windows in the horizon",
    )
    hours: float = Field(
        0.0, ge=0, le=MAX_HOURS, description="length of each window; shorter than the period (every_days x 24)"
    )


class FailureMode(_Section):
    """One way the run can fail, at a rate per instance of its scope."""

    name: CauseName = Field(
        ...,
        min_length=1,
        max_length=MAX_NAME_CHARS,
        description="cause name, unique among all modes (presets included); one line, no control characters",
    )
    scope: Literal["gpu", "node", "rack", "switch", "job"] = Field(
        ..., description="one instance: a GPU, a server, a rack, a leaf switch, or the job"
    )
    mtbf_hours: float = Field(
        ...,
        gt=0,
        le=1e12,
        description=(
            "mean time between failures per scope instance; a run refuses a mode that would fail more than "
            "max_events times per replication"
        ),
    )
    distribution: Literal["exponential", "weibull"] = Field(
        "exponential", description="law of the time between failures of one instance"
    )
    shape: float = Field(
        1.0, ge=0.1, le=100, description="Weibull shape; the scale keeps the mean at mtbf_hours"
    )
    action: ActionName = Field(
        "replace", description="; ".join(f"{name}: {a.meaning}" for name, a in ACTIONS.items())
    )
    slowdown: float = Field(
        1.0, ge=0.001, le=1, description="action slow: the node's speed, as a fraction of normal"
    )
    repair_hours: float | None = Field(
        None, ge=0, le=MAX_HOURS, description="mean time in repair (actions replace, slow)"
    )
    repair_sigma: float = Field(
        0.0, ge=0, le=5, description="lognormal spread (sigma of log) of repair times; 0: fixed"
    )
    detect_minutes: float = Field(
        0.0, ge=0, le=MAX_MINUTES, description="time before the job notices (slow: finds the straggler)"
    )
    detect_hours: float = Field(
        0.0, ge=0, le=MAX_HOURS, description="silent (data corruption): found this long after it struck"
    )
    source: Text = Field(
        "assumed", max_length=MAX_TEXT_CHARS, description="citation of the numbers, or assumed; no control characters"
    )


class Scenario(_Section):
    """A whole scenario file."""

    name: str = Field(
        ...,
        min_length=1,
        max_length=MAX_NAME_CHARS,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="results folder name",
    )
    title: Text = Field("", max_length=MAX_TEXT_CHARS, description="shown in reports; no control characters")
    failure_preset: str | None = Field(
        None, max_length=MAX_NAME_CHARS, description="a shipped failure mix, added before the file's own modes"
    )
    run: Run = Run()
    cluster: Cluster
    workload: Workload = Workload()
    checkpoint: Checkpoint = Checkpoint()
    storage: Storage = Storage()
    restart: Restart = Restart()
    recovery: Recovery = Recovery()
    repair: Repair = Repair()
    heterogeneity: Heterogeneity = Heterogeneity()
    retirement: Retirement = Retirement()
    maintenance: Maintenance = Maintenance()
    energy: Energy = Energy()
    power: Power = Power()
    cost: Cost = Cost()
    # Not strict: TOML gives a list of tables; each is still checked strictly as a FailureMode.
    failure: tuple[FailureMode, ...] = Field((), strict=False, max_length=MAX_MODES)

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

    @property
    def fleet_nodes(self) -> int:
        """Every server: the job's and the spares."""
        return self.job_nodes + self.cluster.spare_nodes

    def domain_nodes(self, scope: str) -> int | None:
        """Servers under one instance of a correlated scope (rack or switch), if the cluster says.

        A domain never holds more servers than the fleet: a larger size is the whole fleet (the same
        failures), so what a run holds in memory follows the fleet, not the size written.
        """
        per = self.cluster.nodes_per_rack if scope == "rack" else self.cluster.nodes_per_switch
        return None if per is None else min(per, self.fleet_nodes)

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
    def target_gpu_seconds(self) -> float | None:
        """The run's target (``run.target_*``) as useful GPU-seconds; ``None``: a fixed horizon.

        A useful GPU-second does ``peak x MFU`` model FLOP; a token costs ``6 x parameters`` FLOP.
        """
        r = self.run
        per_gpu_second = self.peak_flops_per_gpu * self.workload.mfu
        if r.target_flop is not None:
            return r.target_flop / per_gpu_second
        if r.target_tokens is not None and self.workload.parameters is not None:
            return 6.0 * self.workload.parameters * r.target_tokens / per_gpu_second
        if r.target_compute_days is not None:
            return r.target_compute_days * 86400.0 * self.cluster.gpus
        return None

    @property
    def capex_usd(self) -> float:
        """Owned hardware's cost: ``cost.capex_usd``, or its older place ``energy.capex_usd``."""
        c = self.cost.capex_usd
        return self.energy.capex_usd if c is None else c

    @property
    def amortization_years(self) -> float:
        """Write-off period of ``capex_usd``: ``cost.amortization_years``, or ``energy.amortization_years``."""
        y = self.cost.amortization_years
        return self.energy.amortization_years if y is None else y

    @property
    def priced(self) -> bool:
        """Whether the scenario puts a price on anything (energy, owned hardware, rented GPUs)."""
        return self.electricity_priced or self.capex_usd > 0 or self.cost.rented

    @property
    def electricity_priced(self) -> bool:
        """Whether energy has a price (flat, or by hour of the day)."""
        e = self.energy
        return e.usd_per_kwh > 0 or e.usd_per_kwh_by_hour is not None

    @property
    def legacy_power(self) -> bool:
        """Whether the file gives the older all-in power model (``energy.it_watts_per_gpu`` or ``idle_fraction``)."""
        e = self.energy
        # A resolved scenario writes every key: the older keys count only away from their defaults.
        return e.it_watts_per_gpu is not None or e.idle_fraction != type(e).model_fields["idle_fraction"].default

    @property
    def it_watts_per_gpu(self) -> float:
        """A job GPU's IT draw while computing, W: the GPU and its share of the server (and, in the older
        all-in model, everything else)."""
        w = self.energy.it_watts_per_gpu
        if self.legacy_power:
            return self.gpu.tdp_watts if w is None else w
        return self.gpu.tdp_watts * self.power.compute_fraction + self.power.host_watts_per_gpu


# ---------------------------------------------------------------- loading and overrides

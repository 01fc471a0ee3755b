"""Checks of a scenario that span several keys; each error names the key to change.

>>> from sim.config.loading import load_scenario_text
>>> load_scenario_text('name = "x"\\n[cluster]\\ngpus = 12\\n[checkpoint]\\nwrite_seconds = 1')
Traceback (most recent call last):
...
sim.config.errors.ScenarioError: cluster.gpus: must be a multiple of cluster.gpus_per_node (8), got 12
"""

from __future__ import annotations

from sim.config.actions import ACTIONS
from sim.config.errors import ScenarioError, shown
from sim.config.hardware import get_gpu
from sim.config.limits import MAX_CLOCKS, MAX_MAINTENANCE_WINDOWS, MAX_MODES, MAX_NODES, MAX_SECONDS
from sim.config.money import Energy
from sim.config.power import Power
from sim.config.presets import preset_modes
from sim.config.scenario import TARGET_KEYS, Scenario


def check_consistency(s: Scenario) -> None:
    """Checks that span several keys; each names the key to change."""
    c = s.cluster
    try:
        gpu = get_gpu(c.gpu)
    except KeyError as e:
        raise ScenarioError(f"cluster.gpu: {e.args[0]}") from None
    if c.gpus % c.gpus_per_node:
        raise ScenarioError(
            f"cluster.gpus: must be a multiple of cluster.gpus_per_node ({c.gpus_per_node}), got {c.gpus}"
        )
    if s.fleet_nodes > MAX_NODES:
        raise ScenarioError(
            f"cluster.spare_nodes: {s.job_nodes:,} job servers and {c.spare_nodes:,} spares make {s.fleet_nodes:,} "
            f"servers, above the {MAX_NODES:,} a run can hold"
        )
    try:
        gpu.peak_flops(s.workload.precision)
    except KeyError as e:
        raise ScenarioError(f"workload.precision: {e.args[0]}") from None
    if s.failure_preset is not None:
        try:
            preset_modes(s.failure_preset)
        except KeyError as e:
            raise ScenarioError(f"failure_preset: {e.args[0]}") from None
    if len(s.modes) > MAX_MODES:
        raise ScenarioError(f"failure: {len(s.modes)} failure modes with the preset's, above the limit of {MAX_MODES}")
    _check_clocks(s)
    seen: set[str] = set()
    n_preset = len(s.modes) - len(s.failure)
    for i, m in enumerate(s.modes):
        key = f"failure[{i - n_preset}]" if i >= n_preset else f"failure_preset {shown(s.failure_preset)}"
        if m.name in seen:
            raise ScenarioError(f"{key}.name: duplicate failure mode name {m.name!r}")
        seen.add(m.name)
        if m.action == "slow":
            if m.scope not in ("gpu", "node"):
                raise ScenarioError(f"{key}.scope: a straggler (action 'slow') is a GPU or a node ({m.name!r})")
            if m.slowdown >= 1:
                raise ScenarioError(f"{key}.slowdown: a straggler runs below full speed; give a fraction < 1")
        if ACTIONS[m.action].pulls_node and m.repair_hours is None:
            raise ScenarioError(f"{key}.repair_hours: required when action = {m.action!r} ({m.name!r})")
        if m.scope in ("rack", "switch") and s.domain_nodes(m.scope) is None:
            raise ScenarioError(f"{key}.scope: {m.scope!r} needs cluster.nodes_per_{m.scope} ({m.name!r})")
        if m.detect_hours > 0:
            if m.action != "restart":
                raise ScenarioError(f"{key}.action: a silent failure (detect_hours) must use 'restart' ({m.name!r})")
            if s.recovery.strategy == "replica":
                # Corruption spreads to every replica through the gradient all-reduce; rolling all of them back
                # to a checkpoint older than the last is a model of its own, not written yet.
                raise ScenarioError(
                    f"{key}.detect_hours: silent failures are modelled with the restart and shrink strategies "
                    "only, so far"
                )
        if m.scope == "job" and m.action == "replace":
            raise ScenarioError(f"{key}.action: a job-scope failure has no hardware to replace; use 'restart'")
    if s.checkpoint.policy != "fixed" and "interval_minutes" in s.checkpoint.model_fields_set:
        raise ScenarioError(
            f"checkpoint.interval_minutes: ignored under checkpoint.policy = {s.checkpoint.policy!r}, which computes "
            "the interval; set checkpoint.policy = 'fixed' to use it"
        )
    if s.checkpoint.write_seconds is None and (s.checkpoint_bytes is None or s.storage.write_gb_per_s is None):
        raise ScenarioError(
            "checkpoint.write_seconds: not given, and cannot be derived: "
            "set it, or set workload.parameters and storage.write_gb_per_s"
        )
    ck = s.checkpoint
    if ck.method != "sync":
        if ck.snapshot_seconds is None:
            raise ScenarioError(f"checkpoint.snapshot_seconds: required when checkpoint.method = {ck.method!r}")
        if ck.snapshot_seconds > s.write_seconds:
            raise ScenarioError(
                f"checkpoint.snapshot_seconds: the blocking snapshot ({ck.snapshot_seconds:g} s) cannot take longer "
                f"than the whole write ({s.write_seconds:g} s)"
            )
    if s.recovery.strategy != "restart":
        w, gpn = s.workload, c.gpus_per_node
        replica = w.tensor_parallel * w.pipeline_parallel
        if c.gpus % replica:
            raise ScenarioError(
                f"workload.tensor_parallel: a data-parallel replica of {w.tensor_parallel} x {w.pipeline_parallel} "
                f"= {replica} GPUs does not divide cluster.gpus ({c.gpus}); recovery.strategy = "
                f"{s.recovery.strategy!r} needs whole replicas"
            )
        if replica % gpn and gpn % replica:
            raise ScenarioError(
                f"workload.pipeline_parallel: a replica of {replica} GPUs must fill whole nodes of "
                f"{gpn} GPUs, or a node must hold whole replicas"
            )
        if c.gpus // s.unit_gpus < 2:
            raise ScenarioError(
                f"recovery.strategy: {s.recovery.strategy!r} needs at least two data-parallel replicas, "
                f"got {c.gpus // s.unit_gpus}"
            )
    _check_derived_times(s)
    _check_maintenance(s)
    _check_target(s)
    _check_cost(s)
    _check_power(s)
    _check_repair(s)
    if ck.method == "memory" and s.restart.memory_load_seconds is None:
        raise ScenarioError("restart.memory_load_seconds: required when checkpoint.method = 'memory'")
    if s.restart.load_checkpoint and (s.checkpoint_bytes is None or s.storage.read_gb_per_s is None):
        raise ScenarioError(
            "restart.load_checkpoint: true needs workload.parameters and storage.read_gb_per_s "
            "(or set it to false and include the load in restart.fixed_minutes)"
        )


def _check_clocks(s: Scenario) -> None:
    """The failure clocks of every server are held at once: one per mode, or one per GPU for a Weibull GPU mode."""
    per_node = sum(
        s.cluster.gpus_per_node if m.scope == "gpu" and m.distribution == "weibull" else 1
        for m in s.modes
        if m.scope in ("gpu", "node")
    )
    if s.fleet_nodes * per_node > MAX_CLOCKS:
        raise ScenarioError(
            f"failure: {s.fleet_nodes:,} servers x {per_node:,} failure clocks each (Weibull GPU-scope modes keep one "
            f"per GPU) is {s.fleet_nodes * per_node:,} clocks, above the limit of {MAX_CLOCKS:,}"
        )


def _check_derived_times(s: Scenario) -> None:
    """A write or load time derived from size and bandwidth obeys the bounds of a given one."""
    size = s.checkpoint_bytes
    for key, bandwidth, used in (
        ("storage.write_gb_per_s", s.storage.write_gb_per_s, s.checkpoint.write_seconds is None),
        ("storage.read_gb_per_s", s.storage.read_gb_per_s, s.restart.load_checkpoint),
    ):
        if used and size is not None and bandwidth is not None and size / (bandwidth * 1e9) > MAX_SECONDS:
            raise ScenarioError(
                f"{key}: {size:.3g} bytes at {bandwidth:.3g} GB/s take {size / (bandwidth * 1e9):.3g} s, "
                f"more than ten years ({MAX_SECONDS:.3g} s)"
            )


def _check_maintenance(s: Scenario) -> None:
    """A maintenance window fits in its period, and the horizon holds a bounded number of them."""
    m = s.maintenance
    if m.every_days is None:
        return
    if m.hours >= m.every_days * 24.0:
        raise ScenarioError(
            f"maintenance.hours: a window of {m.hours:g} h does not fit in its period, maintenance.every_days = "
            f"{m.every_days:g} ({m.every_days * 24.0:g} h): make the window shorter or the period longer"
        )
    windows = s.run.duration_days / m.every_days
    if windows > MAX_MAINTENANCE_WINDOWS * (1 + 1e-9):  # not a rounding error above an exact fit
        raise ScenarioError(
            f"maintenance.every_days: {m.every_days:g} days makes {windows:,.0f} maintenance windows in "
            f"{s.run.duration_days:g} days, above the limit of {MAX_MAINTENANCE_WINDOWS:,}"
        )


def _check_target(s: Scenario) -> None:
    """At most one target, and the model size a token target needs."""
    given = [f"run.{k}" for k in TARGET_KEYS if getattr(s.run, k) is not None]
    if len(given) > 1:
        raise ScenarioError(f"{given[1]}: give one target; {given[0]} is given too")
    if s.run.target_tokens is not None and s.workload.parameters is None:
        raise ScenarioError("run.target_tokens: needs workload.parameters (a token costs 6 x parameters FLOP)")


def _check_power(s: Scenario) -> None:
    """The power model in one place; one electricity price."""
    e = s.energy
    if s.legacy_power:
        changed = [k for k, f in Power.model_fields.items() if k in _POWER_MODEL and getattr(s.power, k) != f.default]
        if changed:
            key = "it_watts_per_gpu" if e.it_watts_per_gpu is not None else "idle_fraction"
            raise ScenarioError(
                f"energy.{key}: the older all-in power model, with power.{changed[0]} of the model by state; "
                "give one (see docs/power.md)"
            )
    if e.usd_per_kwh > 0 and e.usd_per_kwh_by_hour is not None:
        raise ScenarioError("energy.usd_per_kwh_by_hour: also a flat energy.usd_per_kwh; give one")


#: ``[power]`` keys that describe the draw (the older ``energy`` keys describe it too).
_POWER_MODEL = ("compute_fraction", "checkpoint_fraction", "idle_fraction", "host_watts_per_gpu", "other_it_fraction")


def _check_cost(s: Scenario) -> None:
    """Owned or rented, not both; the owned-hardware keys in one place."""
    e, c = s.energy, s.cost
    for key in ("capex_usd", "amortization_years"):
        # A resolved scenario writes every key: the older place counts only away from its default.
        if getattr(c, key) is not None and getattr(e, key) != Energy.model_fields[key].default:
            raise ScenarioError(f"cost.{key}: also given as energy.{key} (its older place); keep one")
    if c.rented and s.capex_usd > 0:
        where = "cost.capex_usd" if c.capex_usd is not None else "energy.capex_usd"
        raise ScenarioError(
            f"cost.usd_per_gpu_hour: a rental price with owned hardware ({where}) would pay for the GPUs twice; "
            "give one"
        )
    if c.usd_per_spare_node_hour > 0 and c.usd_per_gpu_hour == 0:
        raise ScenarioError(
            "cost.usd_per_spare_node_hour: spares are rented with the job's GPUs: set cost.usd_per_gpu_hour too"
        )


def _check_repair(s: Scenario) -> None:
    """Keys of an automated repair stage that would be ignored: there is none without ``auto_hours``.

    (The keys of a retirement policy other than the one chosen are ignored, not refused: a sweep over
    ``retirement.policy``, ``none`` included, needs no other change.)
    """
    r = s.repair
    if r.auto_hours is None:
        for key in ("auto_sigma", "escalate_probability", "auto_fail_probability"):
            # A value, not a key written: a resolved scenario (summary.json) writes every key at its default.
            if getattr(r, key) != type(r).model_fields[key].default:
                raise ScenarioError(f"repair.{key}: ignored without an automated repair stage; set repair.auto_hours")

"""Checks of a scenario that span several keys; each error names the key to change.

>>> from sim.config.loading import load_scenario_text
>>> load_scenario_text('name = "x"\\n[cluster]\\ngpus = 12\\n[checkpoint]\\nwrite_seconds = 1')
Traceback (most recent call last):
...
sim.config.errors.ScenarioError: cluster.gpus: must be a multiple of cluster.gpus_per_node (8), got 12
"""

from __future__ import annotations

import math

from sim.config.errors import ScenarioError
from sim.config.hardware import get_gpu
from sim.config.presets import preset_modes
from sim.config.scenario import Scenario


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
    try:
        gpu.peak_flops(s.workload.precision)
    except KeyError as e:
        raise ScenarioError(f"workload.precision: {e.args[0]}") from None
    if s.failure_preset is not None:
        try:
            preset_modes(s.failure_preset)
        except KeyError as e:
            raise ScenarioError(f"failure_preset: {e.args[0]}") from None
    seen: set[str] = set()
    n_preset = len(s.modes) - len(s.failure)
    for i, m in enumerate(s.modes):
        key = f"failure[{i - n_preset}]" if i >= n_preset else f"failure_preset {s.failure_preset!r}"
        if m.name in seen:
            raise ScenarioError(f"{key}.name: duplicate failure mode name {m.name!r}")
        seen.add(m.name)
        if m.action == "slow":
            if m.scope not in ("gpu", "node"):
                raise ScenarioError(f"{key}.scope: a straggler (action 'slow') is a GPU or a node ({m.name!r})")
            if m.slowdown >= 1:
                raise ScenarioError(f"{key}.slowdown: a straggler runs below full speed; give a fraction < 1")
        if m.action in ("replace", "slow") and m.repair_hours is None:
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
    if ck.method == "memory" and s.restart.memory_load_seconds is None:
        raise ScenarioError("restart.memory_load_seconds: required when checkpoint.method = 'memory'")
    if s.restart.load_checkpoint and (s.checkpoint_bytes is None or s.storage.read_gb_per_s is None):
        raise ScenarioError(
            "restart.load_checkpoint: true needs workload.parameters and storage.read_gb_per_s "
            "(or set it to false and include the load in restart.fixed_minutes)"
        )
    if not math.isfinite(s.horizon_seconds):
        raise ScenarioError(f"run.duration_days: must be finite, got {s.run.duration_days!r}")

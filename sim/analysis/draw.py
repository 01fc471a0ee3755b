"""Watts by state: what a job GPU draws computing, blocked on a checkpoint or standing still (its
server's host included), a spare server, and the rest of the IT; and the energy the ledger implies.

Pure arithmetic of the scenario (``[power]``, or the older all-in ``energy.it_watts_per_gpu``); the
trace over time is ``sim.model.power``'s.

>>> from sim.config.loading import load_scenario_text
>>> s = load_scenario_text('name = "t"\\n[cluster]\\ngpus = 100000\\nspare_nodes = 0\\n'
...                        '[checkpoint]\\nwrite_seconds = 1')
>>> round(draw(s).full_load_w / 1e6, 1)   # 100k H100: 700 W + 575 W host each, and 10% more IT beyond the servers
141.7
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.config.scenario import Scenario

#: Buckets of GPUs that do not compute, in the order of the span kinds of ``sim.model.spans``.
STILL: tuple[str, ...] = ("checkpoint", "detect", "restart", "wait", "maintenance")

#: Ledger buckets in which the GPUs compute (``slow`` is throughput lost while computing).
COMPUTING: tuple[str, ...] = ("useful", "lost", "slow")


SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Draw:
    """IT watts of one scenario: per job GPU by what it does (its host's share included), per spare
    server, and the constant rest; with the ramps and PUE."""

    compute_w: float
    still_w: tuple[float, ...]  # per bucket of ``STILL``
    ramp_from_w: float  # where a ramp up starts: the draw of a GPU standing still
    spare_node_w: float
    other_w: float
    full_load_w: float  # job computing, every spare powered, the rest
    ramp_up_s: float
    ramp_down_s: float
    pue: float

    def still(self, bucket: str) -> float:
        return self.still_w[STILL.index(bucket)]


def draw(scenario: Scenario, smoothing: bool = True) -> Draw:
    """The scenario's watts by state (``smoothing=False``: as if ``power.floor_fraction`` were 0)."""
    p, e, c = scenario.power, scenario.energy, scenario.cluster
    compute_w = scenario.it_watts_per_gpu  # the GPU and its host share (the older model: everything)
    if scenario.legacy_power:
        # The older all-in model: a job GPU draws it_watts_per_gpu computing and idle_fraction of it otherwise.
        gpu_idle = gpu_ckpt = compute_w * e.idle_fraction
        host = 0.0
        other_fraction = 0.0
    else:
        tdp = scenario.gpu.tdp_watts
        gpu_idle = tdp * p.idle_fraction
        gpu_ckpt = gpu_idle if p.checkpoint_fraction is None else tdp * p.checkpoint_fraction
        host = p.host_watts_per_gpu
        other_fraction = p.other_it_fraction
    floor = scenario.gpu.tdp_watts * p.floor_fraction if smoothing else 0.0
    still = tuple(host + (max(gpu_ckpt, floor) if b == "checkpoint" else max(gpu_idle, floor)) for b in STILL)
    spare_node_w = c.gpus_per_node * (gpu_idle + host)
    servers = c.gpus * compute_w + c.spare_nodes * spare_node_w
    full = servers / (1.0 - other_fraction)
    return Draw(
        compute_w=compute_w,
        still_w=still,
        ramp_from_w=host + max(gpu_idle, floor),
        spare_node_w=spare_node_w,
        other_w=full - servers,
        full_load_w=full,
        ramp_up_s=p.ramp_up_seconds,
        ramp_down_s=p.ramp_down_seconds,
        pue=e.pue,
    )


def ledger_energy(
    scenario: Scenario, gpu_seconds: Mapping[str, float], seconds: float, spare_node_s: float
) -> dict[str, float]:
    """IT energy (MWh) by group (``ENERGY_GROUPS``) from the ledger's GPU-seconds, with no ramps:
    what the trace integrates to when ``power.ramp_*_seconds`` are 0. ``spare_node_s``: powered
    spare server-seconds.

    >>> from sim.config.loading import load_scenario_text
    >>> s = load_scenario_text('name = "t"\\n[cluster]\\ngpus = 8\\nspare_nodes = 0\\n[checkpoint]\\nwrite_seconds = 1')
    >>> e = ledger_energy(s, {"useful": 8 * 3600.0}, 3600.0, 0.0)
    >>> round(e["computing"] * 1e6)   # 8 x (700 W + 575 W) for an hour, in Wh
    10200
    """
    d = draw(scenario)
    per_mwh = 1.0 / (SECONDS_PER_HOUR * 1e6)
    out = {"computing": sum(gpu_seconds.get(b, 0.0) for b in COMPUTING) * d.compute_w * per_mwh}
    out.update({b: gpu_seconds.get(b, 0.0) * d.still(b) * per_mwh for b in STILL})
    out["spares"] = spare_node_s * d.spare_node_w * per_mwh
    out["other_it"] = seconds * d.other_w * per_mwh
    return out

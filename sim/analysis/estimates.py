"""The analytic view of a scenario (``trainsim check``): job MTBF by cause, Young and Daly intervals, ETTR.

Closed forms only, no simulation: charts of sweeps use it too, so they mark the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

from sim.analysis.analytic import (
    daly_ettr,
    daly_interval,
    first_order_ettr,
    instances_in_job,
    interval_seconds,
    job_failure_rates_per_hour,
    job_mtbf_seconds,
    mean_detect_seconds,
    young_interval,
)
from sim.analysis.completion import completion_moments
from sim.analysis.draw import draw
from sim.analysis.memory import memory_json
from sim.analysis.plausibility import scenario_flags
from sim.config.scenario import Scenario


def _minutes(seconds: float) -> float | None:
    return None if math.isinf(seconds) else seconds / 60.0


def check_report(scenario: Scenario) -> dict[str, Any]:
    """The analytic view of a scenario, as JSON-ready data (times in the unit their key names).

    Intervals, ETTR and the time to train a target assume exponential failures and instant spares
    (Young 1974, Daly 2006; ``sim.analysis.completion``); detection delay counts as part of the
    restart. ``None`` means "no failures: not applicable" (or, for the time to train, no target).

    >>> from sim.config.loading import load_scenario_text
    >>> s = load_scenario_text('''name = "daly"
    ... [cluster]
    ... gpus = 8
    ... [checkpoint]
    ... write_seconds = 300
    ... [restart]
    ... fixed_minutes = 10
    ... [[failure]]
    ... name = "crash"
    ... scope = "job"
    ... mtbf_hours = 24
    ... action = "restart"''')
    >>> c = check_report(s)
    >>> round(c["young_interval_minutes"]), round(c["daly_interval_minutes"]), c["job_mtbf_hours"]
    (120, 117, 24.0)
    """
    s = scenario
    mtbf = job_mtbf_seconds(s)
    rates = job_failure_rates_per_hour(s)
    horizon_h = s.horizon_seconds / 3600.0
    write = s.write_seconds
    # Young and Daly trade what a checkpoint blocks (the write, or an async/memory snapshot) against rework.
    block = s.blocking_seconds
    tau = interval_seconds(s)
    detect = mean_detect_seconds(s)
    finite = not math.isinf(mtbf)
    modes = sorted(s.modes, key=lambda m: -rates[m.name])
    ettr = daly_ettr(tau, block, s.memory_restart_seconds + detect, mtbf)
    target = s.target_gpu_seconds
    train_mean = train_var = math.nan
    if target is not None:
        work = target / s.cluster.gpus  # seconds of computing of the whole job
        train_mean, train_var = completion_moments(work, tau, block, s.memory_restart_seconds + detect, mtbf)
    return {
        "scenario": s.name,
        "title": s.title,
        "gpu": s.cluster.gpu,
        "gpus": s.cluster.gpus,
        "gpus_per_node": s.cluster.gpus_per_node,
        "job_nodes": s.job_nodes,
        "spare_nodes": s.cluster.spare_nodes,
        "precision": s.workload.precision,
        "peak_flop_per_s_per_gpu": s.peak_flops_per_gpu,
        "mfu": s.workload.mfu,
        "duration_days": s.run.duration_days,
        "theoretical_flop": s.cluster.gpus * s.peak_flops_per_gpu * s.horizon_seconds,
        "full_load_it_mw": draw(s).full_load_w / 1e6,
        "full_load_facility_mw": draw(s).full_load_w * s.energy.pue / 1e6,
        "standing_still_it_mw": _standing_still_w(s) / 1e6,
        "job_mtbf_hours": mtbf / 3600.0 if finite else None,
        "expected_failures": sum(rates.values()) * horizon_h,
        "causes": [
            {
                "name": m.name,
                "scope": m.scope,
                "instances": instances_in_job(s, m),
                "mtbf_hours_per_instance": m.mtbf_hours,
                "job_mtbf_hours": 1.0 / rates[m.name],
                "expected_failures": rates[m.name] * horizon_h,
                "action": m.action,
            }
            for m in modes
        ],
        "checkpoint_policy": s.checkpoint.policy,
        "checkpoint_bytes": s.checkpoint_bytes,
        "checkpoint_method": s.checkpoint.method,
        "write_seconds": write,
        "blocking_seconds": block,
        "load_seconds": s.load_seconds,
        "restart_minutes": s.restart_seconds / 60.0,
        "mean_detect_minutes": detect / 60.0,
        "young_interval_minutes": _minutes(young_interval(block, mtbf)) if finite else None,
        "daly_interval_minutes": _minutes(daly_interval(block, mtbf)) if finite else None,
        "interval_minutes_used": tau / 60.0,
        "first_order_ettr": first_order_ettr(tau, write, s.restart_seconds, mtbf, detect),
        "daly_ettr": ettr,
        "effective_compute_ratio_estimate": s.workload.mfu * ettr,
        "target_key": s.run.target_key,
        "time_to_train_days_estimate": None if target is None else train_mean / 86400.0,
        "time_to_train_days_sd": None if target is None else math.sqrt(train_var) / 86400.0,
        "memory": memory_json(s),
        # What run, sweep and compare will warn about (sim.analysis.plausibility), the memory check included.
        "warnings": [f.text for f in scenario_flags(s)],
    }


def _standing_still_w(s: Scenario) -> float:
    """IT watts while the whole job stands still (restarting): what a stop drops the draw to."""
    d = draw(s)
    return d.full_load_w - s.cluster.gpus * (d.compute_w - d.still("restart"))

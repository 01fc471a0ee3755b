"""Closed forms: job MTBF, Young's and Daly's checkpoint intervals, Daly's and first-order ETTR.

All times in seconds. Daly's own example (R = 10 min, delta = 5 min, M = 24 h) gives 117 minutes:

>>> round(daly_interval(300.0, 86400.0) / 60)
117
>>> round(young_interval(300.0, 86400.0) / 60)
120
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.config.actions import ACTIONS
from sim.config.errors import ScenarioError

if TYPE_CHECKING:
    from sim.config.scenario import FailureMode, Scenario


def instances_in_job(scenario: Scenario, mode: FailureMode) -> int:
    """How many instances of the mode's scope the job spans (GPUs, nodes, or the job itself)."""
    if mode.scope == "gpu":
        return scenario.cluster.gpus
    if mode.scope == "node":
        return scenario.job_nodes
    if mode.scope in ("rack", "switch"):
        per = scenario.domain_nodes(mode.scope) or 1
        return math.ceil(scenario.job_nodes / per)  # the job's nodes fill whole domains from the first
    return 1


def job_failure_rates_per_hour(scenario: Scenario) -> dict[str, float]:
    """Long-run failure rate of the whole job per mode: instances / MTBF (renewal theorem)."""
    return {m.name: instances_in_job(scenario, m) / m.mtbf_hours for m in scenario.modes}


def _interrupting(scenario: Scenario) -> dict[str, float]:
    # Stragglers slow the job down but do not stop it: they are not failures of the job.
    rates = job_failure_rates_per_hour(scenario)
    return {m.name: rates[m.name] for m in scenario.modes if ACTIONS[m.action].stops_job}


def job_mtbf_seconds(scenario: Scenario) -> float:
    """Mean time between failures that stop the job, all modes together; ``inf`` with none."""
    rate = sum(_interrupting(scenario).values())
    return math.inf if rate == 0 else 3600.0 / rate


def mean_detect_seconds(scenario: Scenario) -> float:
    """Rate-weighted mean detection delay of a job failure."""
    rates = _interrupting(scenario)
    total = sum(rates.values())
    if total == 0:
        return 0.0
    return sum(rates[m.name] * m.detect_minutes * 60.0 for m in scenario.modes if m.name in rates) / total


def young_interval(write_s: float, mtbf_s: float) -> float:
    """Young (1974): tau = sqrt(2 delta M)."""
    return math.sqrt(2.0 * write_s * mtbf_s)


def daly_interval(write_s: float, mtbf_s: float) -> float:
    """Daly (2006), higher-order optimum; M itself when delta >= 2M."""
    if write_s >= 2.0 * mtbf_s:
        return mtbf_s
    x = write_s / (2.0 * mtbf_s)
    return math.sqrt(2.0 * write_s * mtbf_s) * (1.0 + math.sqrt(x) / 3.0 + x / 9.0) - write_s


#: Above this, math.exp overflows a float (e^709.8 is the largest).
_EXP_MAX = 700.0


def daly_ettr(tau_s: float, write_s: float, restart_s: float, mtbf_s: float) -> float:
    """Daly's expected useful fraction: tau / (M e^{R/M} (e^{(tau+delta)/M} - 1)).

    An interval or a restart of hundreds of MTBFs gives an ETTR that underflows to 0, not an overflow:

    >>> round(daly_ettr(3600.0, 60.0, 600.0, 86400.0), 4)
    0.9563
    >>> daly_ettr(1e9, 60.0, 600.0, 3600.0)
    0.0
    """
    if math.isinf(mtbf_s):
        return tau_s / (tau_s + write_s)
    x, r = (tau_s + write_s) / mtbf_s, restart_s / mtbf_s
    if x < _EXP_MAX and r < _EXP_MAX:
        return tau_s / (mtbf_s * math.exp(r) * math.expm1(x))
    # In logarithms, where e^x would overflow: log(e^x - 1) = x + log(1 - e^-x).
    return math.exp(math.log(tau_s) - math.log(mtbf_s) - r - x - math.log(-math.expm1(-x)))


def first_order_ettr(tau_s: float, write_s: float, restart_s: float, mtbf_s: float, detect_s: float = 0.0) -> float:
    """First-order estimate: 1 - delta/(tau+delta) - (tau/2 + delta + detect + R)/M, floored at 0.

    >>> round(first_order_ettr(3600.0, 60.0, 600.0, 86400.0), 4)
    0.9555
    """
    waste = write_s / (tau_s + write_s)
    if not math.isinf(mtbf_s):
        waste += ((tau_s + write_s) / 2.0 + detect_s + restart_s) / mtbf_s
    return max(0.0, 1.0 - waste)


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
    write = scenario.blocking_seconds
    if write <= 0:
        raise ScenarioError(f"checkpoint.policy: {policy!r} needs a blocking checkpoint time above 0 s")
    return young_interval(write, mtbf) if policy == "young" else daly_interval(write, mtbf)

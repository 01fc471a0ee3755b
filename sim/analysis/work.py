"""What a replication will cost, estimated before any of it is spent: its expected number of events.

A replication draws every failure of every server (spares included) over the horizon, then plays
those that hit the job, each an interruption of a few SimPy events. Time and memory grow with these
counts, and their expectations are closed forms (``sim.analysis.stationary``): instances x the
expected count of one instance per failure mode (horizon / MTBF in a fleet in steady state, whatever
the law and however the servers differ; the renewal function of a fresh Weibull clock for
``cluster.fleet_age = "new"``, above horizon / MTBF for a shape below 1), one row per server for a
rack or switch failure, and horizon / period maintenance windows. Every clock renews only itself (a
repair renews the part that failed), so they are exact but for repairs, whose downtime removes some
failures and whose failed repairs add some. Checkpoints cost no event:
the job books them in closed form within each run segment.

A run whose expected count is above a limit (``DEFAULT_MAX_EVENTS``, ``max_events`` to raise it) is
refused up front, naming the source that dominates, rather than running for hours or exhausting memory:
a failure storm (a job MTBF of seconds over a 100-day horizon) is millions of interruptions.

>>> from sim.config.loading import load_scenario_text
>>> s = load_scenario_text('''name = "storm"
... [cluster]
... gpus = 64
... [checkpoint]
... write_seconds = 30
... [[failure]]
... name = "crash"
... scope = "job"
... mtbf_hours = 0.001
... action = "restart"''')
>>> round(expected_events(s)[0].events)
2400000
>>> try:
...     check_work(s)
... except WorkLimitError as e:
...     print(e)  # doctest: +NORMALIZE_WHITESPACE
failure[0].mtbf_hours: about 2.4e+06 events per replication, above the limit of 2,000,000:
failure mode 'crash' (job scope, MTBF 0.001 h) makes 2.4e+06 of them in 100 days
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.analysis.stationary import mode_count
from sim.config.actions import ACTIONS
from sim.config.errors import WorkLimitError
from sim.config.limits import DEFAULT_MAX_EVENTS
from sim.config.scenario import FailureMode, Repair, Scenario

__all__ = ["DEFAULT_MAX_EVENTS", "Source", "check_work", "drawn_instances", "expected_events"]


@dataclass(frozen=True)
class Source:
    """Where expected events come from: what it is, the key that sets its rate, and how many per replication."""

    label: str
    key: str
    events: float


def drawn_instances(scenario: Scenario, mode: FailureMode) -> int:
    """Failure rows a mode's instances make per failure over the whole fleet (spares included).

    A rack or switch failure is a row for every server under it, so it counts the fleet's servers.
    """
    if mode.scope == "job":
        return 1
    if mode.scope == "gpu":
        return scenario.fleet_nodes * scenario.cluster.gpus_per_node
    return scenario.fleet_nodes


def left_fault_factor(repair: Repair) -> float:
    """How many times as many rows a server's own pulled failures make when repairs can leave the fault.

    A failure leaves the fault with probability q (a failed repair, or a misdiagnosis) and the next
    gap is then u times shorter: a renewal of mean gap (1 - q + q / u) / rate, an upper bound when the
    raised clock is one of several. A misdiagnosis adds the healthy server's row.

    >>> left_fault_factor(Repair(manual_fail_probability=0.5, unfixed_multiplier=3.0))
    1.5
    """
    r = repair
    if r.auto_hours is None:
        fail = r.manual_fail_probability
    else:
        e = r.escalate_probability
        fail = (1 - e) * r.auto_fail_probability + e * r.manual_fail_probability
    p = r.misdiagnosis_probability
    q = p + (1 - p) * fail
    return (1 + p) / (1 - q + q / r.unfixed_multiplier)


def expected_events(scenario: Scenario) -> list[Source]:
    """Expected events of one replication, by source: each failure mode, then maintenance windows."""
    s = scenario
    hours = s.horizon_seconds / 3600.0
    n_preset = len(s.modes) - len(s.failure)
    out = []
    for i, m in enumerate(s.modes):
        key = f"failure[{i - n_preset}].mtbf_hours" if i >= n_preset else f"failure_preset {s.failure_preset!r}"
        label = f"failure mode {m.name!r} ({m.scope} scope, MTBF {m.mtbf_hours:.3g} h)"
        events = drawn_instances(s, m) * mode_count(m, hours, s.cluster.fleet_age)
        if m.scope in ("gpu", "node") and ACTIONS[m.action].pulls_node:
            events *= left_fault_factor(s.repair)
        out.append(Source(label, key, events))
    if s.maintenance.every_days is not None:
        windows = s.run.duration_days / s.maintenance.every_days
        out.append(Source(f"maintenance every {s.maintenance.every_days:g} days", "maintenance.every_days", windows))
    return out


def check_work(scenario: Scenario, max_events: float = DEFAULT_MAX_EVENTS) -> None:
    """Refuse (``WorkLimitError``) a scenario whose replications expect more than ``max_events`` events each."""
    sources = expected_events(scenario)
    total = sum(x.events for x in sources)
    if total <= max_events:
        return
    top = max(sources, key=lambda x: x.events)
    raise WorkLimitError(
        f"{top.key}: about {total:.3g} events per replication, above the limit of {max_events:,.0f}: "
        f"{top.label} makes {top.events:.3g} of them in {scenario.run.duration_days:g} days"
    )

"""Expected failures of a job's servers when bad servers fail more often until a repair cures them.

A fleet of N servers, J of them in the job; ``bad_nodes`` of them fail at ``multiplier`` times a
good server's rate ``lam`` (exponential clocks), and a repair that works makes a bad server good
(AIReSim's model; trainsim's ``repair.cures_bad_nodes``). While the job holds J servers, each
failing at its own rate, the expected number of its failures over H is

    E = J lam H + (multiplier - 1) lam D,

with D the time bad servers spend in the job. A bad server fails 1 / q times before a repair cures it
(q: the chance that a repair works), after 1 / (multiplier lam) of up time each; a share phi of those
failures strike while it is in the job, so

    D = bad_nodes phi (1 - exp(-q multiplier lam H)) / (q multiplier lam)

(the last factor: cured within the horizon, in up time), that is E = J lam H + (1 - 1 / multiplier) B
with B = bad_nodes phi (1 - exp(-q multiplier lam H)) / q failures of bad servers in the job.

When only servers running the job fail (AIReSim), phi = 1 and ``bad_nodes`` counts the bad servers
that ever run. When every server fails, in the job or not (trainsim), a bad server that starts in the
job (J / N of them) fails there first; after a repair that did not cure it, it waits in the spare pool
and reaches the job before failing again with probability ``reach``:
phi = (J / N)(q + reach (1 - q)) + (1 - J / N) reach.

AIReSim's Table 1 fleet, 4,096 job servers at 0.01 failures a day, 654 of 4,360 servers bad at 6x,
cured by 76% of repairs, 256 days; without bad servers the count would be 10,486:

>>> f = CuredFleet(job_nodes=4096, fleet_nodes=4360, rate=0.01 / 24, bad_nodes=654, multiplier=6.0, cure=0.76)
>>> round(f.all_good(256 * 24)), round(f.never_cured(256 * 24)), round(f.expected(256 * 24))
(10486, 18350, 11203)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.analysis.stationary import good_multiplier

if TYPE_CHECKING:
    from sim.config.scenario import Scenario


@dataclass(frozen=True)
class CuredFleet:
    """A job's servers within a fleet of good and bad servers; rates per hour, times in hours."""

    job_nodes: int
    fleet_nodes: int
    rate: float  # a good server's failures per hour
    bad_nodes: float
    multiplier: float  # a bad server's rate / a good server's
    cure: float  # chance that a repair of a bad server makes it good
    repair_hours: float = 0.0  # mean time out of service per failure
    wait_hours: float = 0.0  # time a repaired server waits in the spare pool, failing, before the job takes it

    @property
    def reach(self) -> float:
        """Chance that a bad server back from a repair reaches the job before it fails again."""
        return math.exp(-self.multiplier * self.rate * self.wait_hours)

    @property
    def mean_rate(self) -> float:
        """The fleet's mean rate per server at the start."""
        return self.rate / good_multiplier(self.bad_nodes / self.fleet_nodes, self.multiplier)

    @property
    def share_in_job(self) -> float:
        """phi: the share of a bad server's failures (until cured) that strike in the job."""
        j, q, p = self.job_nodes / self.fleet_nodes, self.cure, self.reach
        return j * (q + p * (1.0 - q)) + (1.0 - j) * p

    def all_good(self, hours: float) -> float:
        """Failures if every server were good."""
        return self.job_nodes * self.rate * hours

    def never_cured(self, hours: float) -> float:
        """Failures at the fleet's mean rate: bad servers never cured, never out of service."""
        return self.job_nodes * self.mean_rate * hours

    def in_service(self, hours: float) -> float:
        """Failures without cures, in steady state: each server alternates up time and repairs, and the job
        takes its servers from those in service, less those that fail while they wait in the spare pool.

        A server of rate r is in service 1 / (1 + r repair_hours) of the time and reaches the job with
        probability exp(-r wait_hours); the job's rate is the mean over those weights.
        """
        weights = []
        for count, r in ((self.fleet_nodes - self.bad_nodes, self.rate), (self.bad_nodes, self.multiplier * self.rate)):
            w = count * math.exp(-r * self.wait_hours) / (1.0 + r * self.repair_hours)
            weights.append((w, r))
        rate = sum(w * r for w, r in weights) / sum(w for w, _ in weights)
        return self.job_nodes * rate * hours

    def bad_failures(self, hours: float) -> float:
        """Failures of bad servers in the job over ``hours``, before a repair cures them."""
        if self.cure <= 0:
            raise ValueError("cure must be above 0 (without cures use never_cured)")
        decay = self.cure * self.multiplier * self.rate
        return self.bad_nodes * self.share_in_job * -math.expm1(-decay * hours) / self.cure

    def expected(self, hours: float) -> float:
        """Failures of the job's servers over ``hours`` when repairs cure bad servers.

        Each failure of a bad server stands for 1 / (multiplier lam) of its time in the job, in which a
        good server would have failed 1 / multiplier times: E = J lam H + (1 - 1 / multiplier) B.
        """
        return self.all_good(hours) + (1.0 - 1.0 / self.multiplier) * self.bad_failures(hours)


def cure_probability(scenario: Scenario) -> float:
    """Chance that a repair makes a bad server good: the stage it ends in works (0 without cures)."""
    r = scenario.repair
    if not r.cures_bad_nodes:
        return 0.0
    if r.auto_hours is None:
        return 1.0 - r.manual_fail_probability
    e = r.escalate_probability
    return (1.0 - e) * (1.0 - r.auto_fail_probability) + e * (1.0 - r.manual_fail_probability)


def cured_fleet(scenario: Scenario) -> CuredFleet:
    """The fleet of a scenario whose failures are exponential server (or GPU) modes that replace.

    ``wait_hours`` is the spare pool's first-in first-out wait W: the spares not in repair over the job's
    failure rate, both at the fleet's mean rate (servers in repair: Little's law); a bad server reaches
    the job unless it fails first, with probability exp(-multiplier lam W).
    """
    modes = [m for m in scenario.modes if m.scope in ("gpu", "node")]
    if not modes or any(m.distribution != "exponential" or m.action != "replace" for m in modes):
        raise ValueError("cured_fleet needs server or GPU modes, all exponential, that send the server to repair")
    per_node = {"gpu": scenario.cluster.gpus_per_node, "node": 1}
    mean_rate = sum(per_node[m.scope] / m.mtbf_hours for m in modes)
    h = scenario.heterogeneity
    bad, mult = h.bad_node_fraction, h.bad_node_multiplier
    rate = mean_rate * good_multiplier(bad, mult)  # the mode's mtbf_hours is the fleet mean
    repair_hours = sum(per_node[m.scope] / m.mtbf_hours * (m.repair_hours or 0.0) for m in modes) / mean_rate
    r = scenario.repair
    if r.auto_hours is not None:
        repair_hours = r.auto_hours + r.escalate_probability * repair_hours
    n, j = scenario.fleet_nodes, scenario.job_nodes
    in_repair = n * mean_rate * repair_hours / (1.0 + mean_rate * repair_hours)
    wait = max(n - j - in_repair, 0.0) / (j * mean_rate)
    return CuredFleet(
        job_nodes=j,
        fleet_nodes=n,
        rate=rate,
        bad_nodes=bad * n,
        multiplier=mult,
        cure=cure_probability(scenario),
        repair_hours=repair_hours,
        wait_hours=wait,
    )

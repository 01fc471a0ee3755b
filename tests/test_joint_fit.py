"""``sim.analysis.joint_fit``: the joint likelihood by brute force, the count model where every cause is exponential,
and a decreasing hazard that the count model alone reads as bad nodes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import fleet_incidents
from scipy import special, stats

from sim.analysis.fit import CauseLikelihood
from sim.analysis.heterogeneity import fit_heterogeneity, two_point_law
from sim.analysis.histories import histories
from sim.analysis.incidents import Incident
from sim.analysis.joint_fit import Joint, fit_jointly, law
from sim.config.scenario import FailureMode, Heterogeneity


def test_joint_likelihood_is_the_mixture_of_the_causes_products() -> None:
    """Per node: sum over multipliers of p times the product of every cause's terms (each cause's own clock,
    the first interval a forward recurrence); by brute force with scipy's laws."""
    rows = [Incident(30.0, "a", "n1", 2, 40.0), Incident(100.0, "b", "n1", 3, 110.0)]
    rows.append(Incident(50.0, "a", "n2", 4, 60.0))
    h = histories(rows, nodes=3, window=200.0)
    f, m = 0.2, 6.0
    x = (float(special.logit(f)), math.log(m - 1.0))
    theta = [(0.8, math.log(300.0)), (1.0, math.log(500.0))]  # a: Weibull 0.8, b: exponential
    z, p = two_point_law(f, m)

    def cause(zz: float, k: float, mean: float, first: tuple[float, bool], fresh: list[tuple[float, bool]]) -> float:
        lam = mean / math.gamma(1 + 1 / k) / zz
        u = (first[0] / lam) ** k
        ll = math.log(zz * math.exp(-u) / mean) if first[1] else math.log(special.gammaincc(1 / k, u))
        w = stats.weibull_min(k, scale=lam)
        return ll + sum(w.logpdf(t) if hit else w.logsf(t) for t, hit in fresh)

    Clock = tuple[tuple[float, bool], list[tuple[float, bool]]]

    def node(a: Clock, b: Clock) -> float:
        return math.log(sum(pq * math.exp(cause(zq, 0.8, 300.0, *a) + cause(zq, 1.0, 500.0, *b))
                            for zq, pq in zip(z, p, strict=True)))  # fmt: skip

    expected = (
        node(((30.0, True), [(150.0, False)]), ((90.0, True), [(90.0, False)]))  # n1: b's clock 0-30, 40-100, 110-200
        + node(((50.0, True), [(140.0, False)]), ((190.0, False), []))  # n2: b's clock runs on over a's repair
        + node(((200.0, False), []), ((200.0, False), []))  # the silent node
    )
    assert math.isclose(Joint(h).loglik("bad-nodes", x, theta), expected, rel_tol=1e-10)
    lik = CauseLikelihood(h, 0, (z, p))
    assert lik.terms(*theta[0]).shape == (3, 2) and np.allclose(law("bad-nodes", x)[0], z)


@pytest.mark.slow
def test_exponential_causes_land_on_the_count_model() -> None:
    """Bad nodes and exponential causes: the joint fit finds the count model's bad nodes within a percent (a node's
    exponential terms are the Poisson of its count), whatever its test makes of a cause (here a false alarm at
    5%: nic as a Weibull of shape 1.33, p = 0.035)."""
    modes = [FailureMode(name="psu", scope="node", mtbf_hours=3000.0, repair_hours=5.0),
             FailureMode(name="nic", scope="node", mtbf_hours=6000.0, repair_hours=5.0)]  # fmt: skip
    bad = Heterogeneity(bad_node_fraction=0.1, bad_node_multiplier=8.0)
    h = histories(fleet_incidents(4, 300, 2000.0, modes=modes, heterogeneity=bad), 300, 2000.0)
    het, fits = fit_jointly(h)
    counts = fit_heterogeneity(h.counts, h.exposure, h.weight)
    assert het.model == counts.model == "bad-nodes" and {f.name: f.distribution for f in fits}["psu"] == "exponential"
    for key in ("fraction", "multiplier"):
        assert math.isclose(het.chosen.params[key], counts.chosen.params[key], rel_tol=0.01), key


def test_a_decreasing_hazard_is_not_read_as_bad_nodes() -> None:
    """Like servers with a Weibull (shape 0.5) cause: the count model alone finds them unlike (their repeats), the
    joint fit does not, and recovers the shape."""
    modes = [FailureMode(name="sw", scope="node", mtbf_hours=4000.0, distribution="weibull", shape=0.5,
                         repair_hours=2.0, repair_sigma=0.5),
             FailureMode(name="psu", scope="node", mtbf_hours=8000.0, repair_hours=24.0, repair_sigma=0.5)]  # fmt: skip
    rows = fleet_incidents(0, 400, 180 * 24.0, modes=modes, heterogeneity=Heterogeneity())
    h = histories(rows, 400, 180 * 24.0)
    assert fit_heterogeneity(h.counts, h.exposure, h.weight).p_value < 1e-3
    het, fits = fit_jointly(h)
    assert het.model == "none" and het.p_value > 0.05
    sw = {f.name: f for f in fits}["sw"]
    assert sw.distribution == "weibull" and sw.weibull.shape_ci95[0] < 0.5 < sw.weibull.shape_ci95[1]

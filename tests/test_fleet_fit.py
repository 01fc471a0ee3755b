"""``sim.analysis.fleet_fit``: the fitted fleet as scenario sections, and the parameter draws of predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import fleet_incidents

from sim.analysis.fleet_fit import ASSUMED_REPAIR_HOURS, fit_fleet
from sim.analysis.incidents import Incident
from sim.config.scenario import Heterogeneity


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    """Half a year of the builders' fleet (bad nodes, repairs), fitted."""
    return fit_fleet(fleet_incidents(15, 300, 180 * 24.0), 300, 180 * 24.0)


def test_scenario_sections_are_valid_and_as_fitted(fleet) -> None:  # type: ignore[no-untyped-def]
    """Failure modes and heterogeneity validate as scenario keys and carry the fitted numbers."""
    modes = fleet.failure_modes()
    assert [m.name for m in modes] == [m.name for m in fleet.modes]
    for m, f in zip(modes, fleet.modes, strict=True):
        assert m.mtbf_hours == f.mtbf_hours and m.action == "replace" and m.scope == "node"
        assert f.repair is not None and m.repair_hours == f.repair.mean_hours and m.repair_sigma == f.repair.sigma
    het = fleet.heterogeneity_section("fitted")
    assert het.bad_node_fraction == fleet.heterogeneity.chosen.params["fraction"] and not het.per_mode
    assert fleet.work(100.0) == pytest.approx(300 + sum(300 * 100.0 / m.mtbf_hours for m in fleet.modes))


def test_draws_centre_on_the_fit_and_spread_as_its_intervals(fleet) -> None:  # type: ignore[no-untyped-def]
    """2,000 draws: the fleet rate's log is centred on the fit with the spread of its interval, shares sum to
    the fit's, and every drawn heterogeneity is a valid scenario section."""
    rng = np.random.default_rng(1)
    rate = fleet.heterogeneity.chosen.params["rate"]
    lo, hi = fleet.heterogeneity.chosen.ci95["rate"]
    totals, fractions = [], []
    for _ in range(2000):
        modes, keys = fleet.draw(rng)
        totals.append(math.log(sum(1 / m["mtbf_hours"] for m in modes) / sum(1 / f.mtbf_hours for f in fleet.modes)))
        fractions.append(keys["bad_node_fraction"])
        Heterogeneity(**keys)
    t = np.array(totals)
    sd = min(math.log(hi / rate), math.log(rate / lo)) / 1.96
    assert abs(t.mean()) < 4.5 * t.std() / math.sqrt(t.size)
    assert t.std() == pytest.approx(sd, rel=0.1)
    fraction = fleet.heterogeneity.chosen.params["fraction"]
    assert min(fractions) > 0 and np.median(fractions) == pytest.approx(fraction, rel=0.1)


def test_a_log_without_ends_assumes_the_repair() -> None:
    """No end column: the repair is the assumed 72 h, fixed."""
    fit = fit_fleet([Incident(float(t), "psu", f"n{t % 7}", t) for t in range(3, 900, 30)], nodes=10, window=1000.0)
    assert not fit.has_ends and fit.repair(fit.modes[0]) == (ASSUMED_REPAIR_HOURS, 0.0)

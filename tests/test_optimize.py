"""The paired interval search against Daly's closed form."""

from __future__ import annotations

import pytest
from builders import tiny
from test_runner import M_S, daly_scenario

from sim.analysis.analytic import daly_ettr, daly_interval
from sim.config.errors import SweepError
from sim.experiment.optimize import optimize


@pytest.mark.slow
def test_finds_a_near_optimal_interval() -> None:
    """On Daly's assumptions the search ends where Daly's ETTR is within 0.2% of its optimum."""
    delta, r = 0.02, 0.1
    s = daly_scenario(0.5, delta, r)  # the starting interval is ignored: the search sets its own
    found = optimize(s, replications=30, seed=8, jobs=1)
    tau_daly = daly_interval(delta * M_S, M_S)
    assert found.daly_minutes == pytest.approx(tau_daly / 60)
    best = daly_ettr(found.best * 60, delta * M_S, r * M_S, M_S)
    assert best > daly_ettr(tau_daly, delta * M_S, r * M_S, M_S) - 0.002
    assert found.bracket[0] <= found.best <= found.bracket[1]
    assert not found.at_edge
    assert found.points["checkpoint.interval_minutes"].is_monotonic_increasing
    doc = found.to_json()
    assert doc["best"] == found.best and len(doc["points"]) == len(found.points)


def test_edge_of_range_is_reported() -> None:
    """A range that stops short of the optimum ends at its edge and says so."""
    s = daly_scenario(0.5, 0.02, 0.1)
    tau_daly_min = daly_interval(0.02 * M_S, M_S) / 60
    found = optimize(s, lo=tau_daly_min / 20, hi=tau_daly_min / 5, replications=5, seed=8, jobs=1)
    assert found.at_edge and found.best == pytest.approx(tau_daly_min / 5)


def test_needs_a_range_without_failures() -> None:
    """Without failures there is no Daly interval to centre the search on; errors speak of lo and hi, not options."""
    with pytest.raises(SweepError, match="give lo, hi") as no_range:
        optimize(tiny(failure=[]), replications=1)
    with pytest.raises(SweepError, match="0 < lo < hi") as bad_range:
        optimize(tiny(), lo=5, hi=1, replications=1)
    assert no_range.value.argument == bad_range.value.argument == "range"
    assert "--" not in str(no_range.value) + str(bad_range.value)


def test_time_to_train_is_minimised_near_daly() -> None:
    """With a target, the shortest time to train is where Daly's ETTR peaks; the objective is a minimum."""
    from test_completion import daly_target

    delta, r = 0.02, 0.1
    s = daly_target(0.5, delta, r, work=2 * 86400.0)
    found = optimize(s, replications=12, seed=8, jobs=1, objective="time_to_train")
    assert found.objective == "time_to_train_days"
    means = found.points["time_to_train_days.mean"].to_numpy()
    assert found.best_mean == pytest.approx(means.min())
    tau_daly = daly_interval(delta * M_S, M_S)
    best = daly_ettr(found.best * 60, delta * M_S, r * M_S, M_S)
    assert best > daly_ettr(tau_daly, delta * M_S, r * M_S, M_S) - 0.005
    assert found.bracket[0] <= found.best <= found.bracket[1]


def test_a_time_objective_needs_a_target() -> None:
    """time_to_train without run.target_*: refused by name before any work."""
    with pytest.raises(SweepError, match="needs a target"):
        optimize(daly_scenario(0.5, 0.02, 0.1), replications=2, seed=1, objective="time_to_train")

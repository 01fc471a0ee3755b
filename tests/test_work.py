"""Work estimated before it is spent: expected events per replication, and the limits of a run and a sweep."""

from __future__ import annotations

import numpy as np
import pytest
from builders import tiny

import sim
from sim.analysis.work import DEFAULT_MAX_EVENTS, check_work, expected_events
from sim.config.errors import ScenarioError, SweepError, WorkLimitError
from sim.config.loading import with_overrides
from sim.experiment.grid import parse_values
from sim.model.failures import job_timeline, node_timeline

HOURS = 24.0  # tiny()'s horizon


def test_expected_events_are_instances_times_horizon_over_mtbf() -> None:
    """Each mode counts its instances over the whole fleet (spares included) x horizon / MTBF."""
    s = tiny({"failure.0.mtbf_hours": 2.0, "failure.1.mtbf_hours": 48.0, "failure.1.scope": "gpu"})
    crash, gpu = expected_events(s)
    assert crash.events == pytest.approx(HOURS / 2.0) and crash.key == "failure[0].mtbf_hours"
    assert gpu.events == pytest.approx(3 * 8 * HOURS / 48.0)  # 2 job nodes + 1 spare, 8 GPUs each
    assert "'gpu fault'" in gpu.label


def test_expected_events_match_the_drawn_failures() -> None:
    """The closed forms are the mean of what a replication draws (exponential: exactly, on average)."""
    s = tiny({"failure.0.mtbf_hours": 0.5, "failure.1.mtbf_hours": 6.0, "failure.1.action": "restart"})
    rng = np.random.default_rng(3)
    horizon = s.horizon_seconds
    job = [job_timeline(s.modes, horizon, rng)[0].size for _ in range(200)]
    nodes = [node_timeline(s.modes, s.fleet_nodes, 8, horizon, rng).time.size for _ in range(200)]
    crash, node = expected_events(s)
    assert np.mean(job) == pytest.approx(crash.events, rel=0.05)
    assert np.mean(nodes) == pytest.approx(node.events, rel=0.05)


def test_racks_count_every_server_under_them_and_maintenance_counts_windows() -> None:
    """A rack failure is a row per server under it; maintenance windows are horizon / period."""
    s = tiny(
        {"cluster.nodes_per_rack": 2, "maintenance.every_days": 0.25, "maintenance.hours": 1.0},
        failure=[{"name": "rack", "scope": "rack", "mtbf_hours": 12.0, "repair_hours": 1.0}],
    )
    rack, maintenance = expected_events(s)
    assert rack.events == pytest.approx(3 * HOURS / 12.0)
    assert maintenance.events == pytest.approx(4.0) and maintenance.key == "maintenance.every_days"


def test_preset_modes_name_the_preset() -> None:
    """A preset's mode is changed through the preset: the error names it."""
    s = tiny({"failure_preset": "llama3", "cluster.gpus": 16384})
    with pytest.raises(WorkLimitError, match="failure_preset 'llama3'"):
        check_work(s, max_events=1)


def test_the_dominant_source_is_named() -> None:
    """Above the limit, the message names the source with most events, its key and its count."""
    s = tiny({"failure.0.mtbf_hours": 1e-3, "failure.1.mtbf_hours": 1.0})
    with pytest.raises(WorkLimitError) as caught:
        check_work(s, max_events=1000)
    message = str(caught.value)
    assert message.startswith("failure[0].mtbf_hours: about 2.41e+04 events per replication, above the limit of 1,000")
    assert "'crash'" in message and "2.4e+04" in message
    assert isinstance(caught.value, ScenarioError) and caught.value.limit == "max_events"
    check_work(s)  # under the default


def test_shipped_scale_is_far_below_the_default() -> None:
    """A 100,000-GPU scenario of the llama3 mix expects thousands of events: three orders below the limit."""
    s = sim.load_scenario("scenarios/h100_100k_correlated.toml")
    assert sum(x.events for x in expected_events(s)) < DEFAULT_MAX_EVENTS / 100


def test_sweep_refuses_a_point_above_the_limit_before_any_work() -> None:
    """sim.sweep takes max_events and raises WorkLimitError (a ScenarioError) naming the point, before work."""
    s = tiny()
    grid = {"failure.0.mtbf_hours": [10.0, 0.1]}  # the second point: 240 crashes in 24 h
    with pytest.raises(WorkLimitError, match=r"failure\.0\.mtbf_hours=0\.1: failure\[0\]\.mtbf_hours") as caught:
        sim.sweep(s, grid, replications=1, jobs=1, max_events=100)
    assert "--" not in str(caught.value)
    assert len(sim.sweep(s, grid, replications=1, jobs=1, max_events=1000)) == 2


def test_sweep_errors_are_in_library_words() -> None:
    """sim.sweep's bad grids are SweepErrors that name no command-line option."""
    s = tiny()
    cases = [
        {},
        {"checkpoint.interval_minutes": []},
        {"checkpoint.interval_minutes": [10, 10]},
        {"checkpoint.interval_minutes": [10, "20"]},
        {"checkpoint.interval_minutes": [10, [20]]},
        {"checkpoint.interval_minutes": [-1]},
        {"checkpoint.interval_minutes": list(range(1, 102)), "restart.fixed_minutes": list(range(1, 101))},
    ]
    for params in cases:
        with pytest.raises(SweepError) as caught:
            sim.sweep(s, params, replications=1, jobs=1)
        assert "--" not in str(caught.value), str(caught.value)


def test_grid_size_is_known_before_its_values() -> None:
    """A range of a trillion values is refused without building it; max_points raises the limit."""
    with pytest.raises(SweepError, match="above the limit of 10,000 points") as caught:
        parse_values("1:1e12:1")
    assert caught.value.limit == "max_points"
    assert len(parse_values("1:20000:1", max_points=20_000)) == 20_000


def test_run_takes_the_limit_as_a_keyword() -> None:
    """sim.run refuses a failure storm with WorkLimitError, and max_events raises the limit."""
    # The keyword first: without it, the storm below would run (2.4 million interruptions).
    assert sim.run(tiny(), replications=1, max_events=10).replications  # type: ignore[call-arg]
    storm = with_overrides(tiny(), {"failure.0.mtbf_hours": 1e-5})
    with pytest.raises(WorkLimitError, match="failure"):
        sim.run(storm, replications=1)

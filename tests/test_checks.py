"""Cross-key checks run on every path into a scenario: files, dicts and overrides."""

from __future__ import annotations

import pytest
from builders import tiny

from sim.config.errors import ScenarioError
from sim.config.loading import load_scenario_text, with_overrides


def test_checks_on_text_dict_and_overrides() -> None:
    """The same multiple-of-gpus_per_node check fires from TOML text, a dict and an override."""
    with pytest.raises(ScenarioError, match=r"cluster\.gpus: must be a multiple"):
        load_scenario_text('name = "x"\n[cluster]\ngpus = 12\n[checkpoint]\nwrite_seconds = 1')
    with pytest.raises(ScenarioError, match=r"cluster\.gpus: must be a multiple"):
        tiny({"cluster.gpus": 12})
    with pytest.raises(ScenarioError, match=r"cluster\.gpus: must be a multiple"):
        with_overrides(tiny(), {"cluster.gpus": 20})


def test_preset_mode_errors_name_the_preset() -> None:
    """A clash with a preset's mode names the preset, since its modes are not in the file."""
    with pytest.raises(ScenarioError, match="duplicate failure mode name 'faulty GPU'"):
        tiny({"failure_preset": "llama3", "failure.0.name": "faulty GPU"})


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"repair.escalate_probability": 0.8}, r"repair\.escalate_probability: ignored without an automated"),
        ({"repair.auto_sigma": 1.0}, r"repair\.auto_sigma: ignored without an automated repair stage"),
        ({"repair.auto_fail_probability": 0.4}, r"repair\.auto_fail_probability: ignored without"),
    ],
)
def test_automated_stage_keys_without_one(overrides: dict[str, object], needle: str) -> None:
    """A key of the automated repair stage without one is refused by name."""
    with pytest.raises(ScenarioError, match=needle):
        tiny(overrides)


def test_repair_and_retirement_keys_where_they_apply() -> None:
    """The same keys pass with an automated stage; a retirement policy's keys pass under any policy (sweeps)."""
    s = tiny(
        {
            "repair.auto_hours": 2.0,
            "repair.escalate_probability": 0.8,
            "retirement.policy": "none",
            "retirement.failures": 3,
        }
    )
    assert s.repair.escalate_probability == 0.8 and s.retirement.failures == 3


def test_automated_stage_keys_at_their_defaults_pass_without_one() -> None:
    """A resolved scenario (summary.json) writes every key at its default: those pass without auto_hours."""
    s = tiny({"repair.escalate_probability": 0.0, "repair.auto_sigma": 0.0, "repair.auto_fail_probability": 0.0})
    assert s.repair.auto_hours is None


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        (
            {"run.target_flop": 1e24, "run.target_compute_days": 3.0},
            "run.target_compute_days: give one target; run.target_flop is given too",
        ),
        ({"run.target_tokens": 1e12}, "run.target_tokens: needs workload.parameters"),
        ({"cost.usd_per_gpu_hour": 2.0, "cost.capex_usd": 1e6}, "cost.usd_per_gpu_hour: a rental price with owned"),
        ({"cost.usd_per_gpu_hour": 2.0, "energy.capex_usd": 1e6}, "(energy.capex_usd)"),
        ({"cost.capex_usd": 1e6, "energy.capex_usd": 2e6}, "cost.capex_usd: also given as energy.capex_usd"),
        ({"cost.usd_per_spare_node_hour": 20.0}, "cost.usd_per_spare_node_hour: spares are rented with"),
        ({"run.start_date": "2025-02-30"}, "run.start_date: must be an ISO date"),
    ],
)
def test_targets_and_prices_are_checked(overrides: dict[str, object], needle: str) -> None:
    """One target at most, tokens need the model size, owned or rented (not both), dates are dates."""
    with pytest.raises(ScenarioError) as e:
        tiny(overrides)
    assert needle in str(e.value)


def test_the_older_place_of_capex_still_works() -> None:
    """energy.capex_usd and energy.amortization_years, from older files, mean cost.capex_usd and its period."""
    old = tiny({"energy.capex_usd": 4e9, "energy.amortization_years": 5.0})
    new = tiny({"cost.capex_usd": 4e9, "cost.amortization_years": 5.0})
    assert (old.capex_usd, old.amortization_years) == (new.capex_usd, new.amortization_years) == (4e9, 5.0)
    # A resolved scenario (every key written, as summary.json keeps it) loads again.
    assert with_overrides(new, {}).capex_usd == 4e9


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        (
            {"energy.it_watts_per_gpu": 1500.0, "power.host_watts_per_gpu": 400.0},
            "energy.it_watts_per_gpu: the older all-in power model, with power.host_watts_per_gpu",
        ),
        ({"energy.idle_fraction": 0.3, "power.idle_fraction": 0.2}, "energy.idle_fraction: the older all-in"),
        (
            {"energy.usd_per_kwh": 0.1, "energy.usd_per_kwh_by_hour": [0.1] * 24},
            "energy.usd_per_kwh_by_hour: also a flat energy.usd_per_kwh; give one",
        ),
        ({"energy.usd_per_kwh_by_hour": [0.1] * 23}, "energy.usd_per_kwh_by_hour"),
    ],
)
def test_one_power_model_and_one_price(overrides: dict[str, object], needle: str) -> None:
    """The older all-in power keys or [power]'s draw keys, not both; a flat price or 24 hourly ones."""
    with pytest.raises(ScenarioError) as e:
        tiny(overrides)
    assert needle in str(e.value)


def test_the_older_power_model_still_loads_and_resolves() -> None:
    """A file with energy.it_watts_per_gpu keeps the all-in model, also once resolved; ramps and floors combine."""
    old = tiny({"energy.it_watts_per_gpu": 1500.0, "power.floor_fraction": 0.5, "power.ramp_up_seconds": 10.0})
    assert old.legacy_power and old.it_watts_per_gpu == 1500.0
    assert with_overrides(old, {}).legacy_power
    assert not tiny().legacy_power

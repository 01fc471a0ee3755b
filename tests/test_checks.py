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

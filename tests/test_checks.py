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

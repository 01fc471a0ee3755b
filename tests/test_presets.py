"""The Llama 3 failure preset reproduces the paper's counts on the paper's fleet."""

from __future__ import annotations

import pytest
from builders import tiny

from sim.analysis.analytic import job_failure_rates_per_hour
from sim.config.presets import LLAMA3_COUNTS, llama3_modes, preset_modes


def test_counts_total_419() -> None:
    """Table 5 of the Llama 3 paper lists 419 unexpected interruptions."""
    assert sum(LLAMA3_COUNTS.values()) == 419
    assert len(llama3_modes()) == len(LLAMA3_COUNTS)


def test_expected_counts_on_the_paper_fleet() -> None:
    """On 16,384 GPUs for 54 days, each mode's expected count is the paper's count."""
    s = tiny({"failure_preset": "llama3", "cluster.gpus": 16384, "run.duration_days": 54}, failure=[])
    rates = job_failure_rates_per_hour(s)
    for name, count in LLAMA3_COUNTS.items():
        assert rates[name] * 54 * 24 == pytest.approx(count), name


def test_every_mode_is_sourced() -> None:
    """Every preset mode cites the paper, and assumed numbers say so."""
    for m in llama3_modes():
        assert "Llama 3" in m["source"]
        if m["action"] == "replace":
            assert "assumed" in m["source"]


def test_unknown_preset() -> None:
    """An unknown preset names the known ones."""
    with pytest.raises(KeyError, match="llama3"):
        preset_modes("gpt5")

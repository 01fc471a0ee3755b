"""The shipped scenarios and study script: they load, cite their numbers, and reproduce what they claim."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sim

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.toml"))
#: A `key = value` line whose value starts with a digit or a sign (a number).
NUMBER_LINE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*[-+]?\d")


def test_the_three_scenarios_are_shipped() -> None:
    """The product card's scenarios are all there."""
    assert {p.name for p in SHIPPED} >= {"h100_100k.toml", "llama3_16k.toml", "gpt4_a100_20k.toml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_scenario_loads_and_validates(path: Path) -> None:
    """Every shipped scenario loads, validates, has a title and a source for every failure mode."""
    scenario = sim.load_scenario(path)
    assert scenario.title
    assert scenario.modes
    assert all(m.source for m in scenario.modes)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_number_has_a_source_comment(path: Path) -> None:
    """Every numeric key in a shipped scenario carries a trailing comment (its source, or "assumed")."""
    bare = [
        line for line in path.read_text(encoding="utf-8").splitlines() if NUMBER_LINE.match(line) and "#" not in line
    ]
    assert bare == []


def test_llama3_16k_reproduces_the_paper() -> None:
    """llama3_16k gives 419 unexpected interruptions within 10% and ETTR above 0.90, beyond 3 standard errors."""
    n = 100
    result = sim.run(sim.load_scenario(SCENARIOS / "llama3_16k.toml"), replications=n, seed=20240723)
    runs = result.runs
    count, count_se = runs["interruptions"].mean(), runs["interruptions"].std(ddof=1) / math.sqrt(n)
    ettr, ettr_se = runs["ettr"].mean(), runs["ettr"].std(ddof=1) / math.sqrt(n)
    # The whole +-3 SE band of the mean must sit inside 419 +- 10%: a pass is not a lucky draw, and the
    # test cannot flake (Poisson SD ~20 gives SE ~2 at n = 100, against a 42-interruption margin).
    assert abs(count - 419) + 3 * count_se <= 0.10 * 419, (count, count_se)
    assert ettr - 3 * ettr_se > 0.90, (ettr, ettr_se)


def test_gpt4_theoretical_flop() -> None:
    """gpt4_a100_20k's theoretical FLOP is 20,000 A100 x 312 TFLOP/s dense BF16 x 95 days."""
    result = sim.run(sim.load_scenario(SCENARIOS / "gpt4_a100_20k.toml"), replications=1, seed=1)
    theoretical = result.runs["theoretical_flop"].iloc[0]
    assert theoretical == pytest.approx(20000 * 312e12 * 95 * 86400, rel=1e-12)
    # ... and its MFU puts the effective compute ratio near what the published 2.15e25 FLOP imply.
    assert result.runs["effective_compute_ratio"].iloc[0] == pytest.approx(2.15e25 / theoretical, abs=0.01)


def test_h100_100k_theoretical_flop() -> None:
    """h100_100k's theoretical FLOP is 100,000 H100 x 1978.9 TFLOP/s dense FP8 x 100 days."""
    result = sim.run(sim.load_scenario(SCENARIOS / "h100_100k.toml"), replications=1, seed=1)
    assert result.runs["theoretical_flop"].iloc[0] == pytest.approx(1e5 * 1978.9e12 * 100 * 86400, rel=1e-12)


def test_seed_figures_script_runs() -> None:
    """scenarios/seed_figures.py runs with a small --replications and exits 0."""
    proc = subprocess.run(
        [sys.executable, str(SCENARIOS / "seed_figures.py"), "--replications", "2", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "effective compute ratio" in proc.stdout

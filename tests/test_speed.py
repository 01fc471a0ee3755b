"""Throughput losses: the time of day and stragglers, integrated over the computing of a checkpoint rhythm."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sim.model.speed import DAY, Rhythm, Stragglers, slow_loss


def computing(rhythm: Rhythm, t: np.ndarray) -> np.ndarray:
    return (np.mod(t - rhythm.start, rhythm.cycle) < rhythm.compute).astype(float)


RHYTHMS = [Rhythm(123.0, 3700.0, 3600.0), Rhythm(0.0, 1300.0, 600.0), Rhythm(-50.0, 86400.0, 43200.0)]


@pytest.mark.parametrize("rhythm", RHYTHMS)
@pytest.mark.parametrize(("t0", "t1"), [(123.0, 50000.0), (500.0, 7000.0), (3700.0, 2.3 * DAY), (300.0, 323.0)])
def test_rhythm_integrals_are_the_numerical_ones(rhythm: Rhythm, t0: float, t1: float) -> None:
    """Computing time and the integral of the day's cosine over it, in closed form, against a fine sum."""
    t = np.linspace(t0, t1, 2_000_001)
    on = computing(rhythm, t)
    assert rhythm.compute_time(t0, t1) == pytest.approx(np.trapezoid(on, t), abs=(t1 - t0) * 1e-5)
    cos = np.trapezoid(on * np.cos(2 * math.pi * t / DAY), t)
    assert rhythm.cos_integral(t0, t1) == pytest.approx(cos, abs=(t1 - t0) * 1e-5)


def test_slowest_straggler_sets_the_pace() -> None:
    """Two stragglers at once: the job runs at the slower one's speed, charged to it."""
    s = Stragglers()
    a = s.add(0.0, 0.8, "a")
    b = s.add(50.0, 0.5, "b")
    s.end_of(a, 100.0)
    s.end_of(b, 150.0)
    always = Rhythm(0.0, 1.0, 1.0)
    assert slow_loss(s, 0.0, always, 0.0, 200.0) == pytest.approx({"a": 50 * 0.2, "b": 100 * 0.5})
    assert slow_loss(s, 0.0, always, 150.0, 200.0) == {}


def test_stragglers_slow_only_the_computing() -> None:
    """A straggler costs nothing while the job writes a checkpoint: only computing is slowed."""
    s = Stragglers()
    s.add(0.0, 0.5, "slow")
    assert slow_loss(s, 0.0, Rhythm(0.0, 100.0, 60.0), 0.0, 250.0) == pytest.approx({"slow": 0.5 * (60 + 60 + 50)})


def test_a_whole_day_of_computing_loses_half_the_amplitude() -> None:
    """Computing all day long at a dip of A at noon loses A / 2 of the day's work."""
    assert slow_loss(Stragglers(), 0.02, Rhythm(0.0, 1.0, 1.0), 0.0, DAY) == pytest.approx({None: 0.01 * DAY})


def test_losses_add_up_however_a_run_is_cut() -> None:
    """The loss of a run is the sum of its pieces' losses: bookings at any times give the same slow bucket."""
    s = Stragglers()
    s.end_of(s.add(1000.0, 0.7, "x"), 30000.0)
    rhythm = Rhythm(17.0, 3660.0, 3600.0)
    whole = slow_loss(s, 0.05, rhythm, 0.0, 2 * DAY)
    cuts = [0.0, 555.0, 4000.0, 29999.0, 40000.0, 2 * DAY]
    parts = [slow_loss(s, 0.05, rhythm, a, b) for a, b in itertools.pairwise(cuts)]
    for cause in whole:
        assert sum(p.get(cause, 0.0) for p in parts) == pytest.approx(whole[cause], rel=1e-9)

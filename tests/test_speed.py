"""Throughput losses: the time-of-day closed form and overlapping stragglers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model.speed import DAY, Stragglers, diurnal_loss


@pytest.mark.parametrize(("t0", "t1"), [(0.0, DAY), (3600.0, 7200.0), (40000.0, 50000.0), (0.0, 2.7 * DAY)])
def test_diurnal_loss_is_the_integral(t0: float, t1: float) -> None:
    """The closed form equals a numerical integral of 1 - speed over the interval."""
    t = np.linspace(t0, t1, 200_001)
    loss = 0.03 * (1 - np.cos(2 * math.pi * t / DAY)) / 2
    assert diurnal_loss(0.03, t0, t1) == pytest.approx(np.trapezoid(loss, t), rel=1e-6)


def test_slowest_straggler_sets_the_pace() -> None:
    """Two stragglers at once: the job runs at the slower one's speed, charged to it."""
    s = Stragglers()
    a = s.add(0.0, 0.8, "a")
    b = s.add(50.0, 0.5, "b")
    s.end_of(a, 100.0)
    s.end_of(b, 150.0)
    total, by_cause = s.loss(0.0, 200.0)
    assert by_cause == pytest.approx({"a": 50 * 0.2, "b": 100 * 0.5})
    assert total == pytest.approx(10.0 + 50.0)
    assert s.loss(150.0, 200.0) == (0.0, {})

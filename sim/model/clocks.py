"""A server's failure clocks: which clocks it has, and how their failure times are drawn.

Each server owns one clock per component instance and mode (a GPU-scope mode has ``gpus_per_node``
instances): the columns of a (servers x clocks) matrix. Exponential instances of one mode are merged
into one clock of the summed rate (memoryless, so the law of the failure times is unchanged);
Weibull instances keep a clock each.

A clock's time to failure is ``scale x E^(1/shape) / rate`` with E standard exponential (the Weibull
law by inversion) and ``rate`` the server's multiplier of the mode's failure rate (heterogeneity; 1
by default): a server with multiplier r fails r times as often, whatever the shape. For a Weibull
this is proportional hazards with the hazard multiplied by r^shape (the Weibull family is closed
under both). A fleet in steady state (``fleet_age = "stationary"``) draws the first failure of each
Weibull clock from the law's forward-recurrence distribution, ``scale x G^(1/shape) / rate`` with
G ~ Gamma(1/shape, 1); an exponential clock's is the law itself, so its draws do not change.

>>> import numpy as np
>>> from sim.config.scenario import FailureMode
>>> cols = clock_columns([FailureMode(name="g", scope="gpu", mtbf_hours=80.0, repair_hours=1.0)], 8, ("gpu",))
>>> len(cols), float(cols.scale[0]) / 3600.0   # eight exponential GPUs merge into one clock of mean 10 h
(1, 10.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.analysis.stationary import FleetAge, weibull_scale_hours
from sim.config.scenario import FailureMode


@dataclass(frozen=True)
class Columns:
    """The clocks of one server: for each, its mode's index, Weibull scale (s) and 1 / shape."""

    mode: np.ndarray
    scale: np.ndarray
    inv_shape: np.ndarray

    def __len__(self) -> int:
        return len(self.mode)

    @property
    def aged(self) -> np.ndarray:
        """Clocks whose forward-recurrence law is not their own (every shape but 1)."""
        return np.asarray(self.inv_shape != 1.0)

    def draw(self, rng: np.random.Generator, n: int, rate: np.ndarray | None = None) -> np.ndarray:
        """Times to failure (s) of every clock of ``n`` servers as good as new; ``rate`` (n x clocks) or None."""
        times: np.ndarray = self.scale * rng.standard_exponential((n, len(self))) ** self.inv_shape
        return scaled(times, rate)

    def first(
        self, rng: np.random.Generator, n: int, fleet_age: FleetAge, rate: np.ndarray | None = None
    ) -> np.ndarray:
        """First failure times (s) of every clock of ``n`` servers of a fleet of ``fleet_age``.

        Under ``"stationary"`` the Weibull clocks are redrawn from their forward-recurrence law after
        the draw of a fresh fleet, so exponential clocks keep their draws to the bit.
        """
        times = self.draw(rng, n, rate)
        aged = np.flatnonzero(self.aged)
        if fleet_age == "stationary" and aged.size:
            inv = self.inv_shape[aged]
            g = rng.standard_gamma(inv, size=(n, aged.size))
            times[:, aged] = scaled(self.scale[aged] * g**inv, None if rate is None else rate[:, aged])
        return times


def scaled(times: np.ndarray, rate: np.ndarray | None) -> np.ndarray:
    """Times of a server ``rate`` times as failure-prone (a rate of 0 never fails)."""
    if rate is None:
        return times
    with np.errstate(divide="ignore"):
        out: np.ndarray = times / rate
    return out


def clock_columns(modes: Sequence[FailureMode], gpus_per_node: int, scopes: tuple[str, ...]) -> Columns:
    """The clocks of one server (or one rack or switch) for the ``modes`` of ``scopes``."""
    cols: list[int] = []
    scale: list[float] = []
    shape: list[float] = []
    for i, m in enumerate(modes):
        if m.scope not in scopes:
            continue
        k = gpus_per_node if m.scope == "gpu" else 1
        if m.distribution == "exponential":
            cols.append(i)
            scale.append(m.mtbf_hours * 3600.0 / k)
            shape.append(1.0)
        else:
            cols.extend([i] * k)
            scale.extend([weibull_scale_hours(m) * 3600.0] * k)
            shape.extend([m.shape] * k)
    return Columns(np.array(cols, dtype=np.int64), np.array(scale), 1.0 / np.array(shape))


def job_clock(mode: FailureMode, horizon_s: float, rng: np.random.Generator, fleet_age: FleetAge) -> np.ndarray:
    """Failure times (s, increasing, below ``horizon_s``) of one job-scope renewal process."""
    weibull = mode.distribution == "weibull" and mode.shape != 1.0
    scale = (weibull_scale_hours(mode) if weibull else mode.mtbf_hours) * 3600.0
    inv_shape = 1.0 / mode.shape if weibull else 1.0
    first = np.zeros(0)
    if fleet_age == "stationary" and weibull:
        first = np.array([scale * rng.standard_gamma(inv_shape) ** inv_shape])
    # Draw in blocks until the renewal process passes the horizon; block size from its mean.
    block = int(horizon_s / (mode.mtbf_hours * 3600.0) * 1.2) + 16
    t = first
    last = float(first[0]) if first.size else 0.0
    while last < horizon_s:
        new = last + np.cumsum(scale * rng.standard_exponential(block) ** inv_shape)
        t = np.concatenate([t, new])
        last = float(new[-1])
    return t[t < horizon_s]

"""Servers that differ: each server's failure-rate multiplier per mode, and which servers are bad.

A share ``bad_node_fraction`` of the servers is bad: a bad server fails ``bad_node_multiplier`` times
as often as a good one (Kokolis et al. 2024 on "lemon" nodes at Meta; AIReSim's bad servers). On
top, a gamma frailty of mean 1 and coefficient of variation ``frailty_cv`` spreads every server's
rate. Multipliers are scaled so that their expectation over the fleet is 1: a good server's is
g = 1 / (1 - f + f m), a bad one's m g, each times its frailty. They apply to the GPU- and
node-scope modes (one GPU-scope multiplier covers every GPU of the server: a bad server, not a bad
GPU), one per server shared by its modes, or one per server and mode with ``per_mode``.

Bad flags come from uniforms U (bad = U < f, so the bad servers at a smaller f are among those at a
larger one: sweeps of f are paired) and frailties from gamma draws, each from a stream of its own,
one row per server (job servers, then spares): a server's multipliers do not depend on how many
servers follow it. A fleet of like servers draws nothing.

>>> import numpy as np
>>> from sim.config.scenario import FailureMode, Heterogeneity
>>> modes = [FailureMode(name="gpu", scope="gpu", mtbf_hours=1e5, repair_hours=1.0)]
>>> h = Heterogeneity(bad_node_fraction=0.5, bad_node_multiplier=3.0)
>>> f = fleet_rates(h, modes, 4, np.random.default_rng(1), np.random.default_rng(2))
>>> sorted(set(f.multiplier[:, 0].round(3).tolist()))   # good 1 / (0.5 + 1.5), bad 3 x that
[0.5, 1.5]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.analysis.stationary import good_multiplier
from sim.config.scenario import FailureMode, Heterogeneity

#: Scopes whose failures are a server's own, and so follow its multiplier.
SERVER_SCOPES = ("gpu", "node")


@dataclass(frozen=True)
class FleetRates:
    """Failure-rate multipliers of a fleet: servers x modes (1 for modes of other scopes).

    ``bad`` flags the bad (server, mode) pairs (a whole row without ``per_mode``); ``frailty`` is
    the gamma factor (1 without); a server's multiplier is ``good`` or ``bad_multiplier x good``,
    times its frailty. A repair that cures a bad server clears its ``bad`` row (a copy: this is
    the fleet as drawn).
    """

    bad: np.ndarray
    frailty: np.ndarray
    good: float
    bad_multiplier: float
    own: np.ndarray  # per mode: a server's own failure (GPU or node scope), which the multiplier scales

    @property
    def multiplier(self) -> np.ndarray:
        """Rate multiplier of each server and mode."""
        level = np.where(self.bad, self.bad_multiplier * self.good, self.good)
        return np.where(self.own, level * self.frailty, 1.0)


def is_heterogeneous(h: Heterogeneity) -> bool:
    """Whether servers differ at all (else nothing is drawn and every multiplier is 1)."""
    return (h.bad_node_fraction > 0 and h.bad_node_multiplier > 1) or h.frailty_cv > 0


def fleet_rates(
    h: Heterogeneity,
    modes: Sequence[FailureMode],
    nodes: int,
    frailty_rng: np.random.Generator,
    bad_rng: np.random.Generator,
) -> FleetRates | None:
    """Draw the multipliers of ``nodes`` servers for ``modes``; None for a fleet of like servers."""
    if not is_heterogeneous(h):
        return None
    own = np.array([m.scope in SERVER_SCOPES for m in modes], dtype=bool)
    width = int(own.sum()) if h.per_mode else 1
    f, m = h.bad_node_fraction, h.bad_node_multiplier
    shape = (nodes, len(modes))
    bad = np.zeros(shape, dtype=bool)
    frailty = np.ones(shape)
    two_point = f > 0 and m > 1
    if two_point:
        bad[:, own] = bad_rng.random((nodes, width)) < f
    if h.frailty_cv > 0:
        k = 1.0 / h.frailty_cv**2
        frailty[:, own] = frailty_rng.standard_gamma(k, size=(nodes, width)) / k
    good = good_multiplier(f, m) if two_point else 1.0
    return FleetRates(bad=bad, frailty=frailty, good=good, bad_multiplier=m, own=own)

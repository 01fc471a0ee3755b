"""The whole fleet model fitted from an incident log: heterogeneity, each cause's law, repair laws.

The steps (each in its own module): the node histories of the window (``histories``); the node
heterogeneity from per-node counts of every cause (``heterogeneity``); each cause's failure law with
the node's multiplier integrated over the fitted heterogeneity and, in a stationary fleet, the first
interval as a forward-recurrence time (``fit``); each cause's lognormal repair law when the log
has ends (``repairs``). ``FleetFit`` turns the result into scenario sections
(``FailureMode``, ``Heterogeneity``) and draws parameters from their sampling law for predictions.

>>> from sim.analysis.incidents import Incident
>>> rows = [Incident(float(t), "psu", f"n{t % 7}", t) for t in range(3, 900, 30)]
>>> f = fit_fleet(rows, nodes=10, window=1000.0)
>>> f.modes[0].name, f.modes[0].events, f.heterogeneity.model
('psu', 30, 'none')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.analysis.fit import ALPHA, ModeFit
from sim.analysis.heterogeneity import MODELS, HeterogeneityFit
from sim.analysis.histories import Histories, histories
from sim.analysis.incidents import FitError, Incident
from sim.analysis.joint_fit import fit_jointly
from sim.analysis.repair_fit import MAX_SIGMA, fit_repairs
from sim.config.scenario import FailureMode, Heterogeneity

#: A repair time assumed when the log has no ends (hours); the output marks it as assumed.
ASSUMED_REPAIR_HOURS = 72.0


@dataclass(frozen=True)
class FleetFit:
    """Everything fitted from one window of a log over ``nodes`` nodes, ``window`` hours."""

    nodes: int
    window: float
    stationary: bool
    histories: Histories
    heterogeneity: HeterogeneityFit
    modes: tuple[ModeFit, ...]

    @property
    def has_ends(self) -> bool:
        return self.histories.repairs is not None

    @property
    def events(self) -> int:
        return sum(m.events for m in self.modes)

    @property
    def fleet_age(self) -> str:
        return "stationary" if self.stationary else "new"

    def repair(self, mode: ModeFit) -> tuple[float, float]:
        """``repair_hours`` and ``repair_sigma`` of a mode: fitted where there are ends, else the assumed 72 h."""
        r = mode.repair
        if r is None or math.isnan(r.mean_hours):
            return ASSUMED_REPAIR_HOURS, 0.0
        return r.mean_hours, min(r.sigma, MAX_SIGMA)

    def work(self, hours: float) -> float:
        """What simulating the fleet for ``hours`` costs: its nodes plus its expected faults."""
        return self.nodes + sum(self.nodes * hours / m.mtbf_hours for m in self.modes)

    def failure_modes(self, scope: str = "node", names: Sequence[str] | None = None) -> tuple[FailureMode, ...]:
        """The fitted causes as scenario failure modes (``names`` instead of the log's cause names)."""
        out = []
        for i, m in enumerate(self.modes):
            hours, sigma = self.repair(m)
            out.append(
                FailureMode(
                    name=names[i] if names else m.name,
                    scope=scope,  # type: ignore[arg-type]
                    mtbf_hours=m.mtbf_hours,
                    distribution=m.distribution,  # type: ignore[arg-type]
                    shape=m.shape,
                    action="replace",
                    repair_hours=hours,
                    repair_sigma=sigma,
                )
            )
        return tuple(out)

    def heterogeneity_section(self, source: str = "assumed") -> Heterogeneity:
        return Heterogeneity(**self.heterogeneity.scenario_keys(), source=source)  # type: ignore[arg-type]

    def draw(self, rng: np.random.Generator) -> tuple[list[dict[str, float]], dict[str, float]]:
        """Parameters drawn from their approximate sampling law: per mode ``mtbf_hours`` and ``shape``, and the
        heterogeneity keys. The fleet rate from the chosen count model's interval (log-normal), the causes'
        shares from a Dirichlet of their counts, shapes and heterogeneity parameters log- or logit-normal
        from their intervals: the spread a prediction must carry besides the simulation's own."""
        h = self.heterogeneity
        chosen = h.chosen
        rate = math.exp(rng.normal(0.0, _sd(chosen.ci95["rate"], chosen.params["rate"], math.log)))
        counts = np.array([max(m.events, 1) for m in self.modes], dtype=float)
        shares = rng.dirichlet(counts) / (counts / counts.sum())
        modes = []
        for m, share in zip(self.modes, shares, strict=True):
            k = m.shape
            if m.distribution == "weibull":
                k = float(np.clip(math.exp(rng.normal(math.log(k), _sd(m.weibull.shape_ci95, k, math.log))), 0.1, 100))
            modes.append({"mtbf_hours": m.mtbf_hours / (rate * share), "shape": k})
        keys = {k: float(v) for k, v in h.scenario_keys().items() if k != "per_mode"}
        if h.model == "gamma":
            cv = chosen.params["cv"]
            keys["frailty_cv"] = float(np.clip(math.exp(rng.normal(math.log(cv), _sd(chosen.ci95["cv"], cv, math.log))),
                                               0.0, 10.0))  # fmt: skip
        elif h.model == "bad-nodes":
            f, mult = chosen.params["fraction"], chosen.params["multiplier"]
            lf = rng.normal(_logit(f), _sd(chosen.ci95["fraction"], f, _logit))
            lm = rng.normal(math.log(mult - 1), _sd(chosen.ci95["multiplier"], mult, lambda x: math.log(x - 1)))
            keys["bad_node_fraction"] = float(np.clip(1 / (1 + math.exp(-lf)), 0.0, 0.999))
            keys["bad_node_multiplier"] = float(np.clip(1 + math.exp(lm), 1.0, 1e6))
        return modes, keys

    def to_json(self) -> dict[str, Any]:
        h = self.histories
        return {
            "nodes": self.nodes,
            "fleet_age": self.fleet_age,
            "events": self.events,
            "exposure_hours": h.exposure_hours,
            "downtime_hours": h.downtime_hours,
            "secondary_events": len(h.secondary_lines),
            "open_repairs": h.open_repairs,
            "heterogeneity": self.heterogeneity.to_json(),
            "modes": [m.to_json() for m in self.modes],
        }


def _logit(x: float) -> float:
    return math.log(x / (1 - x))


def _sd(ci: tuple[float, float], at: float, f: Any) -> float:
    """Standard deviation of a normal on the ``f`` scale with the 95% interval ``ci`` about ``at``: from the
    narrower side that is finite (a side at a search bound says little)."""
    try:
        sides = [abs(f(ci[1]) - f(at)), abs(f(at) - f(ci[0]))]
    except (ValueError, ZeroDivisionError):
        return 0.0
    sides = [s for s in sides if math.isfinite(s) and s > 0]
    return min(sides) / 1.959964 if sides else 0.0


def fit_fleet(
    incidents: Sequence[Incident],
    nodes: int,
    window: float,
    alpha: float = ALPHA,
    heterogeneity: str = "auto",
    stationary: bool = True,
) -> FleetFit:
    """Fit the fleet model to the incidents within ``[0, window]`` hours of ``nodes`` nodes.

    ``heterogeneity``: ``auto`` (tested, then chosen by AIC) or one of ``none``, ``gamma``, ``bad-nodes``.
    ``stationary=False`` takes every node as new at the window start (the model of a new cluster).
    """
    if heterogeneity != "auto" and heterogeneity not in MODELS:
        raise FitError(f"--heterogeneity: one of auto, {', '.join(MODELS)}; got {heterogeneity!r}")
    h = histories(incidents, nodes, window)
    repairs = None if h.repairs is None else [fit_repairs(r.hours, r.open) for r in h.repairs]
    het, modes = fit_jointly(h, stationary, alpha, None if heterogeneity == "auto" else heterogeneity, repairs)
    return FleetFit(nodes, window, stationary, h, het, tuple(sorted(modes, key=lambda f: (-f.events, f.name))))

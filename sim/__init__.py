"""trainsim: a discrete-event simulator of a long LLM training run on a large GPU cluster.

>>> import sim
>>> callable(sim.run) and callable(sim.load_scenario) and callable(sim.sweep)
True
"""

from __future__ import annotations

from sim.runner import Result, run, simulate
from sim.scenario import Scenario, ScenarioError, load_scenario, load_scenario_text
from sim.sweeps import sweep

__all__ = ["Result", "Scenario", "ScenarioError", "load_scenario", "load_scenario_text", "run", "simulate", "sweep"]
__version__ = "0.1.0"

"""trainsim: a discrete-event simulator of a long LLM training run on a large GPU cluster.

The public API is loaded on first use, so ``import sim`` (and the command line) start fast.

>>> import sim
>>> callable(sim.run) and callable(sim.load_scenario) and callable(sim.sweep) and callable(sim.compare)
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.config.version import VERSION as __version__

if TYPE_CHECKING:
    from sim.config.errors import ScenarioError
    from sim.config.loading import load_scenario, load_scenario_text
    from sim.config.scenario import Scenario
    from sim.experiment.compare import CompareResult, compare
    from sim.experiment.runner import Result, run, simulate
    from sim.experiment.sweeps import sweep

#: Public name -> the module that defines it.
_API = {
    "CompareResult": "sim.experiment.compare",
    "compare": "sim.experiment.compare",
    "Result": "sim.experiment.runner",
    "run": "sim.experiment.runner",
    "simulate": "sim.experiment.runner",
    "sweep": "sim.experiment.sweeps",
    "Scenario": "sim.config.scenario",
    "ScenarioError": "sim.config.errors",
    "load_scenario": "sim.config.loading",
    "load_scenario_text": "sim.config.loading",
}

__all__ = [
    "CompareResult",
    "Result",
    "Scenario",
    "ScenarioError",
    "__version__",
    "compare",
    "load_scenario",
    "load_scenario_text",
    "run",
    "simulate",
    "sweep",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")

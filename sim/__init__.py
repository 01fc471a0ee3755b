"""trainsim: a discrete-event simulator of a long LLM training run on a large GPU cluster.

The public API is loaded on first use, so ``import sim`` (and the command line) start fast. ``run``,
``run_sweep``, ``optimize`` and ``compare`` return results that ``plot`` and ``save`` themselves
(``sim.notebook``); ``sweep`` returns the tidy runs table.

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
    from sim.experiment.runner import simulate
    from sim.experiment.sweeps import sweep
    from sim.notebook import CompareResult, Optimum, Result, SweepResult, compare, optimize, run, run_sweep

#: Public name -> the module that defines it.
_API = {
    "CompareResult": "sim.notebook",
    "compare": "sim.notebook",
    "Optimum": "sim.notebook",
    "optimize": "sim.notebook",
    "Result": "sim.notebook",
    "run": "sim.notebook",
    "SweepResult": "sim.notebook",
    "run_sweep": "sim.notebook",
    "simulate": "sim.experiment.runner",
    "sweep": "sim.experiment.sweeps",
    "Scenario": "sim.config.scenario",
    "ScenarioError": "sim.config.errors",
    "load_scenario": "sim.config.loading",
    "load_scenario_text": "sim.config.loading",
}

__all__ = [
    "CompareResult",
    "Optimum",
    "Result",
    "Scenario",
    "ScenarioError",
    "SweepResult",
    "__version__",
    "compare",
    "load_scenario",
    "load_scenario_text",
    "optimize",
    "run",
    "run_sweep",
    "simulate",
    "sweep",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")

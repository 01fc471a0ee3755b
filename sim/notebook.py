"""Results that draw and save themselves, for notebooks: ``sim.run``, ``sim.run_sweep``, ``sim.optimize`` and
``sim.compare`` return the engine's results with two more methods.

- ``plot(kind)`` returns the matplotlib ``Figure`` of one chart (``charts`` lists the kinds): the very
  chart ``trainsim plot`` writes, drawn from the same tables (``sim.plots.charts``), without writing a file;
- ``save(folder)`` writes the folder the command line writes: its tables, ``summary.json``, the charts
  and ``report.html``; ``scenario_file`` copies the scenario file in as ``scenario.toml``.

Why a module of its own: the layers (pyproject.toml, import-linter) let the experiment layer, where the
results are made, import neither the charts nor the reports, which read result files only. This module
sits on top of every layer, as the command line does: it turns a result into its folder's tables (the
experiment layer's ``*_save`` modules, in memory or on disk) and hands those to the charts and reports.
Each class here is the engine's result class with nothing added but those methods and the time it
started, so everything the engine's result offers is there too.

>>> import sim
>>> s = sim.load_scenario_text('name = "t"\\n[run]\\nduration_days = 1\\n[cluster]\\ngpus = 8\\n'
...                            '[checkpoint]\\nwrite_seconds = 60')
>>> result = sim.run(s, replications=2)
>>> result.charts
['waterfall', 'failure_impact', 'timeline', 'power']
>>> type(result.plot("waterfall")).__name__
'Figure'
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.config.scenario import Scenario
from sim.experiment import compare as compare_engine
from sim.experiment import optimize as optimize_engine
from sim.experiment import runner, sweeps
from sim.experiment.compare_save import compare_folder, write_compare
from sim.experiment.optimize_save import optimize_folder, search_block, write_optimum
from sim.experiment.save import run_folder, write_results
from sim.experiment.sweep_save import param_specs, sweep_folder, write_sweep
from sim.plots.causes import TOP
from sim.plots.charts import figure, kinds
from sim.report.draw import draw_folder
from sim.results.files import utc_now
from sim.results.folder import CompareFolder, RunFolder, SweepFolder, load
from sim.results.schema import INTERVAL

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Folder = RunFolder | SweepFolder | CompareFolder
FilePath = str | Path


def _text(path: FilePath | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


class _Drawn:
    """``plot`` and ``save`` from two things a result says: its folder's tables, and how it writes them."""

    def folder(self) -> Folder:
        """The result as its folder's tables, in memory: what ``trainsim plot`` would read back."""
        raise NotImplementedError

    def _write(self, out: Path, scenario_file: FilePath | None) -> None:
        raise NotImplementedError

    @property
    def charts(self) -> list[str]:
        """The kinds of chart ``plot`` draws for this result, in the order of its report."""
        return kinds(self.folder())

    def plot(self, kind: str, *, causes: int = TOP, replication: int = 0) -> Figure:
        """The chart ``kind`` (one of ``charts``) as a matplotlib Figure, as ``trainsim plot`` draws it.

        ``causes``: the failure causes a run's charts name before "other"; ``replication``: the one a
        run's timeline shows.
        """
        return figure(self.folder(), kind, causes, replication)

    def save(
        self, folder: FilePath, *, scenario_file: FilePath | None = None, plots: bool = True, svg: bool = False
    ) -> Path:
        """Write the results folder the command line writes into ``folder`` (replaced whole); return its path.

        ``scenario_file``: the file the scenario came from, copied in as ``scenario.toml``; ``plots``:
        draw the charts and ``report.html`` (``svg``: each chart as SVG too).
        """
        out = Path(folder)
        self._write(out, scenario_file)
        if plots:
            draw_folder(load(out), svg)
        return out


@dataclass
class Result(_Drawn, runner.Result):
    """The replications of one scenario (``sim.experiment.runner.Result``) that draw and save themselves."""

    started_utc: str = field(default_factory=utc_now)

    @classmethod
    def of(cls, result: runner.Result, started_utc: str | None = None) -> Result:
        """The engine's ``result`` as one of these (its tables shared, not copied)."""
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(runner.Result)}
        return cls(**fields, started_utc=started_utc or utc_now())

    def folder(self) -> RunFolder:
        return run_folder(self, self.started_utc)

    def _write(self, out: Path, scenario_file: FilePath | None) -> None:
        write_results(out, self, _text(scenario_file), self.started_utc)


@dataclass
class SweepResult(_Drawn, sweeps.SweepResult):
    """A finished sweep (``sim.experiment.sweeps.SweepResult``) that draws and saves itself."""

    started_utc: str = field(default_factory=utc_now)
    runtime_s: float = 0.0

    def folder(self) -> SweepFolder:
        return sweep_folder(self, self.started_utc, self.runtime_s)

    def _write(self, out: Path, scenario_file: FilePath | None) -> None:
        write_sweep(out, self, _text(scenario_file), self.started_utc, self.runtime_s, param_specs(self.params))


@dataclass
class Optimum(_Drawn, optimize_engine.Optimum):
    """Where ``optimize`` ended (``sim.experiment.optimize.Optimum``), drawing and saving itself as ``trainsim
    optimize`` does."""

    started_utc: str = field(default_factory=utc_now)
    runtime_s: float = 0.0
    search: dict[str, Any] = field(default_factory=dict)

    def folder(self) -> SweepFolder:
        return optimize_folder(self, self.started_utc, self.runtime_s, self.search)

    def _write(self, out: Path, scenario_file: FilePath | None) -> None:
        write_optimum(out, self, _text(scenario_file), self.started_utc, self.runtime_s, self.search)


@dataclass
class CompareResult(_Drawn, compare_engine.CompareResult):
    """Scenarios compared on the same failures (``sim.experiment.compare.CompareResult``); each scenario's result
    (``results``, or ``result[name]``) draws and saves itself too."""

    started_utc: str = field(default_factory=utc_now)
    sources: list[dict[str, Any]] = field(default_factory=list)
    texts: list[bytes | None] = field(default_factory=list)

    def folder(self) -> CompareFolder:
        return compare_folder(self, self.started_utc, self._sources())

    def _sources(self) -> list[dict[str, Any]]:
        return self.sources or [{"file": None, "variant": None} for _ in self.results]

    def _write(self, out: Path, scenario_file: FilePath | None) -> None:
        texts = self.texts or [_text(scenario_file)] * len(self.results)
        write_compare(out, self, texts, self.started_utc, self._sources())


# ---------------------------------------------------------------- the functions of the public API


def run(
    scenario: Scenario, replications: int | None = None, seed: int | None = None, jobs: int = 1, **options: Any
) -> Result:
    """``sim.experiment.runner.run`` (the same arguments: ``precision``, ``max_events``, ...); its result can
    ``plot`` and ``save``."""
    started = utc_now()
    return Result.of(runner.run(scenario, replications, seed, jobs, **options), started)


def run_sweep(
    scenario: Scenario, params: Mapping[str, Sequence[Any]], replications: int | None = None, **options: Any
) -> SweepResult:
    """``sim.experiment.sweeps.run_sweep`` (the same arguments); its result can ``plot`` and ``save``."""
    started, start = utc_now(), time.perf_counter()
    result = sweeps.run_sweep(scenario, params, replications, **options)
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(sweeps.SweepResult)}
    return SweepResult(**fields, started_utc=started, runtime_s=time.perf_counter() - start)


def optimize(
    scenario: Scenario,
    key: str = INTERVAL,
    lo: float | None = None,
    hi: float | None = None,
    replications: int | None = None,
    **options: Any,
) -> Optimum:
    """``sim.experiment.optimize.optimize`` (the same arguments); its result can ``plot`` and ``save``."""
    started, start = utc_now(), time.perf_counter()
    best = optimize_engine.optimize(scenario, key, lo, hi, replications, **options)
    fields = {f.name: getattr(best, f.name) for f in dataclasses.fields(optimize_engine.Optimum)}
    search = search_block(key, lo, hi, best.objective)
    return Optimum(**fields, started_utc=started, runtime_s=time.perf_counter() - start, search=search)


def compare(
    scenarios: Sequence[compare_engine.Given] | Mapping[str, compare_engine.Given],
    replications: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> CompareResult:
    """``sim.experiment.compare.compare`` (the same arguments); its result, and each scenario's, can ``plot`` and
    ``save``. Scenarios given as files are copied into the saved folder."""
    started = utc_now()
    result = compare_engine.compare(scenarios, replications, seed, jobs, variants, **options)
    given = list(scenarios.values() if isinstance(scenarios, Mapping) else scenarios)
    files = [str(g) if isinstance(g, str | Path) else None for g in given]
    sources: list[dict[str, Any]] = [{"file": f, "variant": None} for f in files]
    sources += [{"file": files[0], "variant": dict(v)} for v in (variants or {}).values()]
    texts = [_text(f) for f in files] + [_text(files[0])] * len(variants or {})
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(compare_engine.CompareResult)}
    fields["results"] = [Result.of(r, started) for r in result.results]
    return CompareResult(**fields, started_utc=started, sources=sources, texts=texts)

"""Playing the units of a sweep (one replication of one point): a fixed count per point, or as many as a
precision target needs (``sim.experiment.precision``), each point on its own.

A unit the results store already holds is reused, any other is executed (locally or on Dask) and
committed to the store as it finishes. A unit's row depends only on its point, its replication and
the seed, so the rows kept are the same however the work was cut into rounds or spread over workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config.scenario import Scenario
from sim.experiment.executors import execute
from sim.experiment.precision import Precision, Reached, reached, until_precise
from sim.experiment.store import Store

Unit = tuple[str, int]  # (point key, replication)
Row = dict[str, float]


@dataclass
class Played:
    """Every row played or reused, the replications each point keeps, and where its precision stopped."""

    results: dict[Unit, Row]
    counts: dict[str, int]
    reached: dict[str, Reached] | None
    computed: int
    reused: int


class Units:
    """The rows of a sweep's units: reused from the store when it holds them, else executed and committed."""

    def __init__(
        self,
        scenarios: Mapping[str, Scenario],
        root: int,
        workers: int,
        client: Any,
        store: Store | None,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.scenarios = scenarios
        self.root = root
        self.workers = workers
        self.client = client
        self.store = store
        self.progress = progress
        self.results: dict[Unit, Row] = {} if store is None else store.load()
        self.done = self.total = self.computed = self.reused = 0

    def play(self, wanted: Sequence[Unit]) -> None:
        """Make sure every unit of ``wanted`` has its row; progress counts up over every call."""
        todo = [u for u in wanted if u not in self.results]
        here = len(wanted) - len(todo)
        self.reused += here
        self.done += here
        self.total += len(wanted)
        self._tell()
        for key, r, row in execute([(self.scenarios[k], k, r, self.root) for k, r in todo], self.workers, self.client):
            self.results[(key, r)] = row
            if self.store is not None:
                self.store.put(key, r, row)
            self.done += 1
            self._tell()
        self.computed += len(todo)

    def _tell(self) -> None:
        if self.progress:
            self.progress(self.done, self.total)


def play_points(
    scenarios: Mapping[str, Scenario],
    replications: int,
    precision: Precision | None,
    root: int,
    workers: int,
    client: Any = None,
    store: Store | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Played:
    """Play ``replications`` of every point (by key), or, with ``precision``, as many as each point needs."""
    units = Units(scenarios, root, workers, client, store, progress)
    try:
        if precision is None:
            units.play([(k, r) for k in scenarios for r in range(replications)])
            counts, where = dict.fromkeys(scenarios, replications), None
        else:

            def play_ranges(ranges: list[tuple[str, int, int]]) -> dict[str, list[Row]]:
                units.play([(k, r) for k, lo, hi in ranges for r in range(lo, hi)])
                return {k: [units.results[(k, r)] for r in range(lo, hi)] for k, lo, hi in ranges}

            def value(row: Row) -> float:
                return row.get(precision.metric, math.nan)

            kept = until_precise(list(scenarios), play_ranges, value, precision, workers)
            counts = {k: len(rows) for k, rows in kept.items()}
            where = {k: reached(np.array([value(r) for r in rows]), precision) for k, rows in kept.items()}
    finally:
        if store is not None:
            store.close()
    return Played(units.results, counts, where, units.computed, units.reused)

"""Executors: run units of work (one replication of one sweep point) serially, on local
processes, or on a Dask cluster, and yield each result as soon as it is done.

Every unit carries its scenario, its replication and the root seed, and draws only from the
streams of that replication, so the results do not depend on where or in what order units run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import as_completed
from typing import Any

from sim.config.scenario import Scenario
from sim.experiment.runner import replication_seeds, simulate
from sim.experiment.workers import worker_pool

Done = tuple[str, int, dict[str, float]]


def run_unit(scenario: Scenario, key: str, replication: int, seed: int) -> Done:
    """One replication of one point: the unit of work that executors ship and the store keeps."""
    seed_seq = replication_seeds(seed, replication + 1)[replication]
    rep = simulate(scenario, seed_seq, replication, power_trace=False)
    return key, replication, rep.row([m.name for m in scenario.modes])


Task = tuple[Scenario, str, int, int]


def execute(tasks: Sequence[Task], jobs: int = 1, client: Any = None) -> Iterator[Done]:
    """Run ``tasks`` and yield each result as soon as it is done, in whatever order they finish.

    ``client`` is a connected Dask client (``sim.experiment.sweeps.connect``); without one, ``jobs`` processes.
    """
    if client is not None:
        yield from _execute_dask(tasks, client)
    elif jobs <= 1 or len(tasks) <= 1:
        for t in tasks:
            yield run_unit(*t)
    else:
        # worker_pool stops its workers when this generator is closed early or raises (Ctrl-C).
        with worker_pool(min(jobs, len(tasks))) as pool:
            futures = [pool.submit(run_unit, *t) for t in tasks]
            for f in as_completed(futures):
                yield f.result()


def _execute_dask(tasks: Sequence[Task], client: Any) -> Iterator[Done]:
    from distributed import as_completed as dask_completed

    # pure=False: each task is its own unit even if Dask's hashing of the arguments were to collide.
    futures = [client.submit(run_unit, *t, pure=False) for t in tasks]
    try:
        for f in dask_completed(futures):  # type: ignore[no-untyped-call]
            yield f.result()
    finally:
        client.cancel(futures)



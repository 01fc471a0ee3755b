"""Executors give the same results serially and on processes, whatever the order they finish in."""

from __future__ import annotations

from builders import tiny

from sim.experiment.executors import execute, run_unit


def test_processes_match_serial() -> None:
    """Two processes return exactly the rows one process computes, unit by unit."""
    s = tiny({"failure_preset": "llama3", "cluster.gpus": 2048, "run.duration_days": 5})
    tasks = [(s, f"p{r % 2}", r, 7) for r in range(4)]
    serial = {(k, r): row for k, r, row in execute(tasks, jobs=1)}
    parallel = {(k, r): row for k, r, row in execute(tasks, jobs=2)}
    assert serial == parallel and len(serial) == 4


def test_a_unit_is_its_replication() -> None:
    """run_unit depends on the replication and the seed only, not on the point's name."""
    s = tiny({"failure_preset": "llama3", "cluster.gpus": 2048, "run.duration_days": 5})
    assert run_unit(s, "a", 1, 3)[2] == run_unit(s, "b", 1, 3)[2]
    assert run_unit(s, "a", 1, 3)[2] != run_unit(s, "a", 2, 3)[2]

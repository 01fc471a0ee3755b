"""Side activities of a run, each a SimPy process of its own (as in SimPy's machine-shop example).

They never change the job's state themselves: a maintenance window or a corruption alarm
interrupts the job process with a typed cause (``sim.model.causes``), and the job decides. A
straggler's hot swap needs no stop at all, so its process only swaps the node and notes the time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import simpy

from sim.model.causes import CorruptionFound, MaintenanceDue
from sim.model.cluster import Cluster


def maintenance(
    env: simpy.Environment, job: simpy.Process, every_s: float, window_s: float
) -> Generator[simpy.Event, Any, None]:
    """Every ``every_s`` from the start, tell the job that a window of ``window_s`` begins."""
    while True:
        yield env.timeout(every_s)
        job.interrupt(MaintenanceDue(window_s))


def corruption_alarm(
    env: simpy.Environment, job: simpy.Process, found_after_s: float, mode: int
) -> Generator[simpy.Event, Any, None]:
    """Silent corruption struck now; ``found_after_s`` later the job learns of it.

    The job cancels the alarm (interrupts this process) when a restore discards the corrupted work first.
    """
    struck = env.now
    try:
        yield env.timeout(found_after_s)
    except simpy.Interrupt:
        return
    job.interrupt(CorruptionFound(struck, mode))


def straggler_swap(
    env: simpy.Environment, cluster: Cluster, node: int, detect_s: float, swapped: Callable[[float], None]
) -> Generator[simpy.Event, Any, None]:
    """Find the slow ``node`` after ``detect_s`` and hot-swap it for a spare, as soon as one is free.

    ``swapped(time)`` is called once it is out of the job; with no spare ever free it stays to the end.
    """
    yield env.timeout(detect_s)
    while not cluster.swap(node):
        back = cluster.next_return()
        if math.isinf(back):
            return
        yield env.timeout(max(0.0, back - env.now))
    swapped(env.now)

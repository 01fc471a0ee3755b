"""Why the job process is interrupted: typed causes, one class each, delivered by ``process.interrupt``.

The failure watcher (``sim.model.cluster``) sends ``Failure``; the side processes
(``sim.model.side``) send ``CorruptionFound`` and ``MaintenanceDue``, and a straggler's swap
``Retime``. NamedTuples: the job receives one per interruption, and a tuple is the cheapest object
to build.

>>> Failure(time=60.0, mode=0, node=3, replace=True, slot=3).node
3
"""

from __future__ import annotations

from typing import NamedTuple


class Failure(NamedTuple):
    """A failure that hits the job: when, which mode (index), which node (-1 for job scope)."""

    time: float
    mode: int
    node: int
    replace: bool
    slot: int = -1  # the job position the node held (-1: job scope, or a node outside the job)


class CorruptionFound(NamedTuple):
    """Silent data corruption that struck at ``struck`` (s) is found now."""

    struck: float
    mode: int


class MaintenanceDue(NamedTuple):
    """A planned maintenance window begins now and lasts ``seconds``."""

    seconds: float


class Retime(NamedTuple):
    """The job runs faster from now (a straggler is swapped out): plan when it reaches its target again."""


Cause = Failure | CorruptionFound | MaintenanceDue | Retime

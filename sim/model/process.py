"""The SimPy skeleton of a training job, shared by every recovery strategy, and its event log."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from sim.model.cluster import Failure

#: One row of the event log: time (s), kind, cause, node (-1: none), lost GPU-hours.
Event = tuple[float, str, str, int, float]


class JobProcess:
    """The SimPy skeleton every recovery strategy shares: wait in a state until it ends (advance)
    or a failure interrupts it. Subclasses say what to wait for and what each outcome does."""

    env: simpy.Environment
    process: simpy.Process | None

    def start(self) -> simpy.Process:
        self.process = self.env.process(self.run())
        return self.process

    def run(self) -> Generator[simpy.Event, Any, None]:
        """The job's life: wait in the current state until it ends or a failure interrupts it."""
        while True:
            try:
                yield self._wait()
                self._advance()
            except simpy.Interrupt as irq:
                assert isinstance(irq.cause, Failure)
                self._fail(irq.cause)

    def _wait(self) -> simpy.Event:
        raise NotImplementedError

    def _advance(self) -> None:
        raise NotImplementedError

    def _fail(self, failure: Failure) -> None:
        raise NotImplementedError

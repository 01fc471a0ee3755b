"""The job process skeleton: a state ends by advancing or by a failure's interrupt."""

from __future__ import annotations

import simpy

from sim.model.cluster import Failure
from sim.model.process import JobProcess


class Recorder(JobProcess):
    """Waits 10 s at a time and records what happened."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.process = None
        self.log: list[tuple[float, str]] = []

    def _wait(self) -> simpy.Event:
        return self.env.timeout(10.0)

    def _advance(self) -> None:
        self.log.append((self.env.now, "advance"))

    def _fail(self, failure: Failure) -> None:
        self.log.append((self.env.now, f"fail {failure.node}"))


def test_interrupt_then_wait_again() -> None:
    """An interrupt at 15 s is a failure; the next wait starts from there."""
    env = simpy.Environment()
    job = Recorder(env)
    proc = job.start()

    def strike() -> simpy.events.ProcessGenerator:
        yield env.timeout(15.0)
        proc.interrupt(Failure(15.0, 0, 3, False))

    env.process(strike())
    env.run(until=30.0)
    assert job.log == [(10.0, "advance"), (15.0, "fail 3"), (25.0, "advance")]

"""The job process skeleton: a state ends by its timer or by a typed interruption, each to its handler."""

from __future__ import annotations

import pytest
import simpy
from builders import tiny

from sim.model.causes import CorruptionFound, Failure, MaintenanceDue
from sim.model.process import JobProcess
from sim.model.spec import JobSpec


class Recorder(JobProcess):
    """Waits 10 s at a time and records what happened."""

    def __init__(self, env: simpy.Environment) -> None:
        super().__init__(env, None, None, JobSpec.from_scenario(tiny()))  # type: ignore[arg-type]
        self.seen: list[tuple[float, str]] = []

    def timer(self) -> simpy.Event:
        return self.env.timeout(10.0)

    def timer_done(self) -> None:
        self.seen.append((self.env.now, "timer"))

    def failed(self, failure: Failure) -> None:
        self.seen.append((self.env.now, f"fail {failure.node}"))

    def corruption_found(self, found: CorruptionFound) -> None:
        self.seen.append((self.env.now, f"corruption from {found.struck:g}"))

    def maintenance_due(self, due: MaintenanceDue) -> None:
        self.seen.append((self.env.now, f"maintenance {due.seconds:g}"))


def strike(env: simpy.Environment, proc: simpy.Process, at: float, cause: object) -> simpy.events.ProcessGenerator:
    yield env.timeout(at)
    proc.interrupt(cause)


def test_each_cause_goes_to_its_handler_then_the_wait_starts_again() -> None:
    """Interrupts at 15, 27 and 29 s reach their handlers; each next wait starts from the interrupt."""
    env = simpy.Environment()
    job = Recorder(env)
    proc = job.start()
    env.process(strike(env, proc, 15.0, Failure(15.0, 0, 3, False)))
    env.process(strike(env, proc, 27.0, CorruptionFound(struck=20.0, mode=0)))
    env.process(strike(env, proc, 29.0, MaintenanceDue(seconds=60.0)))
    env.run(until=40.0)
    assert job.seen == [
        (10.0, "timer"),
        (15.0, "fail 3"),
        (25.0, "timer"),
        (27.0, "corruption from 20"),
        (29.0, "maintenance 60"),
        (39.0, "timer"),
    ]


def test_an_unknown_cause_is_an_error() -> None:
    """A cause the skeleton does not know is a programming error, not silently ignored."""
    env = simpy.Environment()
    proc = Recorder(env).start()
    env.process(strike(env, proc, 5.0, "nonsense"))
    with pytest.raises(TypeError, match="unknown interruption cause"):
        env.run(until=10.0)

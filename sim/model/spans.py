"""What the job's GPUs did from when to when: the record the power trace is drawn from.

The job books time to the ledger in closed form (a run period's checkpoints cost no event); it
records the same time here as spans: GPUs computing on a checkpoint rhythm (``run``) or standing
still in one ledger bucket (``still``). A run span's GPUs compute ``interval`` and block
``cycle - interval`` in turn, from ``origin`` (the wall time at which the rhythm began).

>>> spans = Spans()
>>> spans.run(0.0, 100.0, gpus=8, origin=0.0)
>>> spans.still(100.0, 130.0, "detect", gpus=8)
>>> spans.rows
[(0.0, 100.0, 0, 8, 0.0), (100.0, 130.0, 2, 8, 0.0)]
"""

from __future__ import annotations

from sim.analysis.draw import STILL

#: Span kinds: 0 is a run span, 1 + i GPUs standing still in ``STILL[i]``.
_KIND = {b: i + 1 for i, b in enumerate(STILL)}

#: One span: start (s), end (s), kind (0: run, else 1 + index in ``STILL``), GPUs, rhythm origin (run spans).
Span = tuple[float, float, int, int, float]


class Spans:
    """Append-only record of the job's spans."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: list[Span] = []

    def run(self, t0: float, t1: float, gpus: int, origin: float) -> None:
        """``gpus`` GPUs compute and checkpoint from ``t0`` to ``t1``, on the rhythm that began at ``origin``."""
        if t1 > t0 and gpus:
            self.rows.append((t0, t1, 0, gpus, origin))

    def still(self, t0: float, t1: float, bucket: str, gpus: int) -> None:
        """``gpus`` GPUs spend ``t0`` to ``t1`` in ``bucket`` (one of ``STILL``) without computing."""
        if t1 > t0 and gpus:
            self.rows.append((t0, t1, _KIND[bucket], gpus, 0.0))

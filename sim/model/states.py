"""What the job is doing: one explicit state at a time, each with the ledger bucket its time goes to.

>>> JobState.DETECT.bucket, JobState.RUN.bucket, JobState.FINAL.bucket
('detect', None, 'checkpoint')
"""

from __future__ import annotations

import enum


class JobState(enum.Enum):
    """States of the synchronous job; the value is the word the event log records."""

    RUN = "run"  # computing and checkpointing: the checkpoint accounting splits this time
    DETECT = "detect"  # failed, not noticed yet
    WAIT = "wait"  # waiting for nodes (spares or repairs)
    RESTART = "restart"  # rescheduling, initialising, loading a checkpoint
    MAINTENANCE = "maintenance"  # planned downtime
    FINAL = "final_save"  # the target is reached: writing the last checkpoint, which ends the run

    word: str  # as the event log records it
    bucket: str | None  # the ledger bucket of this state's time; None for RUN, which accounting splits

    def __init__(self, word: str) -> None:
        # Plain attributes: the job reads them at every state change, and Enum.value is a slow descriptor.
        self.word = word
        self.bucket = None if word == "run" else "checkpoint" if word == "final_save" else word


class ReplicaState(enum.Enum):
    """States of one data-parallel replica under replica-level recovery."""

    ONLINE = "online"
    RECOVERING = "recovering"  # the stall after its failure, while the quorum re-forms
    WAITING = "waiting"  # for nodes to replace its failed ones
    RESTARTING = "restarting"  # restarting and catching up from a healthy replica
    MAINTENANCE = "maintenance"  # the whole job stopped for planned maintenance

    @property
    def bucket(self) -> str | None:
        """The ledger bucket of an offline replica's GPU time; ``None`` when it computes."""
        return _REPLICA_BUCKET[self.value]


_REPLICA_BUCKET: dict[str, str | None] = {
    "online": None,
    "recovering": "restart",
    "waiting": "wait",
    "restarting": "restart",
    "maintenance": "maintenance",
}

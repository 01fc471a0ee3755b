"""What each failure action means to the rest of the model: one row per action, read everywhere.

The failure clocks, the spare pool, the job MTBF and the scenario checks ask these questions instead
of naming actions; a new action is a row here, plus its behaviour in the job if it has one.

>>> ACTIONS["slow"].stops_job, ACTIONS["slow"].pulls_node, ACTIONS["replace"].leaves_job_at_once
(False, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The actions a scenario may give a failure mode.
ActionName = Literal["replace", "restart", "slow"]


@dataclass(frozen=True)
class Action:
    """The consequences of a failure action."""

    meaning: str  # for the scenario reference and error messages
    stops_job: bool  # the job stops (it is an interruption, and counts in the job MTBF)
    pulls_node: bool  # the server goes to repair (the mode needs repair_hours)
    leaves_job_at_once: bool  # the server leaves the job the moment it fails
    repair_after_detect: bool  # the server is pulled only once found (detect_minutes later)


ACTIONS: dict[str, Action] = {
    "replace": Action("the server leaves for repair", True, True, True, False),
    "restart": Action("the job restarts on the same servers", True, False, False, False),
    "slow": Action(
        "a straggler: the job runs at its speed until it is found and swapped out for repair",
        False,
        True,
        False,
        True,
    ),
}

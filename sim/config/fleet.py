"""The scenario sections about the fleet's servers: ``[repair]`` (who repairs them and how a repair
goes), ``[heterogeneity]`` (bad servers and frailty) and ``[retirement]`` (when a server is taken out).

>>> Repair(auto_hours=2.0).pipeline, Repair().pipeline
(True, False)
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.config.limits import MAX_DAYS, MAX_HOURS, MAX_NODES, MAX_TEXT_CHARS
from sim.config.section import Section, Text


class Repair(Section):
    """Who repairs failed servers, and how a repair goes.

    Without ``auto_hours`` every repair takes its mode's ``repair_hours``, done by a technician. With
    it, a repair first goes through an automated stage; with ``escalate_probability`` the automated
    stage cannot fix the fault and a technician's manual repair (the mode's ``repair_hours``) follows.
    The stage that ends the repair can report success and leave the fault (``*_fail_probability``):
    the server comes back and the clock that failed runs ``unfixed_multiplier`` times as fast until
    the server's next failure. A misdiagnosis pulls a healthy server instead and leaves the faulty
    one in service, likewise. Details: docs/failure-model.md, "Repairs and retirement".
    """

    technicians: int | None = Field(
        None, gt=0, le=MAX_NODES, description="manual repairs at once; none: unlimited"
    )
    auto_hours: float | None = Field(
        None, ge=0, le=MAX_HOURS, description="mean automated repair stage; none: no automated stage"
    )
    auto_sigma: float = Field(
        0.0, ge=0, le=5, description="lognormal spread (sigma of log) of automated repair times; 0: fixed"
    )
    escalate_probability: float = Field(
        0.0, ge=0, le=1, description="automated repair cannot fix the fault: manual repair follows"
    )
    auto_fail_probability: float = Field(
        0.0, ge=0, le=1, description="automated repair reports success but leaves the fault"
    )
    manual_fail_probability: float = Field(
        0.0, ge=0, le=1, description="manual repair reports success but leaves the fault"
    )
    unfixed_multiplier: float = Field(
        6.0,
        ge=1,
        le=1e6,
        description="rate of the failed clock of a server left faulty, x its own, until the server's next failure",
    )
    misdiagnosis_probability: float = Field(
        0.0,
        ge=0,
        le=1,
        description="a healthy server is pulled instead: it goes to repair, the faulty one stays in service unfixed",
    )
    cures_bad_nodes: bool = Field(
        False, description="a repair that works makes a bad server good (AIReSim); false: bad until retired"
    )

    @property
    def leaves_faults(self) -> bool:
        """Whether a server can come back, or stay in service, with its fault (its failure rate raised)."""
        auto_fails = self.auto_hours is not None and self.auto_fail_probability > 0
        return self.manual_fail_probability > 0 or auto_fails or self.misdiagnosis_probability > 0

    @property
    def pipeline(self) -> bool:
        """Whether a repair can be anything but its mode's repair time, done right (else nothing is drawn)."""
        return self.auto_hours is not None or self.leaves_faults or self.cures_bad_nodes


class Heterogeneity(Section):
    """Servers differ: some fail again and again. The fleet's mean rate stays each mode's 1 / mtbf_hours.

    A server's failure rate of a mode is the mode's rate times its multiplier (its clocks run that
    much faster; for a Weibull mode of shape k, the hazard times multiplier^k): a bad server's
    multiplier is ``bad_node_multiplier`` times a good one's, and a gamma frailty of mean 1 and
    coefficient of variation ``frailty_cv`` spreads them further. Multipliers are scaled so that
    their fleet mean is 1. They apply to GPU- and node-scope modes (a GPU-scope multiplier covers
    every GPU of the server); rack, switch and job scopes are not affected.
    """

    bad_node_fraction: float = Field(0.0, ge=0, lt=1, description="share of servers that are bad")
    bad_node_multiplier: float = Field(
        1.0, ge=1, le=1e6, description="failure rate of a bad server, x a good server's"
    )
    frailty_cv: float = Field(
        0.0, ge=0, le=10, description="coefficient of variation of gamma rate multipliers (mean 1); 0: none"
    )
    per_mode: bool = Field(
        False, description="one multiplier per server and mode; false: one per server, shared by its modes"
    )
    source: Text = Field(
        "assumed", max_length=MAX_TEXT_CHARS, description="citation of the numbers, or assumed; no control characters"
    )


class Retirement(Section):
    """When a server that keeps failing is taken out for good (it is not replaced: the spares shrink).

    ``window``: at the failure that makes ``failures`` within ``window_days``. ``score``: a score starts
    at ``initial_score``, loses ``failure_penalty`` at every failure and gains ``uptime_credit`` for
    every whole ``credit_days`` of uptime between failures; the server goes when it falls to
    ``threshold``. Only failures that send a server to repair count.
    """

    policy: Literal["none", "window", "score"] = Field("none", description="none, window or score")
    failures: int = Field(5, ge=1, le=1_000_000, description="window: failures within window_days that retire")
    window_days: float = Field(7.0, gt=0, le=MAX_DAYS, description="window: length of the sliding window")
    initial_score: float = Field(100.0, ge=-1e9, le=1e9, description="score: every server's starting score")
    failure_penalty: float = Field(30.0, ge=0, le=1e9, description="score: lost at each failure")
    uptime_credit: float = Field(10.0, ge=0, le=1e9, description="score: gained per credit_days of uptime")
    credit_days: float = Field(1.0, gt=0, le=MAX_DAYS, description="score: uptime that earns one credit")
    threshold: float = Field(0.0, ge=-1e9, le=1e9, description="score: retired at or below this score")

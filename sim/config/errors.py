"""Errors in what a user gave: a scenario, a sweep grid. Light to import, so the command line can catch them
without loading the model."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario (file, text or override) that cannot be used; the message names the key and the problem."""


class SweepError(ValueError):
    """A sweep that cannot start: bad parameters or a results folder that does not match."""

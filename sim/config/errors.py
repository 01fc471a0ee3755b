"""Errors in what a user gave: a scenario, a sweep grid. Light to import, so the command line can catch them
without loading the model.

Messages quote what was given through ``shown``, so a huge value cannot turn an error into megabytes:

>>> shown("x" * 1000)
"'xxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxx'"
>>> shown(10**5000)
'an integer of about 5001 digits'
"""

from __future__ import annotations

import reprlib

#: The most characters of a given value that an error message quotes, and of a key it names.
SHOWN_CHARS = 40
KEY_CHARS = 60

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = _repr.maxlong = SHOWN_CHARS
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3


def shown(value: object) -> str:
    """``value`` as an error message quotes it: its repr, cut to about ``SHOWN_CHARS`` characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        # repr() itself refuses integers of more than 4,300 digits.
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        return _repr.repr(value)
    except ValueError:  # a huge integer nested in a list or table
        return f"a {type(value).__name__}"


def clip_key(key: str) -> str:
    """A (dotted) key as an error message names it: whole up to ``KEY_CHARS`` characters."""
    return key if len(key) <= KEY_CHARS else key[: KEY_CHARS - 3] + "..."


class InputError(ValueError):
    """Bad input, in the library's words.

    ``argument`` names the library argument the error is about (``params``, ``range``, ``scheduler``)
    and ``limit`` the argument that would raise a limit it hit (``max_points``, ``max_events``), so
    that a command line can name its own options for them.
    """

    #: Defaults of a class of errors; an instance may say otherwise.
    argument: str | None = None
    limit: str | None = None

    def __init__(self, message: str, argument: str | None = None, limit: str | None = None) -> None:
        super().__init__(message)
        if argument is not None:
            self.argument = argument
        if limit is not None:
            self.limit = limit


class ScenarioError(InputError):
    """A scenario (file, text or override) that cannot be used; the message names the key and the problem."""


class WorkLimitError(ScenarioError):
    """A scenario whose replications would cost more events than the limit allows (``max_events`` raises it)."""

    limit = "max_events"


class SweepError(InputError):
    """A sweep that cannot start: bad parameters or a results folder that does not match."""


class PrecisionError(InputError):
    """A precision target that cannot be used (``argument`` names the option: precision, min_replications, ...)."""


class CompareError(InputError):
    """A comparison that cannot start: a malformed or clashing variant, too few scenarios, bad counts."""

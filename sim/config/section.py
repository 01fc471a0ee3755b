"""What every scenario section shares: strict, frozen, finite values, and free text without control codes.

>>> class Demo(Section):
...     note: Text = ""
>>> Demo(note="a\\x1b[2J")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Demo
...
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

#: Characters that reorder the text around them on a terminal (bidirectional overrides and isolates).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` if it holds no control characters (tabs and line breaks are text); else ``ValueError``."""
    # Text is printed on terminals and written to files: codes that move the cursor (escape, other
    # C0 and C1 controls) or reorder text are refused.
    if any((unicodedata.category(c) == "Cc" and c not in "\t\n") or c in _BIDI for c in text):
        raise ValueError("may not hold control characters")
    return text


#: Free text (a title, a source): no control characters.
Text = Annotated[str, AfterValidator(printable)]


class Section(BaseModel):
    """A table of a scenario file."""

    # strict: numbers are numbers (no "42", no booleans); ints pass for floats. allow_inf_nan: finite only.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

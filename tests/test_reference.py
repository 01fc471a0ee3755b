"""The scenario reference in docs/ is generated from the scenario model and kept current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.config.reference import COMMAND, PATH, reference_markdown
from sim.config.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]


def test_committed_reference_is_current() -> None:
    """docs/scenario-reference.md is exactly what the generator writes from sim/config/scenario.py."""
    committed = (ROOT / PATH).read_text(encoding="utf-8")
    assert committed == reference_markdown(), f"{PATH} is out of date: run `{COMMAND}` and commit the file"


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for name, info in model.model_fields.items():
        inner = info.annotation
        args = getattr(inner, "__args__", ())
        section = next((a for a in (inner, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if section is not None:
            out += _fields(section, f"{prefix}{name}.")
        else:
            out.append((f"{prefix}{name}", info))
    return out


def test_every_key_has_a_description() -> None:
    """Every scenario key carries a description, so the reference never has an empty row."""
    missing = [key for key, info in _fields(Scenario) if not info.description]
    assert missing == []


def test_reference_has_every_section() -> None:
    """The reference has a table for every section and the repeatable [[failure]] table."""
    text = reference_markdown()
    for heading in ("## Top level", "## `[run]`", "## `[cluster]` (required)", "## `[energy]`", "## `[[failure]]`"):
        assert heading in text
